"""The rules engine in chat: every group message and edit judged by the group's rules, /rule list|show|add|on|off|
del|move|test, and Rose's shortcuts that edit rules and lists (/addblocklist, /rmblocklist, /blocklist)."""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from html import escape
from urllib.parse import urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.processor import in_the_door
from bot.services.actions import Action
from bot.domain.errors import UsageError, UserError
from bot.domain.roles import Role
from bot.domain.rules_io import MAX_IMPORT_BYTES, RulesImportError
from bot.domain.rules import LOCKS, Event, MemberFacts, blocklist_args, help_syntax, lock_types, parse_flood_limit, parse_flood_mode
from bot.services.rules import Verdict
from bot.texts import translator
from bot.telegram_port import user_info
from bot.texts import points as points_texts
from bot.texts import rules as texts
from handlers.base import (
    answer_query, attempt, command, delete_later, edit_query_message, message_link, person_id, reader_translator, render_error, reply,
    RightsGuard, spec_of,
)
from handlers.points import earn_by_staying
from handlers.router import parse_command

_EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\U0001F1E6-\U0001F1FF]")
# An animation also carries `document` (Telegram sets both for compatibility), so it is looked for first.
_MEDIA = ("photo", "video", "audio", "voice", "animation", "document", "sticker", "video_note")


def _host(url: str) -> str:
    try:
        return (urlsplit(url if "//" in url else "http://" + url).hostname or "").lower()
    except ValueError:
        return ""


def event_of(message: Message, kind: str, sticky_command: bool = False) -> Event:
    """Telegram's message as a rule sees it: text or caption, link hosts, mentions, forward, media."""
    text = message.text or message.caption or ""
    entities = message.parse_entities() if message.text else message.parse_caption_entities()
    links, mentions = [], 0
    for entity, value in entities.items():
        if entity.type == MessageEntity.URL:
            links.append(_host(value))
        elif entity.type == MessageEntity.TEXT_LINK:
            links.append(_host(entity.url or ""))
        elif entity.type in (MessageEntity.MENTION, MessageEntity.TEXT_MENTION):
            mentions += 1
    media = next((m for m in _MEDIA if getattr(message, m, None)), None)
    extras = frozenset(k for k, present in (
        ("poll", message.poll), ("contact", message.contact), ("location", message.location or message.venue),
        ("game", message.game), ("inline", message.via_bot)) if present)
    user = message.from_user
    # Written on behalf of a channel: the channel is the one judged (its own warns, flood window and cooldowns), not
    # the placeholder user Telegram puts in `from` for every channel alike. An anonymous admin writes as the group.
    channel = message.sender_chat is not None and message.sender_chat.id != message.chat.id
    offender = message.sender_chat.id if channel else (user.id if user else 0)
    return Event(
        kind, message.chat.id, offender, message.date, message.message_id, text, tuple(links), mentions,
        message.forward_origin is not None, media, len(_EMOJI.findall(text)),
        bool(user and user.is_bot) and not channel, channel,
        extras=extras, sticky_command=sticky_command,
    )


def who_channel(message: Message) -> str:
    return message.sender_chat.title or str(message.sender_chat.id)


def _is_command(message: Message) -> bool:
    entities = message.entities or ()
    return bool(entities) and entities[0].type == MessageEntity.BOT_COMMAND and entities[0].offset == 0


def _own_command(message: Message, context: BotContext) -> bool:
    """A command addressed to Sticky that it knows (/report, /checkin…): the command lock (`when command`) leaves it
    alone; its text is still judged as a message, and it counts toward flood like any message."""
    parsed = parse_command(message, context.bot.username)
    return parsed is not None and any(spec_of(c).name == parsed[0] for c in context.bot_data.commands)


