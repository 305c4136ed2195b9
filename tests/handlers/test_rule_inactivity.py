"""The inactivity trigger's daily pass, exactly once per member and crossing: a pass that dies on the way (or whose
next booking is lost, so the first pass is made again) leaves nobody out and does nobody twice; a big group's
pass reads and judges its members in chunks."""
from __future__ import annotations

from datetime import timedelta

import bot.services.rules as rules_service
from storage.db import iso
from tests.handlers.funnel_helpers import run_job
from tests.handlers.test_rule_effects import add
from tests.helpers import say


class Crash(Exception):
    """The process dying in the middle of a pass (nothing after it runs)."""


async def quiet_members(pg, g, n_more: int = 2):
    """Alice, Bob, Carol and n_more others, all quiet since now."""
    users = [g.alice, g.bob, g.carol]
    for i in range(n_more):
        user = pg.sim.user(f"quiet{i}")
        pg.sim.join(g.chat, user)
        users.append(user)
    await pg.settle()
    return users


async def notices(pg, g) -> dict[int, int]:
    """How many times the rule's notify was applied, per member (one audit row each time)."""
    rows = await pg.services.db.fetchall(
        "SELECT target_id, COUNT(*) FROM modlog WHERE chat_id = ? AND action = 'notify' GROUP BY target_id", (g.chat.id,))
    return {r[0]: r[1] for r in rows}


def crash_after(pg, monkeypatch, n: int) -> None:
    """The pass dies right after its n-th member was handled (committed), once."""
    rules = pg.services.rules
    real, fed = rules.feed, []

    async def feed(event):
        verdict = await real(event)
        fed.append(event.user_id)
        if len(fed) == n:
            raise Crash()
        return verdict

    monkeypatch.setattr(rules, "feed", feed)


async def test_a_pass_that_dies_half_way_is_finished_by_the_next_and_does_nobody_twice(pg, group, monkeypatch):
    g = group
    users = await quiet_members(pg, g)
    await add(pg, g, "when inactive 7 days then notify")
    monkeypatch.setattr(rules_service, "INACTIVE_CHUNK", 2)
    pg.clock.advance(days=8)
    crash_after(pg, monkeypatch, 3)
    await run_job(pg, "schedules:tick")                    # the first pass: three members done, then it dies
    assert sum((await notices(pg, g)).values()) == 3
    monkeypatch.undo()
    await pg.restart()
    pg.clock.advance(days=1)
    await run_job(pg, "schedules:tick")                    # the next pass starts where the dead one did
    assert await notices(pg, g) == {u.id: 1 for u in users}
    pg.clock.advance(days=1)
    await run_job(pg, "schedules:tick")                    # and the one after has nothing left to do
    assert await notices(pg, g) == {u.id: 1 for u in users}


async def test_a_lost_booking_makes_the_first_pass_again_without_repeating_anyone(pg, group, monkeypatch):
    g = group
    users = await quiet_members(pg, g)
    await add(pg, g, "when inactive 7 days then notify")
    pg.clock.advance(days=8)
    crash_after(pg, monkeypatch, 2)
    await run_job(pg, "schedules:tick")
    monkeypatch.undo()
    # As if the crash came between claiming the pass and booking the next: no pass is pending any more.
    async with pg.services.db.transaction() as tx:
        await tx.execute("DELETE FROM deferred WHERE kind = 'rules:inactive' AND done_at IS NULL")
    await pg.restart()
    await say(pg, g.admin, "/rule list", g.chat)           # the rules load again: the pass is re-armed, from scratch
    pending = [w for w in await pg.services.schedules.repo.pending_deferred(g.chat.id) if w.kind == "rules:inactive"]
    assert [w.payload for w in pending] == [{"since": None}]
    await run_job(pg, "schedules:tick")
    assert await notices(pg, g) == {u.id: 1 for u in users}


