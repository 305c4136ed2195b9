"""Night mode, pure: the hours a group is read-only (group time, may cross midnight), whether a moment falls in
them, when the state next changes, and which permissions "read-only" takes away — time always an argument."""
from __future__ import annotations

from datetime import datetime

from bot.domain.errors import UserError
from bot.domain.outbox import parse_quiet_hours, quiet_end
from bot.domain.schedules import next_run

# What members lose at night: every way of posting. What is not posting (reactions, inviting, changing info,
# pinning, topics) stays as the group had it.
SENDING = ("can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
           "can_send_video_notes", "can_send_voice_notes", "can_send_polls", "can_send_other_messages",
           "can_add_web_page_previews")

PERMISSIONS = (*SENDING, "can_react_to_messages", "can_edit_tag", "can_change_info", "can_invite_users",
               "can_pin_messages", "can_manage_topics")


def parse_hours(text: str) -> str:
    """`23:00-07:00` (group time, may cross midnight) or `off`; the same spelling as quiet hours."""
    return parse_quiet_hours(text)


def is_night(hours: str, now: datetime, tz: str) -> bool:
    return quiet_end(hours, now, tz) is not None


def next_change(hours: str, now: datetime, tz: str) -> datetime | None:
    """The next start or end of the night after `now` (UTC), on the group's wall clock (DST as schedules: a
    time that does not exist is taken right after the gap, a repeated one at its first occurrence)."""
    if hours == "off":
        return None
    start, end = hours.split("-")
    return min(next_run("daily", start, tz, now, now), next_run("daily", end, tz, now, now))


def read_only(permissions: dict[str, bool]) -> dict[str, bool]:
    return {**permissions, **{name: False for name in SENDING}}


class NightModeError(UserError):
    """params: reason — bad_hours (what was typed: got) or no_right (the bot cannot restrict members)."""

    code = "nightmode"
