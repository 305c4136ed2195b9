"""Daily check-in rules: local-day boundaries, streaks, milestone/random bonuses, multipliers and
make-up of missed days. Pure: the caller supplies now/today, the group timezone and the random draw."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.points import AlreadyCheckedInError, MakeupWindowError, NothingToMakeUpError

__all__ = [
    "CheckinRules",
    "CheckinReward",
    "MilestoneHit",
    "zone",
    "local_day",
    "next_checkin_at",
    "ensure_not_checked_in",
    "next_streak",
    "milestone_bonus",
    "next_milestone",
    "draw_random_bonus",
    "combined_multiplier",
    "apply_multiplier",
    "checkin_reward",
    "run_length",
    "current_streak",
    "makeup_target",
    "streak_after_makeup",
    "makeup_milestones",
]

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class CheckinRules:
    """Per-group check-in settings.

    streak_bonus: (streak_length, bonus) pairs. A bonus is paid only on the day the streak reaches
    exactly that length, not on every later day: the reward is for getting there, and paying it
    daily would make long streaks dominate the economy. Past the largest milestone no more
    milestone bonuses are paid until the streak breaks and climbs again.
    random_bonus: inclusive (low, high) range for an extra random amount, or None.
    makeup_window_days: how many days back a missed day can still be repaired; 0 disables make-up.
    """

    base: int = 10
    streak_bonus: tuple[tuple[int, int], ...] = ((3, 5), (7, 20), (30, 100))
    random_bonus: tuple[int, int] | None = None
    xp: int = 10
    makeup_cost: int = 30
    makeup_window_days: int = 3

    def __post_init__(self) -> None:
        for name in ("base", "xp", "makeup_cost", "makeup_window_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"CheckinRules.{name} must be a non-negative int, got {value!r}")
        pairs = tuple(sorted((int(days), int(bonus)) for days, bonus in self.streak_bonus))
        seen: set[int] = set()
        for days, bonus in pairs:
            if days < 1 or bonus < 0:
                raise ValueError(f"streak_bonus entries need days >= 1 and bonus >= 0, got {(days, bonus)}")
            if days in seen:
                raise ValueError(f"streak_bonus lists {days} days twice")
            seen.add(days)
        # Sorted so next_milestone can scan in order whatever order the config listed them in.
        object.__setattr__(self, "streak_bonus", pairs)
        if self.random_bonus is not None:
            low, high = (int(v) for v in self.random_bonus)
            if low < 0 or high < low:
                raise ValueError(f"random_bonus must be (low, high) with 0 <= low <= high, got {self.random_bonus}")
            object.__setattr__(self, "random_bonus", (low, high))


@dataclass(frozen=True)
class CheckinReward:
    day: date
    streak: int
    base: int
    streak_bonus: int
    random_bonus: int
    multiplier: Decimal  # tier multiplier x campaign multiplier
    total: int  # (base + streak_bonus + random_bonus) x multiplier, rounded half up
    xp: int
    next_milestone: tuple[int, int] | None  # (streak length, bonus) of the next milestone, if any

    @property
    def subtotal(self) -> int:
        return self.base + self.streak_bonus + self.random_bonus

    @property
    def days_to_next_milestone(self) -> int | None:
        return None if self.next_milestone is None else self.next_milestone[0] - self.streak


@dataclass(frozen=True)
class MilestoneHit:
    """A streak milestone newly reached because a make-up joined two runs."""

    day: date  # the check-in day on which the joined run reaches `streak`
    streak: int
    bonus: int


def zone(tz: str) -> ZoneInfo:
    """ZoneInfo for a group's timezone name; unknown names raise ValueError (a config error)."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown timezone {tz!r}") from exc