def _names_own_command(text: str, context: BotContext) -> bool:
    """/rule test /checkin: the text tested is one of Sticky's own commands (/checkin or /checkin@thisbot)."""
    head = text.split(None, 1)[0] if text.strip() else ""
    if not head.startswith("/"):
        return False
    name, _, bot = head[1:].partition("@")
    if bot and bot.lower() != (context.bot.username or "").lower():
        return False
    return any(spec_of(c).name == name.lower() for c in context.bot_data.commands)


def _exempt(message: Message) -> bool:
    """Anonymous admins (writing as the group) and the linked channel's automatic forwards."""
    return message.sender_chat is not None and (message.sender_chat.id == message.chat.id or bool(message.is_automatic_forward))


async def on_group_message(update: Update, context: BotContext) -> None:
    """Every new or edited group message, before anything else looks at it: a message a rule deletes goes no further."""
    message = update.effective_message
    if message is None or (message.from_user and message.from_user.id == context.bot.id):
        return
    own = False
    if update.edited_message:
        kind = "edit"
    elif _is_command(message):
        own = _own_command(message, context)
        # Every command is a message to moderation (content, locks, flood and duplicates judge it) that earns no
        # rule reward (domain command_reward); any other than Sticky's own (for another bot, or one Sticky does not
        # know) also fires `command` rules (the command lock).
        kind = "message" if own else "command"
    else:
        kind = "message"
    event = event_of(message, kind, sticky_command=own)
    # Is this message in the member's count already? The middleware counts it, held until its handling ends when it
    # came through the inbox (as every update does but one a test hands the Application itself).
    user = message.from_user
    counted = (kind in ("message", "command") and user is not None and not user.is_bot and message.sender_chat is None
               and not context.services.inbox.holds(update.update_id))
    # Should a rule answer it, what it earns by staying is decided before the rule's commit, to be written in it; a
    # rule deleting it stores that instead, settled here by the delete's outcome.
    verdict = None
    try:
        verdict = await context.services.rules.judge(event, _exempt(message), counted,
                                                     lambda deleting: earn_by_staying(update, context, deleting))
    finally:
        if context.held_back:
            await context.services.inbox.settle(update.update_id, _stays(verdict))
    if verdict is None:  # no rule answers it: what it earns is decided now, before any later commit of its handling
        await earn_by_staying(update, context)  # (an @admin report, a check-in word), and rides with the first
        return
    if event.from_channel and not _exempt(message):  # moderated as itself: its name for the audit log
        await context.services.members.remember_channel(message.sender_chat.id, who_channel(message), message.sender_chat.username)
    if verdict.dry:
        return
    if event.from_channel:  # on behalf of a channel: named by its title, not as the placeholder user "Channel"
        who = who_channel(message)
    else:
        who = user_info(message.from_user).display if message.from_user else ""
    for text, seconds in verdict.replies:
        await reply(update, context, escape(text), then=(lambda sent, after=seconds.total_seconds(): delete_later(
            context, sent.chat.id, sent.message_id, after)) if seconds else None)
    # A refusal is explained once it is carried out: without the right to delete, the message stays and nothing is said.
    if verdict.explain is not None and (verdict.deleted or not any(f.effect.key == "delete" for f in verdict.decision.effects)):
        tier, needed = verdict.explain
        if event.forward:
            notice = texts.forward_refused(context.tr, who, points_texts.tier_name(context.tr, needed), points_texts.tier_name(context.tr, tier))
        else:
            notice = points_texts.link_refused(context.tr, who, tier, needed)
        await reply(update, context, notice, transient=True)
    for result in verdict.warns:
        await reply(update, context, texts.rule_warned(context.tr, who, result))
    if verdict.acted:
        tz = (await context.services.groups.settings(message.chat.id)).timezone
        for rule, outcome in verdict.acted:
            await reply(update, context, texts.rule_acted(context.tr, who, rule, outcome, tz))
    if verdict.deleted:
        raise ApplicationHandlerStop()  # a deleted message earns nothing and counts toward nothing


