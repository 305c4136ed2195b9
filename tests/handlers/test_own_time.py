"""Events are judged by their own time: a /checkin typed before the group's midnight and handled after it (a backlog
after downtime, a redelivery after a restart) counts for the day it was typed — streaks, ranks and the ledger too."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from tests.helpers import say


def local(tz: str, *when: int) -> datetime:
    return datetime(*when, tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


async def days_of(pg, chat) -> dict[int, list[str]]:
    rows = await pg.services.db.fetchall("SELECT user_id, day FROM checkins WHERE chat_id = ? ORDER BY day", (chat.id,))
    out: dict[int, list[str]] = {}
    for r in rows:
        out.setdefault(r["user_id"], []).append(r["day"])
    return out


async def test_checkins_sent_before_midnight_and_handled_after_count_for_the_day_they_were_sent(pg, group):
    g, tz = group, "Asia/Shanghai"
    await say(pg, g.owner, f"/set timezone {tz}", g.chat)
    people = [pg.sim.user(f"member{i}") for i in range(30)]
    for person in people:
        pg.sim.join(g.chat, person)
    await pg.settle()
    pg.clock.set(local(tz, 2026, 3, 10, 23, 58))
    for i, person in enumerate(people):  # typed in the day's last two minutes while the bot was not handling
        pg.clock.set(local(tz, 2026, 3, 10, 23, 58) + timedelta(seconds=3 * i))
        pg.sim.send(person, "/checkin", g.chat)
    pg.clock.set(local(tz, 2026, 3, 11, 0, 10))  # delivered after midnight
    await pg.settle()
    days = await days_of(pg, g.chat)
    assert all(days[p.id] == ["2026-03-10"] for p in people)
    answers = [m["text"] for m in pg.sim.replies(g.chat)][-len(people):]
    assert all("Streak: 1 day" in a for a in answers)
    assert "#30 today" in answers[-1]  # ranked among that day's check-ins
    # The new day is still open to all of them, and continues the streak.
    assert "Streak: 2 days" in await say(pg, people[0], "/checkin", g.chat)
    assert (await days_of(pg, g.chat))[people[0].id] == ["2026-03-10", "2026-03-11"]
    booked = await pg.services.db.fetchall(
        "SELECT at FROM ledger WHERE chat_id = ? AND user_id = ? AND reason = 'checkin' ORDER BY id", (g.chat.id, people[1].id))
    assert booked[0]["at"].startswith("2026-03-10T15:58:03")  # the ledger says when it was done
    assert await pg.services.points.ledger.mismatches() == []


async def test_a_checkin_handled_late_after_its_day_was_already_used_is_refused(pg, group):
    """Typed twice before midnight, both handled after it: the first counts for that day, the second is a repeat."""
    g = group
    pg.clock.set(datetime(2026, 3, 10, 23, 59, tzinfo=timezone.utc))
    pg.sim.send(g.alice, "/checkin", g.chat)
    pg.sim.send(g.alice, "/checkin", g.chat)
    pg.clock.set(datetime(2026, 3, 11, 0, 3, tzinfo=timezone.utc))
    await pg.settle()
    answers = [m["text"] for m in pg.sim.replies(g.chat)][-2:]
    assert "Streak: 1 day" in answers[0] and answers[1].startswith("You already checked in today at 23:59")
    assert (await days_of(pg, g.chat))[g.alice.id] == ["2026-03-10"]

