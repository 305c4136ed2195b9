"""Schedules, pure: the compact /schedule syntax, next runs from APScheduler's triggers in the group's timezone,
and what a tick does with a slot that is due (run, run late, or skip) — time always comes in as an argument.

Wall-clock kinds (daily, weekly, monthly, cron, once, every N days) run APScheduler's triggers on the group's
local wall clock (a timeline without DST), and zoneinfo maps the wall time to an instant: a time that exists twice
(the fall-back hour) runs at its first occurrence only, a time that does not exist (the spring-forward gap) runs
right after the gap. APScheduler 3.11's own CronTrigger in a DST zone fires a daily 01:30 twice on the fall-back
day and then keeps returning the same instant, so it is not used on real instants. Every N minutes/hours is
elapsed time and runs on UTC.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date as date_type, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.domain.errors import UserError

KINDS = ("once", "every", "daily", "weekly", "monthly", "cron")
ACTIONS = ("post", "reminder", "leaderboard", "campaign", "report", "quiz", "poll", "topic", "nps")
# Activities with a window: `[DURATION] [+POINTS]`, a quiz also `[first N]` (only the first N right answers pay), a poll
# `[multi]` (several answers allowed). The window ends by itself (durable deferred work), after at most MAX_CAMPAIGN.
WINDOWED = ("quiz", "poll", "topic")
_POINTS = re.compile(r"^\+(\d{1,4})$")
MAX_WINNERS = 1000
MAX_MULTIPLIER = 10
MAX_CAMPAIGN = timedelta(days=7)
_MULTIPLIER = re.compile(r"^[x×]?(\d{1,2}(?:\.\d{1,2})?)[x×]?$")
_DURATION = re.compile(r"^(\d{1,4})(m|min|h|d)$")
MIN_INTERVAL = timedelta(minutes=5)
DEFAULT_GRACE = timedelta(hours=1)
ON_TIME = timedelta(minutes=2)  # a tick every few seconds is this late at worst: still "on time"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NTH = {"first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "last": "last",
       "1st": "1st", "2nd": "2nd", "3rd": "3rd", "4th": "4th"}
UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days"}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TOPIC = re.compile(r"^topic:(\S+)$", re.IGNORECASE)
_EVERY = re.compile(r"^(\d{1,4})(m|min|h|d)$")
UTC = timezone.utc


class ScheduleError(UserError):
    """params: reason, position (1-based word), expected, got — or reason alone (past, too_often, unknown_id…)."""

    code = "schedule"


@dataclass(frozen=True)
class Spec:
    """What /schedule parsed: the kind, its canonical spec text (stored), and the action with its content."""

    kind: str
    spec: str
    action: str
    content_start: int  # index of the first content word in the words after /schedule
    options: tuple[str, ...] = ()
    multiplier: str | None = None  # campaign: the points multiplier, as text ("2", "1.5")
    minutes: int | None = None  # campaign, quiz, poll, topic: how long the window stays open
    points: int | None = None  # quiz, poll, topic: what taking part pays (None: the configured default)
    first: int | None = None  # quiz: only the first N right answers pay
    start: str | None = None  # a chosen first run, group time: "YYYY-MM-DD HH:MM" (from DATE [TIME])
    topic: str | None = None  # topic:N: the forum topic to post in ("general": outside every topic)


OPTIONS = ("pin", "replace")
REPORT_TO = ("admins", "group")
MISSED = ("late", "skip")  # a run missed while down: run once late (within the grace window), or skip and log


def _expect(words: list[str], i: int, expected: str) -> str:
    if i >= len(words):
        raise ScheduleError(reason="syntax", position=i + 1, expected=expected, got="")
    return words[i]


def _bad(i: int, expected: str, got: str) -> ScheduleError:
    return ScheduleError(reason="syntax", position=i + 1, expected=expected, got=got)


def narrow(word: str) -> str:
    """A time or date as a Chinese keyboard may type it — full-width digits, colon, hyphen (`21：30`, `２１:００`,
    `２０２６－１２－２４`) — in ASCII (NFKC), so that it reads as typed on any keyboard."""
    return unicodedata.normalize("NFKC", word)


def _time(words: list[str], i: int) -> str:
    word = _expect(words, i, "time")
    m = _TIME.match(narrow(word))
    if not m:
        raise _bad(i, "time", word)
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def _date(words: list[str], i: int) -> str:
    """A calendar date, YYYY-MM-DD, that exists."""
    word = _expect(words, i, "date")
    try:
        if not _DATE.match(narrow(word)):
            raise ValueError
        datetime.strptime(narrow(word), "%Y-%m-%d")
    except ValueError:
        raise _bad(i, "date", word) from None
    return narrow(word)


def _interval(words: list[str], i: int) -> str | None:
    """`N` and a unit (m, min, h, d), at least MIN_INTERVAL, in canonical form (5m, 2h, 3d); None when the word is
    not in that form at all."""
    word = _expect(words, i, "interval").lower()
    m = _EVERY.match(word)
    if not m:
        return None
    n, unit = int(m.group(1)), UNITS[m.group(2)]
    if n == 0:
        raise _bad(i, "interval", word)
    if timedelta(**{unit: n}) < MIN_INTERVAL:
        raise ScheduleError(reason="too_often")
    return f"{n}{m.group(2)[0]}"


def _days(word: str, i: int) -> str:
    parts = word.lower().split(",")
    out = []
    for part in parts:
        if len(part) < 3 or not any(full.startswith(part) for full in FULL_DAYS):
            raise _bad(i, "days", word)
        out.append(part[:3])
    return ",".join(sorted(set(out), key=DAYS.index))


_QUOTES = "\"'“”‘’"
_WORD = re.compile(f"[{_QUOTES}]([^{_QUOTES}]*)[{_QUOTES}](?!\\S)|\\S+")


def word_spans(text: str) -> list[tuple[str, int]]:
    """Words as the admin typed them, each with where it ends in the text. A quoted run at the start of a word
    ("0 9 * * 1-5", also in curly quotes) is one word; any other quote is a character like the rest, so a post may
    say Don't or begin a quotation it never closes."""
    return [(m.group(1) if m.group(1) is not None else m.group(0), m.end()) for m in _WORD.finditer(text)]


