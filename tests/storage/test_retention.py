"""/retention and the weekly report read compact facts (storage/stats.py _retention: joiners' active days, per-member
activity masks counted in SQL, the few recent joiners and leavers on their own), never every member's history. On
small random worlds the answer equals the definitions of bot/domain/stats.py (cohorts, weekly_churn) applied to
every member's whole history, built here straight from the raw rows."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock
from bot.config import Config, StatsConfig
from bot.domain import stats as sd
from bot.services.groups import GroupService
from bot.services.stats import StatsService
from storage.groups import GroupRepo
from storage.stats import StatsRepo
from tests.storage.conftest import CHAT, NOW

DAY0 = date(2026, 1, 5)  # a Monday
BOT, ADMIN, PROMOTED = 9, 8, 7


def utc(day: int, hour: int) -> datetime:
    return datetime.combine(DAY0 + timedelta(days=day), datetime.min.time(), timezone.utc) + timedelta(hours=hour)


def world(rng: random.Random, horizon: int) -> list[dict]:
    """Members with random first sightings, joins / leaves / removals (some hours fall on the next or previous day
    in group time), message days (some rows without messages: replies only) and check-ins (some make-ups), a bot and
    an admin among them."""
    people = []
    for uid in range(1, 19):
        joiner = uid <= 4  # first joins in the weeks /retention shows: cohorts to count
        events, t = [], rng.randint(horizon - 45, horizon - 10) if joiner else rng.randint(-60, horizon)
        for i in range(rng.choice((1, 2, 3)) if joiner else rng.choice((0, 0, 1, 1, 2, 3, 4))):
            kinds = ("join",) if joiner and not i else ("join", "join", "leave", "removed")
            events.append((utc(t, rng.randint(0, 23)), rng.choice(kinds)))
            t += rng.randint(0, 25)
        seen = min([utc(rng.randint(-70, horizon), rng.randint(0, 23))] + [at for at, _ in events[:1]])
        if rng.random() < 0.15:  # first seen after their first join or activity: data as it may be
            seen = utc(rng.randint(-10, horizon), 5)
        level = rng.choice((0.02, 0.08, 0.2, 0.5))
        messages = {DAY0 + timedelta(days=d): rng.choice((0, 1, 1, 4)) for d in range(-70, horizon + 2) if rng.random() < level}
        checkins = {DAY0 + timedelta(days=d): int(rng.random() < 0.2) for d in range(-70, horizon + 2) if rng.random() < level / 2}
        # One member was an admin for a while (promoted, then demoted): an admin on those local days only.
        stint = None
        if uid == PROMOTED:
            since = rng.randint(horizon - 40, horizon - 5)
            stint = (utc(since, rng.randint(0, 23)), utc(since + rng.randint(0, 12), rng.randint(0, 23)))
        people.append({"uid": uid, "bot": uid == BOT, "role": "admin" if uid == ADMIN else None, "seen": seen,
                       "events": [(at, e) for at, e in events if at <= utc(horizon, 23)], "messages": messages,
                       "checkins": checkins, "stint": stint})
    return people


async def stage(db, people) -> None:
    async with db.transaction() as tx:
        for p in people:
            uid = p["uid"]
            await tx.execute("INSERT INTO users(user_id, first_name, is_bot, updated_at) VALUES (?, ?, ?, ?)",
                             (uid, f"U{uid}", int(p["bot"]), NOW.isoformat()))
            last = p["events"][-1][1] if p["events"] else "join"
            await tx.execute("INSERT INTO members(chat_id, user_id, status, tg_role, first_seen_at) VALUES (?, ?, ?, ?, ?)",
                             (CHAT, uid, "member" if last == "join" else "left", p["role"], p["seen"].isoformat()))
            for at, event in p["events"]:
                await tx.execute("INSERT INTO member_events(chat_id, user_id, event, at) VALUES (?, ?, ?, ?)",
                                 (CHAT, uid, event, at.isoformat()))
            for day, n in p["messages"].items():
                await tx.execute("INSERT INTO activity_daily(chat_id, user_id, day, messages) VALUES (?, ?, ?, ?)",
                                 (CHAT, uid, day.isoformat(), n))
            if p.get("stint"):
                await tx.execute("INSERT INTO admin_spans(chat_id, user_id, since, until) VALUES (?, ?, ?, ?)",
                                 (CHAT, uid, *(at.isoformat() for at in p["stint"])))
            for day, makeup in p["checkins"].items():
                await tx.execute(
                    "INSERT INTO checkins(chat_id, user_id, day, at, streak, points, xp, makeup) VALUES (?, ?, ?, ?, 1, 10, 10, ?)",
                    (CHAT, uid, day.isoformat(), NOW.isoformat(), makeup))


def histories(people, tz: str) -> list[sd.History]:
    """Every human member's whole history, in group time, from the rows as staged."""
    zone = ZoneInfo(tz)
    out = []
    for p in people:
        if p["bot"]:
            continue
        active = {d for d, n in p["messages"].items() if n > 0} | {d for d, m in p["checkins"].items() if not m}
        in_order = sorted(p["events"], key=lambda ev: ev[0])  # by time; the same instant in the order written
        events = tuple((at.astimezone(zone).date(), "join" if e == "join" else "leave") for at, e in in_order)
        admin_days = frozenset()
        if p.get("stint"):
            first, last = (at.astimezone(zone).date() for at in p["stint"])
            admin_days = frozenset(sd.days_between(first, last))
        out.append(sd.History(p["uid"], frozenset(active), events, p["seen"].astimezone(zone).date(), p["role"] is not None,
                              admin_days))
    return out


