"""What every command handler shares: where it may run, who may run it, one place that turns errors into replies."""
from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from telegram import CallbackQuery, Message, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.context import BotContext
from bot.processor import DroppedAtStop, in_the_door, pause, slot_released
from bot.domain.errors import (
    AnonymousAdminError, BotActorError, ChannelActorError, ConnectError, GroupOnlyError, LookupNotAllowedError, MissingRightError,
    PrivateOnlyError, TargetError, UsageError, UserError,
)
from bot.domain.roles import Role, require, role_from
from bot.telegram_port import user_info
from bot.domain.funnel import FunnelError
from bot.domain.moderation import ModerationError, RightsError
from bot.domain.rules import RuleError, effect_rights
from bot.domain.points import PointsError
from bot.domain.feedback import FeedbackError
from bot.domain.nightmode import NightModeError
from bot.domain.schedules import ScheduleError
from bot.domain.polls import PollError
from bot.domain.topics import TopicError
from bot.domain.shop import ShopError
from bot.domain.nps import NpsError
from bot.texts import Translator, language_for_user, translator
from bot.texts import core as texts
from bot.texts import funnel as funnel_texts
from bot.texts import points as points_texts
from bot.texts import feedback as feedback_texts
from bot.texts import nightmode as nightmode_texts
from bot.texts import schedules as schedule_texts
from bot.texts import polls as poll_texts
from bot.texts import topics as topic_texts
from bot.texts import rules as rules_texts
from bot.texts import shop as shop_texts
from bot.texts import loyalty as loyalty_texts
from bot.texts import connections as connection_texts
from bot.services.members import user_id_arg
from storage.members import Member, UserInfo
from storage.schedules import Deferred

log = logging.getLogger(__name__)

Callback = Callable[[Update, BotContext], Awaitable[None]]
T = TypeVar("T")

# Telegram work after a committed action waits out a flood wait (what Telegram asks) this many times, each at most
# MAX_WAIT long; a longer wait means the moment for a reply has passed.
RETRIES = 2
MAX_WAIT = timedelta(seconds=30)


@dataclass(frozen=True)
class Attempt:
    """How one Telegram call went. `refused`: Telegram said no for good (blocked, kicked, message gone…);
    `unsure`: no answer came (timeout, network) — it may have happened, so it is not tried again."""

    result: Any = None
    error: TelegramError | None = None

    @property
    def done(self) -> bool:
        return self.error is None

    @property
    def refused(self) -> bool:
        return isinstance(self.error, (Forbidden, BadRequest))

    @property
    def dropped(self) -> bool:
        """Not made at all: Sticky is stopping and it would have had to wait (it is certainly not there)."""
        return isinstance(self.error, DroppedAtStop)

    @property
    def unsure(self) -> bool:
        return self.error is not None and not self.refused and not isinstance(self.error, RetryAfter) and not self.dropped

    @property
    def retry_in(self) -> timedelta | None:
        """For work that is tried again later (deferred work): how long Telegram asked to wait (a 429), no time for
        a timeout or network error or a call dropped at stop; None when there is nothing to try again (done, or
        refused for good)."""
        if isinstance(self.error, RetryAfter):
            return self.error._retry_after  # a timedelta whatever PTB's int/timedelta setting  # noqa: SLF001
        return timedelta(0) if self.unsure or self.dropped else None


async def attempt(what: str, call: Callable[[], Awaitable[T]], *, retries: int = RETRIES) -> Attempt:
    """The one way Sticky makes a Telegram call whose failure must not undo or misreport what was decided before it:
    a flood wait is waited out, without one of the update processor's places, and the call made again (up to
    `retries` times; `retries=0`: not waited out but returned, for work that is tried again later — settle); a
    timeout or network error is not repeated (the message may have gone out: never twice); every failure is
    logged as a warning, once."""
    for tries in range(retries + 1):
        try:
            return Attempt(await call())
        except RetryAfter as exc:
            wait = exc._retry_after  # a timedelta whatever PTB's int/timedelta setting  # noqa: SLF001
            if tries == retries or wait > MAX_WAIT:
                log.warning("%s: gave up after a flood wait (%s)", what, exc)
                return Attempt(error=exc)
            # Waiting is not working: the update processor's place goes to another chat meanwhile. The chat's own
            # turn is kept (its next update waits behind this answer), so its answers stay in order. A stop ends
            # the wait: the call is not made again (pause raises DroppedAtStop).
            try:
                async with slot_released():
                    await pause(wait.total_seconds())
            except DroppedAtStop as dropped:
                log.warning("%s: dropped at stop during a flood wait (%s)", what, exc)
                return Attempt(error=dropped)
        except TimedOut as exc:
            log.warning("%s: timed out; it may have been done, so it is not repeated", what)
            return Attempt(error=exc)
        except TelegramError as exc:
            log.warning("%s: %s", what, exc)
            return Attempt(error=exc)
    raise AssertionError("unreachable")  # pragma: no cover