def split_words(text: str) -> list[str]:
    return [word for word, _ in word_spans(text)]


def parse(words: list[str]) -> Spec:
    """`KIND WHEN… ACTION [pin] [replace] CONTENT…` → Spec. Errors name the word's position and what was expected."""
    return _parse_rest(words, *parse_when(words))


def parse_when(words: list[str]) -> tuple[str, str, str | None, int]:
    """`KIND WHEN… [from DATE [TIME]]` → (kind, canonical spec, chosen first run, index of the next word)."""
    kind = _expect(words, 0, "kind").lower()
    i = 1
    if kind == "once":
        spec, i = f"{_date(words, i)} {_time(words, i + 1)}", i + 2
    elif kind == "daily":
        spec, i = _time(words, i), i + 1
    elif kind == "weekly":
        spec, i = f"{_days(_expect(words, i, 'days'), i)} {_time(words, i + 1)}", i + 2
    elif kind == "every":
        interval = _interval(words, i)
        if interval is not None:
            spec, i = interval, i + 1
            if spec.endswith("d") and i < len(words) and re.match(r"^\d+:\d+$", words[i]):  # a time, good or not
                spec, i = f"{spec} {_time(words, i)}", i + 1
        else:
            kind = "weekly"
            spec, i = f"{_days(words[i].lower(), i)} {_time(words, i + 1)}", i + 2
    elif kind == "monthly":
        word = _expect(words, i, "day").lower()
        if word.isdigit() and 1 <= int(word) <= 31:
            spec, i = f"{int(word)} {_time(words, i + 1)}", i + 1 + 1
        elif word in NTH:
            day = _expect(words, i + 1, "weekday").lower()
            if day[:3] not in DAYS:
                raise _bad(i + 1, "weekday", words[i + 1])
            spec, i = f"{NTH[word]} {day[:3]} {_time(words, i + 2)}", i + 3
        else:
            raise _bad(i, "day", words[i])
    elif kind == "cron":
        expr = _expect(words, i, "cron")
        if expr[:1] in _QUOTES:  # a quote that does not close
            raise ScheduleError(reason="quote")
        try:
            crontab(expr)
        except ValueError:
            raise _bad(i, "cron", expr) from None
        spec, i = " ".join(expr.split()), i + 1
        if too_often(spec):
            raise ScheduleError(reason="too_often")
        if never_fires(spec):
            raise ScheduleError(reason="never")
    else:
        raise _bad(0, "kind", words[0])
    start = None
    if i < len(words) and words[i].lower() == "from":  # a chosen first run
        if kind == "once":  # its date and time are its only run: nothing to choose
            raise ScheduleError(reason="from_once")
        start, i = _start(words, i + 1)
    return kind, spec, start, i


