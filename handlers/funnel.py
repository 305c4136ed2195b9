"""The join funnel in Telegram: screening newcomers (group prompt or, for join requests, in private), timeouts that
survive restarts, /invite, /invites, /setcaptcha, /funnel, deep links (?start=ref_…) and referral counting."""
from __future__ import annotations

import inspect
import json
import logging
from datetime import datetime, timedelta, timezone

from telegram import ChatMember, ChatMemberUpdated, ChatPermissions, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.domain.errors import NotAllowedError, UsageError
from bot.domain.funnel import FunnelError, parse_number
from bot.domain.roles import Role
from bot.services.funnel import Answered, Confirmed
from bot.ratelimit import ahead
from bot.telegram_port import user_info
from bot.texts import funnel as texts
from bot.texts import points as points_texts
from bot.texts import translator
from handlers.base import (
    Attempt, answer_query, attempt, best_effort, command, delete_later, delete_quietly, edit_query_message, person_id,
    reader_translator, reply, resolve_target, sender, subject,
)
from handlers.lifecycle import is_present, told_by_message
from handlers.points import earn_by_staying, notify_private
from storage.funnel import Check

log = logging.getLogger(__name__)

GROUPS = (ChatType.GROUP, ChatType.SUPERGROUP)
# A captcha button's data: "cap:<check>:<choice>". Its presses go through the chat's door lane (bot/processor.py),
# with the joins: an answer is never held up behind a flood of the group's messages until its deadline passes.
CAPTCHA_PRESS = "cap:"
CAPTCHA_PATTERN = rf"^{CAPTCHA_PRESS}\d+:\d+$"
# The settings that decide how the next joins are met: /set of one of these, and /setcaptcha, go through the door
# lane too, so a join after them is met as they say even when the group's messages wait behind a flood.
DOOR_SETTINGS = frozenset({"screening", "captcha_mode", "captcha_timeout", "welcome", "greet"})


def decides_the_door(text: str) -> bool:
    words = text.split(maxsplit=2)
    command = words[0].split("@", 1)[0].lower()
    return command == "/setcaptcha" or (command == "/set" and len(words) > 1 and words[1].lower() in DOOR_SETTINGS)


async def _tr(context: BotContext, chat_id: int):
    return translator((await context.services.groups.settings(chat_id)).language)


def job_name(check: Check) -> str:
    return f"captcha:{check.chat_id}:{check.user_id}"


def arm(context: BotContext, check: Check) -> None:
    """One timeout job per pending check, named so a restart (the sweep) can tell whether it is armed."""
    if context.job_queue is None:
        return
    for job in context.job_queue.get_jobs_by_name(job_name(check)):
        job.schedule_removal()
    delay = max(0.0, (context.services.funnel.expires_at(check) - context.services.clock.now()).total_seconds())
    context.job_queue.run_once(job_captcha, delay, data=check.id, name=job_name(check))


def disarm(context: BotContext, check: Check) -> None:
    if context.job_queue is not None:
        for job in context.job_queue.get_jobs_by_name(job_name(check)):
            job.schedule_removal()


def _keyboard(context: BotContext, check: Check, _) -> InlineKeyboardMarkup | None:
    if check.mode == "question":
        if check.via == "request":
            return None  # typed in the private chat
        url = f"https://t.me/{context.bot.username}?start=cap_{check.id}"
        return InlineKeyboardMarkup([[InlineKeyboardButton(texts.answer_privately(_), url=url)]])
    buttons = [InlineKeyboardButton(label, callback_data=f"{CAPTCHA_PRESS}{check.id}:{i}") for i, label in enumerate(check.choices)]
    return InlineKeyboardMarkup([buttons[i:i + 3] for i in range(0, len(buttons), 3)])


async def _prompt_text(context: BotContext, check: Check, _, who: str, private: bool) -> str:
    group = (await context.services.groups.group(check.chat_id))
    seconds = max(0, int((context.services.funnel.deadline_of(check) - context.services.clock.now()).total_seconds()))
    return texts.prompt(_, check.mode, who, group.title if group else "", check.question, seconds, private)


def lacks_standing(done: Attempt) -> bool:
    """Refused for the bot's standing in the group, not for the member: kicked or not in it (403), not an admin or
    without the right (400 "not enough rights…", CHAT_ADMIN_REQUIRED). What screening owes stays owed: the sweep tries
    again, and it works once the bot has its right back — nobody stays restricted or banned by accident."""
    if isinstance(done.error, Forbidden):
        return True
    text = done.error.message.lower() if isinstance(done.error, BadRequest) else ""
    return any(words in text for words in ("not enough rights", "chat_admin_required", "need administrator rights"))


