"""The seeds' loyalty ladder (用户忠诚度二维模型): behaviour (how regularly someone comes back) × attitude (whether they
care and speak for the group), with a reward-driven share telling mercenary from committed. Pure.

- behaviour is high when the share of active days (of the observed days in the window) reaches `active_share`, or
  check-in regularity (check-in days ÷ observed days) reaches `checkin_regularity`;
- attitude is high when at least one of: a confirmed referral, accepted feedback, `replies` replies to others, an
  NPS answer of 9–10 — and an NPS answer of 0–6 cancels one of them;
- reward-driven share = (check-ins + shop orders) ÷ (check-ins + shop orders + days with a message more than the
  day's check-in).

Segments, lowest first: none (neither), habitual (behaviour, not reward-driven, no attitude), mercenary (behaviour,
reward-driven), latent (attitude without behaviour), committed (behaviour and attitude), fanatic (committed and
`fanatic_referrals` confirmed referrals). A higher segment is taken at once; a lower one only once it has been what the
numbers say for `grace_days` in a row."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

SEGMENTS = ("none", "habitual", "mercenary", "latent", "committed", "fanatic")
RANK = {s: i for i, s in enumerate(SEGMENTS)}


@dataclass(frozen=True)
class Thresholds:
    window_days: int = 30
    active_share: float = 0.25
    checkin_regularity: float = 0.5
    mercenary_share: float = 0.6
    replies: int = 5
    fanatic_referrals: int = 2
    grace_days: int = 14


@dataclass(frozen=True)
class Signals:
    """One member's numbers over the window (referrals and feedback: ever; NPS: their latest answer)."""

    user_id: int
    observed_days: int  # days of the window they were in the group (at least 1)
    active_days: int = 0
    checkin_days: int = 0
    message_days: int = 0
    orders: int = 0
    replies: int = 0
    referrals: int = 0
    feedback: int = 0
    nps: int | None = None


@dataclass(frozen=True)
class Placement:
    segment: str
    active_share: float
    checkin_regularity: float
    reward_share: float | None
    behaviour: bool
    attitude: int  # attitude points; high when >= 1
    reasons: tuple[str, ...]  # which attitude signals counted: referral, feedback, replies, promoter, detractor


def place(s: Signals, t: Thresholds) -> Placement:
    days = max(1, s.observed_days)
    active_share, regularity = s.active_days / days, s.checkin_days / days
    rewarded = s.checkin_days + s.orders
    reward_share = None if rewarded + s.message_days == 0 else rewarded / (rewarded + s.message_days)
    reasons = []
    if s.referrals:
        reasons.append("referral")
    if s.feedback:
        reasons.append("feedback")
    if s.replies >= t.replies:
        reasons.append("replies")
    if s.nps is not None and s.nps >= 9:
        reasons.append("promoter")
    attitude = len(reasons)
    if s.nps is not None and s.nps <= 6:
        reasons.append("detractor")
        attitude -= 1
    behaviour = active_share >= t.active_share or regularity >= t.checkin_regularity
    mercenary = reward_share is not None and reward_share >= t.mercenary_share
    if behaviour and mercenary:
        segment = "mercenary"
    elif behaviour and attitude >= 1:
        segment = "fanatic" if s.referrals >= t.fanatic_referrals else "committed"
    elif behaviour:
        segment = "habitual"
    elif attitude >= 1:
        segment = "latent"
    else:
        segment = "none"
    return Placement(segment, active_share, regularity, reward_share, behaviour, attitude, tuple(reasons))


@dataclass(frozen=True)
class State:
    """What is stored per member: the segment shown, and a lower one the numbers point to since `pending_since`."""

    segment: str
    since: date
    pending: str | None = None
    pending_since: date | None = None


def settle(state: State | None, computed: str, today: date, grace_days: int) -> State:
    """Upgrades at once; a downgrade only after the numbers have pointed lower for `grace_days` in a row (then to
    what they say that day), so a member does not flap between segments week to week."""
    if state is None:
        return State(computed, today)
    if RANK[computed] >= RANK[state.segment]:
        return State(computed, today) if computed != state.segment else State(state.segment, state.since)
    since = state.pending_since if state.pending is not None and state.pending_since is not None else today
    if (today - since).days >= grace_days:
        return State(computed, today)
    return State(state.segment, state.since, computed, since)


def pyramid(segments: dict[int, str]) -> dict[str, int]:
    counts = {s: 0 for s in SEGMENTS}
    for segment in segments.values():
        counts[segment] += 1
    return counts


def movers(before: dict[int, str], now: dict[int, str]) -> list[tuple[int, str | None, str]]:
    """(user, from, to) for everyone whose segment differs from the snapshot (None: not placed then), up first."""
    moved = [(u, before.get(u), s) for u, s in now.items() if before.get(u) != s]
    return sorted(moved, key=lambda m: (-(RANK[m[2]] - RANK.get(m[1] or "none", 0)), m[0]))
