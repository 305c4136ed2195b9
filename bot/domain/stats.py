"""The stats' definitions, written once (the README and every chart's footnote repeat them): active, DAU/WAU/MAU,
stickiness, weekly lifecycle, churn, retention cohorts. Pure: days are the group's local calendar days, passed in.

- active: sent a message or checked in (not a make-up check-in) that day. Bots and Sticky are never counted; admins
  are counted apart and left out of every member figure — on the days they were admins (for any part of the day):
  someone promoted or demoted is a member on their other days.
- DAU: members active on one calendar day in group time; a period's DAU is the average over its days.
- WAU / MAU: members active at least once in the trailing 7 / 30 days ending on the day.
- stickiness: a period's DAU ÷ the MAU on its last day.
- weekly lifecycle (weeks start on Monday): new = joined that week (the join date, not the first message seen);
  returning = active that week and the week before; resurrecting = active that week, not the week before, joined
  earlier; dormant = active the week before, not that week.
- churned: left (and not back), or present but silent (no active day) for `silent_days` (30 by default).
- retention: of the members whose first join fell in week W, the share active in week W+N (bounded) or in week W+N or
  any later week (unbounded); a week counts once it is over.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

PERIODS = {"7d": 7, "30d": 30, "90d": 90}
LIFECYCLE = ("new", "returning", "resurrecting", "dormant")


def window(end: date, days: int) -> tuple[date, date]:
    """The `days` calendar days ending on `end`, both ends included."""
    return end - timedelta(days=days - 1), end


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


@dataclass(frozen=True)
class History:
    """One member as the stats see them: active days, joins and leaves (local days, in order)."""

    user_id: int
    active_days: frozenset[date] = frozenset()
    events: tuple[tuple[date, str], ...] = ()  # (day, "join" | "leave"), in the order they happened
    first_seen: date | None = None  # when Sticky first knew of them (members from before Sticky have no join)
    admin: bool = False  # an owner/admin all along
    admin_days: frozenset[date] = frozenset()  # or only on these days (an admin for any part of them)

    @property
    def first_join(self) -> date | None:
        return next((d for d, kind in self.events if kind == "join"), None)

    def active_between(self, start: date, end: date) -> bool:
        if (end - start).days < len(self.active_days):
            return any(start + timedelta(days=i) in self.active_days for i in range((end - start).days + 1))
        return any(start <= d <= end for d in self.active_days)

    def present_on(self, day: date) -> bool:
        """In the group at the end of `day`: the last join or leave on or before it says; before the first event,
        someone whose first event is a leave was already there (they joined before Sticky came)."""
        last = None
        for d, kind in self.events:
            if d > day:
                break
            last = kind
        if last is None:
            return not self.events or self.events[0][1] == "leave"
        return last == "join"

    def last_active(self, day: date) -> date | None:
        return max((d for d in self.active_days if d <= day), default=None)


def active_count(histories: Iterable[History], start: date, end: date) -> int:
    return sum(1 for h in histories if not h.admin and h.active_between(start, end))


def dau(histories: Iterable[History], day: date) -> int:
    return active_count(histories, day, day)


def wau(histories: Iterable[History], day: date) -> int:
    return active_count(histories, *window(day, 7))


def mau(histories: Iterable[History], day: date) -> int:
    return active_count(histories, *window(day, 30))


def trailing_counts(member_days: Iterable[list[int]], first: date, last: date, width: int) -> list[int]:
    """For each day first..last, how many members were active in the `width` days ending on it (WAU: 7, MAU: 30),
    from each member's sorted active days as ordinals; one pass over the member-days (a day covers itself and the
    width - 1 days after it)."""
    lo, hi = first.toordinal(), last.toordinal()
    diff = [0] * (hi - lo + 2)
    for days in member_days:
        covered = None  # the last day this member already counts on
        for d in days:
            start = d if covered is None else max(d, covered + 1)
            covered = d + width - 1
            a, b = max(start, lo), min(covered, hi)
            if a <= b:
                diff[a - lo] += 1
                diff[b - lo + 1] -= 1
    out, running = [], 0
    for step in diff[:-1]:
        running += step
        out.append(running)
    return out


def stickiness(average_dau: float, monthly: int) -> float | None:
    return None if monthly == 0 else average_dau / monthly


def lifecycle(h: History, week: date) -> str | None:
    """Where one member stands in the week starting on `week` (a Monday)."""
    end = week + timedelta(days=6)
    first = h.first_join
    if first is not None and week <= first <= end:
        return "new"
    this, last = h.active_between(week, end), h.active_between(week - timedelta(days=7), week - timedelta(days=1))
    if this and last:
        return "returning"
    if this:
        return "resurrecting"
    if last:
        return "dormant"
    return None


def lifecycle_of_sets(active: set[int], active_before: set[int], new: set[int]) -> dict[str, int]:
    """lifecycle() for whole sets, as storage reads them: the members active in the week, those active in the week
    before, and the week's new members (first joined in it; new outranks the rest)."""
    return {"new": len(new), "returning": len((active & active_before) - new),
            "resurrecting": len(active - active_before - new), "dormant": len(active_before - active - new)}


