"""Dispatch that costs the same however many commands there are: one handler finds a command by name in a dict
(instead of ~35 CommandHandlers asked in turn), and "is this a service message?" is answered once per update
(PTB's StatusUpdate.ALL runs ~45 checks and used to be evaluated three times for every message)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from telegram import Message, MessageEntity, Update
from telegram.ext import BaseHandler, filters

from bot.context import BotContext
from handlers.base import Callback, spec_of


def parse_command(message: Message | None, bot_username: str | None) -> tuple[str, list[str]] | None:
    """(name, args) when the message starts with a command for this bot, as PTB's CommandHandler reads it:
    the first entity is a bot_command at offset 0; `/cmd@OtherBot` is someone else's and gives None."""
    if message is None or not message.entities or not message.text:
        return None
    first = message.entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return None
    name, _, target = message.text[1 : first.length].partition("@")
    if target and (bot_username is None or target.lower() != bot_username.lower()):
        return None
    return name.lower(), message.text.split()[1:]


class CommandRouter(BaseHandler[Update, BotContext, None]):
    """Every `@command` in one handler: a message or an edit that starts with /name (or /name@ThisBot) runs the
    command registered under that name, with context.args as CommandHandler gives them."""

    __slots__ = ("routes",)

    def __init__(self, callbacks: Iterable[Callback]) -> None:
        super().__init__(self._unused)
        self.routes: dict[str, Callback] = {}
        for callback in callbacks:
            name = spec_of(callback).name
            if name in self.routes:
                raise ValueError(f"command /{name} is registered twice")
            self.routes[name] = callback

    @staticmethod
    async def _unused(update: Update, context: BotContext) -> None:  # BaseHandler wants a callback
        raise AssertionError("CommandRouter calls the command's own callback")

    def check_update(self, update: object) -> tuple[Callback, list[str]] | None:
        if not isinstance(update, Update):
            return None
        message = update.message or update.edited_message  # CommandHandler's default: UpdateType.MESSAGES
        if message is None:
            return None
        parsed = parse_command(message, message.get_bot().username)
        if parsed is None:
            return None
        callback = self.routes.get(parsed[0])
        return None if callback is None else (callback, parsed[1])

    async def handle_update(self, update: Update, application: Any, check_result: tuple[Callback, list[str]], context: BotContext) -> None:
        callback, context.args = check_result
        await callback(update, context)


class _ServiceMessage(filters.UpdateFilter):
    """filters.StatusUpdate.ALL, computed once per update: the answer for the last update asked about is kept
    (by identity, so concurrent updates only ever cost a recomputation, never a wrong answer)."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        super().__init__(name="SERVICE_MESSAGE")
        self._last: tuple[Update | None, bool] = (None, False)

    def filter(self, update: Update) -> bool:
        last, answer = self._last
        if last is update:
            return answer
        answer = bool(filters.StatusUpdate.ALL.check_update(update))
        self._last = (update, answer)
        return answer


SERVICE_MESSAGE = _ServiceMessage()
# A message someone wrote in a group (not a command, not "X joined" or a pin): what counters and gates look at.
GROUP_CHAT = filters.ChatType.GROUPS & ~filters.COMMAND & ~SERVICE_MESSAGE