async def best_effort(what: str, call: Callable[[], Awaitable[T]]) -> T | None:
    """attempt(), for work that is a courtesy to the user: its result, or None if it could not be done."""
    return (await attempt(what, call)).result


async def answer_query(query: CallbackQuery, text: str | None = None, show_alert: bool = False) -> None:
    """Answer a button press. Best effort: a press handled late (over 15 minutes, e.g. after downtime) can no longer
    be answered, and what the press did still stands."""
    await best_effort(f"answer button {query.id}", lambda: query.answer(text, show_alert=show_alert))


async def edit_query_message(query: CallbackQuery, text: str, markup=None) -> None:
    """Turn a button's message into its outcome. Best effort: it may have been deleted meanwhile."""
    await best_effort(f"edit button message {query.id}", lambda: query.edit_message_text(text, reply_markup=markup))


@dataclass(frozen=True)
class CommandSpec:
    name: str
    callback: Callback
    role: Role
    where: str  # "group" | "private" | "any"
    # Typed in private chat, a group command acts on a group (handlers/connections.py): an admin command on the
    # connected group; a personal one (/me, /invite…) on the group the sender picks. False: it needs the group's
    # own messages (/del, /purge) or a button pressed there (/season), so it is sent in the group.
    remote: bool = True
    personal: bool = False
    # Anyone may type it, but it is for a group's admins (Telegram is asked when it runs: /connect): /help lists it
    # only to admins, and /help COMMAND says so.
    admin_tool: bool = False

    def usable(self, role: Role, in_group: bool) -> bool:
        place_ok = self.where == "any" or (self.where == "group") == in_group
        return place_ok and role >= self.role

    def listed(self, role: Role, in_group: bool, admin: bool) -> bool:
        """Whether /help lists it: usable here, or in private a group's personal command (/me…) that answers for
        your group; an admin tool only to `admin` (an admin here, or in private of some group)."""
        personal_here = not in_group and self.where == "group" and self.remote and self.personal and self.usable(role, True)
        return (admin or not self.admin_tool) and (self.usable(role, in_group) or personal_here)


def command(
    name: str, *, role: Role = Role.MEMBER, where: str = "group", remote: bool = True, personal: bool = False,
    admin_tool: bool = False,
) -> Callable[[Callback], Callback]:
    """Guard a command: wrong place or too low a role gets one clear line, and so does any UserError it raises."""

    def decorate(fn: Callback) -> Callback:
        @functools.wraps(fn)
        async def wrapper(update: Update, context: BotContext) -> None:
            if update.message is None:
                # An edited command is not run again: what it did (give a role, points…) must not happen twice.
                return
            try:
                in_group = update.effective_chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
                if where == "group" and not in_group:  # someone Sticky knows in a group is told to send it there
                    person = update.effective_user
                    raise GroupOnlyError(command=name, in_a_group=person is not None and await context.services.connections.in_any(person.id))
                if where == "private" and in_group:
                    raise PrivateOnlyError()
                require(context.actor.role, role)
                await fn(update, context)
            except UserError as err:
                await reply(update, context, await render_error(update, context, err, name), transient=True)

        wrapper.spec = CommandSpec(name, wrapper, role, where, remote, personal, admin_tool)  # type: ignore[attr-defined]
        return wrapper

    return decorate


async def render_error(update: Update, context: BotContext, err: UserError, command_name: str | None = None) -> str:
    """The one place a refused action becomes a line of text."""
    if isinstance(err, ConnectError):
        return connection_texts.connect_error(context.tr, err)
    if isinstance(err, FeedbackError):
        return feedback_texts.feedback_error(context.tr, err)
    if isinstance(err, TopicError):
        return topic_texts.topic_error(context.tr, err)
    if isinstance(err, PollError):
        return poll_texts.poll_error(context.tr, err)
    if isinstance(err, NightModeError):
        return nightmode_texts.nightmode_error(context.tr, err)
    if isinstance(err, ScheduleError):
        return schedule_texts.schedule_error(context.tr, err)
    if isinstance(err, RuleError):
        return rules_texts.rule_error(context.tr, err)
    if isinstance(err, (ModerationError, RightsError)):
        return rules_texts.moderation_error(context.tr, err)
    if isinstance(err, ShopError):
        return shop_texts.error(context.tr, err)
    if isinstance(err, NpsError):
        return loyalty_texts.nps_error(context.tr, err)
    if isinstance(err, FunnelError):
        return funnel_texts.funnel_error(context.tr, err)
    if isinstance(err, PointsError):
        chat = update.effective_chat
        tz = (await context.services.groups.settings(chat.id)).timezone if chat and chat.type != ChatType.PRIVATE else "UTC"
        return points_texts.points_error(context.tr, err, tz)
    return texts.error(context.tr, err, command_name)


