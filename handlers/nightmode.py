"""Night mode in Telegram: /nightmode to set, show or turn off a group's read-only hours, and the job that closes
and reopens groups when their night starts and ends (and right after a start, for what changed while down)."""
from __future__ import annotations

import logging

from telegram import Update

from bot.context import BotContext
from bot.domain.roles import Role
from bot.texts import nightmode as texts
from bot.texts import translator
from handlers.base import command, reply

log = logging.getLogger(__name__)


@command("nightmode", role=Role.ADMIN)
async def cmd_nightmode(update: Update, context: BotContext) -> None:
    chat_id = update.effective_chat.id
    s = context.services
    args = context.args or []
    tz = (await s.groups.settings(chat_id)).timezone
    if not args:
        row = await s.nightmode.get(chat_id)
        await reply(update, context, texts.status(context.tr, row and row.hours, bool(row and row.closed), tz))
        return
    text = "".join(args)  # "23:00 - 07:00" is meant as one range
    change = await s.nightmode.set(chat_id, text, context.actor.user_id or None)
    if text.strip().lower() in ("off", "none", "关"):
        await reply(update, context, texts.turned_off(context.tr, change.did))
        return
    row = await s.nightmode.get(chat_id)
    await reply(update, context, texts.turned_on(context.tr, row.hours, change.until if change.did == "closed" else None, tz))


async def job_night(context: BotContext) -> None:
    """Groups whose night starts or ends now are closed or reopened; each is announced through the outbox."""
    s = context.services
    for change in await s.nightmode.tick():
        try:
            settings = await s.groups.settings(change.chat_id)
            tr = translator(settings.language)
            if change.did == "closed":
                await s.outbox.post(change.chat_id, "night", texts.closed(tr, change.until, settings.timezone))
            elif change.did == "opened":
                await s.outbox.post(change.chat_id, "night", texts.opened(tr))
            elif change.did in ("no_right", "failed"):
                await s.outbox.log(change.chat_id, "night", "failed",
                                   "no right to restrict members" if change.did == "no_right" else "Telegram did not answer")
        except Exception:
            log.exception("night mode announcement in %s failed", change.chat_id)


COMMANDS = [cmd_nightmode]
