"""When something happened, for judging it: the update's own date, within a stated tolerance. Pure."""
from __future__ import annotations

from datetime import datetime, timedelta

# Telegram keeps an update it could not deliver for 24 hours: an event up to that old (downtime, a backlog,
# redelivery after a restart) is judged by its own date. A date older than that cannot be a late delivery.
LATE_TOLERANCE = timedelta(hours=24)


def event_time(sent_at: datetime | None, now: datetime, tolerance: timedelta = LATE_TOLERANCE) -> datetime:
    """The time to judge an event by: its own date (a message's `date`), never later than now (Telegram's clock
    may run a little ahead of ours) nor older than `tolerance`; now when it has none of its own."""
    if sent_at is None:
        return now
    return min(max(sent_at, now - tolerance), now)