async def test_a_pass_over_a_big_group_goes_in_chunks(pg, group, monkeypatch):
    g = group
    n = 3000
    long_ago = iso(pg.clock.now() - timedelta(days=30))
    async with pg.services.db.transaction() as tx:
        await tx.executemany("INSERT INTO users(user_id, first_name, updated_at) VALUES (?, ?, ?)",
                             [(10_000 + i, f"m{i}", long_ago) for i in range(n)])
        await tx.executemany(
            "INSERT INTO members(chat_id, user_id, status, community_role, first_seen_at, joined_at) VALUES (?, ?, 'member', ?, ?, ?)",
            [(g.chat.id, 10_000 + i, "activator" if i % 1000 == 0 else None, long_ago, long_ago) for i in range(n)])
    repo = pg.services.rules.repo
    real, sizes = repo.inactive, []

    async def inactive(*args, **kwargs):
        rows = await real(*args, **kwargs)
        sizes.append(len(rows))
        return rows

    monkeypatch.setattr(repo, "inactive", inactive)
    await add(pg, g, "when inactive 7 days and role = activator then notify")
    pg.clock.advance(days=8)
    await run_job(pg, "schedules:tick")
    assert max(sizes) <= rules_service.INACTIVE_CHUNK and sum(sizes) == n + 3  # the group's own three too
    assert len(sizes) >= n // rules_service.INACTIVE_CHUNK
    assert await notices(pg, g) == {10_000 + i: 1 for i in range(0, n, 1000)}
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM rule_events_done WHERE chat_id = ?", (g.chat.id,)) == 3


async def dry_lines(pg, g) -> dict[int, int]:
    """How many dry-run lines the audit log holds, per member."""
    rows = await pg.services.db.fetchall(
        "SELECT target_id, COUNT(*) FROM modlog WHERE chat_id = ? AND dry = 1 GROUP BY target_id", (g.chat.id,))
    return {r[0]: r[1] for r in rows}


async def test_a_dry_pass_run_again_writes_no_second_dry_line_and_leaves_the_real_run_its_turn(pg, group, monkeypatch):
    g = group
    users = await quiet_members(pg, g)
    await add(pg, g, "when inactive 7 days then notify")
    await say(pg, g.owner, "/set rules_mode dry", g.chat)
    pg.clock.advance(days=8)
    crash_after(pg, monkeypatch, 2)
    await run_job(pg, "schedules:tick")
    monkeypatch.undo()
    async with pg.services.db.transaction() as tx:   # the booking lost: the first pass is made again from scratch
        await tx.execute("DELETE FROM deferred WHERE kind = 'rules:inactive' AND done_at IS NULL")
    await pg.restart()
    await say(pg, g.admin, "/rule list", g.chat)
    await run_job(pg, "schedules:tick")
    assert await dry_lines(pg, g) == {u.id: 1 for u in users}
    assert await notices(pg, g) == {}
    await say(pg, g.owner, "/set rules_mode on", g.chat)  # the dry mark is its own: the real rule still applies once
    async with pg.services.db.transaction() as tx:
        await tx.execute("DELETE FROM deferred WHERE kind = 'rules:inactive' AND done_at IS NULL")
    await pg.restart()
    await say(pg, g.admin, "/rule list", g.chat)
    await run_job(pg, "schedules:tick")
    assert await notices(pg, g) == {u.id: 1 for u in users}
    assert await dry_lines(pg, g) == {u.id: 1 for u in users}


async def test_the_daily_pass_prunes_the_marks_no_rerun_can_meet_and_keeps_the_rest(pg, group):
    g = group
    users = await quiet_members(pg, g)
    await add(pg, g, "when inactive 7 days then notify")
    pg.clock.advance(days=8)
    await run_job(pg, "schedules:tick")
    assert await notices(pg, g) == {u.id: 1 for u in users}

    async def marked() -> set[int]:
        rows = await pg.services.db.fetchall("SELECT user_id FROM rule_events_done WHERE chat_id = ?", (g.chat.id,))
        return {r[0] for r in rows}

    assert await marked() == {u.id for u in users}
    await say(pg, g.alice, "back again", g.chat)     # Alice's old crossing can never come again
    await run_job(pg, "counters:flush")
    pg.clock.advance(days=1)
    await run_job(pg, "schedules:tick")
    assert await marked() == {u.id for u in users} - {g.alice.id}
    # The silent members' marks stay: the first pass made again still skips them.
    async with pg.services.db.transaction() as tx:
        await tx.execute("DELETE FROM deferred WHERE kind = 'rules:inactive' AND done_at IS NULL")
    await pg.restart()
    await say(pg, g.admin, "/rule list", g.chat)
    await run_job(pg, "schedules:tick")
    assert await notices(pg, g) == {u.id: 1 for u in users}
