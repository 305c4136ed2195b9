"""Shared fixtures: a real SQLite file per test, a fixed clock, and the playground (real Application + simulated Telegram)."""
from __future__ import annotations

import re
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


# Refusals that mean the bot built a call wrong (real Telegram would refuse it too): a missing or mistyped
# parameter, markup or entities it cannot parse, an unknown method, a text or button over the limits. Refusals
# of a well-formed call (403, "message to delete not found", "not enough rights"…) are life, and tests provoke them.
MALFORMED = re.compile(
    r'parameter "[^"]+" is required|field "[^"]+" must be|can\'t parse|not supported by the simulator'
    r"|unsupported parse_mode|chat_id is empty|message text is empty|message must be non-empty"
    r"|MESSAGE_TOO_LONG|message is too long|message caption is too long|is not specified|BUTTON_DATA_INVALID|BUTTON_TYPE_INVALID|BOT_COMMAND_INVALID|BOT_COMMAND_DESCRIPTION_INVALID"
)


def malformed_calls(sim) -> list:
    return [
        c for c in sim.calls()
        if not c.ok and (c.error_code == 404 or (c.error_code == 400 and MALFORMED.search(c.description or "")))
    ]


@pytest.fixture
async def pg(tmp_path, clock):
    from bot.playground import Playground

    playground = Playground(tmp_path / "sticky.db", clock=clock)
    await playground.start()
    yield playground
    await playground.stop()
    bad = malformed_calls(playground.sim)
    if bad:
        pytest.fail("the bot made calls Telegram refuses as malformed:\n" + "\n".join(
            f"  {c.method} {c.error_code} {c.description} params={c.params}" for c in bad[:10]
        ), pytrace=False)


@pytest.fixture
async def group(pg):
    """A supergroup with the bot as admin, an owner, one Telegram admin and three members who have spoken."""
    from tests.helpers import make_group

    return await make_group(pg)
