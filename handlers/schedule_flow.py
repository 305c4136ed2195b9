"""/schedule step by step, for those who don't know the one-line syntax: what (post, reminder, leaderboard), how
often, which day, what time — inline buttons, each press editing the same message — and, for a post, a reply with
its text or photo. The state lives in the buttons' data and, at the last step, in the prompt itself (the one-line
command it amounts to, shown to teach it), so a restart in the middle loses nothing. It ends in the same
service call as the one-line command."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity, Update

from bot.context import BotContext
from bot.domain.errors import UserError
from bot.domain.roles import Role
from bot.services.schedules import Content
from bot.texts import schedule_flow as texts
from bot.texts import schedules as schedule_texts
from bot.telegram_port import user_info
from handlers.base import answer_query, best_effort, edit_query_message, render_error, reply
from handlers.schedules import _content, _html_from

CALLBACK_PATTERN = r"^sch:"
TIMES = ("07:00", "08:00", "09:00", "10:00", "12:00", "15:00", "18:00", "20:00", "21:00", "22:00")


def _rows(buttons: list[tuple[str, str]], per_row: int, _) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(label, callback_data=data) for label, data in buttons[i:i + per_row]]
            for i in range(0, len(buttons), per_row)]
    return InlineKeyboardMarkup([*rows, [InlineKeyboardButton(texts.cancel(_), callback_data="sch:x")]])


def start_markup(_) -> InlineKeyboardMarkup:
    return _rows([(_(label), f"sch:a:{action}") for action, label in texts.ACTIONS], 1, _)


async def on_flow_button(update: Update, context: BotContext) -> None:
    """sch:a:ACTION → how often; sch:k:ACTION:KIND → which day (weekly, once) or what time; sch:d:ACTION:KIND:DAY
    → what time; sch:t:ACTION:KIND:DAY:HH:MM → done (or, for a post, ask for its content)."""
    query, _ = update.callback_query, context.tr
    if context.actor.role < Role.ADMIN:
        await answer_query(query, texts.admins_only(_), show_alert=True)
        return
    step, *parts = query.data.split(":")[1:]
    chat_id = query.message.chat.id
    tz = (await context.services.groups.settings(chat_id)).timezone
    await answer_query(query)
    if step == "x":
        await edit_query_message(query, texts.cancelled(_))
    elif step == "a":
        (action,) = parts
        await edit_query_message(query, texts.how_often(_), _rows(
            [(_(label), f"sch:k:{action}:{kind}") for kind, label in texts.KINDS], 3, _))
    elif step == "k" and parts[1] == "daily":
        await _ask_time(query, context, parts[0], "daily", "-", tz)
    elif step == "k" and parts[1] == "weekly":
        await edit_query_message(query, texts.which_day(_), _rows(
            [(_(label), f"sch:d:{parts[0]}:weekly:{day}") for day, label in texts.DAYS], 4, _))
    elif step == "k":
        today = context.services.clock.now().astimezone(ZoneInfo(tz)).date()
        days = [today + timedelta(days=n) for n in range(7)]
        await edit_query_message(query, texts.which_day(_), _rows(
            [(texts.date_label(_, d, n), f"sch:d:{parts[0]}:once:{d.isoformat()}") for n, d in enumerate(days)], 4, _))
    elif step == "d":
        await _ask_time(query, context, parts[0], parts[1], parts[2], tz)
    elif step == "t":
        await _finish(update, context, parts[0], parts[1], parts[2], ":".join(parts[3:5]))


async def _ask_time(query, context: BotContext, action: str, kind: str, day: str, tz: str) -> None:
    _ = context.tr
    await edit_query_message(query, texts.what_time(_, tz), _rows(
        [(at, f"sch:t:{action}:{kind}:{day}:{at}") for at in TIMES], 5, _))


def _words(action: str, kind: str, day: str, at: str) -> list[str]:
    when = {"daily": [at], "weekly": [day, at], "once": [day, at]}[kind]
    return [kind, *when, action]


async def _finish(update: Update, context: BotContext, action: str, kind: str, day: str, at: str) -> None:
    query, _ = update.callback_query, context.tr
    words = _words(action, kind, day, at)
    command = "/schedule " + " ".join(words)
    if action == "post":  # the content comes as a reply to this very message
        await edit_query_message(query, texts.write_content(_, command))
        return
    message = query.message
    here = message.message_thread_id if message.is_topic_message else None
    try:
        created = await context.services.schedules.create(message.chat.id, context.actor.user_id or None, words,
                                                          Content(), here)
    except UserError as err:
        await edit_query_message(query, await render_error(update, context, err, "schedule"))
        return
    await edit_query_message(query, schedule_texts.created(_, created) + "\n" + texts.one_line(_, command))


def _pending_command(message) -> str | None:
    """The one-line command a last-step prompt of ours shows (in its code entity), if this is one."""
    if message is None or message.text is None:
        return None
    for entity, text in message.parse_entities([MessageEntity.CODE]).items():
        if text.startswith("/schedule ") and text.endswith(" post"):
            return text
    return None


async def on_flow_reply(update: Update, context: BotContext) -> None:
    """An admin's reply to the last-step prompt: its text (formatting kept) or photo is the post."""
    message = update.effective_message
    prompt = message.reply_to_message
    if prompt is None or prompt.from_user is None or prompt.from_user.id != context.bot.id:
        return
    command = _pending_command(prompt)
    if command is None:
        return
    # Plain messages are not resolved to a role by the middleware (the per-message path stays cheap): this one is.
    actor = await context.services.members.actor(
        message.chat.id, message.chat.type, user_info(message.from_user) if message.from_user else None,
        message.sender_chat.id if message.sender_chat else None, True)
    if actor.role < Role.ADMIN:
        return
    words = command.split()[1:]
    body = _html_from(message, 0) if message.text else (message.caption_html or "")
    content = _content(message, body)
    if message.photo:
        content = Content(content.texts, message.photo[-1].file_id, content.buttons)
    here = message.message_thread_id if message.is_topic_message else None
    try:
        created = await context.services.schedules.create(message.chat.id, actor.user_id or None, words, content, here)
    except UserError as err:
        await reply(update, context, await render_error(update, context, err, "schedule"), transient=True)
        return
    await reply(update, context, schedule_texts.created(context.tr, created))
    await best_effort(f"close the prompt {prompt.message_id}", lambda: context.bot.edit_message_text(
        texts.used(context.tr, created.id), message.chat.id, prompt.message_id))