async def job_settle_stays(context: BotContext) -> None:
    """What a message a rule meant to delete would earn by staying, left unsettled by a kill between the rule's
    commit and the delete's outcome, or by a delete Telegram gave no sure answer to: the message is deleted again, as
    its rule meant, and Telegram's answer settles it (first run at once after a start)."""
    s = context.services

    async def delete(chat_id: int, message_id: int) -> bool | None:
        [outcome] = await s.moderation.actions.run([Action("delete", chat_id, message_ids=(message_id,))])
        return None if outcome.result == "failed" else outcome.ok

    await s.inbox.settle_leftovers(delete)


def _stays(verdict: Verdict | None) -> bool | None:
    """Whether a message a rule meant to delete stayed, as Telegram answered the delete: gone (deleted, or already),
    refused (no right, too old: it stays), or no sure answer (None: a timeout may have deleted it; asked again)."""
    if verdict is None or verdict.delete_result in (None, "failed"):
        return None
    return not verdict.deleted


def announcer(services, spawn: Callable[..., object] | None = None) -> Callable[[Event, Verdict, str], Awaitable[None]]:
    """What a verdict says outside a reply to a message, after its commit: the rule's replies and warns for events
    that are not messages (a check-in, a join, a tier reached…) as group posts through the outbox, and the notice
    to the group's admins (private, to those who started Sticky and did not opt out). In the chat's door lane (a
    join's rules) it says it from a task (`spawn`: the application's create_task): a `when join then reply` rule's
    post may wait for the group's flood window, and the join's screening, and the joins behind it, must not."""

    async def announce(event: Event, verdict: Verdict, what: str) -> None:
        if spawn is not None and in_the_door():
            spawn(say(event, verdict, what), name=f"rule-{what}:{event.chat_id}:{event.user_id}")
            return
        await say(event, verdict, what)

    async def say(event: Event, verdict: Verdict, what: str) -> None:
        s = services
        settings = await s.groups.settings(event.chat_id)
        tr = translator(settings.language)
        user = await s.members.user(event.user_id)
        who = user.display if user else str(event.user_id)
        if what == "replies":
            for text, seconds in verdict.replies:
                pushed = await s.outbox.post(event.chat_id, "rule", escape(text))
                if seconds and pushed.sent:
                    await s.schedules.defer(event.chat_id, "delete", {"message_id": pushed.message_id}, seconds.total_seconds())
            for result in verdict.warns:
                await s.outbox.post(event.chat_id, "rule", texts.rule_warned(tr, who, result), names=[event.user_id])
            for rule, outcome in verdict.acted:
                await s.outbox.post(event.chat_id, "rule", texts.rule_acted(tr, who, rule, outcome, settings.timezone), names=[event.user_id])
            return
        group = await s.groups.group(event.chat_id)
        for admin in await s.members.present(event.chat_id):
            if admin.tg_role is not None and not admin.user.is_bot:  # in their own language, else the group's
                notice = texts.rule_notice(await reader_translator(s, admin.user.user_id, settings.language),
                                           group.title if group else str(event.chat_id), who, verdict.rules, event.kind,
                                           message_link(event.chat_id, event.message_id), verdict)
                await s.outbox.private(admin.user.user_id, notice, chat_id=event.chat_id, kind="rule_notify")

    return announce


def _sub(context: BotContext) -> tuple[str, list[str]]:
    args = context.args or []
    if not args:
        raise UsageError()
    return args[0].lower(), args[1:]


def _rest(update: Update, words: int) -> str:
    """The text after the first `words` words, as typed (quotes and spaces kept)."""
    parts = (update.effective_message.text or "").split(None, words)
    return parts[words] if len(parts) > words else ""


