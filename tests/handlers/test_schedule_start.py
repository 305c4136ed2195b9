"""A chosen first run (`from DATE [TIME]`) and the missed-run policy an admin sets (`/schedule missed N late|skip`),
through the real Application: the first post comes at the chosen slot and not before, a run missed in downtime is
skipped or run once late as the schedule says, and every bad input gets one line."""
from datetime import datetime, timezone


from tests.handlers.test_schedule_commands import bot_posts, tick
from tests.helpers import assert_one_line_refusals, help_of, say

UTC = timezone.utc


async def test_a_chosen_first_run_in_group_time_and_nothing_before_it(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # 11:00 in Shanghai
    await say(pg, group.owner, "/set timezone Asia/Shanghai", group.chat)
    assert await say(pg, group.owner, "/schedule every 2h from 2026-12-10 09:00 post Drink some tea", group.chat) == (
        "Schedule #1 saved: every 2h · post · from 2026-12-10 09:00. Next run: 2026-12-10 09:00 (Asia/Shanghai).")
    assert await say(pg, group.owner, "/schedule daily 21:00 from 2026-12-05 post Good night", group.chat) == (
        "Schedule #2 saved: daily 21:00 · post · from 2026-12-05. Next run: 2026-12-05 21:00 (Asia/Shanghai).")
    assert await say(pg, group.owner, "/schedules", group.chat) == (  # the chosen first run, until it has run
        "Schedules (group time, Asia/Shanghai)\n#1 every 2h · post · from 2026-12-10 09:00 — next 2026-12-10 09:00\n"
        "#2 daily 21:00 · post · from 2026-12-05 — next 2026-12-05 21:00")
    assert (await say(pg, group.owner, "/schedule show 1", group.chat)).split("\n")[:3] == [  # as /schedules says it
        "Schedule #1: every 2h · post", "next 2026-12-10 09:00", "from 2026-12-10 09:00"]
    assert (await say(pg, group.owner, "/schedule show 2", group.chat)).split("\n")[2] == "from 2026-12-05"
    pg.clock.set(datetime(2026, 12, 4, 13, 0, 1, tzinfo=UTC))  # 21:00 on the 4th, group time: not yet
    await tick(pg)
    assert bot_posts(pg, group.chat) == []
    pg.clock.set(datetime(2026, 12, 10, 1, 0, 1, tzinfo=UTC))  # 09:00 on the 10th
    await tick(pg)
    assert [p["text"] for p in bot_posts(pg, group.chat)] == ["Drink some tea"]  # #2 fell due on the 5th, missed
    assert (await say(pg, group.owner, "/schedules", group.chat)).split("\n")[1] == (  # begun: no "from" any more
        "#1 every 2h · post — next 2026-12-10 11:00")
    assert "from" not in await say(pg, group.owner, "/schedule show 1", group.chat)
    rows = {s.id: s for s in await pg.services.schedules.list(group.chat.id)}
    assert rows[1].next_run == datetime(2026, 12, 10, 3, 0, tzinfo=UTC)  # every 2 h from the chosen start: 11:00


async def test_the_missed_run_policy_is_the_admins_choice(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 09:00 post Morning news", group.chat)
    assert await say(pg, group.owner, "/schedule missed 1 skip", group.chat) == (
        "Schedule #1: a run missed while Sticky was down is now skipped (and logged).")
    assert "a missed run is skipped" in await say(pg, group.owner, "/schedule show 1", group.chat)
    await pg.stop()
    pg.clock.set(datetime(2026, 12, 1, 9, 20, tzinfo=UTC))  # down over 09:00; 20 min is within the grace window
    await pg.start()
    await tick(pg)
    assert bot_posts(pg, group.chat) == []
    assert [e.outcome for e in await pg.services.outbox.recent(group.chat.id)] == ["missed"]
    assert await say(pg, group.owner, "/schedule missed 1 late", group.chat) == (
        "Schedule #1: a run missed while Sticky was down now runs once, late, within 60 minutes.")
    await pg.stop()
    pg.clock.set(datetime(2026, 12, 2, 9, 20, tzinfo=UTC))
    await pg.start()
    await tick(pg)
    await tick(pg)
    assert [p["text"] for p in bot_posts(pg, group.chat)] == ["Morning news"]


async def test_bad_first_runs_and_policies_get_one_line(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 09:00 post Morning news", group.chat)

    async def unchanged():
        return [(s.id, s.missed, s.next_run) for s in await pg.services.schedules.list(group.chat.id)]

    await assert_one_line_refusals(pg, group.owner, group.chat, [
        ("/schedule daily 09:00 from 2026-11-30 post hi", "That time is already past in the group's timezone."),
        ("/schedule daily 09:00 from 2026-13-01 post hi", "Word 4 (2026-13-01): expected a date such as 2026-12-24."),
        ("/schedule daily 09:00 from", "Word 4: expected a date such as 2026-12-24, but the command ends there."),
        # It said "expected post, reminder, …" at `from`, as if from were a typo for an action.
        ("/schedule once 2026-12-24 18:00 from 2026-12-20 post hi", "from chooses the first run of a schedule that "
         "repeats; a schedule that runs once runs at its own date and time. Leave out from."),
        ("/schedule missed 1 never", "Word 3 (never): expected late (a missed run runs once, late) or skip."),
        ("/schedule missed 9 skip", "No schedule #9 in this group; /schedules lists them."),
        ("/schedule missed x skip", "A schedule is named by its number, such as /pause 3."),
        ("/schedule missed 1", "Usage: /schedule missed N late|skip"),  # its own line, not the whole /schedule syntax
    ], unchanged)
    assert await say(pg, group.alice, "/schedule missed 1 skip", group.chat) == "Only Admin and above can use this command."


async def test_first_run_and_missed_policy_in_chinese(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/lang zh", group.chat)
    assert await say(pg, group.owner, "/schedule daily 09:00 from 2026-12-03 post 早安", group.chat) == (
        "定时任务 #1 已保存：daily 09:00 · 帖子 · 2026-12-03 起。下次运行：2026-12-03 09:00（UTC）。")
    assert await say(pg, group.owner, "/schedules", group.chat) == (
        "定时任务（本群时间，UTC）\n#1 daily 09:00 · 帖子 · 2026-12-03 起——下次 2026-12-03 09:00")
    assert (await say(pg, group.owner, "/schedule show 1", group.chat)).split("\n")[1:3] == [
        "下次 2026-12-03 09:00", "2026-12-03 起"]
    assert await say(pg, group.owner, "/schedule missed 1 skip", group.chat) == (
        "定时任务 #1：Sticky 停机期间错过的一次，今后跳过（并记入日志）。")
    assert await say(pg, group.owner, "/schedule missed 1 sometimes", group.chat) == (
        "第 3 个词（sometimes）：应为补发方式：late（错过的一次晚些补发一次）或 skip（跳过）。")
    assert await say(pg, group.owner, "/schedule once 2026-12-24 18:00 from 2026-12-20 post 圣诞快乐", group.chat) == (
        "from 用于选择重复计划的首次运行；只运行一次的计划就在它自己的日期和时间运行。请去掉 from。")
    help_text = await help_of(pg, group.owner, group.chat)
    assert "定时任务（管理员）\n/schedule" in help_text
