"""Commands and buttons of the points shop: /shop and its Buy → Confirm/Cancel dialogue, /orders, and the
admins' /additem, /edititem, /delitem, /addcodes, /fulfil, /reject.

Callback data (≤ 64 bytes):  shop:buy:<item>   shop:ok:<item>:<buyer>:<cost>:<nonce>   shop:no:<item>:<buyer>:<nonce>
The buyer's id makes the dialogue theirs alone; the cost is the price they agreed to; the nonce makes the
order's request key, so a second press of the same Confirm finds the order already made.
"""
from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.constants import ChatAction

from bot.context import BotContext
from bot.domain.errors import UsageError
from bot.domain.points import InsufficientPointsError
from bot.domain.roles import Role, require
from bot.domain.shop import PrivateChatNeededError, PurchaseDoneError, ShopError, parse_codes, parse_id, valid_nonce
from bot.telegram_port import user_info
from bot.texts import Translator, language_for_user, translator
from bot.texts import core as core_texts
from bot.texts import shop as texts
from handlers.base import Attempt, answer_query, attempt, best_effort, command, delete_quietly, edit_query_message, reply
from storage.shop import Order, ShopItem

log = logging.getLogger(__name__)

CALLBACK_PATTERN = r"^shop:"
MESSAGE_LIMIT = 4096


# --- callback data -----------------------------------------------------------------------------------


def cb_buy(item_id: int) -> str:
    return f"shop:buy:{item_id}"


def cb_confirm(item_id: int, buyer_id: int, cost: int, nonce: str) -> str:
    data = f"shop:ok:{item_id}:{buyer_id}:{cost}:{nonce}"
    assert len(data.encode()) <= 64, data
    return data


def cb_cancel(item_id: int, buyer_id: int, nonce: str) -> str:
    return f"shop:no:{item_id}:{buyer_id}:{nonce}"


def parse_callback(data: str | None) -> tuple | None:
    """("buy", item) | ("ok", item, buyer, cost, nonce) | ("no", item, buyer, nonce), or None for anything else."""
    parts = (data or "").split(":")
    shape = {"buy": 3, "ok": 6, "no": 5}
    if len(parts) < 2 or parts[0] != "shop" or shape.get(parts[1]) != len(parts):
        return None
    digits = parts[2:] if parts[1] == "buy" else parts[2:-1]
    if not all(p.isascii() and p.isdigit() and len(p) <= 19 for p in digits):
        return None
    numbers = tuple(int(p) for p in digits)
    if parts[1] == "buy":
        return ("buy", *numbers)
    if not valid_nonce(parts[-1]):
        return None
    return (parts[1], *numbers, parts[-1])


# --- shared ---------------------------------------------------------------------------------------------


def _rest(update: Update) -> str:
    """What follows the command, as typed: bars and new lines kept (context.args would split them away)."""
    parts = (update.effective_message.text or "").split(None, 1)
    return parts[1].strip() if len(parts) > 1 else ""


def _private_tr(context: BotContext, language_code: str | None) -> Translator:
    return translator(language_for_user(language_code, context.services.config.defaults.language))


async def _can_message(context: BotContext, user_id: int) -> bool:
    """Telegram lets a bot write only to people who started it; a chat action asks without sending anything. When
    Telegram cannot say now, the purchase goes ahead: a code that cannot be sent then stays pending for an admin."""
    return not (await attempt(f"probe private chat {user_id}", lambda: context.bot.send_chat_action(user_id, ChatAction.TYPING))).refused


async def _send_private(context: BotContext, user_id: int, text: str) -> bool:
    return (await attempt(f"private message to {user_id}", lambda: context.bot.send_message(user_id, text))).done


async def _send_code(context: BotContext, order: Order, group: str, code: str, language: str | None, *, again: bool = False):
    """The code's private message (an Attempt), nothing recorded: _deliver_code records its outcome."""
    text = texts.code_message(_private_tr(context, language), group, order, code, again=again)
    return await attempt(f"code of order #{order.id} to {order.user_id}", lambda: context.bot.send_message(order.user_id, text))