async def _settled(context: BotContext, chat_id: int, done: Attempt) -> bool:
    """Whether a screening action needs no other try: done, or refused for the member's own sake (an admin now, the
    owner, an account Telegram no longer knows). Missing rights are said to the group once, and tried again later."""
    if done.done:
        context.services.funnel.right_works(chat_id)
        return True
    if done.refused and lacks_standing(done):
        if isinstance(done.error, BadRequest) and context.services.funnel.tell_missing_right(chat_id):
            _ = await _tr(context, chat_id)
            # From a task, as every group post of the door lane: it may wait for the group's flood window.
            context.application.create_task(best_effort(
                f"missing right notice in {chat_id}", lambda: context.bot.send_message(chat_id, texts.screening_right_missing(_))),
                name=f"missing-right:{chat_id}")
        return False
    return done.refused


async def _kick(context: BotContext, chat_id: int, user_id: int) -> bool:
    """Telegram's kick: a ban that Telegram ends by itself after a few minutes (Actions.kick_until), lifted at once
    so they may come back later. False: not done yet and worth trying again (flood wait, network, timeout; the bot
    without its right); a refusal for the member's sake (an admin now, the owner, gone) is final."""
    until = context.services.moderation.actions.kick_until()
    for what, call in (("remove", lambda: context.bot.ban_chat_member(chat_id, user_id, until_date=until)),
                       ("unban after removing", lambda: context.bot.unban_chat_member(chat_id, user_id, only_if_banned=True))):
        done = await attempt(f"{what} {user_id} in {chat_id}", call)
        if not await _settled(context, chat_id, done):
            return False  # banned and not unbanned yet: the retry bans (harmlessly) again and unbans
        if done.refused and what == "remove":
            return True  # not theirs to remove: nothing to unban
    return True


async def _edit_or_send(context: BotContext, check: Check, text: str) -> None:
    if check.prompt_chat_id is None:
        return
    try:
        await context.bot.edit_message_text(text, check.prompt_chat_id, check.prompt_message_id)
    except TimedOut as exc:  # the edit may well have been made: a second message would say it twice
        log.info("no answer to the outcome edit for %s (sent once, not again): %s", check.user_id, exc)
    except TelegramError:
        async def tell() -> None:
            try:
                await context.bot.send_message(check.prompt_chat_id, text)
            except TelegramError as exc:  # the join request's window to write to them has closed
                log.info("could not tell %s the outcome: %s", check.user_id, exc)

        if check.prompt_chat_id < 0:  # in the group: from a task, as every group post of the door lane
            context.application.create_task(tell(), name=f"captcha-outcome:{check.id}")
        else:  # in private (a join request's): told before the request is approved, which lets them in
            await tell()


PERMISSIONS = tuple(p for p in inspect.signature(ChatPermissions).parameters if p != "api_kwargs")
KEEP = "keep"  # someone else changed the newcomer's rights during the check: passing leaves them alone


def _until(member: ChatMember) -> int:
    """The restriction's end as a Unix time; 0 = forever (PTB reads Telegram's 0 as the epoch)."""
    until = getattr(member, "until_date", None)
    return max(0, int(until.timestamp())) if until else 0


def restriction_of(member: ChatMember) -> str | None:
    """A restriction the newcomer already had (an admin's, kept across leaving and rejoining), to give back on passing."""
    if member.status != ChatMemberStatus.RESTRICTED:
        return None
    return json.dumps({"permissions": {p: bool(getattr(member, p, False)) for p in PERMISSIONS}, "until": _until(member)})


def is_screening_restriction(member: ChatMember) -> bool:
    """Exactly what the check sets: restricted, nothing allowed, no end."""
    return (member.status == ChatMemberStatus.RESTRICTED and not _until(member)
            and not any(getattr(member, p, False) for p in PERMISSIONS))


async def _lift(context: BotContext, check: Check) -> bool:
    """Undo only the screening restriction: an earlier restriction comes back, a change made by someone else during
    the check stays, and otherwise the group's default rights apply. False: not done yet (worth another try).
    Telegram's word on them now decides first: gone, free already, or restricted otherwise than the check restricts
    (an admin's hand, seen or not) — nothing to lift. Only when Telegram cannot say does what the check recorded."""
    if check.restore == KEEP:
        return True
    live = await attempt(f"look up {check.user_id} in {check.chat_id}",
                         lambda: context.bot.get_chat_member(check.chat_id, check.user_id))
    if live.done and not is_screening_restriction(live.result):
        if live.result.status == ChatMemberStatus.RESTRICTED:
            log.info("%s in %s is restricted otherwise than screening does: kept as it is", check.user_id, check.chat_id)
        return True
    perms, until = ChatPermissions.all_permissions(), None
    if check.restore:
        prior = json.loads(check.restore)
        ends = datetime.fromtimestamp(prior["until"], timezone.utc) if prior["until"] else None
        # Telegram reads an end under 30 seconds away as "forever": a restriction that (nearly) ran out is just lifted.
        if ends is None or ends - context.services.clock.now() > timedelta(seconds=30):
            perms, until = ChatPermissions(**prior["permissions"]), ends
    done = await attempt(f"lift the restriction on {check.user_id} in {check.chat_id}", lambda: context.bot.restrict_chat_member(
        check.chat_id, check.user_id, perms, until_date=until, use_independent_chat_permissions=True))
    return await _settled(context, check.chat_id, done)


