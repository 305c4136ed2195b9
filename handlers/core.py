"""Commands of the foundation: /start, /help, /me, /roles, /setrole, /unsetrole, /settings, /set, /lang, /language."""
from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot.context import BotContext
from bot.domain.errors import RoleChangeError, UsageError
from bot.domain.roles import ASSIGNABLE, Role
from bot.domain.settings import admin_kinds, parse_switch
from bot.services.rules import LINK_GATE
from bot.texts import LANGUAGES, connections as connection_texts, core as texts, translator
from bot.texts import rules as rules_texts
from handlers.router import parse_command
from handlers.base import (
    answer_query, command, edit_query_message, render_error, reply, resolve_target, RightsGuard, spec_of, split_target,
)


LINK_GATE_SETTING = "link_gate"


def _role_arg(text: str | None) -> Role:
    try:
        role = Role.parse(text or "")
    except KeyError:
        raise UsageError() from None
    if role not in ASSIGNABLE:  # a real role, but not one an admin gives: say why, not just the usage
        raise RoleChangeError(reason="not_assignable", role=role)
    return role


@command("start", where="any")
async def cmd_start(update: Update, context: BotContext) -> None:
    if update.effective_chat.type == ChatType.PRIVATE:
        in_a_group = update.effective_user is not None and await context.services.connections.in_any(update.effective_user.id)
        await reply(update, context, texts.start_private(context.tr, in_a_group))
    else:
        await cmd_help(update, context)


@command("help", where="any")
async def cmd_help(update: Update, context: BotContext) -> None:
    in_group = update.effective_chat.type != ChatType.PRIVATE
    role = context.actor.role
    specs = {s.name: s for s in (spec_of(c) for c in context.bot_data.commands)}
    args = context.args or []
    if update.effective_message.text and update.effective_message.text.split()[0].lower().startswith("/help") and args:
        if len(args) > 1:
            raise UsageError()
        name = args[0].lstrip("/").split("@")[0].lower()
        spec = specs.get(name)
        if spec is None:
            await reply(update, context, texts.unknown_command(context.tr, name), transient=True)
            return
        remote = None if not spec.remote else "personal" if spec.personal else "connected" if spec.role >= Role.ADMIN else None
        await reply(update, context, texts.command_help(context.tr, spec.name, spec.role, spec.where, remote, spec.admin_tool,
                                                        reader=role))
        return
    connected = None if in_group or update.effective_user is None else await context.services.connections.current(update.effective_user.id)
    if connected is not None:
        # Managing a group from here (/connect): its admin and personal commands work here too, acting there.
        role = await context.services.members.role_in(connected.chat_id, update.effective_user.id)
        usable = [(s.name, s.role) for s in specs.values() if s.usable(Role.MEMBER, False) or (
            s.where == "group" and s.remote and (s.personal or s.role >= Role.ADMIN) and s.role <= role)]
        footer = connection_texts.help_connected(context.tr, connected.title)
        parts = texts.help_parts(context.tr, usable, role, True, limit=texts.MESSAGE_LIMIT - len(footer) - 1)
        parts[-1] += "\n" + footer
        for part in parts:
            await reply(update, context, part)
        return
    # In private, the personal commands (/me, /history, /invite…) answer for your group (handlers/connections.py).
    # The admin tools (/connect) are listed to admins: in private, to someone Sticky knows as an admin of a group.
    admin = role >= Role.ADMIN if in_group else await context.services.connections.administers_any(update.effective_user.id)
    usable = [(s.name, s.role) for s in specs.values() if s.listed(role, in_group, admin)]
    # In private, acting on no group, nobody has a role: the header names none (it said "(Member)" to an owner).
    in_a_group = not in_group and await context.services.connections.in_any(update.effective_user.id)
    for part in texts.help_parts(context.tr, usable, role if in_group else None, in_group, in_a_group=in_a_group):
        await reply(update, context, part)


async def on_unknown_command(update: Update, context: BotContext) -> None:
    """A command no spec names: in private, or addressed to Sticky in a group (/foo@Sticky), a one-line pointer
    to /help; in a group otherwise nothing — it may be another bot's. Judged by the command specs (the router's
    own parsing), so it holds whatever dispatches the known ones."""
    message = update.message
    parsed = parse_command(message, context.bot.username)
    if parsed is None or parsed[0] in {spec_of(c).name for c in context.bot_data.commands}:
        return
    addressed = "@" in message.text[1:message.entities[0].length]
    if update.effective_chat.type == ChatType.PRIVATE or addressed:
        await reply(update, context, texts.unknown_command(context.tr, parsed[0]), transient=True)


async def on_private_chatter(update: Update, context: BotContext) -> None:
    """Plain text in private that nothing else took (a typed captcha answer is the funnel's): a pointer to /help."""
    await reply(update, context, texts.private_pointer(context.tr))


@command("roles")
async def cmd_roles(update: Update, context: BotContext) -> None:
    pyramid = await context.services.roles.pyramid(update.effective_chat.id)
    await reply(update, context, texts.roles_pyramid(context.tr, update.effective_chat.title or "", pyramid))