async def _deliver_code(context: BotContext, order: Order, group: str, code: str, language: str | None, *,
                        actor_id: int | None = None, again: bool = False, undo_refused: bool = False) -> tuple[Attempt, Order]:
    """The code's private message, then its record: the order is fulfilled only once it went out; otherwise it stays
    pending for an admin (unsure: it may have arrived) — or, undo_refused (at the purchase: the buyer blocked the bot
    meanwhile), the sale is undone. The send is recorded as under way before (the purchase's transaction,
    ShopService.begin_send or resumable_sends), so a crash around it is found at start (job_resume_codes)."""
    shop = context.services.shop
    sent = await _send_code(context, order, group, code, language, again=again)
    if sent.done:
        order = await shop.delivered(order.id, actor_id)
    elif sent.refused and undo_refused:
        await shop.undeliverable(order.id)
    elif sent.dropped:
        # Not sent at all (a stop came while it waited for a flood limit): left under way, so the next start sends
        # it (job_resume_codes), as after a kill.
        log.info("code of order #%s not sent: stopping; it goes out at the next start", order.id)
    else:
        await shop.send_failed(order.id, unsure=sent.unsure)
    return sent, order


async def _tell_buyer(context: BotContext, order: Order, group: str, render) -> bool:
    """A status notice to the buyer, unless they opted out of private messages or never started the bot."""
    if order.no_private:
        return False
    return await _send_private(context, order.user_id, render(_private_tr(context, order.buyer_language), order, group))


async def _timezone(update: Update, context: BotContext) -> str:
    return (await context.services.groups.settings(update.effective_chat.id)).timezone


def _shelf(tr: Translator, items: list[ShopItem]) -> tuple[str, InlineKeyboardMarkup | None]:
    text = texts.shop_list(tr, items)
    if len(text) > MESSAGE_LIMIT:
        text = texts.shop_list(tr, items, with_descriptions=False)
    buttons = [[InlineKeyboardButton(texts.buy_button(tr, i), callback_data=cb_buy(i.id))] for i in items if i.stock != 0]
    return text, InlineKeyboardMarkup(buttons) if buttons else None


# --- members ---------------------------------------------------------------------------------------------


@command("shop")
async def cmd_shop(update: Update, context: BotContext) -> None:
    text, markup = _shelf(context.tr, await context.services.shop.items(update.effective_chat.id))
    await reply(update, context, text, markup=markup)


@command("orders")
async def cmd_orders(update: Update, context: BotContext) -> None:
    args = [a.lower() for a in context.args or []]
    chat_id = update.effective_chat.id
    # An anonymous admin has no orders of their own: show them the queue.
    if args == ["pending"] or (not args and context.actor.anonymous_admin):
        require(context.actor.role, Role.ADMIN)
        orders, total = await context.services.shop.pending(chat_id)
        await reply(update, context, texts.pending_orders(context.tr, orders, total, await _timezone(update, context)))
        return
    if args:
        raise UsageError()
    who = update.effective_user
    orders = await context.services.shop.orders_of(chat_id, who.id)
    await reply(update, context, texts.my_orders(context.tr, who.full_name, orders, await _timezone(update, context)))


# --- admins: items -----------------------------------------------------------------------------------------


@command("additem", role=Role.ADMIN)
async def cmd_additem(update: Update, context: BotContext) -> None:
    text = _rest(update)
    if not text:
        raise UsageError()
    item = await context.services.shop.add_item(update.effective_chat.id, text)
    await reply(update, context, texts.item_added(context.tr, item))


@command("edititem", role=Role.ADMIN)
async def cmd_edititem(update: Update, context: BotContext) -> None:
    parts = _rest(update).split(None, 2)
    if len(parts) < 2:
        raise UsageError()
    item_id = parse_id(parts[0])
    item, _field = await context.services.shop.edit_item(update.effective_chat.id, item_id, parts[1], parts[2] if len(parts) > 2 else "")
    await reply(update, context, texts.item_edited(context.tr, item))


