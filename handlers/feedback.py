"""The feedback box in Telegram: /feedback, /suggestions (👍 buttons, one vote per member), and for admins
/feedbacks [open|all], /fb accept N [points], /fb reject N [reason]; the author hears the outcome."""
from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import BotContext
from bot.domain.errors import UsageError, UserError
from bot.domain.feedback import parse_id, parse_points
from bot.domain.roles import Role
from bot.texts import feedback as texts
from bot.texts import translator
from handlers.base import answer_query, command, edit_query_message, person_id, render_error, reply
from handlers.points import notify_private

CALLBACK_PATTERN = r"^fb:vote:\d+$"
SHOWN = 10  # suggestions (and buttons) in one /suggestions message


async def _name(context: BotContext, user_id: int) -> str:
    user = await context.services.members.user(user_id)
    return user.display if user else str(user_id)


@command("feedback")
async def cmd_feedback(update: Update, context: BotContext) -> None:
    text = (update.effective_message.text or "").partition(" ")[2]
    feedback_id = await context.services.feedback.submit(update.effective_chat.id, person_id(context), text)
    await reply(update, context, texts.saved(context.tr, feedback_id))


async def _board(context: BotContext, chat_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
    s = context.services
    rows = (await s.feedback.list(chat_id, "open"))[:SHOWN]
    names = (await s.groups.settings(chat_id)).feedback_names
    shown = [(r.id, r.text, r.votes, await _name(context, r.user_id) if names else None) for r in rows]
    buttons = [InlineKeyboardButton(f"👍 #{r.id}", callback_data=f"fb:vote:{r.id}") for r in rows]
    markup = InlineKeyboardMarkup([buttons[i:i + 5] for i in range(0, len(buttons), 5)]) if buttons else None
    return texts.suggestions(context.tr, shown), markup


@command("suggestions")
async def cmd_suggestions(update: Update, context: BotContext) -> None:
    text, markup = await _board(context, update.effective_chat.id)
    await reply(update, context, text, markup=markup)


async def on_vote(update: Update, context: BotContext) -> None:
    query = update.callback_query
    chat_id = query.message.chat.id
    try:
        counted, _ = await context.services.feedback.vote(chat_id, int(query.data.rsplit(":", 1)[1]), query.from_user.id)
    except UserError as err:
        await answer_query(query, await render_error(update, context, err), show_alert=True)
        return
    await answer_query(query, texts.vote_counted(context.tr) if counted else texts.vote_already(context.tr))
    if counted:
        text, markup = await _board(context, chat_id)
        await edit_query_message(query, text, markup)


@command("feedbacks", role=Role.ADMIN)
async def cmd_feedbacks(update: Update, context: BotContext) -> None:
    args = [a.lower() for a in context.args or []]
    which = args[0] if args else "open"
    if len(args) > 1 or which not in ("open", "all"):
        raise UsageError()
    rows = await context.services.feedback.list(update.effective_chat.id, "open" if which == "open" else None)
    shown = [(r.id, r.text, r.votes, r.status, await _name(context, r.user_id)) for r in rows]
    await reply(update, context, texts.admin_list(context.tr, shown, which))


@command("fb", role=Role.ADMIN)
async def cmd_fb(update: Update, context: BotContext) -> None:
    args = context.args or []
    if len(args) < 2 or args[0].lower() not in ("accept", "reject") or (args[0].lower() == "accept" and len(args) > 3):
        raise UsageError()
    s, chat = context.services, update.effective_chat
    feedback_id = parse_id(args[1])
    actor = context.actor.user_id or None
    if args[0].lower() == "accept":
        points = parse_points(args[2], 0) if len(args) > 2 else None  # None: feedback.points from the config
        decision = await s.feedback.accept(chat.id, feedback_id, actor, points)
    else:
        decision = await s.feedback.reject(chat.id, feedback_id, actor, " ".join(args[2:]) or None)
    author = await _name(context, decision.suggestion.user_id)
    done = texts.accepted(context.tr, feedback_id, author, decision.points) if decision.accepted else texts.rejected(context.tr, feedback_id)
    await reply(update, context, done)
    await tell_author(context, chat.id, chat.title or "", decision, " ".join(args[2:]) or None, author)


async def tell_author(context: BotContext, chat_id: int, title: str, decision, reason: str | None, author: str) -> None:
    """Privately if they started Sticky and did not opt out; otherwise in the group (unless they opted out of mentions)."""
    sug = decision.suggestion

    def render(_):
        if decision.accepted:
            return texts.author_accepted(_, author, title, sug.text, decision.points, decision.badges)
        return texts.author_rejected(_, author, title, sug.text, reason)

    if await notify_private(context, sug.user_id, render, chat_id=chat_id, kind="feedback"):
        return
    tr = translator((await context.services.groups.settings(chat_id)).language)
    await context.services.outbox.post(chat_id, "feedback", render(tr), names=[sug.user_id])


COMMANDS = [cmd_feedback, cmd_suggestions, cmd_feedbacks, cmd_fb]
