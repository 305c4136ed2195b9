"""TelegramPort on top of PTB's Bot: the only place services' questions become Bot API calls."""
from __future__ import annotations

from telegram import Bot, User
from telegram.error import BadRequest

from storage.members import UserInfo


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
