"""Push discipline, pure: when quiet hours end, in the group's timezone, across DST changes."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from bot.domain.outbox import quiet_end
from bot.domain.schedules import next_run

UTC = timezone.utc
NY = "America/New_York"


def local(moment):
    return moment.astimezone(ZoneInfo(NY)).strftime("%m-%d %H:%M %Z")


def test_quiet_hours_ending_inside_the_spring_forward_gap_end_right_after_it_as_a_schedule_runs():
    # 8 March 2026, New York: clocks go 02:00 EST → 03:00 EDT, so 02:30 does not exist that night.
    now = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # 01:30 EST
    end = quiet_end("22:00-02:30", now, NY)
    assert local(end) == "03-08 03:00 EDT"
    # The same wall time as a daily schedule runs at the same instant: one rule for a time in the gap.
    assert end == next_run("daily", "02:30", NY, datetime(2026, 1, 1, tzinfo=UTC), now)


def test_quiet_hours_ending_in_the_fall_back_hour_end_at_its_first_occurrence():
    now = datetime(2026, 11, 1, 4, tzinfo=UTC)  # 00:00 EDT; 01:30 happens twice that night
    assert local(quiet_end("22:00-01:30", now, NY)) == "11-01 01:30 EDT"


def test_quiet_hours_on_an_ordinary_night_end_at_their_wall_time():
    now = datetime(2026, 1, 10, 4, tzinfo=UTC)  # 9 January, 23:00 EST
    assert local(quiet_end("22:00-08:00", now, NY)) == "01-10 08:00 EST"
    assert quiet_end("22:00-08:00", datetime(2026, 1, 10, 15, tzinfo=UTC), NY) is None