@command("rule", role=Role.ADMIN)
async def cmd_rule(update: Update, context: BotContext) -> None:
    sub, args = _sub(context)
    s, chat = context.services.rules, update.effective_chat.id
    tr = context.tr
    if sub == "help" and not args:
        await reply(update, context, texts.rule_help(tr, help_syntax()))
    elif sub == "list":
        mode = (await context.services.groups.settings(chat)).rules_mode
        ladder = texts.warn_ladder(tr, *await context.services.moderation.escalation(chat))
        await reply(update, context, texts.rule_list(tr, await s.rows(chat), mode) + "\n\n" + ladder)
    elif sub == "show" and len(args) == 1:
        n, row = await s.show(chat, args[0])
        await reply(update, context, texts.rule_show(tr, n, row))
    elif sub == "add" and args:
        guard = RightsGuard(update, context)
        row = await s.add(chat, _rest(update, 2), guard=guard)
        await reply(update, context, texts.rule_added(tr, len(await s.rows(chat)), row.name) + await guard.said())
    elif sub in ("on", "off") and len(args) == 1:
        guard = RightsGuard(update, context)
        row = await s.set_enabled(chat, args[0], sub == "on", guard=guard)
        await reply(update, context, texts.rule_switched(tr, row.name, sub == "on") + await guard.said())
    elif sub in ("del", "delete") and len(args) == 1:
        row = await s.delete(chat, args[0])
        await reply(update, context, texts.rule_deleted(tr, row.name))
    elif sub == "move" and len(args) == 2 and args[1].isascii() and args[1].isdigit():
        row = await s.move(chat, args[0], int(args[1]))
        await reply(update, context, texts.rule_moved(tr, row.name, int(args[1])))
    elif sub == "test" and args:
        message = update.effective_message
        text = _rest(update, 2)
        # Links and mentions as Telegram marked them in this very message (the text tested is the rest of it, and
        # "/rule test" carries neither): what the same text, sent, would show the rules — an e-mail is no mention.
        seen = event_of(message, "message")
        # As a reply to a member's message: as that member (their tier, role, days, and their real recent messages
        # for flood and duplicates); otherwise a typical member who has written nothing yet (the group's messages
        # still count for groupflood).
        replied = message.reply_to_message
        if replied is not None and replied.forum_topic_created:
            replied = None  # a topic's root names nobody
        # A channel's post: as that channel, the one judged when it posts (`from channel`, its own flood window,
        # warns and cooldowns; the linked channel's automatic forwards exempt) — not the placeholder user in `from`.
        channel = replied is not None and replied.sender_chat is not None and replied.sender_chat.id != chat
        target = replied.from_user if replied is not None and replied.sender_chat is None else None
        if target is not None and target.is_bot:
            target = None  # Sticky or another bot (whose messages rules never see): a typical member
        user_id = replied.sender_chat.id if channel else target.id if target is not None else 0
        own = _names_own_command(text, context)
        # The text tested as it would come: one of Sticky's own commands is a message, another command a `command`.
        kind = "command" if not own and re.match(r"/\w", text.strip()) else "message"
        event = Event(kind, chat, user_id, message.date, None, text, seen.links, seen.mentions,
                      emoji=len(_EMOJI.findall(text)), from_channel=channel, sticky_command=own)
        if channel:
            facts = await s.facts(chat, user_id, _exempt(replied), message.date)
        else:
            facts = MemberFacts() if target is None else await s.facts(chat, user_id, False, message.date)
        who = who_channel(replied) if channel else target.first_name if target is not None else None
        mode = (await context.services.groups.settings(chat)).rules_mode
        decision, counted = await s.test(chat, event, facts)
        await reply(update, context, texts.rule_trace(tr, decision, mode, counted, who))
    else:
        raise UsageError()


@command("addblocklist", role=Role.ADMIN)
async def cmd_addblocklist(update: Update, context: BotContext) -> None:
    if not _rest(update, 1).strip():
        raise UsageError()
    items, why, action = blocklist_args(_rest(update, 1))
    guard = RightsGuard(update, context)
    added = await context.services.rules.blocklist_add(update.effective_chat.id, items, why, action, guard=guard)
    await reply(update, context, texts.list_changed(context.tr, added, 0, "blocklist", why, action.tag if action else None)
                + await guard.said())


