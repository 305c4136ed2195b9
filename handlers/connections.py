"""Managing a group from private chat: /connect, /disconnect, and how a command typed in private acts on a group.
The command router sends every such command through run_elsewhere, so no command has code of its own for it:
admin commands act on the connected group (the sender's rights asked of Telegram at each one), personal commands
(/me, /history, /invite…) on the group the sender picks — or the only one they are in."""
from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot.context import BotContext, Elsewhere
from bot.domain.errors import ConnectError, UsageError, UserError
from bot.domain.roles import Role
from bot.services.connections import Remote
from bot.texts import connections as texts
from handlers.base import Callback, answer_query, command, edit_query_message, person_id, private_translator, reader_translator, render_error, reply, sender, spec_of
from storage.connections import GroupOf
from storage.groups import Group

CONNECT_PATTERN = r"^conn:-?\d+$"
# A which-group button: `pick:COMMAND:GROUP[:ARGUMENTS]`, or `pick#KEY:GROUP` when the arguments do not fit in
# Telegram's 64 bytes of callback data (the command and its arguments are then kept server-side under KEY).
PICK_PATTERN = r"^pick(:[a-z0-9_]+|#\d+):-?\d+(:.+)?$"
CALLBACK_DATA_BYTES = 64
SHOWN_ARGS = 60  # of the arguments, this many characters are repeated in the question


def acts_elsewhere(update: Update, callback: Callback) -> bool:
    """A group command typed in private chat that may act on a group from there: admin commands and personal ones."""
    spec = spec_of(callback)
    return (
        update.message is not None and update.effective_chat.type == ChatType.PRIVATE and spec.where == "group"
        and (spec.role >= Role.ADMIN or spec.personal)
    )


def _buttons(prefix: str, groups: list[GroupOf]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(g.title[:60] or str(g.chat_id), callback_data=f"{prefix}:{g.chat_id}")] for g in groups])


def _group_view(message: dict, update_id: int, group: Group, bot) -> Update:
    """The update as the group's commands read it: typed in the group by the same person. It replies to nothing there,
    and its message id is a stand-in no group message has (the update's own id, negated: the same at a redelivery)."""
    message = {k: v for k, v in message.items() if k not in ("reply_to_message", "external_reply", "quote")}
    message["chat"] = {"id": group.chat_id, "type": group.type, "title": group.title}
    message["message_id"] = -update_id
    return Update.de_json({"update_id": update_id, "message": message}, bot)


async def _pick_buttons(context: BotContext, user_id: int, name: str, args: str, groups: list[GroupOf]) -> InlineKeyboardMarkup:
    """One button per group, each carrying the command and its arguments — in the button while they fit in 64 bytes,
    otherwise kept server-side (durably: a restart keeps them) under a key the buttons name."""
    def data(group: GroupOf) -> str:
        return f"pick:{name}:{group.chat_id}" + (f":{args}" if args else "")
    if all(len(data(g).encode("utf-8")) <= CALLBACK_DATA_BYTES for g in groups):
        return InlineKeyboardMarkup([[InlineKeyboardButton(g.title[:60] or str(g.chat_id), callback_data=data(g))] for g in groups])
    key = await context.services.connections.ask(user_id, name, args)
    return _buttons(f"pick#{key}", groups)


async def _run_in(view: Update, context: BotContext, callback: Callback, where: Remote, chat_id: int, message_id: int, args: list[str]) -> None:
    context.actor = where.actor
    # The answer comes here, in private: in the language the sender chose for it (/language), else the group's.
    context.tr = await reader_translator(context.services, where.actor.user_id,
                                         (await context.services.groups.settings(where.group.chat_id)).language)
    context.elsewhere = Elsewhere(chat_id, message_id, where.group.chat_id, where.group.title, view.message.message_id)
    context.args = args
    await callback(view, context)
    if not context.answered_elsewhere:  # it only posted in the group (an /nps survey): say it was done
        await reply(view, context, texts.done_there(context.tr, spec_of(callback).name))


