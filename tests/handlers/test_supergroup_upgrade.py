"""A basic group upgraded to a supergroup gets a new chat id: the group's roles, points, settings and what is
still counted in memory move with it, once, and nothing is left behind under the old id."""
from __future__ import annotations

import pytest
from telegram import Update
from telegram.error import ChatMigrated

from bot.context import BotContext
from bot.services.activity import ActivityBuffer
from bot.sim import SimError
from handlers import points as hp
from tests.helpers import G, say


async def basic_group(pg) -> G:
    sim = pg.sim
    owner, admin = sim.user("owner"), sim.user("admin")
    chat = sim.create_group("Tea Lovers", owner=owner, supergroup=False)
    sim.add_bot(chat, by=owner)
    sim.join(chat, admin)
    sim.promote(chat, admin, by=owner)
    g = G(chat, owner, admin, sim.user("alice"), sim.user("bob"), sim.user("carol"))
    for user in (g.alice, g.bob, g.carol):
        sim.join(chat, user)
        sim.send(user, "hi", chat)
    await pg.settle()
    return g


async def rows_under(pg, chat_id: int) -> dict[str, int]:
    """How many rows each table holds for a chat id."""
    db = pg.services.db
    counts = {}
    for (table,) in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'"):
        columns = [c[1] for c in await db.fetchall(f"PRAGMA table_info({table})")]
        if "chat_id" in columns:
            n = await db.fetchval(f"SELECT COUNT(*) FROM {table} WHERE chat_id = ?", (chat_id,))
            if n:
                counts[table] = n
    return counts


async def test_the_simulator_upgrades_like_telegram(pg):
    g = await basic_group(pg)
    pg.sim.take_updates(None)
    with pytest.raises(SimError):
        pg.sim.upgrade(g.chat, g.alice)                         # only the owner can
    new = pg.sim.upgrade(g.chat, g.owner)
    assert new.type == "supergroup" and new.id != g.chat.id
    messages = [u["message"] for u in pg.sim.take_updates(None)]
    assert [(m["chat"]["id"], m.get("migrate_from_chat_id"), m.get("migrate_to_chat_id")) for m in messages] == [
        (new.id, g.chat.id, None), (g.chat.id, None, new.id),   # the supergroup's message comes first
    ]
    with pytest.raises(ChatMigrated) as refused:                # the old id is gone for the bot…
        await pg.app.bot.send_message(g.chat.id, "hello?")
    assert refused.value.new_chat_id == new.id
    with pytest.raises(SimError):                               # …and for people
        pg.sim.send(g.alice, "hello?", g.chat)
    assert pg.sim.member(new, g.admin)["status"] == "administrator"  # members and admins came along
    with pytest.raises(SimError):
        pg.sim.upgrade(new, g.owner)


async def test_roles_points_settings_and_unflushed_counts_follow_the_group(pg):
    g = await basic_group(pg)
    await say(pg, g.owner, "/setrole @alice activator", g.chat)
    assert "15" in await say(pg, g.owner, "/set checkin_base 15", g.chat)
    await say(pg, g.alice, "/checkin", g.chat)
    await hp.job_flush(BotContext(pg.app))
    pg.clock.advance(minutes=5)
    await say(pg, g.bob, "a message whose XP is still in memory", g.chat)
    assert pg.services.points.pending_xp > 0 and pg.services.activity.pending > 0
    before = await rows_under(pg, g.chat.id)
    alice_before = await pg.services.points.ledger.wallet(g.chat.id, g.alice.id)

    new = pg.sim.upgrade(g.chat, g.owner)
    await pg.settle()
    await hp.job_flush(BotContext(pg.app))

    assert await rows_under(pg, g.chat.id) == {}                # nothing left under the old id
    after = await rows_under(pg, new.id)
    assert after["ledger"] == before["ledger"] + 1              # Bob's chat XP, written under the new id
    counted = ("ledger", "activity_daily", "stats_hourly")                 # Bob's message lands in these too
    assert {t: n for t, n in after.items() if t not in counted} == {t: n for t, n in before.items() if t not in counted}
    assert after["stats_hourly"] >= before.get("stats_hourly", 0)
    group = await pg.services.groups.repo.get(new.id)
    assert group.type == "supergroup" and group.active
    assert await pg.services.points.ledger.wallet(new.id, g.alice.id) == alice_before
    assert await pg.services.points.ledger.mismatches() == []

    new_g = G(new, g.owner, g.admin, g.alice, g.bob, g.carol)
    assert "Activator" in await say(pg, g.alice, "/me", new_g.chat)
    assert "already checked in" in await say(pg, g.alice, "/checkin", new_g.chat)
    assert "+15 points" in await say(pg, g.carol, "/checkin", new_g.chat)  # the group's own amount still holds
    assert "Bob" in await say(pg, g.owner, "/setrole @bob spreader", new_g.chat)