def spec_of(callback: Callback) -> CommandSpec:
    return callback.spec  # type: ignore[attr-defined]


def destination(update: Update, context: BotContext) -> int:
    """The chat a command's answer goes to: where it was typed (a command run from private chat on a group answers
    in private)."""
    return context.elsewhere.chat_id if context.elsewhere is not None else update.effective_chat.id


def _acts_in_place(markup) -> bool:
    return markup is not None and any(b.callback_data is not None for row in markup.inline_keyboard for b in row)


async def reply(update: Update, context: BotContext, text: str, *, transient: bool = False, markup=None,
                remote_buttons: bool = False, then: Callable[[Message], Awaitable[Any]] | None = None) -> Message | None:
    """Answer the message that triggered the update (None if it could not be sent, or — in the door lane — not sent
    yet). Transient answers (errors, usage) are deleted later if configured. `remote_buttons`: the markup's buttons
    work pressed in private chat too (they act on the connected group: the step-by-step /schedule), so a command run
    from there keeps them. `then`: what to do with the answer once sent (a rule's reply deleted after N s), wherever
    it is sent from."""
    message = update.effective_message
    chat = update.effective_chat
    away = context.elsewhere
    if away is not None:
        # Run from private chat on a group: the answer goes back to private, headed by the group it acted on. Its
        # buttons act on the chat they are pressed in, so they stay in the group's own messages.
        text = connection_texts.acting_on(context.tr, away.group_title) + "\n" + text
        context.answered_elsewhere = True
        sent = await best_effort(f"reply in {away.chat_id}", lambda: context.bot.send_message(
            away.chat_id, text, reply_markup=None if _acts_in_place(markup) and not remote_buttons else markup,
            reply_parameters=ReplyParameters(away.message_id, allow_sending_without_reply=True),
        ))
        if then is not None and sent is not None:
            await then(sent)
        return sent

    async def send() -> Message | None:
        # Best effort: the action it reports is done, and a reply that could not be sent does not make it an error.
        sent = await best_effort(f"reply in {chat.id}", lambda: context.bot.send_message(
            chat.id, text, reply_markup=markup,
            reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True) if message else None,
        ))
        if chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
            settings = await context.services.groups.settings(chat.id)
            if transient and settings.transient_seconds and sent is not None:
                await delete_later(context, chat.id, sent.message_id, settings.transient_seconds)
            if settings.delete_commands and message is not None and message.text and message.text.startswith("/"):
                await delete_quietly(context, chat.id, message.message_id)
        if then is not None and sent is not None:
            await then(sent)
        return sent

    if in_the_door() and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        # A command that decides the door (/set screening on) answers from a task: its answer may wait for the
        # group's flood window, and the joins behind it in the door lane must not.
        context.application.create_task(send(), update=update, name=f"reply:{chat.id}")
        return None
    return await send()


async def delete_quietly(context: BotContext, chat_id: int, message_id: int, *, transient_raises: bool = False) -> bool:
    """Tidying up is best effort: a message already gone or too old is not an error worth showing anyone.
    `transient_raises`: a network error, timeout or 429 is raised instead (durable deletes try again later)."""
    away = context.elsewhere
    if away is not None and (chat_id, message_id) == (away.group_id, away.stand_in_id):
        chat_id, message_id = away.chat_id, away.message_id  # the command was typed in private: tidy it there
    try:
        return await context.bot.delete_message(chat_id, message_id)
    except BadRequest as exc:  # "message to delete not found", "message can't be deleted": final (PTB: a NetworkError)
        log.info("could not delete %s/%s: %s", chat_id, message_id, exc)
        return False
    except (NetworkError, RetryAfter):
        if transient_raises:
            raise
        log.info("could not delete %s/%s: Telegram did not answer", chat_id, message_id)
        return False
    except TelegramError as exc:
        log.info("could not delete %s/%s: %s", chat_id, message_id, exc)
        return False