def lifecycle_counts(histories: Iterable[History], week: date) -> dict[str, int]:
    """How many members stand where in the week (lifecycle), on their days as members (see History.admin_days); who
    was an admin on the day of their first join is no new member."""
    counts: Counter[str | None] = Counter()
    for h in histories:
        kind = None if h.admin else lifecycle(replace(h, active_days=h.active_days - h.admin_days), week)
        if not (kind == "new" and h.first_join in h.admin_days):
            counts[kind] += 1
    return {kind: counts.get(kind, 0) for kind in LIFECYCLE}


def churned(h: History, day: date, silent_days: int = 30) -> str | None:
    """'left' (out of the group at the end of `day`), 'silent' (present, no active day for `silent_days` days,
    counting from their last active day, last join or first sighting, whichever is latest), or None."""
    known = [d for d in (h.first_seen, h.first_join) if d is not None and d <= day]
    if not known and not h.active_days:
        return None  # not a member yet
    if not h.present_on(day):
        return "left" if any(d <= day for d, _ in h.events) else None
    joins = [d for d, kind in h.events if kind == "join" and d <= day]
    marks = [d for d in (h.last_active(day), max(joins, default=None), h.first_seen) if d is not None and d <= day]
    if not marks:
        return None
    return "silent" if (day - max(marks)).days >= silent_days else None


@dataclass(frozen=True)
class WeekChurn:
    week: date
    base: int  # members not churned at the end of the week before
    churned: int  # of them, churned by the end of this week

    @property
    def rate(self) -> float | None:
        return None if self.base == 0 else self.churned / self.base


def weekly_churn(histories: Iterable[History], week: date, silent_days: int = 30) -> WeekChurn:
    before, end = week - timedelta(days=1), week + timedelta(days=6)
    base = lost = 0
    for h in histories:
        if h.admin or not _known_by(h, before) or churned(h, before, silent_days) is not None:
            continue
        base += 1
        lost += churned(h, end, silent_days) is not None
    return WeekChurn(week, base, lost)


def _known_by(h: History, day: date) -> bool:
    return any(d <= day for d in (h.first_seen, h.first_join) if d is not None) or any(d <= day for d in h.active_days)


def churn_boundaries(first_week: date, weeks: int) -> list[date]:
    """The Sundays weekly churn judges members on: the end of the week before `first_week`, then each week's end."""
    return [first_week - timedelta(days=1) + timedelta(days=7 * k) for k in range(weeks + 1)]


