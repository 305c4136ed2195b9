"""No silent loss between a claim and its outcome (issue 11): a crash (in-process, as kill -9: nothing in memory
survives) between a schedule slot's claim and its send, during a send, or during deferred work; and delete-later
under Telegram's faults (network error, timeout, 429: tried again with backoff, bounded; "not found": final)."""
from datetime import datetime, timedelta, timezone

import pytest

from tests.handlers.test_inbox import crash
from tests.helpers import say

UTC = timezone.utc
NINE = datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC)


class Killed(BaseException):
    """The process dies here: nothing after it runs (not an Exception: no handler of Sticky's catches it)."""


async def tick(pg, killed: bool = False) -> None:
    [job] = pg.app.job_queue.get_jobs_by_name("schedules:tick")
    if killed:
        with pytest.raises(Killed):
            await job.run(pg.app)
        return
    await job.run(pg.app)
    await pg.settle()


def shown(pg, chat, *texts: str) -> list[str]:
    """The bot's own posts among these texts, in order (each time it was posted)."""
    texts = texts or ("First post", "Second post")
    return [m["text"] for m in pg.sim.replies(chat) if m.get("text") in texts and "reply_to_message" not in m]


async def pushlog(pg, chat) -> list[tuple[str, str, str | None]]:
    return [(e.kind, e.outcome, e.detail) for e in reversed(await pg.services.outbox.recent(chat.id, 50))]


async def two_daily_posts(pg, group) -> None:
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 09:00 post First post", group.chat)
    await say(pg, group.owner, "/schedule daily 09:00 post Second post", group.chat)
    pg.clock.set(NINE)


