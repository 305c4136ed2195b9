"""Per-group settings: which keys exist, how a typed value is parsed from `/set KEY VALUE`, and how it is stored."""
from __future__ import annotations

import functools
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.domain.errors import SettingError

LANGUAGES = ("en", "zh")


def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("on", "yes", "true", "1", "开", "是"):
        return True
    if value in ("off", "no", "false", "0", "关", "否"):
        return False
    raise ValueError("bool")


def _parse_language(text: str) -> str:
    value = text.strip().lower()
    aliases = {"中文": "zh", "chinese": "zh", "zh-cn": "zh", "zh-hans": "zh", "english": "en"}
    value = aliases.get(value, value)
    if value not in LANGUAGES:
        raise ValueError("language")
    return value


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every IANA zone by its lower-case name: 'asia/shanghai' is Asia/Shanghai (zone files are case-sensitive)."""
    return {zone.lower(): zone for zone in available_timezones()}


def parse_timezone(text: str) -> str:
    """An IANA place name in any letter case, returned as its canonical name."""
    value = _zone_names().get(text.strip().lower())
    if value is None:  # unknown, or a tzdata folder name such as "America"
        raise ValueError("timezone")
    if "/" not in value and value != "UTC":
        # Bare abbreviations such as "EST" exist in tzdata but do not follow DST; ask for a place.
        raise ValueError("timezone")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("timezone") from None
    return value


def _int_range(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError("int") from None
        if not lo <= value <= hi:
            raise ValueError("range")
        return value

    parse.bounds = (lo, hi)  # type: ignore[attr-defined]
    return parse


def _choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in options:
            raise ValueError("choice")
        return value

    return parse


def _welcome(text: str) -> str:
    """Text of 1 to 1000 characters; braces only around a known placeholder ({name}, not {nme}, {0} or {name.x})."""
    from bot.domain.funnel import PLACEHOLDERS, check_welcome  # the funnel owns the placeholders

    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(text.strip()) if field is not None]
    except ValueError:  # a lone { or }
        raise ValueError("braces") from None
    for field in fields:
        if field not in PLACEHOLDERS:
            raise ValueError(f"placeholder:{field}")
    return check_welcome(text)


def _rules(text: str) -> str:
    """The group's rules for the welcome's {rules}: a link or a line of text, 1 to 1000 characters."""
    from bot.domain.funnel import check_rules  # the funnel owns the welcome

    return check_rules(text)


def _quiet_hours(text: str) -> str:
    from bot.domain.outbox import parse_quiet_hours  # the outbox owns quiet hours

    return parse_quiet_hours(text)

def _warn_mode(text: str) -> str:
    from bot.domain.moderation import parse_penalty  # moderation owns the spelling

    return parse_penalty(text).to_text()


@dataclass(frozen=True)
class SettingSpec:
    key: str
    kind: str  # for the usage text: language | timezone | bool | int
    parse: Callable[[str], Any]
    config_attr: str  # where the default lives in Config, dotted

    def to_text(self, value: Any) -> str:
        if self.kind == "bool":
            return "on" if value else "off"
        return str(value)

    def from_text(self, stored: str) -> Any:
        return self.parse(stored)

    def bounds(self) -> tuple[int, int] | None:
        return getattr(self.parse, "bounds", None)


SETTINGS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec("language", "language", _parse_language, "defaults.language"),
        SettingSpec("timezone", "timezone", parse_timezone, "defaults.timezone"),
        SettingSpec("delete_commands", "bool", _parse_bool, "defaults.delete_commands"),
        SettingSpec("transient_seconds", "int", _int_range(0, 86400), "defaults.transient_seconds"),
        SettingSpec("checkin_base", "int", _int_range(0, 100_000), "points.checkin.base"),
        SettingSpec("checkin_xp", "int", _int_range(0, 100_000), "points.checkin.xp"),
        SettingSpec("checkin_words", "bool", _parse_bool, "points.checkin_words"),
        SettingSpec("makeup_cost", "int", _int_range(0, 100_000), "points.checkin.makeup_cost"),
        SettingSpec("chat_xp", "int", _int_range(0, 1000), "points.chat_xp.xp_per_message"),
        SettingSpec("expiry_mode", "choice:off,fifo,decay", _choice("off", "fifo", "decay"), "points.expiry.mode"),
        SettingSpec("expiry_days", "int", _int_range(1, 3650), "points.expiry.days"),
        SettingSpec("decay_percent", "int", _int_range(0, 100), "points.expiry.decay_percent"),
        SettingSpec("screening", "bool", _parse_bool, "funnel.screening"),
        SettingSpec("captcha_mode", "choice:button,math,question", _choice("button", "math", "question"), "funnel.captcha_mode"),
        SettingSpec("captcha_timeout", "int", _int_range(30, 3600), "funnel.captcha_timeout_seconds"),
        SettingSpec("welcome", "text", _welcome, "funnel.welcome"),
        SettingSpec("greet", "bool", _parse_bool, "funnel.greet"),
        SettingSpec("rules", "text", _rules, "funnel.rules_url"),
        SettingSpec("push_daily_cap", "int", _int_range(0, 1000), "outbox.daily_cap"),
        SettingSpec("push_weekly_cap", "int", _int_range(0, 5000), "outbox.weekly_cap"),
        SettingSpec("quiet_hours", "hours", _quiet_hours, "outbox.quiet_hours"),
        SettingSpec("feedback_names", "bool", _parse_bool, "feedback.show_names"),
        SettingSpec("rules_mode", "choice:on,dry,off", _choice("on", "dry", "off"), "rules.mode"),
        SettingSpec("warn_limit", "int", _int_range(1, 100), "moderation.warn_limit"),
        SettingSpec("spotlight_messages", "int", _int_range(0, 10_000), "stats.spotlight_messages"),
        SettingSpec("spotlight_bonus", "int", _int_range(0, 100_000), "stats.spotlight_bonus"),
        SettingSpec("warn_mode", "choice:ban,kick,mute,tmute 1h,tban 2d", _warn_mode, "moderation.warn_mode"),
    )
}


# `/set KEY default` puts a setting back to the config default.
DEFAULT_WORDS = ("default", "默认")


def is_default_word(text: str) -> bool:
    return text.strip().lower() in DEFAULT_WORDS


def parse_switch(key: str, text: str) -> bool | None:
    """The value of a switch kept outside the settings table (the link gate is a rule): None for `default`."""
    if is_default_word(text):
        return None
    try:
        return _parse_bool(text)
    except ValueError:
        raise SettingError(reason="bad_value", key=key, kind="bool", detail="bool", bounds=None) from None


def setting_spec(key: str) -> SettingSpec:
    spec = SETTINGS.get(key.strip().lower())
    if spec is None:
        raise SettingError(reason="unknown_key", key=key, keys=sorted(SETTINGS))
    return spec


def parse_setting(key: str, text: str) -> tuple[SettingSpec, Any]:
    spec = setting_spec(key)
    try:
        return spec, spec.parse(text)
    except ValueError as exc:
        raise SettingError(reason="bad_value", key=spec.key, kind=spec.kind, detail=str(exc), bounds=spec.bounds()) from None


# Telegram admin rights Sticky needs for a setting's value to work (a setting that is off needs none). Features
# without a setting of their own are in FEATURE_RIGHTS: /settings names what they lack too.
DELETE, RESTRICT, INVITE, PIN = "can_delete_messages", "can_restrict_members", "can_invite_users", "can_pin_messages"
FEATURE_RIGHTS: dict[str, str] = {"invite_links": INVITE, "pinned_posts": PIN}


def admin_kinds(key: str, typed: str) -> tuple[str, ...]:
    """The moderation kinds (ModerationService.may) whose Telegram rights an admin needs to set `key` to `typed`:
    the settings that decide what Sticky does with its rights — rules_mode on makes every rule's effects real, the
    warn limit and mode decide what warns bring."""
    key = key.strip().lower()
    if key == "rules_mode":
        return ("delete", "ban") if typed.strip().lower() == "on" else ()
    return ("warn",) if key in ("warn_mode", "warn_limit") else ()


def rights_needed(key: str, value: Any) -> tuple[str, ...]:
    """The rights `key` = `value` needs: screening restricts newcomers, the link gate and command tidying delete
    messages, the rules engine deletes and mutes, the warn limit's mode bans, kicks or mutes."""
    if key == "screening" and value:
        return (RESTRICT,)
    if key in ("link_gate", "delete_commands") and value:
        return (DELETE,)
    if key == "rules_mode" and value == "on":
        return (DELETE, RESTRICT)
    if key == "warn_mode":
        return (RESTRICT,)
    return ()