def churn_marks(boundaries: list[date], silent_days: int, first_seen: date, first_active: date | None,
                events: tuple[tuple[date, str], ...], active: int) -> tuple[int, int]:
    """One member's churn on every boundary as two bit masks (bit k: boundary k): known (Sticky knew of them by then)
    and not churned — what churned() says, from compact facts: `active` has bit k when the member was active in the
    `silent_days` ending on boundary k; `first_active` is their first active day ever (None: never); `events` all
    their joins and leaves, in order. Only a boundary where they are known is ever asked (weekly_churn)."""
    first_join = next((d for d, kind in events if kind == "join"), None)
    start = min(d for d in (first_seen, first_join, first_active) if d is not None)
    first_kind = events[0][1] if events else None
    known = kept = i = 0
    last_kind = last_join = None
    for k, day in enumerate(boundaries):
        while i < len(events) and events[i][0] <= day:
            last_kind = events[i][1]
            if last_kind == "join":
                last_join = events[i][0]
            i += 1
        if start > day:
            continue
        bit = 1 << k
        known |= bit
        if last_kind is None and first_kind == "join":
            kept |= bit  # their first event, a join, is still to come: not a member yet, not churned
        elif last_kind == "leave":
            continue  # left
        else:  # present: not churned if active, first seen or last joined in the silent_days ending on the day
            since = day - timedelta(days=silent_days - 1)
            if active & bit or since <= first_seen <= day or (last_join is not None and last_join >= since):
                kept |= bit
    return known, kept


def churn_from_marks(first_week: date, weeks: int, marks: Mapping[tuple[int, int], int]) -> list[WeekChurn]:
    """weekly_churn of each of `weeks` weeks from `first_week`, from how many members (not admins) have each pair of
    masks (known, not churned) of churn_marks: week i's base is known and not churned on boundary i, of whom the
    churned are those churned on boundary i + 1."""
    out = []
    for i in range(weeks):
        base = lost = 0
        for (known, kept), n in marks.items():
            if known >> i & 1 and kept >> i & 1:
                base += n
                lost += n * (not kept >> (i + 1) & 1)
        out.append(WeekChurn(first_week + timedelta(days=7 * i), base, lost))
    return out


@dataclass(frozen=True)
class Cohort:
    week: date
    size: int
    retained: tuple[int | None, ...]  # members retained in W+1, W+2…; None = that week is not over yet

    @property
    def shares(self) -> tuple[float | None, ...]:
        return tuple(None if n is None or self.size == 0 else n / self.size for n in self.retained)


def cohorts(histories: Iterable[History], first_week: date, last_week: date, today: date,
            weeks: int = 8, unbounded: bool = False) -> list[Cohort]:
    """Weekly cohorts of joiners (by first join) from `first_week` to `last_week` (Mondays)."""
    by_week: dict[date, list[History]] = {}
    for h in histories:
        first = h.first_join
        if h.admin or first is None:
            continue
        w = week_start(first)
        if first_week <= w <= last_week:
            by_week.setdefault(w, []).append(h)
    out = []
    w = first_week
    while w <= last_week:
        members = by_week.get(w, [])
        retained: list[int | None] = []
        for n in range(1, weeks + 1):
            start = w + timedelta(days=7 * n)
            end = start + timedelta(days=6)
            if end >= today:
                retained.append(None)
                continue
            stop = today if unbounded else end
            retained.append(sum(1 for h in members if h.active_between(start, stop)))
        out.append(Cohort(w, len(members), tuple(retained)))
        w += timedelta(days=7)
    return out