async def _restrict(context: BotContext, check: Check) -> bool:
    """The screening restriction (nothing allowed, no end). False: not done yet, worth another try."""
    done = await attempt(f"restrict newcomer {check.user_id} in {check.chat_id}", lambda: context.bot.restrict_chat_member(
        check.chat_id, check.user_id, ChatPermissions.no_permissions()))
    return await _settled(context, check.chat_id, done)


# A restriction Telegram could not make is tried again after these many seconds, one after another, then by the
# funnel sweep; until it is made, whatever the newcomer posts is deleted (unscreened_message).
RESTRICT_RETRY = (2.0, 5.0, 15.0, 30.0)


async def restrict(context: BotContext, check: Check, tries: int = 0) -> bool:
    """Make the restriction the check owes; if Telegram cannot now, a retry is armed. True once it is made."""
    if await _restrict(context, check):
        await context.services.funnel.action_done(check, "restrict")
        return True
    if context.job_queue is not None and tries < len(RESTRICT_RETRY):
        name = f"restrict:{check.id}"
        for job in context.job_queue.get_jobs_by_name(name):
            job.schedule_removal()
        context.job_queue.run_once(job_restrict, RESTRICT_RETRY[tries], data=(check.id, tries + 1), name=name)
    return False


async def job_restrict(context: BotContext) -> None:
    check_id, tries = context.job.data
    check = await context.services.funnel.check(check_id)
    if check is not None and check.status == "pending" and check.action == "restrict":
        await restrict(context, check, tries)


async def unscreened_message(update: Update, context: BotContext) -> bool:
    """True: this group message (not a service message) comes from a newcomer under an open join check who may not
    post — the restriction is owed (Telegram kept failing it) or made after the message got in (in a raid Telegram
    delivers a join and the newcomer's first messages together, before the bot could restrict them). It is deleted,
    and the caller (the middleware) lets nothing else see it — no rule, count, spotlight or reward; a restriction still
    owed is tried again at once (at most every 2 s). For every other message it costs one set lookup."""
    message = update.message
    user = message.from_user
    s = context.services
    if not await s.funnel.held(message.chat.id, user.id):
        return False
    check = await s.funnel.pending_check(message.chat.id, user.id)
    if check is None or check.via != "join" or check.restore == KEEP:  # decided meanwhile, or an admin decided them
        s.funnel.release(message.chat.id, user.id)
        return False
    if message.date < check.event_at:  # sent before this join (a backlog handled late): not the check's to judge
        return False
    await delete_quietly(context, message.chat.id, message.message_id)
    if check.action != "restrict":
        log.info("deleted a message from %s in %s: screening, sent before the restriction held", user.id, message.chat.id)
        return True
    log.info("deleted a message from %s in %s: screening, not restricted yet", user.id, message.chat.id)
    if s.funnel.try_restriction_now(message.chat.id, user.id, timedelta(seconds=RESTRICT_RETRY[0])):
        await restrict(context, check, len(RESTRICT_RETRY))  # a burst of messages is not a burst of calls
    return True


async def _approved_already(context: BotContext, check: Check) -> bool:
    """After an approval whose answer was lost, Telegram refuses the next one: are they in?"""
    live = await attempt(f"look up {check.user_id} in {check.chat_id}", lambda: context.bot.get_chat_member(check.chat_id, check.user_id))
    return live.done and is_present(live.result)


async def finish_pass(context: BotContext, check: Check, retry: bool = False) -> None:
    """Carry out a passed check: lift the restriction and welcome, or approve the request (the join Telegram reports
    after the approval is welcomed, as every join: on_chat_member). Durable: until Telegram has done it, the check owes
    'pass' and the funnel sweep calls this again (retry=True: the notices already went)."""
    s = context.services
    disarm(context, check)
    _ = await _tr(context, check.chat_id)
    group = await s.groups.group(check.chat_id)
    if check.via == "request":
        # Tell them first: the request is what lets the bot write to someone who never started it.
        if not retry:
            await _edit_or_send(context, check, texts.passed_private(_, group.title if group else ""))
        done = await attempt(f"approve {check.user_id} in {check.chat_id}",
                             lambda: context.bot.approve_chat_join_request(check.chat_id, check.user_id))
        if not done.done and not done.refused:
            return  # flood wait, network: the request stays, the sweep approves it later (an admin still may)
        await s.funnel.action_done(check, "pass")
        if done.refused and not (retry and await _approved_already(context, check)):
            await s.funnel.request_closed(check.chat_id, check.user_id)  # gone: declined by an admin, withdrawn
            return
        log.info("%s passed the %s check of their join request in %s", check.user_id, check.mode, check.chat_id)
        return
    if not await _lift(context, check):
        return  # still restricted: the sweep lifts it later
    if check.prompt_chat_id is not None and not retry:
        await delete_quietly(context, check.prompt_chat_id, check.prompt_message_id)
    # Done before the welcome: a crash between the two loses a welcome rather than sending it twice.
    await s.funnel.action_done(check, "pass")
    user = await s.members.user(check.user_id)
    # From a task, as at a join without screening: the welcome may wait for the group's flood window, and the
    # presses and joins behind this one in the door lane must not (in a raid, right answers were removed late).
    context.application.create_task(
        send_welcome(context, check.chat_id, user.display if user else str(check.user_id), group.title if group else ""),
        name=f"welcome:{check.chat_id}:{check.user_id}")
    log.info("%s passed the %s check in %s", check.user_id, check.mode, check.chat_id)