@command("rmblocklist", role=Role.ADMIN)
async def cmd_rmblocklist(update: Update, context: BotContext) -> None:
    if not _rest(update, 1).strip():
        raise UsageError()
    items, _none, _action = blocklist_args(_rest(update, 1), reason_allowed=False)
    removed = await context.services.rules.blocklist_remove(update.effective_chat.id, items)
    await reply(update, context, texts.list_changed(context.tr, 0, removed, "blocklist") if removed else texts.list_items(context.tr, "blocklist", []))


@command("blocklist")
async def cmd_blocklist(update: Update, context: BotContext) -> None:
    items = await context.services.rules.blocklist(update.effective_chat.id)
    await reply(update, context, texts.list_items(context.tr, "blocklist", items))


@command("setflood", role=Role.ADMIN)
async def cmd_setflood(update: Update, context: BotContext) -> None:
    """Rose's /setflood N [in S] | off: edits the default rule antiflood (bare: what it is now)."""
    s, chat, args = context.services.rules, update.effective_chat.id, context.args or []
    if not args:
        await reply(update, context, texts.flood_state(context.tr, await s.flood(chat)))
        return
    limit = parse_flood_limit(args)
    guard = RightsGuard(update, context)
    state = await s.set_flood(chat, limit, off=limit is None, guard=guard)
    await reply(update, context, texts.flood_state(context.tr, state) + await guard.said())


@command("setfloodmode", role=Role.ADMIN)
async def cmd_setfloodmode(update: Update, context: BotContext) -> None:
    effects = parse_flood_mode(context.args or [])
    guard = RightsGuard(update, context)
    state = await context.services.rules.set_flood(update.effective_chat.id, effects=effects, guard=guard)
    await reply(update, context, texts.flood_state(context.tr, state) + await guard.said())


@command("lock", role=Role.ADMIN)
async def cmd_lock(update: Update, context: BotContext) -> None:
    types = lock_types(context.args or [])
    guard = RightsGuard(update, context)
    new = await context.services.rules.lock(update.effective_chat.id, types, guard=guard)
    await reply(update, context, texts.locked(context.tr, new, types) + await guard.said())


@command("unlock", role=Role.ADMIN)
async def cmd_unlock(update: Update, context: BotContext) -> None:
    types = lock_types(context.args or [])
    gone = await context.services.rules.unlock(update.effective_chat.id, types)
    await reply(update, context, texts.unlocked(context.tr, gone, types))


@command("locks")
async def cmd_locks(update: Update, context: BotContext) -> None:
    await reply(update, context, texts.locks(context.tr, await context.services.rules.locks(update.effective_chat.id), LOCKS))


IMPORT_PATTERN = r"^rimp:(ok|no):[0-9a-f]{8}$"


@command("rules_export", role=Role.OWNER)
async def cmd_rules_export(update: Update, context: BotContext) -> None:
    """The group's rules and lists (the blocklist's words too) as a YAML file, sent to the owner in private: posted
    in the group, every member could read what the blocklist looks for."""
    chat, owner = update.effective_chat, person_id(context)
    if not await context.services.members.has_started(owner):
        markup = None
        if context.bot.username:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(texts.open_private(context.tr), url=f"https://t.me/{context.bot.username}?start=rules")]])
        await reply(update, context, texts.export_needs_private(context.tr), markup=markup)
        return
    text, n, lists = await context.services.rules.export(chat.id, chat.title or "")
    sent = await attempt(f"rules export of {chat.id} to {owner}", lambda: context.bot.send_document(
        owner, text.encode(), filename=f"sticky-rules-{abs(chat.id)}.yaml", caption=texts.exported(context.tr, chat.title or "", n, lists)))
    if sent.done:
        await reply(update, context, texts.export_sent(context.tr))
    elif sent.refused:  # blocked Sticky since: nothing was sent anywhere
        await reply(update, context, texts.export_needs_private(context.tr))
    else:  # the file could not go out: the text, in private, so nothing the owner asked for is lost
        await attempt(f"rules export text to {owner}", lambda: context.bot.send_message(
            owner, f"<pre>{escape(text[:3900])}</pre>", parse_mode="HTML"))
        await reply(update, context, texts.export_sent(context.tr))