def cohorts_from_days(joiners: Iterable[tuple[date, Iterable[date]]], first_week: date, last_week: date,
                      today: date, weeks: int = 8, unbounded: bool = False) -> list[Cohort]:
    """cohorts() from each joiner (not an admin) as (the week of their first join, their active days after it)."""
    sizes: Counter[date] = Counter()
    hits: Counter[tuple[date, int]] = Counter()  # (cohort, n): members active in week W+n (bounded)
    reach: Counter[tuple[date, int]] = Counter()  # (cohort, n): members whose latest active week by today is W+n
    for week, days in joiners:
        if not first_week <= week <= last_week:
            continue
        sizes[week] += 1
        seen = {(d - week).days // 7 for d in days if d <= today and d >= week + timedelta(days=7)}
        for n in seen:
            hits[week, n] += 1
        if seen:
            reach[week, max(seen)] += 1
    out = []
    w = first_week
    while w <= last_week:
        retained: list[int | None] = []
        for n in range(1, weeks + 1):
            if w + timedelta(days=7 * n + 6) >= today:
                retained.append(None)
            elif unbounded:
                retained.append(sum(c for (cw, m), c in reach.items() if cw == w and m >= n))
            else:
                retained.append(hits[w, n])
        out.append(Cohort(w, sizes[w], tuple(retained)))
        w += timedelta(days=7)
    return out


@dataclass(frozen=True)
class PeriodCounts:
    """What storage counts for one period of local days (members only; admins in the admin_* fields)."""

    start: date
    end: date
    daily_active: Mapping[date, int] = field(default_factory=dict)  # DAU per day; missing days are 0
    daily_messages: Mapping[date, int] = field(default_factory=dict)
    wau: int = 0  # trailing 7 days ending on `end`
    mau: int = 0  # trailing 30 days ending on `end`
    checkins: int = 0
    joins: int = 0  # joins and leaves count everyone but bots (admins come and go too)
    leaves: int = 0
    orders: int = 0
    referrals: int = 0  # confirmed in the period
    moderation: int = 0  # actions against members (warn, mute, ban, kick, delete, purge), by hand or by a rule
    moderation_by_rules: int = 0
    admin_active: int = 0
    admin_messages: int = 0

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class PeriodStats:
    days: int
    dau: float
    wau: int
    mau: int
    stickiness: float | None
    messages: int
    messages_per_day: float
    checkins: int
    checkin_rate: float | None  # check-ins ÷ active member-days
    joins: int
    leaves: int
    growth: int
    orders: int
    referrals: int
    moderation: int
    moderation_by_rules: int
    admin_active: int
    admin_messages: int


def period_stats(c: PeriodCounts) -> PeriodStats:
    days = c.days
    active_days = sum(c.daily_active.get(d, 0) for d in days_between(c.start, c.end))
    messages = sum(c.daily_messages.get(d, 0) for d in days_between(c.start, c.end))
    average = active_days / days
    return PeriodStats(
        days=days, dau=average, wau=c.wau, mau=c.mau, stickiness=stickiness(average, c.mau),
        messages=messages, messages_per_day=messages / days, checkins=c.checkins,
        checkin_rate=None if active_days == 0 else c.checkins / active_days,
        joins=c.joins, leaves=c.leaves, growth=c.joins - c.leaves, orders=c.orders, referrals=c.referrals,
        moderation=c.moderation, moderation_by_rules=c.moderation_by_rules, admin_active=c.admin_active, admin_messages=c.admin_messages,
    )


def counts_from_histories(histories: list[History], start: date, end: date,
                          messages: Mapping[tuple[int, date], int] | None = None) -> PeriodCounts:
    """The same counts storage makes, from hand-made histories: what the storage tests compare SQL against."""
    # A member's days as an admin are the admins': on those days they are counted apart, on the others as a member.
    members = [replace(h, active_days=h.active_days - h.admin_days) for h in histories if not h.admin]
    messages = messages or {}
    daily = {d: dau(members, d) for d in days_between(start, end)}
    per_day: Counter[date] = Counter()
    for (user_id, d), n in messages.items():
        if start <= d <= end and any(h.user_id == user_id and d not in h.admin_days for h in members):
            per_day[d] += n
    return PeriodCounts(
        start=start, end=end, daily_active={d: n for d, n in daily.items() if n},
        daily_messages=dict(per_day), wau=wau(members, end), mau=mau(members, end),
        joins=sum(1 for h in histories for d, k in h.events if k == "join" and start <= d <= end),
        leaves=sum(1 for h in histories for d, k in h.events if k == "leave" and start <= d <= end),
    )


def change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before