async def test_a_slot_claimed_but_not_sent_before_a_crash_is_sent_once_after_the_restart(pg, group, monkeypatch):
    await two_daily_posts(pg, group)
    sent_first = []
    send = pg.services.outbox.port.send

    async def dies_after_the_first(chat_id, text, **kw):
        if sent_first:  # both slots are claimed by now; the second has not reached the outbox
            raise Killed()
        sent_first.append(await send(chat_id, text, **kw))
        return sent_first[-1]

    # The second post's outbox step must not have begun: kill before its push-log row, at its discipline check.
    discipline = pg.services.outbox._discipline

    async def dies_at_the_second(chat_id, kind, held, payload, *rest):
        if sent_first:
            raise Killed()
        return await discipline(chat_id, kind, held, payload, *rest)

    monkeypatch.setattr(pg.services.outbox.port, "send", dies_after_the_first)
    monkeypatch.setattr(pg.services.outbox, "_discipline", dies_at_the_second)
    await tick(pg, killed=True)
    assert shown(pg, group.chat) == ["First post"]

    await crash(pg)
    pg.clock.set(NINE + timedelta(seconds=30))
    await tick(pg)
    await tick(pg)
    assert shown(pg, group.chat) == ["First post", "Second post"]  # each once: the second late, not lost
    assert [o for k, o, _ in await pushlog(pg, group.chat) if k == "schedule"] == ["sent", "sent"]
    rows = await pg.services.db.fetchall("SELECT runs, pending, next_run FROM schedules ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, None, "2026-12-02T09:00:00+00:00")] * 2
    await crash(pg)  # and another restart changes nothing
    await tick(pg)
    assert shown(pg, group.chat) == ["First post", "Second post"]


async def test_a_send_cut_off_by_a_crash_is_logged_lost_and_never_sent_twice(pg, group, monkeypatch):
    await two_daily_posts(pg, group)
    send = pg.services.outbox.port.send

    async def telegram_has_it_then_the_process_dies(chat_id, text, **kw):
        await send(chat_id, text, **kw)
        raise Killed()

    monkeypatch.setattr(pg.services.outbox.port, "send", telegram_has_it_then_the_process_dies)
    await tick(pg, killed=True)
    await crash(pg)
    await tick(pg)
    await tick(pg)
    # The first post reached the group; nobody knows that for sure, so it is not sent again: it is shown as lost.
    assert shown(pg, group.chat) == ["First post", "Second post"]
    assert [o for k, o, _ in await pushlog(pg, group.chat) if k == "schedule"] == ["lost", "sent"]
    listing = await say(pg, group.owner, "/pushlog", group.chat)
    assert "schedule: cut off by a restart while sending (it may be in the group), not sent again" in listing


async def test_a_claimed_slot_is_not_run_after_a_restart_when_a_newer_one_is_due_or_it_is_too_late(pg, group, monkeypatch):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 09:00 post Daily tea", group.chat)
    pg.clock.set(NINE)

    async def killed(*a, **kw):
        raise Killed()

    monkeypatch.setattr(pg.services.outbox, "_discipline", killed)
    await tick(pg, killed=True)
    await crash(pg)
    pg.clock.set(NINE + timedelta(days=1))  # down a whole day: tomorrow's slot is due, yesterday's is not made up
    await tick(pg)
    assert shown(pg, group.chat, "Daily tea") == ["Daily tea"]
    log = await pushlog(pg, group.chat)
    assert [(k, o) for k, o, _ in log] == [("schedule", "missed"), ("schedule", "sent")]
    assert log[0][2] == "#1 2026-12-01 09:00"


async def test_deferred_work_cut_off_by_a_crash_runs_after_the_restart_a_held_post_is_not_sent_twice(pg, group, monkeypatch):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    refusal = await say(pg, group.alice, "/schedule daily 09:00 post hi", group.chat)  # transient: deleted in 60 s
    assert refusal
    [refused] = [m for m in pg.sim.replies(group.chat) if m.get("text") == refusal]
    await say(pg, group.owner, "/set quiet_hours 22:00-08:30", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 8, 10, tzinfo=UTC))
    assert (await pg.services.outbox.post(group.chat.id, "schedule", "Held till morning")).outcome == "deferred"
    pg.clock.set(datetime(2026, 12, 1, 8, 30, 5, tzinfo=UTC))  # both due now: the delete, then the held post
    send = pg.services.outbox.port.send

    async def dies_deleting(*a, **kw):
        raise Killed()

    async def sent_then_dies(chat_id, text, **kw):
        await send(chat_id, text, **kw)
        raise Killed()

    import handlers.schedules
    monkeypatch.setattr(handlers.schedules, "delete_work", dies_deleting)
    await tick(pg, killed=True)  # killed in the delete: before, the row was already marked done and never deleted
    monkeypatch.undo()
    await crash(pg)
    monkeypatch.setattr(pg.services.outbox.port, "send", sent_then_dies)
    await tick(pg, killed=True)  # the delete is done again; killed in the held post's send
    assert refused["message_id"] in [m["message_id"] for m in pg.sim.deleted(group.chat)]
    await crash(pg)
    await tick(pg)
    await tick(pg)
    assert shown(pg, group.chat, "Held till morning") == ["Held till morning"]  # once
    assert [o for k, o, _ in await pushlog(pg, group.chat) if k == "schedule"] == ["deferred", "lost"]
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM deferred WHERE done_at IS NULL") == 0
    assert len(delete_calls(pg, refused["message_id"])) == 1


# ------------------------------------------------------------------ delete-later under Telegram's faults

async def transient_reply(pg, group) -> dict:
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    refusal = await say(pg, group.alice, "/schedule daily 09:00 post hi", group.chat)
    [refused] = [m for m in pg.sim.replies(group.chat) if m.get("text") == refusal]
    return refused


def delete_calls(pg, message_id: int) -> list:
    return [c for c in pg.sim.calls("deleteMessage") if int(c.params["message_id"]) == message_id]


