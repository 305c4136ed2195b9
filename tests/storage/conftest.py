"""Storage tests share one registered group on the real SQLite file of the `db` fixture."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from storage.groups import GroupRepo

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
CHAT = -100


@pytest.fixture
async def chat(db) -> int:
    """A registered group's chat id (tables that refer to groups need one)."""
    await GroupRepo(db).register(CHAT, "Tea", "supergroup", None, NOW)
    return CHAT
