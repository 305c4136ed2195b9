"""The stats' definitions on hand-made histories whose answers are known: DAU/WAU/MAU, stickiness, lifecycle,
churn (a member who joins, leaves and comes back), retention cohorts, empty groups."""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, strategies as st

from bot.domain import stats as sd
from bot.domain.stats import History

MON = date(2026, 3, 2)  # a Monday


def d(n: int) -> date:
    return MON + timedelta(days=n)


def member(uid, active=(), events=(), first_seen=None, admin=False):
    return History(uid, frozenset(d(n) for n in active), tuple((d(n), k) for n, k in events),
                   d(first_seen) if first_seen is not None else None, admin)


def test_dau_wau_mau_count_members_active_in_the_window_and_never_admins():
    people = [
        member(1, active=[0, 1, 2]),
        member(2, active=[2]),
        member(3, active=[-10]),          # active 12 days before day 2: in MAU, not in WAU
        member(4, active=[-40]),          # outside every window
        member(5, active=[0, 1, 2], admin=True),
    ]
    assert sd.dau(people, d(2)) == 2
    assert sd.dau(people, d(1)) == 1
    assert sd.wau(people, d(2)) == 2
    assert sd.mau(people, d(2)) == 3
    assert sd.stickiness(2 / 1, 3) == 2 / 3
    assert sd.stickiness(0, 0) is None


def test_period_stats_average_dau_over_every_day_and_compare_periods():
    people = [member(1, active=[0, 1, 2, 3, 4, 5, 6]), member(2, active=[6])]
    counts = sd.counts_from_histories(people, d(0), d(6), messages={(1, d(0)): 10, (2, d(6)): 4})
    stats = sd.period_stats(counts)
    assert stats.dau == 8 / 7
    assert (stats.wau, stats.mau) == (2, 2)
    assert stats.stickiness == (8 / 7) / 2
    assert stats.messages == 14 and stats.messages_per_day == 2
    assert stats.checkin_rate == 0                      # no check-ins among 8 active member-days
    before = sd.period_stats(sd.counts_from_histories(people, d(-7), d(-1)))
    assert before.dau == 0 and before.stickiness is None
    assert sd.change(stats.stickiness, before.stickiness) is None


def test_an_empty_group_has_zeros_and_no_ratios():
    stats = sd.period_stats(sd.counts_from_histories([], d(0), d(29)))
    assert (stats.dau, stats.wau, stats.mau, stats.messages, stats.growth) == (0, 0, 0, 0, 0)
    assert stats.stickiness is None and stats.checkin_rate is None
    assert sd.lifecycle_counts([], MON) == {"new": 0, "returning": 0, "resurrecting": 0, "dormant": 0}
    assert sd.cohorts([], MON, MON, d(100)) == [sd.Cohort(MON, 0, (0,) * 8)]
    assert sd.weekly_churn([], MON).rate is None


def test_lifecycle_is_keyed_to_the_join_date_not_the_first_message():
    joined_now_silent = member(1, events=[(2, "join")])
    joined_before_first_message_now = member(2, active=[3], events=[(-20, "join")])
    returning = member(3, active=[-3, 1])
    dormant = member(4, active=[-3])
    nobody = member(5, active=[-30])
    assert sd.lifecycle(joined_now_silent, MON) == "new"
    assert sd.lifecycle(joined_before_first_message_now, MON) == "resurrecting"
    assert sd.lifecycle(returning, MON) == "returning"
    assert sd.lifecycle(dormant, MON) == "dormant"
    assert sd.lifecycle(nobody, MON) is None
    counts = sd.lifecycle_counts([joined_now_silent, joined_before_first_message_now, returning, dormant, nobody], MON)
    assert counts == {"new": 1, "returning": 1, "resurrecting": 1, "dormant": 1}


def test_a_member_who_joins_leaves_and_returns():
    h = member(1, active=[0, 1, 20], events=[(0, "join"), (5, "leave"), (19, "join")])
    assert h.present_on(d(3)) and not h.present_on(d(10)) and h.present_on(d(19))
    assert sd.churned(h, d(10)) == "left"
    assert sd.churned(h, d(25)) is None                      # back and active
    assert sd.churned(h, d(20 + 29)) is None
    assert sd.churned(h, d(20 + 30)) == "silent"             # 30 days silent after the return
    assert sd.lifecycle(h, d(14)) == "resurrecting"          # back in week 14..20, not new: keyed to the first join
    assert sd.lifecycle(h, d(21)) == "dormant"
    # cohort: by the first join only, so the return does not make them a newcomer again
    [c0, _, _] = sd.cohorts([h], MON, d(14), d(100), weeks=3)
    assert c0.size == 1 and c0.retained == (0, 1, 0)          # week 1 (7..13) nothing, week 2 (14..20) active on 20