@pytest.mark.parametrize("fault", ["network", "timeout", "flood"])
async def test_a_delete_later_that_meets_a_transient_fault_is_tried_again_with_backoff(pg, group, fault):
    refused = await transient_reply(pg, group)
    {"network": lambda: pg.sim.network_error("deleteMessage", times=2),
     "timeout": lambda: pg.sim.timeout_after_send("deleteMessage", times=1),
     "flood": lambda: pg.sim.flood("deleteMessage", retry_after=1, times=2)}[fault]()
    start = datetime(2026, 12, 1, 8, 1, 1, tzinfo=UTC)

    async def state(at: datetime) -> tuple[bool, int]:
        """(deleted?, deleteMessage calls so far) after a tick at `at`."""
        pg.clock.set(at)
        await tick(pg)
        gone = refused["message_id"] in [m["message_id"] for m in pg.sim.deleted(group.chat)]
        return gone, len(delete_calls(pg, refused["message_id"]))

    # A timeout's delete was carried out, only the answer lost: the retry meets "not found", which is final.
    done = fault == "timeout"
    assert await state(start) == (done, 1)
    assert await state(start + timedelta(seconds=4)) == (done, 1)  # the first retry waits 5 s
    assert await state(start + timedelta(seconds=6)) == (done, 2)
    if not done:
        assert await state(start + timedelta(seconds=15)) == (False, 2)  # the second waits 10 s
        assert await state(start + timedelta(seconds=17)) == (True, 3)
    attempts = 2 if done else 3
    assert await state(start + timedelta(minutes=10)) == (True, attempts)  # done: never tried again
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM deferred WHERE done_at IS NULL") == 0


async def test_a_delete_later_is_given_up_after_its_tries_and_not_found_is_final_at_once(pg, group):
    refused = await transient_reply(pg, group)
    pg.sim.network_error("deleteMessage", times=100)
    at = datetime(2026, 12, 1, 8, 1, 1, tzinfo=UTC)
    for _ in range(12):
        pg.clock.set(at)
        await tick(pg)
        at += timedelta(minutes=5)
    # Bounded: six tries, then it is done with (and the message stays).
    assert len(delete_calls(pg, refused["message_id"])) == 6
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM deferred WHERE done_at IS NULL") == 0
    assert refused["message_id"] not in [m["message_id"] for m in pg.sim.deleted(group.chat)]
    pg.sim.clear_faults()

    second = await say(pg, group.bob, "/schedule daily 09:00 post hi", group.chat)
    [again] = [m for m in pg.sim.replies(group.chat) if m.get("text") == second and m["message_id"] != refused["message_id"]]
    pg.sim.set_fail("deleteMessage", 400, "Bad Request: message to delete not found")
    pg.clock.set(at + timedelta(minutes=2))
    await tick(pg)
    pg.clock.set(at + timedelta(minutes=20))
    await tick(pg)
    assert len(delete_calls(pg, again["message_id"])) == 1  # gone is what was wanted: not tried again
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM deferred WHERE done_at IS NULL") == 0


async def test_a_campaign_cut_off_after_its_window_opened_is_not_opened_twice_after_the_restart(pg, group, monkeypatch):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 09:00 campaign 2x 2h Double day", group.chat)
    pg.clock.set(NINE)

    async def killed(*a, **kw):
        raise Killed()

    monkeypatch.setattr(pg.services.outbox, "_discipline", killed)  # after the window's commit, before the post
    await tick(pg, killed=True)
    monkeypatch.undo()
    await crash(pg)
    await tick(pg)
    # The window and its end are one transaction, the run's first step: the run is not repeated, so no second
    # window (check-ins would pay 2x twice over) and one end announcement.
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM campaigns") == 1
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM deferred WHERE kind = 'post'") == 1
    assert "✅ Alice checked in: +20 points" in await say(pg, group.alice, "/checkin", group.chat)


async def test_after_a_downtime_the_slot_claimed_is_the_one_recovered_not_the_oldest_missed(pg, group, monkeypatch):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 09:00 post Daily tea", group.chat)
    pg.clock.set(datetime(2026, 12, 3, 9, 10, tzinfo=UTC))  # back after two missed days, today's slot 10 min late

    async def killed(*a, **kw):
        raise Killed()

    monkeypatch.setattr(pg.services.outbox, "_discipline", killed)
    await tick(pg, killed=True)  # the older slots logged missed, today's claimed; killed before it reached the outbox
    monkeypatch.undo()
    await crash(pg)
    pg.clock.set(datetime(2026, 12, 3, 9, 12, tzinfo=UTC))
    await tick(pg)
    assert shown(pg, group.chat, "Daily tea") == ["Daily tea"]  # today's slot, 12 minutes late: within grace
    assert [(k, o) for k, o, _ in await pushlog(pg, group.chat)] == [("schedule", "missed"), ("schedule", "sent")]


