"""/schedule step by step, for those who don't know the one-line syntax: what (a post, a reminder, the leaderboard, a
member day, a quiz, a poll), how often (once, every day, some days of the week, monthly on a date or an nth weekday,
every N minutes/hours/days), the day(s) and time — inline buttons, each press editing the same message, or a typed
time, date or interval as a reply — then, for what has content, a reply with it.

The state is the choices so far: in the buttons' data (`sch:ACTION KIND WORD…`), and in a prompt that takes a typed
answer or the content, in the one-line command it shows (a placeholder such as TIME for what is still to come) — so
a restart in the middle loses nothing. A typed answer that is not what the step asks for gets one line and the step
again. It ends in the same service call as the one-line command. Started in private chat on a connected group
(/connect), its buttons and replies act on that group (Place), the admin's rights asked of Telegram at each."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.domain import schedules as dom
from bot.domain.errors import UserError
from bot.domain.roles import Role
from bot.domain.schedule_flow import (ACTIONS, CHOSEN, FROM_LIST, OK, OPTION_WORDS, START, TYPED, WHEN, WITH_CONTENT, asked_in, choose,
                                      chosen_of, command_line, command_words, cron_in_state, extras_of, legacy, options_for,
                                      state_of, step_of, values_for)
from bot.domain.schedules import ScheduleError, split_words
from bot.services.schedules import Content
from bot.texts import connections as connection_texts
from bot.texts import schedule_flow as texts
from bot.texts import schedules as schedule_texts
from bot.telegram_port import user_info
from handlers.base import answer_query, best_effort, edit_query_message, reader_translator, render_error, reply
from handlers.schedules import _content, _html_from, is_forum

CALLBACK_PATTERN = r"^sch:"
TIMES = ("07:00", "08:00", "09:00", "10:00", "12:00", "15:00", "18:00", "20:00", "21:00", "22:00")
INTERVALS = ("15m", "30m", "1h", "2h", "3h", "6h", "12h", "1d", "2d", "3d")
MULTIPLIERS = ("1.5x", "2x", "3x")
DURATIONS = ("1h", "3h", "12h", "24h", "2d")
OPEN_FOR = ("15m", "30m", "1h", "3h", "12h", "1d", "2d", "7d")  # a quiz's, poll's or topic's window
PAYS = ("5", "10", "20", "50", "100")
WINNERS = ("1", "3", "5", "10")
CALLBACK_LIMIT = 64  # bytes of a button's data (Telegram's limit)
TOPIC_BUTTONS = 20  # forum topics offered as buttons on the where screen: the latest written in (more are typed)


def _data(state: list[str]) -> str:
    return "sch:" + " ".join(state)


def _rows(buttons: list[tuple[str, str]], per_row: int, _, extra: list | None = None) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(label, callback_data=data) for label, data in buttons[i:i + per_row]]
            for i in range(0, len(buttons), per_row)]
    return InlineKeyboardMarkup([*rows, *(extra or []), [InlineKeyboardButton(texts.cancel(_), callback_data="sch:x")]])


def start_markup(_) -> InlineKeyboardMarkup:
    return _rows([(_(label), _data([action])) for action, label in texts.ACTIONS], 2, _)


async def ask(context: BotContext, where: Place, state: list[str]) -> tuple[str, InlineKeyboardMarkup | None]:
    """The question for the next step of these choices and its buttons, for the group the flow acts on."""
    _ = context.tr
    chat_id = where.chat_id
    step = step_of(state)
    pick = lambda choices, per_row: _rows([(label, _data([*state, value])) for value, label in choices], per_row, _)  # noqa: E731
    if step == "action":
        return texts.question(_, "action"), start_markup(_)
    if step == "kind":
        return texts.question(_, "kind"), pick([(k, _(label)) for k, label in texts.KINDS], 2)
    if step == "days":
        chosen = state[2][1:].split(",") if len(state) > 2 and state[2][1:] else []
        toggles = []
        for day, label in texts.DAYS:
            now = [d for d in dom.DAYS if (d in chosen) != (d == day)]
            toggles.append((("✅ " if day in chosen else "") + _(label), _data([*state[:2], "@" + ",".join(now)])))
        done = [[InlineKeyboardButton(texts.next_step(_), callback_data=_data([*state[:2], ",".join(chosen)]))]] if chosen else []
        return texts.question(_, "days"), _rows(toggles, 4, _, done)
    if step == "mday":
        return texts.question(_, "mday"), pick([(str(d), str(d)) for d in range(1, 32)], 7)
    if step == "nth":
        return texts.question(_, "nth"), pick([(n, _(label)) for n, label in texts.NTH], 5)
    if step == "weekday":
        return texts.question(_, "weekday"), pick([(d, _(label)) for d, label in texts.DAYS], 4)
    if step == "multiplier":
        return texts.question(_, "multiplier"), pick([(m, m) for m in MULTIPLIERS], 3)
    if step == "duration":
        return texts.question(_, "duration"), pick([(d, d) for d in DURATIONS], 5)
    if step == "to":
        return texts.question(_, "to"), pick([(t, _(label)) for t, label in texts.REPORT_TO], 1)
    if step == "summary":
        return await _summary(context, where, state)
    if step == "content":
        prompt = texts.write_content(_, command_line(state), state[0])
        if state[0] == "topic":  # its text is optional: the next topic from the group's list instead
            return prompt, _rows([(texts.from_list(_), "sch:=" + FROM_LIST)], 1, _)
        return prompt, None
    typed_below = texts.or_type(_, step, command_line(state, placeholders=True))
    if step == "date":
        today = await context.services.schedules.today(chat_id)
        days = [today + timedelta(days=n) for n in range(7)]
        return texts.question(_, "date") + "\n" + typed_below, pick(
            [(d.isoformat(), texts.date_label(_, d, n)) for n, d in enumerate(days)], 4)
    if step == "time":
        tz = (await context.services.groups.settings(chat_id)).timezone
        return texts.question(_, "time", tz) + "\n" + typed_below, pick([(t, t) for t in TIMES], 5)
    if step == "cron":
        tz = (await context.services.groups.settings(chat_id)).timezone
        return texts.question(_, "cron", tz) + "\n" + typed_below, _rows([], 1, _)
    return texts.question(_, "interval") + "\n" + typed_below, pick([(i, i) for i in INTERVALS], 5)


async def _summary(context: BotContext, where: Place, state: list[str]) -> tuple[str, InlineKeyboardMarkup]:
    """The choices to check before saving: the command, the first run, toggles for the options that apply here, a
    button per value to choose — a quiz's, poll's or topic's window (how long, what it pays, how many right answers
    pay), each showing its default until changed; in a forum the topic to post in; the first run — then Save (or
    Next, to the content): keeping every default is one tap. Its buttons act on the command it shows (sch:=…), so
    they stay short whatever was chosen."""
    _ = context.tr
    action, kind = state[0], state[1]
    tz = (await context.services.groups.settings(where.chat_id)).timezone
    first = await context.services.schedules.check(where.chat_id, command_words(state))
    extras, chosen = extras_of(state), chosen_of(state)
    buttons = [(texts.option_toggle(_, o, o in extras), "sch:=" + o) for o in options_for(action, kind)]
    for name in values_for(action, where.forum):
        value = chosen.get(name)
        shown = value if value is not None else _default(context, action, name, where)
        topic = None  # a forum topic chosen by its number: its name, if Sticky has seen it
        if name == "where" and shown.isdigit():
            topic = dict(await context.services.groups.forum_topics(where.chat_id)).get(int(shown))
        buttons.append((texts.value_button(_, name, action, shown, value is None, topic), "sch:=" + name))
    if kind != "once":
        buttons.append((texts.first_run_button(_), "sch:=from"))
    buttons.append((texts.save(_, action in WITH_CONTENT), "sch:=" + OK))
    return texts.summary(_, command_line(state), dom.local_text(first, tz), tz), _rows(buttons, 1, _)


def _default(context: BotContext, action: str, name: str, where: Place) -> str:
    """A value the summary leaves as it is: the configured window and pay (activities.*), every right answer, the
    topic the flow runs in ("here") or the General one."""
    a = context.services.config.activities
    if name == "for":
        return dom.span_word({"quiz": a.quiz_minutes, "poll": a.poll_minutes}.get(action, a.topic_minutes))
    if name == "pts":
        return str({"quiz": a.quiz_points, "poll": a.poll_points}.get(action, a.topic_xp))
    if name == "where":
        return "here" if where.topic is not None else "general"
    return "all"  # first: every right answer pays


async def _value_question(context: BotContext, where: Place, state: list[str], name: str) -> tuple[str, InlineKeyboardMarkup]:
    """A summary value's own screen: the default (`sch:=NAME=-`) and the usual values (`sch:=NAME=VALUE`) as
    buttons, or a value typed as a reply (the command it shows has the value's placeholder)."""
    _ = context.tr
    if name == "start":
        return await _start_question(context, where, state)
    action = state[0]
    default = _default(context, action, name, where)
    buttons = [(texts.default_button(_, name, action, default), f"sch:={name}=-")]
    if name == "for":
        buttons += [(texts.span(_, d), f"sch:=for={d}") for d in OPEN_FOR if d != default]
    elif name == "pts":
        buttons += [(texts.pay_label(_, action, p), f"sch:=pts={p}") for p in PAYS if p != default]
    elif name == "first":
        buttons += [(texts.winners_label(_, n), f"sch:=first={n}") for n in WINNERS]
    elif name == "where":  # the General topic, and the topics Sticky has seen (the Bot API lists none); others typed
        if default == "here":
            buttons.append((texts.where_label(_, "general"), "sch:=where=general"))
        seen = [(t, n) for t, n in await context.services.groups.forum_topics(where.chat_id) if t != where.topic]
        buttons += [(texts.where_label(_, str(t), n), f"sch:=where={t}") for t, n in seen[:TOPIC_BUTTONS]]
    typed_below = texts.or_type(_, name, command_line(choose(state, name, None), placeholders=name))
    return texts.value_question(_, name, action) + "\n" + typed_below, _rows(buttons, 1 if name in ("first", "where") else 3, _)


async def _start_question(context: BotContext, where: Place, state: list[str]) -> tuple[str, InlineKeyboardMarkup]:
    """From when the schedule runs (`from`): a date button, or a date and time typed as a reply; or as soon as due."""
    _ = context.tr
    today = await context.services.schedules.today(where.chat_id)
    days = [today + timedelta(days=n) for n in range(1, 8)]
    buttons = [(texts.as_soon_as_due(_), "sch:=" + START + "-")]
    buttons += [(texts.date_label(_, d, n + 1), "sch:=" + START + d.isoformat()) for n, d in enumerate(days)]
    bare = [w for w in state if not w.startswith(START)]
    typed_below = texts.or_type(_, "start", command_line(bare, placeholders="start"))
    return texts.question(_, "start") + "\n" + typed_below, _rows(buttons, 4, _)


def _apply(state: list[str], op: str) -> list[str] | tuple[str, str]:
    """A summary button's change to the choices its message shows; ("ask", STEP): that value's own screen."""
    if op in OPTION_WORDS:
        return [w for w in state if w != op] if op in state else [*state, op]
    if op == "from":
        return "ask", "start"
    if op in CHOSEN:
        return "ask", op
    name, eq, value = op.partition("=")
    if eq and name in CHOSEN:
        if value != "-" and name != "from" and _typed(name, value) != value:  # forged data: out of date
            raise ValueError(op)
        return choose(state, name, None if value == "-" else value)
    if op == OK:
        return [*state, OK]
    if op == FROM_LIST:
        return [*state, OK, FROM_LIST]
    raise ValueError(op)


@dataclass(frozen=True)
class Place:
    """The group a flow acts on: its id; whether it is a forum and the topic the flow runs in; and, when the flow runs
    in private chat on a connected group (/connect), that group's title — every message of it there is headed with
    it, as a command's answer is."""

    chat_id: int
    forum: bool = False
    topic: int | None = None
    title: str | None = None

    def headed(self, context: BotContext, text: str) -> str:
        return text if self.title is None else connection_texts.acting_on(context.tr, self.title) + "\n" + text


async def _place(context: BotContext, message: Message, user_id: int) -> Place:
    """Where a press or a reply in this chat acts: the group itself, or from private chat the connected group —
    the sender's rights asked of Telegram now, as for any command typed there (ConnectError: not connected, no
    longer an admin), answering in the language a command run from there answers in."""
    chat = message.chat
    if chat.type != ChatType.PRIVATE:
        return Place(chat.id, bool(chat.is_forum), message.message_thread_id if message.is_topic_message else None)
    remote = await context.services.connections.admin(user_id, "schedule")
    context.actor = remote.actor
    context.tr = await reader_translator(context.services, user_id,
                                         (await context.services.groups.settings(remote.group.chat_id)).language)
    # Telegram not answering whether it is a forum: no topic to choose (the post goes to General, as the one-line
    # command typed in private without topic:N would).
    return Place(remote.group.chat_id, bool(await is_forum(context, remote.group.chat_id)), title=remote.group.title)


def _for_here(context: BotContext, place: Place, message: Message | None) -> bool:
    """A flow message in private chat belongs to the group it is headed with: after /connect to another group its
    buttons and prompts are out of date, never acting on the other group."""
    if place.title is None:
        return True
    first = ((message.text if message is not None else None) or "").split("\n", 1)[0]
    return first == re.sub(r"<[^>]+>", "", html.unescape(connection_texts.acting_on(context.tr, place.title)))


async def _on_summary_button(update: Update, context: BotContext, query, op: str, place: Place) -> None:
    _ = context.tr
    edit = lambda text, markup=None: edit_query_message(query, place.headed(context, text), markup)  # noqa: E731
    command = _pending_command(query.message)
    try:
        shown = state_of(split_words(command)[1:]) if command else None
        state = _apply(shown, op) if shown is not None else None
        if state is None:
            raise ValueError(op)
    except (ValueError, IndexError, KeyError):
        await edit(texts.out_of_date(_))
        return
    if isinstance(state, tuple):  # a value's own screen
        await edit(*await _value_question(context, place, shown, state[1]))
        return
    step = step_of(state)
    if step is None:
        await _make(update, context, place, state, Content(), edit)
        return
    try:
        text, markup = await ask(context, place, state)
    except UserError as err:  # replace on a schedule too rare for it, a first run already past: the summary as it was
        text, markup = await ask(context, place, shown)
        text = await render_error(update, context, err, "schedule") + "\n" + text
    await edit(text, markup)


def _typed(name: str, value: str) -> str | None:
    try:
        return dom.typed(name, value)
    except ScheduleError:
        return None


async def _checked(context: BotContext, chat_id: int, state: list[str]) -> list[str]:
    """The choices once the when is complete: a time already past (a once today) is refused here, before the
    content is asked for (ScheduleError; the caller asks the time again)."""
    if len(state) == 2 + len(WHEN["once"]) and state[1] == "once":
        await context.services.schedules.check_when(chat_id, command_words(state))
    return state


async def on_flow_button(update: Update, context: BotContext) -> None:
    """sch:ACTION KIND WORD… → the next step's question (or, when nothing is left to ask, the schedule). Pressed in
    private chat, it acts on the connected group."""
    query = update.callback_query
    try:
        place = await _place(context, query.message, query.from_user.id)
    except UserError as err:  # from private: not connected (any more), or no longer an admin there
        await answer_query(query, await render_error(update, context, err, "schedule"), show_alert=True)
        return
    _ = context.tr
    if context.actor.role < Role.ADMIN:
        await answer_query(query, texts.admins_only(_), show_alert=True)
        return
    await answer_query(query)
    edit = lambda text, markup=None: edit_query_message(query, place.headed(context, text), markup)  # noqa: E731
    data = query.data[len("sch:"):]
    if data == "x":
        await edit(texts.cancelled(_))
        return
    if not _for_here(context, place, query.message):
        await edit_query_message(query, texts.out_of_date(_))
        return
    if data.startswith("="):
        await _on_summary_button(update, context, query, data[1:], place)
        return
    state = data.split(" ") if " " in data or data in ACTIONS else legacy(data)
    try:
        step = step_of(state)
    except ValueError:
        await edit(texts.out_of_date(_))
        return
    try:
        await _checked(context, place.chat_id, state)
    except UserError as err:  # a past time: that step again
        text, markup = await ask(context, place, state[:-1])
        await edit(await render_error(update, context, err, "schedule") + "\n" + text, markup)
        return
    if step is None:
        await _make(update, context, place, state, Content(), edit)
        return
    await edit(*await ask(context, place, state))


async def _make(update: Update, context: BotContext, place: Place, state: list[str], content: Content, show,
                teach: bool = True):
    """The schedule itself, through the same service call as the one-line command; a refusal shows the step it
    concerns again (a past time: the time; the content: the content). `teach`: show the one-line command (the
    content prompt showed it already)."""
    _ = context.tr
    words = command_words(state)
    try:
        created = await context.services.schedules.create(place.chat_id, context.actor.user_id or None, words, content,
                                                          place.topic)
    except UserError as err:
        past = isinstance(err, ScheduleError) and err.params.get("reason") == "past"
        again = state[:1 + len(WHEN[state[1]])] if past else state  # without the time
        if again[-1:] == [FROM_LIST]:  # the list was empty: the content prompt again
            again = again[:-1]

        text, markup = await ask(context, place, again)
        await show(await render_error(update, context, err, "schedule") + "\n" + texts.try_again(_) + "\n" + text, markup)
        return None
    taught = "\n" + texts.one_line(_, command_line(state)) if teach else ""
    await show(schedule_texts.created(_, created) + taught)
    return created


def _fits(markup: InlineKeyboardMarkup | None) -> bool:
    return markup is None or all(len((b.callback_data or "").encode()) <= CALLBACK_LIMIT
                                 for row in markup.inline_keyboard for b in row)


def _is_summary(message) -> bool:
    """The summary to check before saving (its last button saves or asks for the content), not the content prompt
    that shows the same command."""
    markup = message.reply_markup
    return markup is not None and any(b.callback_data == "sch:=" + OK for row in markup.inline_keyboard for b in row)


def _pending_command(message) -> str | None:
    """The one-line command a prompt of ours shows (in its code entity), if this is one."""
    if message is None or message.text is None:
        return None
    for entity, text in message.parse_entities([MessageEntity.CODE]).items():
        if text.startswith("/schedule "):
            return text
    return None


async def on_flow_reply(update: Update, context: BotContext) -> None:
    """An admin's reply to a prompt of the flow: a typed time, date or interval (the next step follows, or the
    same step again with one line on what was wrong), or the content (text with its formatting, or a photo). In
    private chat it acts on the connected group, and nothing else takes the reply (no pointer to /help)."""
    message = update.effective_message
    prompt = message.reply_to_message
    if prompt is None or prompt.from_user is None or prompt.from_user.id != context.bot.id:
        return
    command = _pending_command(prompt)
    if command is None:
        return
    try:
        words = split_words(command)[1:]  # a cron expression is one quoted word
        state = state_of(words)
        step = step_of(state)
    except (ValueError, IndexError, KeyError):
        return
    if message.chat.type != ChatType.PRIVATE:
        # Plain messages are not resolved to a role by the middleware (the per-message path stays cheap): this one is.
        actor = await context.services.members.actor(
            message.chat.id, message.chat.type, user_info(message.from_user) if message.from_user else None,
            message.sender_chat.id if message.sender_chat else None, True)
        if actor.role < Role.ADMIN:
            return
        context.actor = actor
        await _on_reply(update, context, await _place(context, message, actor.user_id), prompt, words, state, step)
        return
    try:
        place = await _place(context, message, message.from_user.id)
    except UserError as err:  # not connected (any more), or no longer an admin of the group
        await reply(update, context, await render_error(update, context, err, "schedule"))
        raise ApplicationHandlerStop() from None
    if context.actor.role >= Role.ADMIN:
        if _for_here(context, place, prompt):
            await _on_reply(update, context, place, prompt, words, state, step)
        else:
            await reply(update, context, texts.out_of_date(context.tr))
    raise ApplicationHandlerStop()  # answered: the pointer to /help is for text nothing took


async def _on_reply(update: Update, context: BotContext, place: Place, prompt, words: list[str], state: list[str],
                    step: str | None) -> None:
    message = update.effective_message
    _ = context.tr
    show = lambda text, markup=None: reply(update, context, place.headed(context, text), markup=markup)  # noqa: E731
    asked = asked_in(words)
    if asked is not None:  # a value of the summary typed (the summary comes back with it)
        step = asked
        state = choose(state, "from" if asked == "start" else asked, None)
    if step in TYPED:
        try:
            today = await context.services.schedules.today(place.chat_id) if step in ("date", "start") else None
            value = dom.typed(step, message.text or "", today)
            if step == "start":
                state = choose(state, "from", "_".join(value.split()))
            elif step in CHOSEN:
                state = choose(state, step, value)
            else:
                state = await _checked(context, place.chat_id, [*state, cron_in_state(value) if step == "cron" else value])
            if asked is not None:
                await context.services.schedules.check(place.chat_id, command_words(state))
        except ScheduleError as err:
            line = texts.not_typed(_, step) if err.params.get("reason") == "typed" else await render_error(update, context, err)
            text, markup = await (_value_question(context, place, state, step) if asked is not None else ask(context, place, state))
            await show(line + "\n" + text, markup)
            return
        if step_of(state) is None:
            await _close(context, prompt, await _make(update, context, place, state, Content(), show))
            return
        text, markup = await ask(context, place, state)
        if not _fits(markup):  # a long cron expression leaves no room in the buttons' 64 bytes
            again_text, again_markup = await ask(context, place, state[:-1])
            await show(texts.too_long_for_buttons(_, command_line(state)) + "\n" + again_text,
                       again_markup)
            return
        await show(text, markup)
        return
    if step == "summary" and _is_summary(prompt):  # not the content: its buttons come first (say so, save nothing)
        await reply(update, context, place.headed(context, texts.summary_replied(_, state[0] in WITH_CONTENT)), transient=True)
        return
    if step == "summary" and state[0] in WITH_CONTENT:  # a reply to the content prompt (its command shows no OK)
        state, step = [*state, OK], "content"
    if step != "content":
        return
    body = _html_from(message, 0) if message.text else (message.caption_html or "")
    content = _content(message, body)
    if message.photo:
        content = Content(content.texts, message.photo[-1].file_id, content.buttons)
    await _close(context, prompt, await _make(update, context, place, state, content, show, teach=False))


async def _close(context: BotContext, prompt, created) -> None:
    """The prompt whose answer made a schedule says so and shows no command any more: a second reply to it makes
    nothing."""
    if created is not None:
        await best_effort(f"close the prompt {prompt.message_id}", lambda: context.bot.edit_message_text(
            texts.used(context.tr, created.id), prompt.chat.id, prompt.message_id))
