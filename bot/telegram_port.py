"""TelegramPort on top of PTB's Bot: the only place services' questions become Bot API calls."""
from __future__ import annotations

import logging
from datetime import datetime

from telegram import Bot, ChatPermissions, InlineKeyboardButton, InlineKeyboardMarkup, InputPollOption, Poll, User
from telegram.error import BadRequest, RetryAfter, TelegramError

from bot.domain.nightmode import PERMISSIONS as NIGHT_PERMISSIONS
from bot.processor import DroppedAtStop, pause, slot_released
from bot.ports import SendError
from storage.members import UserInfo

log = logging.getLogger(__name__)

# The admin rights Sticky uses (moderation, screening, the link gate, invite links, pinned posts).
BOT_RIGHTS = ("can_delete_messages", "can_restrict_members", "can_invite_users", "can_pin_messages")


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
                   pin: bool = False, choices: list[list[list[str]]] | None = None, topic: int | None = None) -> int:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, url=url)] for label, url in buttons]) if buttons else None
        if choices:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in choices])
        if photo is not None:
            done = await self.attempt(f"photo post in {chat_id}", lambda: self.bot.send_photo(
                chat_id, photo, caption=text or None, reply_markup=markup, message_thread_id=topic))
        else:
            done = await self.attempt(f"post in {chat_id}", lambda: self.bot.send_message(
                chat_id, text, reply_markup=markup, message_thread_id=topic))
        if not done.done:
            raise SendError(str(done.error), unsure=done.unsure)
        message_id = done.result.message_id
        if pin:
            await self._pin(chat_id, message_id)
        return message_id

    async def _pin(self, chat_id: int, message_id: int) -> None:
        """Pin a post or poll just sent, silently; an unpinned post is still the post (best effort)."""
        await self.attempt(f"pin {chat_id}/{message_id}",
                           lambda: self.bot.pin_chat_message(chat_id, message_id, disable_notification=True))

    async def delete(self, chat_id: int, message_id: int) -> bool:
        try:
            return await self.bot.delete_message(chat_id, message_id)
        except TelegramError as exc:
            log.info("could not delete %s/%s: %s", chat_id, message_id, exc)
            return False

    async def send_poll(self, chat_id: int, question: str, options: list[str], *, correct: int | None = None,
                        multiple: bool = False, pin: bool = False) -> tuple[int, str]:
        # Not anonymous: only then does Telegram tell the bot who answered what (poll_answer).
        kind = {"type": Poll.QUIZ, "correct_option_ids": [correct]} if correct is not None else {"allows_multiple_answers": multiple}
        done = await self.attempt(f"poll in {chat_id}", lambda: self.bot.send_poll(
            chat_id, question, [InputPollOption(o) for o in options], is_anonymous=False, **kind))
        if not done.done:
            raise SendError(str(done.error), unsure=done.unsure)
        message_id = done.result.message_id
        if pin:
            await self._pin(chat_id, message_id)
        return message_id, done.result.poll.id

    async def stop_poll(self, chat_id: int, message_id: int) -> int | None:
        done = await self.attempt(f"stop poll {chat_id}/{message_id}", lambda: self.bot.stop_poll(chat_id, message_id))
        return done.result.total_voter_count if done.done else None

# What a moderation call came to, in words services understand (no Telegram exception leaves this module):
# done; gone (already deleted / not there: the goal holds); no_right (Telegram refused our rights); protected (the
# member is an admin or the owner, whom Telegram lets no bot restrict: our rights are fine); not_member (403: the bot
# was removed from the group or is no longer in it); failed.
_GONE = ("chat_not_modified", "message to delete not found", "message_id_invalid", "user not found", "participant_id_invalid",
         "user_not_participant", "member not found", "user is not a member")
_NOT_MEMBER = ("bot was kicked", "bot is not a member")
_PROTECTED = ("user is an administrator", "can't remove chat owner", "can't restrict self")
_NO_RIGHT = ("not enough rights", "need administrator rights", "chat_admin_required", "message can't be deleted",
             "have no rights")


MAX_FLOOD_WAIT = 10  # seconds; a longer wait fails the action (logged) rather than hold the chat's queue


def _outcome(exc: Exception) -> str:
    text = str(exc).lower()
    if any(s in text for s in _GONE):
        return "gone"
    if any(s in text for s in _NOT_MEMBER):
        return "not_member"
    if any(s in text for s in _PROTECTED):
        return "protected"
    if any(s in text for s in _NO_RIGHT):
        return "no_right"
    return "failed"