# ------------------------------------------------------------------ replace across a crash

@pytest.mark.parametrize("dies", ["after the sent record", "in the delete of the previous copy"])
async def test_replace_still_deletes_the_right_previous_copy_after_a_crash_around_a_new_one(pg, group, monkeypatch, dies):
    """A crash right after a replacing post was recorded sent (before the old copy's delete, or during it) must not
    leave the record one copy behind: after the restart the previous copy goes, and the next run deletes this
    one — not the one before it again, leaving this one in the group for good."""
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 09:00 post replace Day one\n---\nDay two\n---\nDay three", group.chat)
    pg.clock.set(NINE)
    await tick(pg)
    finish = pg.services.outbox.repo.finish

    async def recorded_then_dies(row_id, outcome, *a, **kw):
        got = await finish(row_id, outcome, *a, **kw)
        if outcome == "sent":
            raise Killed()
        return got

    async def dies_deleting(*a, **kw):
        raise Killed()

    if dies == "after the sent record":
        monkeypatch.setattr(pg.services.outbox.repo, "finish", recorded_then_dies)
    else:
        import handlers.schedules
        monkeypatch.setattr(handlers.schedules, "retire_copy", dies_deleting)
    pg.clock.set(NINE + timedelta(days=1))
    await tick(pg, killed=True)
    monkeypatch.undo()
    days = ("Day one", "Day two", "Day three")
    assert shown(pg, group.chat, *days) == ["Day one", "Day two"]  # Day two is out; the crash came before the delete
    await crash(pg)
    await tick(pg)
    assert shown(pg, group.chat, *days) == ["Day two"]  # the delete written with Day two's record is done after the restart
    pg.clock.set(NINE + timedelta(days=2))
    await tick(pg)
    assert shown(pg, group.chat, *days) == ["Day three"]  # and Day two is the copy replaced next
    assert [m["text"] for m in pg.sim.deleted(group.chat) if m.get("text") in days] == ["Day one", "Day two"]
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM deferred WHERE done_at IS NULL") == 0


# ------------------------------------------------------------------ replace when a copy's id never came back
async def test_replace_after_a_send_telegram_never_answered_keeps_the_record_and_says_a_copy_may_be_left(pg, group):
    """A `replace` post whose send timed out (Telegram posted it, the answer was lost) has no message id to
    delete later. Nothing crashes, the next copy replaces the last copy Sticky knows and is the one tracked, and
    /pushlog says a copy may be left in the group for an admin to remove (it said "failed — Timed out")."""
    pg.clock.set(NINE - timedelta(hours=1))
    await say(pg, group.owner, "/schedule every 12h post replace Day one\n---\nDay two\n---\nDay three\n---\nDay four",
              group.chat)
    days = ("Day one", "Day two", "Day three", "Day four")

    async def next_run() -> None:
        [s] = await pg.services.schedules.list(group.chat.id)
        pg.clock.set(s.next_run + timedelta(seconds=1))
        await tick(pg)

    await next_run()
    pg.sim.timeout_after_send("sendMessage")
    await next_run()
    assert shown(pg, group.chat, *days) == ["Day one", "Day two"]  # Day two is in the group; its id never came back
    await next_run()
    assert shown(pg, group.chat, *days) == ["Day two", "Day three"]  # Day one (known) is replaced; Day two cannot be
    log = await say(pg, group.owner, "/pushlog", group.chat)
    assert "schedule: failed — Telegram did not answer: a copy may be left in the group, which replace cannot delete" in log
    await next_run()
    assert shown(pg, group.chat, *days) == ["Day two", "Day four"]  # Day three was tracked and replaced
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM deferred WHERE done_at IS NULL") == 0


