"""Moderation in chat: /warn /unwarn /warns /resetwarns /mute /unmute /ban /unban /kick /del /purge /approve
/unapprove /setwarnlimit /setwarnmode /modlog /rules /setrules /report, and the warn and report buttons."""
from __future__ import annotations

import logging

from telegram import Chat, ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.ext import Application

from bot.context import BotContext
from bot.domain.errors import LookupNotAllowedError, UsageError, UserError
from bot.domain.moderation import (LogChatError, ModerationError, is_duration, is_sender_chat, log_actor_refusal, log_bot_refusal, meant_as_duration,
                                   parse_duration, parse_penalty)
from bot.domain.roles import Role
from bot.texts import rules as texts
from bot.texts import translator
from handlers.base import (
    answer_query, attempt, best_effort, command, edit_query_message, message_link, person_id, reader_translator, render_error, reply,
    subject,
    resolve_target,
    split_target,
)
from storage.members import Member

log = logging.getLogger(__name__)

REPORT_PATTERN = r"^rep:(del|warn|mute|ban|ok):-?\d+:\d+$"  # a negative id: a channel
WARN_PATTERN = r"^warn:rm:\d+$"


async def _target(update: Update, context: BotContext, present: bool = True,
                  bots: bool = False) -> tuple[Member, list[str]]:
    """`bots`: a reply to another bot's message names it (warn, mute, ban, kick a spam bot, and undo that)."""
    arg, rest = split_target(update, context.args or [])
    target = await resolve_target(update, context, arg, present, bots=bots, channels=True)
    return target, rest


def _duration_reason(rest: list[str]):
    if rest and meant_as_duration(rest[0]):
        raise ModerationError(reason="bad_duration", value=rest[0])
    duration = parse_duration(rest[0]) if rest and is_duration(rest[0]) else None
    reason = " ".join(rest[1:] if duration else rest) or None
    return duration, reason


def _replied_id(update: Update) -> int | None:
    replied = update.effective_message.reply_to_message
    return replied.message_id if replied is not None and not replied.forum_topic_created else None


def _note(context: BotContext, outcome, who: str | None = None) -> str:
    """A committed action Telegram did not carry out is said, never turned into an error."""
    if outcome.ok:
        return ""
    if outcome.result == "no_right":
        return "\n" + texts.missing_right(context.tr, outcome.missing)
    if outcome.result == "not_member":
        return "\n" + texts.bot_not_member(context.tr)
    if outcome.result == "protected" and who is not None:
        return "\n" + texts.target_protected(context.tr, who)
    return "\n" + texts.action_failed(context.tr)


async def _tz(context: BotContext, chat_id: int) -> str:
    return (await context.services.groups.settings(chat_id)).timezone


async def _warn_reply(update: Update, context: BotContext, target: Member, result, reason: str | None) -> None:
    tr = context.tr
    text = texts.warned(tr, target.user.display, result.count, result.limit, reason)
    if result.penalty is not None:
        text += "\n" + texts.warn_penalty(tr, target.user.display, result.penalty, result.reset)
        text += "".join(_note(context, o, target.user.display) for o in result.outcomes)
    markup = None
    if not result.reset:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(texts.remove_warn_button(tr), callback_data=f"warn:rm:{result.violation_id}")]])
    await reply(update, context, text, markup=markup)


@command("warn", role=Role.ADMIN)
async def cmd_warn(update: Update, context: BotContext) -> None:
    s, chat = context.services.moderation, update.effective_chat.id
    await s.may(context.actor, chat, "warn")
    target, rest = await _target(update, context, bots=True)
    s.check(context.actor, target, context.bot.id)
    reason = " ".join(rest) or None
    result = await s.warn(chat, target.user.user_id, context.actor.user_id, reason,
                          f"cmd:{update.effective_message.message_id}", _replied_id(update))
    if result.violation_id is not None:  # None: this very command was handled before
        await _warn_reply(update, context, target, result, reason)