class ModerationPort:
    """The Bot API calls behind the actions port: mute, ban, unban, delete, and the bot's own rights."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def bot_rights(self, chat_id: int) -> dict[str, bool]:
        """The bot's rights in the chat ('owner' bots have them all; none unless it is an admin there)."""
        return await self.member_rights(chat_id, self.bot.id)

    async def member_rights(self, chat_id: int, user_id: int) -> dict[str, bool]:
        """Someone's admin rights in the chat, as Telegram has them now: the owner has them all, someone who is no
        admin (any more) none."""
        member = await self.bot.get_chat_member(chat_id, user_id)
        if member.status == "creator":
            return dict.fromkeys(BOT_RIGHTS, True)
        if member.status != "administrator":
            return dict.fromkeys(BOT_RIGHTS, False)
        return {right: bool(getattr(member, right, False)) for right in BOT_RIGHTS}

    async def _call(self, call) -> str:
        """One moderation call; a short flood wait (Telegram's 429) is waited out once and the call made again."""
        for tries in range(2):
            try:
                await call()
            except RetryAfter as exc:
                wait = exc._retry_after.total_seconds() if hasattr(exc._retry_after, "total_seconds") else float(exc._retry_after)  # noqa: SLF001
                if tries or wait > MAX_FLOOD_WAIT:
                    return "failed"
                try:
                    async with slot_released():  # waiting is not working: another chat may use the place meanwhile
                        await pause(wait)  # a stop ends the wait: not made again
                except DroppedAtStop:
                    return "failed"
            except TelegramError as exc:
                return _outcome(exc)
            else:
                return "done"
        return "failed"

    async def mute(self, chat_id: int, user_id: int, until: datetime | None) -> str:
        perms = ChatPermissions.no_permissions()
        return await self._call(lambda: self.bot.restrict_chat_member(
            chat_id, user_id, perms, until_date=until, use_independent_chat_permissions=True,
        ))

    async def unmute(self, chat_id: int, user_id: int) -> str:
        return await self._call(lambda: self.bot.restrict_chat_member(
            chat_id, user_id, ChatPermissions.all_permissions(), use_independent_chat_permissions=True,
        ))

    async def chat_permissions(self, chat_id: int) -> dict[str, bool] | None:
        """The group's default permissions, every one named (an absent one is False, as Telegram means it)."""
        try:
            chat = await self.bot.get_chat(chat_id)
        except TelegramError as exc:
            log.info("could not read the permissions of %s: %s", chat_id, exc)
            return None
        perms = chat.permissions or ChatPermissions.no_permissions()
        return {name: bool(getattr(perms, name, False)) for name in NIGHT_PERMISSIONS}

    async def set_chat_permissions(self, chat_id: int, permissions: dict[str, bool]) -> str:
        """Independent permissions: exactly these, none implied by another (a restore is exact)."""
        return await self._call(lambda: self.bot.set_chat_permissions(
            chat_id, ChatPermissions(**permissions), use_independent_chat_permissions=True))

    async def ban(self, chat_id: int, user_id: int, until: datetime | None) -> str:
        return await self._call(lambda: self.bot.ban_chat_member(chat_id, user_id, until_date=until))

    async def unban(self, chat_id: int, user_id: int) -> str:
        return await self._call(lambda: self.bot.unban_chat_member(chat_id, user_id, only_if_banned=True))

    async def ban_sender_chat(self, chat_id: int, sender_chat_id: int) -> str:
        """A channel members write on behalf of: nobody writes as it here until unbanned (Telegram has no until_date
        for it: always for good)."""
        return await self._call(lambda: self.bot.ban_chat_sender_chat(chat_id, sender_chat_id))

    async def unban_sender_chat(self, chat_id: int, sender_chat_id: int) -> str:
        return await self._call(lambda: self.bot.unban_chat_sender_chat(chat_id, sender_chat_id))

    async def status(self, chat_id: int, user_id: int) -> str | None:
        """The member's status as Telegram has it now (restricted = muted, kicked = banned); None when unknown."""
        try:
            return (await self.bot.get_chat_member(chat_id, user_id)).status
        except TelegramError as exc:
            log.info("could not read the status of %s in %s: %s", user_id, chat_id, exc)
            return None

    async def delete(self, chat_id: int, message_ids: list[int]) -> str:
        if len(message_ids) == 1:
            return await self._call(lambda: self.bot.delete_message(chat_id, message_ids[0]))
        outcome = "done"
        for start in range(0, len(message_ids), 100):  # Telegram takes at most 100 at once; missing ones are skipped
            got = await self._call(lambda: self.bot.delete_messages(chat_id, message_ids[start:start + 100]))
            outcome = got if got != "done" else outcome
        return outcome
