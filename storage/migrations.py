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
    Migration(
        2,
        "points economy: ledger, wallets, check-ins, badges, shop, orders, seasons, opt-outs",
        """
        CREATE TABLE wallets (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL,
            points INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
            xp INTEGER NOT NULL DEFAULT 0 CHECK (xp >= 0),
            PRIMARY KEY (chat_id, user_id)
        );
        CREATE TABLE ledger (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL,
            amount INTEGER NOT NULL CHECK (amount != 0),
            currency TEXT NOT NULL CHECK (currency IN ('points', 'xp')),
            reason TEXT NOT NULL,
            ref TEXT NOT NULL,
            actor_id INTEGER,
            note TEXT,
            at TEXT NOT NULL,
            UNIQUE (chat_id, user_id, currency, ref)
        );
        CREATE INDEX ledger_member ON ledger(chat_id, user_id, currency, id);
        CREATE INDEX ledger_chat_at ON ledger(chat_id, at);
        CREATE TABLE checkins (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL,
            day TEXT NOT NULL,
            at TEXT NOT NULL,
            streak INTEGER NOT NULL,
            points INTEGER NOT NULL,
            xp INTEGER NOT NULL,
            base INTEGER NOT NULL DEFAULT 0,
            streak_bonus INTEGER NOT NULL DEFAULT 0,
            random_bonus INTEGER NOT NULL DEFAULT 0,
            multiplier TEXT NOT NULL DEFAULT '1',
            makeup INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (chat_id, user_id, day)
        );
        CREATE INDEX checkins_day ON checkins(chat_id, day, at);
        CREATE TABLE badges (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL,
            badge TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (chat_id, user_id, badge)
        );
        CREATE TABLE shop_items (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            name TEXT NOT NULL,
            cost INTEGER NOT NULL CHECK (cost > 0),
            stock INTEGER CHECK (stock IS NULL OR stock >= 0),
            per_member_limit INTEGER CHECK (per_member_limit IS NULL OR per_member_limit > 0),
            min_tier TEXT,
            description TEXT NOT NULL DEFAULT '',
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );
        CREATE TABLE shop_codes (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES shop_items(id),
            code TEXT NOT NULL,
            order_id INTEGER UNIQUE,
            UNIQUE (item_id, code)
        );
        CREATE TABLE orders (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL,
            item_id INTEGER NOT NULL REFERENCES shop_items(id),
            cost INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'fulfilled', 'rejected')),
            request_key TEXT NOT NULL,
            created_at TEXT NOT NULL,
            decided_by INTEGER,
            decided_at TEXT,
            note TEXT,
            UNIQUE (chat_id, request_key)
        );
        CREATE INDEX orders_member ON orders(chat_id, user_id, item_id);
        CREATE TABLE seasons (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            number INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            UNIQUE (chat_id, number)
        );
        CREATE TABLE season_standings (
            season_id INTEGER NOT NULL REFERENCES seasons(id),
            user_id INTEGER NOT NULL,
            rank INTEGER NOT NULL,
            points INTEGER NOT NULL,
            xp INTEGER NOT NULL,
            PRIMARY KEY (season_id, user_id)
        );
        CREATE TABLE expiry_warnings (
            chat_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            day TEXT NOT NULL,
            amount INTEGER NOT NULL,
            PRIMARY KEY (chat_id, user_id, day)
        );
        CREATE TABLE optouts (
            user_id INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('mentions', 'private')),
            at TEXT NOT NULL,
            PRIMARY KEY (user_id, kind)
        )
        """,
    ),
    Migration(
        3,
        "join funnel",
        """
        CREATE TABLE captcha_checks (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            via TEXT NOT NULL CHECK (via IN ('join', 'request')),
            mode TEXT NOT NULL,
            question TEXT NOT NULL,
            choices TEXT NOT NULL DEFAULT '',
            answers TEXT NOT NULL,
            attempts_left INTEGER NOT NULL,
            event_at TEXT NOT NULL,
            deadline TEXT NOT NULL,
            prompt_chat_id INTEGER,
            prompt_message_id INTEGER,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'passed', 'failed', 'timeout', 'left')),
            resolved_at TEXT,
            UNIQUE (chat_id, user_id, via, event_at)
        );
        CREATE UNIQUE INDEX captcha_one_pending ON captcha_checks(chat_id, user_id) WHERE status = 'pending';
        CREATE INDEX captcha_due ON captcha_checks(status, deadline);
        CREATE TABLE captcha_questions (
            chat_id INTEGER PRIMARY KEY,
            question TEXT NOT NULL,
            answers TEXT NOT NULL,
            updated_by INTEGER,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE invite_links (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            url TEXT NOT NULL UNIQUE,
            code TEXT NOT NULL UNIQUE,
            creates_join_request INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (chat_id, user_id, creates_join_request)
        );
        CREATE TABLE referrals (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            inviter_id INTEGER NOT NULL,
            invitee_id INTEGER NOT NULL,
            via TEXT NOT NULL CHECK (via IN ('link', 'deeplink')),
            joined_at TEXT NOT NULL,
            screened_at TEXT,
            messages INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected', 'clawed_back')),
            reason TEXT,
            confirmed_at TEXT,
            left_at TEXT,
            decided_at TEXT,
            UNIQUE (chat_id, invitee_id, joined_at)
        );
        CREATE INDEX referrals_inviter ON referrals(chat_id, inviter_id, status);
        CREATE INDEX referrals_status ON referrals(status, joined_at);
        CREATE TABLE referral_claims (
            user_id INTEGER NOT NULL,
            chat_id INTEGER NOT NULL,
            inviter_id INTEGER NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (user_id, chat_id)
        )
        """,
    ),
    Migration(
        4,
        "make-up cards sold in the shop",
        """
        ALTER TABLE shop_items ADD COLUMN grants TEXT CHECK (grants IS NULL OR grants IN ('makeup_card'));
        CREATE TABLE makeup_card_uses (
            order_id INTEGER PRIMARY KEY REFERENCES orders(id),
            chat_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            day TEXT NOT NULL,
            at TEXT NOT NULL
        )
        """,
    ),
    Migration(
        5,
        "basic groups upgraded to supergroups",
        """
        CREATE TABLE chat_migrations (
            old_id INTEGER PRIMARY KEY,
            new_id INTEGER NOT NULL,
            at TEXT NOT NULL
        )
        """,
    ),
    Migration(
        6,
        "join funnel: referrals made at a join request, restrictions to restore after a check, revoked invite links",
        """
        ALTER TABLE referrals ADD COLUMN joined INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE captcha_checks ADD COLUMN restore TEXT;
        CREATE TABLE invite_links_v6 (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            url TEXT NOT NULL UNIQUE,
            code TEXT NOT NULL UNIQUE,
            creates_join_request INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        INSERT INTO invite_links_v6(id, chat_id, user_id, url, code, creates_join_request, created_at)
            SELECT id, chat_id, user_id, url, code, creates_join_request, created_at FROM invite_links;
        DROP TABLE invite_links;
        ALTER TABLE invite_links_v6 RENAME TO invite_links;
        CREATE UNIQUE INDEX invite_links_live ON invite_links(chat_id, user_id, creates_join_request) WHERE revoked_at IS NULL
        """,
    ),
    Migration(
        7,
        "weekly top earners (the weekly-top badge)",
        """
        CREATE TABLE weekly_tops (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            week TEXT NOT NULL,
            user_id INTEGER NOT NULL,
            points INTEGER NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (chat_id, week)
        )
        """,
    ),
    Migration(
        8,
        "the inbox: every update as received, until it is handled",
        """
        CREATE TABLE inbox (
            update_id INTEGER PRIMARY KEY,
            payload TEXT,
            received_at TEXT NOT NULL,
            handled_at TEXT
        );
        CREATE INDEX inbox_unhandled ON inbox(update_id) WHERE handled_at IS NULL;
        CREATE INDEX inbox_handled_at ON inbox(handled_at) WHERE handled_at IS NOT NULL
        """,
    ),
    Migration(
        9,
        "join funnel: the Telegram action a check still owes (restrict at the join, lift or remove once decided)",
        """
        ALTER TABLE captcha_checks ADD COLUMN action TEXT CHECK (action IN ('restrict', 'pass', 'remove'));
        ALTER TABLE captcha_checks ADD COLUMN action_at TEXT;
        CREATE INDEX captcha_actions ON captcha_checks(action_at) WHERE action IS NOT NULL
        """,
    ),
    Migration(
        10,
        "schedules, deferred one-shot work (delete later, quiet-hour posts), push log",
        """
        CREATE TABLE schedules (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            kind TEXT NOT NULL CHECK (kind IN ('once', 'every', 'daily', 'weekly', 'monthly', 'cron')),
            spec TEXT NOT NULL,
            tz TEXT NOT NULL,
            first_run TEXT NOT NULL,
            next_run TEXT,
            last_run TEXT,
            missed TEXT NOT NULL DEFAULT 'late' CHECK (missed IN ('late', 'skip')),
            grace_seconds INTEGER NOT NULL DEFAULT 3600,
            action TEXT NOT NULL,
            content TEXT NOT NULL,
            options TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            runs INTEGER NOT NULL DEFAULT 0,
            rotation INTEGER NOT NULL DEFAULT 0,
            last_message_id INTEGER,
            created_by INTEGER,
            created_at TEXT NOT NULL,
            deleted_at TEXT
        );
        CREATE INDEX schedules_due ON schedules(next_run) WHERE enabled = 1 AND deleted_at IS NULL;
        CREATE INDEX schedules_chat ON schedules(chat_id);
        CREATE TABLE deferred (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            due_at TEXT NOT NULL,
            created_at TEXT NOT NULL,
            done_at TEXT
        );
        CREATE INDEX deferred_due ON deferred(due_at) WHERE done_at IS NULL;
        CREATE TABLE push_log (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'capped', 'deferred', 'dropped', 'suppressed', 'failed', 'missed')),
            detail TEXT,
            at TEXT NOT NULL
        );
        CREATE INDEX push_log_chat ON push_log(chat_id, at)
        """,
    ),
    Migration(
        11,
        "group stats: messages per local hour and other batched counters; indexes for reading days and periods",
        """
        CREATE TABLE stats_hourly (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            day TEXT NOT NULL,
            hour INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
            metric TEXT NOT NULL CHECK (metric IN ('messages', 'moderation')),
            n INTEGER NOT NULL,
            PRIMARY KEY (chat_id, metric, day, hour)
        );
        CREATE INDEX activity_daily_day ON activity_daily(chat_id, day);
        CREATE INDEX orders_chat_at ON orders(chat_id, created_at);
        CREATE INDEX referrals_confirmed ON referrals(chat_id, confirmed_at)
        """,
    ),
    Migration(
        12,
        "loyalty segments with their downgrade grace and weekly snapshots; NPS surveys; replies per member per day",
        """
        ALTER TABLE activity_daily ADD COLUMN replies INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE loyalty_state (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL,
            segment TEXT NOT NULL,
            since TEXT NOT NULL,
            pending TEXT,
            pending_since TEXT,
            PRIMARY KEY (chat_id, user_id)
        );
        CREATE TABLE loyalty_snapshots (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            week TEXT NOT NULL,
            user_id INTEGER NOT NULL,
            segment TEXT NOT NULL,
            PRIMARY KEY (chat_id, week, user_id)
        );
        CREATE TABLE loyalty_weeks (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            week TEXT NOT NULL,
            PRIMARY KEY (chat_id, week)
        );
        CREATE TABLE nps_surveys (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            message_id INTEGER,
            opened_by INTEGER,
            opened_at TEXT NOT NULL,
            closes_at TEXT NOT NULL,
            closed_at TEXT
        );
        CREATE INDEX nps_surveys_chat ON nps_surveys(chat_id, opened_at);
        CREATE TABLE nps_answers (
            survey_id INTEGER NOT NULL REFERENCES nps_surveys(id),
            user_id INTEGER NOT NULL,
            score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
            at TEXT NOT NULL,
            PRIMARY KEY (survey_id, user_id)
        )
        """,
    ),
    Migration(
        13,
        "season totals: what each member earned this season, kept beside the ledger (the /top board and /me rank)",
        """
        CREATE TABLE season_totals (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            season INTEGER NOT NULL,
            currency TEXT NOT NULL CHECK (currency IN ('points', 'xp')),
            user_id INTEGER NOT NULL,
            earned INTEGER NOT NULL,
            PRIMARY KEY (chat_id, season, currency, user_id)
        );
        CREATE INDEX season_totals_board ON season_totals(chat_id, season, currency, earned DESC, user_id);
        INSERT INTO season_totals(chat_id, season, currency, user_id, earned)
        SELECT l.chat_id, COALESCE(s.number, 1), l.currency, l.user_id, SUM(l.amount)
        FROM ledger l LEFT JOIN seasons s ON s.chat_id = l.chat_id AND s.ended_at IS NULL
        WHERE ((l.amount > 0 AND l.reason != 'shop_refund') OR l.reason IN ('referral_clawback', 'admin_take'))
          AND l.at >= COALESCE(s.started_at, '')
        GROUP BY l.chat_id, COALESCE(s.number, 1), l.currency, l.user_id
        """,
    ),
    Migration(
        14,
        "feedback box (suggestions, votes, outcome); campaign windows (member days) with a points multiplier; birthday months",
        """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL,
            text TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
            points INTEGER NOT NULL DEFAULT 0,
            reason TEXT,
            created_at TEXT NOT NULL,
            decided_by INTEGER,
            decided_at TEXT
        );
        CREATE INDEX feedback_chat ON feedback(chat_id, status);
        CREATE TABLE feedback_votes (
            feedback_id INTEGER NOT NULL REFERENCES feedback(id),
            user_id INTEGER NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (feedback_id, user_id)
        );
        CREATE TABLE campaigns (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            schedule_id INTEGER,
            multiplier TEXT NOT NULL,
            starts_at TEXT NOT NULL,
            ends_at TEXT NOT NULL,
            title TEXT NOT NULL
        );
        CREATE INDEX campaigns_chat ON campaigns(chat_id, ends_at);
        CREATE TABLE birthdays (
            user_id INTEGER PRIMARY KEY,
            month INTEGER NOT NULL CHECK (month BETWEEN 1 AND 12),
            at TEXT NOT NULL
        )
        """,
    ),
    Migration(
        15,
        "rules engine and moderation: rules, named lists, violations (warns), the audit log, approvals, reports",
        """
        CREATE TABLE rules (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            source TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            cooldown_seconds INTEGER NOT NULL DEFAULT 0,
            continue_after INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (chat_id, name)
        );
        CREATE TABLE rule_lists (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            name TEXT NOT NULL,
            item TEXT NOT NULL,
            note TEXT,
            PRIMARY KEY (chat_id, name, item)
        );
        CREATE TABLE violations (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            reason TEXT,
            rule_id INTEGER,
            actor_id INTEGER,
            source_key TEXT,
            at TEXT NOT NULL,
            removed_at TEXT,
            UNIQUE (chat_id, source_key)
        );
        CREATE INDEX violations_member ON violations(chat_id, user_id, name, at);
        CREATE TABLE modlog (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            action TEXT NOT NULL,
            target_id INTEGER,
            actor_id INTEGER,
            rule_id INTEGER,
            reason TEXT,
            until TEXT,
            message_id INTEGER,
            dry INTEGER NOT NULL DEFAULT 0,
            at TEXT NOT NULL
        );
        CREATE INDEX modlog_chat ON modlog(chat_id, id);
        CREATE TABLE approvals (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL,
            by_id INTEGER,
            at TEXT NOT NULL,
            PRIMARY KEY (chat_id, user_id)
        )
        """,
    ),
    Migration(
        16,
        "groups whose default rules were seeded (a group that deleted them does not get them back)",
        """
        CREATE TABLE rule_sets (
            chat_id INTEGER PRIMARY KEY REFERENCES groups(chat_id),
            seeded_at TEXT NOT NULL
        )
        """,
    ),
    Migration(
        17,
        "the link gate is the rules engine's rule `links`: a group that had /set link_gate on gets it, switched on",
        """
        INSERT INTO rules(chat_id, position, name, source, enabled, created_at, updated_at)
        SELECT s.chat_id,
               CASE WHEN EXISTS (SELECT 1 FROM rule_sets r WHERE r.chat_id = s.chat_id)
                    THEN (SELECT COALESCE(MAX(r.position), 0) + 1 FROM rules r WHERE r.chat_id = s.chat_id)
                    ELSE 100 END,
               'links', 'when message or edit and has link and lacks post_links and role < spreader then delete, explain',
               1, s.updated_at, s.updated_at
        FROM group_settings s WHERE s.key = 'link_gate' AND s.value = 'on'
        ON CONFLICT(chat_id, name) DO UPDATE SET enabled = 1;
        DELETE FROM group_settings WHERE key = 'link_gate'
        """,
    ),
    Migration(
        18,
        "each group's log chat (/setlog): where moderation and rule actions are posted, and whether it last refused",
        """
        CREATE TABLE log_chats (
            chat_id INTEGER PRIMARY KEY REFERENCES groups(chat_id),
            log_chat_id INTEGER NOT NULL,
            set_by INTEGER,
            set_at TEXT NOT NULL,
            refused_at TEXT
        )
        """,
    ),
    Migration(
        19,
        "stats per closed day (DAU, messages, check-ins, WAU, MAU as counted when the day was final), covering indexes"
        " for the live days, moderation actions by time; weekly reports sent (once per group week); newcomers spotlighted",
        """
        CREATE TABLE stats_daily (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            day TEXT NOT NULL,
            active INTEGER NOT NULL,
            messages INTEGER NOT NULL,
            admin_messages INTEGER NOT NULL,
            checkins INTEGER NOT NULL,
            wau INTEGER NOT NULL,
            mau INTEGER NOT NULL,
            PRIMARY KEY (chat_id, day)
        );
        DROP INDEX activity_daily_day;
        CREATE INDEX activity_daily_day ON activity_daily(chat_id, day, user_id, messages);
        CREATE INDEX checkins_day_user ON checkins(chat_id, day, user_id, makeup);
        CREATE INDEX members_present ON members(chat_id, status, user_id, tg_role);
        CREATE INDEX members_admins ON members(chat_id, user_id) WHERE tg_role IS NOT NULL;
        CREATE INDEX users_bots ON users(user_id) WHERE is_bot = 1;
        CREATE INDEX modlog_at ON modlog(chat_id, at);
        CREATE TABLE weekly_reports (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            week TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, week)
        );
        CREATE TABLE spotlights (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL,
            joined_at TEXT NOT NULL,
            messages INTEGER NOT NULL,
            bonus INTEGER NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (chat_id, user_id)
        )
        """,
    ),
    Migration(
        20,
        "quizzes and native polls with their answers; the topic list and topics of the week with their replies",
        """
        CREATE TABLE polls (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            schedule_id INTEGER,
            kind TEXT NOT NULL CHECK (kind IN ('quiz', 'poll')),
            question TEXT NOT NULL,
            options TEXT NOT NULL,
            correct INTEGER,
            points INTEGER NOT NULL,
            first_n INTEGER,
            opened_at TEXT NOT NULL,
            closes_at TEXT NOT NULL,
            message_id INTEGER,
            tg_poll_id TEXT UNIQUE,
            closed_at TEXT,
            voters INTEGER,
            result_at TEXT
        );
        CREATE TABLE poll_answers (
            poll_id INTEGER NOT NULL REFERENCES polls(id),
            user_id INTEGER NOT NULL,
            option_ids TEXT NOT NULL,
            correct INTEGER,
            rank INTEGER,
            points INTEGER NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (poll_id, user_id)
        );
        CREATE TABLE topics (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            text TEXT NOT NULL,
            added_by INTEGER,
            added_at TEXT NOT NULL,
            used INTEGER NOT NULL DEFAULT 0,
            last_used_at TEXT,
            deleted_at TEXT
        );
        CREATE INDEX topics_chat ON topics(chat_id, deleted_at);
        CREATE TABLE topic_posts (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            schedule_id INTEGER,
            topic_id INTEGER,
            text TEXT NOT NULL,
            xp INTEGER NOT NULL,
            best_points INTEGER NOT NULL,
            opened_at TEXT NOT NULL,
            closes_at TEXT NOT NULL,
            message_id INTEGER,
            closed_at TEXT
        );
        CREATE INDEX topic_posts_open ON topic_posts(chat_id) WHERE closed_at IS NULL;
        CREATE TABLE topic_replies (
            post_id INTEGER NOT NULL REFERENCES topic_posts(id),
            message_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            at TEXT NOT NULL,
            replies INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (post_id, message_id)
        )
        """,
    ),
    Migration(
        21,
        "private-chat connections: the group a person manages from their private chat with Sticky",
        """
        CREATE TABLE connections (
            user_id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            connected_at TEXT NOT NULL
        )
        """,
    ),
    Migration(
        22,
        "night mode: a group's read-only hours, when its state next changes, and the permissions it had before",
        """
        CREATE TABLE night_modes (
            chat_id INTEGER PRIMARY KEY REFERENCES groups(chat_id),
            hours TEXT NOT NULL,
            next_change TEXT NOT NULL,
            saved_permissions TEXT,
            closed INTEGER NOT NULL DEFAULT 0,
            set_by INTEGER,
            set_at TEXT NOT NULL
        );
        CREATE INDEX night_modes_due ON night_modes(next_change)
        """,
    ),
    Migration(
        23,
        "which-group questions whose command arguments do not fit in a button: kept here, the button names the row (ids never reused: an old button must not name a newer question)",
        """
        CREATE TABLE pick_questions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id INTEGER NOT NULL,
            command TEXT NOT NULL,
            args TEXT NOT NULL,
            asked_at TEXT NOT NULL
        );
        CREATE INDEX pick_questions_asked ON pick_questions(asked_at)
        """,
    ),
    Migration(
        24,
        "rules imports waiting for the owner's Apply: durable, so the button works after a restart, with an expiry",
        """
        CREATE TABLE rule_imports (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            token TEXT NOT NULL,
            rule_set TEXT NOT NULL,
            seen TEXT NOT NULL,
            by_user INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, token)
        )
        """,
    ),
    Migration(
        25,
        "rule events applied once: an inactivity pass run again (a crash, a re-armed first pass) skips who it did",
        """
        CREATE TABLE rule_events_done (
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL,
            event_key TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (chat_id, user_id, event_key)
        )
        """,
    ),
    Migration(
        26,
        "no silent loss between claim and send: a schedule's claimed slot until its run reaches the outbox, deferred"
        " work claimed apart from done (and its tries), a push log row written before the send ('sending', 'lost')",
        """
        ALTER TABLE schedules ADD COLUMN pending TEXT;
        ALTER TABLE deferred ADD COLUMN claimed_at TEXT;
        ALTER TABLE deferred ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE push_log_new (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'capped', 'deferred', 'dropped', 'suppressed', 'failed', 'missed',
                                                     'sending', 'lost')),
            detail TEXT,
            at TEXT NOT NULL
        );
        INSERT INTO push_log_new(id, chat_id, kind, outcome, detail, at) SELECT id, chat_id, kind, outcome, detail, at FROM push_log;
        DROP TABLE push_log;
        ALTER TABLE push_log_new RENAME TO push_log;
        CREATE INDEX push_log_chat ON push_log(chat_id, at);
        CREATE INDEX push_log_sending ON push_log(id) WHERE outcome = 'sending';
        CREATE INDEX schedules_pending ON schedules(id) WHERE pending IS NOT NULL;
        CREATE INDEX deferred_claimed ON deferred(id) WHERE claimed_at IS NOT NULL AND done_at IS NULL
        """,
    ),
    Migration(
        27,
        "retention and churn read per member: a member's joins and leaves in order, members first seen since a day",
        """
        CREATE INDEX member_events_member ON member_events(chat_id, user_id, at);
        CREATE INDEX members_first_seen ON members(chat_id, first_seen_at)
        """,
    ),
    Migration(
        28,
        "a code order's private send is recorded before it goes out: one under way (or cut off by a crash), and how many",
        """
        ALTER TABLE orders ADD COLUMN sending_since TEXT;
        ALTER TABLE orders ADD COLUMN sends INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX orders_sending ON orders(id) WHERE sending_since IS NOT NULL
        """,
    ),
    Migration(
        29,
        "a member's last chat-XP award (UTC) is kept with their wallet: chat-XP cooldowns survive a restart or a kill;"
        " join rules' once-marks found by age, to be pruned",
        """
        ALTER TABLE wallets ADD COLUMN chat_xp_at TEXT;
        CREATE INDEX rule_events_done_joins ON rule_events_done(at) WHERE event_key LIKE 'join:%' OR event_key LIKE 'dry:join:%'
        """,
    ),
    Migration(
        30,
        "each final week's churn per group (members not churned at the week before's end, of them churned by its end),"
        " stored once so /retention reads a row per week",
        """
        CREATE TABLE churn_weekly (
            chat_id INTEGER NOT NULL,
            week TEXT NOT NULL,
            base INTEGER NOT NULL,
            churned INTEGER NOT NULL,
            PRIMARY KEY (chat_id, week)
        ) WITHOUT ROWID
        """,
    ),
    Migration(
        31,
        "a person's own language for their private chat with Sticky (/language), over their Telegram app's",
        """
        ALTER TABLE users ADD COLUMN language TEXT
        """,
    ),
    Migration(
        32,
        "a stored week's churn says what it was counted on (the silent days that churn, the group's timezone): after"
        " either changes, /retention counts that week again instead of mixing two definitions",
        """
        ALTER TABLE churn_weekly ADD COLUMN basis TEXT NOT NULL DEFAULT ''
        """,
    ),
    Migration(
        33,
        "a push log outcome 'edited': replace met a previous copy too old for Telegram to delete (48 h) and edited it"
        " to say it was replaced",
        """
        CREATE TABLE push_log_new (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'capped', 'deferred', 'dropped', 'suppressed', 'failed', 'missed',
                                                     'sending', 'lost', 'edited')),
            detail TEXT,
            at TEXT NOT NULL
        );
        INSERT INTO push_log_new(id, chat_id, kind, outcome, detail, at) SELECT id, chat_id, kind, outcome, detail, at FROM push_log;
        DROP TABLE push_log;
        ALTER TABLE push_log_new RENAME TO push_log;
        CREATE INDEX push_log_chat ON push_log(chat_id, at);
        CREATE INDEX push_log_sending ON push_log(id) WHERE outcome = 'sending'
        """,
    ),
    Migration(
        34,
        "a member's joins and leaves in order with what each was (covering): /retention reads every member's last one"
        " in one pass of the index, without a sort or a row read",
        """
        DROP INDEX member_events_member;
        CREATE INDEX member_events_member ON member_events(chat_id, user_id, at, id, event)
        """,
    ),
    Migration(
        35,
        "a join or leave is keyed by its update and its member: one 'joined' service message (all a bot that is not an"
        " admin hears of joins) can name several people, each a join of their own",
        """
        CREATE TABLE member_events_new (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES groups(chat_id),
            user_id INTEGER NOT NULL,
            event TEXT NOT NULL CHECK (event IN ('join', 'leave', 'removed')),
            invite_link TEXT,
            update_id INTEGER,
            at TEXT NOT NULL,
            UNIQUE (chat_id, update_id, user_id)
        );
        INSERT INTO member_events_new(id, chat_id, user_id, event, invite_link, update_id, at)
            SELECT id, chat_id, user_id, event, invite_link, update_id, at FROM member_events;
        DROP TABLE member_events;
        ALTER TABLE member_events_new RENAME TO member_events;
        CREATE INDEX member_events_chat ON member_events(chat_id, at);
        CREATE INDEX member_events_member ON member_events(chat_id, user_id, at, id, event)
        """,
    ),
    Migration(
        36,
        "what a message a rule means to delete would earn by staying (its chat XP, its topic reply, its referral count),"
        " stored with the rule's commit and settled by the delete's outcome: written if the message stayed, dropped"
        " if it is gone, a crash in between settled at the next start",
        """
        CREATE TABLE inbox_stays (
            update_id INTEGER NOT NULL,
            chat_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            data TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX inbox_stays_update ON inbox_stays(update_id)
        """,
    ),
    Migration(
        37,
        "a join request's check can end 'unreachable': Telegram would not let the bot write to the requester (the"
        " request's 5 minutes are over, or they blocked it), so the question is not tried again and the request is"
        " left to the admins instead of declined at the deadline",
        """
        CREATE TABLE captcha_checks_new (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            via TEXT NOT NULL CHECK (via IN ('join', 'request')),
            mode TEXT NOT NULL,
            question TEXT NOT NULL,
            choices TEXT NOT NULL DEFAULT '',
            answers TEXT NOT NULL,
            attempts_left INTEGER NOT NULL,
            event_at TEXT NOT NULL,
            deadline TEXT NOT NULL,
            prompt_chat_id INTEGER,
            prompt_message_id INTEGER,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'passed', 'failed', 'timeout', 'left', 'unreachable')),
            resolved_at TEXT,
            restore TEXT,
            action TEXT CHECK (action IN ('restrict', 'pass', 'remove')),
            action_at TEXT,
            UNIQUE (chat_id, user_id, via, event_at)
        );
        INSERT INTO captcha_checks_new(id, chat_id, user_id, via, mode, question, choices, answers, attempts_left, event_at,
                                       deadline, prompt_chat_id, prompt_message_id, status, resolved_at, restore, action, action_at)
            SELECT id, chat_id, user_id, via, mode, question, choices, answers, attempts_left, event_at, deadline,
                   prompt_chat_id, prompt_message_id, status, resolved_at, restore, action, action_at FROM captcha_checks;
        DROP TABLE captcha_checks;
        ALTER TABLE captcha_checks_new RENAME TO captcha_checks;
        CREATE UNIQUE INDEX captcha_one_pending ON captcha_checks(chat_id, user_id) WHERE status = 'pending';
        CREATE INDEX captcha_due ON captcha_checks(status, deadline);
        CREATE INDEX captcha_actions ON captcha_checks(action_at) WHERE action IS NOT NULL
        """,
    ),
    Migration(
        38,
        "when each owner/admin was one: a row per stint (since, until; since NULL = before anything Sticky recorded),"
        " written with the change of members.tg_role, so /stats counts someone as an admin on the days they were one"
        " and as a member on the others",
        """
        CREATE TABLE admin_spans (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            since TEXT,
            until TEXT
        );
        CREATE INDEX admin_spans_chat ON admin_spans(chat_id, user_id, since);
        CREATE UNIQUE INDEX admin_spans_open ON admin_spans(chat_id, user_id) WHERE until IS NULL
        """,
    ),
    Migration(
        39,
        "the forum topics Sticky has seen in a group (the Bot API lists none): the step-by-step /schedule offers them"
        " by name, from the group and from private chat",
        """
        CREATE TABLE forum_topics (
            chat_id INTEGER NOT NULL,
            thread_id INTEGER NOT NULL,
            name TEXT,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, thread_id)
        )
        """,
    ),
    Migration(
        40,
        "the default activator_xp rule pays an activator's first message of each group day (`once a day`), not once"
        " in a rolling 24 h (`cooldown 1d`: 23:00 and 09:00 the next day earned once): groups whose rule is still the"
        " default as seeded get the new one; a rule an admin changed stays as written",
        """
        UPDATE rules SET source = 'when message and role = activator then xp +5, once a day, continue'
         WHERE name = 'activator_xp' AND source = 'when message and role = activator then xp +5, cooldown 1d, continue'
        """,
    ),
    Migration(
        41,
        "when a rule with a cooldown (or `once a day`) last fired for a member, stored with what it paid: a restart"
        " no longer pays the daily activator XP, or any cooled-down reward, a second time",
        """
        CREATE TABLE rule_fired (
            chat_id INTEGER NOT NULL,
            rule_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            at TEXT NOT NULL,
            until TEXT NOT NULL,
            PRIMARY KEY (chat_id, rule_id, user_id)
        ) WITHOUT ROWID;
        CREATE INDEX rule_fired_until ON rule_fired(until)
        """,
    ),
]
