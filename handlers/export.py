"""/export (admins): the group's members, ledger, referrals and daily stats as a zip of CSV files, sent in private
(in parts, each a zip of its own, when it is over Telegram's 50 MB document limit)."""
from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.domain.checkin import local_day
from bot.domain.errors import UsageError
from bot.domain.roles import Role
from bot.services.export import export_filename
from bot.texts import export as texts
from handlers.base import attempt, command, person_id, reply

# PTB gives an upload 20 s to be written, whatever its size: a 50 MB part needs 2.5 MB/s for that. Give each file 20 s
# plus 4 s per MB (an upload as slow as 250 KB/s still goes through); a try that still runs out is told as no answer.
UPLOAD_BASE_SECONDS, UPLOAD_SECONDS_PER_MB = 20.0, 4.0


def upload_timeout(size: int) -> float:
    return UPLOAD_BASE_SECONDS + UPLOAD_SECONDS_PER_MB * size / 1_000_000


@command("export", role=Role.ADMIN)
async def cmd_export(update: Update, context: BotContext) -> None:
    if context.args:
        raise UsageError()
    chat, admin = update.effective_chat, person_id(context)
    if not await context.services.export.deliverable(admin):
        await reply(update, context, texts.cannot_send(context.tr), transient=True)
        return
    at = update.effective_message.date or context.services.clock.now()
    paths, counts = await context.services.export.build(chat.id, at)
    day = local_day(at, (await context.services.groups.settings(chat.id)).timezone)
    sent, failed = 0, None
    try:
        for i, path in enumerate(paths, 1):
            filename = export_filename(chat.id, day, i, len(paths))
            caption = texts.caption(context.tr, chat.title or "", i, len(paths))

            async def send(path=path, filename=filename, caption=caption):
                with path.open("rb") as file:  # opened per try: a try after a flood wait sends the whole file again
                    return await context.bot.send_document(admin, file, filename=filename, caption=caption,
                                                           write_timeout=upload_timeout(path.stat().st_size))

            failed = await attempt(f"export of {chat.id} to {admin} ({i}/{len(paths)})", send)
            if not failed.done:
                break
            sent += 1
    finally:
        for path in paths:
            path.unlink(missing_ok=True)
    if sent == len(paths):
        await reply(update, context, texts.sent(context.tr, counts, len(paths)))
    elif failed.unsure:  # a timeout or network error: the file may have arrived (a 50 MB upload takes a while)
        await reply(update, context, texts.no_answer(context.tr, sent + 1, len(paths)), transient=True)
    elif not failed.refused:  # a flood wait too long to wait out here
        await reply(update, context, texts.wait(context.tr, sent, len(paths)), transient=True)
    elif sent:
        await reply(update, context, texts.cut_off(context.tr, sent, len(paths)), transient=True)
    else:
        await reply(update, context, texts.cannot_send(context.tr), transient=True)


COMMANDS = [cmd_export]
