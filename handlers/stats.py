"""Group stats in Telegram: /stats [7d|30d|90d] with its chart, and /retention [all] with its heat-map (admins)."""
from __future__ import annotations

import asyncio
import functools
import time

from telegram import Update

from bot import charts
from bot.context import BotContext
from bot.domain.errors import UsageError
from bot.domain.roles import Role
from bot.domain.stats import PERIODS
from bot.services.stats import weekly_report
from bot.texts import stats as texts, translator
from handlers.base import best_effort, command, destination, reader_translator, reply


async def _chart_tr(context: BotContext):
    """Chart labels in the group's language when the chart worker has a font for it, else in English (the worker
    answers; matplotlib is never loaded in the bot). A worker that fails to answer: the group's language, and the
    chart itself then says whether it can be drawn."""
    try:
        drawable = await context.services.stats.charts.can_draw(context.tr.lang)
    except charts.DrawFailed:
        drawable = True
    return context.tr if drawable else translator("en")


async def _photo(update: Update, context: BotContext, drawing, caption: str) -> None:
    """The chart once drawn, or — when it could not be (the worker failed, died or overran) — one line saying so
    under the report already sent."""
    try:
        png = await drawing
    except charts.DrawFailed:
        await reply(update, context, texts.chart_failed(context.tr))
        return
    to = destination(update, context)  # asked from private chat (/connect): the chart goes there too
    await best_effort(f"chart in {to}", lambda: context.bot.send_photo(to, png, caption=caption))


@command("stats", role=Role.ADMIN)
async def cmd_stats(update: Update, context: BotContext) -> None:
    args = [a.lower() for a in context.args or []]
    if len(args) > 1 or (args and args[0] not in PERIODS):
        raise UsageError()
    days = PERIODS[args[0] if args else "7d"]
    s, chat = context.services, update.effective_chat
    silent, tr = s.stats.silent_days, await _chart_tr(context)

    def chart(end, daily, grid):  # drawn while the rest of the report is read
        return ("stats", days, tr.lang, end), functools.partial(
            charts.stats_chart, [d for d, _, _ in daily], [a for _, a, _ in daily], [m for _, _, m in daily], grid,
            texts.stats_labels(tr, days, silent))

    report = await s.stats.report(chat.id, days, update.effective_message.date, await s.nps.summary(chat.id), chart=chart)
    if report.empty:
        await reply(update, context, texts.no_data(context.tr, chat.title or "", days))
        return
    await reply(update, context, texts.stats(context.tr, chat.title or "", report, silent))
    await _photo(update, context, report.chart, texts.stats_caption(context.tr, chat.title or "", days))


@command("retention", role=Role.ADMIN)
async def cmd_retention(update: Update, context: BotContext) -> None:
    args = [a.lower() for a in context.args or []]
    if args not in ([], ["all"]):
        raise UsageError()
    s, chat = context.services, update.effective_chat
    report = await s.stats.retention(chat.id, update.effective_message.date, unbounded=bool(args))
    if report.empty:
        await reply(update, context, texts.no_joiners(context.tr, chat.title or ""))
        return
    await reply(update, context, texts.retention(context.tr, chat.title or "", report, s.stats.silent_days))
    tr = await _chart_tr(context)
    drawing = s.stats.chart(chat.id, ("retention", report.unbounded, tr.lang, report.cohorts[-1].week), functools.partial(
        charts.retention_chart, [c.week.isoformat() for c in report.cohorts], [list(c.shares) for c in report.cohorts],
        texts.retention_labels(tr, report.unbounded, s.stats.silent_days)))
    await _photo(update, context, drawing, texts.retention_caption(context.tr, chat.title or ""))


async def spotlight_newcomer(context: BotContext, chat_id: int, user_id: int) -> None:
    """A newcomer just reached the spotlight: recorded (with the group's bonus) once, then each admin is told in
    private through the outbox (who started Sticky and did not opt out)."""
    s = context.services
    flagged = await s.spotlight.flag(chat_id, user_id)
    if flagged is None:
        return
    language = (await s.groups.settings(chat_id)).language
    group, user = await s.groups.group(chat_id), await s.members.user(user_id)
    for admin in await s.members.admins(chat_id):  # each in their own language (/language), else the group's
        text = texts.spotlight(await reader_translator(s, admin, language), group.title if group else "",
                               user.display if user else str(user_id), flagged)
        await s.outbox.private(admin, text, chat_id=chat_id, kind="spotlight")


async def run_report(context: BotContext, schedule) -> str:
    """A schedule's `report` run: last group week's report, once per group week, to each admin in private (who
    started Sticky and did not opt out) or, with `report group`, in the group through the outbox."""
    s = context.services
    chat_id = schedule.chat_id
    report = await weekly_report(s.stats, s.loyalty, s.funnel, s.nps, chat_id, s.clock.now())
    if report is None:
        await s.outbox.log(chat_id, "report", "suppressed", "this week's report went out already")
        return "suppressed"
    language = (await s.groups.settings(chat_id)).language
    people = await s.members.users([u for u, _, _ in report.movers or []][:5])
    group = await s.groups.group(chat_id)
    names = {u: p.display for u, p in people.items()}
    title, footnote = group.title if group else "", (s.stats.silent_days, s.loyalty.thresholds)
    if schedule.options.get("group"):
        return (await s.outbox.post(chat_id, "report", texts.weekly_report(translator(language), title, report, names,
                                                                            *footnote))).outcome
    outcomes = []
    for u in await s.members.admins(chat_id):  # each admin in their own language (/language), else the group's
        text = texts.weekly_report(await reader_translator(s, u, language), title, report, names, *footnote)
        outcomes.append((await s.outbox.private(u, text, chat_id=chat_id, kind="report_admins")).outcome)
    return "sent" if "sent" in outcomes else (outcomes[0] if outcomes else "suppressed")


# The hourly close of 1,000 groups is 2,000 writer transactions (StatsRepo.close, store_churn; 10-24 ms each after
# the bench's P1) back to back: run straight through, nearly every update's write queued behind one of them for
# the 4-11 s it took. It goes CLOSE_CHUNK groups at a time and rests between chunks, so it holds the writer at
# most CLOSE_SHARE of the time it runs (under a minute for 1,000 groups, well inside the hour).
CLOSE_CHUNK = 10
CLOSE_SHARE = 0.25


async def job_close_days(context: BotContext) -> None:
    """Hourly: each group's newest final day is stored with its WAU / MAU, so /stats reads rows, not members."""
    s = context.services
    groups = [g.chat_id for g in await s.groups.active()]
    for start in range(0, len(groups), CLOSE_CHUNK):
        began = time.perf_counter()
        await s.stats.close_days(groups[start:start + CLOSE_CHUNK])
        if start + CLOSE_CHUNK < len(groups):
            await asyncio.sleep((time.perf_counter() - began) * (1 / CLOSE_SHARE - 1))


COMMANDS = [cmd_stats, cmd_retention]