@command("unwarn", role=Role.ADMIN)
async def cmd_unwarn(update: Update, context: BotContext) -> None:
    await context.services.moderation.may(context.actor, update.effective_chat.id, "warn")
    target, _rest = await _target(update, context, bots=True)
    context.services.moderation.check(context.actor, target, context.bot.id)  # who may warn whom may undo it
    await context.services.moderation.unwarn(update.effective_chat.id, target.user.user_id, context.actor.user_id)
    await reply(update, context, texts.warn_removed(context.tr, target.user.display))


@command("resetwarns", role=Role.ADMIN)
async def cmd_resetwarns(update: Update, context: BotContext) -> None:
    await context.services.moderation.may(context.actor, update.effective_chat.id, "warn")
    target, _rest = await _target(update, context, bots=True)
    context.services.moderation.check(context.actor, target, context.bot.id)
    n = await context.services.moderation.reset_warns(update.effective_chat.id, target.user.user_id, context.actor.user_id)
    await reply(update, context, texts.warns_reset(context.tr, target.user.display, n))


@command("warns", personal=True)
async def cmd_warns(update: Update, context: BotContext) -> None:
    """One's own warnings; admins may name or reply to someone else's (members see only their own, as with /me)."""
    chat, args = update.effective_chat.id, context.args or []
    replied = update.effective_message.reply_to_message
    by_reply = not args and replied is not None and not replied.forum_topic_created
    at_chat = by_reply and replied.sender_chat is not None  # a channel's message (or the group's own: refused)
    at_bot = by_reply and not at_chat and replied.from_user is not None and replied.from_user.is_bot
    if len(args) > 1:
        raise UsageError()
    to_sticky = at_bot and replied.from_user.id == context.bot.id
    if (context.actor.role >= Role.ADMIN and (args or by_reply)) or to_sticky:
        # Whoever an admin names, as /warn names them: a member, a channel by reply, id or @username; a reply to
        # Sticky's own message is refused in /warn's words (to members too).
        target, _rest = await _target(update, context, bots=True)
        user_id, shown = target.user.user_id, target.user.display
    elif at_chat or at_bot or (args and args[0].startswith("-100")):
        raise LookupNotAllowedError(command="warns")  # a member looks up nobody else, channels and bots neither
    else:
        who = await subject(update, context, "warns")
        user_id, shown = who.user_id, who.display
    s = context.services.moderation
    warns = await s.warns(chat, user_id)
    limit, _mode = await s.warn_settings(chat)
    await reply(update, context, texts.warns_list(context.tr, shown, [w.reason for w in warns], limit))


async def _act(update: Update, context: BotContext, kind: str, *, present: bool = True, timed: bool = False) -> None:
    s, chat = context.services.moderation, update.effective_chat.id
    await s.may(context.actor, chat, kind)
    target, rest = await _target(update, context, present, bots=True)
    s.check(context.actor, target, context.bot.id)
    duration, reason = _duration_reason(rest) if timed else (None, " ".join(rest) or None)
    if is_sender_chat(target.user.user_id):  # a channel: Telegram only bans it, and for good (banChatSenderChat)
        if kind in ("mute", "unmute", "kick"):
            raise ModerationError(reason="channel_kick" if kind == "kick" else "channel_mute", name=target.user.display)
        if duration is not None:
            raise ModerationError(reason="channel_timed", name=target.user.display)
    await s.need(chat, kind)
    outcome = await s.act(chat, kind, target.user.user_id, context.actor.user_id, duration, reason, _replied_id(update))
    text = texts.acted(context.tr, kind, target.user.display, outcome.until, await _tz(context, chat), reason,
                       channel=is_sender_chat(target.user.user_id))
    await reply(update, context, text + _note(context, outcome, target.user.display))


@command("mute", role=Role.ADMIN)
async def cmd_mute(update: Update, context: BotContext) -> None:
    await _act(update, context, "mute", timed=True)


