"""Dispatch that costs the same however many commands there are: one handler finds a command by name in a dict
(instead of ~35 CommandHandlers asked in turn); one handler takes a message someone wrote in a group through every
feature that looks at it, in order (instead of PTB asking ~30 handlers and their filters per message); and "is this
a service message?" is answered by reading the fields PTB's StatusUpdate.ALL asks about, at once, instead of its
~45 filters in turn."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from operator import attrgetter
from typing import Any

from telegram import Chat, Message, MessageEntity, Update
from telegram.ext import Application, ApplicationHandlerStop, BaseHandler, filters

from bot.context import BotContext
from handlers.base import Callback, spec_of
from handlers.connections import acts_elsewhere, run_elsewhere


_ADMIN_CALL = re.compile(r"@admins?(?=\s|$)", re.I)


def admin_call(message: Message | None) -> list[str] | None:
    """Rose's `@admin` (or `@admins`): a group message starting with it, in reply to another message, is /report —
    the args are the words after it. Without a reply (or in a forum, the topic's own first message) it is an
    ordinary message: someone may be asking for an admin in words."""
    if message is None or not message.text or message.chat.type not in (Chat.GROUP, Chat.SUPERGROUP):
        return None
    replied = message.reply_to_message
    if replied is None or replied.forum_topic_created or not _ADMIN_CALL.match(message.text):
        return None
    return message.text.split()[1:]


def parse_command(message: Message | None, bot_username: str | None) -> tuple[str, list[str]] | None:
    """(name, args) when the message starts with a command for this bot, as PTB's CommandHandler reads it:
    the first entity is a bot_command at offset 0; `/cmd@OtherBot` is someone else's and gives None. Rose's
    `@admin` in reply is the command report (admin_call)."""
    if message is not None and message.text and message.text[:1] == "@" and (args := admin_call(message)) is not None:
        return "report", args
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
        if acts_elsewhere(update, callback):
            # Typed in private, acting on a group (connected, or picked): one path for every command.
            await run_elsewhere(update, context, callback)
            return
        await callback(update, context)


def _service_fields() -> tuple[str, ...]:
    """The Message fields whose presence makes filters.StatusUpdate.ALL true ("X joined", a pin, a new title…),
    found by asking it about a message with each field set in turn: a PTB upgrade that adds one is followed."""
    names = [n for cls in Message.__mro__ for n in getattr(cls, "__slots__", ()) if not n.startswith("_")]
    found = []
    for name in names:
        probe = Message(message_id=1, date=datetime(2000, 1, 1, tzinfo=timezone.utc), chat=Chat(1, Chat.GROUP))
        with probe._unfrozen():
            setattr(probe, name, True)
        if filters.StatusUpdate.ALL.check_update(Update(1, message=probe)):
            found.append(name)
    return tuple(found)


class _ServiceMessage(filters.UpdateFilter):
    """filters.StatusUpdate.ALL's answer for a fraction of its cost: it asks ~45 filters in turn (about 60 µs a
    message, three times per message once every feature had its handler); this reads the same fields at once.
    Asked several times per message (the middleware, the group-message router, GROUP_CHAT): the answer for the
    last update asked is kept (an Update does not change, and the one kept cannot be another's id)."""

    __slots__ = ("_fields", "_last")

    def __init__(self) -> None:
        super().__init__(name="SERVICE_MESSAGE")
        self._fields = attrgetter(*_service_fields())
        self._last: tuple[Update | None, bool] = (None, False)

    def filter(self, update: Update) -> bool:
        last, answer = self._last
        if update is last:
            return answer
        message = update.effective_message
        answer = message is not None and any(self._fields(message))
        self._last = (update, answer)
        return answer


SERVICE_MESSAGE = _ServiceMessage()
# A message someone wrote in a group (not a command, not "X joined" or a pin): what counters and gates look at.
GROUP_CHAT = filters.ChatType.GROUPS & ~filters.COMMAND & ~SERVICE_MESSAGE


# When a step of the group-message path applies to a message (the message, whether it is new rather than an edit):
# the filters its MessageHandler had, less what every message that reaches the steps already is (in a group, not a
# service message, not a command).
Applies = Callable[[Message, bool], bool]
Step = tuple[Callback, Applies]


def always(message: Message, new: bool) -> bool:
    return True


def with_text(message: Message, new: bool) -> bool:
    return bool(message.text)


def new_reply(message: Message, new: bool) -> bool:
    return new and message.reply_to_message is not None


def reply_with_text_or_photo(message: Message, new: bool) -> bool:
    return message.reply_to_message is not None and bool(message.text or message.photo)


def _is_command(message: Message) -> bool:
    """filters.COMMAND: the first entity is a bot_command at offset 0."""
    entities = message.entities
    return bool(entities) and entities[0].type == MessageEntity.BOT_COMMAND and entities[0].offset == 0


class GroupMessageRouter(BaseHandler[Update, BotContext, None]):
    """Every message and edit someone wrote in a group (not a service message) in one handler: the rules judge it
    first (`judge`; a message they delete goes no further), then, unless it is a command, each step whose condition
    holds runs in turn — what handler groups did before, in their order, with the same conditions — and nothing
    after it is asked (ApplicationHandlerStop): no other handler takes a plain group message. Rose's `@admin` in
    reply, a plain message that is also the command /report, goes to the one command router between the rules and
    the steps, where its handler group had it. A command goes on through PTB's groups after the rules (the command
    router, the unknown-command pointer), as before. As between handler groups, a step that fails is handed to the
    error handler and the next step still runs."""

    __slots__ = ("judge", "commands", "steps")

    def __init__(self, judge: Callback, commands: CommandRouter, steps: Sequence[Step]) -> None:
        super().__init__(self._unused)
        self.judge, self.commands, self.steps = judge, commands, tuple(steps)

    @staticmethod
    async def _unused(update: Update, context: BotContext) -> None:  # BaseHandler wants a callback
        raise AssertionError("GroupMessageRouter calls each step's own callback")

    def check_update(self, update: object) -> Message | None:
        # Sticky asks Telegram for no business or guest messages (bot.app.ALLOWED_UPDATES): in a group, a message
        # or an edit.
        if not isinstance(update, Update):
            return None
        message = update.message or update.edited_message
        if message is None or message.chat.type not in (Chat.GROUP, Chat.SUPERGROUP) or SERVICE_MESSAGE.filter(update):
            return None
        return message

    async def handle_update(self, update: Update, application: Application, check_result: Message, context: BotContext) -> None:
        message, new = check_result, update.message is not None
        await _step(self.judge(update, context), update, application)
        if _is_command(message):
            return  # on to the command router and what follows it
        routed = self.commands.check_update(update)  # @admin in reply
        if routed is not None:
            await _step(self.commands.handle_update(update, application, routed, context), update, application)
        for callback, applies in self.steps:
            if applies(message, new):
                await _step(callback(update, context), update, application)
        raise ApplicationHandlerStop()


async def _step(step, update: Update, application: Application) -> None:
    """One step, as PTB runs a handler group's: ApplicationHandlerStop ends the update's handling; any other error
    goes to the error handler and the update goes on to the next step (unless the error handler stops it)."""
    try:
        await step
    except ApplicationHandlerStop:
        raise
    except Exception as exc:
        if await application.process_error(update=update, error=exc):
            raise ApplicationHandlerStop() from None