async def send_welcome(context: BotContext, chat_id: int, who: str, title: str) -> None:
    """The group's welcome (its own text, or the built-in one) for someone who is in: every join, once screening (if
    on) has let them in."""
    settings = await context.services.groups.settings(chat_id)
    if not settings.greet:  # the group asked for no welcomes (/set greet off)
        return
    _ = await _tr(context, chat_id)
    welcome = texts.welcome(_, settings.welcome, who, title, settings.rules)
    await best_effort(f"welcome in {chat_id}", lambda: context.bot.send_message(chat_id, welcome))


async def finish_fail(context: BotContext, check: Check, retry: bool = False) -> None:
    """Carry out a failed or timed-out check: remove them (or decline the request). Durable like finish_pass."""
    disarm(context, check)
    if check.via == "request":
        if not retry:
            _ = await _tr(context, check.chat_id)
            group = await context.services.groups.group(check.chat_id)
            title = group.title if group else ""
            text = texts.timeout_private(_, title) if check.status == "timeout" else texts.failed_private(_, title)
            await _edit_or_send(context, check, text)
        done = await attempt(f"decline {check.user_id} in {check.chat_id}",
                             lambda: context.bot.decline_chat_join_request(check.chat_id, check.user_id))
        if not done.done and not done.refused:
            return
    else:
        if check.prompt_chat_id is not None and not retry:
            await delete_quietly(context, check.prompt_chat_id, check.prompt_message_id)
        if not await _kick(context, check.chat_id, check.user_id):
            return
    await context.services.funnel.action_done(check, "remove")
    log.info("%s removed from %s: check %s (%s)", check.user_id, check.chat_id, check.id, check.status)


# ------------------------------------------------------------------ joins and leaves


async def on_chat_member(update: Update, context: BotContext) -> None:
    await member_changed(update, context, update.chat_member)


async def on_member_message(update: Update, context: BotContext) -> None:
    """"X joined" / "X left" where Sticky is no admin (handlers.lifecycle.told_by_message): handled as the chat_member
    update would be, except that Sticky, without an admin's rights, screens nobody and removes no bot — the newcomer is
    welcomed at once."""
    for change in await told_by_message(update, context):
        await member_changed(update, context, change, admin=False)


