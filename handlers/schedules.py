"""Scheduled posts and activities in Telegram: /schedule, /schedules, /unschedule, /pause, /resume, /runnow,
/pushlog — and the tick job that claims due slots and Sticky's own deferred work (delete later, held posts)."""
from __future__ import annotations

import html
import logging
import re
from datetime import datetime, timedelta

from telegram import Message, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.domain.errors import UsageError
from bot.domain.roles import Role
from bot.domain.schedules import ScheduleError, parse, split_words, word_spans
from bot.services.rules import INACTIVITY_WORK
from bot.services.schedules import Content
from bot.texts import schedules as texts
from bot.texts import translator
from handlers.base import best_effort, command, delete_work, message_link, render_error, reply, settle
from storage.schedules import Claim, Deferred, Schedule

log = logging.getLogger(__name__)


async def perform(context: BotContext, work: Deferred) -> None:
    """One claimed piece of deferred work (settle marks it done after). A network error, timeout or 429 is raised:
    settle tries again later."""
    s = context.services
    if work.kind == "delete":
        await (retire_copy if work.payload.get("replace") else delete_work)(context, work)
    elif work.kind == "post":
        p = work.payload
        if p.get("ends") == "campaign" and not p.get("announced"):  # its start was never announced: nor is its end
            await s.outbox.log(work.chat_id, p["kind"], "suppressed", "its start was not announced")
            return
        pushed = await s.outbox.post(work.chat_id, p["kind"], p["text"], photo=p.get("photo"), buttons=p.get("buttons"),
                                     pin=bool(p.get("pin")), names=p.get("names") or (), held=True, choices=p.get("choices"),
                                     topic=p.get("topic"), after=s.outbox.after_of(p),
                                     until=datetime.fromisoformat(p["until"]) if p.get("until") else None)
        await replace_previous(context, pushed)  # a schedule's post held by quiet hours: recorded as if sent at once
    elif work.kind == INACTIVITY_WORK:  # the rules' daily inactivity pass; it books the next one itself
        since = work.payload.get("since")
        await s.rules.sweep_inactive(work.chat_id, datetime.fromisoformat(since) if since else None)
    elif work.kind == "poll_close":
        from handlers.polls import close_poll
        await close_poll(context, work)
    elif work.kind == "topic_close":
        from handlers.topics import close_topic
        await close_topic(context, work)
    elif work.kind == "quiz_result":
        from handlers.polls import post_result
        await post_result(context, int(work.payload["poll"]), int(work.payload.get("tries", 0)))
    else:
        log.warning("deferred work %s of unknown kind %s dropped", work.id, work.kind)


async def run(context: BotContext, schedule: Schedule, slot: datetime | None = None) -> str:
    """One run of a schedule's action; the outbox's outcome (sent, capped, deferred…). `slot`: the slot this run
    is for (a tick's claim; None for /runnow, which runs from now) — a late run keeps its slot's window."""
    s = context.services
    if schedule.action == "post":
        pushed = await s.schedules.post(schedule)
        await replace_previous(context, pushed)
        return pushed.outcome
    tr = translator((await s.groups.settings(schedule.chat_id)).language)
    topic = schedule.options.get("topic")
    if schedule.action == "reminder":
        batches = await s.schedules.reminder_batches(schedule.chat_id)
        if not batches:
            return (await s.outbox.post(schedule.chat_id, "reminder", texts.reminder_nobody(tr), topic=topic)).outcome
        outcome = "sent"
        for batch in batches:  # names= lets the outbox check the opt-outs once more at send time
            pushed = await s.outbox.post(schedule.chat_id, "reminder", texts.reminder(tr, batch), names=[u for u, _ in batch],
                                         topic=topic)
            outcome = pushed.outcome if outcome == "sent" else outcome
        return outcome
    if schedule.action == "leaderboard":
        from handlers.points import _names  # the leaderboard is /top's
        from bot.texts import points as points_texts
        rows = await s.points.top(schedule.chat_id, "points", "week")
        text = points_texts.top(tr, "points", "week", await _names(context, schedule.chat_id, rows))
        pushed = await s.outbox.post(schedule.chat_id, "leaderboard", text, topic=topic, after={"schedule": schedule.id})
        await replace_previous(context, pushed)  # `replace`: the previous board goes
        return pushed.outcome
    if schedule.action == "campaign":
        from bot.services.schedules import text_for
        tz = schedule.tz
        ends = s.schedules.campaign_ends(schedule, slot)
        title, multiplier = text_for(schedule), str(schedule.options.get("multiplier"))
        start = texts.campaign_started(tr, title, multiplier, ends, tz)
        return (await s.schedules.start_campaign(schedule, ends, start, texts.campaign_ended(tr, title))).outcome
    if schedule.action == "report":
        from handlers.stats import run_report  # the weekly report is the stats'
        return await run_report(context, schedule)
    if schedule.action == "nps":
        from handlers.loyalty import run_nps  # the survey is /nps's
        return await run_nps(context, schedule)
    if schedule.action == "topic":
        from handlers.topics import run_topic  # the topic of the week is its own feature
        return await run_topic(context, schedule)
    if schedule.action in ("quiz", "poll"):
        from handlers.polls import run_poll  # quizzes and polls are their own feature
        return await run_poll(context, schedule)
    log.warning("schedule %s: action %s is not known", schedule.id, schedule.action)
    return "failed"


