"""The small interfaces services use to reach Telegram, so services stay testable without it."""
from __future__ import annotations

from typing import Protocol

from storage.members import UserInfo


class TelegramPort(Protocol):
    async def administrators(self, chat_id: int) -> list[tuple[UserInfo, str]]:
        """Telegram's admin list: (user, 'owner' | 'admin')."""

    async def member(self, chat_id: int, user_id: int) -> tuple[UserInfo, str] | None:
        """(user, status) as Telegram has it now, or None if Telegram knows no such user there."""


class SendError(Exception):
    """Telegram refused or could not take a message; the text is Telegram's reason. `unsure`: no answer came (a
    timeout, the network): the message may be in the chat all the same, under an id nobody knows."""

    def __init__(self, reason: str, *, unsure: bool = False) -> None:
        super().__init__(reason)
        self.unsure = unsure


class OutboxPort(Protocol):
    async def send(self, chat_id: int, text: str, *, photo: str | None = None, buttons: list[list[str]] | None = None,
                   pin: bool = False, choices: list[list[list[str]]] | None = None, topic: int | None = None) -> int:
        """Send HTML text (or a photo with it as caption), optionally with URL buttons (or rows of [label, callback
        data] choices) and pinned silently, into a forum topic if given; the message id."""

    async def delete(self, chat_id: int, message_id: int) -> bool:
        """Delete a message; False when it is already gone or cannot be deleted."""

    async def send_poll(self, chat_id: int, question: str, options: list[str], *, correct: int | None = None,
                        multiple: bool = False, pin: bool = False) -> tuple[int, str]:
        """A non-anonymous native poll (a quiz with `correct`), pinned silently if asked; (message id, poll id)."""

    async def stop_poll(self, chat_id: int, message_id: int) -> int | None:
        """Close a poll; its voter count, or None when it could not be closed (already closed, gone)."""
