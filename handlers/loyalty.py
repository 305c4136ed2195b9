"""The loyalty ladder and NPS in Telegram: /loyalty [@user] (admins), /nps [close] (admins) and its 0–10 buttons."""
from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import BotContext
from bot.domain.errors import UsageError
from bot.domain.nps import NpsError
from bot.domain.roles import Role
from bot.texts import loyalty as texts
from bot.texts import translator
from storage.schedules import Schedule
from handlers.base import answer_query, attempt, command, render_error, reply, resolve_target

NPS_PATTERN = r"^nps:\d+:\d+$"


async def _names(context: BotContext, user_ids) -> dict[int, str]:
    out = {}
    for user_id in user_ids:
        user = await context.services.members.user(user_id)
        out[user_id] = user.display if user else str(user_id)
    return out


@command("loyalty", role=Role.ADMIN)
async def cmd_loyalty(update: Update, context: BotContext) -> None:
    if len(context.args or []) > 1:
        raise UsageError()
    s, chat = context.services, update.effective_chat
    target = None
    if context.args or update.effective_message.reply_to_message:
        target = await resolve_target(update, context, (context.args or [None])[0])
    view = await s.loyalty.refresh(chat.id, update.effective_message.date, (target.user.user_id,) if target else ())
    if target is None:
        names = await _names(context, [u for u, _, _ in view.movers[:15]])
        await reply(update, context, texts.pyramid(context.tr, chat.title or "", view, names, s.loyalty.thresholds))
        return
    who, uid = target.user.display, target.user.user_id
    if uid not in view.placements:
        await reply(update, context, texts.not_placed(context.tr, who))
        return
    await reply(update, context, texts.explain(context.tr, who, view.placements[uid], view.states[uid], view.signals[uid],
                                               s.loyalty.thresholds))


def _choices(survey_id: int) -> list[list[list[str]]]:
    """The 0–10 buttons, as rows of [label, callback data]."""
    row = lambda scores: [[str(n), f"nps:{survey_id}:{n}"] for n in scores]  # noqa: E731
    return [row(range(0, 6)), row(range(6, 11))]


def _keyboard(survey_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                 for row in _choices(survey_id)])


async def run_nps(context: BotContext, schedule: Schedule) -> str:
    """A schedule's NPS round: the same survey as /nps, posted through the outbox. While one is still open nothing
    is posted (logged); a survey the outbox did not post was never opened, so /nps is not blocked by it."""
    s, chat_id = context.services, schedule.chat_id
    group = await s.groups.group(chat_id)
    tr = translator((await s.groups.settings(chat_id)).language)
    surveys = []  # the survey is opened with its message's first push-log row: once, as every schedule's send

    def choices(survey):
        surveys.append(survey)
        return _choices(survey.id)

    try:
        pushed = await s.outbox.post(chat_id, "nps", texts.nps_question(tr, group.title if group else "", s.nps.open_days),
                                     opens=s.nps.opening(chat_id, None, s.clock.now(), choices))
    except NpsError:
        await s.outbox.log(chat_id, "nps", "suppressed", "a survey is still open")
        return "suppressed"
    if pushed.sent:
        await s.nps.posted(surveys[0], pushed.message_id)
    return pushed.outcome


@command("nps", role=Role.ADMIN)
async def cmd_nps(update: Update, context: BotContext) -> None:
    args = [a.lower() for a in context.args or []]
    if args not in ([], ["close"]):
        raise UsageError()
    s, chat, at = context.services, update.effective_chat, update.effective_message.date
    if args:
        await reply(update, context, texts.nps_closed(context.tr, await s.nps.close(chat.id, at)))
        return
    survey = await s.nps.open(chat.id, context.actor.user_id or None, at)
    sent = await attempt(f"nps survey in {chat.id}", lambda: context.bot.send_message(
        chat.id, texts.nps_question(context.tr, chat.title or "", s.nps.open_days), reply_markup=_keyboard(survey.id)))
    if sent.done:
        await s.nps.posted(survey, sent.result.message_id)
    elif sent.refused:  # Telegram said no: no one can answer it, so it is no survey (the next /nps opens one)
        await s.nps.discard(survey)


async def on_nps_button(update: Update, context: BotContext) -> None:
    """One answer per member per survey, changeable while it is open; the answer is private to the presser. The owner
    and admins are refused: NPS asks the members."""
    query = update.callback_query
    _, survey_id, score = query.data.split(":")
    try:
        if context.actor.role >= Role.ADMIN:  # admins are shown apart: the score is the members'
            raise NpsError(reason="admin")
        await context.services.nps.answer(int(survey_id), query.from_user.id, int(score), context.services.clock.now())
        text = texts.nps_thanks(context.tr, int(score))
    except NpsError as err:
        text = await render_error(update, context, err)
    await answer_query(query, text, show_alert=True)


COMMANDS = [cmd_loyalty, cmd_nps]
