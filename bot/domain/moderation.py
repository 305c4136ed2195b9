"""Moderation's pure rules: durations as admins type them, what Telegram accepts as until_date, warn limits and
modes, and who may act on whom. No Telegram, no clock: `now` comes in."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.errors import UserError
from bot.domain.roles import Role, can_act_on

# Telegram: a restriction or ban for under 30 seconds or over 366 days is forever.
FOREVER_BELOW = timedelta(seconds=30)
FOREVER_ABOVE = timedelta(days=366)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"([0-9]{1,7})([smhdw])")

PENALTIES = ("mute", "ban", "kick")  # what a warn limit (or a rule) can do to a member


class ModerationError(UserError):
    code = "moderation"  # params: reason in {owner, admin, self, bot, no_reply, bad_duration, not_warned, ...}, name


class LogChatError(ModerationError):
    code = "logchat"  # params: reason in {not_found, cant_post, muted, self, private, not_admin, not_rights_group,
    # not_rights_channel, anonymous}, where


# Who may make a chat a group's log, and whether Sticky can post there: Telegram's chat-member statuses as plain
# strings ("creator", "administrator", "member", "restricted", "left", "kicked"), so the rule needs no telegram.
OWNER, ADMINISTRATOR, MEMBER, RESTRICTED = "creator", "administrator", "member", "restricted"


def log_actor_refusal(status: str, channel: bool, can_post: bool, can_change_info: bool, can_promote: bool) -> str | None:
    """Why this person may not make a chat a group's log (None: they may). The log receives every moderation action
    with its reason, so it takes someone who runs that chat, not only someone with a badge there: its owner, or an
    admin who may post (a channel) or who may change its info or add admins (a group) — the rights that make it
    theirs to configure."""
    if status == OWNER:
        return None
    if status != ADMINISTRATOR:
        return "not_admin"
    if channel:
        return None if can_post else "not_rights_channel"
    return None if can_change_info or can_promote else "not_rights_group"


def log_bot_refusal(status: str, channel: bool, can_post: bool, is_member: bool, can_send: bool | None,
                    members_may_send: bool | None) -> str | None:
    """Why Sticky could not post in the log chat (None: it can): in a channel only an admin with can_post_messages
    posts; in a group a restricted Sticky, or a plain member where members may not send messages, can't."""
    if status in (OWNER, ADMINISTRATOR):
        return "cant_post" if channel and not can_post else None
    if channel:
        return "cant_post"
    if status == RESTRICTED:
        return None if is_member and can_send else "muted"
    if status == MEMBER:
        return None if members_may_send is not False else "muted"
    return "cant_post"


class RightsError(UserError):
    """Sticky itself lacks a Telegram right the action needs; `right` names it (can_restrict_members…)."""

    code = "rights"


@dataclass(frozen=True)
class Penalty:
    """mute / ban / kick, with a duration for mute and ban (None: forever)."""

    kind: str
    duration: timedelta | None = None

    def to_text(self) -> str:
        if self.kind == "kick" or self.duration is None:
            return self.kind
        return f"t{self.kind} {format_duration(self.duration)}"


def is_sender_chat(offender_id: int) -> bool:
    """Whether an offender is a chat (a channel a member writes on behalf of: the message's sender_chat) rather than a
    person. Telegram's user ids are positive and its chat ids negative, so one id column holds both: a channel's warns,
    violations, flood windows and cooldowns are its own, never those of the placeholder user (Channel_Bot) that
    Telegram puts in `from` for every channel alike."""
    return offender_id < 0


def parse_duration(text: str) -> timedelta:
    """30s | 10m | 2h | 7d | 2w (and sums such as 1h30m). Raises ValueError."""
    value = text.strip().lower()
    if not value or _DURATION.sub("", value):
        raise ValueError("duration")
    seconds = sum(int(n) * _UNITS[u] for n, u in _DURATION.findall(value))
    if seconds <= 0:
        raise ValueError("duration")
    return timedelta(seconds=seconds)


def is_duration(text: str) -> bool:
    try:
        parse_duration(text)
    except ValueError:
        return False
    return True


def meant_as_duration(text: str) -> bool:
    """A word shaped like a duration that is not one (-1h, 0m, +2d, and a number with a unit Sticky does not take:
    10min, 2days, 1hour, 10x, 10分钟): a typo, never the start of a reason — taken as one, `/ban @x -1h` or
    `/mute @x 10min` would act forever with the reason "-1h" or "10min". An ordinal (3rd time) is a reason."""
    word = text.strip().lower()
    if is_duration(word):
        return False
    if re.fullmatch(r"[-+]?\d+[smhdw]([-+]?\d+[smhdw])*", word):
        return True
    return re.fullmatch(r"[-+]?\d+[^\W\d_]+", word) is not None and re.fullmatch(r"\d+(st|nd|rd|th)", word) is None


def format_duration(duration: timedelta) -> str:
    """The shortest exact spelling: 90 s is 1m30s, 86400 s is 1d."""
    seconds = int(duration.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def until_for(now: datetime, duration: timedelta | None) -> datetime | None:
    """The until_date to send Telegram, None for forever: under 30 s or over 366 days Telegram reads as forever,
    so we say forever rather than pretend it is temporary."""
    if duration is None or duration < FOREVER_BELOW or duration > FOREVER_ABOVE:
        return None
    return now + duration


def parse_penalty(text: str) -> Penalty:
    """Rose's warn modes: ban | kick | mute | tmute 1h | tban 2d. Raises ValueError."""
    words = text.strip().lower().split()
    if len(words) == 1 and words[0] in PENALTIES:
        return Penalty(words[0])
    if len(words) == 2 and words[0] in ("tmute", "tban"):
        return Penalty(words[0][1:], parse_duration(words[1]))
    raise ValueError("warn_mode")


def warn_penalty(count: int, limit: int, mode: Penalty, steps: dict[int, Penalty]) -> tuple[Penalty | None, bool]:
    """What `count` active warns bring: (penalty, whether the warns are used up). At the limit the mode applies and
    the warns start again (Rose); a step below the limit (3 warns → mute 24 h) applies when it is reached exactly."""
    if count >= limit:
        return mode, True
    return steps.get(count), False


def check_target(actor: Role, actor_id: int, target: Role, target_id: int, bot_id: int) -> None:
    """Nobody acts on the owner; admins do not act on admins; nobody on themselves or on Sticky."""
    if target_id == bot_id:
        raise ModerationError(reason="bot")
    if target_id == actor_id:
        raise ModerationError(reason="self")
    if target == Role.OWNER:
        raise ModerationError(reason="owner")
    if not can_act_on(actor, target):
        raise ModerationError(reason="admin")
    if target >= Role.ADMIN:  # the owner may, but Telegram lets no bot restrict an admin it did not promote
        raise ModerationError(reason="telegram_admin")
