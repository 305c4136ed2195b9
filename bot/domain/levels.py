"""Tiers earned from lifetime XP (bronze -> silver -> gold -> platinum -> diamond), progress display,
and the chat-XP cooldown. XP only ever grows, so a tier once reached is never lost."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

__all__ = [
    "Tier",
    "Progress",
    "ChatXpRules",
    "PERK_POST_LINKS",
    "DEFAULT_TIERS",
    "validate_tiers",
    "tier_for",
    "progress",
    "progress_bar",
    "tier_up",
    "chat_xp_due",
]

PERK_POST_LINKS = "post_links"


@dataclass(frozen=True)
class Tier:
    key: str
    min_xp: int
    points_multiplier: float = 1.0
    # The complete perk set of this tier (not a delta), so a tier can be checked on its own.
    perks: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key.strip():
            raise ValueError(f"tier key must be a non-empty string, got {self.key!r}")
        if isinstance(self.min_xp, bool) or not isinstance(self.min_xp, int) or self.min_xp < 0:
            raise ValueError(f"tier {self.key!r}: min_xp must be a non-negative int, got {self.min_xp!r}")
        if not math.isfinite(self.points_multiplier) or self.points_multiplier <= 0:
            raise ValueError(f"tier {self.key!r}: points_multiplier must be > 0, got {self.points_multiplier!r}")
        if isinstance(self.perks, str):
            # frozenset("post_links") would silently become a set of letters.
            raise ValueError(f"tier {self.key!r}: perks must be a collection of strings, not a string")
        object.__setattr__(self, "perks", frozenset(self.perks))


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier("bronze", 0, 1.0),
    Tier("silver", 200, 1.1, frozenset({PERK_POST_LINKS})),
    Tier("gold", 1000, 1.2, frozenset({PERK_POST_LINKS})),
    Tier("platinum", 3000, 1.3, frozenset({PERK_POST_LINKS})),
    Tier("diamond", 8000, 1.5, frozenset({PERK_POST_LINKS})),
)


@dataclass(frozen=True)
class Progress:
    tier: Tier
    next_tier: Tier | None
    into: int  # XP earned since reaching the current tier
    needed: int  # XP still missing to reach next_tier (0 at the top tier)
    fraction: float  # 0.0 .. 1.0 of the way from tier to next_tier (1.0 at the top)

    @property
    def span(self) -> int:
        """XP width of the current tier (into + needed)."""
        return self.into + self.needed


def validate_tiers(tiers: Iterable[Tier]) -> tuple[Tier, ...]:
    """Check a tier ladder from config; returns it as a tuple, raises ValueError naming the problem."""
    ladder = tuple(tiers)
    if not ladder:
        raise ValueError("at least one tier is required")
    if ladder[0].min_xp != 0:
        raise ValueError(
            f"the first tier ({ladder[0].key!r}) must start at 0 XP, not {ladder[0].min_xp}: "
            "otherwise new members would have no tier"
        )
    seen: set[str] = set()
    for tier in ladder:
        if tier.key in seen:
            raise ValueError(f"duplicate tier key {tier.key!r}")
        seen.add(tier.key)
    for lower, upper in zip(ladder, ladder[1:]):
        if upper.min_xp <= lower.min_xp:
            raise ValueError(
                f"tier thresholds must strictly increase: {upper.key!r} ({upper.min_xp} XP) "
                f"comes after {lower.key!r} ({lower.min_xp} XP)"
            )
    return ladder


def _index_for(xp: int, ladder: Sequence[Tier]) -> int:
    index = 0
    for i, tier in enumerate(ladder):
        if xp >= tier.min_xp:
            index = i
        else:
            break
    return index


def tier_for(xp: int, tiers: Iterable[Tier] = DEFAULT_TIERS) -> Tier:
    """The highest tier whose threshold ``xp`` has reached (thresholds are inclusive)."""
    ladder = validate_tiers(tiers)
    return ladder[_index_for(xp, ladder)]


def tier_index(xp: int, ladder: Sequence[Tier]) -> int:
    """tier_for's tier as its index, in a ladder validate_tiers checked already (not checked again per call)."""
    return _index_for(xp, ladder)


