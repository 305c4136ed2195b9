"""Rules of the points shop: who may buy what, and reading what admins type (/additem, /edititem, /addcodes).
Pure: no storage, no Telegram, no clock."""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from bot.domain.errors import UsageError, UserError
from bot.domain.levels import DEFAULT_TIERS, Tier
from bot.domain.points import MAX_AMOUNT, InsufficientPointsError, InvalidAmountError, parse_amount

__all__ = [
    "MAX_NAME", "MAX_DESCRIPTION", "MAX_CODE", "MAX_CODES", "MAX_STOCK", "MAX_LIMIT", "MAX_ACTIVE_ITEMS", "MAX_NOTE",
    "MAX_CODE_SENDS",
    "Buyable", "ItemSpec", "ShopError", "UnknownItemError", "ItemInactiveError", "SoldOutError", "TierTooLowError",
    "LimitReachedError", "PurchaseDoneError", "PriceChangedError", "PrivateChatNeededError", "UnknownOrderError",
    "OrderDecidedError", "CodeSendingError", "ShopInputError", "can_buy", "parse_item_spec", "parse_edit", "parse_codes", "parse_id",
    "valid_nonce", "EDIT_FIELDS",
]

MAX_NAME = 48
MAX_DESCRIPTION = 200
MAX_CODE = 200
MAX_CODES = 500  # per /addcodes
MAX_STOCK = 100_000
MAX_LIMIT = 1_000
# One /shop message must fit Telegram's 4096 characters and a sane keyboard.
MAX_ACTIVE_ITEMS = 20
MAX_NOTE = 200  # a rejection reason
# A code's private send begun this many times (the purchase, /fulfil, resends after restarts) without a recorded
# outcome is not resent again at start: the order waits for an admin.
MAX_CODE_SENDS = 3
# A code send begun by this process less than this long ago is under way: nobody may decide its order meanwhile
# (a /reject would refund a code that then arrives; a second /fulfil would send it twice). A send begun by an earlier
# process is the start's to take on again (ShopService.resumable_sends), and one this old never got its answer
# recorded (a fault after the send): then it is no longer taken to be under way.
CODE_SEND_UNDER_WAY = timedelta(minutes=10)
MAX_ID = 2**62

_NONCE = re.compile(r"[A-Za-z0-9_-]{4,16}")


# ---------------------------------------------------------------------------------------------- errors


class ShopError(UserError):
    """Base of every refusal of the shop; bot/texts/shop.py turns each into one line."""

    code = "shop"


class UnknownItemError(ShopError):
    code = "unknown_item"  # params: item_id

    def __init__(self, item_id: object) -> None:
        super().__init__(item_id=item_id)
        self.item_id = item_id


class ItemInactiveError(ShopError):
    code = "item_inactive"  # params: name

    def __init__(self, name: str) -> None:
        super().__init__(name=name)
        self.name = name


class SoldOutError(ShopError):
    code = "sold_out"  # params: name

    def __init__(self, name: str) -> None:
        super().__init__(name=name)
        self.name = name


class TierTooLowError(ShopError):
    code = "tier_too_low"  # params: needed (tier key), current (tier key)

    def __init__(self, needed: str, current: str) -> None:
        super().__init__(needed=needed, current=current)
        self.needed = needed
        self.current = current


class LimitReachedError(ShopError):
    code = "limit_reached"  # params: name, limit

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(name=name, limit=limit)
        self.name = name
        self.limit = limit


class PurchaseDoneError(ShopError):
    """The same confirmation arrived again (a double tap, a retried update): it was already handled."""

    code = "purchase_done"  # params: order_id

    def __init__(self, order_id: int | None) -> None:
        super().__init__(order_id=order_id)
        self.order_id = order_id


class PriceChangedError(ShopError):
    """The item changed between Buy and Confirm: the member agreed to a price that is no longer the price."""

    code = "price_changed"  # params: name, cost

    def __init__(self, name: str, cost: int) -> None:
        super().__init__(name=name, cost=cost)
        self.name = name
        self.cost = cost


class PrivateChatNeededError(ShopError):
    """A code is delivered by private message, and Telegram lets a bot write only to people who started it."""

    code = "private_chat_needed"

    def __init__(self) -> None:
        super().__init__()


class UnknownOrderError(ShopError):
    code = "unknown_order"  # params: order_id

    def __init__(self, order_id: object) -> None:
        super().__init__(order_id=order_id)
        self.order_id = order_id


class OrderDecidedError(ShopError):
    code = "order_decided"  # params: order_id, status

    def __init__(self, order_id: int, status: str) -> None:
        super().__init__(order_id=order_id, status=status)
        self.order_id = order_id
        self.status = status


