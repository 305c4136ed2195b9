"""Badges: one-time achievements computed from a member's counters. Each badge is awarded at most
once per member; the caller passes the keys already held and stores the new ones."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "BadgeKind",
    "BadgeRule",
    "MemberStats",
    "DEFAULT_BADGES",
    "validate_badges",
    "badges_earned",
]


class BadgeKind(StrEnum):
    FIRST_CHECKIN = "first_checkin"
    STREAK = "streak"
    CHECKINS_TOTAL = "checkins_total"
    REFERRALS = "referrals"
    TOP_WEEK = "top_week"
    FEEDBACK_ACCEPTED = "feedback_accepted"


@dataclass(frozen=True)
class BadgeRule:
    key: str
    kind: BadgeKind  # plain strings such as "streak" are accepted and converted
    threshold: int
    points_bonus: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key.strip():
            raise ValueError(f"badge key must be a non-empty string, got {self.key!r}")
        try:
            object.__setattr__(self, "kind", BadgeKind(self.kind))
        except ValueError:
            allowed = ", ".join(k.value for k in BadgeKind)
            raise ValueError(f"badge {self.key!r}: unknown kind {self.kind!r} (allowed: {allowed})") from None
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int) or self.threshold < 1:
            # A threshold of 0 would hand the badge to every member who never did anything.
            raise ValueError(f"badge {self.key!r}: threshold must be an int >= 1, got {self.threshold!r}")
        if self.points_bonus < 0:
            raise ValueError(f"badge {self.key!r}: points_bonus must not be negative")


@dataclass(frozen=True)
class MemberStats:
    checkins_total: int = 0
    streak: int = 0
    referrals_confirmed: int = 0
    feedback_accepted: int = 0
    weekly_top_count: int = 0
    # Longest streak ever, if known: lets a late badge run still honour a streak that has since broken.
    best_streak: int = 0

    def value_for(self, kind: BadgeKind) -> int:
        if kind in (BadgeKind.FIRST_CHECKIN, BadgeKind.CHECKINS_TOTAL):
            return self.checkins_total
        if kind is BadgeKind.STREAK:
            return max(self.streak, self.best_streak)
        if kind is BadgeKind.REFERRALS:
            return self.referrals_confirmed
        if kind is BadgeKind.TOP_WEEK:
            return self.weekly_top_count
        return self.feedback_accepted


# Streak badges carry no points: check-in milestones already pay for reaching 7 and 30 days, and
# paying again here would count the same achievement twice.
DEFAULT_BADGES: tuple[BadgeRule, ...] = (
    BadgeRule("first_checkin", BadgeKind.FIRST_CHECKIN, 1, 5),
    BadgeRule("streak_7", BadgeKind.STREAK, 7),
    BadgeRule("streak_30", BadgeKind.STREAK, 30),
    BadgeRule("streak_100", BadgeKind.STREAK, 100),
    BadgeRule("first_referral", BadgeKind.REFERRALS, 1, 10),
    BadgeRule("referrals_10", BadgeKind.REFERRALS, 10, 100),
    BadgeRule("weekly_top", BadgeKind.TOP_WEEK, 1, 50),
    BadgeRule("feedback_accepted", BadgeKind.FEEDBACK_ACCEPTED, 1, 20),
)


def validate_badges(rules: Iterable[BadgeRule]) -> tuple[BadgeRule, ...]:
    """Return the rules as a tuple; raise ValueError on duplicate keys (the key is the award's identity)."""
    ladder = tuple(rules)
    seen: set[str] = set()
    for rule in ladder:
        if rule.key in seen:
            raise ValueError(f"duplicate badge key {rule.key!r}")
        seen.add(rule.key)
    return ladder


def badges_earned(
    stats: MemberStats, rules: Iterable[BadgeRule] = DEFAULT_BADGES, already: Iterable[str] = ()
) -> list[BadgeRule]:
    """Badges the member qualifies for and does not hold yet, in rule order.

    Stats crossing several thresholds at once (e.g. a make-up lifting a streak past 7 and 30)
    yield every badge crossed.
    """
    if isinstance(already, str):
        raise ValueError("already must be a collection of badge keys, not a single string")
    held = set(already)
    return [
        rule
        for rule in validate_badges(rules)
        if rule.key not in held and stats.value_for(rule.kind) >= rule.threshold
    ]
