"""The loyalty ladder on hand-made members whose segment is known; upgrades at once, downgrades after the grace; NPS."""
from __future__ import annotations

from datetime import date, timedelta

from bot.domain import loyalty as ld
from bot.domain.loyalty import Signals, Thresholds
from bot.domain.nps import category, nps

T = Thresholds()
DAY = date(2026, 3, 2)


def seg(**kw) -> str:
    return ld.place(Signals(1, observed_days=30, **kw), T).segment


def test_each_of_the_six_segments():
    assert seg() == "none"
    assert seg(active_days=2, message_days=2) == "none"                               # 7% of days: not regular
    assert seg(active_days=12, message_days=12, checkin_days=3) == "habitual"           # regular, no attitude
    assert seg(active_days=20, checkin_days=20, message_days=5, orders=2) == "mercenary"  # 22 of 27 rewarded
    assert seg(active_days=3, message_days=3, referrals=1) == "latent"                  # cares, rarely comes
    assert seg(active_days=15, message_days=15, replies=8) == "committed"
    assert seg(active_days=15, message_days=15, checkin_days=10, referrals=2) == "fanatic"


def test_reward_share_tells_mercenary_from_committed():
    committed = ld.place(Signals(1, 30, active_days=20, checkin_days=10, message_days=20, replies=6), T)
    mercenary = ld.place(Signals(1, 30, active_days=20, checkin_days=20, message_days=3, replies=6), T)
    assert committed.reward_share == 10 / 30 and committed.segment == "committed"
    assert mercenary.reward_share == 20 / 23 and mercenary.segment == "mercenary"


def test_nps_answers_move_attitude_both_ways():
    assert seg(active_days=3, message_days=3, nps=10) == "latent"
    assert seg(active_days=15, message_days=15, replies=6, nps=3) == "habitual"        # the detractor cancels replies
    p = ld.place(Signals(1, 30, active_days=15, message_days=15, replies=6, nps=3), T)
    assert p.reasons == ("replies", "detractor") and p.attitude == 0


def test_a_newcomer_is_judged_on_the_days_they_were_here():
    assert ld.place(Signals(1, observed_days=2, active_days=2, message_days=2), T).active_share == 1
    assert ld.place(Signals(1, observed_days=0), T).active_share == 0                  # never divides by zero


def test_upgrades_at_once_downgrades_after_the_grace_period():
    s = ld.settle(None, "habitual", DAY, 14)
    assert s == ld.State("habitual", DAY)
    s = ld.settle(s, "committed", DAY + timedelta(days=1), 14)
    assert s.segment == "committed"                                                    # up: at once
    s = ld.settle(s, "none", DAY + timedelta(days=2), 14)
    assert s.segment == "committed" and s.pending == "none"                           # down: not yet
    s = ld.settle(s, "habitual", DAY + timedelta(days=10), 14)
    assert s.segment == "committed" and s.pending_since == DAY + timedelta(days=2)    # still lower: the clock runs on
    s = ld.settle(s, "committed", DAY + timedelta(days=11), 14)
    assert s.segment == "committed" and s.pending is None                              # back up: pending forgotten
    s = ld.settle(s, "none", DAY + timedelta(days=12), 14)
    assert ld.settle(s, "none", DAY + timedelta(days=25), 14).segment == "committed"
    assert ld.settle(s, "none", DAY + timedelta(days=26), 14) == ld.State("none", DAY + timedelta(days=26))


def test_pyramid_and_movers():
    before = {1: "habitual", 2: "committed", 3: "none"}
    now = {1: "committed", 2: "habitual", 3: "none", 4: "latent"}
    assert ld.pyramid(now) == {"none": 1, "habitual": 1, "mercenary": 0, "latent": 1, "committed": 1, "fanatic": 0}
    assert ld.movers(before, now) == [(1, "habitual", "committed"), (4, None, "latent"), (2, "committed", "habitual")]


def test_nps_score():
    assert [category(s) for s in (0, 6, 7, 8, 9, 10)] == ["detractor", "detractor", "passive", "passive", "promoter", "promoter"]
    r = nps([10, 9, 8, 3])
    assert (r.answers, r.promoters, r.passives, r.detractors, r.score) == (4, 2, 1, 1, 25.0)
    assert nps([]).score is None
