"""The join funnel's pure rules: challenges, answers, deadlines, never-counted reasons, confirmation and clawback timing."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from bot.domain import funnel as fd

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("mode", ["button", "math"])
def test_challenges_have_exactly_one_right_button(mode):
    for seed in range(50):
        c = fd.make_challenge(mode, random.Random(seed))
        assert len(c.choices) == len(set(c.choices)) == 6
        assert [x for x in c.choices if fd.is_correct(c.answers, x)] == [c.answers[0]]


def test_question_answers_are_forgiving_but_exact():
    c = fd.make_challenge("question", random.Random(1), "Capital of France?", ("Paris", "巴黎"))
    assert fd.is_correct(c.answers, "  paris. ") and fd.is_correct(c.answers, "ＰＡＲＩＳ") and fd.is_correct(c.answers, "巴黎")
    assert not fd.is_correct(c.answers, "London")
    with pytest.raises(fd.FunnelError):
        fd.make_challenge("question", random.Random(1))


@pytest.mark.parametrize("text", ["", "no bar", "| only answers", "Q? |", "Q? | ;;"])
def test_bad_questions_are_refused(text):
    with pytest.raises(fd.FunnelError):
        fd.parse_question(text)


def test_question_parsing():
    assert fd.parse_question("Sky? | blue; azure，蓝") == ("Sky?", ("blue", "azure", "蓝"))


def test_deadline_runs_from_the_event_with_a_grace_for_late_handling():
    assert fd.deadline_for(T0, T0 + timedelta(seconds=5), 120, 60) == T0 + timedelta(seconds=120)
    late = T0 + timedelta(minutes=10)
    assert fd.deadline_for(T0, late, 120, 60) == late + timedelta(seconds=60)


@pytest.mark.parametrize("args, reason", [
    ((1, 2, True, False, False), fd.BOT_ACCOUNT), ((1, 1, False, True, False), fd.SELF_INVITE),
    ((1, 2, False, True, True), fd.INVITER_BANNED), ((1, 2, False, True, False), fd.RETURNING), ((1, 2, False, False, False), None),
])
def test_rejection_reasons(args, reason):
    assert fd.rejection_reason(*args) == reason


def test_referral_due_and_clawback():
    assert not fd.referral_due(T0, None, 5, T0 + timedelta(days=2), 24, 1)
    assert not fd.referral_due(T0, T0, 0, T0 + timedelta(days=2), 24, 1)
    assert not fd.referral_due(T0, T0, 1, T0 + timedelta(hours=23), 24, 1)
    assert fd.referral_due(T0, T0, 1, T0 + timedelta(hours=24), 24, 1)
    assert fd.clawback_due(T0, T0 + timedelta(days=6), 7) and not fd.clawback_due(T0, T0 + timedelta(days=7), 7)
    assert not fd.clawback_due(T0, T0, 0)
    assert fd.milestones_reached(5, {5: 50, 10: 100}) == [(5, 50)]


@pytest.mark.parametrize("text", ["Hi {nam}", "{0}", "broken {", "", "x" * 1001])
def test_bad_welcome_templates(text):
    with pytest.raises(ValueError):
        fd.check_welcome(text)