async def replace_previous(context: BotContext, pushed) -> None:
    """`replace`: the previous copy of a schedule's post is deleted now that the new one is out. The delete was
    written (claimed) with the record of the new copy, so a crash before it is done leaves it to the tick after the
    restart; a network error or a 429 is tried again later, as any deferred delete."""
    replaced = pushed.after.get("schedule")  # the schedule's after-sent hook: the previous copy's delete, claimed
    if replaced is not None:
        await settle(context, replaced, retire_copy)


async def retire_copy(context: BotContext, work: Deferred) -> None:
    """`replace`'s delete of a schedule's previous copy. Telegram deletes a message only within 48 hours of its
    send; a copy older than that (the schedule was paused, or Sticky was down) is edited instead — bots may edit
    their own messages at any age — to one line pointing to the newer post (its buttons gone), unpinned if the
    schedule pins, and /pushlog says so. A copy already gone is what was wanted. A network error, timeout or 429
    is raised, for settle to try again (the edit is then "not modified": done)."""
    p = work.payload
    chat_id, message_id = work.chat_id, p["message_id"]
    try:
        await context.bot.delete_message(chat_id, message_id)
        return
    except BadRequest as exc:
        if "can't be deleted" not in str(exc):  # "message to delete not found": gone already
            log.info("could not delete %s/%s: %s", chat_id, message_id, exc)
            return
    tr = translator((await context.services.groups.settings(chat_id)).language)
    note = texts.copy_replaced(tr, message_link(chat_id, p.get("by")))
    try:
        try:
            await context.bot.edit_message_text(note, chat_id, message_id, parse_mode="HTML")
        except BadRequest as exc:
            if "no text in the message" not in str(exc):
                raise
            await context.bot.edit_message_caption(chat_id, message_id, caption=note, parse_mode="HTML")  # a photo
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():  # not modified: an earlier try edited it already
            log.info("could not edit %s/%s after replace: %s", chat_id, message_id, exc)
            await context.services.outbox.log(chat_id, "schedule", "failed", texts.COPY_LEFT)
            return
    if p.get("pin"):
        try:
            await context.bot.unpin_chat_message(chat_id, message_id)
        except BadRequest as exc:  # a right taken away meanwhile: the note says the rest
            log.info("could not unpin %s/%s after replace: %s", chat_id, message_id, exc)
    await context.services.outbox.log(chat_id, "schedule", "edited", texts.COPY_EDITED)


