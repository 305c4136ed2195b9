"""Runs first for every update: lets each update through once (the inbox), records who spoke, counts activity, resolves the actor and language once."""
from __future__ import annotations

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.domain.roles import Role
from bot.telegram_port import user_info
from bot.texts import Translator, translator
from storage.members import UserInfo
from handlers.base import CommandSpec, private_translator
from handlers.router import SERVICE_MESSAGE, admin_call
from handlers.funnel import unscreened_message
from handlers.stats import spotlight_newcomer


def command_name(update: Update) -> str | None:
    message = update.message
    if message is not None and message.text and message.text[:1] == "@" and admin_call(message) is not None:
        return "report"  # Rose's @admin in reply
    if message is None or not message.entities:
        return None
    first = message.entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return None
    return message.text[1 : first.length].split("@", 1)[0].lower()


async def translator_for(update: Update, context: BotContext) -> Translator:
    """The language to answer this update in, as the middleware picks it: the group's setting in a group, the
    person's private one elsewhere (handlers.base.private_translator). For the error handler, whose context the
    middleware never saw."""
    s = context.services
    chat, user = update.effective_chat, update.effective_user
    if chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        return translator((await s.groups.settings(chat.id)).language)
    return await private_translator(s, user)


def topic_name(message: Message) -> tuple[str | None, bool]:
    """A forum topic's name, when this message in it shows one, and whether it is the topic's own now: its creation
    or renaming (True), or the creation message that a message in the topic replies to (as every one does that
    replies to nothing else) — which keeps the name the topic was made with (False: a rename since is newer)."""
    for made in (message.forum_topic_created, message.forum_topic_edited):
        if made is not None and made.name:
            return made.name, True
    root = message.reply_to_message
    if root is not None and root.forum_topic_created is not None and root.message_id == message.message_thread_id:
        return root.forum_topic_created.name, False
    return None, False


class Middleware:
    def __init__(self, specs: dict[str, CommandSpec]) -> None:
        self.specs = specs

    async def __call__(self, update: Update, context: BotContext) -> None:
        # Telegram can deliver an update twice (retries, restarts): the inbox lets it through once, ever.
        inbox = context.services.inbox
        if not await inbox.claim(update.update_id):
            inbox.handling(None)
            raise ApplicationHandlerStop()
        try:
            await self._prepare(update, context)
        finally:
            # What the steps above wrote is harmless to write again; from here a commit marks the update handled.
            inbox.handling(update.update_id)

    async def _prepare(self, update: Update, context: BotContext) -> None:
        s = context.services
        chat, user, message = update.effective_chat, update.effective_user, update.effective_message
        default_lang = s.config.defaults.language
        if message is not None:
            s.moderation.actions.observe(message.date)  # Telegram's own time: until_dates are counted from it
        if chat is None:
            context.tr = await private_translator(s, user)
            return
        if message is not None and (message.migrate_to_chat_id or message.migrate_from_chat_id):
            # A group upgraded to a supergroup: on_migrate moves it; recording it under either id first must not.
            context.tr = translator(default_lang)
            return
        if chat.type == ChatType.CHANNEL:  # a channel post: nobody to resolve (only /setlog is answered there)
            context.tr = translator(default_lang)
            return
        name = command_name(update)
        if chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
            await s.groups.ensure(chat.id, chat.title or "", chat.type)
            settings = await s.groups.settings(chat.id)
            context.tr = translator(settings.language)
            if message is not None and message.is_topic_message and message.message_thread_id and chat.is_forum:
                await s.groups.topic_seen(chat.id, message.message_thread_id, *topic_name(message))
            # "X left" comes as a message from X: it must not mark them present again. Service messages
            # ("X joined", "X left", pins…) are not someone taking part, so they are not activity either.
            sender = message.sender_chat if update.message else None
            if sender is not None and sender.type == ChatType.CHANNEL and sender.id != chat.id:
                # On behalf of a channel: its title and @username remembered, so /warn -100… and /ban @channel name
                # it before it was ever moderated (no write once a received batch or an earlier post wrote them).
                await s.members.channel_seen(chat.id, UserInfo(sender.id, sender.title or str(sender.id), sender.username))
            if update.message and user and not user.is_bot and message.sender_chat is None and message.left_chat_member is None:
                await s.members.seen(chat.id, user_info(user), message.date)
                if not SERVICE_MESSAGE.check_update(update):
                    if await unscreened_message(update, context):  # deleted: nothing else sees it, nothing counts it
                        raise ApplicationHandlerStop()
                    # Written in the very commit that marks this update handled (the buffer rides with the inbox's
                    # marks): a crash loses no count of a handled message, and a message handled again counts once.
                    # An owner's or admin's message counts for them (admins are shown apart), not in the heat-map.
                    s.activity.count(chat.id, user.id, message.date, settings.timezone, replied=replies_to_other(message),
                                     update_id=update.update_id, hourly=not await s.members.is_admin(chat.id, user.id))
                    if s.spotlight.message(chat.id, user.id, message.date, settings.spotlight_messages):
                        await spotlight_newcomer(context, chat.id, user.id)
        else:
            context.tr = await private_translator(s, user)
            if update.message and user and chat.type == ChatType.PRIVATE:
                await s.members.started(user_info(user))
        if name is not None or update.callback_query is not None:
            spec = self.specs.get(name or "")
            privileged = spec is not None and spec.role >= Role.ADMIN
            context.actor = await s.members.actor(
                chat.id, chat.type, user_info(user) if user else None,
                message.sender_chat.id if message and message.sender_chat else None, privileged,
            )


def replies_to_other(message) -> bool:
    """A reply to another person (not to oneself, not to a bot): what the loyalty model counts as caring for others."""
    to = message.reply_to_message
    who = to.from_user if to is not None else None
    return who is not None and not who.is_bot and who.id != message.from_user.id