# ------------------------------------------------------------------ replace meeting a copy Telegram will not delete
@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_replace_edits_a_copy_too_old_to_delete_to_point_to_the_new_one_and_unpins_it(pg, group, lang):
    """Telegram deletes a message only within 48 hours. A daily `replace pin` post paused for three days: its
    next run's previous copy is too old to delete, so it is edited (bots edit their own messages at any age) to
    one line linking to the new post, its buttons gone, and unpinned; /pushlog says so. It stayed in the group,
    pinned, as a second copy (logged at info only)."""
    if lang == "zh":
        await say(pg, group.owner, "/lang zh", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 09:00 post pin replace Tea time\n[Menu](https://example.com/menu)",
              group.chat)
    pg.clock.set(NINE)
    await tick(pg)
    [old] = [m for m in pg.sim.replies(group.chat) if m.get("text") == "Tea time"]
    assert old["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://example.com/menu"
    await say(pg, group.owner, "/pause 1", group.chat)
    pg.clock.set(NINE + timedelta(days=3, hours=1))
    await say(pg, group.owner, "/resume 1", group.chat)
    pg.clock.set(NINE + timedelta(days=4))
    await tick(pg)
    new = [m for m in pg.sim.replies(group.chat) if m.get("text") == "Tea time" and m["message_id"] != old["message_id"]]
    assert len(new) == 1
    now_old = pg.sim.message(group.chat, old["message_id"])
    link = f"https://t.me/c/{str(group.chat.id)[4:]}/{new[0]['message_id']}"
    assert now_old["text"] == ("This post was replaced by a newer one." if lang == "en" else "这条帖子已由更新的一条取代。")
    assert [e for e in now_old["entities"] if e["type"] == "text_link"][0]["url"] == link
    assert "reply_markup" not in now_old or not now_old["reply_markup"]            # its Menu button is gone
    assert [c.params["message_id"] for c in pg.sim.calls("unpinChatMessage")] == [old["message_id"]]
    log = await say(pg, group.owner, "/pushlog", group.chat)
    assert {"en": "schedule: previous copy marked replaced — the previous copy was over 48 hours old, which Telegram "
                  "no longer lets a bot delete: it now says it was replaced, with a link to the new one",
            "zh": "定时任务：旧的一条已标为被取代，旧的一条已超过 48 小时，Telegram 不再允许机器人删除它：它现在写明已被取代，"
                  "并附有新一条的链接"}[lang] in log
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM deferred WHERE done_at IS NULL") == 0


async def test_replace_of_an_old_photo_copy_edits_its_caption_and_a_copy_already_gone_is_fine(pg, group):
    """A photo post's old copy has no text: its caption is edited instead. A copy an admin deleted by hand is
    what was wanted: nothing is logged as failed, nothing is edited."""
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    photo = pg.sim.send_media(group.alice, "photo", group.chat, "Tea at dawn")
    await say(pg, group.admin, "/schedule daily 09:00 post replace", group.chat, reply_to=photo)
    pg.clock.set(NINE)
    await tick(pg)
    [old] = [m for m in pg.sim.replies(group.chat) if m.get("caption") == "Tea at dawn"]
    await say(pg, group.owner, "/pause 1", group.chat)
    pg.clock.set(NINE + timedelta(days=3, hours=1))
    await say(pg, group.owner, "/resume 1", group.chat)
    pg.clock.set(NINE + timedelta(days=4))
    await tick(pg)
    assert pg.sim.message(group.chat, old["message_id"])["caption"] == "This post was replaced by a newer one."
    assert [o for k, o, _ in await pushlog(pg, group.chat)][-1] == "edited"
    # The next day the copy is fresh and deleted as usual; one an admin removed first is no failure.
    [second] = [m for m in pg.sim.messages(group.chat) if m.get("caption") == "Tea at dawn" and "reply_to_message" not in m
                and m.get("from", {}).get("id") == pg.sim.bot.id]
    pg.clock.set(NINE + timedelta(days=5))
    await tick(pg)
    assert pg.sim.message(group.chat, second["message_id"]) is None
    third = [m for m in pg.sim.messages(group.chat) if m.get("caption") == "Tea at dawn" and m.get("from", {}).get("id") == pg.sim.bot.id]
    assert len(third) == 1
    await pg.app.bot.delete_message(group.chat.id, third[0]["message_id"])  # gone already, as if removed by hand
    pg.clock.set(NINE + timedelta(days=6))
    await tick(pg)
    assert [o for k, o, _ in await pushlog(pg, group.chat)].count("failed") == 0