def _parse_rest(words: list[str], kind: str, spec: str, start: str | None, i: int) -> Spec:
    action = _expect(words, i, "action").lower()
    if action not in ACTIONS:
        raise _bad(i, "action", words[i])
    i += 1
    multiplier = minutes = None
    if action == "campaign":
        word = _expect(words, i, "multiplier")
        m = _MULTIPLIER.match(word.lower())
        if not m or not 1 < float(m.group(1)) <= MAX_MULTIPLIER:
            raise _bad(i, "multiplier", word)
        multiplier = m.group(1)
        word = _expect(words, i + 1, "duration")
        d = _DURATION.match(word.lower())
        if not d or int(d.group(1)) == 0 or timedelta(**{UNITS[d.group(2)]: int(d.group(1))}) > MAX_CAMPAIGN:
            raise _bad(i + 1, "duration", word)
        minutes = int(timedelta(**{UNITS[d.group(2)]: int(d.group(1))}).total_seconds() // 60)
        i += 2
    options = []
    points = first = None
    if action in WINDOWED:
        minutes, points, first, multi, i = _window_args(words, i, action)
        options += ["multi"] if multi else []
    if action == "nps" and i < len(words):  # the survey is Sticky's own question: nothing to add
        raise _bad(i, "end", words[i])
    if action == "report" and i < len(words) and words[i].lower() in REPORT_TO:  # to the admins (default) or the group
        options.append(words[i].lower())
        i += 1
    topic = None
    while i < len(words) and (words[i].lower() in OPTIONS or _TOPIC.match(words[i])):
        m = _TOPIC.match(words[i])  # topic:N (a forum topic's id) or topic:general — one word, so a post may say "topic"
        if m:
            word = m.group(1).lower()
            if word != "general" and not (word.isdigit() and 1 < int(word) < 2**31):
                raise _bad(i, "topic", words[i])
            topic, i = word, i + 1
            continue
        option = words[i].lower()
        if action not in OPTIONS_FOR[option]:  # it would be ignored: say so
            raise ScheduleError(reason=f"{option}_unused", action=action)
        if option == "replace" and kind == "once":  # one copy only: nothing before it to delete
            raise ScheduleError(reason="replace_once")
        options.append(option)
        i += 1
    if action in ("reminder", "leaderboard") and i < len(words):  # their text is Sticky's own: more would be lost
        raise _bad(i, "end", words[i])
    if action == "report" and i < len(words):  # a report has no text of its own: anything more is a mistake
        raise _bad(i, "report_to", words[i])
    return Spec(kind, spec, action, i, tuple(options), multiplier, minutes, points, first, start, topic)


def typed(step: str, word: str, today: date_type | None = None) -> str:
    """A value an admin typed at a step of the step-by-step /schedule (a time, a date, an interval), in the form the
    one-line syntax takes; ScheduleError(reason="typed", step=…) when it is not one, so the step is asked again. A
    date before `today` (group time) is refused as past."""
    word = word.strip().lower()
    read = {"time": _time, "date": _date, "interval": _interval, "cron": _typed_cron, "start": _typed_start,
            "for": _typed_duration, "pts": _typed_points, "first": _typed_winners, "where": _typed_topic}.get(step)
    try:
        value = read([word], 0) if read is not None and word else None
    except ScheduleError as err:
        if err.params.get("reason") in ("too_often", "never"):
            raise
        value = None
    if value is None:
        raise ScheduleError(reason="typed", step=step, got=word)
    if step in ("date", "start") and today is not None and datetime.strptime(value[:10], "%Y-%m-%d").date() < today:
        raise ScheduleError(reason="past")
    return value


def _typed_duration(words: list[str], i: int) -> str:
    """A window's length typed on its own (the step-by-step /schedule): what `[DURATION]` takes, 90m, 4h, 2d."""
    minutes, _points, _first, _multi, used = _window_args(words, i, "")
    if minutes is None or used != i + 1:
        raise _bad(i, "duration", words[i])
    return words[i].lower()


def _typed_points(words: list[str], i: int) -> str:
    """What taking part pays, typed on its own: 20 or +20 (the `+POINTS` of the one-line syntax) → "20"."""
    m = _POINTS.match("+" + words[i].removeprefix("+"))
    if not m:
        raise _bad(i, "points", words[i])
    return str(int(m.group(1)))


def _typed_winners(words: list[str], i: int) -> str:
    """How many right answers pay (`first N`), typed on its own: a number from 1 to MAX_WINNERS."""
    word = words[i]
    if not word.isdigit() or len(word) > 4 or not 1 <= int(word) <= MAX_WINNERS:
        raise _bad(i, "winners", word)
    return str(int(word))


_TOPIC_LINK = re.compile(r"^(?:https?://)?t\.me/(?:c/\d+|[a-z]\w+)/(\d+)(?:/\d+)?$", re.IGNORECASE)


def _typed_topic(words: list[str], i: int) -> str:
    """The forum topic to post in, typed on its own: its number (12, #12, topic:12), its link (t.me/c/…/12) or
    general → what `topic:` takes ("12", "general")."""
    word = words[i].lower().removeprefix("topic:").lstrip("#")
    link = _TOPIC_LINK.match(word)
    word = link.group(1) if link else word
    if word != "general" and not (word.isdigit() and 1 < int(word) < 2**31):
        raise _bad(i, "topic", words[i])
    return word


def window_word(word: str) -> str | None:
    """What a word of `[DURATION] [+POINTS]` is ("for", "pts"), or None (the step-by-step /schedule reads a prompt's
    command back)."""
    word = word.lower()
    return "for" if _DURATION.match(word) else "pts" if _POINTS.match(word) else None


def span_word(minutes: int) -> str:
    """A length in minutes as the one-line syntax writes it: 90m, 3h, 2d."""
    return f"{minutes // 1440}d" if minutes % 1440 == 0 else f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def looks_like_start(word: str) -> bool:
    """A word of `from DATE [TIME]` (the step-by-step /schedule reads a prompt's command back)."""
    return bool(_DATE.match(narrow(word)) or _TIME.match(narrow(word)))


def _typed_start(words: list[str], i: int) -> str:
    """`DATE [TIME]` typed on its own (the first run, step by step): "DATE TIME" (00:00 without a time)."""
    parts = words[i].split()
    if not 1 <= len(parts) <= 2:
        raise _bad(i, "date", words[i])
    start, used = _start(parts, 0)
    if used != len(parts):
        raise _bad(i, "time", words[i])
    return start


def _typed_cron(words: list[str], i: int) -> str:
    """A cron expression typed on its own (the step-by-step /schedule): what `cron "…"` takes, without quotes."""
    expr = " ".join(words[i].strip(_QUOTES).split())
    try:
        crontab(expr)
    except ValueError:
        raise _bad(i, "cron", expr) from None
    if too_often(expr):
        raise ScheduleError(reason="too_often")
    if never_fires(expr):
        raise ScheduleError(reason="never")
    return expr


def _window_args(words: list[str], i: int, action: str) -> tuple[int | None, int | None, int | None, bool, int]:
    """`[DURATION] [+POINTS] [first N] [multi]` in any order, each at most once; the content starts at the first
    word that is none of them."""
    minutes = points = first = None
    multi = False
    while i < len(words):
        word = words[i].lower()
        d = _DURATION.match(word)
        if d and minutes is None:
            span = timedelta(**{UNITS[d.group(2)]: int(d.group(1))})
            if not timedelta(0) < span <= MAX_CAMPAIGN:
                raise _bad(i, "duration", words[i])
            minutes, i = int(span.total_seconds() // 60), i + 1
        elif _POINTS.match(word) and points is None:
            points, i = int(_POINTS.match(word).group(1)), i + 1
        elif action == "quiz" and word == "first" and first is None and i + 1 < len(words) and words[i + 1].isdigit():
            first = int(words[i + 1]) if len(words[i + 1]) <= 4 else 0
            if not 1 <= first <= MAX_WINNERS:
                raise _bad(i + 1, "winners", words[i + 1])
            i += 2
        elif action == "poll" and word == "multi" and not multi:
            multi, i = True, i + 1
        else:
            break
    return minutes, points, first, multi, i


def _start(words: list[str], i: int) -> tuple[str, int]:
    """`from DATE [TIME]`: the first run is the schedule's first slot at or after it (00:00 if no time)."""
    date = _date(words, i)
    if i + 1 < len(words) and _TIME.match(narrow(words[i + 1])):
        return f"{date} {_time(words, i + 1)}", i + 2
    return f"{date} 00:00", i + 1


def local_instant(text: str, tz: str) -> datetime:
    """"YYYY-MM-DD HH:MM" on the group's wall clock as a UTC instant (the first of an ambiguous time, the end of
    a gap — as schedules run)."""
    return _instant(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC), ZoneInfo(tz))


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab's numbering: 0 (and 7) is Sunday


def _cron_day(word: str) -> int:
    word = word.lower()
    if word in _CRON_DAYS:
        return _CRON_DAYS.index(word)
    if not word.isdigit() or int(word) > 7:
        raise ValueError(word)
    return int(word)


def _cron_weekdays(field: str) -> str:
    """A crontab day-of-week field (0 or 7 Sunday, 1 Monday… 6 Saturday; names; a-b, */n, a-b/n, lists) as
    APScheduler's day names: its own numbering starts at 0 = Monday, so "1-5" would be Tuesday to Saturday."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise ValueError(part)
        if span == "*":
            lo, hi = 0, 6
        elif "-" in span:
            a, b = span.split("-", 1)
            lo, hi = _cron_day(a), _cron_day(b)
            hi = 7 if b.lower() == "sun" and lo > 0 else hi  # fri-sun: up to Sunday
            if lo > hi:
                raise ValueError(part)
        elif step:
            raise ValueError(part)  # a/n: not crontab
        else:
            lo = hi = _cron_day(span)
        days.update(d % 7 for d in range(lo, hi + 1, int(step or 1)))
    return ",".join(DAYS[(d - 1) % 7] for d in sorted(days, key=lambda d: (d - 1) % 7))


def crontab(expr: str) -> CronTrigger:
    """A standard five-field crontab line as a trigger on the (UTC-labelled) wall clock; ValueError if it is not one."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(expr)
    minute, hour, day, month, weekday = fields
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_cron_weekdays(weekday), timezone=UTC)


