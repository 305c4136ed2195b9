"""LedgerRepo.leaderboard on a real SQLite file: what counts as earned, in which window, and for how many."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

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
