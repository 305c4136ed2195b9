"""/schedule and friends through the real Application: the compact syntax, the admin's formatting kept, options
(pin, replace the previous copy, URL buttons, rotation), pause/resume/runnow/unschedule, the reminder, and one
clear line for every bad input."""
import re
from datetime import datetime, timedelta, timezone

from tests.helpers import assert_one_line_refusals, say

UTC = timezone.utc


async def tick(pg):
    [job] = pg.app.job_queue.get_jobs_by_name("schedules:tick")
    await job.run(pg.app)
    await pg.settle()


def bot_posts(pg, chat):
    """What the bot posted by itself (not answers to someone), after its greeting when it was added and the welcomes."""
    return [m for m in pg.sim.replies(chat) if "reply_to_message" not in m
            and not m.get("text", "").startswith(("Hello, Tea Lovers", "Welcome to Tea Lovers"))]


async def test_a_weekly_post_keeps_the_admins_formatting_and_lists_with_its_next_run_in_group_time(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # Tue 11:00 in Shanghai
    await say(pg, group.owner, "/set timezone Asia/Shanghai", group.chat)
    text = "/schedule every mon 09:00 post Weekly topic: green tea"
    pg.sim.send(group.owner, text, group.chat, entities=[{"type": "bold", "offset": text.index("Weekly"), "length": 13}])
    await pg.settle()
    assert pg.sim.replies(group.chat)[-1]["text"] == (
        "Schedule #1 saved: weekly mon 09:00 · post. Next run: 2026-12-07 09:00 (Asia/Shanghai).")
    assert await say(pg, group.admin, "/schedules", group.chat) == (
        "Schedules (group time, Asia/Shanghai)\n#1 weekly mon 09:00 · post — next 2026-12-07 09:00")
    pg.clock.set(datetime(2026, 12, 7, 1, 0, 3, tzinfo=UTC))
    await tick(pg)
    [post] = bot_posts(pg, group.chat)
    assert post["text"] == "Weekly topic: green tea"
    assert post["entities"] == [{"type": "bold", "offset": 0, "length": 13}]


async def test_pin_replace_buttons_and_rotation(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    saved = await say(pg, group.owner, "/schedule daily 09:00 post pin replace Good morning!\n---\nRise and shine!\n"
                      "[Rules](https://example.org/rules)", group.chat)
    # The saved line and /schedules say what was chosen (they said "daily 09:00 · post" only).
    assert saved == "Schedule #1 saved: daily 09:00 · post · pin, replace. Next run: 2026-12-01 09:00 (UTC)."
    await say(pg, group.owner, "/schedule every 4h poll multi Tea or coffee?\nTea\nCoffee", group.chat)
    assert await say(pg, group.admin, "/schedules", group.chat) == (
        "Schedules (group time, UTC)\n#1 daily 09:00 · post · pin, replace — next 2026-12-01 09:00\n"
        "#2 every 4h · poll · multi — next 2026-12-01 12:00")
    await say(pg, group.owner, "/lang zh", group.chat)
    assert await say(pg, group.admin, "/schedules", group.chat) == (
        "定时任务（本群时间，UTC）\n#1 daily 09:00 · 帖子 · pin（置顶）、replace（删除上一条）——下次 2026-12-01 09:00\n"
        "#2 every 4h · 投票 · multi（多选）——下次 2026-12-01 12:00")
    await pg.services.schedules.remove(group.chat.id, 2)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    pg.clock.set(datetime(2026, 12, 2, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    posts = [m for m in bot_posts(pg, group.chat) if "pinned_message" not in m]
    assert [p["text"] for p in posts] == ["Rise and shine!"]  # the first copy was deleted when the second came
    assert [m["text"] for m in pg.sim.deleted(group.chat) if "text" in m] == ["Good morning!"]
    assert posts[0]["reply_markup"]["inline_keyboard"] == [[{"text": "Rules", "url": "https://example.org/rules"}]]
    pins = pg.sim.calls("pinChatMessage")
    assert len(pins) == 2 and all(c.ok and c.params["disable_notification"] for c in pins)


async def test_replace_deletes_the_previous_copy_when_quiet_hours_held_the_new_one(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 09:00 post replace Day one\n---\nDay two\n---\nDay three", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    await say(pg, group.owner, "/set quiet_hours 22:00-09:30", group.chat)
    pg.clock.set(datetime(2026, 12, 2, 9, 0, 1, tzinfo=UTC))
    await tick(pg)  # held to 09:30
    pg.clock.set(datetime(2026, 12, 2, 9, 30, 5, tzinfo=UTC))
    await tick(pg)
    shown = [m["text"] for m in bot_posts(pg, group.chat) if "Day" in m.get("text", "")]
    assert shown == ["Day two"]  # the held copy went out and replaced yesterday's
    await say(pg, group.owner, "/set quiet_hours off", group.chat)
    pg.clock.set(datetime(2026, 12, 3, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    shown = [m["text"] for m in bot_posts(pg, group.chat) if "Day" in m.get("text", "")]
    assert shown == ["Day three"]  # the held copy was recorded: it is the one replaced now
    assert [m["text"] for m in pg.sim.deleted(group.chat) if "Day" in m.get("text", "")] == ["Day one", "Day two"]


async def test_a_timezone_change_moves_wall_clock_schedules_to_the_new_zone_in_the_same_step(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # 11:00 in Shanghai
    await say(pg, group.owner, "/schedule daily 09:00 post Morning tea", group.chat)
    await say(pg, group.owner, "/schedule every 30m post Half-hourly", group.chat)
    await say(pg, group.owner, "/set timezone Asia/Shanghai", group.chat)
    assert await say(pg, group.admin, "/schedules", group.chat) == (
        "Schedules (group time, Asia/Shanghai)\n#1 daily 09:00 · post — next 2026-12-02 09:00\n"
        "#2 every 30m · post — next 2026-12-01 11:30")  # elapsed time: the same instant, shown in the new zone
    [daily, _] = await pg.services.schedules.list(group.chat.id)
    assert daily.tz == "Asia/Shanghai" and daily.next_run == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    await pg.services.schedules.remove(group.chat.id, 2)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 5, tzinfo=UTC))  # 09:00 UTC, the old zone's slot: nothing
    await tick(pg)
    assert [m for m in bot_posts(pg, group.chat) if m.get("text") == "Morning tea"] == []
    pg.clock.set(datetime(2026, 12, 2, 1, 0, 5, tzinfo=UTC))  # 09:00 in Shanghai
    await tick(pg)
    assert len([m for m in bot_posts(pg, group.chat) if m.get("text") == "Morning tea"]) == 1
    await say(pg, group.owner, "/set timezone default", group.chat)  # back to UTC: 09:00 there, today
    assert await say(pg, group.admin, "/schedules", group.chat) == (
        "Schedules (group time, UTC)\n#1 daily 09:00 · post — next 2026-12-02 09:00")
    [daily] = await pg.services.schedules.list(group.chat.id)
    assert daily.next_run == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


async def test_pause_resume_runnow_unschedule_and_show(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 21:00 post Good night", group.chat)
    assert await say(pg, group.owner, "/pause 1", group.chat) == "Schedule #1 paused. /resume 1 starts it again."
    pg.clock.set(datetime(2026, 12, 1, 21, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert bot_posts(pg, group.chat) == []
    assert await say(pg, group.owner, "/resume 1", group.chat) == "Schedule #1 resumed. Next run: 2026-12-02 21:00."
    assert await say(pg, group.owner, "/runnow 1", group.chat) == "Schedule #1 ran now: sent."
    assert [p["text"] for p in bot_posts(pg, group.chat)] == ["Good night"]
    shown = await say(pg, group.owner, "/schedule show 1", group.chat)
    assert shown.startswith("Schedule #1: daily 21:00 · post\nnext 2026-12-02 21:00\nLast run: 2026-12-01 21:00; 1 run so far.")
    assert await say(pg, group.owner, "/unschedule 1", group.chat) == "Schedule #1 removed."
    assert await say(pg, group.owner, "/schedules", group.chat) == "No schedules yet. Example: /schedule daily 21:00 post Good night!"


async def test_runnow_refuses_a_once_that_is_done(pg, group):
    # /runnow posted a finished once again and counted a second run while /schedules still said done.
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule once 2026-12-01 09:00 post Tea at ten", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert [p["text"] for p in bot_posts(pg, group.chat)] == ["Tea at ten"]

    async def unchanged():
        [s] = await pg.services.schedules.list(group.chat.id)
        return s.runs, s.last_run, len(await pg.services.outbox.recent(group.chat.id)), len(bot_posts(pg, group.chat))

    await assert_one_line_refusals(pg, group.owner, group.chat, [
        ("/runnow 1", "Schedule #1 ran once and is done; to post it again, make a new one: /schedule once DATE TIME post …"),
    ], unchanged)
    assert await say(pg, group.owner, "/schedules", group.chat) == (
        "Schedules (group time, UTC)\n#1 once 2026-12-01 09:00 · post — done")
    await say(pg, group.owner, "/lang zh", group.chat)
    assert await say(pg, group.owner, "/runnow 1", group.chat) == (
        "定时任务 #1 只运行一次，已经运行过了；要再发一次，请新建一个：/schedule once 日期 时间 post …")
    # A once not yet due may still run out of turn, and its own run stays where it is.
    await say(pg, group.owner, "/schedule once 2026-12-02 09:00 post Tomorrow", group.chat)
    assert (await say(pg, group.owner, "/runnow 2", group.chat)).startswith("定时任务 #2")
    assert [p["text"] for p in bot_posts(pg, group.chat)][-1] == "Tomorrow"


async def test_the_reminder_mentions_only_who_has_not_checked_in_and_did_not_opt_out(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.alice, "/checkin", group.chat)
    await say(pg, group.bob, "/optout mentions", group.chat)
    await say(pg, group.owner, "/schedule daily 20:00 reminder", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 20, 0, 1, tzinfo=UTC))
    await tick(pg)
    [post] = bot_posts(pg, group.chat)[-1:]
    assert post["text"].startswith("Not checked in today yet:")
    assert "@carol" in post["text"] and "@alice" not in post["text"] and "@bob" not in post["text"]


async def test_a_reminder_to_70_names_the_60_seen_most_recently_in_3_messages_of_20(pg):
    """The capped batches (README: 20 names per message, at most 3 messages per run — the members seen most
    recently): 70 members who have not checked in get one run of 3 messages of 20 names, 3 `sent` rows in
    /pushlog, and the 10 seen longest ago are not named."""
    sim = pg.sim
    owner = sim.user("owner")
    chat = sim.create_group("Tea Lovers", owner=owner)
    sim.add_bot(chat, by=owner)
    members = [sim.user(f"member{i:02d}") for i in range(1, 71)]
    for i, user in enumerate(members):  # member01 is seen first, member70 last
        pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=i))
        sim.join(chat, user)
        sim.send(user, "hi", chat)
        await pg.settle()
    pg.clock.set(datetime(2026, 12, 1, 19, 0, tzinfo=UTC))
    await say(pg, owner, "/checkin", chat)
    await say(pg, owner, "/schedule daily 20:00 reminder", chat)
    pg.clock.set(datetime(2026, 12, 1, 20, 0, 1, tzinfo=UTC))
    await tick(pg)
    posts = [p["text"] for p in pg.sim.replies(chat) if p.get("text", "").startswith("Not checked in today yet:")]
    named = [re.findall(r"@(member\d\d)", text) for text in posts]
    assert [len(n) for n in named] == [20, 20, 20]
    assert sorted(sum(named, [])) == [f"member{i:02d}" for i in range(11, 71)]  # each once; none of the 10 seen first
    assert (await say(pg, owner, "/pushlog", chat)).split("\n")[1:] == ["2026-12-01 20:00 check-in reminder: sent"] * 3


async def test_every_bad_schedule_gets_one_clear_line(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))

    async def unchanged():
        return [s.id for s in await pg.services.schedules.list(group.chat.id)]

    await assert_one_line_refusals(pg, group.owner, group.chat, [
        ("/schedule daily 25:00 post hi", "Word 2 (25:00): expected a time such as 09:00."),
        ("/schedule daily", "Word 2: expected a time such as 09:00, but the command ends there."),
        ("/schedule fortnightly 09:00 post hi", "Word 1 (fortnightly): expected once, every, daily, weekly, monthly or cron."),
        ("/schedule daily 09:00 shout hi", "Word 3 (shout): expected post, reminder, leaderboard, campaign, report, quiz, poll, topic or nps."),
        ('/schedule cron "0 9 * *" post hi', 'Word 2 (0 9 * *): expected a cron expression in quotes, such as "0 9 * * 1-5".'),
        ("/schedule every 1m post hi", "That is more often than every 5 minutes; schedules may not run that often."),
        ('/schedule cron "* * * * *" post hi', "That is more often than every 5 minutes; schedules may not run that often."),
        ('/schedule cron "* * 15 * *" post hi', "That is more often than every 5 minutes; schedules may not run that often."),
        ('/schedule cron "* * * 6 *" post hi', "That is more often than every 5 minutes; schedules may not run that often."),
        ('/schedule cron "*/2 9 20 * *" post hi', "That is more often than every 5 minutes; schedules may not run that often."),
        ('/schedule cron "0,2 9 1 1 *" post hi', "That is more often than every 5 minutes; schedules may not run that often."),
        ("/schedule once 2026-11-30 18:00 post hi", "That time is already past in the group's timezone."),
        ("/schedule daily 09:00 post", "Nothing to post: write the text after post, or reply to a photo."),
        # A campaign's text is its announcement: the post's line ("after post, or reply to a photo") misled.
        ("/schedule daily 21:00 campaign 2x 1h", "Nothing to announce: write the campaign's text after its length, such"
         " as campaign 2x 1h Double points hour."),
        ("/unschedule 42", "No schedule #42 in this group; /schedules lists them."),
        ("/pause x", "A schedule is named by its number, such as /pause 3."),
        ("/runnow 7", "No schedule #7 in this group; /schedules lists them."),
        ("/schedule show 9", "No schedule #9 in this group; /schedules lists them."),
        ("/resume", "Usage: /resume N"),
        # Telegram lets a bot delete its message for 48 hours only: a replace that could never delete is refused.
        ("/schedule weekly mon 09:00 post replace Weekly topic", "replace deletes the previous copy, and Telegram lets a bot"
         " delete a message only within 48 hours; this schedule's runs are up to 168 hours apart. Leave out replace."),
        ("/schedule weekly mon,fri 09:00 leaderboard replace", "replace deletes the previous copy, and Telegram lets a bot"
         " delete a message only within 48 hours; this schedule's runs are up to 96 hours apart. Leave out replace."),
        ("/schedule every 2d post replace Every other day", "replace deletes the previous copy, and Telegram lets a bot"
         " delete a message only within 48 hours; this schedule's runs are up to 48 hours apart. Leave out replace."),
    ], unchanged)
    for ok in ("/schedule every 47h post replace Nearly two days", "/schedule daily 21:00 post replace Good night"):
        assert (await say(pg, group.owner, ok, group.chat)).startswith("Schedule #"), ok
    assert await say(pg, group.alice, "/schedule daily 09:00 post hi", group.chat) == "Only Admin and above can use this command."


async def test_a_campaign_without_its_text_is_told_what_to_write_in_chinese_too(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/lang zh", group.chat)
    assert await say(pg, group.owner, "/schedule daily 21:00 campaign 2x 1h", group.chat) == (
        "没有要公布的内容：请在活动时长后写上公告文字，例如 campaign 2x 1h 双倍积分时段。")
    assert await say(pg, group.owner, "/schedule daily 09:00 post", group.chat) == (
        "没有要发布的内容：请在 post 后写上文字，或回复一张图片。")
    assert await pg.services.schedules.list(group.chat.id) == []


async def test_pushlog_shows_what_was_sent_and_held_back(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/set push_daily_cap 1", group.chat)
    await say(pg, group.owner, "/schedule daily 09:00 post one", group.chat)
    await say(pg, group.owner, "/schedule daily 09:00 post two", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert await say(pg, group.admin, "/pushlog", group.chat) == (
        "Push log (latest first, group time)\n2026-12-01 09:00 schedule: capped — daily cap 1\n2026-12-01 09:00 schedule: sent")


async def test_a_post_held_by_quiet_hours_is_dropped_when_its_schedule_is_removed_or_paused(pg, group):
    """Removed or paused while quiet hours hold its copy, a schedule sends nothing at their end — not even after a
    /resume: the held copy was dropped at the pause, and /pushlog says why (en, zh). Another schedule's held copy
    still goes out."""
    pg.clock.set(datetime(2026, 12, 1, 20, 0, tzinfo=UTC))
    await say(pg, group.owner, "/set quiet_hours 22:00-08:00", group.chat)
    for text in ("/schedule daily 23:00 post held-one", "/schedule daily 23:30 post held-two",
                 "/schedule daily 23:45 post held-three"):
        assert (await say(pg, group.owner, text, group.chat)).startswith("Schedule #")
    for at in ((23, 0), (23, 30), (23, 45)):
        pg.clock.set(datetime(2026, 12, 1, *at, 1, tzinfo=UTC))
        await tick(pg)
    pg.clock.set(datetime(2026, 12, 2, 0, 10, tzinfo=UTC))
    assert await say(pg, group.owner, "/unschedule 1", group.chat) == "Schedule #1 removed."
    await say(pg, group.owner, "/pause 2", group.chat)
    pg.clock.set(datetime(2026, 12, 2, 0, 20, tzinfo=UTC))
    await say(pg, group.owner, "/resume 2", group.chat)  # its next run is tonight's; the held copy stays dropped
    pg.clock.set(datetime(2026, 12, 2, 8, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert [p["text"] for p in bot_posts(pg, group.chat) if p.get("text", "").startswith("held")] == ["held-three"]
    assert (await say(pg, group.admin, "/pushlog", group.chat)).split("\n")[:4] == [
        "Push log (latest first, group time)",
        "2026-12-02 08:00 schedule: sent",
        "2026-12-02 00:10 schedule: dropped (quiet hours) — schedule #2 was paused while it was held, so it was not sent",
        "2026-12-02 00:10 schedule: dropped (quiet hours) — schedule #1 was removed while it was held, so it was not sent",
    ]
    await say(pg, group.owner, "/lang zh", group.chat)
    assert (await say(pg, group.admin, "/pushlog", group.chat)).split("\n")[2:4] == [
        "2026-12-02 00:10 定时任务：已丢弃（免打扰时段），定时任务 #2 在暂缓期间被暂停，未发送",
        "2026-12-02 00:10 定时任务：已丢弃（免打扰时段），定时任务 #1 在暂缓期间被删除，未发送",
    ]
    pg.clock.set(datetime(2026, 12, 2, 23, 30, 1, tzinfo=UTC))
    await tick(pg)  # the resumed schedule runs again from its next slot (quiet hours hold it, as any)
    assert await pg.services.db.fetchval(
        "SELECT COUNT(*) FROM deferred WHERE kind = 'post' AND done_at IS NULL AND json_extract(payload, '$.schedule') = 2") == 1


async def test_schedule_show_without_a_number_gets_its_own_usage_in_en_and_zh(pg, group):
    """/schedule show with no N (or more words) answered with the whole /schedule syntax: its own line instead."""
    await say(pg, group.owner, "/schedule daily 09:00 post one", group.chat)

    async def unchanged():
        return len(await pg.services.schedules.list(group.chat.id))

    await assert_one_line_refusals(pg, group.owner, group.chat, [
        ("/schedule show", "Usage: /schedule show N"), ("/schedule show 1 2", "Usage: /schedule show N"),
    ], unchanged)
    await say(pg, group.owner, "/lang zh", group.chat)
    await assert_one_line_refusals(pg, group.owner, group.chat, [
        ("/schedule show", "用法：/schedule show 编号"), ("/schedule missed 1", "用法：/schedule missed 编号 late|skip"),
    ], unchanged)


async def test_pushlog_and_schedules_take_nothing_after_them_in_en_and_zh(pg, group):
    """Extra words are no filter the listing quietly ignores: the usage, in one line, in the group's language."""
    await say(pg, group.owner, "/schedule daily 09:00 post one", group.chat)

    async def unchanged():
        return len(await pg.services.schedules.list(group.chat.id))

    await assert_one_line_refusals(pg, group.admin, group.chat, [
        ("/pushlog foo", "Usage: /pushlog"), ("/pushlog 20", "Usage: /pushlog"), ("/schedules 1", "Usage: /schedules"),
    ], unchanged)
    await say(pg, group.owner, "/lang zh", group.chat)
    await assert_one_line_refusals(pg, group.admin, group.chat, [
        ("/pushlog foo", "用法：/pushlog"), ("/schedules all", "用法：/schedules"),
    ], unchanged)
    assert (await say(pg, group.admin, "/schedules", group.chat)).startswith("定时任务（本群时间，UTC）\n#1 ")


async def test_member_day_doubles_check_ins_and_chat_xp_while_it_lasts_and_is_announced_at_start_and_end(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    assert await say(pg, group.owner, "/schedule memberday", group.chat) == (
        "Schedule #1 saved: monthly 1st sat 00:00 · campaign. Next run: 2026-12-05 00:00 (UTC).")
    pg.clock.set(datetime(2026, 12, 5, 0, 0, 2, tzinfo=UTC))
    await tick(pg)
    assert bot_posts(pg, group.chat)[-1]["text"] == (
        "🎉 Member day! Double points for every check-in today.\nCheck-ins and chat XP pay ×2 until 2026-12-06 00:00.")
    pg.clock.set(datetime(2026, 12, 5, 10, 0, tzinfo=UTC))
    await say(pg, group.alice, "/checkin", group.chat)
    pg.clock.set(datetime(2026, 12, 6, 0, 0, 5, tzinfo=UTC))
    await tick(pg)
    assert bot_posts(pg, group.chat)[-1]["text"] == (
        "The campaign is over: 🎉 Member day! Double points for every check-in today. Thanks for taking part!")
    await say(pg, group.bob, "/checkin", group.chat)
    rows = await pg.services.db.fetchall(
        "SELECT user_id, points, multiplier FROM checkins WHERE chat_id = ? ORDER BY day", (group.chat.id,))
    paid = {r["user_id"]: (r["points"], r["multiplier"]) for r in rows}
    assert paid[group.alice.id][0] == 2 * paid[group.bob.id][0]


async def test_bad_campaigns_get_one_line(pg, group):
    async def unchanged():
        return len(await pg.services.schedules.list(group.chat.id))

    await assert_one_line_refusals(pg, group.owner, group.chat, [
        ("/schedule daily 09:00 campaign 20x 2h Party", "Word 4 (20x): expected a points multiplier such as 2x or 1.5x (at most 10x)."),
        ("/schedule daily 09:00 campaign 2x 9d Party", "Word 5 (9d): expected how long it lasts, such as 24h, 90m or 2d (at most 7 days)."),
        ("/schedule daily 09:00 campaign 2x", "Word 5: expected how long it lasts, such as 24h, 90m or 2d (at most 7 days), but the command ends there."),
    ], unchanged)


async def test_birthday_month_doubles_check_in_points_in_that_month_only(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    assert await say(pg, group.alice, "/birthday", group.chat) == (
        "No birthday month saved. /birthday 5 saves May (the month only): check-ins pay double during it.")
    assert await say(pg, group.alice, "/birthday 12", group.chat) == (
        "Birthday month saved: December. Check-ins pay double all month long.")
    await say(pg, group.bob, "/birthday 11", group.chat)
    await say(pg, group.alice, "/checkin", group.chat)
    await say(pg, group.bob, "/checkin", group.chat)
    rows = await pg.services.db.fetchall("SELECT user_id, points FROM checkins WHERE chat_id = ?", (group.chat.id,))
    paid = {r["user_id"]: r["points"] for r in rows}
    assert paid[group.alice.id] == 2 * paid[group.bob.id]
    for bad in ("/birthday 13", "/birthday May", "/birthday 1 2", "/birthday ²"):  # ² once crashed it
        pg.clock.advance(seconds=10)  # a member reads between commands (seven in ten seconds are a flood)
        assert await say(pg, group.alice, bad, group.chat) == "Usage: /birthday MONTH (1-12)|off"
    assert await say(pg, group.alice, "/birthday off", group.chat) == "Birthday month forgotten."


async def test_a_birthday_month_check_in_is_labelled_birthday_month_not_campaign_in_english_and_chinese(pg, group):
    """Issue 11 (review): the birthday factor was folded into the campaign's, so a birthday check-in said
    "× 2 (campaign)" with no campaign running. Each factor is named; both show when both pay."""
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.alice, "/birthday 12", group.chat)
    await say(pg, group.bob, "/birthday 12", group.chat)
    alone = (await say(pg, group.alice, "/checkin", group.chat)).split("\n")[0]
    assert alone == "✅ Alice checked in: +20 points (10 base × 2 (birthday month)), +10 XP.", alone
    await say(pg, group.owner, "/schedule once 2026-12-01 09:00 campaign 3x 2h Triple morning", group.chat)
    await say(pg, group.owner, "/lang zh", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    both = (await say(pg, group.bob, "/checkin", group.chat)).split("\n")[0]
    assert both == "✅ Bob 签到成功：+60 积分（基础 10 ×3（活动）×2（生日月）），+10 经验。", both


async def test_an_option_or_text_an_action_would_ignore_is_refused_in_one_line_english_and_chinese(pg, group):
    # replace deletes the previous copy of a post or leaderboard only; pin pins a post, quiz, poll or topic only; a
    # reminder or leaderboard writes its own text. Silently ignoring any of them would leave the admin believing it.
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))

    async def unchanged():
        return [s.id for s in await pg.services.schedules.list(group.chat.id)]

    await assert_one_line_refusals(pg, group.owner, group.chat, [
        ("/schedule daily 21:00 reminder replace", "replace deletes the previous copy of a post or a leaderboard; a"
         " check-in reminder has none to delete. Leave out replace."),
        ("/schedule monthly first sat 00:00 campaign 2x 24h replace Member day", "replace deletes the previous copy of"
         " a post or a leaderboard; a campaign has none to delete. Leave out replace."),
        ("/schedule daily 20:00 quiz 30m replace Tea?\n*Green\nBlack", "replace deletes the previous copy of a post or"
         " a leaderboard; a quiz has none to delete. Leave out replace."),
        ("/schedule daily 21:00 reminder pin", "pin pins a post, a quiz, a poll or a topic of the week; a check-in"
         " reminder is not pinned. Leave out pin."),
        ("/schedule daily 21:00 leaderboard pin", "pin pins a post, a quiz, a poll or a topic of the week; a weekly"
         " leaderboard is not pinned. Leave out pin."),
        ("/schedule once 2026-12-24 18:00 post replace Merry Christmas", "replace deletes the previous copy, and a"
         " schedule that runs once has none. Leave out replace."),
        ("/schedule daily 21:00 reminder Remember to check in", "Word 4 (Remember): expected the end of the command."),
        ("/schedule daily 21:00 leaderboard Top tea drinkers", "Word 4 (Top): expected the end of the command."),
    ], unchanged)
    await say(pg, group.owner, "/lang zh", group.chat)
    await assert_one_line_refusals(pg, group.owner, group.chat, [
        ("/schedule daily 21:00 reminder replace", "replace 只删除定时帖子或排行榜的上一份；签到提醒没有可删除的。请去掉 replace。"),
        ("/schedule daily 21:00 reminder pin", "pin 只置顶帖子、测验、投票或本周话题；签到提醒不会置顶。请去掉 pin。"),
        ("/schedule once 2026-12-24 18:00 post replace 圣诞快乐", "replace 删除上一份，而只运行一次的计划没有上一份。请去掉 replace。"),
    ], unchanged)
    for ok in ("/schedule daily 21:00 leaderboard replace", "/schedule daily 20:00 quiz 30m pin Tea?\n*Green\nBlack"):
        assert (await say(pg, group.owner, ok, group.chat)).startswith("定时任务 #"), ok


async def test_a_post_with_an_apostrophe_or_a_lone_quote_is_saved_and_posted_as_typed(pg, group):
    # Only a cron expression is quoted; a post's own quotes are its text ("Don't" was refused as an unclosed quote).
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    for text in ("/schedule daily 09:00 post Don't forget your tea", '/schedule daily 09:00 post He said "hi',
                 "/schedule daily 09:00 post 别忘了'喝茶", '/schedule cron “0 9 * * 1-5” post pin Stand-up, it\'s 9'):
        assert (await say(pg, group.owner, text, group.chat)).startswith("Schedule #"), text
    assert [s.spec for s in await pg.services.schedules.list(group.chat.id)][-1] == "0 9 * * 1-5"
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))  # a Tuesday
    await tick(pg)
    assert sorted(m["text"] for m in bot_posts(pg, group.chat) if "text" in m) == sorted(
        ["Don't forget your tea", 'He said "hi', "别忘了'喝茶", "Stand-up, it's 9"])
    assert await say(pg, group.owner, '/schedule cron "0 9 * * 1-5 post x', group.chat) == (
        'A quote is not closed: put a cron expression in "…".')


async def test_pushlog_reasons_are_in_the_groups_language_and_a_hold_ends_in_group_time(pg, group):
    # The reasons were stored English text shown as such in a Chinese group, and a held post's end in UTC ISO form.
    pg.clock.set(datetime(2026, 12, 1, 0, 0, tzinfo=UTC))  # 08:00 in Shanghai
    await say(pg, group.owner, "/set timezone Asia/Shanghai", group.chat)
    await say(pg, group.owner, "/set push_daily_cap 1", group.chat)
    await say(pg, group.owner, "/set quiet_hours 12:00-14:00", group.chat)
    await say(pg, group.owner, "/schedule daily 09:00 post one", group.chat)
    await say(pg, group.owner, "/schedule daily 09:00 post two", group.chat)
    await say(pg, group.owner, "/schedule daily 13:00 post three", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 1, 0, 1, tzinfo=UTC))
    await tick(pg)
    pg.clock.set(datetime(2026, 12, 1, 5, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert await say(pg, group.admin, "/pushlog", group.chat) == (
        "Push log (latest first, group time)\n2026-12-01 13:00 schedule: held for quiet hours — quiet hours, until"
        " 2026-12-01 14:00\n2026-12-01 09:00 schedule: capped — daily cap 1\n2026-12-01 09:00 schedule: sent")
    await say(pg, group.owner, "/lang zh", group.chat)
    assert await say(pg, group.admin, "/pushlog", group.chat) == (
        "推送记录（最新在前，本群时间）\n2026-12-01 13:00 定时任务：免打扰时段，稍后发送，到 2026-12-01 14:00\n"
        "2026-12-01 09:00 定时任务：超出上限，每日上限 1\n2026-12-01 09:00 定时任务：已发送")  # no " — " in Chinese


async def test_pushlog_names_each_kind_in_the_groups_language(pg, group):
    # The kind column showed the internal names (schedule, feedback, topic…) in a Chinese group too.
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 09:00 post Good morning", group.chat)
    await say(pg, group.owner, "/topics add Green or black?", group.chat)
    await say(pg, group.owner, "/schedule daily 10:00 topic 1h", group.chat)
    pg.sim.send(group.alice, "/start")
    await pg.settle()
    await say(pg, group.alice, "/feedback A quiz", group.chat)
    await say(pg, group.owner, "/fb accept 1", group.chat)  # Alice is told privately: a "feedback" push
    for hour in (9, 10):
        pg.clock.set(datetime(2026, 12, 1, hour, 0, 1, tzinfo=UTC))
        await tick(pg)
    english = await say(pg, group.admin, "/pushlog", group.chat)
    kinds = list(dict.fromkeys(line.split(" ", 2)[2].split(":")[0] for line in english.split("\n")[1:]))
    assert kinds == ["topic of the week", "schedule", "feedback answer"]
    await say(pg, group.owner, "/lang zh", group.chat)
    chinese = await say(pg, group.admin, "/pushlog", group.chat)
    kinds = list(dict.fromkeys(line.split(" ", 2)[2].split("：")[0] for line in chinese.split("\n")[1:]))
    assert kinds == ["每周话题", "定时任务", "反馈回复"]


def test_every_kind_the_outbox_sends_has_a_pushlog_name_in_english_and_chinese():
    from bot.domain.outbox import POLICIES
    from bot.texts import translator
    from bot.texts.schedules import PUSH_KINDS

    assert set(POLICIES) | {"modlog"} <= set(PUSH_KINDS)
    zh = translator("zh")
    untranslated = [kind for kind, label in PUSH_KINDS.items() if zh(label) == label]
    assert untranslated == []


async def test_a_scheduled_post_that_mentions_a_member_who_opted_out_is_not_sent(pg, group):
    # /optout mentions holds for every bot-initiated message: an admin's scheduled post naming them (an @username or
    # a mention by link) is suppressed and logged; a post naming someone else goes out.
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.alice, "/checkin", group.chat)
    await say(pg, group.bob, "/checkin", group.chat)
    await say(pg, group.alice, "/optout mentions", group.chat)
    await say(pg, group.owner, "/schedule daily 09:00 post Thanks @Alice for the tea", group.chat)
    text = "/schedule daily 09:00 post Thanks Alice for the tea"
    pg.sim.send(group.owner, text, group.chat, entities=[
        {"type": "text_mention", "offset": text.index("Alice"), "length": 5, "user": {"id": group.alice.id, "is_bot": False,
                                                                                      "first_name": "Alice"}}])
    await pg.settle()
    await say(pg, group.owner, f"/schedule daily 09:00 post Thanks @{group.bob.username} for the cups", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert [m["text"] for m in bot_posts(pg, group.chat)] == [f"Thanks @{group.bob.username} for the cups"]
    assert (await say(pg, group.admin, "/pushlog", group.chat)).count("schedule: not sent — mentions opt-out") == 2


async def test_a_campaign_and_a_topic_that_mention_a_member_who_opted_out_are_not_sent(pg, group):
    """Issue 11: "a member who opted out is never mentioned by a reminder or an announcement" held for posts only: a
    campaign's start and end and a topic of the week naming @alice went out after /optout mentions, and /pushlog said
    sent. The outbox checks every group message's mentions: a campaign start naming her is not sent (nor then its
    end); one that went out before she opted out has its end held back; a topic naming her is not posted."""
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    alice = f"@{group.alice.username}"
    await say(pg, group.owner, f"/schedule once 2026-12-01 09:00 campaign 2x 2h Tea day, idea by {alice}", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert [m["text"].split("\n")[0] for m in bot_posts(pg, group.chat)] == [f"Tea day, idea by {alice}"]
    await say(pg, group.alice, "/optout mentions", group.chat)  # during the window: its end must not name her
    await say(pg, group.owner, f"/schedule once 2026-12-01 12:00 campaign 2x 1h Cake hour, thanks {alice}", group.chat)
    await say(pg, group.owner, f"/schedule once 2026-12-01 13:30 topic Tell {alice} your favourite tea", group.chat)
    await say(pg, group.owner, "/schedule once 2026-12-01 14:00 topic Your favourite cup?", group.chat)
    for at in ((11, 0, 1), (12, 0, 1), (13, 0, 1), (13, 30, 1), (14, 0, 1)):
        pg.clock.set(datetime(2026, 12, 1, *at, tzinfo=UTC))
        await tick(pg)
    said = [m.get("text", "") for m in bot_posts(pg, group.chat)]
    assert not any(alice in t for t in said[1:]), said
    assert any("Your favourite cup?" in t for t in said)  # a topic naming nobody goes out
    log = [(e.kind, e.outcome, e.detail) for e in reversed(await pg.services.outbox.recent(group.chat.id, 30))]
    assert ("campaign", "suppressed", "mentions opt-out") in log and log.count(("campaign", "suppressed", "mentions opt-out")) == 2
    assert ("campaign", "suppressed", "its start was not announced") in log  # the cake hour's end
    assert ("topic", "suppressed", "mentions opt-out") in log
    assert "topic of the week: not sent — mentions opt-out" in await say(pg, group.admin, "/pushlog", group.chat)


async def test_schedule_show_names_a_campaigns_multiplier_and_length_in_english_and_chinese(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 09:00 campaign 1.5x 2h Happy hour", group.chat)
    await say(pg, group.owner, "/schedule daily 10:00 quiz 30m +5 first 3 Tea?\n*Green\nBlack", group.chat)
    assert (await say(pg, group.owner, "/schedule show 1", group.chat)).split("\n")[2] == "×1.5 for 120 min"
    assert (await say(pg, group.owner, "/schedule show 2", group.chat)).split("\n")[2] == (
        "open 30 min, +5 points, the first 3 right answers pay")
    await say(pg, group.owner, "/lang zh", group.chat)
    assert (await say(pg, group.owner, "/schedule show 1", group.chat)).split("\n")[2] == "积分 ×1.5，持续 120 分钟"
    assert (await say(pg, group.owner, "/schedule show 2", group.chat)).split("\n")[2] == "开放 30 分钟，+5 积分，前 3 个正确答案得分"


async def test_times_typed_on_a_chinese_keyboard_are_read_as_typed_anywhere(pg, group):
    """Issue 11 (review): a Chinese keyboard types a full-width colon, digits and hyphen (`21：30`, `２１:００`,
    `２０２６－１２－２４`); /schedule, quiet hours and night mode refused them as "expected a time such as 09:00".
    They read as their ASCII forms; a time that is wrong however it is typed is still refused, as typed."""
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/lang zh", group.chat)
    assert await say(pg, group.owner, "/schedule daily 21：30 post 晚安", group.chat) == (
        "定时任务 #1 已保存：daily 21:30 · 帖子。下次运行：2026-12-01 21:30（UTC）。")
    assert await say(pg, group.owner, "/schedule every mon ２１:００ post 周一茶话", group.chat) == (
        "定时任务 #2 已保存：weekly mon 21:00 · 帖子。下次运行：2026-12-07 21:00（UTC）。")
    assert await say(pg, group.owner, "/schedule once ２０２６－１２－２４ １８：００ post 圣诞茶会", group.chat) == (
        "定时任务 #3 已保存：once 2026-12-24 18:00 · 帖子。下次运行：2026-12-24 18:00（UTC）。")
    assert await say(pg, group.owner, "/set quiet_hours 22：00－08：00", group.chat) == "quiet_hours 已设为 22:00-08:00。"
    assert (await pg.services.groups.settings(group.chat.id)).quiet_hours == "22:00-08:00"
    assert (await say(pg, group.owner, "/nightmode ２３:００-０７:００", group.chat)).startswith("夜间模式已开启：23:00 至 07:00")
    assert await say(pg, group.owner, "/schedule daily 25：00 post x", group.chat) == "第 2 个词（25：00）：应为时间，如 09:00。"
    assert len(await pg.services.schedules.list(group.chat.id)) == 3
