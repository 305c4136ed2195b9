"""Scheduled posts and activities in Telegram: /schedule, /schedules, /unschedule, /pause, /resume, /runnow,
/pushlog — and the tick job that claims due slots and Sticky's own deferred work (delete later, held posts)."""
from __future__ import annotations

import logging

from bot.context import BotContext
from handlers.base import delete_quietly
from storage.schedules import Deferred, Schedule

log = logging.getLogger(__name__)


async def perform(context: BotContext, work: Deferred) -> None:
    """One claimed piece of deferred work; its row is already marked done, so it happens at most once."""
    s = context.services
    if work.kind == "delete":
        await delete_quietly(context, work.chat_id, work.payload["message_id"])
    elif work.kind == "post":
        p = work.payload
        await s.outbox.post(work.chat_id, p["kind"], p["text"], photo=p.get("photo"), buttons=p.get("buttons"),
                            pin=bool(p.get("pin")), names=p.get("names") or (), held=True)
    else:
        log.warning("deferred work %s of unknown kind %s dropped", work.id, work.kind)


async def run(context: BotContext, schedule: Schedule) -> None:
    s = context.services
    if schedule.action == "post":
        await s.schedules.post(schedule)
    else:
        log.warning("schedule %s: action %s is not known", schedule.id, schedule.action)


async def job_tick(context: BotContext) -> None:
    """Every few seconds (and at start): due deferred work first (a delete that waited out a restart), then due
    schedule slots — each claimed in the database before it acts."""
    s = context.services
    for work in await s.schedules.due_work():
        try:
            await perform(context, work)
        except Exception:  # one failure must not hold up the rest; the row is done, as promised: at most once
            log.exception("deferred work %s failed", work.id)
    for claim in await s.schedules.due():
        try:
            if claim.run:
                await run(context, claim.schedule)
            else:
                await s.schedules.missed(claim)
        except Exception:
            log.exception("schedule %s failed", claim.schedule.id)


COMMANDS: list = []
