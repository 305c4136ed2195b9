"""Group stats in Telegram: /stats [7d|30d|90d] with its chart, and /retention [all] with its heat-map (admins)."""
from __future__ import annotations

import asyncio
import functools

from telegram import Update

from bot import charts
from bot.context import BotContext
from bot.domain.errors import UsageError
from bot.domain.roles import Role
from bot.domain.stats import PERIODS
from bot.texts import stats as texts, translator
from handlers.base import best_effort, command, reply


async def _chart_tr(context: BotContext):
    """Chart labels in the group's language when this machine has a font for it, else in English. The first chart
    loads matplotlib: on a worker thread, not on the event loop that serves the other groups."""
    lang = context.tr.lang
    drawable = charts.can_draw(lang) if charts.loaded() else await asyncio.to_thread(charts.can_draw, lang)
    return context.tr if drawable else translator("en")


async def _photo(update: Update, context: BotContext, png: bytes, caption: str) -> None:
    chat = update.effective_chat
    await best_effort(f"chart in {chat.id}", lambda: context.bot.send_photo(chat.id, png, caption=caption))


@command("stats", role=Role.ADMIN)
async def cmd_stats(update: Update, context: BotContext) -> None:
    args = [a.lower() for a in context.args or []]
    if len(args) > 1 or (args and args[0] not in PERIODS):
        raise UsageError()
    days = PERIODS[args[0] if args else "7d"]
    s, chat = context.services, update.effective_chat
    report = await s.stats.report(chat.id, days, update.effective_message.date, await s.nps.summary(chat.id))
    silent = s.stats.silent_days
    if report.empty:
        await reply(update, context, texts.no_data(context.tr, chat.title or "", days))
        return
    await reply(update, context, texts.stats(context.tr, chat.title or "", report, silent))
    tr = await _chart_tr(context)
    png = await s.stats.chart(chat.id, ("stats", days, tr.lang, report.end), functools.partial(
        charts.stats_chart, [d for d, _, _ in report.daily], [a for _, a, _ in report.daily],
        [m for _, _, m in report.daily], report.grid, texts.stats_labels(tr, days, silent)))
    await _photo(update, context, png, texts.stats_caption(context.tr, chat.title or "", days))


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
    await reply(update, context, texts.retention(context.tr, chat.title or "", report))
    tr = await _chart_tr(context)
    png = await s.stats.chart(chat.id, ("retention", report.unbounded, tr.lang, report.cohorts[-1].week), functools.partial(
        charts.retention_chart, [c.week.isoformat() for c in report.cohorts], [list(c.shares) for c in report.cohorts],
        texts.retention_labels(tr, report.unbounded)))
    await _photo(update, context, png, texts.retention_caption(context.tr, chat.title or ""))


async def job_close_days(context: BotContext) -> None:
    """Hourly: each group's newest final day is stored with its WAU / MAU, so /stats reads rows, not members."""
    s = context.services
    await s.stats.close_days([g.chat_id for g in await s.groups.repo.active()])


COMMANDS = [cmd_stats, cmd_retention]
