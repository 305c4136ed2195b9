"""The role hierarchy and who may change whose community role."""
from __future__ import annotations

import pytest

from bot.domain.errors import NotAllowedError, RoleChangeError
from bot.domain.roles import Role, can_act_on, check_role_change, role_from
from bot.domain.settings import parse_setting
from bot.domain.errors import SettingError


def test_telegram_rank_wins_over_community_role():
    assert role_from("owner", "activator") == Role.OWNER
    assert role_from("admin", None) == Role.ADMIN
    assert role_from(None, "spreader") == Role.SPREADER
    assert role_from(None, None) == Role.MEMBER


@pytest.mark.parametrize("actor, target, allowed", [
    (Role.OWNER, Role.ADMIN, True), (Role.ADMIN, Role.OWNER, False), (Role.ADMIN, Role.ADMIN, False),
    (Role.ADMIN, Role.ACTIVATOR, True), (Role.ACTIVATOR, Role.MEMBER, False), (Role.MEMBER, Role.MEMBER, False),
])
def test_can_act_on(actor, target, allowed):
    assert can_act_on(actor, target) is allowed


def test_role_changes():
    check_role_change(Role.ADMIN, Role.MEMBER, False, Role.ACTIVATOR, True, Role.MEMBER)
    with pytest.raises(NotAllowedError):
        check_role_change(Role.ACTIVATOR, Role.MEMBER, False, Role.SPREADER, True, Role.MEMBER)
    for target, reason in ((Role.OWNER, "owner"), (Role.ADMIN, "telegram_admin")):
        with pytest.raises(RoleChangeError) as info:
            check_role_change(Role.OWNER, target, False, Role.ACTIVATOR, True, target)
        assert info.value.params["reason"] == reason
    with pytest.raises(RoleChangeError) as info:
        check_role_change(Role.ADMIN, Role.ACTIVATOR, False, Role.ACTIVATOR, True, Role.ACTIVATOR)
    assert info.value.params["reason"] == "same"
    with pytest.raises(RoleChangeError) as info:
        check_role_change(Role.ADMIN, Role.MEMBER, False, Role.SPREADER, False, Role.MEMBER)
    assert info.value.params["reason"] == "not_set"
    with pytest.raises(RoleChangeError) as info:
        check_role_change(Role.ADMIN, Role.MEMBER, True, Role.SPREADER, True, Role.MEMBER)
    assert info.value.params["reason"] == "is_bot"


@pytest.mark.parametrize("key, text, expected", [
    ("language", "ZH", "zh"), ("language", "中文", "zh"), ("timezone", "Asia/Shanghai", "Asia/Shanghai"),
    ("delete_commands", "on", True), ("delete_commands", "关", False), ("transient_seconds", "0", 0),
])
def test_settings_parse(key, text, expected):
    assert parse_setting(key, text)[1] == expected


@pytest.mark.parametrize("key, text, reason", [
    ("language", "fr", "bad_value"), ("timezone", "Mars/Base", "bad_value"), ("timezone", "EST", "bad_value"),
    ("delete_commands", "maybe", "bad_value"), ("transient_seconds", "-1", "bad_value"),
    ("transient_seconds", "lots", "bad_value"), ("colour", "red", "unknown_key"),
])
def test_settings_refuse_bad_values(key, text, reason):
    with pytest.raises(SettingError) as info:
        parse_setting(key, text)
    assert info.value.params["reason"] == reason