@pytest.mark.parametrize("seed", range(24))
async def test_retention_and_churn_equal_the_definitions_on_whole_histories(db, chat, seed):
    # Several days of asking (each weekday, so the weeks fall differently), bounded and unbounded, silent_days
    # shorter than a week (masks with gaps between windows) up to the default, in a timezone ahead of UTC and one
    # behind it with a DST change inside the weeks.
    rng = random.Random(seed)
    tz = rng.choice(("Asia/Shanghai", "America/Los_Angeles"))
    silent = rng.choice((1, 3, 7, 10, 30))
    horizon = 80
    people = world(rng, horizon)
    await stage(db, people)
    await GroupRepo(db).set_setting(CHAT, "timezone", tz, None, NOW)
    want_h = histories(people, tz)
    for offset in sorted(rng.sample(range(55, horizon + 1), 3)):
        at = utc(offset, rng.randint(0, 23))
        clock = FixedClock(at)
        config = Config(stats=StatsConfig(silent_days=silent))
        service = StatsService(StatsRepo(db), GroupService(GroupRepo(db), config, clock), clock, config.stats)
        today = at.astimezone(ZoneInfo(tz)).date()
        this_week = sd.week_start(today)
        first_week = this_week - timedelta(days=56)
        want_churn = [sd.weekly_churn(want_h, first_week + timedelta(days=7 * i), silent) for i in range(8)]
        for unbounded in (False, True):
            got = await service.retention(CHAT, at, unbounded=unbounded)
            want = sd.cohorts(want_h, first_week, this_week - timedelta(days=7), today, 8, unbounded)
            assert got.cohorts == want, (seed, offset, unbounded)
            assert got.churn == want_churn, (seed, offset)
        assert any(c.size for c in want)

        # The weekly report: its week's stats and the newest cohort whose first week after joining is over.
        async with db.transaction() as tx:  # once per group week: another day of the same week may ask here
            await tx.execute("DELETE FROM weekly_reports WHERE chat_id = ?", (CHAT,))
        weekly = await service.weekly(CHAT, at)
        assert weekly is not None
        week, report, lifecycle, cohort = weekly
        assert week == this_week - timedelta(days=7)
        assert lifecycle == sd.lifecycle_counts(want_h, week), (seed, offset)
        bounded = sd.cohorts(want_h, first_week, this_week - timedelta(days=7), today, 8)
        assert cohort == next((c for c in reversed(bounded) if c.size and c.retained[0] is not None), None)
        counts = sd.counts_from_histories(want_h, week, week + timedelta(days=6))
        assert (report.now.wau, report.now.mau, report.now.joins, report.now.leaves) == (
            counts.wau, counts.mau, counts.joins, counts.leaves)
        assert report.now.dau == sd.period_stats(counts).dau


