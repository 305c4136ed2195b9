"""The bot joining or leaving a group, members joining, leaving, promoted or demoted (chat_member updates)."""
from __future__ import annotations

import logging
from contextlib import nullcontext

from telegram import Update
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
    if now_in and not was:
        await s.groups.bot_added(chat.id, chat.title or "", chat.type, change.from_user.id if change.from_user else None)
        await s.members.refresh_admins(chat.id)
        hello = texts.bot_added(context.tr, chat.title or "", is_admin)
        await best_effort(f"hello in {chat.id}", lambda: context.bot.send_message(chat.id, hello))
        log.info("added to %s (%s) by %s", chat.id, chat.title, change.from_user.id if change.from_user else None)
    elif was and not now_in:
        await s.groups.bot_removed(chat.id)
        log.info("removed from %s", chat.id)
    elif now_in:
        # Our own rights changed: Telegram's admin list did too.
        await s.members.refresh_admins(chat.id)


async def on_chat_member(update: Update, context: BotContext) -> None:
    change = update.chat_member
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
