"""Rules in SQLite: what older databases held is carried into the rules engine by the migrations."""
from __future__ import annotations

import storage.db as dbmod
from storage.db import Database
from storage.migrations import MIGRATIONS

LINK_GATE_MIGRATION = next(m.version for m in MIGRATIONS if "link gate" in m.name)


async def test_a_group_that_had_the_link_gate_on_gets_the_links_rule_switched_on(tmp_path, monkeypatch):
    """Before: /set link_gate on was a group setting. After: it is the rule `links`, on; the setting is gone."""
    path = tmp_path / "old.db"
    monkeypatch.setattr(dbmod, "MIGRATIONS", [m for m in MIGRATIONS if m.version < LINK_GATE_MIGRATION])
    db = Database(path)
    await db.open()
    async with db.transaction() as tx:
        for chat in (-1, -2, -3):
            await tx.execute("INSERT INTO groups(chat_id, title, type, added_at) VALUES (?, 'g', 'supergroup', 'now')", (chat,))
        # -1: gate on, rules seeded already; -2: gate on, never seeded; -3: gate off.
        await tx.execute("INSERT INTO rule_sets(chat_id, seeded_at) VALUES (-1, 'then')")
        await tx.execute("INSERT INTO rules(chat_id, position, name, source, created_at, updated_at)"
                         " VALUES (-1, 1, 'antiflood', 'when message and flood 6 in 10s then mute 10m', 'then', 'then')")
        for chat, value in ((-1, "on"), (-2, "on"), (-3, "off")):
            await tx.execute("INSERT INTO group_settings(chat_id, key, value, updated_at) VALUES (?, 'link_gate', ?, '2026-03-01')",
                             (chat, value))
    await db.close()
    monkeypatch.setattr(dbmod, "MIGRATIONS", MIGRATIONS)
    db = Database(path)
    await db.open()
    rows = await db.fetchall("SELECT chat_id, name, position, enabled, source FROM rules WHERE name = 'links' ORDER BY chat_id DESC")
    assert [(r["chat_id"], r["position"], r["enabled"]) for r in rows] == [(-1, 2, 1), (-2, 100, 1)]
    assert rows[0]["source"].startswith("when message or edit and has link and lacks post_links")
    assert await db.fetchval("SELECT COUNT(*) FROM group_settings WHERE key = 'link_gate'") == 0
    await db.close()


async def test_a_group_with_the_old_default_activator_xp_rule_gets_once_a_day_and_an_edited_one_stays(tmp_path, monkeypatch):
    """The default activator_xp was `cooldown 1d` (a rolling 24 h); it is `once a day` (the group's calendar day)."""
    from bot.domain.rules import parse_rule

    path = tmp_path / "old.db"
    migration = next(m.version for m in MIGRATIONS if "activator_xp" in m.name)
    monkeypatch.setattr(dbmod, "MIGRATIONS", [m for m in MIGRATIONS if m.version < migration])
    db = Database(path)
    await db.open()
    old, edited = ("when message and role = activator then xp +5, cooldown 1d, continue",
                   "when message and role = activator then xp +8, cooldown 1d, continue")
    async with db.transaction() as tx:
        for chat, source in ((-1, old), (-2, edited)):
            await tx.execute("INSERT INTO groups(chat_id, title, type, added_at) VALUES (?, 'g', 'supergroup', 'now')", (chat,))
            await tx.execute("INSERT INTO rules(chat_id, position, name, source, created_at, updated_at)"
                             " VALUES (?, 5, 'activator_xp', ?, 'then', 'then')", (chat, source))
    await db.close()
    monkeypatch.setattr(dbmod, "MIGRATIONS", MIGRATIONS)
    db = Database(path)
    await db.open()
    rows = await db.fetchall("SELECT chat_id, source FROM rules ORDER BY chat_id DESC")
    assert [(r["chat_id"], r["source"]) for r in rows] == [
        (-1, "when message and role = activator then xp +5, once a day, continue"), (-2, edited)]
    assert parse_rule(rows[0]["source"]).daily
    await db.close()


async def test_an_entry_moving_between_lists_is_never_in_neither_when_the_move_fails(tmp_path):
    """A blocklist entry moving to another action's list (/addblocklist again with another tag) leaves one list and
    enters the other in one transaction: when the insert fails, the entry is still where it was."""
    from storage.rules import RulesRepo

    db = Database(tmp_path / "r.db")
    await db.open()
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO groups(chat_id, title, type, added_at) VALUES (-1, 'g', 'supergroup', 'now')")
    repo = RulesRepo(db)
    await repo.list_add(-1, "blocklist", [("spam", None), ("scam", "why")])
    assert await repo.list_move(-1, "blocklist_ban", [("spam", "r")], ["blocklist"]) == 1
    assert (await repo.lists(-1)) == {"blocklist": [("scam", "why")], "blocklist_ban": [("spam", "r")]}
    try:                                   # a NULL item fails the insert after the deletes ran
        await repo.list_move(-1, "blocklist", [("spam", None), (None, None)], ["blocklist_ban"])
    except Exception:
        pass
    else:
        raise AssertionError("a NULL item was stored")
    assert (await repo.lists(-1)) == {"blocklist": [("scam", "why")], "blocklist_ban": [("spam", "r")]}
    await db.close()


async def test_an_actions_rule_is_made_with_its_first_entry_or_not_at_all(tmp_path):
    """/addblocklist "word" {tmute 1h}: the action's rule, placed after the blocklist rule, and the entry are one
    transaction — when the entry's insert fails, no rule is left (it would judge an empty list)."""
    from datetime import datetime, timezone

    from storage.rules import RulesRepo

    db = Database(tmp_path / "r.db")
    await db.open()
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO groups(chat_id, title, type, added_at) VALUES (-1, 'g', 'supergroup', 'now')")
    repo, now = RulesRepo(db), datetime(2026, 3, 1, tzinfo=timezone.utc)
    for name in ("antiflood", "blocklist", "warns"):
        await repo.add(-1, name, "when message then delete", now)
    rule = ("blocklist_ban", "when message or edit and words in blocklist_ban then delete, ban forever", "blocklist")
    try:
        await repo.list_move(-1, "blocklist_ban", [("spam", None), (None, None)], [], rule, now)
    except Exception:
        pass
    else:
        raise AssertionError("a NULL item was stored")
    assert [r.name for r in await repo.rules(-1)] == ["antiflood", "blocklist", "warns"]
    assert await repo.lists(-1) == {}
    assert await repo.list_move(-1, "blocklist_ban", [("spam", None)], [], rule, now) == 1
    assert [(r.name, r.position) for r in await repo.rules(-1)] == [
        ("antiflood", 1), ("blocklist", 2), ("blocklist_ban", 3), ("warns", 4)]
    assert await repo.list_move(-1, "blocklist_ban", [("scam", None)], [], rule, now) == 1  # made once
    assert len(await repo.rules(-1)) == 4
    assert await repo.list_remove(-1, "blocklist_ban", ["spam"], drop_rule=True) == 1
    assert len(await repo.rules(-1)) == 4                  # "scam" still in its list
    assert await repo.list_remove(-1, "blocklist_ban", ["scam"], drop_rule=True) == 1
    assert [r.name for r in await repo.rules(-1)] == ["antiflood", "blocklist", "warns"]
    await db.close()
