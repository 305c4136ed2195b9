"""Append-only, numbered schema migrations, applied at start and recorded in schema_migrations. Never edit one that shipped: add a new one."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        # Our migrations contain no triggers or string literals with ';', so a plain split is exact.
        return [s.strip() for s in self.sql.split(";") if s.strip()]


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "groups, users, members, settings, role audit, activity",
        """
        CREATE TABLE groups (
            chat_id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            type TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            added_by INTEGER,
            added_at TEXT NOT NULL,
            removed_at TEXT,
            admins_refreshed_at TEXT
        );
        CREATE TABLE group_settings (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_by INTEGER,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, key)
        );
        CREATE TABLE users (
            user_id INTEGER PRIMARY KEY,
            username TEXT,
            first_name TEXT NOT NULL,
            last_name TEXT,
            is_bot INTEGER NOT NULL DEFAULT 0,
            language_code TEXT,
            started_at TEXT,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX users_username ON users(username COLLATE NOCASE);
        CREATE TABLE members (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL REFERENCES users(user_id),
            status TEXT NOT NULL,
            tg_role TEXT CHECK (tg_role IN ('owner', 'admin')),
            community_role TEXT CHECK (community_role IN ('activator', 'spreader')),
            first_seen_at TEXT NOT NULL,
            joined_at TEXT,
            left_at TEXT,
            last_seen_at TEXT,
            PRIMARY KEY (chat_id, user_id)
        );
        CREATE INDEX members_role ON members(chat_id, community_role);
        CREATE TABLE role_audit (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            actor_id INTEGER,
            target_id INTEGER NOT NULL,
            change TEXT NOT NULL,
            role TEXT NOT NULL,
            reason TEXT,
            at TEXT NOT NULL
        );
        CREATE INDEX role_audit_chat ON role_audit(chat_id, at);
        CREATE TABLE member_events (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL,
            event TEXT NOT NULL CHECK (event IN ('join', 'leave', 'removed')),
            invite_link TEXT,
            update_id INTEGER,
            at TEXT NOT NULL,
            UNIQUE (chat_id, update_id)
        );
        CREATE INDEX member_events_chat ON member_events(chat_id, at);
        CREATE TABLE activity_daily (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL,
            day TEXT NOT NULL,
            messages INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (chat_id, user_id, day)
        )
        """,
    ),
]
