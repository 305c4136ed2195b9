"""Schedules, pure: the compact syntax (errors name the word and what was expected), next runs in the group's
timezone across DST changes, and what a tick does with a slot missed during downtime."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.domain.schedules import ScheduleError, decide, next_run, parse, parse_when, rezone, split_words, typed

UTC = timezone.utc
FIRST = datetime(2026, 1, 1, tzinfo=UTC)


def runs(kind, spec, tz, after, n=3):
    out = []
    for _ in range(n):
        after = next_run(kind, spec, tz, FIRST, after)
        out.append(after)
    return out


def local(moments, tz):
    return [m.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M %Z") for m in moments]


def test_daily_in_new_york_does_not_repeat_in_the_fall_back_hour():
    got = runs("daily", "01:30", "America/New_York", datetime(2026, 10, 31, 12, tzinfo=UTC))
    # 1 November 01:30 happens twice (EDT, then EST): it runs at the first only, then daily as usual.
    assert local(got, "America/New_York") == ["11-01 01:30 EDT", "11-02 01:30 EST", "11-03 01:30 EST"]


def test_daily_in_new_york_runs_right_after_the_spring_forward_gap():
    got = runs("daily", "02:30", "America/New_York", datetime(2026, 3, 7, 12, tzinfo=UTC))
    # 8 March has no 02:30 (02:00 → 03:00): it runs at 03:00, the first moment after the gap.
    assert local(got, "America/New_York") == ["03-08 03:00 EDT", "03-09 02:30 EDT", "03-10 02:30 EDT"]


def test_cron_every_half_hour_skips_the_repeated_hour_and_never_goes_back():
    got = runs("cron", "*/30 * * * *", "America/New_York", datetime(2026, 11, 1, 4, 50, tzinfo=UTC), 4)
    assert local(got, "America/New_York") == ["11-01 01:00 EDT", "11-01 01:30 EDT", "11-01 02:00 EST", "11-01 02:30 EST"]
    assert got == sorted(got)


def test_auckland_spring_forward_and_fall_back():
    # NZ: 27 Sep 2026 02:00 → 03:00; 5 Apr 2026 03:00 → 02:00.
    gap = runs("daily", "02:15", "Pacific/Auckland", datetime(2026, 9, 25, 12, tzinfo=UTC), 2)
    assert local(gap, "Pacific/Auckland") == ["09-26 02:15 NZST", "09-27 03:00 NZDT"]
    fold = runs("daily", "02:30", "Pacific/Auckland", datetime(2026, 4, 4, 12, tzinfo=UTC), 2)
    assert local(fold, "Pacific/Auckland") == ["04-05 02:30 NZDT", "04-06 02:30 NZST"]


def test_shanghai_has_no_dst_and_weekly_monthly_follow_its_wall_clock():
    got = runs("weekly", "mon,thu 09:00", "Asia/Shanghai", datetime(2026, 12, 1, tzinfo=UTC))
    assert local(got, "Asia/Shanghai") == ["12-03 09:00 CST", "12-07 09:00 CST", "12-10 09:00 CST"]
    assert [m.hour for m in got] == [1, 1, 1]  # 09:00 in Shanghai is 01:00 UTC
    first_saturday = runs("monthly", "1st sat 10:00", "Asia/Shanghai", datetime(2026, 12, 1, tzinfo=UTC), 2)
    assert local(first_saturday, "Asia/Shanghai") == ["12-05 10:00 CST", "01-02 10:00 CST"]


def test_every_hours_is_elapsed_time_and_every_days_keeps_the_wall_time():
    start = datetime(2026, 3, 7, 12, tzinfo=UTC)
    hours = [next_run("every", "6h", "America/New_York", start, start + timedelta(hours=6 * i)) for i in range(4)]
    assert [h - start for h in hours] == [timedelta(hours=6 * (i + 1)) for i in range(4)]
    days = runs("every", "1d 09:00", "America/New_York", start)
    assert local(days, "America/New_York") == ["03-07 09:00 EST", "03-08 09:00 EDT", "03-09 09:00 EDT"]


def test_once_in_the_past_has_no_next_run():
    assert next_run("once", "2026-12-24 18:00", "Asia/Shanghai", FIRST, datetime(2026, 12, 24, 10, 1, tzinfo=UTC)) is None
    assert next_run("once", "2026-12-24 18:00", "Asia/Shanghai", FIRST, datetime(2026, 12, 24, 9, tzinfo=UTC)) == datetime(2026, 12, 24, 10, tzinfo=UTC)


def test_a_slot_missed_in_downtime_runs_once_late_within_grace_and_never_bursts():
    due = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # daily 09:00 Shanghai
    late = decide("daily", "09:00", "Asia/Shanghai", FIRST, due, due + timedelta(minutes=40))
    assert late.run and late.late and late.next_run == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    # Down three days, back 2 h after today's slot: one decision, skipped (beyond the hour of grace), and the next
    # run is tomorrow — no burst.
    gone = decide("daily", "09:00", "Asia/Shanghai", FIRST, due, due + timedelta(days=3, hours=2))
    assert not gone.run and gone.skipped == due and gone.next_run == datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    skip = decide("daily", "09:00", "Asia/Shanghai", FIRST, due, due + timedelta(minutes=40), policy="skip")
    assert not skip.run
    on_time = decide("daily", "09:00", "Asia/Shanghai", FIRST, due, due + timedelta(seconds=20), policy="skip")
    assert on_time.run and not on_time.late


def test_after_a_long_downtime_the_latest_slot_is_judged_not_the_oldest_missed_one():
    due = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # daily 09:00 Shanghai, stored while Sticky was down for two days
    now = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)  # today's 09:00 was 30 minutes ago: within the hour of grace
    d = decide("daily", "09:00", "Asia/Shanghai", FIRST, due, now)
    assert d.run and d.late and d.due == datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
    assert d.skipped == due and d.next_run == datetime(2026, 12, 4, 1, 0, tzinfo=UTC)  # the older ones: skipped, once
    # every 5 minutes, down a day: the slot of a minute ago runs on time, not one of the 287 before it
    start = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    often = decide("every", "5m", "Asia/Shanghai", start, start + timedelta(minutes=5), start + timedelta(days=1, minutes=1))
    assert often.run and not often.late and often.due == start + timedelta(days=1)
    assert often.skipped == start + timedelta(minutes=5) and often.next_run == start + timedelta(days=1, minutes=5)
    # under 'skip' the latest runs only when on time; otherwise all is skipped, from the oldest
    skip = decide("daily", "09:00", "Asia/Shanghai", FIRST, due, now, policy="skip")
    assert not skip.run and skip.skipped == due and skip.next_run == datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    fresh = decide("daily", "09:00", "Asia/Shanghai", FIRST, due, datetime(2026, 12, 3, 1, 0, 30, tzinfo=UTC), policy="skip")
    assert fresh.run and not fresh.late and fresh.skipped == due


def test_a_new_timezone_keeps_wall_times_a_passed_one_shot_is_due_and_paused_stays_paused():
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, 22:00 (Nov 30) in New York
    chosen = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # a first run chosen as 12-05 09:00 Shanghai, not reached yet
    first, nxt = rezone("daily", "09:00", "Asia/Shanghai", "America/New_York", chosen, chosen, now)
    assert first == datetime(2026, 12, 5, 14, 0, tzinfo=UTC) and nxt == first  # 09:00 there
    # a one-shot at 12-01 18:00: in Shanghai still ahead, in Auckland (UTC+13) it passed at 05:00 UTC the day before
    _, due = rezone("once", "2026-12-01 18:00", "Asia/Shanghai", "Pacific/Auckland", now - timedelta(days=1),
                    datetime(2026, 12, 1, 10, 0, tzinfo=UTC), now)
    assert due == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # due now: the tick's missed-run policy decides
    assert rezone("daily", "09:00", "Asia/Shanghai", "UTC", now - timedelta(days=1), None, now)[1] is None
    every = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)
    assert rezone("every", "30m", "Asia/Shanghai", "UTC", now, every, now) == (now, every)  # elapsed time: unchanged


@pytest.mark.parametrize(("text", "params"), [
    ("daily 25:00 post hi", {"reason": "syntax", "position": 2, "expected": "time", "got": "25:00"}),
    ("daily", {"reason": "syntax", "position": 2, "expected": "time", "got": ""}),
    ("weekly funday 10:00 post x", {"reason": "syntax", "position": 2, "expected": "days", "got": "funday"}),
    ("daily 10:00 dance", {"reason": "syntax", "position": 3, "expected": "action", "got": "dance"}),
    ("yearly 10:00 post x", {"reason": "syntax", "position": 1, "expected": "kind", "got": "yearly"}),
    ("once 2026-02-30 10:00 post x", {"reason": "syntax", "position": 2, "expected": "date", "got": "2026-02-30"}),
    ("monthly 32 10:00 post x", {"reason": "syntax", "position": 2, "expected": "day", "got": "32"}),
    ("monthly first funday 10:00 post x", {"reason": "syntax", "position": 3, "expected": "weekday", "got": "funday"}),
    ('cron "0 9 * *" post x', {"reason": "syntax", "position": 2, "expected": "cron", "got": "0 9 * *"}),
    ("every 2m post x", {"reason": "too_often"}),
    ("every 3d 25:00 post x", {"reason": "syntax", "position": 3, "expected": "time", "got": "25:00"}),
    ("every 2h 09:00 post x", {"reason": "syntax", "position": 3, "expected": "action", "got": "09:00"}),
    ('cron "*/2 * * * *" post x', {"reason": "too_often"}),
    # Judged from the minute and hour alone, whatever the days: these fire every minute or two on their days.
    ('cron "* * 15 * *" post x', {"reason": "too_often"}),
    ('cron "* * * 6 *" post x', {"reason": "too_often"}),
    ('cron "*/2 9 20 * *" post x', {"reason": "too_often"}),
    ('cron "0,2 9 1 1 *" post x', {"reason": "too_often"}),
    ('cron "0,58 0,23 1 * *" post x', {"reason": "too_often"}),  # 23:58, then 00:00: two minutes across midnight
    ('cron "0 9 * * 1-5 post x', {"reason": "quote"}),
])
def test_bad_syntax_names_the_word_and_what_was_expected(text, params):
    with pytest.raises(ScheduleError) as err:
        parse(split_words(text))
    assert err.value.params == params


@pytest.mark.parametrize("cron", ["*/5 * 15 * *", "0,55 * * 6 *", "0,5 9 1 1 *", "55 23,0 * * *", "0 9 * * 1-5"])
def test_a_cron_whose_times_of_day_are_5_minutes_apart_or_more_is_taken_whatever_its_days(cron):
    assert parse(split_words(f'cron "{cron}" post x')).spec == cron


def test_good_syntax():
    weekly = parse(split_words("every mon 09:00 post Weekly topic: cats"))
    assert (weekly.kind, weekly.spec, weekly.action, weekly.content_start) == ("weekly", "mon 09:00", "post", 4)
    cron = parse(split_words('cron "0 9 * * 1-5" post pin replace Good morning'))
    assert (cron.kind, cron.spec, cron.options, cron.content_start) == ("cron", "0 9 * * 1-5", ("pin", "replace"), 5)
    assert parse(split_words("every 5m post x")).spec == "5m"
    assert parse(split_words("daily 9:05 reminder")).spec == "09:05"
    assert parse(split_words("monthly last fri 18:00 post x")).spec == "last fri 18:00"
    assert parse(split_words("weekly Monday,WED 08:00 post x")).spec == "mon,wed 08:00"


def test_cron_day_of_week_is_standard_crontab_0_and_7_are_sunday_1_is_monday():
    # "0 9 * * 1-5" is the README's stand-up time: Monday to Friday, as in every crontab (not APScheduler's 0=Monday).
    saturday = datetime(2026, 12, 5, 12, tzinfo=UTC)
    days = [m.strftime("%a") for m in runs("cron", "0 9 * * 1-5", "UTC", saturday, 6)]
    assert days == ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon"]
    assert [m.strftime("%a") for m in runs("cron", "0 9 * * 0", "UTC", saturday, 2)] == ["Sun", "Sun"]
    assert [m.strftime("%a") for m in runs("cron", "0 9 * * 7", "UTC", saturday, 1)] == ["Sun"]
    assert [m.strftime("%a") for m in runs("cron", "0 9 * * 5-7", "UTC", saturday, 3)] == ["Sun", "Fri", "Sat"]
    assert [m.strftime("%a") for m in runs("cron", "0 9 * * */2", "UTC", saturday, 4)] == ["Sun", "Tue", "Thu", "Sat"]
    assert [m.strftime("%a") for m in runs("cron", "0 9 * * SUN,wed", "UTC", saturday, 2)] == ["Sun", "Wed"]
    assert parse(split_words('cron "0 9 * * 7" post x')).spec == "0 9 * * 7"
    with pytest.raises(ScheduleError) as err:
        parse(split_words('cron "0 9 * * 8" post x'))
    assert err.value.params == {"reason": "syntax", "position": 2, "expected": "cron", "got": "0 9 * * 8"}


@pytest.mark.parametrize("step, word, value", [
    ("time", " 9:05 ", "09:05"), ("date", "2026-05-10", "2026-05-10"), ("interval", "90MIN", "90m"), ("interval", "2d", "2d"),
])
def test_a_typed_answer_is_read_as_the_one_line_syntax_reads_it(step, word, value):
    assert typed(step, word, today=date(2026, 5, 4)) == value
    one_line = {"time": ["daily", value], "date": ["once", value, "10:00"], "interval": ["every", value]}[step]
    assert value in parse_when(one_line)[1]


@pytest.mark.parametrize("step, word, reason", [
    ("time", "24:00", "typed"), ("time", "", "typed"), ("date", "2026-02-30", "typed"), ("date", "10/05/2026", "typed"),
    ("date", "2026-05-03", "past"), ("interval", "0m", "typed"), ("interval", "4m", "too_often"), ("interval", "mon", "typed"),
])
def test_a_typed_answer_the_one_line_syntax_refuses_is_refused(step, word, reason):
    with pytest.raises(ScheduleError) as err:
        typed(step, word, today=date(2026, 5, 4))
    assert err.value.params["reason"] == reason
