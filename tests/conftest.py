"""Shared fixtures: a real SQLite file per test, a fixed clock, and the playground (real Application + simulated Telegram)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.clock import FixedClock
from storage.db import Database


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))


@pytest.fixture
async def db(tmp_path):
    database = Database(tmp_path / "test.db")
    await database.open()
    yield database
    await database.close()


@pytest.fixture
async def pg(tmp_path, clock):
    from bot.playground import Playground

    playground = Playground(tmp_path / "sticky.db", clock=clock)
    await playground.start()
    yield playground
    await playground.stop()


@pytest.fixture
async def group(pg):
    """A supergroup with the bot as admin, an owner, one Telegram admin and three members who have spoken."""
    from tests.helpers import make_group

    return await make_group(pg)
