"""Badges are earned once, when a member's counters reach the threshold."""
from __future__ import annotations

import pytest

from bot.domain.badges import DEFAULT_BADGES, BadgeKind, BadgeRule, MemberStats, badges_earned, validate_badges


def keys(rules):
    return [r.key for r in rules]


def test_default_badges():
    assert keys(DEFAULT_BADGES) == [
        "first_checkin", "streak_7", "streak_30", "streak_100",
        "first_referral", "referrals_10", "weekly_top", "feedback_accepted",
    ]
    # Streak milestones already pay at check-in; the badges must not pay the same thing again.
    assert all(r.points_bonus == 0 for r in DEFAULT_BADGES if r.kind is BadgeKind.STREAK)


def test_new_member_has_no_badges():
    assert badges_earned(MemberStats(), DEFAULT_BADGES, set()) == []


def test_first_checkin_earns_first_badge():
    earned = badges_earned(MemberStats(checkins_total=1, streak=1), DEFAULT_BADGES, set())
    assert keys(earned) == ["first_checkin"]
    assert earned[0].points_bonus == 5


def test_badges_are_not_re_awarded():
    stats = MemberStats(checkins_total=8, streak=7)
    first = badges_earned(stats, DEFAULT_BADGES, set())
    assert keys(first) == ["first_checkin", "streak_7"]
    again = badges_earned(stats, DEFAULT_BADGES, {r.key for r in first})
    assert again == []
    # A day later only what is genuinely new shows up.
    later = badges_earned(MemberStats(checkins_total=30, streak=30), DEFAULT_BADGES, {r.key for r in first})
    assert keys(later) == ["streak_30"]


def test_crossing_several_thresholds_at_once_yields_all():
    stats = MemberStats(checkins_total=100, streak=100, referrals_confirmed=12, feedback_accepted=1,
                        weekly_top_count=2)
    assert keys(badges_earned(stats, DEFAULT_BADGES, {"first_checkin"})) == [
        "streak_7", "streak_30", "streak_100", "first_referral", "referrals_10", "weekly_top", "feedback_accepted",
    ]


def test_thresholds_are_inclusive_and_exact():
    assert keys(badges_earned(MemberStats(referrals_confirmed=9), DEFAULT_BADGES, set())) == ["first_referral"]
    assert "referrals_10" in keys(badges_earned(MemberStats(referrals_confirmed=10), DEFAULT_BADGES, set()))
    assert "streak_7" not in keys(badges_earned(MemberStats(checkins_total=6, streak=6), DEFAULT_BADGES, set()))


def test_broken_streak_still_honoured_through_best_streak():
    stats = MemberStats(checkins_total=40, streak=1, best_streak=31)
    assert keys(badges_earned(stats, DEFAULT_BADGES, {"first_checkin"})) == ["streak_7", "streak_30"]


def test_checkins_total_kind():
    rules = [BadgeRule("regular", "checkins_total", 50, 25)]
    assert badges_earned(MemberStats(checkins_total=49), rules, set()) == []
    earned = badges_earned(MemberStats(checkins_total=50), rules, set())
    assert keys(earned) == ["regular"] and earned[0].kind is BadgeKind.CHECKINS_TOTAL


@pytest.mark.parametrize(
    "kwargs",
    [
        {"key": "x", "kind": "karma", "threshold": 1},
        {"key": "", "kind": "streak", "threshold": 1},
        {"key": "x", "kind": "streak", "threshold": 0},
        {"key": "x", "kind": "streak", "threshold": 1, "points_bonus": -1},
    ],
)
def test_invalid_badge_rules_are_refused(kwargs):
    with pytest.raises(ValueError):
        BadgeRule(**kwargs)


def test_duplicate_badge_keys_are_refused():
    rules = [BadgeRule("a", "streak", 3), BadgeRule("a", "streak", 7)]
    with pytest.raises(ValueError, match="duplicate badge key"):
        validate_badges(rules)
    with pytest.raises(ValueError):
        badges_earned(MemberStats(streak=10), rules, set())


def test_already_as_single_string_is_refused():
    with pytest.raises(ValueError):
        badges_earned(MemberStats(checkins_total=1), DEFAULT_BADGES, "first_checkin")  # type: ignore[arg-type]
