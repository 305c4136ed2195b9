"""Replies of the points shop: the shelf, the purchase dialogue, orders, codes and every refusal."""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from html import escape, unescape
from zoneinfo import ZoneInfo

from bot.domain.errors import UserError
from bot.domain.points import InsufficientPointsError
from bot.domain.shop import (
    CodeSendingError, ItemInactiveError, LimitReachedError, OrderDecidedError, PriceChangedError, PrivateChatNeededError, PurchaseDoneError,
    ShopInputError, SoldOutError, TierTooLowError, UnknownItemError, UnknownOrderError,
)
from bot.texts import N_, Translator
from bot.texts.core import name
from bot.texts.points import tier_name
from storage.shop import Order, ShopItem

# Telegram shows at most 200 characters in a callback answer.
ALERT_LIMIT = 200

STATUS = {
    "pending": N_("⏳ pending"),
    "fulfilled": N_("✅ fulfilled"),
    "rejected": N_("❌ rejected"),
}


def points(_: Translator, n: int) -> str:
    return _.ngettext("{n} point", "{n} points", n).format(n=n)


def item_title(item: ShopItem | Order) -> str:
    if isinstance(item, Order):
        return f"#{item.item_id} {name(item.item_name)}"
    return f"#{item.id} {name(item.name)}"


