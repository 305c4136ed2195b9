"""Quizzes and native polls as scheduled activities, through the real Application on the simulated Telegram: the
quiz is a non-anonymous native quiz, right answers pay through the ledger once per member (the first N only, if
asked), it closes at its time from the durable deferred store — also across a restart, waiting for answers still in
Telegram's queue — and posts its winners once; a poll pays each voter once however they change their vote."""
from datetime import datetime, timezone

import pytest

from bot.app import ALLOWED_UPDATES
from bot.sim import SimError
from tests.helpers import assert_one_line_refusals, say, tick

UTC = timezone.utc
QUIZ = "/schedule daily 20:00 quiz 30m +15 first 2\nWhich tea is green?\nEarl Grey\n*Longjing\nAssam"


def polls(pg, chat):
    return [m for m in pg.sim.replies(chat) if "poll" in m]


async def ledger(pg, chat, reason):
    rows = await pg.services.db.fetchall(
        "SELECT user_id, amount FROM ledger WHERE chat_id = ? AND reason = ? ORDER BY id", (chat.id, reason))
    return [(r[0], r[1]) for r in rows]


async def test_a_scheduled_quiz_pays_the_first_right_answers_once_and_posts_its_winners_at_its_closing(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    assert await say(pg, group.owner, QUIZ, group.chat) == (
        "Schedule #1 saved: daily 20:00 · quiz. Next run: 2026-12-01 20:00 (UTC).")
    assert (await say(pg, group.owner, "/schedule show 1", group.chat)).startswith(
        "Schedule #1: daily 20:00 · quiz\nnext 2026-12-01 20:00\nopen 30 min, +15 points, the first 2 right answers pay\n"
        "Which tea is green?\nEarl Grey\n*Longjing\nAssam\n")
    pg.clock.set(datetime(2026, 12, 1, 20, 0, 1, tzinfo=UTC))
    await tick(pg)
    [quiz] = polls(pg, group.chat)
    poll = quiz["poll"]
    assert (poll["type"], poll["is_anonymous"], poll["correct_option_ids"]) == ("quiz", False, [1])
    assert poll["question"] == "Which tea is green?" and [o["text"] for o in poll["options"]] == ["Earl Grey", "Longjing", "Assam"]
    for user, choice in ((group.alice, 1), (group.bob, 0), (group.carol, 1), (group.admin, 1)):
        pg.sim.vote(user, quiz, [choice])
    answers = pg.sim.take_updates(ALLOWED_UPDATES)
    await pg.deliver(answers)
    await pg.restart()
    await pg.deliver(answers)  # Telegram delivers them again after the restart: nothing is paid twice
    await pg.settle()
    # alice and carol were the first two right; the admin was right too, but third; bob was wrong
    assert await ledger(pg, group.chat, "quiz") == [(group.alice.id, 15), (group.carol.id, 15)]
    pg.clock.set(datetime(2026, 12, 1, 20, 30, 2, tzinfo=UTC))
    await tick(pg)
    await tick(pg)
    assert len([c for c in pg.sim.calls("stopPoll") if c.ok]) == 1
    results = [m["text"] for m in pg.sim.replies(group.chat) if m.get("text", "").startswith("📝")]
    assert results == ["📝 Quiz closed: Which tea is green?\nRight answer: Longjing\n3 of 4 members answered right.\n"
                       "+15 points each: Alice, Carol"]
    with pytest.raises(SimError, match="closed"):
        pg.sim.vote(group.owner, quiz, [1])  # Telegram refuses a vote in a closed quiz
    assert "quiz answered right" in await say(pg, group.alice, "/history", group.chat)


async def test_a_quiz_due_to_close_during_downtime_closes_at_start_and_waits_for_the_answers_still_queued(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule once 2026-12-01 09:00 quiz 10m Capital of France? | Lyon | *Paris", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    [quiz] = polls(pg, group.chat)
    await say(pg, group.bob, "/optout mentions", group.chat)
    pg.sim.vote(group.alice, quiz, [1])
    pg.sim.vote(group.bob, quiz, [1])
    await pg.stop()  # down before the answers were fetched, and past the closing time
    pg.clock.set(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
    await pg.start()
    [job] = pg.app.job_queue.get_jobs_by_name("schedules:tick")
    await job.run(pg.app)  # the first tick at start: the closing is due, the two answers are not handled yet
    assert [c.ok for c in pg.sim.calls("stopPoll")] == [True]
    assert not [m for m in pg.sim.replies(group.chat) if m.get("text", "").startswith("📝")]  # the result waits
    await pg.settle()  # the queued answers: given while the quiz was open, so they count
    pg.clock.set(datetime(2026, 12, 1, 9, 30, 6, tzinfo=UTC))
    await tick(pg)
    [result] = [m["text"] for m in pg.sim.replies(group.chat) if m.get("text", "").startswith("📝")]
    assert result.endswith("2 of 2 members answered right.\n+10 points each: Alice, 1 more")  # bob opted out of mentions
    assert await ledger(pg, group.chat, "quiz") == [(group.alice.id, 10), (group.bob.id, 10)]


async def test_a_poll_pays_each_voter_once_however_often_they_change_their_vote(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule once 2026-12-01 10:00 poll 2h +5 multi pin\nNext meetup?\nSaturday\nSunday", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 10, 0, 1, tzinfo=UTC))
    await tick(pg)
    [message] = polls(pg, group.chat)
    poll = message["poll"]
    assert (poll["type"], poll["is_anonymous"], poll["allows_multiple_answers"]) == ("regular", False, True)
    [pin] = pg.sim.calls("pinChatMessage")
    assert pin.ok and pin.params["message_id"] == message["message_id"] and pin.params["disable_notification"]
    pg.sim.vote(group.alice, message, [0])
    pg.sim.vote(group.alice, message, [])
    pg.sim.vote(group.alice, message, [0, 1])
    pg.sim.vote(group.bob, message, [1])
    await pg.settle()
    assert await ledger(pg, group.chat, "poll") == [(group.alice.id, 5), (group.bob.id, 5)]
    pg.clock.set(datetime(2026, 12, 1, 12, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert pg.sim.message(group.chat, message["message_id"])["poll"]["is_closed"] is True
    assert [m for m in pg.sim.replies(group.chat) if "poll" not in m and m.get("text", "").startswith("📝")] == []


async def test_in_quiet_hours_a_quiz_is_dropped_not_moved_and_the_push_log_says_so(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/set quiet_hours 22:00-08:00", group.chat)
    await say(pg, group.owner, "/schedule daily 23:00 quiz Q? | *a | b", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 23, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert polls(pg, group.chat) == []
    pg.clock.set(datetime(2026, 12, 2, 8, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert polls(pg, group.chat) == []  # a quiz's time is part of it: not posted in the morning instead
    assert "quiz: dropped (quiet hours) — quiet hours" in await say(pg, group.admin, "/pushlog", group.chat)


async def test_every_bad_quiz_or_poll_gets_one_clear_line(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))

    async def unchanged():
        return [s.id for s in await pg.services.schedules.list(group.chat.id)]

    long_option = "x" * 101
    await assert_one_line_refusals(pg, group.owner, group.chat, [
        ("/schedule daily 20:00 quiz", "Nothing to ask: write the question, then one option per line (the right one of a quiz starts with *)."),
        ("/schedule daily 20:00 quiz Which? | a | b", "Mark the right answer of the quiz with * at the start of its line, such as *Paris."),
        ("/schedule daily 20:00 quiz Which? | *a | *b", "A quiz has one right answer: only one option may start with *."),
        ("/schedule daily 20:00 quiz Which? | *a", "A quiz or poll needs at least 2 options: one per line after the question, or separated by |."),
        ("/schedule daily 20:00 poll Which? | " + " | ".join(str(n) for n in range(13)), "At most 12 options: Telegram takes no more."),
        (f"/schedule daily 20:00 poll Which? | a | {long_option}", "Option 2 is too long: at most 100 characters."),
        ("/schedule daily 20:00 poll Which? | a | *b", "A poll has no right answer: option 2 starts with *. For a quiz, schedule quiz."),
        ("/schedule daily 20:00 quiz 9d Q? | *a | b", "Word 4 (9d): expected how long it lasts, such as 24h, 90m or 2d (at most 7 days)."),
        ("/schedule daily 20:00 quiz first 0 Q? | *a | b", "Word 5 (0): expected a number of winners, such as 3."),
        ("/schedule daily 20:00 nps now", "Word 4 (now): expected the end of the command."),
    ], unchanged)


async def test_in_a_chinese_group_the_quiz_and_topic_speak_chinese_with_chinese_typography(pg, group):
    from tests.test_zh_typography import faults

    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/lang zh", group.chat)
    await say(pg, group.owner, "/schedule once 2026-12-01 09:00 quiz 10m 哪种是绿茶？ | 红茶 | *龙井", group.chat)
    await say(pg, group.owner, "/topics add 你最爱哪种茶？", group.chat)
    await say(pg, group.owner, "/schedule once 2026-12-01 09:00 topic 1h", group.chat)
    refusal = await say(pg, group.owner, "/schedule daily 10:00 quiz 题目？ | 甲 | 乙", group.chat)
    assert refusal == "请在测验正确答案那一行的开头加上 *，例如 *巴黎。"
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    [quiz] = polls(pg, group.chat)
    topic = pg.sim.replies(group.chat)[-1]
    pg.sim.vote(group.alice, quiz, [1])
    pg.clock.advance(seconds=5)
    pg.sim.send(group.bob, "龙井！", group.chat, reply_to=topic)
    pg.clock.advance(seconds=5)
    pg.sim.send(group.carol, "同意", group.chat, reply_to=pg.sim.messages(group.chat)[-1])
    await pg.settle()
    pg.clock.set(datetime(2026, 12, 1, 10, 0, 1, tzinfo=UTC))
    await tick(pg)
    texts = [topic["text"]] + [m["text"] for m in pg.sim.replies(group.chat)[-2:]]
    assert texts[0].startswith("💬 每周话题\n你最爱哪种茶？\n\n在 2026-12-01 10:00 之前回复本条消息")
    assert "📝 测验结束：哪种是绿茶？\n正确答案：龙井\n1 位成员中有 1 位答对。\n每人 +10 积分：Alice" in texts
    assert "💬 话题已结束：你最爱哪种茶？\n1 位成员参与了回复。\n最佳回复（获得他人回复最多）：\n1. Bob——1 条回复\n每人 +20 积分。" in texts
    for text in texts + [refusal, await say(pg, group.owner, "/topics", group.chat), await say(pg, group.owner, "/help topics", group.chat)]:
        assert faults(text) == [], text
