"""The time an event is judged by."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.domain.timing import LATE_TOLERANCE, event_time


def test_event_time_is_the_own_date_within_the_tolerance():
    now = datetime(2026, 3, 11, 0, 10, tzinfo=timezone.utc)
    assert event_time(now - timedelta(minutes=12), now) == now - timedelta(minutes=12)
    assert event_time(now + timedelta(seconds=5), now) == now  # Telegram's clock a little ahead of ours
    assert event_time(now - timedelta(days=3), now) == now - LATE_TOLERANCE  # nothing real is older than 24 h
    assert event_time(None, now) == now