def _require_aware(instant: datetime, name: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {instant!r}")


def local_day(instant: datetime, tz: str) -> date:
    """The calendar day ``instant`` falls on in the group's timezone."""
    _require_aware(instant, "instant")
    return instant.astimezone(zone(tz)).date()


def next_checkin_at(today: date, tz: str) -> datetime:
    """The instant the local day after ``today`` begins, as an aware datetime in UTC.

    Usually local midnight. Where a DST jump skips midnight (e.g. America/Santiago, America/Havana)
    the day begins at the first wall time that exists (01:00); where midnight happens twice, the
    first occurrence counts. Days around DST changes are therefore 23 or 25 hours long.

    UTC rather than the group zone on purpose: Python compares and subtracts datetimes that share
    a ZoneInfo by wall clock (a 23-hour DST day would come out as 24h) and treats ambiguous wall
    times as unequal to every other zone. Use ``.astimezone(zone(tz))`` only to display it.
    """
    zi = zone(tz)
    # fold=0 resolves a skipped wall time with the pre-transition offset, which lands exactly on the
    # transition instant, and an ambiguous one to its first occurrence: both are the day's start.
    start = datetime.combine(today + _ONE_DAY, time(0, 0), tzinfo=zi)
    return start.astimezone(timezone.utc)


def ensure_not_checked_in(last_checkin_at: datetime | None, now: datetime, tz: str) -> date:
    """Return today's local day, or raise AlreadyCheckedInError if the member already checked in today."""
    today = local_day(now, tz)
    if last_checkin_at is not None and local_day(last_checkin_at, tz) >= today:
        raise AlreadyCheckedInError(last_checkin_at, next_checkin_at(today, tz))
    return today


def next_streak(last_day: date | None, streak: int, today: date) -> int:
    """Streak after checking in on ``today``: +1 after yesterday's check-in, otherwise back to 1.

    Checking in twice on one day is not a streak question: guard with ensure_not_checked_in first.
    """
    if streak < 0:
        raise ValueError(f"streak must not be negative, got {streak}")
    if last_day is None:
        return 1
    if today <= last_day:
        raise ValueError(f"today ({today}) must be after the last check-in day ({last_day})")
    return streak + 1 if today - last_day == _ONE_DAY else 1


def milestone_bonus(streak: int, rules: CheckinRules) -> int:
    """The bonus due on the day the streak reaches exactly ``streak`` (0 if it is not a milestone)."""
    for days, bonus in rules.streak_bonus:
        if days == streak:
            return bonus
    return 0


def next_milestone(streak: int, rules: CheckinRules) -> tuple[int, int] | None:
    """The first milestone strictly beyond ``streak``, as (streak length, bonus)."""
    for days, bonus in rules.streak_bonus:
        if days > streak:
            return (days, bonus)
    return None


def draw_random_bonus(rules: CheckinRules, rng_value: int | None) -> int:
    """Map a caller-drawn integer (e.g. ``secrets.randbits(32)``) into the random-bonus range.

    Taking the draw as an argument keeps the reward reproducible in tests and the simulator.
    """
    if rules.random_bonus is None:
        return 0
    if rng_value is None:
        # Silently paying 0 would hide a wiring bug, so a configured range demands a draw.
        raise ValueError("rules.random_bonus is set, so rng_value is required")
    low, high = rules.random_bonus
    return low + rng_value % (high - low + 1)


def _as_decimal(value: float | int | Decimal, name: str) -> Decimal:
    # str() first so 1.15 means 1.15, not 1.149999999999999911182158029987...
    result = value if isinstance(value, Decimal) else Decimal(str(value))
    if not result.is_finite() or result < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return result


def combined_multiplier(
    tier_multiplier: float | Decimal = 1.0, campaign_multiplier: float | Decimal = 1.0
) -> Decimal:
    return _as_decimal(tier_multiplier, "tier_multiplier") * _as_decimal(campaign_multiplier, "campaign_multiplier")


def apply_multiplier(amount: int, multiplier: float | Decimal) -> int:
    """``amount x multiplier`` rounded half up (x.5 always goes up, in the member's favour)."""
    product = Decimal(amount) * _as_decimal(multiplier, "multiplier")
    return int(product.to_integral_value(rounding=ROUND_HALF_UP))


def checkin_reward(
    last_day: date | None,
    streak: int,
    today: date,
    rules: CheckinRules,
    *,
    tier_multiplier: float | Decimal = 1.0,
    campaign_multiplier: float | Decimal = 1.0,
    rng_value: int | None = None,
) -> CheckinReward:
    """What a check-in on ``today`` pays, given the previous check-in day and the streak stored with it.

    The multiplier applies to base + milestone + random bonus; XP is not multiplied, because XP
    decides the tier and a tier-boosted XP would snowball.
    """
    new_streak = next_streak(last_day, streak, today)
    bonus = milestone_bonus(new_streak, rules)
    extra = draw_random_bonus(rules, rng_value)
    multiplier = combined_multiplier(tier_multiplier, campaign_multiplier)
    return CheckinReward(
        day=today,
        streak=new_streak,
        base=rules.base,
        streak_bonus=bonus,
        random_bonus=extra,
        multiplier=multiplier,
        total=apply_multiplier(rules.base + bonus + extra, multiplier),
        xp=rules.xp,
        next_milestone=next_milestone(new_streak, rules),
    )


def run_length(checked_days: set[date] | frozenset[date], end: date) -> int:
    """Number of consecutive checked days ending at ``end`` (0 if ``end`` itself is not checked)."""
    length = 0
    day = end
    while day in checked_days:
        length += 1
        day -= _ONE_DAY
    return length


def current_streak(checked_days: set[date] | frozenset[date], today: date) -> int:
    """The live streak to show a member: the run ending today, or yesterday if today is not checked
    in yet (it can still continue); 0 once yesterday was missed too."""
    if today in checked_days:
        return run_length(checked_days, today)
    return run_length(checked_days, today - _ONE_DAY)


def makeup_target(
    checked_days: set[date] | frozenset[date], today: date, window_days: int, made_up: set[date] | frozenset[date] = frozenset(),
) -> date:
    """The most recent missed day within the make-up window (today-window_days .. yesterday).

    A day counts as missed only if a check-in within reach precedes it (on or after
    today-window_days-1), so the whole gap lies inside the window and repairing it can rejoin the
    streak. Most recent first means a two-day hole takes two make-ups, yesterday's first.
    ``checked_days`` needs the recent days plus the member's last check-in day if older, so that
    "streak broke too long ago" (MakeupWindowError) can be told from "never checked in / nothing
    missed" (NothingToMakeUpError); passing all the member's check-in days is simplest. ``made_up``: those
    of them that were make-ups — a run a make-up already repaired has nothing left to repair, even when an
    older gap lies beyond the window.
    """
    if window_days < 1:
        raise MakeupWindowError(window_days)
    past = {d for d in checked_days if d < today}
    earliest_anchor = today - timedelta(days=window_days + 1)
    missed = [  # most recent first
        today - timedelta(days=back)
        for back in range(1, window_days + 1)
        if today - timedelta(days=back) not in past
    ]
    if not past:
        # No earlier check-in to reconnect to: "never" only when there is none at all, today's included
        # (a first check-in today is a streak of one, whole).
        raise NothingToMakeUpError(never=not any(d <= today for d in checked_days))
    if not missed:
        raise NothingToMakeUpError()  # every day in the window is checked
    anchors = [d for d in past if d >= earliest_anchor]
    if anchors:
        first_anchor = min(anchors)
        for day in missed:
            if day > first_anchor:
                return day
        if any(first_anchor <= d < today for d in made_up):
            # A make-up already joined this run: it is whole, and what lies before it was never in reach.
            raise NothingToMakeUpError()
    if any(d < earliest_anchor for d in past):
        # The gap reaches back beyond the window: no make-up within it can rejoin the old streak.
        raise MakeupWindowError(window_days)
    # The only missed days precede the member's first check-in; they were never part of a streak.
    raise NothingToMakeUpError()


def streak_after_makeup(checked_days_including_new: set[date] | frozenset[date], today: date) -> int:
    """The streak to store after a make-up: the run ending at the latest check-in day on or before
    ``today`` (today if already checked in, else usually yesterday).

    This is the value that belongs next to ``last_day`` for next_streak; if that latest day is
    before yesterday the run is already broken and the next check-in restarts at 1 regardless
    (use current_streak for display). The set must hold the whole run being counted — a history
    cut at N days caps the answer at N — so pass all the member's check-in days.
    """
    past = [d for d in checked_days_including_new if d <= today]
    if not past:
        return 0
    return run_length(checked_days_including_new, max(past))


def makeup_milestones(
    checked_days_before: set[date] | frozenset[date], made_up: date, rules: CheckinRules
) -> tuple[MilestoneHit, ...]:
    """Milestones the joined run reaches that neither piece reached before the make-up.

    Joining a left run of L days and a right run of R days through ``made_up`` gives L+1+R days.
    Milestones up to max(L, R) were already paid by real check-ins, so only those in
    (max(L, R), L+1+R] are new; each is dated on the day the joined run reaches it. Pay each with
    Reason.MILESTONE keyed by (chat, user, hit.day). The history must reach back at least as many
    days as the largest milestone, or an old run looks short and its milestones would be paid again.
    """
    if made_up in checked_days_before:
        raise ValueError(f"{made_up} is already checked in")
    left = run_length(checked_days_before, made_up - _ONE_DAY)
    right = 0
    while made_up + timedelta(days=right + 1) in checked_days_before:
        right += 1
    already = max(left, right)
    joined = left + 1 + right
    start = made_up - timedelta(days=left)
    return tuple(
        MilestoneHit(day=start + timedelta(days=days - 1), streak=days, bonus=bonus)
        for days, bonus in rules.streak_bonus
        if already < days <= joined
    )