def never_fires(cron: str) -> bool:
    """A cron expression no date matches (31 February, 31 April): APScheduler finds no fire time up to its last year
    (a quarter of a second to find out; a rare one such as 29 February on a Monday is found at once)."""
    return crontab(cron).get_next_fire_time(None, datetime(2026, 1, 1, tzinfo=UTC)) is None


def too_often(cron: str) -> bool:
    """A cron expression with two times of day less than MIN_INTERVAL apart (the last and the first of a day
    across midnight too), judged from its minute and hour fields alone, whatever its day fields: a sample of dates
    misses a day-of-month or month (`* * 15 * *` fires every minute of the 15th)."""
    minute, hour = cron.split()[:2]
    trigger = CronTrigger(minute=minute, hour=hour, timezone=UTC)  # every day: the times of day the fields allow
    day = datetime(2026, 1, 1, tzinfo=UTC)
    prev = trigger.get_next_fire_time(None, day)
    while prev is not None and prev < day + timedelta(days=1):
        nxt = trigger.get_next_fire_time(prev, prev + timedelta(microseconds=1))
        if nxt - prev < MIN_INTERVAL:  # after the day's last time: the next day's first
            return True
        prev = nxt
    return False


# ------------------------------------------------------------------ next runs


def _wall(moment: datetime, tz: ZoneInfo) -> datetime:
    """The local wall-clock time as a UTC-labelled instant on a DST-free timeline."""
    return moment.astimezone(tz).replace(tzinfo=None, fold=0).replace(tzinfo=UTC)