async def run_claim(context: BotContext, claim: Claim) -> None:
    s = context.services
    try:
        if claim.skipped is not None:  # slots a downtime passed over (the latest may still run, below)
            await s.schedules.missed(claim)
        if claim.run:
            # The run's first outbox step marks the claim begun: a crash before it is run again after the restart.
            # An error ends the run as well (it would fail again); a stop or crash in the middle leaves it pending.
            with s.outbox.on_behalf("schedule", claim.schedule.id) as begun:
                try:
                    await run(context, claim.schedule, claim.due)
                except Exception:
                    if not begun.begun:
                        await s.schedules.ran(claim.schedule.id)
                    raise
                if not begun.begun:
                    await s.schedules.ran(claim.schedule.id)
    except Exception:
        log.exception("schedule %s failed", claim.schedule.id)


async def job_tick(context: BotContext) -> None:
    """Every few seconds (and at start): what a crash cut off (once per start), due deferred work (a delete that
    waited out a restart), then due schedule slots — each claimed in the database before it acts."""
    s = context.services
    for claim in await s.schedules.recover():
        await run_claim(context, claim)
    for work in await s.schedules.due_work():
        await settle(context, work, perform)
    for claim in await s.schedules.due():
        await run_claim(context, claim)


# ------------------------------------------------------------------ commands

_BUTTON = re.compile(r"^\[([^\]]{1,64})\]\((https?://\S+|tg://\S+)\)$")
ROTATE = "---"
MEMBER_DAY = "monthly first sat 00:00 campaign 2x 24h"


def _after_words(text: str, n: int) -> int:
    """Where the text continues after its first n words (a quoted cron expression is one word)."""
    spans = word_spans(text)
    return spans[n - 1][1] if 0 < n <= len(spans) else (0 if n <= 0 else len(text))


def _html_from(message: Message, offset: int) -> str:
    """The message from `offset` on, with the admin's own formatting as HTML (PTB renders the entities)."""
    plain = message.text or ""
    full = message.text_html or ""
    prefix = html.escape(plain[:offset])
    return full[len(prefix):] if full.startswith(prefix) else html.escape(plain[offset:])


def _content(message: Message, body_html: str) -> Content:
    """Rotation variants split by a line ---; lines [Label](https://…) at the end become URL buttons; a replied-to
    photo is posted with its caption (or the text given)."""
    lines = body_html.strip().split("\n")
    buttons = []
    while lines and _BUTTON.match(lines[-1].strip()):
        m = _BUTTON.match(lines.pop().strip())
        buttons.insert(0, (html.unescape(m.group(1)), html.unescape(m.group(2))))
    variants = [v.strip() for v in "\n".join(lines).split(f"\n{ROTATE}\n")]
    variants = [v for v in variants if v]
    replied = message.reply_to_message
    photo = None
    if replied is not None and replied.photo and not replied.forum_topic_created:
        photo = replied.photo[-1].file_id
        if not variants and replied.caption:
            variants = [replied.caption_html]
    return Content(tuple(variants), photo, tuple(buttons))


async def is_forum(context: BotContext, chat_id: int) -> bool | None:
    """Whether a group has topics on now, as Telegram says (getChat: a group may turn them on or off — and a command
    run from private chat on a connected group does not carry the group's own chat); None if Telegram did not answer."""
    chat = await best_effort(f"read whether {chat_id} is a forum", lambda: context.bot.get_chat(chat_id))
    return None if chat is None else bool(chat.is_forum)


def _id(context: BotContext, at: int = 0, of: int | None = None, usage: str | None = None) -> int:
    """The schedule id at args[at] of `of`+1 words; another count of words: the usage (`usage`: a subcommand's)."""
    args = context.args or []
    if len(args) != (at + 1 if of is None else of + 1):
        raise UsageError(command=usage) if usage else UsageError()
    word = args[at].lstrip("#")
    if not word.isdigit() or len(word) > 18:  # ids are SQLite integers: a 19-digit "id" names nothing
        raise ScheduleError(reason="bad_id")
    return int(word)