def when(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def alert(text: str) -> str:
    """A callback answer is plain text of at most 200 characters."""
    plain = unescape(re.sub(r"<[^>]+>", "", text))
    return plain if len(plain) <= ALERT_LIMIT else plain[: ALERT_LIMIT - 1] + "…"


# --- refusals ------------------------------------------------------------------------------------


def error(_: Translator, err: UserError, item: ShopItem | None = None) -> str:
    p = err.params
    if isinstance(err, InsufficientPointsError):
        if item is not None:
            return _("Not enough points: you have {balance}, {item} costs {cost}.").format(
                balance=err.balance, item=name(item.name), cost=err.needed)
        return _("Not enough points: you have {balance}, it costs {cost}.").format(balance=err.balance, cost=err.needed)
    if isinstance(err, UnknownItemError):
        return _("There is no item #{id} in this group's shop. See /shop.").format(id=escape(str(p["item_id"])))
    if isinstance(err, ItemInactiveError):
        return _("{item} is no longer on sale.").format(item=name(err.name))
    if isinstance(err, SoldOutError):
        return _("{item} is sold out.").format(item=name(err.name))
    if isinstance(err, TierTooLowError):
        return _("{item} needs tier {tier} or above; you are {current}.").format(
            item=name(item.name) if item else _("This item"), tier=tier_name(_, err.needed), current=tier_name(_, err.current))
    if isinstance(err, LimitReachedError):
        return _("You already have {limit} × {item}: that is the limit per member.").format(limit=err.limit, item=name(err.name))
    if isinstance(err, PurchaseDoneError):
        if err.order_id:
            return _("Already done: this purchase is order #{id}.").format(id=err.order_id)
        return _("Already done.")
    if isinstance(err, PriceChangedError):
        return _("The price of {item} changed to {cost}; press Buy again.").format(item=name(err.name), cost=points(_, err.cost))
    if isinstance(err, PrivateChatNeededError):
        return _("I send the code by private message: open a chat with me, press Start (/start), then buy again.")
    if isinstance(err, UnknownOrderError):
        return _("There is no order #{id} in this group.").format(id=escape(str(p["order_id"])))
    if isinstance(err, OrderDecidedError):
        return _("Order #{id} is already {status}.").format(id=err.order_id, status=_(STATUS.get(err.status, err.status)))
    if isinstance(err, CodeSendingError):
        return _("Order #{id}'s code is being sent to the buyer right now; try again in a minute, once it has "
                 "arrived or failed.").format(id=err.order_id)
    if isinstance(err, ShopInputError):
        return input_error(_, err)
    return _("That didn't work.")


def input_error(_: Translator, err: ShopInputError) -> str:
    p = err.params
    texts = {
        "name_missing": lambda: _("The item needs a name."),
        "name_too_long": lambda: _("The name is too long (at most {max} characters).").format(max=p["max"]),
        "name_taken": lambda: _("There already is an item with that name on sale: #{id}.").format(id=p["id"]),
        "cost": lambda: _("The cost must be a whole number of points from 1 to {max}.").format(max=p["max"]),
        "stock": lambda: _("Stock must be a whole number from 0 to {max}, or unlimited.").format(max=p["max"]),
        "limit": lambda: _("The limit per member must be a whole number from 1 to {max}, or none.").format(max=p["max"]),
        "tier": lambda: _("Unknown tier {value}. Tiers: {tiers}.").format(
            value=escape(str(p["value"])), tiers=_.listed(p["tiers"])),
        "description_too_long": lambda: _("The description is too long (at most {max} characters).").format(max=p["max"]),
        "repeated": lambda: _("{option} is given twice.").format(option=escape(str(p["option"]))),
        "field": lambda: _("Unknown field {value}. Fields: {fields}.").format(
            value=escape(str(p["value"])), fields=_.listed(p["fields"])),
        "value_missing": lambda: _("Give a value for {field}.").format(field=escape(str(p["field"]))),
        "flag": lambda: _("{field} must be {choices} (you wrote {value}).").format(
            field=escape(str(p["field"])), choices=_.options(("on", "off")), value=escape(str(p["value"]))),
        "card_codes": lambda: _("Item #{id} is a make-up card: /makeup uses it, so it takes no codes.").format(id=p["id"]),
        "codes_stock": lambda: _("Item #{id} sells codes: its stock is the number of unused codes. Add more with /addcodes.").format(id=p["id"]),
        "too_many_items": lambda: _("The shop holds at most {max} items on sale; take one off with /delitem first.").format(max=p["max"]),
        "no_codes": lambda: _("Give the codes after the item id, separated by spaces or new lines."),
        "code_too_long": lambda: _("A code may have at most {max} characters.").format(max=p["max"]),
        "too_many_codes": lambda: _("At most {max} codes at a time.").format(max=p["max"]),
        "item_id": lambda: _("{value} is not an item id; the ids are the #numbers in /shop.").format(value=escape(str(p["value"]))),
        "order_id": lambda: _("{value} is not an order id; see /orders pending.").format(value=escape(str(p["value"]))),
        "note_too_long": lambda: _("The reason is too long (at most {max} characters).").format(max=p["max"]),
        "already_active": lambda: _("Item #{id} is already on sale.").format(id=p["id"]),
        "already_inactive": lambda: _("Item #{id} is already off the shelf.").format(id=p["id"]),
    }
    text = texts.get(err.reason)
    return text() if text else _("That didn't work.")


# --- the shelf -----------------------------------------------------------------------------------


def terms(_: Translator, item: ShopItem) -> str:
    """Cost · stock · limit · tier, on one line."""
    parts = [points(_, item.cost)]
    if item.stock is None:
        parts.append(_("stock ∞"))
    elif item.stock == 0:
        parts.append(_("sold out"))
    else:
        parts.append(_("{n} left").format(n=item.stock))
    if item.per_member_limit is not None:
        parts.append(_("limit {n} per member").format(n=item.per_member_limit))
    if item.min_tier:
        parts.append(_("{tier} tier and above").format(tier=tier_name(_, item.min_tier)))
    if item.grants == "makeup_card":
        parts.append(_("🎟 a make-up card for /makeup"))
    return " · ".join(parts)


def shop_list(_: Translator, items: Sequence[ShopItem], with_descriptions: bool = True) -> str:
    if not items:
        return _("The shop is empty for now. Admins add items with /additem.")
    lines = [_("🛍 <b>Points shop</b> — press a button to buy; /orders shows what you bought.")]
    for item in items:
        lines.append("")
        lines.append(f"<b>{item_title(item)}</b> — {terms(_, item)}")
        if with_descriptions and item.description:
            lines.append(f"<i>{escape(item.description, quote=False)}</i>")
    return "\n".join(lines)


def buy_button(_: Translator, item: ShopItem) -> str:
    return _("🛒 {item} · {cost}").format(item=f"#{item.id} {item.name}", cost=item.cost)


def confirm_prompt(_: Translator, who: str, item: ShopItem, balance: int) -> str:
    text = _("{who}, buy {item} for {cost}? Your balance: {balance} → {after}.").format(
        who=name(who), item=f"<b>{name(item.name)}</b>", cost=points(_, item.cost), balance=balance, after=balance - item.cost)
    if item.has_codes:
        text += "\n" + _("The code comes to you by private message.")
    if item.grants == "makeup_card":
        text += "\n" + _("A make-up card: your next /makeup uses it instead of points.")
    return text


def bought_card(_: Translator, who: str, order: Order) -> str:
    return _("🎟 {who} bought a make-up card ({item}, order #{id}); /makeup will use it.").format(
        who=name(who), item=name(order.item_name), id=order.id)


def not_yours(_: Translator) -> str:
    return _("Only the member who pressed Buy can answer this.")


def question_not_posted(_: Translator) -> str:
    """Buy pressed, and Telegram did not post the purchase question (a flood wait, a refusal): nothing was taken."""
    return _("Telegram did not take my question: press 🛒 again in a minute. Nothing was taken.")


def question_unsure(_: Translator) -> str:
    """Buy pressed, and Telegram did not answer the question's send (it may be in the group): nothing was taken."""
    return _("Telegram did not answer: if no question appears in the group, press 🛒 again. Nothing was taken.")


def stale_button(_: Translator) -> str:
    return _("This button is no longer valid; open /shop again.")


def cancelled(_: Translator) -> str:
    return _("Cancelled; no points were taken.")


def bought_pending(_: Translator, who: str, order: Order) -> str:
    return _("🧾 Order #{id}: {who} bought {item} for {cost}. Admins: /fulfil {id} when delivered, or /reject {id} [reason] to refund.").format(
        id=order.id, who=name(who), item=f"<b>{name(order.item_name)}</b>", cost=points(_, order.cost))


def bought_code(_: Translator, who: str, order: Order) -> str:
    return _("✅ {who} bought {item} for {cost} (order #{id}); the code was sent by private message.").format(
        id=order.id, who=name(who), item=f"<b>{name(order.item_name)}</b>", cost=points(_, order.cost))


def bought_alert(_: Translator, order_id: int, balance: int) -> str:
    return _("Bought! Order #{id}; {balance} left.").format(id=order_id, balance=points(_, balance))


def code_message(_: Translator, group: str, order: Order, code: str, *, again: bool = False) -> str:
    text = _("🎁 Your code for {item} (order #{id} in {group}):\n<code>{code}</code>").format(
        item=f"<b>{name(order.item_name)}</b>", id=order.id, group=name(group), code=escape(code, quote=False))
    return text + "\n" + _("(sent again after a restart)") if again else text


def code_undelivered(_: Translator, who: str, item: str) -> str:
    return _("I could not send {who} the code for {item} privately, so the purchase was undone and the points returned. Open a private chat with me, press Start (/start), then buy again.").format(
        who=name(who), item=name(item))


def code_pending(_: Translator, who: str, item: str, order_id: int) -> str:
    return _("{who} bought {item} (order #{id}), but Telegram did not take the code's private message just now. The code is kept for them: an admin can send it with /fulfil {id}, or refund the order with /reject {id}.").format(
        who=name(who), item=name(item), id=order_id)


def code_not_sent(_: Translator, order: Order) -> str:
    return _("I could not send the code of order #{id} to {who} privately, so the order stays pending. Try /fulfil {id} again later, or refund it with /reject {id}.").format(
        id=order.id, who=name(order.buyer_name))


# --- admins: items and codes -----------------------------------------------------------------------


def item_added(_: Translator, item: ShopItem) -> str:
    if item.grants == "makeup_card":  # /addcodes refuses a make-up card: say what it is for instead
        return _("Added {item}: {terms}. It is on sale in /shop; whoever buys it, their next /makeup uses it instead of points.").format(
            item=f"<b>{item_title(item)}</b>", terms=terms(_, item))
    return _("Added {item}: {terms}. It is on sale in /shop; /addcodes {id} CODE… makes it deliver codes.").format(
        item=f"<b>{item_title(item)}</b>", terms=terms(_, item), id=item.id)


def item_edited(_: Translator, item: ShopItem) -> str:
    state = "" if item.active else _("(off the shelf)")
    return _.joined(_("Updated {item}: {terms}.").format(item=f"<b>{item_title(item)}</b>", terms=terms(_, item)), state)


def item_removed(_: Translator, item: ShopItem) -> str:
    return _("{item} is off the shelf. Its orders are kept; /edititem {id} active on puts it back.").format(
        item=f"<b>{item_title(item)}</b>", id=item.id)


def codes_added(_: Translator, item: ShopItem, added: int, skipped: int, converted: bool) -> str:
    text = _.ngettext("Added {n} code to {item}.", "Added {n} codes to {item}.", added).format(n=added, item=f"<b>{item_title(item)}</b>")
    if skipped:
        text = _.joined(text, _.ngettext("{n} was already there.", "{n} were already there.", skipped).format(n=skipped))
    text = _.joined(text, _("Unused codes (the stock): {n}.").format(n=item.stock or 0))
    if converted:
        text = _.joined(text, _("Each purchase now delivers one code by private message."))
    return text


def codes_message_deleted(_: Translator, deleted: bool) -> str:
    if deleted:
        return _("I deleted your message so the codes stay secret.")
    return _("⚠️ I could not delete your message: delete it yourself, the codes are visible to everyone here.")


# --- orders --------------------------------------------------------------------------------------------


def order_line(_: Translator, order: Order, tz: str, with_buyer: bool = False) -> str:
    who = f" — {name(order.buyer_name)}" if with_buyer else ""
    line = f"#{order.id} {name(order.item_name)}{who} — {points(_, order.cost)} — {_(STATUS[order.status])} · {when(order.created_at, tz)}"
    if order.status == "rejected" and order.note:
        reason = _("could not be delivered") if order.note == "undeliverable" else escape(order.note, quote=False)
        line += f" ({reason})"
    return line


def my_orders(_: Translator, who: str, orders: Sequence[Order], tz: str) -> str:
    if not orders:
        return _("{who}, you have no orders here yet. See /shop.").format(who=name(who))
    lines = [_("<b>Orders of {who}</b> (latest first):").format(who=name(who))]
    lines += [order_line(_, o, tz) for o in orders]
    return "\n".join(lines)


def pending_orders(_: Translator, orders: Sequence[Order], total: int, tz: str) -> str:
    if not orders:
        return _("No pending orders.")
    lines = [_("<b>Pending orders</b> ({n}), oldest first — /fulfil ID or /reject ID [reason]:").format(n=total)]
    lines += [order_line(_, o, tz, with_buyer=True) for o in orders]
    more = total - len(orders)
    if more > 0:
        lines.append(_.ngettext("…and {n} more.", "…and {n} more.", more).format(n=more))
    return "\n".join(lines)


def fulfilled(_: Translator, order: Order, told: bool) -> str:
    text = _("Order #{id} ({item} for {who}) is fulfilled.").format(id=order.id, item=name(order.item_name), who=name(order.buyer_name))
    return _.joined(text, _("I told them privately.") if told else _("I could not tell them privately; please let them know."))


def rejected(_: Translator, order: Order, refunded: int, told: bool, retired: bool = False) -> str:
    text = _("Order #{id} ({item} for {who}) is rejected; {cost} refunded.").format(
        id=order.id, item=name(order.item_name), who=name(order.buyer_name), cost=points(_, refunded))
    if retired:
        text = _.joined(text, _("Its code may already have reached them, so it is retired, not put back on sale."))
    return _.joined(text, _("I told them privately.") if told else _("I could not tell them privately; please let them know."))


def fulfilled_notice(_: Translator, order: Order, group: str) -> str:
    return _("✅ Your order #{id} ({item}) in {group} is fulfilled.").format(id=order.id, item=name(order.item_name), group=name(group))


def rejected_notice(_: Translator, order: Order, group: str) -> str:
    text = _("❌ Your order #{id} ({item}) in {group} was rejected; {cost} went back to your balance.").format(
        id=order.id, item=name(order.item_name), group=name(group), cost=points(_, order.cost))
    if order.note:
        text += "\n" + _("Reason: {reason}").format(reason=escape(order.note, quote=False))
    return text