def test_churn_counts_leavers_and_the_newly_silent_against_last_weeks_members():
    people = [
        member(1, active=[-1, 3], first_seen=-60),               # stays
        member(2, events=[(-30, "join"), (2, "leave")], active=[-2]),  # leaves this week
        member(3, first_seen=-60, active=[-27]),                 # 30 silent days reached on day 3
        member(4, first_seen=-60, active=[-40]),                 # silent already before: not in the base
        member(5, events=[(1, "join")]),                         # joined this week: not in the base
        member(6, active=[-1], first_seen=-60, admin=True),
    ]
    week = sd.weekly_churn(people, MON, silent_days=30)
    assert (week.base, week.churned) == (3, 2)
    assert week.rate == 2 / 3
    assert sd.churned(people[3], d(0)) == "silent"
    assert sd.churned(people[4], d(0)) is None                  # not a member yet on Monday


def test_members_from_before_sticky_are_present_until_they_leave():
    old = member(1, events=[(4, "leave")], first_seen=-100, active=[1])
    assert old.present_on(d(0)) and not old.present_on(d(4))
    assert sd.churned(old, d(2)) is None and sd.churned(old, d(4)) == "left"


def test_retention_cohorts_bounded_and_unbounded():
    w0 = [member(1, events=[(0, "join")], active=[0, 8]),       # active in W+1 only
          member(2, events=[(3, "join")], active=[22]),         # active in W+3 only
          member(3, events=[(6, "join")])]                      # never again
    w1 = [member(4, events=[(7, "join")], active=[15])]
    old = [member(5, events=[(-10, "join")], active=[8])]        # joined before the first cohort week
    today = d(29)                                                # W+4 of the first cohort (28..34) is not over
    bounded = sd.cohorts(w0 + w1 + old, MON, d(7), today, weeks=4)
    assert [c.size for c in bounded] == [3, 1]
    assert bounded[0].retained == (1, 0, 1, None)
    assert bounded[1].retained == (1, 0, None, None)
    assert bounded[0].shares[:3] == (1 / 3, 0, 1 / 3)
    unbounded = sd.cohorts(w0 + w1 + old, MON, d(7), today, weeks=4, unbounded=True)
    assert unbounded[0].retained == (2, 1, 1, None)               # W+N or any later day up to today
    assert unbounded[1].retained == (1, 0, None, None)


def test_windows_and_weeks():
    assert sd.window(d(6), 7) == (d(0), d(6))
    assert sd.week_start(d(6)) == MON and sd.week_start(d(7)) == d(7)
    assert len(sd.days_between(d(0), d(29))) == 30


def test_trailing_counts_in_one_pass_equal_wau_and_mau_of_each_day():
    # The stored WAU / MAU of closed days come from this sweep; it must agree with the definitions day by day,
    # including members active on consecutive days (counted once) and a day just outside the window.
    people = [
        member(1, active=[-35, -30, -29, 0, 1, 2]),
        member(2, active=[-6, 5]),
        member(3, active=[-29]),
        member(4, active=list(range(-40, 10, 3))),
        member(5),
    ]
    days = [sorted(x.toordinal() for x in h.active_days) for h in people]
    weekly = sd.trailing_counts(days, d(-5), d(9), 7)
    monthly = sd.trailing_counts(days, d(-5), d(9), 30)
    assert weekly == [sd.wau(people, d(n)) for n in range(-5, 10)]
    assert monthly == [sd.mau(people, d(n)) for n in range(-5, 10)]
    assert sd.trailing_counts([], d(0), d(2), 30) == [0, 0, 0]


@given(st.lists(st.lists(st.integers(-60, 20), max_size=12), max_size=8), st.integers(-30, 10), st.integers(0, 25))
def test_trailing_counts_agree_with_the_definitions_on_any_history(actives, first, length):
    people = [member(i, active=set(a)) for i, a in enumerate(actives)]
    days = [sorted(x.toordinal() for x in h.active_days) for h in people]
    for width, definition in ((7, sd.wau), (30, sd.mau)):
        assert sd.trailing_counts(days, d(first), d(first + length), width) == [
            definition(people, d(n)) for n in range(first, first + length + 1)]
