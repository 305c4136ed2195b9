"""Vocabulary of the points economy: currencies, ledger reason codes, idempotency keys, typed errors
and parsing of user-typed amounts. Pure: no storage, no clock."""
from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum

from bot.domain.errors import UserError

__all__ = [
    "Currency",
    "Reason",
    "DEBIT_REASONS",
    "ledger_key",
    "PointsError",
    "InvalidAmountError",
    "InsufficientPointsError",
    "AlreadyCheckedInError",
    "NothingToMakeUpError",
    "MakeupWindowError",
    "SelfGiveError",
    "check_adjust",
    "parse_amount",
    "require_balance",
    "MAX_AMOUNT",
]

MAX_AMOUNT = 1_000_000


class Currency(StrEnum):
    # POINTS are spendable and can expire; XP is lifetime, never spent, and only drives tiers.
    POINTS = "points"
    XP = "xp"


class Reason(StrEnum):
    """Ledger reason codes. Values are stored in the database, so never rename one."""

    # One row per member per local day; the base/streak/random breakdown lives in the check-in
    # record, not in extra ledger rows, so a day can never be half-counted.
    CHECKIN = "checkin"
    # The price paid to repair a missed day (a debit).
    MAKEUP = "makeup"
    CHAT = "chat"
    REFERRAL = "referral"
    REFERRAL_BONUS = "referral_bonus"
    REFERRAL_CLAWBACK = "referral_clawback"
    WELCOME_BONUS = "welcome_bonus"
    ACTIVITY = "activity"
    FEEDBACK = "feedback"
    ADMIN_GIVE = "admin_give"
    ADMIN_TAKE = "admin_take"
    SHOP_PURCHASE = "shop_purchase"
    SHOP_REFUND = "shop_refund"
    # Also used for the yearly percentage decay: both remove unspent points without a purchase.
    EXPIRY = "expiry"
    SEASON_RESET = "season_reset"
    RULE_AWARD = "rule_award"
    RULE_DEDUCT = "rule_deduct"
    BADGE_BONUS = "badge_bonus"
    # Streak milestones reached only because a make-up joined two runs (see checkin.makeup_milestones);
    # milestones reached by a normal check-in are inside that day's CHECKIN row.
    MILESTONE = "milestone"
    # A newcomer very active in their first hours (the group's spotlight_bonus), once per member and group.
    SPOTLIGHT = "spotlight"
    # Scheduled activities: a right quiz answer, a poll answered, a reply to the topic of the week (XP), a reply the
    # topic's closing post highlights. Each once per member per quiz, poll or topic.
    QUIZ = "quiz"
    POLL = "poll"
    TOPIC = "topic"
    TOPIC_BEST = "topic_best"


# Reasons whose rows take points away; handy when splitting a ledger into credits and debits.
DEBIT_REASONS: frozenset[Reason] = frozenset(
    {
        Reason.MAKEUP,
        Reason.REFERRAL_CLAWBACK,
        Reason.ADMIN_TAKE,
        Reason.SHOP_PURCHASE,
        Reason.EXPIRY,
        Reason.SEASON_RESET,
        Reason.RULE_DEDUCT,
    }
)

_KEY_SEP = ":"


def ledger_key(reason: Reason | str, *parts: int | str | date | datetime) -> str:
    """A deterministic idempotency key for a ledger row, e.g. ``checkin:-100123:42:2026-03-02``.

    The storage layer puts a UNIQUE constraint on it, so computing the same event twice yields the
    same key and the second insert is refused. Suggested parts:
    CHECKIN (chat, user, day); MAKEUP (chat, user, made_up_day); MILESTONE (chat, user, hit.day);
    BADGE_BONUS (chat, user, badge_key); EXPIRY (chat, user, local_day_of_run).
    """
    reason = Reason(reason)
    rendered = [reason.value]
    for part in parts:
        if isinstance(part, bool):
            # bool is an int subclass; "True" in a key is almost certainly a bug upstream.
            raise ValueError("ledger_key parts must not be bool")
        if isinstance(part, (date, datetime)):
            text = part.isoformat()
        elif isinstance(part, (int, str)):
            text = str(part)
        else:
            raise ValueError(f"unsupported ledger_key part: {part!r}")
        if isinstance(part, str) and (_KEY_SEP in part or not part):
            # A separator inside a part would let two different events share one key.
            raise ValueError(f"ledger_key part must be non-empty and free of {_KEY_SEP!r}: {part!r}")
        rendered.append(text)
    return _KEY_SEP.join(rendered)


class PointsError(UserError):
    """Base for every expected, user-facing failure of the points economy.

    A UserError like the rest of the bot's refusals: ``code`` picks the translated text and
    ``params`` fill it; the same values are also plain attributes for the services.
    """

    code = "points_error"


class InvalidAmountError(PointsError):
    code = "invalid_amount"  # params: reason in {empty, not_a_number, not_integer, negative, zero, too_large}, max_amount

    def __init__(self, reason: str, text: object = None, max_amount: int | None = None) -> None:
        super().__init__(reason=reason, max_amount=max_amount)
        self.reason = reason
        self.text = text
        self.max_amount = max_amount


