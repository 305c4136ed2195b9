"""Guarantees of the points economy below the handlers: once-per-day under a storm of concurrent check-ins,
the ledger's idempotency key, all-or-nothing debits, and chat XP batched in memory until the flush."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

import bot.services.points as points_service
from bot.domain.points import AlreadyCheckedInError, InsufficientPointsError, InvalidAmountError, NothingToMakeUpError
from storage.groups import GroupRepo
from storage.ledger import InsufficientBalance, LedgerRepo, Wallet, post
from storage.points import PointsRepo

CHAT = -100777


async def count(db, sql: str, *params) -> int:
    return await db.fetchval(sql, params)


def first_checkin_bonus(config) -> int:
    return next(b.points_bonus for b in config.points.badges if b.kind == "first_checkin")


# ---------------------------------------------------------------- once per day, whatever the concurrency


async def test_a_hundred_concurrent_checkins_award_exactly_once(pg, group, monkeypatch):
    chat, alice = group.chat.id, group.alice.id
    inserts: list[bool] = []
    real_insert = points_service.insert_checkin_in

    def counting_insert(*args, **kwargs):
        inserts.append(real_insert(*args, **kwargs))
        return inserts[-1]

    # The check-in reads and writes in one transaction, so its own read already sees the day taken; make that read
    # blind to show that the database itself refuses a second row for the day (its PRIMARY KEY), whatever Python read.
    monkeypatch.setattr(points_service, "insert_checkin_in", counting_insert)
    monkeypatch.setattr(points_service, "last_checkin_in", lambda conn, chat_id, user_id: None)
    results = await asyncio.gather(*(pg.services.points.checkin(chat, alice) for _ in range(100)), return_exceptions=True)
    assert inserts.count(True) == 1 and inserts.count(False) == 99

    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1
    assert len(lost) == 99 and all(isinstance(e, AlreadyCheckedInError) for e in lost)
    # Each refusal can tell the member when the next check-in opens (the next local midnight, UTC here).
    assert {e.next_at.isoformat() for e in lost} == {"2026-03-03T00:00:00+00:00"}

    db, cfg = pg.services.db, pg.config
    base, bonus = cfg.points.checkin.base, first_checkin_bonus(cfg)
    assert await count(db, "SELECT COUNT(*) FROM checkins WHERE chat_id = ? AND user_id = ?", chat, alice) == 1
    assert await count(db, "SELECT COUNT(*) FROM ledger WHERE chat_id = ? AND user_id = ? AND reason = 'checkin'"
                           " AND currency = 'points'", chat, alice) == 1
    assert await count(db, "SELECT COUNT(*) FROM badges WHERE chat_id = ? AND user_id = ?", chat, alice) == 1
    wallet = await pg.services.points.ledger.wallet(chat, alice)
    assert wallet == Wallet(base + bonus, cfg.points.checkin.xp)
    assert won[0].wallet == wallet and won[0].reward.streak == 1
    assert await pg.services.points.ledger.mismatches() == []

    # The next local day opens again, once.
    pg.clock.advance(days=1)
    again = await asyncio.gather(*(pg.services.points.checkin(chat, alice) for _ in range(20)), return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in again) == 1
    assert (await pg.services.points.ledger.wallet(chat, alice)).points == 2 * base + bonus


async def test_concurrent_checkins_of_different_members_all_count(pg, group):
    chat = group.chat.id
    people = [group.alice.id, group.bob.id, group.carol.id]
    results = await asyncio.gather(*(pg.services.points.checkin(chat, u) for u in people for _ in range(10)),
                                   return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 3
    ranks = sorted(r.rank_today for r in results if not isinstance(r, BaseException))
    assert ranks == [1, 2, 3]
    assert await count(pg.services.db, "SELECT COUNT(*) FROM checkins WHERE chat_id = ?", chat) == 3


async def test_concurrent_makeups_repair_the_day_and_charge_once(pg, group):
    points, chat, alice = pg.services.points, group.chat.id, group.alice.id
    await points.adjust(chat, group.admin.id, alice, "100", "float", update_id=1, give=True)
    for _ in range(2):
        await points.checkin(chat, alice)
        pg.clock.advance(days=1)
    pg.clock.advance(days=1)  # one day missed
    results = await asyncio.gather(*(points.makeup(chat, alice) for _ in range(20)), return_exceptions=True)
    done = [r for r in results if not isinstance(r, BaseException)]
    assert len(done) == 1 and done[0].streak == 3
    assert all(isinstance(r, NothingToMakeUpError) for r in results if isinstance(r, BaseException))
    cost, bonus = pg.config.points.checkin.makeup_cost, pg.config.points.checkin.streak_bonus[3]
    assert await count(pg.services.db, "SELECT COUNT(*) FROM ledger WHERE reason IN ('makeup', 'milestone')") == 2
    assert (await points.ledger.wallet(chat, alice)).points == 100 + 2 * pg.config.points.checkin.base + 5 - cost + bonus
    assert await points.ledger.mismatches() == []


# ---------------------------------------------------------------- the ledger itself


@pytest.fixture
async def ledger_db(db, clock):
    await GroupRepo(db).register(CHAT, "Tea", "supergroup", None, clock.now())
    return db


async def test_the_same_ref_posted_twice_counts_once(ledger_db, clock):
    db, now = ledger_db, clock.now()
    async with db.transaction() as tx:
        assert await post(tx, CHAT, 1, 50, "points", "admin_give", "admin_give:x:1:42", now, actor_id=9, note="thanks")
    async with db.transaction() as tx:
        assert not await post(tx, CHAT, 1, 50, "points", "admin_give", "admin_give:x:1:42", now, actor_id=9, note="thanks")
        # Even with a different amount: the ref is the event's identity.
        assert not await post(tx, CHAT, 1, 999, "points", "admin_give", "admin_give:x:1:42", now)
    repo = LedgerRepo(db)
    assert await repo.wallet(CHAT, 1) == Wallet(50, 0)
    assert await count(db, "SELECT COUNT(*) FROM ledger") == 1
    # The same ref in the other currency, or for another member, is another event.
    async with db.transaction() as tx:
        assert await post(tx, CHAT, 1, 7, "xp", "admin_give", "admin_give:x:1:42", now)
        assert await post(tx, CHAT, 2, 5, "points", "admin_give", "admin_give:x:1:42", now)
    assert await repo.wallet(CHAT, 1) == Wallet(50, 7)
    assert await repo.wallet(CHAT, 2) == Wallet(5, 0)
    assert await repo.mismatches() == []


async def test_a_debit_beyond_the_balance_raises_and_leaves_nothing(ledger_db, clock):
    db, now, repo = ledger_db, clock.now(), LedgerRepo(ledger_db)
    async with db.transaction() as tx:
        await post(tx, CHAT, 1, 40, "points", "checkin", "checkin:1", now)
    before_rows = await db.fetchall("SELECT * FROM ledger ORDER BY id")

    with pytest.raises(InsufficientBalance) as info:
        async with db.transaction() as tx:
            await post(tx, CHAT, 1, 5, "xp", "checkin", "checkin:1", now)  # written first in the same transaction…
            await post(tx, CHAT, 1, -41, "points", "admin_take", "take:1", now)
    assert (info.value.balance, info.value.needed) == (40, 41)
    # …and rolled back with it: all or nothing.
    assert await repo.wallet(CHAT, 1) == Wallet(40, 0)
    assert [dict(r) for r in await db.fetchall("SELECT * FROM ledger ORDER BY id")] == [dict(r) for r in before_rows]

    # A member with no wallet at all cannot go below zero either.
    with pytest.raises(InsufficientBalance):
        async with db.transaction() as tx:
            await post(tx, CHAT, 2, -1, "points", "admin_take", "take:2", now)
    assert await repo.wallet(CHAT, 2) == Wallet()
    assert await count(db, "SELECT COUNT(*) FROM ledger WHERE user_id = 2") == 0
    # Exactly the balance is fine.
    async with db.transaction() as tx:
        await post(tx, CHAT, 1, -40, "points", "admin_take", "take:3", now)
    assert await repo.wallet(CHAT, 1) == Wallet(0, 0)
    assert await repo.mismatches() == []


async def test_service_take_beyond_the_balance_changes_nothing(pg, group):
    points, chat = pg.services.points, group.chat.id
    await points.adjust(chat, group.admin.id, group.alice.id, "30", "welcome", update_id=1, give=True)
    with pytest.raises(InsufficientPointsError) as info:
        await points.adjust(chat, group.admin.id, group.alice.id, "31", "oops", update_id=2, give=False)
    assert (info.value.balance, info.value.needed) == (30, 31)
    for text, reason in (("0", "zero"), ("-5", "negative"), ("abc", "not_a_number"), ("100001", "too_large")):
        with pytest.raises(InvalidAmountError) as bad:
            await points.adjust(chat, group.admin.id, group.alice.id, text, "why", update_id=3, give=True)
        assert bad.value.reason == reason
    with pytest.raises(InvalidAmountError) as bad:
        await points.adjust(chat, group.admin.id, group.alice.id, "5", "   ", update_id=4, give=True)
    assert bad.value.reason == "no_reason"
    assert await points.ledger.wallet(chat, group.alice.id) == Wallet(30, 0)
    assert await count(pg.services.db, "SELECT COUNT(*) FROM ledger WHERE user_id = ?", group.alice.id) == 1
    # The same command (same update) given twice moves points once.
    await points.adjust(chat, group.admin.id, group.alice.id, "30", "welcome", update_id=1, give=True)
    assert (await points.ledger.wallet(chat, group.alice.id)).points == 30


# ---------------------------------------------------------------- chat XP: memory first, one row per flush


async def test_chat_xp_is_batched_with_a_cooldown_and_written_once_per_member(pg, group):
    points, db, chat = pg.services.points, pg.services.db, group.chat.id
    await points.flush_chat_xp()  # what the group's greetings earned
    start = pg.clock.advance(minutes=5)
    xp, cooldown = pg.config.points.chat_xp.xp_per_message, pg.config.points.chat_xp.cooldown_seconds
    alice, bob = group.alice.id, group.bob.id
    rows_before = await count(db, "SELECT COUNT(*) FROM ledger WHERE reason = 'chat'")

    for seconds in (0, 10, cooldown - 1):  # one window
        await points.chat_message(chat, alice, start + timedelta(seconds=seconds), 5)
    await points.chat_message(chat, bob, start, 5)
    assert points.pending_xp == 2 * xp
    await points.chat_message(chat, alice, start + timedelta(seconds=cooldown), 5)  # the next window
    await points.chat_message(chat, alice, start + timedelta(seconds=cooldown + 1), 5)
    assert points.pending_xp == 3 * xp
    # Nothing written yet.
    assert await count(db, "SELECT COUNT(*) FROM ledger WHERE reason = 'chat'") == rows_before
    alice_xp = (await points.ledger.wallet(chat, alice)).xp

    assert await points.flush_chat_xp() == []
    assert points.pending_xp == 0
    new = await db.fetchall("SELECT user_id, amount, currency FROM ledger WHERE reason = 'chat' ORDER BY id LIMIT -1 OFFSET ?",
                            (rows_before,))
    assert sorted((r["user_id"], r["amount"], r["currency"]) for r in new) == sorted([(alice, 2 * xp, "xp"), (bob, xp, "xp")])
    assert (await points.ledger.wallet(chat, alice)).xp == alice_xp + 2 * xp
    assert (await points.ledger.wallet(chat, alice)).points == 0  # chatting earns XP, never points
    # A flush with nothing pending writes nothing.
    assert await points.flush_chat_xp() == []
    assert await count(db, "SELECT COUNT(*) FROM ledger WHERE reason = 'chat'") == rows_before + 2
    assert await points.ledger.mismatches() == []


async def test_a_big_flush_is_written_in_chunks_each_whole_and_each_member_once(pg, group, monkeypatch):
    """FLUSH_CHUNK members per transaction: the write connection is never held for the whole flush. A chunk that
    fails goes back (with every chunk after it) and is written by the next flush; nothing is booked twice."""
    from bot.services import points as points_module

    points, db, chat = pg.services.points, pg.services.db, group.chat.id
    await points.flush_chat_xp()
    monkeypatch.setattr(points_module, "FLUSH_CHUNK", 3)
    xp = pg.config.points.chat_xp.xp_per_message
    at = pg.clock.advance(minutes=5)
    users = [group.alice.id, group.bob.id, group.carol.id, group.owner.id, group.admin.id, 424242, 434343]
    for user in users:
        await points.chat_message(chat, user, at, 5)
    rows_before = await count(db, "SELECT COUNT(*) FROM ledger WHERE reason = 'chat'")

    real = points.ledger.credit_many
    calls = []

    async def second_chunk_fails(credits, *args):
        calls.append([c[:2] for c in credits])
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return await real(credits, *args)

    monkeypatch.setattr(points.ledger, "credit_many", second_chunk_fails)
    db.holds.reset()
    with pytest.raises(RuntimeError, match="disk full"):
        await points.flush_chat_xp()
    assert [len(c) for c in calls] == [3, 3]
    assert db.holds.count == 1  # one transaction per chunk (the failing one never reached the database)
    assert await count(db, "SELECT COUNT(*) FROM ledger WHERE reason = 'chat'") == rows_before + 3
    assert points.pending_xp == 4 * xp  # the failed chunk and the one after it, back in memory

    monkeypatch.setattr(points.ledger, "credit_many", real)
    await points.flush_chat_xp()
    assert points.pending_xp == 0
    rows = await db.fetchall("SELECT user_id, amount FROM ledger WHERE reason = 'chat' ORDER BY id LIMIT -1 OFFSET ?", (rows_before,))
    assert sorted(r["user_id"] for r in rows) == sorted(users) and {r["amount"] for r in rows} == {xp}
    assert await points.ledger.mismatches() == []


async def test_held_chat_xp_rides_in_chunks_of_whole_members_in_member_order_one_row_each(pg, group, monkeypatch):
    """XP held for its updates (earned through the inbox) is written by the flush with those updates' marks,
    RIDE_CHUNK members a commit: every update of a member in the same commit, members in (chat, user) order, one
    ledger row per member for all their updates, and every update marked."""
    from bot.services import points as points_module

    points, db, chat = pg.services.points, pg.services.db, group.chat.id
    await points.flush_chat_xp()
    monkeypatch.setattr(points_module, "RIDE_CHUNK", 2)
    xp = pg.config.points.chat_xp.xp_per_message
    users = [434343, group.alice.id, 424242, group.bob.id, group.carol.id]
    update_id = 10_000
    for _ in range(2):  # two messages each, past the cooldown, their updates interleaved
        at = pg.clock.advance(minutes=5)
        for user in users:
            update_id += 1
            await points.chat_message(chat, user, at, 5, update_id=update_id)
    assert points.marks.kept == 0 and points.pending_members == len(users)
    for i in range(10_001, update_id + 1):
        points.marks.finished(i)  # handled: their marks wait for the flush, which writes the XP with them
    assert points.marks.kept == 2 * len(users)
    rows_before = await count(db, "SELECT COUNT(*) FROM ledger WHERE reason = 'chat'")
    lets = []
    real = points.marks.let_go

    def spy(ids):
        lets.append(list(ids))
        real(ids)
    monkeypatch.setattr(points.marks, "let_go", spy)
    await points.flush_chat_xp()
    order = sorted(users)
    by_user = {u: [10_001 + n, 10_001 + len(users) + n] for n, u in enumerate(users)}
    assert lets == [by_user[order[0]] + by_user[order[1]], by_user[order[2]] + by_user[order[3]], by_user[order[4]]]
    rows = await db.fetchall("SELECT user_id, amount FROM ledger WHERE reason = 'chat' ORDER BY id LIMIT -1 OFFSET ?", (rows_before,))
    assert sorted((r["user_id"], r["amount"]) for r in rows) == [(u, 2 * xp) for u in order]
    assert points.marks.kept == 0 and points.marks.unwritten == 0 and points.pending_members == 0
    assert all(points.marks.is_marked(i) for i in range(10_001, update_id + 1))
    assert await points.ledger.mismatches() == []


async def test_a_batch_whose_ref_is_already_booked_is_refused_whole(pg, group):
    ledger, db, chat, now = pg.services.points.ledger, pg.services.db, group.chat.id, pg.clock.now()
    await ledger.credit_many([(chat, group.alice.id, 5, "x:1")], "xp", "chat", now)
    with pytest.raises(RuntimeError, match="already in the ledger"):
        await ledger.credit_many([(chat, group.bob.id, 5, "x:1"), (chat, group.alice.id, 5, "x:1")], "xp", "chat", now)
    assert await count(db, "SELECT COUNT(*) FROM ledger WHERE ref = 'x:1'") == 1
    assert (await ledger.wallet(chat, group.bob.id)).xp == 0
    with pytest.raises(ValueError):
        await ledger.credit_many([(chat, group.bob.id, -5, "x:2")], "xp", "chat", now)
    assert await ledger.mismatches() == []


async def test_the_season_totals_always_equal_what_the_ledger_says_was_earned_this_season(pg, group):
    """/top … season and /me's rank read totals kept beside the ledger; they must say what summing the season's
    ledger rows says, through credits, debits that are not earning, clawed-back gifts, chat XP and a new season."""
    points, ledger, chat = pg.services.points, pg.services.points.ledger, group.chat.id
    alice, bob, carol = group.alice.id, group.bob.id, group.carol.id

    async def same() -> None:
        since = await points.window_start(chat, "season")
        for currency in ("points", "xp"):
            assert await ledger.season_board(chat, currency, None) == await ledger.leaderboard(chat, currency, since, None)
        board = await ledger.leaderboard(chat, "points", since, None)
        for place, (user, _) in enumerate(board, 1):
            assert await points.rank(chat, user) == place
        on_board = {u for u, _ in board}
        for user in (alice, bob, carol, group.owner.id):
            if user not in on_board:
                assert await points.rank(chat, user) is None

    await points.checkin(chat, alice)
    await points.checkin(chat, bob)
    await points.adjust(chat, group.admin.id, carol, "40", "gift", update_id=1, give=True)
    await points.adjust(chat, group.admin.id, carol, "15", "oops", update_id=2, give=False)  # /take lowers the board
    await points.adjust(chat, group.admin.id, bob, "3", "tie", update_id=3, give=True)
    now = pg.clock.now()
    async with pg.services.db.transaction() as tx:
        await post(tx, chat, alice, -5, "points", "shop_purchase", "buy:1", now)  # spending is not un-earning
        await post(tx, chat, alice, 5, "points", "shop_refund", "refund:1", now)  # nor is a refund earning
    await points.chat_message(chat, carol, pg.clock.advance(minutes=5), 20)
    await points.flush_chat_xp()
    await same()
    number = await points.season_number(chat)
    pg.clock.advance(seconds=1)  # the ledger's times have whole seconds: a row of the same second would count in both
    assert await points.new_season(chat, number) is not None
    await same()
    assert await ledger.season_board(chat, "points") == []
    pg.clock.advance(days=1)
    await points.checkin(chat, carol)
    await same()
    assert [u for u, _ in await ledger.season_board(chat, "points")] == [carol]


async def test_cooldowns_that_ran_out_are_forgotten_at_the_flush(pg, group):
    """One cooldown entry per member ever seen used to stay in memory forever; a flush drops those that decide
    nothing any more, and keeps the ones still running (a message inside them still earns nothing)."""
    points, chat = pg.services.points, group.chat.id
    cooldown = pg.config.points.chat_xp.cooldown_seconds
    xp = pg.config.points.chat_xp.xp_per_message
    await points.flush_chat_xp()
    start = pg.clock.advance(minutes=10)
    await points.chat_message(chat, group.alice.id, start, 5)
    pg.clock.advance(seconds=cooldown + 1)
    await points.chat_message(chat, group.bob.id, pg.clock.now(), 5)
    await points.flush_chat_xp()
    assert (chat, group.alice.id) not in points.cooling_down() and (chat, group.bob.id) in points.cooling_down()
    await points.chat_message(chat, group.bob.id, pg.clock.now(), 5)  # still inside bob's cooldown
    await points.chat_message(chat, group.alice.id, pg.clock.now(), 5)  # alice's ran out: earns again
    assert points.pending_xp == xp