@command("schedule", role=Role.ADMIN)
async def cmd_schedule(update: Update, context: BotContext) -> None:
    message, chat = update.effective_message, update.effective_chat
    args = context.args or []
    if not args:  # step by step, with buttons
        from handlers.schedule_flow import start_markup
        from bot.texts import schedule_flow as flow_texts
        await reply(update, context, flow_texts.question(context.tr, "action"), markup=start_markup(context.tr), remote_buttons=True)
        return
    if args[0].lower() == "show":
        found = await context.services.schedules.get(chat.id, _id(context, 1, usage="schedule show"))
        await reply(update, context, texts.show(context.tr, found))
        return
    if args[0].lower() == "missed":  # /schedule missed N late|skip
        if len(args) != 3:
            raise UsageError(command="schedule missed")
        changed = await context.services.schedules.set_missed(chat.id, _id(context, 1, of=2, usage="schedule missed"),
                                                              args[2].lower())
        await reply(update, context, texts.missed_set(context.tr, changed))
        return
    if [a.lower() for a in args] == ["memberday"]:  # the template: the first Saturday of each month, double points
        words = MEMBER_DAY.split()
        content = Content((texts.member_day(context.tr),))
    else:
        words = split_words(message.text or "")[1:]
        spec = parse(words)  # the content starts where the parsed words end
        if spec.topic not in (None, "general"):  # topic:N where there are no topics would fail at every run
            forum = bool(chat.is_forum) if context.elsewhere is None else await is_forum(context, chat.id)
            if forum is False:
                raise ScheduleError(reason="not_forum")
        content = _content(message, _html_from(message, _after_words(message.text or "", spec.content_start + 1)))
    here = message.message_thread_id if message.is_topic_message else None  # sent in a forum topic: posts there
    created = await context.services.schedules.create(chat.id, context.actor.user_id or None, words, content, here)
    notes = await context.services.groups.feature_notes(chat.id, "pinned_posts") if created.options.get("pin") else []
    await reply(update, context, "\n".join([texts.created(context.tr, created), *[await render_error(update, context, n) for n in notes]]))


@command("schedules", role=Role.ADMIN)
async def cmd_schedules(update: Update, context: BotContext) -> None:
    if context.args:  # a listing takes nothing after it: "/schedules 3" gets the usage, not the list as if unread
        raise UsageError()
    chat_id = update.effective_chat.id
    tz = (await context.services.groups.settings(chat_id)).timezone
    await reply(update, context, texts.listing(context.tr, await context.services.schedules.list(chat_id), tz))


@command("unschedule", role=Role.ADMIN)
async def cmd_unschedule(update: Update, context: BotContext) -> None:
    schedule_id = _id(context)
    await context.services.schedules.remove(update.effective_chat.id, schedule_id)
    await reply(update, context, texts.removed(context.tr, schedule_id))


@command("pause", role=Role.ADMIN)
async def cmd_pause(update: Update, context: BotContext) -> None:
    paused = await context.services.schedules.pause(update.effective_chat.id, _id(context))
    await reply(update, context, texts.paused(context.tr, paused))


@command("resume", role=Role.ADMIN)
async def cmd_resume(update: Update, context: BotContext) -> None:
    resumed = await context.services.schedules.resume(update.effective_chat.id, _id(context))
    await reply(update, context, texts.resumed(context.tr, resumed))


@command("runnow", role=Role.ADMIN)
async def cmd_runnow(update: Update, context: BotContext) -> None:
    schedule = await context.services.schedules.run_now(update.effective_chat.id, _id(context))
    outcome = await run(context, schedule)
    await reply(update, context, texts.ran(context.tr, schedule, outcome))


@command("pushlog", role=Role.ADMIN)
async def cmd_pushlog(update: Update, context: BotContext) -> None:
    if context.args:  # as /schedules: "/pushlog 3" or "/pushlog week" is not a filter it quietly ignores
        raise UsageError()
    chat_id = update.effective_chat.id
    tz = (await context.services.groups.settings(chat_id)).timezone
    await reply(update, context, texts.pushlog(context.tr, await context.services.outbox.recent(chat_id, 15), tz))


COMMANDS = [cmd_schedule, cmd_schedules, cmd_unschedule, cmd_pause, cmd_resume, cmd_runnow, cmd_pushlog]
