"""Check-in behaviour a member notices: day boundaries in the group's timezone, streaks, milestone
and random bonuses, multipliers, and repairing a missed day."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, strategies as st

from bot.domain.checkin import (
    CheckinRules,
    MilestoneHit,
    apply_multiplier,
    checkin_reward,
    current_streak,
    ensure_not_checked_in,
    local_day,
    makeup_milestones,
    makeup_target,
    next_checkin_at,
    next_streak,
    run_length,
    streak_after_makeup,
)
from bot.domain.points import AlreadyCheckedInError, MakeupWindowError, NothingToMakeUpError

UTC = timezone.utc
RULES = CheckinRules()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def days(start: date, *offsets: int) -> set[date]:
    return {start + timedelta(days=o) for o in offsets}


# --- local day boundaries -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "last_of_day", "first_of_next"),
    [
        # UTC+8, no DST: the Shanghai day turns at 16:00 UTC.
        ("Asia/Shanghai", utc(2026, 3, 1, 15, 59, 59), utc(2026, 3, 1, 16)),
        # EST (-5) in winter.
        ("America/New_York", utc(2026, 3, 2, 4, 59, 59), utc(2026, 3, 2, 5)),
        # NZDT (+13) in the southern summer: the 2 March local day starts on 1 March UTC.
        ("Pacific/Auckland", utc(2026, 3, 1, 10, 59, 59), utc(2026, 3, 1, 11)),
    ],
)
def test_local_day_turns_at_local_midnight(tz, last_of_day, first_of_next):
    assert local_day(last_of_day, tz) == date(2026, 3, 1)
    assert local_day(first_of_next, tz) == date(2026, 3, 2)


def test_local_day_refuses_naive_datetimes_and_unknown_zones():
    with pytest.raises(ValueError):
        local_day(datetime(2026, 3, 1, 12), "Asia/Shanghai")
    with pytest.raises(ValueError):
        local_day(utc(2026, 3, 1), "Mars/Olympus_Mons")


def test_shanghai_member_checks_in_before_and_after_local_midnight():
    tz = "Asia/Shanghai"
    first = utc(2026, 3, 1, 15, 50)  # 23:50 local
    today = ensure_not_checked_in(None, first, tz)
    reward1 = checkin_reward(None, 0, today, RULES)
    # Ten minutes later it is a new local day, although still 1 March in UTC.
    second = utc(2026, 3, 1, 16, 0)
    today2 = ensure_not_checked_in(first, second, tz)
    reward2 = checkin_reward(reward1.day, reward1.streak, today2, RULES)
    assert (reward1.day, reward2.day) == (date(2026, 3, 1), date(2026, 3, 2))
    assert reward2.streak == 2


def test_second_checkin_same_local_day_is_refused_with_reopen_time():
    tz = "America/New_York"
    first = utc(2026, 3, 2, 5, 0)  # 00:00 EST, 2 March
    with pytest.raises(AlreadyCheckedInError) as info:
        ensure_not_checked_in(first, utc(2026, 3, 3, 4, 59), tz)  # 23:59 EST, still 2 March
    assert info.value.at == first
    assert info.value.next_at == utc(2026, 3, 3, 5, 0)
    assert ensure_not_checked_in(first, utc(2026, 3, 3, 5, 0), tz) == date(2026, 3, 3)


# --- next_checkin_at across DST ------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "today", "expected_utc"),
    [
        ("Asia/Shanghai", date(2026, 3, 1), utc(2026, 3, 1, 16)),
        # New York springs forward at 02:00 on 8 March 2026: that day lasts 23 hours.
        ("America/New_York", date(2026, 3, 7), utc(2026, 3, 8, 5)),
        ("America/New_York", date(2026, 3, 8), utc(2026, 3, 9, 4)),
        # ...and falls back on 1 November 2026: that day lasts 25 hours.
        ("America/New_York", date(2026, 10, 31), utc(2026, 11, 1, 4)),
        ("America/New_York", date(2026, 11, 1), utc(2026, 11, 2, 5)),
        # Auckland falls back on 5 April 2026 (NZDT +13 -> NZST +12)...
        ("Pacific/Auckland", date(2026, 4, 4), utc(2026, 4, 4, 11)),
        ("Pacific/Auckland", date(2026, 4, 5), utc(2026, 4, 5, 12)),
        # ...and springs forward on 27 September 2026.
        ("Pacific/Auckland", date(2026, 9, 26), utc(2026, 9, 26, 12)),
        ("Pacific/Auckland", date(2026, 9, 27), utc(2026, 9, 27, 11)),
    ],
)
def test_next_checkin_at_is_next_local_midnight(tz, today, expected_utc):
    opens = next_checkin_at(today, tz)
    assert opens == expected_utc
    # Returned in UTC so that arithmetic and comparisons are in real elapsed time.
    assert opens.utcoffset() == timedelta(0)
    wall = opens.astimezone(ZoneInfo(tz))
    assert (wall.date(), wall.hour, wall.minute) == (today + timedelta(days=1), 0, 0)


def test_dst_days_are_23_and_25_hours_long():
    ny = "America/New_York"
    spring = next_checkin_at(date(2026, 3, 8), ny) - next_checkin_at(date(2026, 3, 7), ny)
    autumn = next_checkin_at(date(2026, 11, 1), ny) - next_checkin_at(date(2026, 10, 31), ny)
    assert spring == timedelta(hours=23)
    assert autumn == timedelta(hours=25)
    akl = "Pacific/Auckland"
    assert next_checkin_at(date(2026, 4, 5), akl) - next_checkin_at(date(2026, 4, 4), akl) == timedelta(hours=25)
    assert next_checkin_at(date(2026, 9, 27), akl) - next_checkin_at(date(2026, 9, 26), akl) == timedelta(hours=23)


def test_checkin_at_midnight_on_spring_forward_night_continues_streak():
    ny = "America/New_York"
    saturday_late = utc(2026, 3, 8, 4, 30)  # 23:30 EST on 7 March
    sunday_early = next_checkin_at(date(2026, 3, 7), ny)  # 00:00 EST on 8 March
    sunday_late = utc(2026, 3, 9, 3, 59)  # 23:59 EDT on 8 March, only 23h later
    assert local_day(saturday_late, ny) == date(2026, 3, 7)
    assert local_day(sunday_early, ny) == date(2026, 3, 8)
    with pytest.raises(AlreadyCheckedInError):
        ensure_not_checked_in(sunday_early, sunday_late, ny)
    first = checkin_reward(None, 0, local_day(saturday_late, ny), RULES)
    second = checkin_reward(first.day, first.streak, ensure_not_checked_in(saturday_late, sunday_early, ny), RULES)
    assert second.streak == 2


def test_day_starts_at_first_existing_time_when_midnight_is_skipped():
    # Santiago jumps from 00:00 straight to 01:00 on 6 September 2026.
    opens = next_checkin_at(date(2026, 9, 5), "America/Santiago")
    assert opens == utc(2026, 9, 6, 4)
    wall = opens.astimezone(ZoneInfo("America/Santiago"))
    assert (wall.day, wall.hour) == (6, 1)
    assert local_day(opens - timedelta(microseconds=1), "America/Santiago") == date(2026, 9, 5)


def test_day_starts_at_first_midnight_when_midnight_repeats():
    # Havana falls back from 01:00 to 00:00 on 1 November 2026, so midnight happens twice.
    opens = next_checkin_at(date(2026, 10, 31), "America/Havana")
    assert opens == utc(2026, 11, 1, 4)
    assert local_day(opens - timedelta(microseconds=1), "America/Havana") == date(2026, 10, 31)
    # An hour later the wall clock shows 00:00 again, but that is not a new day.
    assert next_checkin_at(date(2026, 11, 1), "America/Havana") == utc(2026, 11, 2, 5)


ZONES = ["Asia/Shanghai", "America/New_York", "Pacific/Auckland", "America/Santiago", "America/Havana",
         "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"]


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 30)), st.sampled_from(ZONES))
def test_next_checkin_at_is_exactly_where_the_local_day_changes(day, tz):
    opens = next_checkin_at(day, tz)
    assert local_day(opens, tz) == day + timedelta(days=1)
    assert local_day(opens - timedelta(microseconds=1), tz) == day


# --- streaks and rewards --------------------------------------------------------------------


def test_streak_continues_on_consecutive_days_and_resets_after_a_gap():
    d = date(2026, 3, 1)
    assert next_streak(None, 0, d) == 1
    assert next_streak(d, 4, d + timedelta(days=1)) == 5
    assert next_streak(d, 4, d + timedelta(days=2)) == 1
    assert next_streak(d, 40, d + timedelta(days=30)) == 1


def test_next_streak_refuses_same_or_earlier_day():
    d = date(2026, 3, 1)
    with pytest.raises(ValueError):
        next_streak(d, 3, d)
    with pytest.raises(ValueError):
        next_streak(d, 3, d - timedelta(days=1))


def test_milestone_bonus_is_paid_exactly_on_the_milestone_day():
    d = date(2026, 3, 10)
    yesterday = d - timedelta(days=1)
    day2 = checkin_reward(yesterday, 1, d, RULES)
    day3 = checkin_reward(yesterday, 2, d, RULES)
    day4 = checkin_reward(yesterday, 3, d, RULES)
    assert (day2.streak, day2.streak_bonus, day2.total) == (2, 0, 10)
    assert (day3.streak, day3.streak_bonus, day3.total) == (3, 5, 15)
    assert (day4.streak, day4.streak_bonus, day4.total) == (4, 0, 10)
    assert day2.next_milestone == (3, 5) and day2.days_to_next_milestone == 1
    assert day3.next_milestone == (7, 20) and day3.days_to_next_milestone == 4
    assert checkin_reward(yesterday, 6, d, RULES).streak_bonus == 20
    assert checkin_reward(yesterday, 29, d, RULES).streak_bonus == 100


def test_no_milestones_after_the_last_one():
    d = date(2026, 3, 10)
    reward = checkin_reward(d - timedelta(days=1), 30, d, RULES)
    assert (reward.streak, reward.streak_bonus, reward.next_milestone) == (31, 0, None)


def test_broken_streak_earns_base_only_and_aims_at_first_milestone():
    d = date(2026, 3, 10)
    reward = checkin_reward(d - timedelta(days=2), 6, d, RULES)  # would have been day 7
    assert (reward.streak, reward.streak_bonus, reward.total) == (1, 0, 10)
    assert reward.next_milestone == (3, 5)
    assert reward.xp == 10


def test_milestones_may_be_configured_in_any_order():
    rules = CheckinRules(streak_bonus=((7, 20), (3, 5)))
    assert rules.streak_bonus == ((3, 5), (7, 20))


@pytest.mark.parametrize(
    ("tier", "campaign", "expected_multiplier", "expected_total"),
    [
        (1.0, 1.0, Decimal("1"), 10),
        (1.1, 1.0, Decimal("1.1"), 11),
        (1.15, 1.0, Decimal("1.15"), 12),  # 11.5 rounds up; as a float it would be 11.4999...
        (1.25, 1.0, Decimal("1.25"), 13),  # 12.5 -> 13, not banker's 12
        (1.1, 1.5, Decimal("1.65"), 17),  # silver during a x1.5 campaign: 16.5 -> 17
        (1.2, 2, Decimal("2.4"), 24),
        (1.0, 0.04, Decimal("0.04"), 0),  # 0.4 rounds down to nothing
    ],
)
def test_multipliers_multiply_and_round_half_up(tier, campaign, expected_multiplier, expected_total):
    d = date(2026, 3, 10)
    reward = checkin_reward(None, 0, d, RULES, tier_multiplier=tier, campaign_multiplier=campaign)
    assert reward.multiplier == expected_multiplier
    assert reward.total == expected_total
    assert reward.xp == 10  # XP is never multiplied


def test_multiplier_applies_to_milestone_bonus_too():
    d = date(2026, 3, 10)
    reward = checkin_reward(d - timedelta(days=1), 6, d, RULES, tier_multiplier=1.5)
    assert reward.subtotal == 30
    assert reward.total == 45


def test_negative_multiplier_is_refused():
    with pytest.raises(ValueError):
        checkin_reward(None, 0, date(2026, 3, 1), RULES, campaign_multiplier=-1)


def test_apply_multiplier_rounds_half_up():
    assert apply_multiplier(5, Decimal("1.1")) == 6  # 5.5
    assert apply_multiplier(5, 0.5) == 3  # 2.5
    assert apply_multiplier(3, 0.5) == 2  # 1.5


@given(st.integers(min_value=-(2**64), max_value=2**64))
def test_random_bonus_always_within_configured_range(rng_value):
    rules = CheckinRules(random_bonus=(1, 6))
    reward = checkin_reward(None, 0, date(2026, 3, 1), rules, rng_value=rng_value)
    assert 1 <= reward.random_bonus <= 6
    assert reward.total == 10 + reward.random_bonus


def test_random_bonus_is_reproducible_and_covers_the_range():
    rules = CheckinRules(random_bonus=(0, 4))
    d = date(2026, 3, 1)
    seen = {checkin_reward(None, 0, d, rules, rng_value=v).random_bonus for v in range(50)}
    assert seen == {0, 1, 2, 3, 4}
    assert checkin_reward(None, 0, d, rules, rng_value=7) == checkin_reward(None, 0, d, rules, rng_value=7)


def test_random_bonus_needs_a_draw_when_configured_and_is_zero_otherwise():
    d = date(2026, 3, 1)
    with pytest.raises(ValueError):
        checkin_reward(None, 0, d, CheckinRules(random_bonus=(1, 3)))
    assert checkin_reward(None, 0, d, RULES, rng_value=999).random_bonus == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base": -1},
        {"streak_bonus": ((0, 5),)},
        {"streak_bonus": ((3, 5), (3, 6))},
        {"streak_bonus": ((3, -5),)},
        {"random_bonus": (5, 1)},
        {"random_bonus": (-1, 1)},
        {"makeup_window_days": -1},
    ],
)
def test_invalid_rules_are_refused(kwargs):
    with pytest.raises(ValueError):
        CheckinRules(**kwargs)


def test_reward_is_frozen():
    reward = checkin_reward(None, 0, date(2026, 3, 1), RULES)
    with pytest.raises(AttributeError):
        reward.total = 999  # type: ignore[misc]


@given(
    st.sets(st.integers(min_value=0, max_value=120), min_size=1, max_size=60),
)
def test_streak_never_exceeds_days_since_first_checkin(offsets):
    start = date(2026, 1, 1)
    checked = sorted(start + timedelta(days=o) for o in offsets)
    last, streak = None, 0
    for day in checked:
        streak = next_streak(last, streak, day)
        assert 1 <= streak <= (day - checked[0]).days + 1
        # The running counter agrees with counting the calendar directly.
        assert streak == run_length(set(checked), day)
        last = day
    assert streak_after_makeup(set(checked), checked[-1]) <= (checked[-1] - checked[0]).days + 1


# --- make-up --------------------------------------------------------------------------------

TODAY = date(2026, 3, 10)


def test_makeup_picks_yesterday_and_restores_the_streak():
    # Checked in 3..7 March, missed 8th, checked 9th; today (10th) not yet.
    checked = days(date(2026, 3, 3), 0, 1, 2, 3, 4, 6)
    assert current_streak(checked, TODAY) == 1
    target = makeup_target(checked, TODAY, window_days=3)
    assert target == date(2026, 3, 8)
    restored = streak_after_makeup(checked | {target}, TODAY)
    assert restored == 7  # 3..9 March
    # Today's check-in continues from the restored streak.
    reward = checkin_reward(date(2026, 3, 9), restored, TODAY, RULES)
    assert reward.streak == 8


def test_makeup_after_checking_in_today_counts_through_today():
    checked = days(date(2026, 3, 3), 0, 1, 2, 3, 4) | {TODAY}  # missed 8th and 9th
    first = makeup_target(checked, TODAY, 3)
    assert first == date(2026, 3, 9)  # the most recent missed day first
    checked.add(first)
    assert streak_after_makeup(checked, TODAY) == 2  # 9..10, the 8th is still a hole
    second = makeup_target(checked, TODAY, 3)
    assert second == date(2026, 3, 8)
    checked.add(second)
    assert streak_after_makeup(checked, TODAY) == 8  # 3..10 March
    assert current_streak(checked, TODAY) == 8


def test_streak_after_makeup_ends_yesterday_when_today_not_checked():
    checked = days(date(2026, 3, 7), 0, 1, 2)  # 7..9
    assert streak_after_makeup(checked, TODAY) == 3
    assert streak_after_makeup(set(), TODAY) == 0
    # Future days (clock skew) are ignored.
    assert streak_after_makeup(checked | {TODAY + timedelta(days=1)}, TODAY) == 3


def test_makeup_outside_the_window_is_refused():
    # Last check-in 5 March: the gap 6..9 March is longer than a 3-day window can repair.
    checked = days(date(2026, 3, 1), 0, 1, 2, 3, 4)
    with pytest.raises(MakeupWindowError) as info:
        makeup_target(checked, TODAY, 3)
    assert info.value.window_days == 3
    # With a 4-day window the same gap can be repaired, newest day first.
    assert makeup_target(checked, TODAY, 4) == date(2026, 3, 9)


def test_makeup_refused_when_gap_before_window_even_if_recent_checkin_exists():
    # Checked 1 March and yesterday; the hole 2..8 March cannot be repaired within 3 days.
    checked = {date(2026, 3, 1), date(2026, 3, 9)}
    with pytest.raises(MakeupWindowError):
        makeup_target(checked, TODAY, 3)


def test_nothing_to_make_up():
    with pytest.raises(NothingToMakeUpError) as never:
        makeup_target(set(), TODAY, 3)  # never checked in
    assert never.value.never
    with pytest.raises(NothingToMakeUpError) as whole:
        makeup_target(days(date(2026, 3, 6), 0, 1, 2, 3), TODAY, 3)  # 6..9: nothing missed
    assert not whole.value.never
    with pytest.raises(NothingToMakeUpError):
        makeup_target({date(2026, 3, 9)}, TODAY, 3)  # first ever check-in was yesterday
    with pytest.raises(NothingToMakeUpError) as first_day:
        makeup_target({TODAY}, TODAY, 3)  # first ever check-in is today: a whole streak of one, not "never"
    assert not first_day.value.never


def test_makeup_disabled_with_zero_window():
    with pytest.raises(MakeupWindowError):
        makeup_target(days(date(2026, 3, 3), 0, 1, 2, 3, 4, 6), TODAY, 0)


def test_makeup_that_joins_runs_pays_newly_reached_milestone_once():
    # 3..7 March (5 days), missed 8th, checked 9th: joining gives 7 days on the 9th.
    before = days(date(2026, 3, 3), 0, 1, 2, 3, 4, 6)
    hits = makeup_milestones(before, date(2026, 3, 8), RULES)
    assert hits == (MilestoneHit(day=date(2026, 3, 9), streak=7, bonus=20),)


def test_makeup_does_not_repay_milestones_already_reached_by_either_piece():
    # 2 March alone, missed 3rd, then 4..6 March (3 days, milestone 3 already paid on the 6th).
    before = {date(2026, 3, 2)} | days(date(2026, 3, 4), 0, 1, 2)
    assert makeup_milestones(before, date(2026, 3, 3), RULES) == ()
    # Make-up that only extends a run by one day and reaches 3: paid on the made-up day itself.
    assert makeup_milestones({date(2026, 3, 7), date(2026, 3, 8)}, date(2026, 3, 9), RULES) == (
        MilestoneHit(day=date(2026, 3, 9), streak=3, bonus=5),
    )


def test_makeup_milestones_refuses_a_day_already_checked():
    with pytest.raises(ValueError):
        makeup_milestones({date(2026, 3, 8)}, date(2026, 3, 8), RULES)


@given(st.sets(st.integers(min_value=0, max_value=40), max_size=30), st.integers(min_value=1, max_value=7))
def test_makeup_target_is_always_a_missed_day_inside_the_window(offsets, window):
    today = date(2026, 2, 10)
    checked = {today - timedelta(days=o) for o in offsets}
    try:
        target = makeup_target(checked, today, window)
    except (NothingToMakeUpError, MakeupWindowError):
        return
    assert target not in checked
    assert today - timedelta(days=window) <= target < today
    # And it reconnects to something: there is a check-in before it within reach.
    assert any(today - timedelta(days=window + 1) <= d < target for d in checked)


def test_makeup_next_to_a_long_run_pays_nothing_already_earned():
    # 40-day run up to 7 March, missed 8th, checked 9th: every milestone was reached long ago.
    before = {date(2026, 3, 7) - timedelta(days=i) for i in range(40)} | {date(2026, 3, 9)}
    assert makeup_milestones(before, date(2026, 3, 8), RULES) == ()
    assert streak_after_makeup(before | {date(2026, 3, 8)}, TODAY) == 42


def test_full_makeup_story_pays_the_milestone_once():
    # Checked in 3..7 March (streak 5), missed the 8th, checked in on the 9th (streak back to 1).
    checked = days(date(2026, 3, 3), 0, 1, 2, 3, 4)
    on_9th = checkin_reward(date(2026, 3, 7), 5, date(2026, 3, 9), RULES)
    assert (on_9th.streak, on_9th.streak_bonus) == (1, 0)
    checked.add(on_9th.day)
    # On the 10th, before checking in, the member buys a make-up.
    target = makeup_target(checked, TODAY, RULES.makeup_window_days)
    assert target == date(2026, 3, 8)
    hits = makeup_milestones(checked, target, RULES)
    checked.add(target)
    stored = streak_after_makeup(checked, TODAY)
    assert stored == 7 and [h.bonus for h in hits] == [20]
    # Today's check-in continues at 8: the 7-day bonus is not paid a second time.
    today = checkin_reward(date(2026, 3, 9), stored, TODAY, RULES)
    assert (today.streak, today.streak_bonus, today.next_milestone) == (8, 0, (30, 100))


def test_a_run_a_makeup_already_repaired_has_nothing_left_even_with_an_older_gap_beyond_the_window():
    # Checked 1 March; a new run 8..9 March where 9 March was made up: the run is whole.
    checked = {date(2026, 3, 1), date(2026, 3, 8), date(2026, 3, 9)}
    with pytest.raises(NothingToMakeUpError) as whole:
        makeup_target(checked, TODAY, 3, made_up={date(2026, 3, 9)})
    assert not whole.value.never
    with pytest.raises(MakeupWindowError):  # the same days without a make-up: the old streak broke too long ago
        makeup_target(checked, TODAY, 3)