@command("delitem", role=Role.ADMIN)
async def cmd_delitem(update: Update, context: BotContext) -> None:
    args = context.args or []
    if len(args) != 1:
        raise UsageError()
    item = await context.services.shop.remove_item(update.effective_chat.id, parse_id(args[0]))
    await reply(update, context, texts.item_removed(context.tr, item))


@command("addcodes", role=Role.ADMIN)
async def cmd_addcodes(update: Update, context: BotContext) -> None:
    args = context.args or []
    if not args:
        raise UsageError()
    chat_id = update.effective_chat.id
    # The codes are secrets typed into a group: take the message down before anything else.
    deleted = await delete_quietly(context, chat_id, update.effective_message.message_id) if len(args) > 1 else True
    try:
        item_id = parse_id(args[0])
        result = await context.services.shop.add_codes(chat_id, item_id, parse_codes(args[1:]))
        text = texts.codes_added(context.tr, result.item, result.added, result.skipped, result.converted)
    except ShopError as err:
        text = texts.error(context.tr, err)
    if len(args) > 1:
        text += "\n" + texts.codes_message_deleted(context.tr, deleted)
    await reply(update, context, text)


# --- admins: orders -------------------------------------------------------------------------------------------


@command("fulfil", role=Role.ADMIN)
async def cmd_fulfil(update: Update, context: BotContext) -> None:
    args = context.args or []
    if len(args) != 1:
        raise UsageError()
    chat = update.effective_chat
    shop = context.services.shop
    order = await shop.pending_order(chat.id, parse_id(args[0], "order"))
    code = await shop.code_of(order)
    if code is not None:  # a code Telegram did not take at the purchase: fulfilled once it goes out now
        await shop.begin_send(order.id)
        sent, order = await _deliver_code(context, order, chat.title or "", code, order.buyer_language, actor_id=context.actor.user_id)
        if not sent.done:
            await reply(update, context, texts.code_not_sent(context.tr, order))
            return
        told = True
    else:
        order = await shop.fulfil(chat.id, order.id, context.actor.user_id)
        told = await _tell_buyer(context, order, chat.title or "", texts.fulfilled_notice)
    await reply(update, context, texts.fulfilled(context.tr, order, told))


@command("reject", role=Role.ADMIN)
async def cmd_reject(update: Update, context: BotContext) -> None:
    parts = _rest(update).split(None, 1)
    if not parts:
        raise UsageError()
    chat = update.effective_chat
    reason = parts[1] if len(parts) > 1 else None
    decision = await context.services.shop.reject(chat.id, parse_id(parts[0], "order"), context.actor.user_id, reason)
    told = await _tell_buyer(context, decision.order, chat.title or "", texts.rejected_notice)
    await reply(update, context, texts.rejected(context.tr, decision.order, decision.refunded, told, decision.retired))


async def job_resume_codes(context: BotContext) -> None:
    """At start: send again the codes an earlier process was cut off sending (which: ShopService.resumable_sends)."""
    async for order, code in context.services.shop.resumable_sends():
        known = await context.services.groups.group(order.chat_id)
        await _deliver_code(context, order, known.title if known is not None else "", code, order.buyer_language, again=True)


# --- buttons ---------------------------------------------------------------------------------------------------


async def on_shop_button(update: Update, context: BotContext) -> None:
    """Buy, Confirm and Cancel. Every press is answered exactly once, refusals as an alert only the presser sees."""
    query = update.callback_query
    answer: tuple[str | None, bool] = (None, False)
    try:
        data = parse_callback(query.data)
        message = query.message
        if data is None or message is None or not message.is_accessible or message.chat.type == "private":
            answer = (texts.stale_button(context.tr), True)
        elif data[0] == "buy":
            answer = await _buy(update, context, data[1])
        elif query.from_user.id != data[2]:
            answer = (texts.not_yours(context.tr), True)
        elif data[0] == "ok":
            answer = await _confirm(update, context, data[1], data[3], data[4])
        else:
            answer = await _cancel(update, context)
    finally:
        await answer_query(query, texts.alert(answer[0]) if answer[0] else None, show_alert=answer[1])


async def _refusal(context: BotContext, chat_id: int, item_id: int, err: Exception) -> str:
    try:
        item = await context.services.shop.item(chat_id, item_id)
    except ShopError:
        item = None
    return texts.error(context.tr, err, item)