def progress(xp: int, tiers: Iterable[Tier] = DEFAULT_TIERS) -> Progress:
    ladder = validate_tiers(tiers)
    xp = max(xp, 0)
    index = _index_for(xp, ladder)
    tier = ladder[index]
    into = xp - tier.min_xp
    if index + 1 == len(ladder):
        return Progress(tier=tier, next_tier=None, into=into, needed=0, fraction=1.0)
    upcoming = ladder[index + 1]
    span = upcoming.min_xp - tier.min_xp
    return Progress(tier=tier, next_tier=upcoming, into=into, needed=upcoming.min_xp - xp, fraction=into / span)


def progress_bar(fraction: float, width: int = 10) -> str:
    """E.g. ``▰▰▰▱▱▱▱▱▱▱`` for 0.3. Rounds down, so the bar is full only at 100%."""
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    if math.isnan(fraction):
        fraction = 0.0
    # Clamp first so huge values cannot overflow; the epsilon keeps 0.3 * 10 = 2.9999999999999996
    # from showing as 2 cells.
    fraction = min(1.0, max(0.0, fraction))
    filled = min(width, math.floor(fraction * width + 1e-9))
    return "▰" * filled + "▱" * (width - filled)


def perk_refused(xp: int, perk: str, tiers: Iterable[Tier] = DEFAULT_TIERS) -> tuple[Tier, Tier] | None:
    """(the member's tier, the first tier with `perk`) when XP `xp` does not give the perk; None when it does,
    or when no tier has it (a perk nobody can earn gates nothing)."""
    ladder = validate_tiers(tiers)
    needed = next((t for t in ladder if perk in t.perks), None)
    tier = tier_for(xp, ladder)
    return None if needed is None or perk in tier.perks else (tier, needed)


def tier_up(old_xp: int, new_xp: int, tiers: Iterable[Tier] = DEFAULT_TIERS) -> Tier | None:
    """The tier reached if going from old_xp to new_xp crosses a threshold (the highest one when
    several are crossed at once), else None. Used to announce promotions exactly once."""
    ladder = validate_tiers(tiers)
    old_index = _index_for(old_xp, ladder)
    new_index = _index_for(new_xp, ladder)
    return ladder[new_index] if new_index > old_index else None


@dataclass(frozen=True)
class ChatXpRules:
    xp_per_message: int = 2
    # One award per cooldown window, so flooding the chat earns no more than chatting normally.
    cooldown_seconds: int = 60
    min_length: int = 1

    def __post_init__(self) -> None:
        for name in ("xp_per_message", "cooldown_seconds", "min_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"ChatXpRules.{name} must be a non-negative int, got {value!r}")


def chat_xp_due(
    last_award_at: datetime | None,
    now: datetime,
    rules: ChatXpRules = ChatXpRules(),
    *,
    message_length: int | None = None,
) -> bool:
    """Whether a message sent at ``now`` earns chat XP.

    message_length (of the stripped text), when given, must reach rules.min_length. A last award
    in the future (clock moved backwards) earns nothing rather than a second award.
    """
    for name, value in (("now", now), ("last_award_at", last_award_at)):
        if value is not None and value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    if rules.xp_per_message == 0:
        return False
    if message_length is not None and message_length < rules.min_length:
        return False
    if last_award_at is None:
        return True
    # Subtract in UTC: two datetimes sharing a ZoneInfo subtract by wall clock, which is an hour
    # off across a DST change.
    elapsed = now.astimezone(timezone.utc) - last_award_at.astimezone(timezone.utc)
    return elapsed >= timedelta(seconds=rules.cooldown_seconds)