@command("unmute", role=Role.ADMIN)
async def cmd_unmute(update: Update, context: BotContext) -> None:
    await _act(update, context, "unmute")


@command("ban", role=Role.ADMIN)
async def cmd_ban(update: Update, context: BotContext) -> None:
    await _act(update, context, "ban", present=False, timed=True)


@command("unban", role=Role.ADMIN)
async def cmd_unban(update: Update, context: BotContext) -> None:
    await _act(update, context, "unban", present=False)


@command("kick", role=Role.ADMIN)
async def cmd_kick(update: Update, context: BotContext) -> None:
    await _act(update, context, "kick")


async def _delete(update: Update, context: BotContext, purge: bool) -> None:
    first = _replied_id(update)
    if first is None:
        raise ModerationError(reason="no_reply")
    s, chat, me = context.services.moderation, update.effective_chat.id, update.effective_message.message_id
    await s.may(context.actor, chat, "delete")
    await s.need(chat, "delete")
    replied = update.effective_message.reply_to_message
    sender = replied.sender_chat  # a channel's post (from_user: the placeholder Channel_Bot) or an anonymous admin's
    if sender is not None:
        target = sender.id  # the audit log names who wrote it, as /warn on that message would (not "Sticky")
        if sender.id != chat:  # the group itself is named by its title; a channel by what it is called
            await context.services.members.remember_channel(sender.id, sender.title or str(sender.id), sender.username)
    else:
        target = replied.from_user.id if replied.from_user else None
    ids = list(range(first, me + 1)) if purge else [first, me]
    outcome = await s.delete(chat, ids, context.actor.user_id, target, " ".join(context.args or []) or None,
                             "purge" if purge else "delete")
    if purge:
        await reply(update, context, texts.purged(context.tr, len(ids) - 1) + _note(context, outcome), transient=True)


@command("del", role=Role.ADMIN, remote=False)
async def cmd_del(update: Update, context: BotContext) -> None:
    await _delete(update, context, purge=False)


@command("purge", role=Role.ADMIN, remote=False)
async def cmd_purge(update: Update, context: BotContext) -> None:
    await _delete(update, context, purge=True)


async def _approve(update: Update, context: BotContext, yes: bool) -> None:
    target, _rest = await _target(update, context)
    await context.services.moderation.approve(update.effective_chat.id, target.user.user_id, context.actor.user_id, yes)
    await reply(update, context, texts.approved(context.tr, target.user.display, yes))


@command("approve", role=Role.ADMIN)
async def cmd_approve(update: Update, context: BotContext) -> None:
    await _approve(update, context, True)


@command("unapprove", role=Role.ADMIN)
async def cmd_unapprove(update: Update, context: BotContext) -> None:
    await _approve(update, context, False)


@command("setwarnlimit", role=Role.ADMIN)
async def cmd_setwarnlimit(update: Update, context: BotContext) -> None:
    if len(context.args or []) != 1:
        raise UsageError()
    chat = update.effective_chat.id
    await context.services.moderation.may(context.actor, chat, "warn")  # what warns bring
    _key, value, _reset = await context.services.groups.set(chat, "warn_limit", context.args[0], context.actor.user_id)
    # The limit is what brings the warn mode's penalty: what Sticky lacks for it is noted, as /setwarnmode notes it.
    notes = await context.services.groups.notes(chat, "warn_mode", (await context.services.groups.settings(chat)).warn_mode)
    await reply(update, context, "\n".join([texts.warn_limit_set(context.tr, value),
                                            *[await render_error(update, context, n) for n in notes]]))


@command("setwarnmode", role=Role.ADMIN)
async def cmd_setwarnmode(update: Update, context: BotContext) -> None:
    if not context.args:
        raise UsageError()
    await context.services.moderation.may(context.actor, update.effective_chat.id, "warn")  # what warns bring
    try:
        parse_penalty(" ".join(context.args))
    except ValueError:
        raise UsageError() from None
    key, value, _reset = await context.services.groups.set(update.effective_chat.id, "warn_mode", " ".join(context.args), context.actor.user_id)
    notes = await context.services.groups.notes(update.effective_chat.id, key, value)  # as /set warn_mode says them
    await reply(update, context, "\n".join([texts.warn_mode_set(context.tr, parse_penalty(value)),
                                            *[await render_error(update, context, n) for n in notes]]))


