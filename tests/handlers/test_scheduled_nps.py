"""NPS as a schedulable activity (issue 12): `/schedule … nps` posts the same survey as /nps through the outbox; a
run while a survey is still open posts nothing (logged), and a survey the outbox did not post never blocks /nps."""
from datetime import datetime, timezone

from tests.helpers import say, tick

UTC = timezone.utc


def surveys(pg, chat):
    return [m for m in pg.sim.replies(chat) if m.get("text", "").startswith("How likely are you to recommend")]


async def test_a_monthly_nps_posts_the_survey_takes_answers_and_skips_while_one_is_open(pg, group):
    pg.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    assert await say(pg, group.owner, "/schedule monthly 1 10:00 nps", group.chat) == (
        "Schedule #1 saved: monthly 1 10:00 · NPS survey. Next run: 2026-12-01 10:00 (UTC).")
    pg.clock.set(datetime(2026, 12, 1, 10, 0, 1, tzinfo=UTC))
    await tick(pg)
    [survey] = surveys(pg, group.chat)
    buttons = [b["callback_data"] for row in survey["reply_markup"]["inline_keyboard"] for b in row]
    assert len(buttons) == 11
    pg.sim.press(group.alice, survey, buttons[10])
    pg.sim.press(group.bob, survey, buttons[2])
    await pg.settle()
    assert await say(pg, group.owner, "/runnow 1", group.chat) == "Schedule #1 ran now: not sent."  # one is open
    assert len(surveys(pg, group.chat)) == 1
    assert await say(pg, group.admin, "/nps close", group.chat) == (
        "Survey closed. NPS +0 (2 answers: 1 promoter, 0 passives, 1 detractor)")
    pg.clock.set(datetime(2027, 1, 1, 10, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert len(surveys(pg, group.chat)) == 2  # next month's round
    log = await say(pg, group.admin, "/pushlog", group.chat)
    assert "NPS survey: not sent — a survey is still open" in log and log.count("NPS survey: sent") == 2


async def test_a_survey_the_outbox_held_back_does_not_block_nps(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/set quiet_hours 22:00-08:00", group.chat)
    await say(pg, group.owner, "/schedule daily 23:00 nps", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 23, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert surveys(pg, group.chat) == []  # dropped in quiet hours
    pg.clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    await say(pg, group.admin, "/nps", group.chat)
    assert len(surveys(pg, group.chat)) == 1


async def test_a_scheduled_survey_cut_off_by_a_crash_is_posted_once_and_never_left_open_unposted(pg, group, monkeypatch):
    """The survey's row is written with its message's first push-log row: a crash before that runs the slot again
    after the restart (one survey, posted once; it used to find its own unposted survey open, post nothing and
    block /nps for a week); a crash while Telegram has it leaves it 'lost', never posted twice."""
    from tests.handlers.test_inbox import crash
    from tests.handlers.test_schedule_crash import Killed, tick as killing_tick

    pg.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 10:00 nps", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 10, 0, 1, tzinfo=UTC))
    discipline = pg.services.outbox._discipline

    async def dies_before_the_send(chat_id, kind, held, payload, *rest):
        await discipline(chat_id, kind, held, payload, *rest)
        raise Killed()

    monkeypatch.setattr(pg.services.outbox, "_discipline", dies_before_the_send)
    await killing_tick(pg, killed=True)
    monkeypatch.undo()
    await crash(pg)
    pg.clock.set(datetime(2026, 12, 1, 10, 0, 30, tzinfo=UTC))
    await killing_tick(pg)
    await killing_tick(pg)
    [survey] = surveys(pg, group.chat)
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM nps_surveys") == 1
    assert await pg.services.db.fetchval("SELECT message_id FROM nps_surveys") == survey["message_id"]

    await say(pg, group.admin, "/nps close", group.chat)
    pg.clock.set(datetime(2026, 12, 2, 10, 0, 1, tzinfo=UTC))
    send = pg.services.outbox.port.send

    async def telegram_has_it_then_the_process_dies(chat_id, text, **kw):
        await send(chat_id, text, **kw)
        raise Killed()

    monkeypatch.setattr(pg.services.outbox.port, "send", telegram_has_it_then_the_process_dies)
    await killing_tick(pg, killed=True)
    monkeypatch.undo()
    await crash(pg)
    await killing_tick(pg)
    await killing_tick(pg)
    assert len(surveys(pg, group.chat)) == 2  # the second day's once: not sent again after the restart
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM nps_surveys") == 2
    nps_log = [e.outcome for e in reversed(await pg.services.outbox.recent(group.chat.id, 50)) if e.kind == "nps"]
    assert nps_log == ["sent", "lost"]
