"""Check-ins redelivered after midnight count for the day they were sent, in the real `python -m bot run` process:
the bot is down while members check in before the group's midnight, and handles the backlog after it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.sim import FakeTelegram
from tests.e2e.test_run_process import db_path, make_group, query, reply_to, server, start, wait_for  # noqa: F401


class BehindClock:
    """The simulator's clock, `delta` behind the real one: messages are dated that much earlier than the bot,
    on the system clock, handles them."""

    def __init__(self, delta: timedelta) -> None:
        self.delta = delta

    def now(self) -> datetime:
        return datetime.now(timezone.utc) - self.delta


def zone_just_past_midnight(now: datetime) -> str:
    """A fixed-offset zone whose local time is now between 00:00 and 01:00."""
    offset = (24 - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX signs: Etc/GMT-8 is UTC+8


@pytest.fixture
def sim():  # noqa: F811 - this module's simulator lives a little in the past
    # In the zone the test picks (local time 00:xx), the simulator's clock reads 23:50 of the day before, and on.
    return FakeTelegram(clock=BehindClock(timedelta(minutes=datetime.now(timezone.utc).minute + 10)))


def test_checkins_redelivered_after_midnight_count_for_the_day_they_were_sent(sim, start, db_path):  # noqa: F811
    tz = zone_just_past_midnight(datetime.now(timezone.utc))
    bot = start()
    chat, owner, admin, alice, bob = make_group(sim)
    command = sim.send(owner, f"/set timezone {tz}", chat)
    wait_for(lambda: reply_to(sim, chat, command), "the /set answer", bot)
    assert bot.stop() == 0
    sent = [sim.send(who, "/checkin", chat) for who in (alice, bob, admin)]  # before the group's midnight …
    bot = start()  # … handled after it
    wait_for(lambda: all(reply_to(sim, chat, m) for m in sent), "the check-in answers", bot)

    sent_day = datetime.fromtimestamp(sent[0]["date"], ZoneInfo(tz)).date()
    handled_day = datetime.now(ZoneInfo(tz)).date()
    assert sent_day == handled_day - timedelta(days=1)
    days = query(db_path, "SELECT user_id, day FROM checkins WHERE chat_id = ? ORDER BY user_id", chat.id)
    assert days == sorted((u.id, sent_day.isoformat()) for u in (alice, bob, admin))
    assert bot.stop() == 0