async def delete_later(context: BotContext, chat_id: int, message_id: int, seconds: float) -> None:
    """The one way to have a message deleted after a while (transient answers, links shown in a group…). Durable:
    a row in the deferred-work table, claimed once — by this timer, or after a restart by the schedules tick."""
    work = await context.services.schedules.defer(chat_id, "delete", {"message_id": message_id}, seconds)
    if context.job_queue is not None:
        context.job_queue.run_once(
            job_delete_message, seconds, data=(chat_id, message_id, work.id), name=f"delete:{chat_id}:{message_id}",
        )


async def job_delete_message(context: BotContext) -> None:
    chat_id, message_id, work_id = context.job.data
    work = await context.services.schedules.claim_work(work_id)
    if work is not None:  # None: the tick got there first
        await settle(context, work, delete_work)  # the tick's own way: done when it succeeded or failed for good


async def delete_work(context: BotContext, work: Deferred) -> None:
    """Deferred work of kind `delete`: "message to delete not found" is final (gone is what was wanted); a network
    error, timeout or 429 is raised, for settle to try again later."""
    await delete_quietly(context, work.chat_id, work.payload["message_id"], transient_raises=True)


async def settle(context: BotContext, work: Deferred, act: Callable[[BotContext, Deferred], Awaitable[Any]]) -> None:
    """One claimed piece of deferred work, done by act(context, work), and marked done once it succeeded or failed
    for good — or by the outbox at its first step (a post), so a crash after that never sends it twice. Telegram's
    answer is judged as every call's is (attempt, without waiting out a flood wait here): a refusal is final; a
    network error, timeout or 429 makes it due again after a backoff (never sooner than the 429 asks), RETRY_TRIES
    times at most. Any other failure ends it (it would fail again) and is logged; it does not hold up the rest."""
    s = context.services
    with s.outbox.on_behalf("deferred", work.id):
        try:
            done = await attempt(f"deferred work {work.id} ({work.kind})", lambda: act(context, work), retries=0)
        except Exception:
            log.exception("deferred work %s failed", work.id)
            done = Attempt()
    wait = done.retry_in
    if wait is None:
        await s.schedules.done_work(work.id)
    elif await s.schedules.retry_work(work, wait):
        log.info("deferred work %s (%s): Telegram did not answer, trying again later", work.id, work.kind)
    else:
        log.warning("deferred work %s (%s): given up after %s tries", work.id, work.kind, work.tries + 1)


def sender(update: Update) -> UserInfo | None:
    user = update.effective_user
    return None if user is None else user_info(user)


async def resolve_target(update: Update, context: BotContext, arg: str | None, present: bool = True,
                         bots: bool = False, channels: bool = False) -> Member:
    """The member a command names: by reply, @username or numeric id (arg). Raises TargetError. `bots`: a reply to
    another bot's message names that bot (moderation: a spam bot is banned by replying to it). `channels`: a reply to
    a message sent on behalf of a channel names that channel (moderation: warned and banned as itself); never an
    anonymous admin's message (sent as the group) nor the linked channel's automatic forwards."""
    replied = update.effective_message.reply_to_message
    # In forum groups every message "replies" to the topic's first message; that names nobody.
    if replied is not None and replied.forum_topic_created:
        replied = None
    from_chat = replied is not None and replied.sender_chat is not None
    named = user_id_arg(arg) if channels and arg else None
    if named is not None and str(named).startswith("-100"):  # a channel by its id, as the Bot API writes one (/unban -1001234567890)
        return await context.services.members.channel_by_id(update.effective_chat.id, named)
    if channels and from_chat and not arg:
        chat = replied.sender_chat
        if chat.id == update.effective_chat.id:
            raise TargetError(reason="reply_to_anonymous")
        if replied.is_automatic_forward:
            raise TargetError(reason="reply_to_linked")
        return await context.services.members.channel_target(update.effective_chat.id, chat.id, chat.title or str(chat.id), chat.username)
    reply_user = user_info(replied.from_user) if replied is not None and not from_chat and replied.from_user else None
    if reply_user is not None and reply_user.user_id == context.bot.id:
        bots = False  # Sticky's own message names nobody to act on: "that message is from a bot"
    return await context.services.members.target(update.effective_chat.id, reply_user, from_chat, arg, present, bots,
                                                 channels)


def _names_member(arg: str) -> bool:
    return arg.startswith("@") or user_id_arg(arg) is not None


def split_target(update: Update, args: list[str]) -> tuple[str | None, list[str]]:
    """With a reply, the arguments are the rest; otherwise the first argument names the member."""
    if update.effective_message.reply_to_message is not None and args and not _names_member(args[0]):
        return None, args
    if args and _names_member(args[0]):
        return args[0], args[1:]
    return None, args


