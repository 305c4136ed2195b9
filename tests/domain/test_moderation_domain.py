"""Moderation's pure rules: durations, Telegram's until_date limits, warn modes and steps, who may act on whom."""
from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.moderation import (
    ModerationError, Penalty, check_target, format_duration, parse_duration, parse_penalty, until_for, warn_penalty,
)
from bot.domain.roles import Role

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("10m", 600), ("2h", 7200), ("7d", 604800), ("2w", 1209600), ("1h30m", 5400), (" 2H ", 7200)])
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


@pytest.mark.parametrize("text", ["", "0m", "10", "m", "10x", "1.5h", "-2h", "2h!", "１h"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_until_is_clamped_like_telegram():
    assert until_for(NOW, timedelta(seconds=29)) is None  # Telegram would read it as forever: say so
    assert until_for(NOW, timedelta(seconds=30)) == NOW + timedelta(seconds=30)
    assert until_for(NOW, timedelta(days=366)) == NOW + timedelta(days=366)
    assert until_for(NOW, timedelta(days=367)) is None
    assert until_for(NOW, None) is None


def test_warn_modes():
    assert parse_penalty("ban") == Penalty("ban")
    assert parse_penalty("tmute 1h") == Penalty("mute", timedelta(hours=1))
    assert parse_penalty("TBAN 2d").to_text() == "tban 2d"
    for bad in ("", "tkick 1h", "tmute", "mute 1h", "ban forever", "tban 1x"):
        with pytest.raises(ValueError):
            parse_penalty(bad)


def test_warn_steps_and_limit():
    steps = {3: Penalty("mute", timedelta(hours=24))}
    mode = Penalty("ban")
    assert warn_penalty(2, 5, mode, steps) == (None, False)
    assert warn_penalty(3, 5, mode, steps) == (steps[3], False)
    assert warn_penalty(4, 5, mode, steps) == (None, False)
    assert warn_penalty(5, 5, mode, steps) == (mode, True)
    assert warn_penalty(1, 1, mode, {}) == (mode, True)


@pytest.mark.parametrize("actor,target,reason", [
    (Role.OWNER, Role.OWNER, "owner"), (Role.ADMIN, Role.OWNER, "owner"),
    (Role.ADMIN, Role.ADMIN, "admin"), (Role.ACTIVATOR, Role.MEMBER, "admin"), (Role.MEMBER, Role.MEMBER, "admin"),
])
def test_hierarchy_refusals(actor, target, reason):
    with pytest.raises(ModerationError) as info:
        check_target(actor, 1, target, 2, 99)
    assert info.value.params["reason"] == reason


def test_hierarchy_allows():
    with pytest.raises(ModerationError) as info:  # Telegram refuses a bot restricting an admin it did not promote
        check_target(Role.OWNER, 1, Role.ADMIN, 2, 99)
    assert info.value.params["reason"] == "telegram_admin"
    for target in (Role.ACTIVATOR, Role.SPREADER, Role.MEMBER):
        check_target(Role.ADMIN, 1, target, 2, 99)
    for target_id, reason in ((1, "self"), (99, "bot")):
        with pytest.raises(ModerationError) as info:
            check_target(Role.OWNER, 1, Role.MEMBER, target_id, 99)
        assert info.value.params["reason"] == reason
