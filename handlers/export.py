"""/export (admins): the group's members, ledger, referrals and daily stats as a zip of CSV files, sent in private."""
from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.domain.errors import UsageError
from bot.domain.roles import Role
from bot.texts import export as texts
from handlers.base import attempt, command, person_id, reply


@command("export", role=Role.ADMIN)
async def cmd_export(update: Update, context: BotContext) -> None:
    if context.args:
        raise UsageError()
    chat, admin = update.effective_chat, person_id(context)
    if not await context.services.export.deliverable(admin):
        await reply(update, context, texts.cannot_send(context.tr), transient=True)
        return
    path, counts = await context.services.export.build(chat.id)
    try:
        with path.open("rb") as file:
            sent = await attempt(f"export of {chat.id} to {admin}", lambda: context.bot.send_document(
                admin, file, filename=f"sticky-export-{chat.id}.zip", caption=texts.caption(context.tr, chat.title or "")))
    finally:
        path.unlink(missing_ok=True)
    if sent.done:
        await reply(update, context, texts.sent(context.tr, counts))
    else:
        await reply(update, context, texts.cannot_send(context.tr), transient=True)


COMMANDS = [cmd_export]
