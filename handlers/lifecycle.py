"""The bot joining or leaving a group, members joining, leaving, promoted or demoted (chat_member updates, or where
Sticky is no admin and Telegram sends it none, the "joined" and "left" service messages)."""
from __future__ import annotations

import logging
from contextlib import nullcontext

from telegram import ChatMember, ChatMemberLeft, ChatMemberMember, ChatMemberUpdated, Update
from telegram.constants import ChatMemberStatus, ChatType

from bot.context import BotContext
from bot.telegram_port import user_info
from bot.texts import core as texts
from handlers.base import best_effort

log = logging.getLogger(__name__)

def _status(member) -> str:
    """A restricted user may or may not still be in the chat; say which."""
    if member.status == ChatMemberStatus.RESTRICTED:
        return "restricted" if member.is_member else "left"
    return member.status


def is_present(member) -> bool:
    return _status(member) in ("member", "administrator", "creator", "restricted")


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    change = update.my_chat_member
    chat = change.chat
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return
    s = context.services
    s.moderation.actions.forget(chat.id)  # our rights there changed: the actions port asks Telegram again
    was, now_in = is_present(change.old_chat_member), is_present(change.new_chat_member)
    is_admin = change.new_chat_member.status == ChatMemberStatus.ADMINISTRATOR
    try:
        if now_in and not was:
            await s.groups.bot_added(chat.id, chat.title or "", chat.type, change.from_user.id if change.from_user else None)
            await s.members.refresh_admins(chat.id)
            hello = texts.bot_added(context.tr, chat.title or "", is_admin)
            # From a task, as every group post of the door lane: added back during a flood, it waits for the window.
            context.application.create_task(best_effort(f"hello in {chat.id}", lambda: context.bot.send_message(chat.id, hello)),
                                            update=update, name=f"hello:{chat.id}")
            log.info("added to %s (%s) by %s", chat.id, chat.title, change.from_user.id if change.from_user else None)
        elif was and not now_in:
            await s.groups.bot_removed(chat.id)
            log.info("removed from %s", chat.id)
        elif now_in:
            # Our own rights changed: Telegram's admin list did too.
            await s.members.refresh_admins(chat.id)
    finally:
        # As this update says, even if the admin list could not be read: from the next update on, joins are heard
        # from chat_member updates (an admin) or from the service messages (not one) — each join from one of them.
        await s.members.own_status(chat.id, user_info(change.new_chat_member.user), _status(change.new_chat_member))


async def on_chat_member(update: Update, context: BotContext) -> None:
    await member_changed(update, context, update.chat_member)


async def told_by_message(update: Update, context: BotContext) -> list[ChatMemberUpdated]:
    """The joins and leaves a "joined" or "left" service message tells of, as the chat_member updates Telegram sends
    only to a group's admins would tell them — [] where Sticky is an admin: those updates come (with the invite link a
    join used), and taking the message too would welcome and count each join twice. A message does not say what
    someone was before joining or after leaving (restricted, banned): a join is from outside to member, a leave from
    member (an admin as we stored them) to gone; it names no invite link."""
    message = update.message
    if message is None or message.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return []
    joined = [u for u in message.new_chat_members or () if u.id != context.bot.id]
    left = message.left_chat_member if message.left_chat_member and message.left_chat_member.id != context.bot.id else None
    if not joined and left is None:
        return []
    s, chat = context.services, message.chat
    if await s.members.hears_joins(chat.id, context.bot.id):
        return []
    changes = []
    for user in joined:
        changes.append(ChatMemberUpdated(chat, message.from_user or user, message.date, ChatMemberLeft(user), ChatMemberMember(user)))
    if left is not None:
        stored = await s.members.member(chat.id, left.id)
        was = stored.status if stored is not None and stored.status in ("administrator", "creator") else "member"
        changes.append(ChatMemberUpdated(chat, message.from_user or left, message.date, ChatMember(left, was), ChatMemberLeft(left)))
    return changes


async def on_member_message(update: Update, context: BotContext) -> None:
    """"X joined" / "X left" where Sticky is no admin: recorded as the chat_member update it does not get would be."""
    for change in await told_by_message(update, context):
        await member_changed(update, context, change)


async def member_changed(update: Update, context: BotContext, change: ChatMemberUpdated) -> None:
    # A channel Sticky administers tells it of its subscribers too: they are nobody's members here.
    if change.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP) or change.new_chat_member.user.id == context.bot.id:
        return
    s, user = context.services, change.new_chat_member.user
    joins = not user.is_bot and not is_present(change.old_chat_member) and is_present(change.new_chat_member)
    # A person's join is handled until the funnel has decided their screening (handlers.funnel.on_chat_member): this
    # commit must not mark it handled, or a crash before that decision leaves them unchecked for good.
    with s.inbox.undecided() if joins else nullcontext():
        event = await s.members.status_changed(
            change.chat.id,
            user_info(user),
            _status(change.old_chat_member),
            _status(change.new_chat_member),
            change.from_user.id if change.from_user else None,
            invite_link=change.invite_link.invite_link if change.invite_link else None,
            update_id=update.update_id,
        )
    if event == "join" and not user.is_bot:
        s.spotlight.joined(change.chat.id, user.id, change.date)


async def on_migrate(update: Update, context: BotContext) -> None:
    """A basic group became a supergroup with a new id. Telegram tells both chats (the supergroup first);
    whichever comes first moves the group's data, the other finds nothing left to move."""
    message = update.effective_message
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    else:
        old, new = message.migrate_from_chat_id, message.chat.id
    s = context.services
    if await s.groups.migrated(old, new, message.chat.title or ""):
        log.info("group %s upgraded to supergroup %s", old, new)
    # Counted in memory under the old id and not written yet: it is written under the new one.
    s.activity.move_chat(old, new)
    s.points.move_chat(old, new)
    s.spotlight.move_chat(old, new)
    s.funnel.forget_pending()