async def _buy(update: Update, context: BotContext, item_id: int) -> tuple[str | None, bool]:
    query, chat = update.callback_query, update.effective_chat
    buyer = query.from_user
    shop = context.services.shop
    try:
        # Remember the buyer's name: the orders list shows it to the admins.
        await context.services.members.seen(chat.id, user_info(buyer))
        quote = await shop.quote(chat.id, buyer.id, item_id)
        if quote.item.has_codes and not await _can_message(context, buyer.id):
            raise PrivateChatNeededError()
    except (ShopError, InsufficientPointsError) as err:
        return await _refusal(context, chat.id, item_id, err), True
    ok, cancel = core_texts.confirm_buttons(context.tr)
    markup = InlineKeyboardMarkup([[
        InlineKeyboardButton(ok, callback_data=cb_confirm(item_id, buyer.id, quote.item.cost, quote.nonce)),
        InlineKeyboardButton(cancel, callback_data=cb_cancel(item_id, buyer.id, quote.nonce)),
    ]])
    # Nothing is taken before Confirm, so a question Telegram did not post costs nothing: the presser is told to
    # press again (as an alert), never "Something went wrong" (issue 9: one clear outcome).
    sent = await attempt(f"shop question in {chat.id}", lambda: context.bot.send_message(
        chat.id, texts.confirm_prompt(context.tr, buyer.full_name, quote.item, quote.balance), reply_markup=markup,
        reply_parameters=ReplyParameters(query.message.message_id, allow_sending_without_reply=True),
    ))
    if sent.done:
        return None, False
    return (texts.question_unsure(context.tr) if sent.unsure else texts.question_not_posted(context.tr)), True


async def _confirm(update: Update, context: BotContext, item_id: int, cost: int, nonce: str) -> tuple[str | None, bool]:
    query, chat = update.callback_query, update.effective_chat
    buyer = query.from_user
    shop = context.services.shop
    try:
        purchase = await shop.purchase(
            chat.id, buyer.id, item_id, nonce, expected_cost=cost, can_message=lambda: _can_message(context, buyer.id),
        )
    except PurchaseDoneError as err:
        return texts.error(context.tr, err), True
    except (ShopError, InsufficientPointsError) as err:
        text = await _refusal(context, chat.id, item_id, err)
        await _edit(query, text)
        return text, True
    order = purchase.order
    if purchase.code is not None:
        language = await context.services.members.language(buyer.id) or buyer.language_code  # the one they chose first
        sent, order = await _deliver_code(context, order, chat.title or "", purchase.code, language, undo_refused=True)
        if sent.refused:  # blocked the bot meanwhile: the sale is undone
            text = texts.code_undelivered(context.tr, buyer.full_name, order.item_name)
            await _edit(query, text)
            return text, True
        if not sent.done:  # no answer (it may have gone out) or a long flood wait: pending, for an admin
            text = texts.code_pending(context.tr, buyer.full_name, order.item_name, order.id)
            await _edit(query, text)
            return text, True
        await _edit(query, texts.bought_code(context.tr, buyer.full_name, order))
    elif purchase.item.grants == "makeup_card":
        await _edit(query, texts.bought_card(context.tr, buyer.full_name, order))
    else:
        # The group sees the order and its id: this is how admins learn there is something to deliver.
        await _edit(query, texts.bought_pending(context.tr, buyer.full_name, order))
    return texts.bought_alert(context.tr, order.id, purchase.balance), False


async def _cancel(update: Update, context: BotContext) -> tuple[str | None, bool]:
    query = update.callback_query
    if not await delete_quietly(context, query.message.chat.id, query.message.message_id):
        await _edit(query, texts.cancelled(context.tr))
    return texts.cancelled(context.tr), False


async def _edit(query, text: str) -> None:
    """Turn the confirmation into its outcome, buttons gone."""
    await edit_query_message(query, text)


COMMANDS = [cmd_shop, cmd_orders, cmd_additem, cmd_edititem, cmd_delitem, cmd_addcodes, cmd_fulfil, cmd_reject]