async def run_elsewhere(update: Update, context: BotContext, callback: Callback) -> None:
    spec = spec_of(callback)
    user_id = update.effective_user.id
    s = context.services.connections
    try:
        if not spec.remote:
            raise ConnectError(reason="in_group", command=spec.name)
        where = await (s.admin(user_id, spec.name, spec.role) if spec.role >= Role.ADMIN else s.personal(user_id, spec.name))
    except UserError as err:
        await reply(update, context, await render_error(update, context, err, spec.name), transient=True)
        return
    if isinstance(where, list):
        args = " ".join(context.args or [])
        if len(args) > SHOWN_ARGS:  # the question repeats what was typed, cut at a word
            shown = f"{spec.name} {args[:SHOWN_ARGS].rsplit(' ', 1)[0]}…"
        else:
            shown = f"{spec.name} {args}".rstrip()
        await reply(update, context, texts.which_group(context.tr, shown), markup=await _pick_buttons(context, user_id, spec.name, args, where))
        return
    message = update.message
    view = _group_view(message.to_dict(), update.update_id, where.group, context.bot)
    await _run_in(view, context, callback, where, message.chat.id, message.message_id, context.args or [])


@command("connect", where="any", admin_tool=True)
async def cmd_connect(update: Update, context: BotContext) -> None:
    s, tr = context.services.connections, context.tr
    user_id, args = person_id(context), context.args or []
    if update.effective_chat.type != ChatType.PRIVATE:
        if args:
            raise UsageError()
        group = await s.connect(user_id, update.effective_chat.id)
        markup = None
        if context.bot.username:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("Sticky", url=f"https://t.me/{context.bot.username}")]])
        await reply(update, context, texts.connected_from_group(tr, sender(update).display, group.title), markup=markup)
        return
    if args:
        group = await s.connect(user_id, await s.find(user_id, " ".join(args)))
        # From here this chat speaks as about the group (private_translator): its first line too.
        await reply(update, context, texts.connected(await private_translator(context.services, update.effective_user), group.title))
        return
    groups = await s.manageable(user_id)
    if not groups:
        raise ConnectError(reason="no_groups")
    current = await s.current(user_id)
    await reply(update, context, texts.choose_group(tr, current.title if current else None), markup=_buttons("conn", groups))


@command("disconnect", where="any", admin_tool=True)
async def cmd_disconnect(update: Update, context: BotContext) -> None:
    if context.args:
        raise UsageError()
    group = await context.services.connections.disconnect(person_id(context))
    tr = context.tr
    if group is not None and update.effective_chat.type == ChatType.PRIVATE:  # back to this person's own language
        tr = await private_translator(context.services, update.effective_user)
    if group is None:
        text = texts.not_connected(tr, await context.services.connections.administers_any(person_id(context)))
    else:
        text = texts.disconnected(tr, group.title)
    await reply(update, context, text)


async def on_connect_button(update: Update, context: BotContext) -> None:
    """A group picked from /connect's list: Telegram is asked again, at the press."""
    query = update.callback_query
    try:
        group = await context.services.connections.connect(query.from_user.id, int(query.data.split(":")[1]))
    except UserError as err:
        await answer_query(query, await render_error(update, context, err), show_alert=True)
        return
    await answer_query(query)
    await edit_query_message(query, texts.connected(await private_translator(context.services, query.from_user), group.title))


async def on_pick_button(update: Update, context: BotContext) -> None:
    """A group picked for a personal command typed in private: the command runs there, answering here."""
    query = update.callback_query
    s = context.services.connections
    try:
        if query.data.startswith("pick#"):  # pick#KEY:GROUP
            key, chat_id = query.data.removeprefix("pick#").split(":")
            name, args = await s.asked(query.from_user.id, int(key))
        else:  # pick:COMMAND:GROUP[:ARGUMENTS]
            _tag, name, chat_id, *rest = query.data.split(":", 3)
            args = rest[0] if rest else ""
        callback = next((c for c in context.bot_data.commands if spec_of(c).name == name), None)
        if callback is None or not spec_of(callback).personal:
            await answer_query(query)
            return
        where = await s.personal(query.from_user.id, name, int(chat_id))
    except UserError as err:
        text = await render_error(update, context, err)
        await answer_query(query, text, show_alert=True)
        if isinstance(err, ConnectError) and err.params.get("reason") == "expired":
            await edit_query_message(query, text)  # its buttons name nothing any more
        return
    await answer_query(query)
    typed = f"/{name} {args}".rstrip()
    message = {
        "message_id": 0, "date": int(query.message.date.timestamp()), "from": query.from_user.to_dict(), "text": typed,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(name) + 1}],
    }
    view = _group_view(message, update.update_id, where.group, context.bot)
    await _run_in(view, context, callback, where, query.message.chat.id, query.message.message_id, args.split())


COMMANDS = [cmd_connect, cmd_disconnect]