class CodeSendingError(ShopError):
    """The order's code is on its way to the buyer right now: deciding it now could refund a code that arrives."""

    code = "code_sending"  # params: order_id

    def __init__(self, order_id: int) -> None:
        super().__init__(order_id=order_id)
        self.order_id = order_id


class ShopInputError(ShopError):
    """An admin typed something the shop cannot use. reason picks the text; the other params fill it.

    reasons: name_missing, name_too_long, name_taken (id), cost (max), stock (max), limit (max),
    tier (value, tiers), description_too_long (max), repeated (option), field (value, fields),
    value_missing (field), codes_stock, too_many_items (max), no_codes, code_too_long (max),
    too_many_codes (max), item_id (value), order_id (value), note_too_long (max), already_active,
    already_inactive, flag (field, value), card_codes (id)
    """

    code = "shop_input"

    def __init__(self, reason: str, **params: Any) -> None:
        super().__init__(reason=reason, **params)
        self.reason = reason


# ---------------------------------------------------------------------------------------------- buying


class Buyable(Protocol):
    name: str
    cost: int
    stock: int | None
    per_member_limit: int | None
    min_tier: str | None
    active: bool


def _tier(key: str, tiers: Sequence[Tier]) -> Tier | None:
    return next((t for t in tiers if t.key == key), None)


def can_buy(item: Buyable, member_tier: Tier, bought_count: int, balance: int, tiers: Iterable[Tier] = DEFAULT_TIERS) -> None:
    """Raise the first reason this member may not buy one `item`, else return None.

    bought_count is the member's orders of this item that still stand (pending or fulfilled; a
    rejected order gave the points back and does not count). The order of the checks is the order a
    member can act on: off the shelf and sold out cannot be fixed, a tier takes weeks, points a day.
    A min_tier missing from the ladder (config changed) refuses everyone rather than no one.
    """
    if not item.active:
        raise ItemInactiveError(item.name)
    if item.stock is not None and item.stock <= 0:
        raise SoldOutError(item.name)
    if item.min_tier:
        required = _tier(item.min_tier, tuple(tiers))
        if required is None or member_tier.min_xp < required.min_xp:
            raise TierTooLowError(item.min_tier, member_tier.key)
    if item.per_member_limit is not None and bought_count >= item.per_member_limit:
        raise LimitReachedError(item.name, item.per_member_limit)
    if balance < item.cost:
        raise InsufficientPointsError(balance, item.cost)


def valid_nonce(text: str) -> bool:
    """The request key's random part, as it comes back in callback data (never trusted blindly)."""
    return _NONCE.fullmatch(text) is not None


# ---------------------------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class ItemSpec:
    name: str
    cost: int
    stock: int | None = None  # None: unlimited
    limit: int | None = None  # per member; None: no limit
    tier: str | None = None  # minimum tier key
    description: str = ""
    grants: str | None = None  # "makeup_card": a make-up card for /makeup


# A part that makes the item a make-up card (补签卡), spent by /makeup instead of points.
_MAKEUP_CARD_WORDS = {"makeup card", "make-up card", "makeup", "补签卡"}

# Keywords in English and Chinese; values "unlimited"/"none" clear a limit.
_OPTION_WORDS = {
    "stock": "stock", "库存": "stock",
    "limit": "limit", "限购": "limit",
    "tier": "tier", "等级": "tier",
}
_OPTION = re.compile(r"^(stock|limit|tier|库存|限购|等级)(?:\s*[:=：]\s*|\s+)(.*)$", re.IGNORECASE | re.DOTALL)
_NONE_WORDS = {"unlimited", "none", "no", "off", "∞", "-", "不限", "无"}

EDIT_FIELDS: dict[str, str] = {
    "name": "name", "名称": "name",
    "cost": "cost", "price": "cost", "价格": "cost",
    "stock": "stock", "库存": "stock",
    "limit": "limit", "限购": "limit",
    "tier": "tier", "等级": "tier",
    "description": "description", "desc": "description", "描述": "description",
    "active": "active", "上架": "active",
}
_YES = {"yes", "on", "true", "1", "是", "开"}
_NO = {"no", "off", "false", "0", "否", "关"}


def _clean_name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise ShopInputError("name_missing")
    if len(name) > MAX_NAME:
        raise ShopInputError("name_too_long", max=MAX_NAME)
    return name


def _cost(text: str) -> int:
    try:
        return parse_amount(text, MAX_AMOUNT)
    except InvalidAmountError:
        raise ShopInputError("cost", max=MAX_AMOUNT) from None


