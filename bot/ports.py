"""The small interfaces services use to reach Telegram, so services stay testable without it."""
from __future__ import annotations

from typing import Protocol

from storage.members import UserInfo


class TelegramPort(Protocol):
    async def administrators(self, chat_id: int) -> list[tuple[UserInfo, str]]:
        """Telegram's admin list: (user, 'owner' | 'admin')."""

    async def member(self, chat_id: int, user_id: int) -> tuple[UserInfo, str] | None:
        """(user, status) as Telegram has it now, or None if Telegram knows no such user there."""
