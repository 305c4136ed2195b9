"""The topic of the week in Telegram: /topics [add TEXT | del N] (admins keep the list), a schedule's run posts
the next topic (or the schedule's own text), replies to it earn XP, and the deferred closing names the best replies."""
from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.domain.errors import UsageError
from bot.domain.roles import Role
from bot.domain.topics import parse_id
from bot.services.schedules import text_for
from bot.texts import points as points_texts
from bot.texts import topics as texts
from bot.texts import translator
from handlers.base import command, reply
from handlers.points import announce, earn_by_staying
from storage.schedules import Deferred, Schedule


def _link(chat_id: int, message_id: int) -> str | None:
    """A link to a message of a supergroup (members open it in their app); basic groups have none."""
    text = str(chat_id)
    return f"https://t.me/c/{text[4:]}/{message_id}" if text.startswith("-100") else None


async def run_topic(context: BotContext, schedule: Schedule) -> str:
    """A schedule's topic: its own text (rotation) or the next from the group's list; the outbox's outcome."""
    s, chat_id = context.services, schedule.chat_id
    own = text_for(schedule).strip()
    if own:
        text = own
    else:
        topic = await s.topics.next_topic(chat_id)
        if topic is None:
            await s.outbox.log(chat_id, "topic", "suppressed", "the topic list is empty")
            return "suppressed"
        text = topic.text
    tz = (await s.groups.settings(chat_id)).timezone
    tr = translator((await s.groups.settings(chat_id)).language)
    opened = await s.topics.open(schedule, text)
    pushed = await s.outbox.post(chat_id, "topic", texts.post(tr, text, opened.closes_at, tz, opened.xp),
                                 pin=bool(schedule.options.get("pin")))
    if pushed.sent:
        await s.topics.posted(opened, pushed.message_id)
    else:
        await s.topics.not_posted(opened)
    return pushed.outcome


async def on_group_reply(update: Update, context: BotContext) -> None:
    """Every group message that replies to something: is it a reply to an open topic, or to one of its replies?"""
    message = update.message
    user = message.from_user
    if user is None or user.is_bot or message.sender_chat is not None:
        return
    s = context.services
    if s.inbox.holds(update.update_id):  # decided once, maybe before an earlier commit; written with the mark
        await earn_by_staying(update, context)
        await s.inbox.written(update.update_id)
        xp = s.topics.written_xp(update.update_id)
    else:
        xp = await s.topics.reply(message.chat_id, user.id, message.message_id, message.reply_to_message.message_id, message.date)
    if xp:  # the XP may take the member up a tier: announced like a tier reached by chatting
        reached = await s.points.xp_written(message.chat_id, user.id, xp)
        if reached is not None:
            await announce(context, message.chat_id, user.id, lambda _, who, tier=reached: points_texts.tier_up(_, who, tier))


async def close_topic(context: BotContext, work: Deferred) -> None:
    """Deferred `topic_close`: the window is over; the best replies are paid and named."""
    s = context.services
    closed = await s.topics.close(int(work.payload["post"]))
    if closed is None:
        return
    chat_id = closed.post.chat_id
    may_name = set(await s.outbox.mentionable([r.user_id for r in closed.best]))
    best = []
    for r in closed.best:
        user = await s.members.user(r.user_id) if r.user_id in may_name else None
        best.append((user.display if user else None, r.replies, _link(chat_id, r.message_id)))
    tr = translator((await s.groups.settings(chat_id)).language)
    await s.outbox.post(chat_id, "topic_result", texts.closed(tr, closed.post.text, closed.replied, best, closed.post.best_points))


# ------------------------------------------------------------------ the admin's list

@command("topics", role=Role.ADMIN)
async def cmd_topics(update: Update, context: BotContext) -> None:
    """/topics lists, /topics add TEXT adds (the admin's own formatting kept), /topics del N removes."""
    s, chat = context.services, update.effective_chat
    args = context.args or []
    verb = args[0].lower() if args else None
    if verb is None:
        await reply(update, context, texts.listing(context.tr, await s.topics.list(chat.id)))
    elif verb == "add":
        words = (update.effective_message.text_html or "").split(None, 2)  # /topics add TEXT…
        topic_id = await s.topics.add(chat.id, context.actor.user_id or None, words[2] if len(words) > 2 else "")
        await reply(update, context, texts.added(context.tr, topic_id, len(await s.topics.list(chat.id))))
    elif verb in ("del", "rm") and len(args) == 2:
        topic_id = parse_id(args[1])
        await s.topics.remove(chat.id, topic_id)
        await reply(update, context, texts.removed(context.tr, topic_id))
    else:
        raise UsageError()


COMMANDS = [cmd_topics]