def _count(text: str, lo: int, hi: int) -> int | None:
    value = text.strip().translate({0xFF10 + i: str(i) for i in range(10)})
    if value.lower() in _NONE_WORDS:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 9 or not lo <= int(value) <= hi:
        raise ValueError(value)
    return int(value)


def _stock(text: str) -> int | None:
    try:
        return _count(text, 0, MAX_STOCK)
    except ValueError:
        raise ShopInputError("stock", max=MAX_STOCK) from None


def _limit(text: str) -> int | None:
    try:
        return _count(text, 1, MAX_LIMIT)
    except ValueError:
        raise ShopInputError("limit", max=MAX_LIMIT) from None


def _tier_key(text: str, tiers: Sequence[str]) -> str | None:
    value = text.strip().lower()
    if value in _NONE_WORDS:
        return None
    if value not in tiers:
        raise ShopInputError("tier", value=text.strip(), tiers=tuple(tiers))
    return value


def _description(text: str) -> str:
    value = text.strip()
    if len(value) > MAX_DESCRIPTION:
        raise ShopInputError("description_too_long", max=MAX_DESCRIPTION)
    return value


def parse_item_spec(text: str, tiers: Sequence[str]) -> ItemSpec:
    """`NAME | COST [| stock N|unlimited] [| limit N] [| tier KEY] [| description]`, options in any order.

    A part that is not an option is the description (several are joined back with " | ", so a
    description may contain the bar). Raises ShopInputError naming the part that is wrong; an
    empty text or a missing cost is a UsageError for the caller to show the usage line.
    """
    parts = [p.strip() for p in text.replace("｜", "|").split("|")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise UsageError()
    name, cost = _clean_name(parts[0]), _cost(parts[1])
    options: dict[str, str] = {}
    description: list[str] = []
    grants = None
    for part in parts[2:]:
        if not part:
            continue
        if part.casefold() in _MAKEUP_CARD_WORDS:
            grants = "makeup_card"
            continue
        match = _OPTION.match(part)
        if match is None:
            description.append(part)
            continue
        key = _OPTION_WORDS[match.group(1).lower()]
        if key in options:
            raise ShopInputError("repeated", option=key)
        options[key] = match.group(2)
    return ItemSpec(
        name=name,
        cost=cost,
        stock=_stock(options["stock"]) if "stock" in options else None,
        limit=_limit(options["limit"]) if "limit" in options else None,
        tier=_tier_key(options["tier"], tiers) if "tier" in options else None,
        description=_description(" | ".join(description)),
        grants=grants,
    )


def parse_edit(field: str, value: str, tiers: Sequence[str]) -> tuple[str, Any]:
    """(`field`, parsed value) for /edititem; field is one of name, cost, stock, limit, tier, description, active."""
    key = EDIT_FIELDS.get(field.strip().lower())
    if key is None:
        raise ShopInputError("field", value=field, fields=("name", "cost", "stock", "limit", "tier", "description", "active"))
    if not value.strip() and key != "description":
        raise ShopInputError("value_missing", field=key)
    if key == "name":
        return key, _clean_name(value)
    if key == "cost":
        return key, _cost(value)
    if key == "stock":
        return key, _stock(value)
    if key == "limit":
        return key, _limit(value)
    if key == "tier":
        return key, _tier_key(value, tiers)
    if key == "description":
        return key, "" if value.strip().lower() in _NONE_WORDS else _description(value)
    flag = value.strip().lower()
    if flag in _YES:
        return key, True
    if flag in _NO:
        return key, False
    raise ShopInputError("flag", field=key, value=value.strip()[:50])


def parse_codes(words: Iterable[str]) -> list[str]:
    """The codes of /addcodes, one per word, repeats dropped, order kept."""
    codes = list(dict.fromkeys(w.strip() for w in words if w.strip()))
    if not codes:
        raise ShopInputError("no_codes")
    if len(codes) > MAX_CODES:
        raise ShopInputError("too_many_codes", max=MAX_CODES)
    if any(len(c) > MAX_CODE for c in codes):
        raise ShopInputError("code_too_long", max=MAX_CODE)
    return codes


def parse_id(text: str, kind: str = "item") -> int:
    """An item or order id as typed: `12` or `#12`. kind is "item" or "order" (it picks the error)."""
    value = text.strip().lstrip("#")
    if not value.isascii() or not value.isdigit() or len(value) > 18 or not 0 < int(value) < MAX_ID:
        raise ShopInputError(f"{kind}_id", value=text.strip())
    return int(value)