async def _import_source(update: Update, context: BotContext) -> bytes | str:
    """The export to import: the text after the command, or the replied message's file or text."""
    typed = _rest(update, 1)
    if typed.strip():
        return typed
    replied = update.effective_message.reply_to_message
    if replied is None or replied.forum_topic_created:
        raise RulesImportError(reason="none")
    if replied.document is not None:
        if (replied.document.file_size or 0) > MAX_IMPORT_BYTES:
            raise RulesImportError(reason="size", n=MAX_IMPORT_BYTES)
        async def fetch() -> bytes:
            file = await context.bot.get_file(replied.document.file_id)
            return bytes(await file.download_as_bytearray())
        got = await attempt(f"rules import file in {update.effective_chat.id}", fetch)
        if not got.done:
            raise RulesImportError(reason="download")
        return got.result
    if replied.text or replied.caption:
        return replied.text or replied.caption
    raise RulesImportError(reason="none")


@command("rules_import", role=Role.OWNER)
async def cmd_rules_import(update: Update, context: BotContext) -> None:
    """A dry run of an export (validated whole, with the rules' own parser) and buttons to apply it all at once."""
    chat = update.effective_chat.id
    token, diff = await context.services.rules.preview_import(chat, await _import_source(update, context), context.actor.user_id)
    markup = None
    if not diff.empty:
        apply, cancel = texts.import_buttons(context.tr)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(apply, callback_data=f"rimp:ok:{token}"),
                                        InlineKeyboardButton(cancel, callback_data=f"rimp:no:{token}")]])
    await reply(update, context, texts.import_preview(context.tr, diff), markup=markup, remote_buttons=True)


async def on_import_button(update: Update, context: BotContext) -> None:
    """Apply or Cancel under an import's dry run: in the group, or in private chat on the connected group (the
    owner's role there asked of Telegram now, as for the command typed there)."""
    query = update.callback_query
    chat = query.message.chat.id
    if query.message.chat.type == ChatType.PRIVATE:
        try:
            remote = await context.services.connections.admin(query.from_user.id, "rules_import", Role.OWNER)
        except UserError as err:  # not connected (any more), or no longer the owner there
            await answer_query(query, await render_error(update, context, err, "rules_import"), show_alert=True)
            return
        context.actor, chat = remote.actor, remote.group.chat_id
    if context.actor.role < Role.OWNER:
        await answer_query(query, texts.owner_only_button(context.tr), show_alert=True)
        return
    _tag, what, token = query.data.split(":")
    s = context.services.rules
    if what == "no":
        await s.cancel_import(chat, token)
        await answer_query(query)
        await edit_query_message(query, texts.import_cancelled(context.tr))
        return
    try:
        diff = await s.apply_import(chat, token)
    except RulesImportError as err:
        await answer_query(query, await render_error(update, context, err), show_alert=True)
        await edit_query_message(query, await render_error(update, context, err))
        return
    await answer_query(query)
    guard = RightsGuard(update, context, chat)  # the owner's: what Sticky lacks for the rules now in force is noted
    await guard(await s.effects_in_force(chat))
    await edit_query_message(query, texts.import_done(context.tr, diff) + await guard.said())


COMMANDS = [cmd_rule, cmd_addblocklist, cmd_rmblocklist, cmd_blocklist, cmd_setflood, cmd_setfloodmode, cmd_lock,
            cmd_unlock, cmd_locks, cmd_rules_export, cmd_rules_import]
