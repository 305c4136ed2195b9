"""TelegramPort on top of PTB's Bot: the only place services' questions become Bot API calls."""
from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, User
from telegram.error import BadRequest, TelegramError

from bot.ports import SendError
from storage.members import UserInfo

log = logging.getLogger(__name__)


def user_info(user: User) -> UserInfo:
    return UserInfo(user.id, user.first_name, user.username, user.last_name, user.is_bot, user.language_code)


class BotPort:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def administrators(self, chat_id: int) -> list[tuple[UserInfo, str]]:
        admins = await self.bot.get_chat_administrators(chat_id)
        return [(user_info(a.user), "owner" if a.status == "creator" else "admin") for a in admins]

    async def member(self, chat_id: int, user_id: int) -> tuple[UserInfo, str] | None:
        try:
            member = await self.bot.get_chat_member(chat_id, user_id)
        except BadRequest:
            return None
        return user_info(member.user), member.status


class BotOutbox:
    """OutboxPort on PTB's Bot: what the outbox sends, as Bot API calls made through `attempt` (handlers.base: flood
    waits waited out, a timeout never repeated); what Telegram refused becomes SendError."""

    def __init__(self, bot: Bot, attempt) -> None:
        self.bot = bot
        self.attempt = attempt

    async def send(self, chat_id: int, text: str, *, photo: str | None = None, buttons: list[list[str]] | None = None,
                   pin: bool = False) -> int:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, url=url)] for label, url in buttons]) if buttons else None
        if photo is not None:
            done = await self.attempt(f"photo post in {chat_id}", lambda: self.bot.send_photo(chat_id, photo, caption=text or None, reply_markup=markup))
        else:
            done = await self.attempt(f"post in {chat_id}", lambda: self.bot.send_message(chat_id, text, reply_markup=markup))
        if not done.done:
            raise SendError(str(done.error))
        message_id = done.result.message_id
        if pin:  # an unpinned post is still the post
            await self.attempt(f"pin {chat_id}/{message_id}",
                               lambda: self.bot.pin_chat_message(chat_id, message_id, disable_notification=True))
        return message_id

    async def delete(self, chat_id: int, message_id: int) -> bool:
        try:
            return await self.bot.delete_message(chat_id, message_id)
        except TelegramError as exc:
            log.info("could not delete %s/%s: %s", chat_id, message_id, exc)
            return False