async def test_churn_counts_a_rejoiner_a_newcomer_and_a_silent_member_as_defined(db, chat):
    # A hand-made world whose answer is known: week 0 starts DAY0 + 14 (asked on DAY0 + 70, 8 weeks shown from
    # DAY0 + 14). Member 1 is active all along; member 2 goes silent after day 10 (silent 30 days: churned in the
    # week of day 40); member 3 leaves on day 30 and comes back on day 45; member 4 is first seen on day 50.
    people = [
        {"uid": 1, "bot": False, "role": None, "seen": utc(-60, 3), "events": [],
         "messages": {DAY0 + timedelta(days=d): 1 for d in range(-20, 70, 3)}, "checkins": {}},
        {"uid": 2, "bot": False, "role": None, "seen": utc(-60, 3), "events": [],
         "messages": {DAY0 + timedelta(days=d): 1 for d in range(0, 11)}, "checkins": {}},
        {"uid": 3, "bot": False, "role": None, "seen": utc(-60, 3), "events": [(utc(-50, 3), "join"), (utc(30, 3), "leave"), (utc(45, 3), "join")],
         "messages": {DAY0 + timedelta(days=d): 1 for d in (5, 20, 46)}, "checkins": {}},
        {"uid": 4, "bot": False, "role": None, "seen": utc(50, 3), "events": [(utc(50, 3), "join")],
         "messages": {DAY0 + timedelta(days=58): 2}, "checkins": {DAY0 + timedelta(days=51): 0}},
    ]
    await stage(db, people)
    clock = FixedClock(utc(70, 12))
    config = Config()
    service = StatsService(StatsRepo(db), GroupService(GroupRepo(db), config, clock), clock, config.stats)
    got = await service.retention(CHAT, utc(70, 12))
    weeks = {c.week: (c.base, c.churned) for c in got.churn}
    week = lambda n: DAY0 + timedelta(days=n)  # noqa: E731
    assert weeks[week(14)] == (3, 0)     # 1, 2, 3 present and not silent at the end of day 13
    assert weeks[week(28)] == (3, 1)     # 3 leaves on day 30
    assert weeks[week(35)] == (2, 1)     # 2's last active day is 10: silent 30 days on day 40
    assert weeks[week(42)] == (1, 0)     # only 1 was in and not silent at the end of day 41
    assert weeks[week(49)] == (2, 0)     # 3 came back on day 45; 4 is not known before day 50
    assert weeks[week(56)] == (3, 0)     # 4 joined on day 50, checked in on day 51
    cohort = next(c for c in got.cohorts if c.week == week(49))
    assert cohort.size == 1 and cohort.retained[:3] == (1, 0, None)  # 4: active in W+1, not W+2, W+3 not over
    assert [c.size for c in got.cohorts if c.week == week(42)] == [0]  # 3's return makes no one new
    unbounded = await service.retention(CHAT, utc(70, 12), unbounded=True)
    assert next(c for c in unbounded.cohorts if c.week == week(49)).retained[:3] == (1, 0, None)


@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu",
                                "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago", "America/Havana", "Pacific/Apia",
                                "Pacific/Kiritimati", "America/Scoresbysund"])
def test_the_local_day_of_a_stored_time_is_the_one_astimezone_gives(tz):
    """/retention dates each join, leave and first sighting by a lookup of where the group's days begin, not a
    conversion per time: the same local day for every stored time, half-hour and 45-minute offsets, DST changes
    at midnight, a day a zone skipped (Apia, 2011-12-30) and the minutes around each change of offset."""
    from storage.db import iso
    from storage.stats import LocalDays

    zone, rng, local = ZoneInfo(tz), random.Random(tz), LocalDays(tz)
    start = datetime(2010, 1, 1, tzinfo=timezone.utc)
    moments = [start + timedelta(seconds=rng.randrange(20 * 365 * 86400)) for _ in range(3000)]
    t = start
    while t < datetime(2030, 1, 1, tzinfo=timezone.utc):  # every change of offset, found hour by hour
        if (t + timedelta(hours=1)).astimezone(zone).utcoffset() != t.astimezone(zone).utcoffset():
            edge = t + timedelta(hours=1)
            moments += [edge + timedelta(minutes=m) for m in range(-90, 91, 15)] + [edge - timedelta(seconds=1), edge]
        t += timedelta(hours=1)
    assert [local(iso(m)) for m in moments] == [m.astimezone(zone).date() for m in moments]
