"""Push discipline, pure: which bot-initiated messages count toward a group's caps, what quiet hours do to each
kind (hold it to their end, or drop it), and where the group's day, week and quiet hours start."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.schedules import local_instant


@dataclass(frozen=True)
class Policy:
    capped: bool  # counts toward (and is refused by) the daily and weekly caps
    quiet: str  # during quiet hours: "defer" (sent when they end) or "drop"


# Every kind of message Sticky sends on its own initiative. Unknown kinds get the strictest policy.
POLICIES: dict[str, Policy] = {
    "schedule": Policy(capped=True, quiet="defer"),
    "reminder": Policy(capped=True, quiet="drop"),  # "check in today" is pointless tomorrow
    "leaderboard": Policy(capped=True, quiet="defer"),
    "tier_up": Policy(capped=True, quiet="drop"),
    "weekly_top": Policy(capped=True, quiet="defer"),
    "campaign": Policy(capped=True, quiet="defer"),
    "report": Policy(capped=True, quiet="defer"),  # the weekly report, posted in the group
    "report_admins": Policy(capped=False, quiet="defer"),  # private: the weekly report to each admin
    "spotlight": Policy(capped=False, quiet="defer"),  # private: a newcomer very active in their first day, to admins
    # Activities with a window (a quiz, a poll, a topic of the week, an NPS survey) are not moved by quiet hours:
    # their time is part of them. What they lead to (a quiz's result, the topic's best replies) may wait till morning.
    "quiz": Policy(capped=True, quiet="drop"),
    "poll": Policy(capped=True, quiet="drop"),
    "topic": Policy(capped=True, quiet="drop"),
    "nps": Policy(capped=True, quiet="drop"),
    "quiz_result": Policy(capped=False, quiet="defer"),
    "topic_result": Policy(capped=False, quiet="defer"),
    "referral": Policy(capped=False, quiet="defer"),  # private: the inviter's reward notice
    "expiry": Policy(capped=False, quiet="defer"),  # private: points about to expire
    "feedback": Policy(capped=False, quiet="defer"),  # an answer to what a member asked
    "private": Policy(capped=False, quiet="defer"),
    "log_refused": Policy(capped=False, quiet="defer"),  # the owner told once that the log chat refuses
    "rule": Policy(capped=False, quiet="drop"),  # a rule's answer to what a member just did (a check-in, a join…)
    "rule_notify": Policy(capped=False, quiet="defer"),  # private: a rule tells the admins
    "report_notify": Policy(capped=False, quiet="defer"),  # private: a member's /report (or @admin), to the admins
    "night": Policy(capped=False, quiet="drop"),  # night mode's "closed until 07:00" / "open again": stale later
}
STRICT = Policy(capped=True, quiet="drop")

_QUIET = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)-([01]?\d|2[0-3]):([0-5]\d)$")


def policy(kind: str) -> Policy:
    return POLICIES.get(kind, STRICT)


def parse_quiet_hours(text: str) -> str:
    """`22:00-08:00` (may cross midnight) or `off`; full-width digits, colon and hyphen as a Chinese keyboard types
    them (`22：00-08：00`) read as their ASCII forms (NFKC)."""
    value = unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")
    if value in ("off", "none", "关"):
        return "off"
    m = _QUIET.match(value)
    if not m or (m.group(1), m.group(2)) == (m.group(3), m.group(4)):
        raise ValueError("quiet_hours")
    return f"{int(m.group(1)):02d}:{m.group(2)}-{int(m.group(3)):02d}:{m.group(4)}"


def quiet_end(quiet: str, now: datetime, tz: str) -> datetime | None:
    """When the quiet hours that hold `now` end (UTC), or None if now is not quiet. An end that falls in a DST
    change is read as a schedule's time is: the first occurrence of a repeated time, right after a gap."""
    if quiet == "off":
        return None
    start_text, end_text = quiet.split("-")
    start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
    local = now.astimezone(ZoneInfo(tz))
    t = local.time().replace(tzinfo=None)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return local_instant(f"{day.isoformat()} {end_text}", tz)


def day_and_week_start(now: datetime, tz: str) -> tuple[datetime, datetime]:
    """The start of the group's local day and of its week (Monday), as UTC instants."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    day = datetime.combine(local.date(), time(0), tzinfo=zone)
    week = datetime.combine(local.date() - timedelta(days=local.weekday()), time(0), tzinfo=zone)
    return day.astimezone(ZoneInfo("UTC")), week.astimezone(ZoneInfo("UTC"))


_LINK_MENTION = re.compile(r"tg://user\?id=(\d{1,20})")
_AT_MENTION = re.compile(r"(?<![\w@/.])@([A-Za-z]\w{3,31})\b")


def mentioned(text: str) -> tuple[set[int], set[str]]:
    """Whom a message's text (HTML) mentions: user ids of mentions by link, and @usernames (lower case)."""
    return {int(m) for m in _LINK_MENTION.findall(text)}, {m.lower() for m in _AT_MENTION.findall(text)}

