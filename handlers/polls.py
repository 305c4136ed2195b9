"""Quizzes and native polls in Telegram: a schedule's run posts one, each poll_answer pays its points (once per member
per poll), and the deferred closing stops the poll and posts a quiz's winners."""
from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.domain.polls import parse_question
from bot.services.schedules import text_for
from bot.telegram_port import user_info
from bot.texts import polls as texts
from bot.texts import translator
from storage.schedules import Deferred, Schedule

WINNERS_SHOWN = 20  # names in a result post; the rest are counted


async def run_poll(context: BotContext, schedule: Schedule) -> str:
    """A schedule's quiz or poll: this run's question (rotation), posted through the outbox; the outbox's outcome."""
    question = parse_question(text_for(schedule), quiz=schedule.action == "quiz")
    return (await context.services.polls.open(schedule, question)).outcome


async def on_poll_answer(update: Update, context: BotContext) -> None:
    answer = update.poll_answer
    user = answer.user
    if user is None or user.is_bot:  # an answer given as a chat (anonymously) is nobody's to reward
        return
    s = context.services
    taken = await s.polls.answer(answer.poll_id, user.id, list(answer.option_ids))
    if taken is not None:
        await s.members.seen(taken.poll.chat_id, user_info(user))


async def close_poll(context: BotContext, work: Deferred) -> None:
    """Deferred `poll_close`: the window is over. A quiz's result follows (once its answers are all in)."""
    row = await context.services.polls.close(int(work.payload["poll"]))
    if row is not None and row.kind == "quiz":
        await post_result(context, row.id, 0)


async def post_result(context: BotContext, poll_id: int, tries: int) -> None:
    s = context.services
    got = await s.polls.result(poll_id, tries)
    if got is None:
        return
    row, answers = got
    paid = sorted((a for a in answers if a.correct and a.points), key=lambda a: a.rank or 0)
    may_name = set(await s.outbox.mentionable([a.user_id for a in paid]))
    names = []
    for a in paid:
        if a.user_id in may_name and len(names) < WINNERS_SHOWN:
            user = await s.members.user(a.user_id)
            names.append(user.display if user else str(a.user_id))
    tr = translator((await s.groups.settings(row.chat_id)).language)
    text = texts.quiz_result(tr, row.question, row.options[row.correct], len(answers), sum(1 for a in answers if a.correct),
                             names, len(paid) - len(names), row.points)
    await s.outbox.post(row.chat_id, "quiz_result", text)