async def _display(context: BotContext, chat_id: int, user_id: int | None, title: str) -> str:
    if user_id is None:
        return "Sticky"
    if user_id == chat_id:
        return title  # an anonymous admin, writing as the group
    user = await context.services.members.user(user_id)  # a moderated channel too: its title is remembered
    return user.display if user else str(user_id)


@command("modlog", role=Role.ADMIN)
async def cmd_modlog(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    target = (await _target(update, context, present=False))[0] if context.args else None
    entries = await context.services.moderation.modlog(chat.id, target.user.user_id if target else None)
    rows = [(e.at, e.action, await _display(context, chat.id, e.target_id, chat.title or ""),
             await _display(context, chat.id, e.actor_id, chat.title or ""), e.reason, e.dry) for e in entries]
    await reply(update, context, texts.modlog(context.tr, rows, await _tz(context, chat.id)))


@command("rules")
async def cmd_rules(update: Update, context: BotContext) -> None:
    text = (await context.services.groups.settings(update.effective_chat.id)).rules
    await reply(update, context, texts.rules_text(context.tr, text))


@command("setrules", role=Role.ADMIN)
async def cmd_setrules(update: Update, context: BotContext) -> None:
    parts = (update.effective_message.text or "").split(None, 1)
    if len(parts) < 2:
        raise UsageError()
    await context.services.groups.set(update.effective_chat.id, "rules", parts[1], context.actor.user_id)
    await reply(update, context, texts.rules_set(context.tr))


@command("report")
async def cmd_report(update: Update, context: BotContext) -> None:
    message = update.effective_message
    replied = message.reply_to_message
    if replied is None or replied.forum_topic_created:
        raise ModerationError(reason="no_reply")
    target = await resolve_target(update, context, None, bots=True, channels=True)
    chat = update.effective_chat.id
    await context.services.moderation.report(chat, person_id(context), target, replied.message_id)
    labels = texts.report_buttons(context.tr)
    data = f"{target.user.user_id}:{replied.message_id}"
    markup = InlineKeyboardMarkup([
        [InlineKeyboardButton(labels[k], callback_data=f"rep:{k}:{data}") for k in ("del", "warn", "mute")],
        [InlineKeyboardButton(labels[k], callback_data=f"rep:{k}:{data}") for k in ("ban", "ok")],
    ])
    reporter = update.effective_user.first_name
    await reply(update, context, texts.report_sent(context.tr, reporter, target.user.display), markup=markup)
    # The group's admins hear of it in private too (those who started Sticky and did not opt out): a report posted
    # only in a busy group scrolls away unseen.
    for admin_id in await context.services.members.admins(chat):
        if admin_id != person_id(context):  # each in their own language (/language), else the group's
            notice = texts.report_notice(await reader_translator(context.services, admin_id, context.tr.lang),
                                         update.effective_chat.title or str(chat), reporter, target.user.display,
                                         " ".join(context.args or []) or None, message_link(chat, replied.message_id))
            await context.services.outbox.private(admin_id, notice, chat_id=chat, kind="report_notify")


async def _admin_pressed(update: Update, context: BotContext) -> bool:
    if context.actor.role >= Role.ADMIN:
        return True
    await answer_query(update.callback_query, texts.admins_only(context.tr), show_alert=True)
    return False


async def on_warn_button(update: Update, context: BotContext) -> None:
    """'Remove warn' under a warn: admins only; the button goes once used."""
    query = update.callback_query
    if not await _admin_pressed(update, context):
        return
    chat = query.message.chat.id
    s = context.services.moderation
    violation = await s.violation(int(query.data.rsplit(":", 1)[1]))
    try:
        await s.may(context.actor, chat, "warn")
        if violation is None or violation.chat_id != chat:
            raise ModerationError(reason="stale")
        await s.unwarn(chat, violation.user_id, context.actor.user_id, violation.id)
    except UserError as err:
        await answer_query(query, await render_error(update, context, err), show_alert=True)
        return
    who = await _display(context, chat, violation.user_id, "")
    await answer_query(query)
    await edit_query_message(query, texts.warn_removed(context.tr, who))


async def on_report_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if not await _admin_pressed(update, context):
        return
    _tag, what, user_id, message_id = query.data.split(":")
    chat, user_id, message_id = query.message.chat.id, int(user_id), int(message_id)
    s, admin = context.services.moderation, context.actor.user_id
    try:
        if what == "mute" and is_sender_chat(user_id):
            raise ModerationError(reason="channel_mute")
        if what != "ok":
            await s.may(context.actor, chat, {"del": "delete", "warn": "warn", "mute": "mute", "ban": "ban"}[what])
            await s.need(chat, "delete" if what == "del" else "mute")
        target = await context.services.members.member(chat, user_id)
        if target is not None and what in ("warn", "mute", "ban"):
            s.check(context.actor, target, context.bot.id)
        if what == "del":
            await s.delete(chat, [message_id], admin, user_id, "report")
        elif what == "warn":
            await s.warn(chat, user_id, admin, "report", f"rep:{message_id}", message_id)
        elif what == "mute":
            await s.act(chat, "mute", user_id, admin, parse_duration("1h"), "report", message_id)
        elif what == "ban":
            await s.act(chat, "ban", user_id, admin, None, "report", message_id)
    except UserError as err:
        await answer_query(query, await render_error(update, context, err), show_alert=True)
        return
    await answer_query(query)
    who = await _display(context, chat, user_id, "")
    await edit_query_message(query, texts.report_done(context.tr, query.from_user.first_name, what, who))


# --- the log chat ---------------------------------------------------------------------------------------------

def _where(chat: Chat) -> str:
    return f"@{chat.username}" if chat.username else f"{chat.title or chat.id} ({chat.id})"


def _actor_refusal(member: ChatMember, chat: Chat) -> str | None:
    """log_actor_refusal, read off Telegram's answer."""
    return log_actor_refusal(member.status, chat.type == ChatType.CHANNEL, bool(getattr(member, "can_post_messages", False)),
                             bool(getattr(member, "can_change_info", False)), bool(getattr(member, "can_promote_members", False)))


def _bot_refusal(member: ChatMember, chat: Chat) -> str | None:
    """log_bot_refusal, read off Telegram's answer."""
    permissions = chat.permissions
    return log_bot_refusal(member.status, chat.type == ChatType.CHANNEL, bool(getattr(member, "can_post_messages", False)),
                           bool(getattr(member, "is_member", True)), getattr(member, "can_send_messages", None),
                           None if permissions is None else permissions.can_send_messages)


@command("setlog", role=Role.ADMIN)
async def cmd_setlog(update: Update, context: BotContext) -> None:
    """/setlog @channel|ID here, or this message forwarded from the channel where /setlog was posted."""
    group, message, args = update.effective_chat, update.effective_message, context.args or []
    origin = message.forward_origin
    if origin is not None and origin.type == "channel":
        ref: int | str = origin.chat.id
    elif len(args) == 1:
        ref = int(args[0]) if args[0].lstrip("-").isdigit() and len(args[0]) < 20 else args[0]
        if isinstance(ref, str) and not ref.startswith("@"):
            ref = "@" + ref
    elif not args:
        await reply(update, context, texts.log_help(context.tr, group.id))
        return
    else:
        raise UsageError()
    found = await attempt(f"setlog lookup {ref}", lambda: context.bot.get_chat(ref))
    if not found.done:
        raise LogChatError(reason="not_found", where=str(ref))
    target = found.result
    if target.id == group.id:
        raise LogChatError(reason="self", where=_where(target))
    if target.type == ChatType.PRIVATE:
        raise LogChatError(reason="private", where=_where(target))
    # The log receives every moderation action (with reasons): only a chat the admin controls, as Telegram says.
    if context.actor.anonymous_admin:
        raise LogChatError(reason="anonymous", where=_where(target))
    actor = context.actor.user_id
    member = await attempt(f"setlog admin check {actor} in {target.id}", lambda: context.bot.get_chat_member(target.id, actor))
    refusal = _actor_refusal(member.result, target) if member.done else "not_admin"
    if refusal is not None:
        raise LogChatError(reason=refusal, where=_where(target))
    me = await attempt(f"setlog own rights in {target.id}", lambda: context.bot.get_chat_member(target.id, context.bot.id))
    refusal = _bot_refusal(me.result, target) if me.done else "cant_post"
    if refusal is not None:
        raise LogChatError(reason=refusal, where=_where(target))
    hello = await attempt(f"setlog hello in {target.id}", lambda: context.bot.send_message(
        target.id, texts.log_hello(context.tr, group.title or str(group.id))))
    if not hello.done:
        raise LogChatError(reason="cant_post", where=_where(target))
    await context.services.logchat.set(group.id, target.id, context.actor.user_id)
    await reply(update, context, texts.log_set(context.tr, _where(target)))


async def on_channel_setlog(update: Update, context: BotContext) -> None:
    """/setlog posted in a channel: Sticky can't tell for which group, so it says how to finish there."""
    post = update.channel_post
    await best_effort(f"setlog help in {post.chat.id}", lambda: context.bot.send_message(
        post.chat.id, texts.log_channel_help(context.tr, post.chat.id),
        reply_parameters=ReplyParameters(post.message_id, allow_sending_without_reply=True)))


@command("unsetlog", role=Role.ADMIN)
async def cmd_unsetlog(update: Update, context: BotContext) -> None:
    await reply(update, context, texts.log_unset(context.tr, await context.services.logchat.unset(update.effective_chat.id)))


def log_listener(app: Application):
    """ModerationService's listener: each committed audit batch, posted to the group's log chat (if it has one)."""

    async def on_logged(chat_id: int, entries) -> None:
        s = app.bot_data.services
        if await s.logchat.get(chat_id) is None:
            return

        async def render() -> str:
            settings = await s.groups.settings(chat_id)
            tr = translator(settings.language)
            group = await s.groups.group(chat_id)
            title = group.title if group else str(chat_id)
            posts = []
            for e in entries:
                target = await _display_in(s, chat_id, e.target_id, title) if e.target_id is not None else None
                actor = await _display_in(s, chat_id, e.actor_id, title) if e.actor_id is not None else None
                posts.append(texts.log_entry(tr, title, e.action, target, actor, e.actor_id is None, e.reason, e.until,
                                             settings.timezone, message_link(chat_id, e.message_id)))
            return "\n\n".join(posts)

        async def refused(target) -> None:
            tr = translator((await s.groups.settings(chat_id)).language)
            await s.outbox.post(chat_id, "log_refused", texts.log_refused(tr, str(target.log_chat_id)))

        await s.logchat.post(chat_id, render, refused)

    return on_logged


async def _display_in(s, chat_id: int, user_id: int, title: str) -> str:
    if user_id == chat_id:
        return title  # an anonymous admin, writing as the group
    user = await s.members.user(user_id)
    return f"{user.display} ({user_id})" if user else str(user_id)


COMMANDS = [
    cmd_warn, cmd_unwarn, cmd_warns, cmd_resetwarns, cmd_mute, cmd_unmute, cmd_ban, cmd_unban, cmd_kick, cmd_del,
    cmd_purge, cmd_approve, cmd_unapprove, cmd_setwarnlimit, cmd_setwarnmode, cmd_modlog, cmd_rules, cmd_setrules,
    cmd_report, cmd_setlog, cmd_unsetlog,
]