class InsufficientPointsError(PointsError):
    code = "insufficient_points"  # params: balance, needed, missing

    def __init__(self, balance: int, needed: int, holder: str | None = None) -> None:
        super().__init__(balance=balance, needed=needed, missing=needed - balance)
        self.balance = balance
        self.needed = needed
        self.holder = holder  # someone else's balance (an admin's /take): their name; None = the sender's own

    @property
    def missing(self) -> int:
        return self.needed - self.balance


class AlreadyCheckedInError(PointsError):
    code = "already_checked_in"  # params: at, next_at

    def __init__(self, at: datetime, next_at: datetime | None = None) -> None:
        # at: when today's check-in happened; next_at: when the next one opens (local midnight, UTC).
        super().__init__(at=at, next_at=next_at)
        self.at = at
        self.next_at = next_at


class NothingToMakeUpError(PointsError):
    code = "nothing_to_make_up"  # params: never (no check-in yet to repair a streak from)

    def __init__(self, never: bool = False) -> None:
        super().__init__(never=never)
        self.never = never


class SelfGiveError(PointsError):
    code = "self_give"  # an admin giving themselves points: only the owner may


def check_adjust(actor_id: int, actor_is_owner: bool, target_id: int, target_is_bot: bool, give: bool) -> None:
    """Points go to people; an admin may not pay themselves (the owner may: it is their group, and every
    such row names them as the actor with the reason). Taking from oneself harms nobody."""
    from bot.domain.errors import TargetError

    if target_is_bot:
        raise TargetError(reason="reply_to_bot")
    if give and actor_id == target_id and not actor_is_owner:
        raise SelfGiveError()


class SeasonArgumentError(PointsError):
    code = "season_argument"  # params: given (what followed /season), season (the one it would close)

    def __init__(self, given: str, season: int) -> None:
        super().__init__(given=given, season=season)


class MakeupWindowError(PointsError):
    code = "makeup_window"  # params: window_days

    def __init__(self, window_days: int) -> None:
        super().__init__(window_days=window_days)
        self.window_days = window_days


_DIGITS = re.compile(r"[0-9]+")
_NEGATIVE = re.compile(r"-\s*[0-9]*(?:[.,][0-9]+)?(?:[eE][+-]?[0-9]+)?")
_FRACTIONAL = re.compile(r"(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")
# Fullwidth digits and signs come from CJK keyboards; unicode minus and dashes get pasted from
# phones. Only these are mapped: a broad NFKC would also turn "²" or "①" into digits.
_NORMALISE = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        "\uff0b": "+",
        "\uff0d": "-",
        "\u2212": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\ufe63": "-",
        "\uff0e": ".",
        "\uff0c": ",",
    }
)


def parse_amount(text: object, max_amount: int = MAX_AMOUNT) -> int:
    """Parse a user-typed positive whole amount such as ``"250"`` (fullwidth digits accepted).

    Raises only InvalidAmountError, whose ``reason`` is one of: empty, not_a_number, not_integer,
    negative, zero, too_large.
    """
    if isinstance(max_amount, bool) or not isinstance(max_amount, int) or max_amount < 1:
        raise ValueError(f"max_amount must be a positive int, got {max_amount!r}")
    if not isinstance(text, str):
        raise InvalidAmountError("not_a_number", text, max_amount)
    cleaned = text.translate(_NORMALISE).strip()
    if not cleaned:
        raise InvalidAmountError("empty", text, max_amount)
    if cleaned.startswith("+"):
        # "+5" is still a positive whole number.
        cleaned = cleaned[1:]
    if _DIGITS.fullmatch(cleaned) is None:
        if _NEGATIVE.fullmatch(cleaned) and any(c.isdigit() for c in cleaned):
            if any(c not in "0-., eE+" for c in cleaned):
                raise InvalidAmountError("negative", text, max_amount)
            raise InvalidAmountError("zero", text, max_amount)
        if _FRACTIONAL.fullmatch(cleaned) and any(c.isdigit() for c in cleaned):
            raise InvalidAmountError("not_integer", text, max_amount)
        raise InvalidAmountError("not_a_number", text, max_amount)
    significant = cleaned.lstrip("0")
    if not significant:
        raise InvalidAmountError("zero", text, max_amount)
    # Compare lengths before int(): a 5,000-digit string would otherwise hit Python's
    # int-conversion limit and raise a plain ValueError.
    if len(significant) > len(str(max_amount)):
        raise InvalidAmountError("too_large", text, max_amount)
    value = int(significant)
    if value > max_amount:
        raise InvalidAmountError("too_large", text, max_amount)
    return value


def require_balance(balance: int, needed: int) -> int:
    """Return the balance left after spending ``needed``; raise InsufficientPointsError if short."""
    if needed < 0:
        raise ValueError(f"needed must not be negative, got {needed}")
    if balance < needed:
        raise InsufficientPointsError(balance, needed)
    return balance - needed


BIRTHDAY_MULTIPLIER = 2  # check-ins pay double during a member's /birthday month


def parse_birthday(text: str | None) -> int | None:
    """`/birthday 5` → 5 (the month only: no day, no year); `off` → None. Anything else is a usage error."""
    from bot.domain.errors import UsageError

    value = (text or "").strip().lower()
    if value in ("off", "关"):
        return None
    if value.isascii() and value.isdigit() and len(value) <= 2 and 1 <= int(value) <= 12:  # not "²" (a digit to isdigit)
        return int(value)
    raise UsageError()