def _instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time in tz as a real instant: its first occurrence if it is ambiguous, the end of the gap if
    it does not exist."""
    naive = wall.replace(tzinfo=None)
    first = naive.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return first.astimezone(UTC)
    # In a gap: fold=1 reads it with the offset after the change (earlier instant), fold=0 with the one before.
    lo, hi = naive.replace(tzinfo=tz, fold=1).astimezone(UTC), first.astimezone(UTC)
    while hi - lo > timedelta(seconds=1):  # the change of offset lies between: find it
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == lo.astimezone(tz).utcoffset():
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0)


@functools.lru_cache(maxsize=4096)  # triggers are immutable; building a CronTrigger (parsing its fields) is the cost
def _trigger(kind: str, spec: str, first_wall: datetime):
    if kind == "once":
        return DateTrigger(datetime.strptime(spec, "%Y-%m-%d %H:%M").replace(tzinfo=UTC), timezone=UTC)
    if kind == "daily":
        hour, minute = spec.split(":")
        return CronTrigger(hour=int(hour), minute=int(minute), timezone=UTC)
    if kind == "weekly":
        days, at = spec.split()
        hour, minute = at.split(":")
        return CronTrigger(day_of_week=days, hour=int(hour), minute=int(minute), timezone=UTC)
    if kind == "monthly":
        *day, at = spec.split()
        hour, minute = at.split(":")
        return CronTrigger(day=" ".join(day), hour=int(hour), minute=int(minute), timezone=UTC)
    if kind == "cron":
        return crontab(spec)
    if kind == "every":
        count, *at = spec.split()
        n, unit = int(count[:-1]), {"m": "minutes", "h": "hours", "d": "days"}[count[-1]]
        start = first_wall
        if at:
            hour, minute = at[0].split(":")
            start = start.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)
        return IntervalTrigger(**{unit: n}, start_date=start, timezone=UTC)
    raise ValueError(kind)


def on_wall_clock(kind: str, spec: str) -> bool:
    return not (kind == "every" and spec[-1] in "mh")


def next_run(kind: str, spec: str, tz: str, first_run: datetime, after: datetime) -> datetime | None:
    """The first run strictly after `after` (UTC), never before `first_run`; None when there is none (a past once)."""
    zone = ZoneInfo(tz)
    if not on_wall_clock(kind, spec):
        trigger = _trigger(kind, spec, first_run.astimezone(UTC))
        nxt = trigger.get_next_fire_time(None, max(after + timedelta(microseconds=1), first_run))
        return None if nxt is None else nxt.astimezone(UTC)
    trigger = _trigger(kind, spec, _wall(first_run, zone))
    at = max(_wall(after, zone) + timedelta(microseconds=1), _wall(first_run, zone))
    prev = None
    for _ in range(1000):  # a wall time repeated by a fall-back maps to an instant already passed: take the next
        wall = trigger.get_next_fire_time(prev, at)
        if wall is None:
            return None
        moment = _instant(wall, zone)
        if moment > after and moment >= first_run:
            return moment
        prev, at = wall, wall + timedelta(microseconds=1)
    return None


def rezone(kind: str, spec: str, old_tz: str, new_tz: str, first_run: datetime, pending: datetime | None,
           now: datetime) -> tuple[datetime, datetime | None]:
    """(first run, next run) of a schedule when its group moves from old_tz to new_tz: a wall-clock schedule keeps
    its wall times in the new zone (09:00 stays 09:00 there), its next run recomputed from now; a chosen first run
    not reached yet keeps its wall time too. `pending`: the next run now (None: paused or done, it stays so). A
    one-shot whose time has passed in the new zone is due at once (the tick then follows its missed-run policy)."""
    if pending is None or not on_wall_clock(kind, spec):
        return first_run, pending
    if first_run > now:
        first_run = _instant(_wall(first_run, ZoneInfo(old_tz)), ZoneInfo(new_tz))
    if kind == "once":
        return first_run, local_instant(spec, new_tz)
    return first_run, next_run(kind, spec, new_tz, first_run, now)


def local_text(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


# ------------------------------------------------------------------ due slots


@dataclass(frozen=True)
class Decision:
    run: bool
    late: bool  # ran (or would have) after ON_TIME
    next_run: datetime | None
    due: datetime  # the slot judged: the latest one at or before now
    skipped: datetime | None = None  # the oldest slot not run (earlier missed ones, or the judged one), None if none


def decide(kind: str, spec: str, tz: str, first_run: datetime, due: datetime, now: datetime,
           policy: str = "late", grace: timedelta = DEFAULT_GRACE) -> Decision:
    """The stored slot `due` seen at `now`: the slot judged is the latest one at or before now (after a downtime
    the stored one is the oldest missed). On time → run; late within grace under policy 'late' → run once;
    otherwise skip. Older missed slots are skipped (reported in `skipped`); the next run is the first one after
    now, so a downtime never causes a burst."""
    limit = max(ON_TIME, grace) if policy == "late" else ON_TIME
    latest, nxt = due, next_run(kind, spec, tz, first_run, due)
    if nxt is not None and nxt <= now:  # later slots passed too: only those in the window that may still run count
        nxt = next_run(kind, spec, tz, first_run, max(due, now - limit - timedelta(microseconds=1)))
        while nxt is not None and nxt <= now:  # none in the window: `latest` stays the stored one, older, skipped
            latest, nxt = nxt, next_run(kind, spec, tz, first_run, nxt)
    lateness = now - latest
    run = lateness <= ON_TIME or (policy == "late" and lateness <= grace)
    skipped = due if (not run or latest > due) else None
    return Decision(run, lateness > ON_TIME, nxt, latest, skipped)


def rerun_claimed(pending: datetime, next_run: datetime | None, enabled: bool, now: datetime, policy: str = "late",
                  grace: timedelta = DEFAULT_GRACE) -> bool:
    """A slot claimed before a crash whose run never reached the outbox (so provably nothing was sent): run it now,
    as a run missed while down would be — once, if on time or (policy 'late') within grace — unless a newer slot is
    already due (that one runs instead: never two in a row) or the schedule was paused or removed meanwhile."""
    if not enabled or (next_run is not None and next_run <= now):
        return False
    late = now - pending
    return late <= ON_TIME or (policy == "late" and late <= grace)


RETRY_FIRST = timedelta(seconds=5)
RETRY_MAX = timedelta(minutes=5)
RETRY_TRIES = 6  # six tries, 5 s, 10 s, 20 s, 40 s, 80 s apart (or as long as a 429 asks): then it is given up


def retry_delay(tries: int, at_least: timedelta = timedelta(0)) -> timedelta | None:
    """Deferred work that met a transient failure (network, timeout, 429) after `tries` earlier ones: when to try
    again, doubling each time, never sooner than Telegram asked (`at_least`, a 429's retry_after); None once it has
    been tried RETRY_TRIES times (given up, logged)."""
    if tries + 1 >= RETRY_TRIES:
        return None
    return max(min(RETRY_FIRST * 2 ** tries, RETRY_MAX), at_least)


DELETE_WINDOW = timedelta(hours=48)  # Telegram lets a bot delete a message only this long after it was sent
REPLACEABLE = ("post", "leaderboard")  # the actions whose `replace` deletes the previous copy
PINNABLE = ("post", "quiz", "poll", "topic")  # the actions whose `pin` pins what they post
OPTIONS_FOR = {"replace": REPLACEABLE, "pin": PINNABLE}


def widest_gap(kind: str, spec: str, tz: str, first_run: datetime, runs: int = 8) -> timedelta | None:
    """The longest time between two of the schedule's next `runs` runs (None: it runs once). `replace` deletes the
    previous copy, which Telegram refuses once it is DELETE_WINDOW old: a schedule that runs less often cannot
    keep that promise."""
    at, gaps = first_run - timedelta(microseconds=1), []
    prev = None
    for _ in range(runs):
        nxt = next_run(kind, spec, tz, first_run, at)
        if nxt is None:
            break
        if prev is not None:
            gaps.append(nxt - prev)
        prev = at = nxt
    return max(gaps) if gaps else None
