"""LedgerRepo.leaderboard on a real SQLite file: what counts as earned, in which window, and for how many."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from storage.groups import GroupRepo
from storage.ledger import LedgerRepo, post
from tests.storage.conftest import CHAT, NOW


@pytest.fixture
async def ledger(db, chat) -> LedgerRepo:
    return LedgerRepo(db)


async def credit(ledger: LedgerRepo, user: int, amount: int, reason: str = "admin_give", at: datetime = NOW, currency: str = "points") -> None:
    async with ledger.db.transaction() as tx:
        await post(tx, CHAT, user, amount, currency, reason, f"t:{user}:{amount}:{reason}:{at}", at)


async def test_everyone_when_asked_and_a_window_with_both_ends(ledger):
    for user in range(1, 151):
        await credit(ledger, user, user)
    assert len(await ledger.leaderboard(CHAT, "points", None, limit=None)) == 150   # a season archive: all of them
    assert [u for u, _ in await ledger.leaderboard(CHAT, "points", None, limit=3)] == [150, 149, 148]
    await credit(ledger, 7, 1000, at=NOW + timedelta(days=8))
    week = await ledger.leaderboard(CHAT, "points", NOW - timedelta(hours=1), 1, until=NOW + timedelta(days=7))
    assert week == [(150, 150)]                                                      # the 1000 came after the week


async def test_refunds_are_not_earning_and_a_reward_taken_back_no_longer_counts(ledger):
    await credit(ledger, 1, 100)
    await credit(ledger, 1, -40, "shop_purchase")
    await credit(ledger, 1, 40, "shop_refund")
    await credit(ledger, 2, 20, "referral")
    await credit(ledger, 2, -20, "referral_clawback")
    await credit(ledger, 3, 5, "checkin")
    assert await ledger.leaderboard(CHAT, "points", None) == [(1, 100), (3, 5)]


async def test_a_batch_credit_reads_each_members_own_balance_before_across_read_chunks(ledger):
    """credit_many (the chat-XP flush) returns every member's XP before the batch — what tier-ups are judged on —
    read by (chat, user) pairs in chunks of 400: 900 members, every third with XP from earlier, a second group's
    member with the same user id apart. The wallets then equal the ledger."""
    other = -200
    await GroupRepo(ledger.db).register(other, "Coffee", "supergroup", None, NOW)
    for user in range(3, 901, 3):
        await credit(ledger, user, user, "chat", currency="xp")
    await credit(ledger, 5, 1000, "chat", currency="xp")
    async with ledger.db.transaction() as tx:
        await post(tx, other, 6, 77, "xp", "chat", "t:other:6", NOW)
    credits = [(CHAT, user, 2, f"batch:{user}") for user in range(900, 0, -1)] + [(other, 6, 2, "batch:other:6")]
    before = await ledger.credit_many(credits, "xp", "chat", NOW)
    expected = {(CHAT, user): (user if user % 3 == 0 else 0) + (1000 if user == 5 else 0) for user in range(1, 901)}
    assert before == {**expected, (other, 6): 77}
    rows = await ledger.db.fetchall(
        "SELECT w.chat_id, w.user_id, w.xp, (SELECT SUM(amount) FROM ledger l WHERE l.chat_id = w.chat_id"
        " AND l.user_id = w.user_id AND l.currency = 'xp') FROM wallets w")
    assert len(rows) == 901 and all(r[2] == r[3] for r in rows)
    assert {(r[0], r[1]): r[2] for r in rows} == {key: xp + 2 for key, xp in before.items()}


async def test_a_batch_credit_keeps_the_later_chat_xp_time_and_one_without_times_leaves_it(ledger):
    """credit_many's one wallet upsert: with award times it keeps the later of the stored and the new one; without
    (a batch that is no chat XP) it leaves the stored time alone, and a new wallet has none."""
    early, late = "2026-03-01T10:00:00+00:00", "2026-03-01T11:00:00+00:00"
    await ledger.credit_many([(CHAT, 1, 2, "a:1")], "xp", "chat", NOW, {(CHAT, 1): late})
    await ledger.credit_many([(CHAT, 1, 2, "a:2")], "xp", "chat", NOW, {(CHAT, 1): early})
    await ledger.credit_many([(CHAT, 1, 2, "a:3"), (CHAT, 2, 2, "a:4")], "xp", "chat", NOW)
    rows = await ledger.db.fetchall("SELECT user_id, xp, chat_xp_at FROM wallets WHERE chat_id = ? ORDER BY user_id", (CHAT,))
    assert [tuple(r) for r in rows] == [(1, 6, late), (2, 2, None)]
