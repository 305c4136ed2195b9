"""Replies of /nightmode and night mode's announcements at the start and end of the night."""
from __future__ import annotations

from datetime import datetime
from html import escape

from bot.domain.nightmode import NightModeError
from bot.domain.schedules import local_text
from bot.texts import Translator


def _hhmm(moment: datetime, tz: str) -> str:
    return local_text(moment, tz)[-5:]


def nightmode_error(_: Translator, err: NightModeError) -> str:
    if err.params.get("reason") == "no_right":
        return _("To close the group at night I need the admin right to restrict members (Ban users).")
    return _("Night hours are HH:MM-HH:MM in group time, such as 23:00-07:00, or off.")


def status(_: Translator, hours: str | None, closed: bool, tz: str) -> str:
    if hours is None:
        return _("Night mode is off. /nightmode 23:00-07:00 makes the group read-only for members from 23:00 to 07:00"
                 " (group time); admins can still post.")
    start, end = hours.split("-")
    if closed:
        return _("Night mode: {start}-{end} ({tz}). The group is read-only now; it opens at {end}.").format(
            start=start, end=end, tz=escape(tz))
    return _("Night mode: {start}-{end} ({tz}). The group is open; it closes at {start}.").format(
        start=start, end=end, tz=escape(tz))


def turned_on(_: Translator, hours: str, closed_until: datetime | None, tz: str) -> str:
    start, end = hours.split("-")
    if closed_until is not None:
        return _("Night mode on: from {start} to {end} ({tz}) members can read but not post; admins can. Closed now,"
                 " until {until}.").format(start=start, end=end, tz=escape(tz), until=_hhmm(closed_until, tz))
    return _("Night mode on: from {start} to {end} ({tz}) members can read but not post; admins can.").format(
        start=start, end=end, tz=escape(tz))


def turned_off(_: Translator, did: str) -> str:
    if did == "opened":
        return _("Night mode off. The group is open again, with the permissions it had before the night.")
    if did in ("failed", "no_right"):
        return _("Night mode off, but I could not reopen the group yet (Telegram refused); I will try again in a few"
                 " minutes.")
    return _("Night mode off.")


def closed(_: Translator, until: datetime, tz: str) -> str:
    return _("🌙 Night mode: the group is read-only until {end}. Good night!").format(end=_hhmm(until, tz))


def opened(_: Translator) -> str:
    return _("☀️ Good morning! Night mode is over: everyone can post again.")
