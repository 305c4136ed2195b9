"""Points expiry: FIFO lots (spending and earlier expiries consume the oldest credits first), what
expires now, look-ahead warnings, and the yearly percentage decay. Points only; XP never expires."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

__all__ = [
    "Credit",
    "Debit",
    "Lot",
    "split_ledger",
    "unspent",
    "expiring",
    "expiry_due",
    "expiry_warnings",
    "decay_amount",
]


def _require_aware(instant: datetime, name: str) -> None:
    if not isinstance(instant, datetime) or instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {instant!r}")


@dataclass(frozen=True)
class Credit:
    """A positive points ledger row (its id orders rows that share a timestamp)."""

    id: int
    amount: int
    at: datetime

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise ValueError(f"credit {self.id}: amount must be a positive int, got {self.amount!r}")
        _require_aware(self.at, f"credit {self.id}: at")


@dataclass(frozen=True)
class Debit:
    """Anything that removed points: purchases, admin takes, clawbacks, make-ups, decay, and
    earlier expiry rows — the last is what makes re-running the expiry job a no-op."""

    amount: int  # positive: how many points left the balance
    at: datetime

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise ValueError(f"debit amount must be a positive int, got {self.amount!r}")
        _require_aware(self.at, "debit at")


@dataclass(frozen=True)
class Lot:
    credit_id: int
    remaining: int  # unspent part of the credit
    expires_at: datetime  # UTC


def split_ledger(rows: Iterable[tuple[int, int, datetime]]) -> tuple[list[Credit], list[Debit]]:
    """Turn signed points ledger rows (id, delta, at) into credits (delta > 0) and debits (delta < 0).

    A refund is a fresh credit with its own expiry date; zero rows carry nothing and are skipped.
    """
    credits: list[Credit] = []
    debits: list[Debit] = []
    for row_id, delta, at in rows:
        if delta > 0:
            credits.append(Credit(row_id, delta, at))
        elif delta < 0:
            debits.append(Debit(-delta, at))
    return credits, debits


def unspent(credits: Iterable[Credit], debits: Iterable[Debit]) -> dict[int, int]:
    """Unspent remainder per credit id, oldest first, omitting fully spent credits.

    Debits consume the oldest credits first. Because every debit draws from the front of the same
    queue, the result depends only on the debit total, not on when each debit happened: a debit
    that overdrew the balance simply eats into the credits that arrived afterwards.
    """
    ordered = sorted(credits, key=lambda c: (c.at.astimezone(timezone.utc), c.id))
    ids = [c.id for c in ordered]
    if len(set(ids)) != len(ids):
        # The same ledger row twice would be counted twice; refuse rather than guess.
        raise ValueError("duplicate credit ids")
    to_consume = sum(d.amount for d in debits)
    remaining: dict[int, int] = {}
    for credit in ordered:
        taken = min(credit.amount, to_consume)
        to_consume -= taken
        if credit.amount > taken:
            remaining[credit.id] = credit.amount - taken
    return remaining


def _lots(credits: Iterable[Credit], debits: Iterable[Debit], expire_after_days: int) -> list[Lot]:
    if isinstance(expire_after_days, bool) or not isinstance(expire_after_days, int) or expire_after_days < 1:
        raise ValueError(f"expire_after_days must be an int >= 1, got {expire_after_days!r}")
    credits = list(credits)
    remaining = unspent(credits, debits)
    by_id = {c.id: c for c in credits}
    lifetime = timedelta(days=expire_after_days)
    # Elapsed time in UTC, so a lot lives exactly expire_after_days x 24h whatever the zone's DST.
    return [
        Lot(credit_id, left, by_id[credit_id].at.astimezone(timezone.utc) + lifetime)
        for credit_id, left in remaining.items()
    ]


def expiring(
    credits: Iterable[Credit],
    debits: Iterable[Debit],
    now: datetime,
    expire_after_days: int,
    horizon_days: int = 0,
) -> list[Lot]:
    """Unspent lots whose expiry is at or before now + horizon_days, oldest first."""
    _require_aware(now, "now")
    if horizon_days < 0:
        raise ValueError(f"horizon_days must not be negative, got {horizon_days}")
    # In UTC: adding days to a zone-aware datetime would move by wall clock, not elapsed time.
    cutoff = now.astimezone(timezone.utc) + timedelta(days=horizon_days)
    return [lot for lot in _lots(credits, debits, expire_after_days) if lot.expires_at <= cutoff]


def expiry_due(credits: Iterable[Credit], debits: Iterable[Debit], now: datetime, expire_after_days: int) -> int:
    """Points to expire now. Book the result as one EXPIRY debit; feeding that row back in as a
    Debit makes the next run return 0, since it consumes exactly the lots that were due."""
    return sum(lot.remaining for lot in expiring(credits, debits, now, expire_after_days))


def expiry_warnings(
    credits: Iterable[Credit],
    debits: Iterable[Debit],
    now: datetime,
    expire_after_days: int,
    lookahead_days: int = 7,
) -> list[Lot]:
    """Lots that will expire after now but within lookahead_days, to warn the member in advance.

    Lots already due are left out: the expiry job takes them, so warning about them is too late.
    """
    _require_aware(now, "now")
    return [
        lot
        for lot in expiring(credits, debits, now, expire_after_days, lookahead_days)
        if lot.expires_at > now
    ]


def decay_amount(balance: int, percent: float | int | Decimal) -> int:
    """Points removed by a yearly decay of ``percent`` % of the balance: rounded down (the member
    keeps the fraction), and 0 for an empty or negative balance."""
    try:
        rate = percent if isinstance(percent, Decimal) else Decimal(str(percent))
    except InvalidOperation:
        raise ValueError(f"percent must be a number, got {percent!r}") from None
    if not rate.is_finite() or not 0 <= rate <= 100:
        raise ValueError(f"percent must be between 0 and 100, got {percent!r}")
    if balance <= 0:
        return 0
    return int((Decimal(balance) * rate / 100).to_integral_value(rounding=ROUND_FLOOR))