@command("setrole", role=Role.ADMIN)
async def cmd_setrole(update: Update, context: BotContext) -> None:
    target_arg, rest = split_target(update, context.args or [])
    if not rest:
        raise UsageError()
    role = _role_arg(rest[0])
    target = await resolve_target(update, context, target_arg)
    reason = " ".join(rest[1:]) or None
    await context.services.roles.set_role(context.actor, target, role, reason)
    await reply(update, context, texts.role_set(context.tr, target.user.display, role))


@command("unsetrole", role=Role.ADMIN)
async def cmd_unsetrole(update: Update, context: BotContext) -> None:
    target_arg, rest = split_target(update, context.args or [])
    if len(rest) != 1:
        raise UsageError()
    role = _role_arg(rest[0])
    target = await resolve_target(update, context, target_arg)
    await context.services.roles.unset_role(context.actor, target, role)
    await reply(update, context, texts.role_unset(context.tr, target.user.display, role))


@command("settings", role=Role.ADMIN)
async def cmd_settings(update: Update, context: BotContext) -> None:
    groups, chat_id = context.services.groups, update.effective_chat.id
    values = await groups.display_settings(chat_id)
    on, as_seeded = await context.services.rules.default_state(chat_id, LINK_GATE)
    values[LINK_GATE_SETTING] = ("on" if on else "off", not as_seeded)  # the rule links, under the name people know
    lacking, features = await groups.unworkable(chat_id)
    if gate := await groups.lacking(chat_id, LINK_GATE_SETTING, on):
        lacking[LINK_GATE_SETTING] = gate
    await reply(update, context, texts.settings_list(context.tr, values, lacking, features))


@command("set", role=Role.ADMIN)
async def cmd_set(update: Update, context: BotContext) -> None:
    args = context.args or []
    if len(args) < 2:
        raise UsageError()
    # The value as typed: a welcome keeps its line breaks (context.args would fold them into spaces).
    text = (update.effective_message.text or "").split(None, 2)[2]
    if args[0].strip().lower() == LINK_GATE_SETTING:  # the link gate is a rule now; its setting's name still works
        on = await context.services.rules.switch_default(update.effective_chat.id, LINK_GATE, parse_switch(LINK_GATE_SETTING, text),
                                                        guard=RightsGuard(update, context))
        notes = await context.services.groups.notes(update.effective_chat.id, LINK_GATE_SETTING, on)
        await reply(update, context, "\n".join([
            texts.setting_changed(context.tr, LINK_GATE_SETTING, "on" if on else "off"),
            rules_texts.link_gate_rule(context.tr, LINK_GATE), *[await render_error(update, context, n) for n in notes]]))
        return
    # Settings that set what Sticky does with its rights take the admin's own (the commands' check, RightsGuard's).
    await context.services.moderation.may(context.actor, update.effective_chat.id, *admin_kinds(args[0], text))
    key, value, reset = await context.services.groups.set(update.effective_chat.id, args[0], text, context.actor.user_id)
    if key == "language":
        context.tr = context.tr.for_language(value)
    shown = (await context.services.groups.display_settings(update.effective_chat.id))[key][0]
    changed = texts.setting_reset if reset else texts.setting_changed
    lines = [changed(context.tr, key, shown)]
    lines += [await render_error(update, context, note) for note in await context.services.groups.notes(update.effective_chat.id, key, value)]
    await reply(update, context, "\n".join(lines))


@command("lang", role=Role.ADMIN)
async def cmd_lang(update: Update, context: BotContext) -> None:
    args = context.args or []
    if len(args) != 1:
        raise UsageError()
    _, value, _reset = await context.services.groups.set(update.effective_chat.id, "language", args[0], context.actor.user_id)
    context.tr = context.tr.for_language(value)
    await reply(update, context, texts.language_changed(context.tr))


LANGUAGE_PATTERN = r"^ulang:(en|zh)$"


def _language_buttons() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(name, callback_data=f"ulang:{lang}")
                                  for lang, name in texts.LANGUAGE_NAMES.items()]])


@command("language", where="private")
async def cmd_language(update: Update, context: BotContext) -> None:
    """A person's own language for their private chat with Sticky; a group's stays its admins' (/lang). Private
    only, so a group's /help does not list it; typed in a group it points to /lang (texts.error)."""
    args, user_id = context.args or [], update.effective_user.id
    if not args:
        chosen = await context.services.members.language(user_id)
        managed = None if chosen is not None else await context.services.connections.current(user_id)
        await reply(update, context, texts.language_current(context.tr, context.tr.lang, chosen is not None,
                                                            managed.title if managed is not None else None),
                    markup=_language_buttons())
        return
    value = args[0].strip().lower()
    if len(args) > 1 or value not in LANGUAGES:
        await reply(update, context, texts.language_usage(context.tr))
        return
    await context.services.members.set_language(user_id, value)
    await reply(update, context, texts.language_chosen(translator(value), value))


async def on_language_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    value = query.data.removeprefix("ulang:")
    await context.services.members.set_language(query.from_user.id, value)
    await answer_query(query)
    await edit_query_message(query, texts.language_chosen(translator(value), value))


COMMANDS = [cmd_start, cmd_help, cmd_roles, cmd_setrole, cmd_unsetrole, cmd_settings, cmd_set, cmd_lang, cmd_language]