async def test_a_chat_xp_cooldown_follows_the_group_to_its_new_id(pg):
    """Bob earned chat XP just before the upgrade: his next message, in the supergroup inside his cooldown, earns
    nothing (the cooldown moved with the group), and the one after it does."""
    g = await basic_group(pg)
    xp = pg.config.points.chat_xp.xp_per_message
    await hp.job_flush(BotContext(pg.app))
    pg.clock.advance(minutes=5)
    await say(pg, g.bob, "earns before the upgrade", g.chat)
    new = pg.sim.upgrade(g.chat, g.owner)
    await pg.settle()
    await hp.job_flush(BotContext(pg.app))
    before = (await pg.services.points.ledger.wallet(new.id, g.bob.id)).xp
    await say(pg, g.bob, "inside my cooldown, in the supergroup", new)
    await hp.job_flush(BotContext(pg.app))
    assert (await pg.services.points.ledger.wallet(new.id, g.bob.id)).xp == before
    pg.clock.advance(seconds=pg.config.points.chat_xp.cooldown_seconds + 1)
    await say(pg, g.bob, "past it", new)
    await hp.job_flush(BotContext(pg.app))
    assert (await pg.services.points.ledger.wallet(new.id, g.bob.id)).xp == before + xp


async def test_the_move_happens_once_whatever_arrives_twice_or_late(pg):
    g = await basic_group(pg)
    await say(pg, g.alice, "/checkin", g.chat)
    new = pg.sim.upgrade(g.chat, g.owner)
    updates = pg.sim.take_updates(None)
    for data in updates + updates:                              # both messages, each delivered twice
        await pg.app.process_update(Update.de_json(data, pg.app.bot))
    await pg.settle()
    moves = await pg.services.db.fetchall("SELECT old_id, new_id FROM chat_migrations")
    assert [tuple(r) for r in moves] == [(g.chat.id, new.id)]
    assert await rows_under(pg, g.chat.id) == {}
    assert (await pg.services.points.ledger.wallet(new.id, g.alice.id)).points > 0
    await pg.restart()                                          # and again after a restart: still nothing to move
    await pg.app.process_update(Update.de_json(updates[1], pg.app.bot))
    assert await rows_under(pg, g.chat.id) == {}
    assert (await pg.services.points.ledger.wallet(new.id, g.alice.id)).points > 0


async def test_counts_a_failed_flush_puts_back_follow_a_move_made_meanwhile():
    """The flush job and the upgrade interleave: the batch fails on the old id, the counts go back under the new."""

    class Repo:
        calls = 0

        async def add_counts(self, counts, seen, hourly=()):
            Repo.calls += 1
            if Repo.calls == 1:
                buffer.move_chat(-1, -100)                      # the upgrade lands while the batch is in flight
                raise RuntimeError("FOREIGN KEY constraint failed")
            self.written = counts

    from datetime import datetime, timezone

    repo = Repo()
    buffer = ActivityBuffer(repo)
    at = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    buffer.count(-1, 7, at, "UTC")
    buffer.count(-1, 7, at, "UTC")
    with pytest.raises(RuntimeError):
        await buffer.flush()
    assert await buffer.flush() == 2
    assert repo.written == [(-100, 7, "2026-03-02", 2, 0)]


async def test_an_upgrade_of_a_group_we_never_recorded_registers_the_supergroup(pg):
    sim = pg.sim
    owner = sim.user("owner")
    chat = sim.create_group("Tea Lovers", owner=owner, supergroup=False)
    sim.add_bot(chat, by=owner)
    sim.take_updates(None)                                      # lost while the bot was down
    new = sim.upgrade(chat, owner)
    await pg.settle()
    assert (await pg.services.groups.repo.get(new.id)).type == "supergroup"
    assert "checked in" in await say(pg, owner, "/checkin", new)


async def test_rows_the_supergroup_already_had_give_way_with_what_hangs_off_them(pg):
    g = await basic_group(pg)
    await say(pg, g.alice, "/checkin", g.chat)
    new = pg.sim.upgrade(g.chat, g.owner)
    db, now = pg.services.db, "2026-03-02T09:00:00+00:00"
    async with db.transaction() as tx:                          # the new id already has a season and a shop item
        await tx.execute("INSERT INTO groups(chat_id, title, type, active, added_at) VALUES (?, 'x', 'supergroup', 1, ?)", (new.id, now))
        season = await tx.execute("INSERT INTO seasons(chat_id, number, started_at) VALUES (?, 1, ?)", (new.id, now))
        await tx.execute("INSERT INTO season_standings(season_id, user_id, rank, points, xp) VALUES (?, ?, 1, 5, 5)",
                         (season.lastrowid, g.alice.id))
        item = await tx.execute("INSERT INTO shop_items(chat_id, name, cost, created_at) VALUES (?, 'Mug', 10, ?)", (new.id, now))
        await tx.execute("INSERT INTO shop_codes(item_id, code) VALUES (?, 'ABC')", (item.lastrowid,))
    await pg.settle()
    moves = await db.fetchall("SELECT old_id, new_id FROM chat_migrations")
    assert [tuple(r) for r in moves] == [(g.chat.id, new.id)]
    assert await rows_under(pg, g.chat.id) == {}
    assert (await pg.services.points.ledger.wallet(new.id, g.alice.id)).points > 0
    assert await db.fetchval("SELECT COUNT(*) FROM season_standings") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM shop_codes") == 0