@dataclass(frozen=True)
class Subject:
    """Whom a personal command (/me, /history, /badges, /invites) is about."""

    user_id: int
    display: str
    role: Role
    is_self: bool


def replied_person(update: Update):
    """The person whose message a command replies to; None for a forum topic's root, a bot or a chat."""
    replied = update.effective_message.reply_to_message
    if replied is None or replied.forum_topic_created or replied.sender_chat is not None or replied.from_user is None:
        return None
    return None if replied.from_user.is_bot else replied.from_user


async def subject(update: Update, context: BotContext, command_name: str) -> Subject:
    """The sender, or — for admins — the member named by @username, id or reply. A member who names someone
    else gets one line saying only admins look others up (LookupNotAllowedError)."""
    args = context.args or []
    named = args[0] if args and _names_member(args[0]) else None
    if len(args) > (1 if named else 0):
        raise UsageError()
    replied = replied_person(update) if named is None else None
    me = update.effective_user
    own = named is None and (replied is None or (me is not None and replied.id == me.id))
    if named is not None and me is not None and not context.actor.anonymous_admin:
        own = named.casefold() == f"@{me.username}".casefold() if named.startswith("@") else user_id_arg(named) == me.id
    if own:
        who = sender(update)
        return Subject(person_id(context), who.display, context.actor.role, True)
    if context.actor.role < Role.ADMIN:
        raise LookupNotAllowedError(command=command_name)
    target = await resolve_target(update, context, named)
    return Subject(target.user.user_id, target.user.display, role_from(target.tg_role, target.community_role), False)


class RightsGuard:
    """The check a rule-writing command passes to RulesService (its Guard): a rule that deletes, warns, mutes, bans or
    kicks is written or switched on only by an admin who has that right in Telegram — the same check as /del, /warn,
    /mute, /ban or /kick by hand (ModerationService.may), so a rule cannot lend Sticky's rights either. And what Sticky
    itself lacks for those effects is noted (`said`), as /set notes a setting's missing right: the rule is stored, and
    told that it can't act until an admin gives Sticky the right."""

    def __init__(self, update: Update, context: BotContext, chat_id: int | None = None) -> None:
        self.update, self.context = update, context
        self.chat_id = update.effective_chat.id if chat_id is None else chat_id
        self.notes: list[UserError] = []

    async def __call__(self, effects) -> None:
        chat = self.chat_id
        await self.context.services.moderation.may(self.context.actor, chat, *effect_rights(effects))
        # Sticky's own: a reset of warns is a write of its own, no Telegram action (the admin's check counts it as
        # /resetwarns, which takes Ban users).
        own = effect_rights(e for e in effects if e.key != "reset")
        for right in await self.context.services.moderation.actions.lacking(chat, list(own)):
            if all(n.params.get("right") != right for n in self.notes):
                self.notes.append(MissingRightError(feature="rule_actions", right=right))

    async def said(self) -> str:
        """The notes, each on a line of its own after the command's answer ("" when Sticky has what it needs)."""
        return "".join(["\n" + await render_error(self.update, self.context, n) for n in self.notes])


async def reader_translator(services, user_id: int, group_language: str) -> Translator:
    """What comes to one person in private about a group (an answer there, an admin's notice): in the language they
    chose with /language, else the group's."""
    return translator(await services.members.language(user_id) or group_language)


async def private_translator(services, user) -> Translator:
    """A person's private chat with Sticky: in the language they chose (/language); else, while it manages a group
    (/connect), that group's — /help, pointers and the answers to the commands run there alike, as reader_translator
    has it for what is about a group; else their Telegram app's."""
    chosen = await services.members.language(user.id) if user is not None else None
    if chosen is None and user is not None and (group_id := await services.connections.connected_to(user.id)) is not None:
        return translator((await services.groups.settings(group_id)).language)
    return translator(language_for_user(user.language_code if user else None, services.config.defaults.language, chosen))


def person_id(context: BotContext) -> int:
    """The acting person's id, for personal commands; someone writing as the group or as a channel has none, nor does
    a bot."""
    if context.actor.anonymous_admin:
        raise AnonymousAdminError()
    if context.actor.channel:
        raise ChannelActorError()
    if context.actor.bot:
        raise BotActorError()
    return context.actor.user_id


def message_link(chat_id: int, message_id: int | None) -> str | None:
    """t.me/c/… works for members of a supergroup, public or not; a basic group's messages have no links."""
    if message_id is None or not str(chat_id).startswith("-100"):
        return None
    return f"https://t.me/c/{str(chat_id)[4:]}/{message_id}"
