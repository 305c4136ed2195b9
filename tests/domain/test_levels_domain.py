"""Tiers from lifetime XP, the progress bar, promotion announcements and the chat-XP cooldown."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, strategies as st

from bot.domain.levels import (
    DEFAULT_TIERS,
    PERK_POST_LINKS,
    ChatXpRules,
    Tier,
    chat_xp_due,
    progress,
    progress_bar,
    tier_for,
    tier_up,
    validate_tiers,
)


def test_default_ladder():
    assert [(t.key, t.min_xp, t.points_multiplier) for t in DEFAULT_TIERS] == [
        ("bronze", 0, 1.0),
        ("silver", 200, 1.1),
        ("gold", 1000, 1.2),
        ("platinum", 3000, 1.3),
        ("diamond", 8000, 1.5),
    ]
    assert PERK_POST_LINKS not in DEFAULT_TIERS[0].perks
    assert all(PERK_POST_LINKS in t.perks for t in DEFAULT_TIERS[1:])
    assert validate_tiers(DEFAULT_TIERS) == DEFAULT_TIERS


@pytest.mark.parametrize(
    ("xp", "key"),
    [
        (0, "bronze"),
        (199, "bronze"),
        (200, "silver"),  # the threshold itself already counts
        (999, "silver"),
        (1000, "gold"),
        (2999, "gold"),
        (3000, "platinum"),
        (7999, "platinum"),
        (8000, "diamond"),
        (10**9, "diamond"),
        (-5, "bronze"),
    ],
)
def test_tier_boundaries_are_inclusive(xp, key):
    assert tier_for(xp, DEFAULT_TIERS).key == key


def test_progress_within_a_tier():
    p = progress(600, DEFAULT_TIERS)
    assert (p.tier.key, p.next_tier.key) == ("silver", "gold")
    assert (p.into, p.needed, p.span) == (400, 400, 800)
    assert p.fraction == pytest.approx(0.5)
    assert progress_bar(p.fraction) == "▰▰▰▰▰▱▱▱▱▱"


def test_progress_at_exact_threshold_starts_empty():
    p = progress(200, DEFAULT_TIERS)
    assert (p.tier.key, p.into, p.needed, p.fraction) == ("silver", 0, 800, 0.0)
    assert progress_bar(p.fraction) == "▱" * 10


def test_progress_at_top_tier_is_full():
    p = progress(9000, DEFAULT_TIERS)
    assert p.tier.key == "diamond" and p.next_tier is None
    assert (p.into, p.needed, p.fraction) == (1000, 0, 1.0)
    assert progress_bar(p.fraction) == "▰" * 10


def test_progress_bar_rounds_down_and_clamps():
    assert progress_bar(0.3) == "▰▰▰▱▱▱▱▱▱▱"  # 0.3 * 10 is 2.999... in floats
    assert progress_bar(0.99) == "▰" * 9 + "▱"  # not full until actually reached
    assert progress_bar(1.7) == "▰" * 10
    assert progress_bar(-0.2) == "▱" * 10
    assert progress_bar(float("nan")) == "▱" * 10
    assert progress_bar(0.5, width=4) == "▰▰▱▱"
    with pytest.raises(ValueError):
        progress_bar(0.5, width=0)


@given(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=1, max_value=40))
def test_progress_bar_always_has_requested_width(fraction, width):
    bar = progress_bar(fraction, width)
    assert len(bar) == width and set(bar) <= {"▰", "▱"}


def test_tier_up_announces_only_when_a_threshold_is_crossed():
    assert tier_up(150, 199, DEFAULT_TIERS) is None
    assert tier_up(199, 200, DEFAULT_TIERS).key == "silver"
    assert tier_up(200, 250, DEFAULT_TIERS) is None  # already silver: no second announcement
    assert tier_up(500, 500, DEFAULT_TIERS) is None


def test_tier_up_crossing_two_tiers_reports_the_highest():
    assert tier_up(150, 1500, DEFAULT_TIERS).key == "gold"
    assert tier_up(0, 9000, DEFAULT_TIERS).key == "diamond"


@given(st.integers(min_value=0, max_value=20_000), st.integers(min_value=0, max_value=20_000))
def test_tier_up_agrees_with_tier_for(a, b):
    old, new = min(a, b), max(a, b)
    result = tier_up(old, new, DEFAULT_TIERS)
    if tier_for(old, DEFAULT_TIERS) == tier_for(new, DEFAULT_TIERS):
        assert result is None
    else:
        assert result == tier_for(new, DEFAULT_TIERS)


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ((), "at least one tier"),
        ((Tier("bronze", 10), Tier("silver", 200)), "must start at 0"),
        ((Tier("bronze", 0), Tier("silver", 200), Tier("gold", 200)), "strictly increase"),
        ((Tier("bronze", 0), Tier("gold", 1000), Tier("silver", 200)), "strictly increase"),
        ((Tier("bronze", 0), Tier("bronze", 200)), "duplicate tier key 'bronze'"),
    ],
)
def test_validate_tiers_explains_the_problem(tiers, message):
    with pytest.raises(ValueError, match=message):
        validate_tiers(tiers)
    if tiers:
        with pytest.raises(ValueError):
            tier_for(500, tiers)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"key": "", "min_xp": 0},
        {"key": "x", "min_xp": -1},
        {"key": "x", "min_xp": 0, "points_multiplier": 0},
        {"key": "x", "min_xp": 0, "perks": "post_links"},
    ],
)
def test_tier_refuses_nonsense(kwargs):
    with pytest.raises(ValueError):
        Tier(**kwargs)


def test_tier_perks_become_frozenset():
    tier = Tier("silver", 200, 1.1, {"post_links"})  # type: ignore[arg-type]
    assert tier.perks == frozenset({"post_links"})
    assert hash(tier)


# --- chat XP -----------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def test_chat_xp_cooldown():
    rules = ChatXpRules()
    assert (rules.xp_per_message, rules.cooldown_seconds, rules.min_length) == (2, 60, 1)
    assert chat_xp_due(None, T0, rules)
    assert not chat_xp_due(T0, T0 + timedelta(seconds=59), rules)
    assert chat_xp_due(T0, T0 + timedelta(seconds=60), rules)


def test_chat_xp_not_awarded_when_clock_went_backwards():
    assert not chat_xp_due(T0, T0 - timedelta(minutes=5), ChatXpRules())


def test_chat_xp_requires_minimum_length_when_known():
    rules = ChatXpRules(min_length=5)
    assert not chat_xp_due(None, T0, rules, message_length=4)
    assert chat_xp_due(None, T0, rules, message_length=5)
    assert chat_xp_due(None, T0, rules)  # length unknown: only the cooldown applies


def test_chat_xp_disabled_with_zero_award():
    assert not chat_xp_due(None, T0, ChatXpRules(xp_per_message=0))


def test_chat_xp_cooldown_uses_real_time_across_dst():
    ny = ZoneInfo("America/New_York")
    # 01:59:30 EDT and 01:00:10 EST on 1 Nov 2026 are 40 seconds apart, though the wall clock
    # went back by almost an hour: the member must not be locked out for that hour.
    last = datetime(2026, 11, 1, 1, 59, 30, tzinfo=ny)
    now = datetime(2026, 11, 1, 1, 0, 10, fold=1, tzinfo=ny)
    assert chat_xp_due(last, now, ChatXpRules(cooldown_seconds=30))
    assert not chat_xp_due(last, now, ChatXpRules(cooldown_seconds=60))


def test_chat_xp_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        chat_xp_due(None, datetime(2026, 3, 2, 12), ChatXpRules())


def test_perk_refused_names_the_tier_held_and_the_first_with_the_perk():
    from bot.domain.levels import PERK_POST_LINKS, perk_refused

    bronze, silver = DEFAULT_TIERS[0], DEFAULT_TIERS[1]
    assert perk_refused(0, PERK_POST_LINKS) == (bronze, silver)
    assert perk_refused(silver.min_xp - 1, PERK_POST_LINKS) == (bronze, silver)
    assert perk_refused(silver.min_xp, PERK_POST_LINKS) is None
    assert perk_refused(0, "nobody_has_this") is None  # a perk no tier gives gates nothing