async def member_changed(update: Update, context: BotContext, change: ChatMemberUpdated, admin: bool = True) -> None:
    """A member's change in a group; `admin`: told by a chat_member update, which Telegram sends only to admins."""
    chat, user = change.chat, change.new_chat_member.user
    if chat.type not in GROUPS or user.id == context.bot.id:
        return
    s = context.services
    was, now_in = is_present(change.old_chat_member), is_present(change.new_chat_member)
    if was and not now_in:
        closed, clawed = await s.funnel.member_left(chat.id, user.id, change.date)
        if closed is not None:
            disarm(context, closed)
            if closed.prompt_chat_id is not None and closed.via == "join":
                await delete_quietly(context, closed.prompt_chat_id, closed.prompt_message_id)
        if clawed:
            log.info("clawed back %s points: %s left %s soon after being confirmed", clawed, user.id, chat.id)
        return
    if was and now_in:
        # Rights changed during a check by someone else (an admin's mute, or an admin letting them talk): keep that,
        # and a restriction the check still owes is no longer forced on them.
        if change.from_user is None or change.from_user.id != context.bot.id or not is_screening_restriction(change.new_chat_member):
            await s.funnel.keep_rights(chat.id, user.id, KEEP, decided_by_others=True)
        return
    if not now_in:
        return
    settings = await s.groups.settings(chat.id)
    link = change.invite_link.invite_link if change.invite_link else None
    if change.invite_link is not None and change.invite_link.is_revoked:
        await s.funnel.link_revoked(link)
    privileged = change.new_chat_member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
    if user.is_bot:
        await s.funnel.member_joined(chat.id, user_info(user), link, change.date, screened=False)
        adder = change.from_user
        if admin and settings.screening and s.config.funnel.kick_bots_added_by_members and not privileged:
            adder_now = await attempt(f"look up {adder.id} in {chat.id}", lambda: context.bot.get_chat_member(chat.id, adder.id)) \
                if adder is not None and adder.id != user.id else None
            # Fails closed: when Telegram cannot say whether the adder is an admin, the bot goes.
            by_admin = adder_now is not None and adder_now.done and adder_now.result.status in (
                ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
            if not by_admin:
                log.info("removing bot %s added to %s by non-admin %s", user.id, chat.id, adder.id)
                await _kick(context, chat.id, user.id)
        return
    screening = admin and settings.screening and not privileged
    if screening:
        owed = await s.funnel.owed_restriction_for_event(chat.id, user.id, change.date)
        if owed is not None:  # this join delivered again, its restriction still not made: now, not at the next sweep
            await restrict(context, owed)
            return
    screen = screening and await s.funnel.needs_check(chat.id, user.id, change.date)
    if screen:
        with s.inbox.undecided():
            live = await _undecided_join(context, chat.id, user, link, change)
    else:
        await s.funnel.member_joined(
            chat.id, user_info(user), link, change.date, screened=True, via_request=bool(change.via_join_request),
        )
    if not screen:
        # No check to pass: they are in now, so the welcome goes now. In a burst of joins the welcomes wait for the
        # group's flood window on their own, as prompts do, so the next join is not held up behind them.
        welcome = send_welcome(context, chat.id, user_info(user).display, chat.title or "")
        if context.bot.rate_limiter is None:
            await welcome
        else:
            context.application.create_task(welcome, update=update, name=f"welcome:{chat.id}:{user.id}")
        return
    # Telegram refusing to say for the bot's own sake (removed from the group) leaves nothing to screen; a refusal
    # about the newcomer ("user not found") fails closed: checked as if present.
    if (live.refused and lacks_standing(live)) or (live.done and not is_present(live.result)):
        return
    # The decision's commit: it marks the join handled (until here a crash leaves the join due, handled again at the
    # restart; needs_check then finds this check and a redelivery opens no second one).
    check = await s.funnel.begin_check(chat.id, user.id, "join", change.date)
    if check is None:
        return
    if live.done:
        prior = await s.funnel.restore_for_rejoin(check, restriction_of(live.result), is_screening_restriction(live.result), KEEP)
        if prior is not None:
            await s.funnel.keep_rights(chat.id, user.id, prior)
    # Restricted first, prompted after: the check owes the restriction until Telegram has done it (retried within
    # seconds, then by the sweep; meanwhile what they post is deleted).
    await restrict(context, check)
    arm(context, check)
    prompt = _prompt(context, check, context.tr, user_info(user).display)
    if context.bot.rate_limiter is None:
        await prompt
    else:
        # In a raid the prompts wait for the group's flood window (20 a minute): the next newcomer's restriction must
        # not wait behind them, so the prompt goes out on its own while this chat's updates move on.
        context.application.create_task(prompt, update=update, name=f"captcha-prompt:{check.id}")


async def _undecided_join(context: BotContext, chat_id: int, user, link: str | None, change) -> Attempt:
    """A join to screen, before its check is opened: its referral recorded (pending, unscreened), and Telegram's word
    on where they are now: a join handled late (after downtime) must not act on someone gone. If Telegram cannot say
    (flood wait, network), screening fails closed: they are checked as if present. Both are harmless to do again."""
    await context.services.funnel.member_joined(
        chat_id, user_info(user), link, change.date, screened=False, via_request=bool(change.via_join_request),
    )
    return await attempt(f"look up newcomer {user.id} in {chat_id}", lambda: context.bot.get_chat_member(chat_id, user.id))


# Checks whose prompt (in the group, or a join request's in private) is being sent right now (waiting for the flood
# window, perhaps): the sweep leaves them be.
_PROMPTING: set[int] = set()


async def _prompt(context: BotContext, check: Check, tr, who: str) -> None:
    _PROMPTING.add(check.id)
    try:
        text = await _prompt_text(context, check, tr, who, private=False)
        # Before the group's other messages waiting for its flood window: the newcomer's time runs from the join.
        sent = await best_effort(f"captcha prompt in {check.chat_id}", lambda: context.bot.send_message(
            check.chat_id, text, reply_markup=_keyboard(context, check, tr), **ahead(context.bot)))
        if sent is not None:
            await context.services.funnel.set_prompt(check, check.chat_id, sent.message_id)
    finally:
        _PROMPTING.discard(check.id)


async def on_join_request(update: Update, context: BotContext) -> None:
    request = update.chat_join_request
    s = context.services
    chat_id = request.chat.id
    if not (await s.groups.settings(chat_id)).screening:
        return  # the admins decide; the referral is attributed at the join that follows an approval
    link = request.invite_link.invite_link if request.invite_link else None
    with s.inbox.undecided():  # the referral (harmless to record again): a crash before the check leaves the request due
        await s.funnel.member_joined(chat_id, user_info(request.from_user), link, request.date, screened=False, requested=True)
    # The decision's commit: it marks the request handled; a redelivery finds this check and opens no second one.
    check = await s.funnel.begin_check(chat_id, request.from_user.id, "request", request.date)
    if check is None:
        return
    arm(context, check)
    await _ask_privately(context, check, context.tr, user_info(request.from_user).display)


async def _ask_privately(context: BotContext, check: Check, tr, who: str) -> None:
    """A join request's question, in the private chat the request opens to the bot (a user's private chat has their
    id). Not sent (a crash before it, a network error): the sweep sends it again while the check is open."""
    _PROMPTING.add(check.id)
    try:
        text = await _prompt_text(context, check, tr, who, private=True)
        try:
            sent = await context.bot.send_message(check.user_id, text, reply_markup=_keyboard(context, check, tr))
        except Forbidden as exc:  # the request's 5 minutes are over, or they blocked the bot: never, however often
            log.info("cannot write to join requester %s in %s (%s): their request is left to the admins",
                     check.user_id, check.chat_id, exc)
            if await context.services.funnel.unreachable(check) is not None:
                disarm(context, check)
                await _tell_admins_unreachable(context, check, who)
        except TelegramError as exc:  # cannot reach them now (network, flood wait): the sweep tries again
            log.info("could not send the join check to %s: %s", check.user_id, exc)
        else:
            await context.services.funnel.set_prompt(check, check.user_id, sent.message_id)
    finally:
        _PROMPTING.discard(check.id)


async def _tell_admins_unreachable(context: BotContext, check: Check, who: str) -> None:
    """Each admin of the group who started Sticky, in their own language (else the group's): a request waits for them."""
    s = context.services
    settings = await s.groups.settings(check.chat_id)
    group = await s.groups.group(check.chat_id)
    title = group.title if group else str(check.chat_id)
    for admin in await s.members.present(check.chat_id):
        if admin.tg_role is not None and not admin.user.is_bot:
            tr = await reader_translator(s, admin.user.user_id, settings.language)
            await s.outbox.private(admin.user.user_id, texts.request_unreachable(tr, who, title), chat_id=check.chat_id,
                                   kind="request_notify")


# ------------------------------------------------------------------ answers


async def _after_answer(context: BotContext, outcome: str, check: Check | None) -> None:
    """What a decided answer owes Telegram; the check records it first (see finish_pass), so it survives a crash."""
    if check is None:
        return
    if outcome == "passed":
        await finish_pass(context, check)
    elif outcome in ("failed", "expired"):
        await finish_fail(context, check)


async def on_captcha_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    _, check_text, index_text = query.data.split(":")
    check_id, index = parse_number(check_text), parse_number(index_text, 2)
    s = context.services
    check = await s.funnel.check(check_id) if check_id is not None else None
    label = check.choices[index] if check and index is not None and index < len(check.choices) else ""
    result = await s.funnel.answer(check_id, query.from_user.id, label) if check_id is not None else Answered("gone", None)
    tr = await _tr(context, check.chat_id) if check else context.tr
    if result.outcome == "not_yours":
        await answer_query(query, texts.not_yours(tr), show_alert=True)
        return
    if result.outcome == "gone" or result.check is None:
        await answer_query(query, texts.check_over(tr))
        return
    await answer_query(query)  # a press answered too late (after downtime) still counts
    if result.outcome == "retry":
        fresh = result.check
        who = user_info(query.from_user).display
        text = texts.retry(tr, fresh.attempts_left) + "\n" + await _prompt_text(context, fresh, tr, who, private=fresh.via == "request")
        await edit_query_message(query, text, _keyboard(context, fresh, tr))
        return
    await _after_answer(context, result.outcome, result.check)


async def on_private_text(update: Update, context: BotContext) -> None:
    """A typed answer to the group's own question, in the private chat."""
    message = update.message
    s = context.services
    check = await s.funnel.typed_check(message.from_user.id)
    if check is None:
        return
    result = await s.funnel.answer(check.id, message.from_user.id, message.text or "", sent_at=message.date)
    tr = await _tr(context, check.chat_id)
    group = await s.groups.group(check.chat_id)
    if result.outcome == "retry":
        await reply(update, context, texts.retry(tr, result.check.attempts_left) + "\n"
                    + await _prompt_text(context, result.check, tr, "", private=True))
        raise ApplicationHandlerStop()  # answered: the pointer to /help is for text nothing took
    if result.outcome == "passed" and check.via == "join":
        await reply(update, context, texts.passed_private(tr, group.title if group else ""))
    elif result.outcome == "failed" and check.via == "join":
        await reply(update, context, texts.failed_private(tr, group.title if group else ""))
    elif result.outcome == "expired" and check.via == "join":
        await reply(update, context, texts.timeout_private(tr, group.title if group else ""))
    await _after_answer(context, result.outcome, result.check)
    raise ApplicationHandlerStop()


async def on_start_payload(update: Update, context: BotContext) -> None:
    """/start ref_<code> (a member's deep link) and /start cap_<check> (the group's question, asked privately).
    Runs before the core /start and stops there: one answer per /start. A plain /start from a newcomer whose
    question is waiting (they opened the chat themselves, not by the prompt's button) is asked it too; from anyone
    else it goes on to the core /start's greeting."""
    payload = (context.args or [""])[0]
    s = context.services
    who = update.effective_user
    if not payload:
        check = await s.funnel.typed_check(who.id)
        if check is None:
            return
        await reply(update, context, await _prompt_text(context, check, await _tr(context, check.chat_id), "", private=True))
        raise ApplicationHandlerStop()
    try:
        if payload.startswith("ref_"):
            link = await s.funnel.claim(payload.removeprefix("ref_"), who.id)
            group = await s.groups.group(link.chat_id)
            await reply(update, context, texts.deep_link_welcome(context.tr, group.title if group else "", link.url))
        elif payload.startswith("cap_"):
            check_id = parse_number(payload.removeprefix("cap_"))
            check = await s.funnel.check(check_id) if check_id is not None else None
            if check is None or check.status != "pending" or check.user_id != who.id or check.mode != "question":
                await reply(update, context, texts.no_check(context.tr))
            else:
                tr = await _tr(context, check.chat_id)
                await reply(update, context, await _prompt_text(context, check, tr, "", private=True))
    except FunnelError as err:
        await reply(update, context, texts.funnel_error(context.tr, err))
    raise ApplicationHandlerStop()


# ------------------------------------------------------------------ referral counting and jobs


async def on_group_message(update: Update, context: BotContext) -> None:
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot or message.sender_chat is not None:
        return
    s = context.services
    if s.inbox.holds(update.update_id):  # decided once, maybe before an earlier commit; written with the mark
        await earn_by_staying(update, context)
        await s.inbox.written(update.update_id)
        confirmed = await s.funnel.counted(message.chat.id, message.from_user.id, update.update_id)
    else:
        confirmed = await s.funnel.message(message.chat.id, message.from_user.id)
    if confirmed is not None:
        await announce(context, confirmed)


async def announce(context: BotContext, c: Confirmed) -> None:
    s = context.services
    group = await s.groups.group(c.referral.chat_id)
    invitee = await s.members.user(c.referral.invitee_id)
    title, who = group.title if group else "", invitee.display if invitee else str(c.referral.invitee_id)

    def render(_):
        lines = [texts.confirmed_inviter(_, who, title, c.points, c.xp)]
        lines += [texts.milestone(_, n, bonus) for n, bonus in c.milestones]
        lines += [texts.new_badge(_, points_texts.badge_name(_, key)) for key in c.badges]
        if c.spreader:
            lines.append(texts.spreader(_, title))
        return "\n".join(lines)

    await notify_private(context, c.referral.inviter_id, render, chat_id=c.referral.chat_id, kind="referral")


async def job_captcha(context: BotContext) -> None:
    """A few seconds after a check's deadline (answers sent in time may still be on their way): remove (or decline)
    whoever has not passed. Early (clock skew)? Wait the rest."""
    s = context.services
    check = await s.funnel.check(context.job.data)
    if check is None or check.status != "pending":
        return
    if s.clock.now() < s.funnel.expires_at(check):
        arm(context, check)
        return
    expired = await s.funnel.expire(check.id)
    if expired is not None:
        await finish_fail(context, expired)


async def job_sweep(context: BotContext) -> None:
    """At start and then periodically: resolve checks that expired while we were down, re-arm live ones (they keep
    their deadline), and confirm referrals that became due. Idempotent."""
    s = context.services
    now = s.clock.now()
    for check in await s.funnel.pending_checks():
        if s.funnel.expires_at(check) <= now:
            expired = await s.funnel.expire(check.id)
            if expired is not None:
                await finish_fail(context, expired)
        else:
            if context.job_queue is not None and not context.job_queue.get_jobs_by_name(job_name(check)):
                arm(context, check)
            if check.prompt_message_id is None and check.id not in _PROMPTING:
                # Its prompt never went out (Telegram refused it, a crash or a stop cut it off, or it waited): without
                # one they could only time out.
                user = await s.members.user(check.user_id)
                who, tr = user.display if user else str(check.user_id), await _tr(context, check.chat_id)
                if check.via == "join":  # from a task, as at the join: a flooded group's window holds up no other group
                    _PROMPTING.add(check.id)
                    context.application.create_task(_prompt(context, check, tr, who), name=f"captcha-prompt:{check.id}")
                else:
                    await _ask_privately(context, check, tr, who)
    # What decided (or just opened) checks still owe Telegram after a crash or a failure: done now, retried until done.
    for check in await s.funnel.due_actions():
        group = await s.groups.group(check.chat_id)
        if group is None or not group.active:
            continue  # the bot is not in the group (removed): owed until it is back, not tried every minute meanwhile
        if check.action == "restrict" and check.status == "pending":
            await restrict(context, check)
        elif check.action == "pass":
            await finish_pass(context, check, retry=True)
        elif check.action == "remove":
            await finish_fail(context, check, retry=True)
        else:  # restrict owed by a check closed meanwhile: nothing to do
            await s.funnel.action_done(check, check.action)
    for confirmed in await s.funnel.sweep():
        await announce(context, confirmed)


# ------------------------------------------------------------------ commands


def _transient(exc: TelegramError) -> bool:
    """A flood wait, network trouble or a timeout: worth trying again later (PTB's BadRequest is a NetworkError too)."""
    return isinstance(exc, (RetryAfter, NetworkError)) and not isinstance(exc, BadRequest)


async def _still_valid(context: BotContext, chat_id: int, url: str, name: str, approval: bool) -> bool:
    """Ask Telegram whether a stored link still works (an admin may have revoked it). The Bot API has no 'get link',
    so the bot edits it to what it already is: a revoked link is refused (INVITE_HASH_EXPIRED) or comes back revoked."""
    try:
        current = await context.bot.edit_chat_invite_link(chat_id, url, name=name, creates_join_request=approval)
    except TelegramError as exc:
        if _transient(exc):  # Telegram cannot say now: the stored link is our best word
            log.info("could not check invite link in %s, using the stored one: %s", chat_id, exc)
            return True
        if isinstance(exc, BadRequest) and "INVITE_HASH" in exc.message.upper():
            return False
        log.info("could not check invite link in %s: %s", chat_id, exc)
        raise FunnelError(reason="no_link_rights") from None
    expired = current.expire_date is not None and current.expire_date <= context.services.clock.now()
    return not current.is_revoked and not expired


@command("invite", personal=True)
async def cmd_invite(update: Update, context: BotContext) -> None:
    s = context.services
    chat, who = update.effective_chat, sender(update)
    user_id = person_id(context)
    group = await attempt(f"read chat {chat.id}", lambda: context.bot.get_chat(chat.id))
    if not group.done:  # whether the group asks for approval decides which link: without it, no link
        raise FunnelError(reason="telegram_busy" if not group.refused else "no_link_rights")
    approval = bool(group.result.join_by_request)
    name = f"{who.first_name[:18]} #{user_id}"[:32]
    link = await s.funnel.link_for(chat.id, user_id, approval)
    if link is not None and not await _still_valid(context, chat.id, link.url, name, approval):
        await s.funnel.link_revoked(link.url)
        link = None
    if link is None:
        try:
            created = await context.bot.create_chat_invite_link(chat.id, name=name, creates_join_request=approval)
        except TelegramError as exc:
            log.info("could not create an invite link in %s: %s", chat.id, exc)
            raise FunnelError(reason="telegram_busy" if _transient(exc) else "no_link_rights") from None
        link = await s.funnel.save_link(chat.id, user_id, created.invite_link, approval)
    deep = f"https://t.me/{context.bot.username}?start=ref_{link.code}" if context.bot.username else None
    rules = s.config.funnel.referral
    screening = (await s.groups.settings(chat.id)).screening

    def render(_):
        return texts.invite_link(_, chat.title or "", link.url, deep, rules.points, rules.xp, rules.stay_hours, rules.min_messages, screening)

    if context.elsewhere is not None:  # asked in private chat: the answer is private already
        await reply(update, context, render(context.tr))
        return
    if await notify_private(context, user_id, render):
        await reply(update, context, texts.invite_sent_private(context.tr, who.display), transient=True)
        return
    seconds = s.config.funnel.invite_delete_seconds
    text = render(context.tr) + ("\n" + texts.invite_vanishes(context.tr, seconds) if seconds else "")
    sent = await reply(update, context, text)
    if seconds and sent is not None:
        await delete_later(context, chat.id, sent.message_id, seconds)


@command("invites", personal=True)
async def cmd_invites(update: Update, context: BotContext) -> None:
    who = await subject(update, context, "invites")
    stats = await context.services.funnel.stats(update.effective_chat.id, who.user_id)
    await reply(update, context, texts.stats(context.tr, who.display, stats))


@command("setcaptcha", role=Role.ADMIN)
async def cmd_setcaptcha(update: Update, context: BotContext) -> None:
    text = (update.message.text or "").partition(" ")[2]
    question, answers = await context.services.funnel.set_question(update.effective_chat.id, text, context.actor.user_id)
    await reply(update, context, texts.question_set(context.tr, question, answers))


@command("funnel", role=Role.ADMIN)
async def cmd_funnel(update: Update, context: BotContext) -> None:
    if context.args:
        raise UsageError()
    numbers = await context.services.funnel.numbers(update.effective_chat.id)
    await reply(update, context, texts.numbers(context.tr, update.effective_chat.title or "", numbers))


COMMANDS = [cmd_invite, cmd_invites, cmd_setcaptcha, cmd_funnel]
