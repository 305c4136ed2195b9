"""/schedule step by step, through the real Application: buttons for what (post, reminder, leaderboard, member day,
quiz, poll), how often (once, every day, days of the week, monthly on a date or an nth weekday, every N), which
day(s) and what time — or a typed time, date or interval as a reply — then, for what has content, a reply with it:
the same schedule the one-line command makes, and the prompt teaches that line. The flow survives a restart in the
middle; only admins drive it; a bad typed answer, a past date or time, bad content each get one line and the step
again; Cancel cancels; English and Chinese."""
from datetime import datetime, timezone

from tests.handlers.test_schedule_commands import bot_posts, tick
from tests.helpers import say

UTC = timezone.utc


def labels(message: dict) -> list[str]:
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def start(pg, user, chat) -> dict:
    pg.sim.send(user, "/schedule", chat)
    await pg.settle()
    return pg.sim.replies(chat)[-1]


async def press(pg, user, chat, message: dict, data: str) -> dict:
    pg.sim.press(user, message, data)
    await pg.settle()
    return pg.sim.message(chat, message["message_id"])


def last(pg, chat) -> dict:
    return pg.sim.replies(chat)[-1]


async def ok(pg, user, chat, summary: dict) -> dict:
    """The summary's last button: save (or go on to the content)."""
    assert "New schedule: check it before saving." in summary["text"] or "新建定时任务：保存前请核对。" in summary["text"]
    return await press(pg, user, chat, summary, "sch:=ok")


async def answer(pg, user, chat, prompt: dict, text: str) -> dict:
    """`user` replies to a prompt of the flow; the bot's answer."""
    pg.sim.send(user, text, chat, reply_to=prompt)
    await pg.settle()
    return last(pg, chat)


async def test_a_post_on_some_days_of_the_week_made_with_buttons_and_a_reply(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))  # a Tuesday
    flow = await start(pg, group.admin, group.chat)
    assert flow["text"] == "New schedule. What should I schedule?"
    assert labels(flow) == ["📝 A post", "⏰ Check-in reminder", "🏆 Weekly leaderboard", "🎉 Member day (double points)",
                            "❓ Quiz", "📊 Poll", "💬 Topic of the week", "📈 Weekly report",
                            "⭐ Recommend survey (NPS)", "Cancel"]
    flow = await press(pg, group.admin, group.chat, flow, "sch:post")
    assert labels(flow) == ["Every day", "Some days of the week", "Once", "Monthly on a date", "Monthly on a weekday",
                            "Every few minutes, hours or days", "A cron expression", "Cancel"]
    flow = await press(pg, group.admin, group.chat, flow, "sch:post weekly")
    assert labels(flow) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Cancel"]  # Next once a day is chosen
    flow = await press(pg, group.admin, group.chat, flow, "sch:post weekly @mon")
    await pg.restart()  # the flow is in the buttons: a restart in the middle loses nothing
    flow = await press(pg, group.admin, group.chat, flow, "sch:post weekly @mon,fri")
    assert labels(flow) == ["✅ Mon", "Tue", "Wed", "Thu", "✅ Fri", "Sat", "Sun", "Next ▶", "Cancel"]
    flow = await press(pg, group.admin, group.chat, flow, "sch:post weekly @fri")  # pressed again: Monday off
    flow = await press(pg, group.admin, group.chat, flow, "sch:post weekly @mon,fri")
    flow = await press(pg, group.admin, group.chat, flow, "sch:post weekly mon,fri")
    assert flow["text"] == ("New schedule. At what time? (group time, UTC)\nOr reply to this message with another time,"
                            " such as 21:30.\nSo far: /schedule weekly mon,fri TIME post")
    flow = await press(pg, group.owner, group.chat, flow, "sch:post weekly mon,fri 09:00")  # any admin may go on
    flow = await ok(pg, group.owner, group.chat, flow)
    assert flow["text"] == ("Last step: reply to this message with the text to post (your formatting is kept), or with a"
                            " photo and its caption.\nNext time it fits in one line: /schedule weekly mon,fri 09:00 post"
                            " YOUR TEXT")
    assert "reply_markup" not in flow
    pg.sim.send(group.alice, "I want to post too", group.chat, reply_to=flow)  # a member's reply is not a schedule
    await pg.settle()
    assert await pg.services.schedules.list(group.chat.id) == []
    text = "Weekly topic: oolong"
    pg.sim.send(group.admin, text, group.chat, reply_to=flow, entities=[{"type": "bold", "offset": 0, "length": 12}])
    await pg.settle()
    assert last(pg, group.chat)["text"] == (
        "Schedule #1 saved: weekly mon,fri 09:00 · post. Next run: 2026-12-04 09:00 (UTC).")
    assert pg.sim.message(group.chat, flow["message_id"])["text"] == "Done: this became schedule #1."
    pg.sim.send(group.admin, "again?", group.chat, reply_to=flow)  # the prompt is used up
    await pg.settle()
    assert len(await pg.services.schedules.list(group.chat.id)) == 1
    pg.clock.set(datetime(2026, 12, 4, 9, 0, 2, tzinfo=UTC))
    await tick(pg)
    [post] = bot_posts(pg, group.chat)[-1:]
    assert post["text"] == text and post["entities"] == [{"type": "bold", "offset": 0, "length": 12}]


async def test_a_typed_time_that_is_not_one_gets_a_line_and_the_question_again(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:reminder", "sch:reminder daily"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    question = ("New schedule. At what time? (group time, UTC)\nOr reply to this message with another time, such as"
                " 21:30.\nSo far: /schedule daily TIME reminder")
    for bad in ("25:00", "half past nine", "21.30", "21:3"):
        again = await answer(pg, group.owner, group.chat, flow, bad)
        assert again["text"] == ("That is not a time: type it as hours:minutes in 24-hour form, such as 21:30 or 08:05.\n"
                                 + question), bad
        assert labels(again)[:2] == ["07:00", "08:00"]  # the step's buttons again, too
    assert await pg.services.schedules.list(group.chat.id) == []
    summary = await answer(pg, group.owner, group.chat, again, "21:30")  # replying to the question asked again
    done = await ok(pg, group.owner, group.chat, summary)
    assert done["text"] == ("Schedule #1 saved: daily 21:30 · check-in reminder. Next run: 2026-12-01 21:30 (UTC).\n"
                            "In one line: /schedule daily 21:30 reminder")
    pg.sim.send(group.alice, "7:00", group.chat, reply_to=flow)  # a member's typed time makes nothing
    await pg.settle()
    assert len(await pg.services.schedules.list(group.chat.id)) == 1
    second = await answer(pg, group.owner, group.chat, again, "22:00")  # a second answer: a summary, nothing saved
    assert second["text"].startswith("New schedule: check it before saving.\n/schedule daily 22:00 reminder")
    assert len(await pg.services.schedules.list(group.chat.id)) == 1
    assert "reply_markup" not in pg.sim.message(group.chat, done["message_id"])  # the saved summary: no button left


async def test_a_member_day_on_the_first_saturday_with_its_multiplier_length_and_announcement(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    flow = await start(pg, group.owner, group.chat)
    flow = await press(pg, group.owner, group.chat, flow, "sch:campaign")
    flow = await press(pg, group.owner, group.chat, flow, "sch:campaign nth")
    assert flow["text"] == "New schedule. Which week of the month?"
    assert labels(flow) == ["First", "Second", "Third", "Fourth", "Last", "Cancel"]
    flow = await press(pg, group.owner, group.chat, flow, "sch:campaign nth first")
    flow = await press(pg, group.owner, group.chat, flow, "sch:campaign nth first sat")
    flow = await answer(pg, group.owner, group.chat, flow, "10:00")  # a typed time; the next step comes as a reply
    assert flow["text"] == "New schedule. How many times the points during the window?"
    assert labels(flow) == ["1.5x", "2x", "3x", "Cancel"]
    flow = await press(pg, group.owner, group.chat, flow, "sch:campaign nth first sat 10:00 2x")
    assert labels(flow) == ["1h", "3h", "12h", "24h", "2d", "Cancel"]
    flow = await press(pg, group.owner, group.chat, flow, "sch:campaign nth first sat 10:00 2x 24h")
    assert labels(flow) == ["📅 Choose the first run", "Next: the content ▶", "Cancel"]  # a campaign pins nothing
    flow = await ok(pg, group.owner, group.chat, flow)
    assert flow["text"] == ("Last step: reply to this message with the announcement (your formatting is kept), such as"
                            " Member day: double points all day!\nNext time it fits in one line: /schedule monthly first"
                            " sat 10:00 campaign 2x 24h YOUR TEXT")
    done = await answer(pg, group.owner, group.chat, flow, "Member day!")
    assert done["text"] == "Schedule #1 saved: monthly 1st sat 10:00 · campaign. Next run: 2026-12-05 10:00 (UTC)."
    [s] = await pg.services.schedules.list(group.chat.id)
    assert (s.options["multiplier"], s.options["minutes"], s.content["texts"]) == ("2", 24 * 60, ["Member day!"])


async def test_a_monthly_quiz_whose_question_is_refused_is_asked_for_again(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:quiz", "sch:quiz monthly"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    assert labels(flow)[:31] == [str(d) for d in range(1, 32)]
    flow = await press(pg, group.owner, group.chat, flow, "sch:quiz monthly 15")
    flow = await ok(pg, group.owner, group.chat, await press(pg, group.owner, group.chat, flow, "sch:quiz monthly 15 20:00"))
    assert flow["text"].startswith("Last step: reply to this message with the question on the first line, then one answer"
                                   " per line, the right one starting with *.")
    again = await answer(pg, group.owner, group.chat, flow, "Which tea is green?\nLongjing\nDarjeeling")  # no * answer
    assert await pg.services.schedules.list(group.chat.id) == []
    assert "\nTry again:\nLast step: reply to this message with the question" in again["text"]
    done = await answer(pg, group.owner, group.chat, again, "Which tea is green?\n*Longjing\nDarjeeling")
    assert done["text"] == "Schedule #1 saved: monthly 15 20:00 · quiz. Next run: 2026-12-15 20:00 (UTC)."


async def test_every_few_hours_typed_a_poll_and_intervals_that_are_refused(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:poll", "sch:poll every"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    assert labels(flow)[:10] == ["15m", "30m", "1h", "2h", "3h", "6h", "12h", "1d", "2d", "3d"]
    assert (await answer(pg, group.owner, group.chat, flow, "3m"))["text"].startswith(
        "That is more often than every 5 minutes; schedules may not run that often.\nNew schedule. Every how long?")
    assert (await answer(pg, group.owner, group.chat, flow, "often"))["text"].startswith(
        "That is not an interval: type a number and m (minutes), h (hours) or d (days), such as 45m, 4h or 2d.\n")
    flow = await ok(pg, group.owner, group.chat, await answer(pg, group.owner, group.chat, flow, "4h"))
    assert flow["text"].endswith("Next time it fits in one line: /schedule every 4h poll YOUR TEXT")
    done = await answer(pg, group.owner, group.chat, flow, "Tea or coffee?\nTea\nCoffee")
    assert done["text"] == "Schedule #1 saved: every 4h · poll. Next run: 2026-12-01 12:00 (UTC)."


async def test_once_on_a_typed_date_a_past_date_or_time_is_asked_again(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:leaderboard", "sch:leaderboard once"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    assert labels(flow)[:3] == ["Today", "Tomorrow", "Thu 12-03"]
    assert flow["text"].endswith("Or reply to this message with another date, such as 2026-12-24.\n"
                                 "So far: /schedule once DATE TIME leaderboard")
    assert (await answer(pg, group.owner, group.chat, flow, "2026-11-30"))["text"].startswith(
        "That time is already past in the group's timezone.\nNew schedule. On which day?")
    assert (await answer(pg, group.owner, group.chat, flow, "2026-02-30"))["text"].startswith(
        "That is not a date: type it as year-month-day, such as 2026-12-24.\nNew schedule. On which day?")
    flow = await answer(pg, group.owner, group.chat, flow, "2026-12-24")
    assert flow["text"].endswith("So far: /schedule once 2026-12-24 TIME leaderboard")
    flow = await press(pg, group.owner, group.chat, flow, "sch:leaderboard once 2026-12-24 20:00")
    assert labels(flow) == ["✅ Save", "Cancel"]  # once: no first run to choose, no copy before it to replace
    flow = await ok(pg, group.owner, group.chat, flow)
    assert flow["text"].startswith("Schedule #1 saved: once 2026-12-24 20:00 · weekly leaderboard.")
    # Today at a time already past, by button or typed: one line, and the time is asked again.
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:post", "sch:post once", "sch:post once 2026-12-01"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    flow = await press(pg, group.owner, group.chat, flow, "sch:post once 2026-12-01 07:00")
    assert flow["text"].startswith("That time is already past in the group's timezone.\nNew schedule. At what time?")
    assert (await answer(pg, group.owner, group.chat, flow, "07:59"))["text"].startswith(
        "That time is already past in the group's timezone.\nNew schedule. At what time?")
    flow = await ok(pg, group.owner, group.chat, await answer(pg, group.owner, group.chat, flow, "18:00"))
    photo = pg.sim.send_media(group.owner, "photo", group.chat, "Tea tasting tonight", reply_to=flow)
    await pg.settle()
    assert last(pg, group.chat)["text"].startswith("Schedule #2 saved: once 2026-12-01 18:00 · post.")
    pg.clock.set(datetime(2026, 12, 1, 18, 0, 2, tzinfo=UTC))
    await tick(pg)
    [post] = bot_posts(pg, group.chat)[-1:]
    assert post["photo"] == photo["photo"] and post["caption"] == "Tea tasting tonight"


async def test_only_admins_press_cancel_cancels_and_old_buttons_still_work(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    flow = await start(pg, group.admin, group.chat)
    pg.sim.press(group.alice, flow, "sch:post")
    await pg.settle()
    assert pg.sim.calls("answerCallbackQuery")[-1].params == {
        "callback_query_id": pg.sim.calls("answerCallbackQuery")[-1].params["callback_query_id"],
        "text": "Only admins can make schedules.", "show_alert": True}
    assert pg.sim.message(group.chat, flow["message_id"])["text"] == "New schedule. What should I schedule?"
    flow = await press(pg, group.admin, group.chat, flow, "sch:x")
    assert flow["text"] == "Cancelled: nothing was scheduled."
    assert await pg.services.schedules.list(group.chat.id) == []
    # A time button of the flow as it was before it covered every kind (sch:t:ACTION:KIND:DAY:HH:MM) still makes it.
    old = await reply_with_buttons(pg, group, [("20:00", "sch:t:reminder:daily:-:20:00"), ("?", "sch:q:nonsense")])
    flow = await ok(pg, group.admin, group.chat, await press(pg, group.admin, group.chat, old, "sch:t:reminder:daily:-:20:00"))
    assert flow["text"].startswith("Schedule #1 saved: daily 20:00 · check-in reminder.")
    old = await reply_with_buttons(pg, group, [("?", "sch:q:nonsense")])
    flow = await press(pg, group.admin, group.chat, old, "sch:q:nonsense")
    assert flow["text"] == "These buttons are out of date; start again with /schedule."


async def reply_with_buttons(pg, group, buttons) -> dict:
    """A message of the bot's with these buttons (as an older version of the flow sent them)."""
    sent = await pg.app.bot.send_message(group.chat.id, "New schedule.", reply_markup={
        "inline_keyboard": [[{"text": label, "callback_data": data}] for label, data in buttons]})
    return pg.sim.message(group.chat, sent.message_id)


async def test_every_button_of_the_longest_flow_fits_telegrams_64_bytes(pg, group):
    """The simulator refuses callback data over 64 bytes as Telegram does: the longest choices still fit."""
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    flow = await start(pg, group.owner, group.chat)
    every_day = "mon,tue,wed,thu,fri,sat,sun"
    picks = [f"sch:campaign weekly @{every_day[:n]}" for n in range(3, len(every_day) + 1, 4)]  # a day at a time
    for data in ("sch:campaign", "sch:campaign weekly", *picks, f"sch:campaign weekly {every_day}", f"sch:campaign weekly {every_day} 22:00",
                 f"sch:campaign weekly {every_day} 22:00 1.5x"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    flow = await press(pg, group.owner, group.chat, flow, f"sch:campaign weekly {every_day} 22:00 1.5x 12h")
    flow = await press(pg, group.owner, group.chat, flow, "sch:=from")
    flow = await press(pg, group.owner, group.chat, flow, "sch:=from=2026-12-08")
    flow = await ok(pg, group.owner, group.chat, flow)  # the summary's buttons act on the command it shows: short
    assert flow["text"].endswith(f"/schedule weekly {every_day} 22:00 from 2026-12-08 campaign 1.5x 12h YOUR TEXT")


async def test_the_flow_in_chinese(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/lang zh", group.chat)
    flow = await start(pg, group.owner, group.chat)
    assert flow["text"] == "新建定时任务。要定时做什么？"
    assert labels(flow) == ["📝 发帖", "⏰ 签到提醒", "🏆 每周排行榜", "🎉 会员日（积分加倍）", "❓ 测验", "📊 投票",
                            "💬 每周话题", "📈 周报", "⭐ NPS 调查（推荐度）", "取消"]
    flow = await press(pg, group.owner, group.chat, flow, "sch:post")
    assert labels(flow) == ["每天", "每周某几天", "一次", "每月某日", "每月第几个星期几", "每隔几分钟、几小时或几天",
                            "cron 表达式", "取消"]
    flow = await press(pg, group.owner, group.chat, flow, "sch:post daily")
    assert flow["text"] == ("新建定时任务。几点？（群组时间，UTC）\n或回复这条消息，输入其他时间，例如 21:30。\n"
                            "目前：/schedule daily TIME post")
    again = await answer(pg, group.owner, group.chat, flow, "晚上九点")
    assert again["text"].startswith("这不是时间：请用 24 小时制，例如 21:30 或 08:05。\n新建定时任务。几点？")
    flow = await ok(pg, group.owner, group.chat, await answer(pg, group.owner, group.chat, again, "21:00"))
    assert flow["text"] == ("最后一步：回复这条消息，写下要发的内容（保留你的格式），或回复一张带说明的图片。\n"
                            "下次一行就够了：/schedule daily 21:00 post 你的内容")
    pg.sim.send(group.owner, "晚安！", group.chat, reply_to=flow)
    await pg.settle()
    assert last(pg, group.chat)["text"] == "定时任务 #1 已保存：daily 21:00 · 帖子。下次运行：2026-12-01 21:00（UTC）。"


async def test_a_weekly_report_an_nps_survey_and_a_topic_of_the_week_step_by_step(pg, group):
    """The other actions of the one-line syntax: the weekly report asks where it goes (admins or the group), the
    NPS survey needs nothing more, and the topic of the week takes a reply with the topic or, by its button, the
    next one from the group's list — refused with one line while the list is empty."""
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:report", "sch:report weekly", "sch:report weekly @mon", "sch:report weekly mon"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    flow = await press(pg, group.owner, group.chat, flow, "sch:report weekly mon 09:00")
    assert flow["text"] == "New schedule. Where should the weekly report go?"
    assert labels(flow) == ["To the admins, in private", "In the group", "Cancel"]
    flow = await ok(pg, group.owner, group.chat, await press(pg, group.owner, group.chat, flow, "sch:report weekly mon 09:00 group"))
    assert flow["text"] == ("Schedule #1 saved: weekly mon 09:00 · weekly report. Next run: 2026-12-07 09:00"
                            " (UTC).\nIn one line: /schedule weekly mon 09:00 report group")
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:nps", "sch:nps monthly", "sch:nps monthly 1"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    flow = await ok(pg, group.owner, group.chat, await press(pg, group.owner, group.chat, flow, "sch:nps monthly 1 10:00"))
    assert flow["text"].startswith("Schedule #2 saved: monthly 1 10:00 · ") and flow["text"].endswith(
        "In one line: /schedule monthly 1 10:00 nps")
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:topic", "sch:topic weekly", "sch:topic weekly @fri", "sch:topic weekly fri"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    flow = await ok(pg, group.owner, group.chat, await press(pg, group.owner, group.chat, flow, "sch:topic weekly fri 18:00"))
    assert flow["text"] == ("Last step: reply to this message with the topic (your formatting is kept), or press the"
                            " button to take the next one from the group's list (/topics).\nNext time it fits in one line:"
                            " /schedule weekly fri 18:00 topic YOUR TEXT")
    assert labels(flow) == ["📋 Next topic from the list", "Cancel"]
    again = await press(pg, group.owner, group.chat, flow, "sch:=list")  # the list is empty
    assert again["text"].startswith("The topic list is empty") or "/topics add" in again["text"]
    assert "Try again:\nLast step: reply to this message with the topic" in again["text"]
    assert len(await pg.services.schedules.list(group.chat.id)) == 2
    await say(pg, group.owner, "/topics add Your favourite oolong", group.chat)
    done = await press(pg, group.owner, group.chat, again, "sch:=list")
    assert done["text"].startswith("Schedule #3 saved: weekly fri 18:00 · topic of the week")
    assert done["text"].endswith("In one line: /schedule weekly fri 18:00 topic")
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:topic", "sch:topic daily"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    flow = await ok(pg, group.owner, group.chat, await press(pg, group.owner, group.chat, flow, "sch:topic daily 20:00"))
    done = await answer(pg, group.owner, group.chat, flow, "Green or black?")
    assert done["text"].startswith("Schedule #4 saved: daily 20:00 · topic of the week")
    assert (await pg.services.schedules.list(group.chat.id))[-1].content["texts"] == ["Green or black?"]


async def test_a_cron_expression_typed_and_expressions_that_are_refused(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))  # a Tuesday
    flow = await start(pg, group.owner, group.chat)
    flow = await press(pg, group.owner, group.chat, flow, "sch:campaign")
    flow = await press(pg, group.owner, group.chat, flow, "sch:campaign cron")
    assert flow["text"] == ("New schedule. Which cron expression? Five fields: minute hour day-of-month month"
                            " day-of-week (0 or 7 is Sunday), in group time, UTC.\nReply to this message with it, such as"
                            " 0 9 * * 1-5 (09:00, Monday to Friday).\nSo far: /schedule cron CRON campaign")
    assert labels(flow) == ["Cancel"]
    for bad, line in (("every morning", "That is not a cron expression: five fields, minute hour day-of-month month"
                                        " day-of-week, such as 0 9 * * 1-5."),
                      ("0 9 * *", "That is not a cron expression"),
                      ("* * * * *", "That is more often than every 5 minutes; schedules may not run that often.")):
        again = await answer(pg, group.owner, group.chat, flow, bad)
        assert again["text"].startswith(line), bad
        assert "So far: /schedule cron CRON campaign" in again["text"], bad
    long_cron = "0,5,10,15,20,25,30,35,40,45,50,55 9,10,11,12 * * 1,2,3,4,5"  # leaves no room in a button
    again = await answer(pg, group.owner, group.chat, flow, long_cron)
    assert again["text"].startswith("That cron expression is too long for the buttons; use the one-line command instead:")
    flow = await answer(pg, group.owner, group.chat, flow, "0 10 * * 6")
    assert flow["text"] == "New schedule. How many times the points during the window?"
    flow = await press(pg, group.owner, group.chat, flow, "sch:campaign cron 0_10_*_*_6 2x")
    flow = await ok(pg, group.owner, group.chat, await press(pg, group.owner, group.chat, flow, "sch:campaign cron 0_10_*_*_6 2x 24h"))
    assert flow["text"].endswith('Next time it fits in one line: /schedule cron "0 10 * * 6" campaign 2x 24h YOUR TEXT')
    done = await answer(pg, group.owner, group.chat, flow, "Saturday: double points!")
    assert done["text"] == 'Schedule #1 saved: cron 0 10 * * 6 · campaign. Next run: 2026-12-05 10:00 (UTC).'
    [s] = await pg.services.schedules.list(group.chat.id)
    assert (s.kind, s.spec, s.options["multiplier"]) == ("cron", "0 10 * * 6", "2")


async def test_the_new_steps_in_chinese(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/lang zh", group.chat)
    flow = await start(pg, group.owner, group.chat)
    flow = await press(pg, group.owner, group.chat, flow, "sch:report")
    flow = await press(pg, group.owner, group.chat, flow, "sch:report cron")
    assert flow["text"] == ("新建定时任务。用哪个 cron 表达式？五个字段：分 时 日 月 星期（0 或 7 是星期日），按群组时间 UTC。\n"
                            "请回复这条消息写下表达式，例如 0 9 * * 1-5（周一到周五 09:00）。\n目前：/schedule cron CRON report")
    again = await answer(pg, group.owner, group.chat, flow, "每天早上")
    assert again["text"].startswith("这不是 cron 表达式：需要五个字段，分 时 日 月 星期，例如 0 9 * * 1-5。\n新建定时任务。")
    flow = await answer(pg, group.owner, group.chat, again, "0 9 * * 1")
    assert flow["text"] == "新建定时任务。周报发到哪里？"
    assert labels(flow) == ["私聊发给管理员", "发在群里", "取消"]
    done = await ok(pg, group.owner, group.chat, await press(pg, group.owner, group.chat, flow, "sch:report cron 0_9_*_*_1 admins"))
    assert done["text"].startswith("定时任务 #1 已保存：cron 0 9 * * 1 · 周报。")
    assert done["text"].endswith('\n一行写法：/schedule cron "0 9 * * 1" report admins')


async def test_the_summary_pins_replaces_and_chooses_the_first_run_before_saving(pg, group):
    """Before saving, the flow shows the command and its first run, with toggles for what applies (pin, replace)
    and the first run (`from`): by a date button or typed as a reply; a bad or past first run, and replace on a
    schedule too rare for it, get one line and the same screen again. Nothing is saved before the last press."""
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))  # a Tuesday
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:post", "sch:post daily"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    flow = await press(pg, group.owner, group.chat, flow, "sch:post daily 21:00")
    assert flow["text"] == ("New schedule: check it before saving.\n/schedule daily 21:00 post\nFirst run: 2026-12-01 21:00"
                            " (UTC).\nNothing is saved before you press the last button.")
    assert labels(flow) == ["☐ 📌 Pin each post (silently)", "☐ ♻️ Delete the previous copy", "📅 Choose the first run",
                            "Next: the content ▶", "Cancel"]
    flow = await press(pg, group.owner, group.chat, flow, "sch:=pin")
    flow = await press(pg, group.owner, group.chat, flow, "sch:=replace")
    assert labels(flow)[:2] == ["✅ 📌 Pin each post (silently)", "✅ ♻️ Delete the previous copy"]
    assert "/schedule daily 21:00 post pin replace\n" in flow["text"]
    flow = await press(pg, group.owner, group.chat, flow, "sch:=from")
    assert flow["text"] == ("New schedule. From which day should it run? (its first run is its first time on or after"
                            " it)\nOr reply to this message with a date, or a date and a time, such as 2026-12-24 or"
                            " 2026-12-24 18:00.\nSo far: /schedule daily 21:00 from FIRST post pin replace")
    assert labels(flow)[:3] == ["As soon as it is due", "Tomorrow", "Thu 12-03"]
    for bad, line in (("soon", "That is not a date, or a date and a time: type it as 2026-12-24 or 2026-12-24 18:00."),
                      ("2026-12-24 25:00", "That is not a date, or a date and a time"),
                      ("2026-11-30", "That time is already past in the group's timezone.")):
        again = await answer(pg, group.owner, group.chat, flow, bad)
        assert again["text"].startswith(line) and "So far: /schedule daily 21:00 from FIRST post pin replace" in again["text"], bad
    summary = await answer(pg, group.owner, group.chat, flow, "2026-12-10 22:00")
    assert "/schedule daily 21:00 from 2026-12-10 22:00 post pin replace\nFirst run: 2026-12-11 21:00 (UTC)." in summary["text"]
    summary = await press(pg, group.owner, group.chat, summary, "sch:=from")
    summary = await press(pg, group.owner, group.chat, summary, "sch:=from=2026-12-03")  # a button: that day, 00:00
    assert "/schedule daily 21:00 from 2026-12-03 post pin replace\nFirst run: 2026-12-03 21:00" in summary["text"]
    assert await pg.services.schedules.list(group.chat.id) == []
    prompt = await ok(pg, group.owner, group.chat, summary)
    assert prompt["text"].endswith("/schedule daily 21:00 from 2026-12-03 post pin replace YOUR TEXT")
    done = await answer(pg, group.owner, group.chat, prompt, "Good night, tea people")
    assert done["text"] == "Schedule #1 saved: daily 21:00 · post · pin, replace · from 2026-12-03. Next run: 2026-12-03 21:00 (UTC)."
    [s] = await pg.services.schedules.list(group.chat.id)
    assert s.options.get("pin") and s.options.get("replace")
    # replace on a weekly post: Telegram deletes only within 48 h, so the toggle is refused with its line.
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:leaderboard", "sch:leaderboard weekly", "sch:leaderboard weekly @mon", "sch:leaderboard weekly mon"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    flow = await press(pg, group.owner, group.chat, flow, "sch:leaderboard weekly mon 09:00")
    assert labels(flow)[0] == "☐ ♻️ Delete the previous copy"  # a leaderboard is replaced, not pinned
    flow = await press(pg, group.owner, group.chat, flow, "sch:=replace")
    assert flow["text"].startswith("replace deletes the previous copy, and Telegram lets a bot delete a message only within")
    assert labels(flow)[0] == "☐ ♻️ Delete the previous copy"
    done = await ok(pg, group.owner, group.chat, flow)
    assert done["text"].startswith("Schedule #2 saved: weekly mon 09:00 · weekly leaderboard.")


async def test_the_summary_in_chinese(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/lang zh", group.chat)
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:post", "sch:post daily"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    flow = await press(pg, group.owner, group.chat, flow, "sch:post daily 21:00")
    assert flow["text"] == ("新建定时任务：保存前请核对。\n/schedule daily 21:00 post\n首次运行：2026-12-01 21:00（UTC）。\n"
                            "按下最后一个按钮之前不会保存。")
    assert labels(flow) == ["☐ 📌 置顶每条帖子（静默）", "☐ ♻️ 删除上一条", "📅 选择首次运行", "下一步：内容 ▶", "取消"]
    flow = await press(pg, group.owner, group.chat, flow, "sch:=from")
    assert flow["text"].startswith("新建定时任务。从哪一天开始运行？（首次运行是那天或之后的第一个时间）\n"
                                   "或回复这条消息，输入日期，或日期和时间，例如 2026-12-24 或 2026-12-24 18:00。")
    assert labels(flow)[0] == "一到时间就运行"
    again = await answer(pg, group.owner, group.chat, flow, "明天")
    assert again["text"].startswith("这不是日期，也不是日期加时间：请写成 2026-12-24 或 2026-12-24 18:00。")


async def test_a_reply_to_the_summary_is_not_taken_as_the_content(pg, group):
    """The summary and the content prompt show the same command; a reply to the summary was saved as the post before
    its buttons (pin, first run) were seen. It saves nothing and says which button comes first, in the group's
    language; the content prompt still takes the content."""
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:post", "sch:post daily"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    summary = await press(pg, group.owner, group.chat, flow, "sch:post daily 21:00")
    pointer = await answer(pg, group.owner, group.chat, summary, "Good night, tea people")
    assert pointer["text"] == ("Nothing was saved: the summary does not take the content. Press “Next: the content ▶”"
                               " on it, then reply to the prompt that follows.")
    assert await pg.services.schedules.list(group.chat.id) == []
    assert labels(pg.sim.message(group.chat, summary["message_id"]))[-2:] == ["Next: the content ▶", "Cancel"]
    prompt = await ok(pg, group.owner, group.chat, summary)
    done = await answer(pg, group.owner, group.chat, prompt, "Good night, tea people")
    assert done["text"].startswith("Schedule #1 saved: daily 21:00 · post.")
    # Without content the summary's last button saves; in Chinese.
    await say(pg, group.owner, "/lang zh", group.chat)
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:reminder", "sch:reminder daily"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    summary = await press(pg, group.owner, group.chat, flow, "sch:reminder daily 20:00")
    pointer = await answer(pg, group.owner, group.chat, summary, "好")
    assert pointer["text"] == "什么都没有保存：回复摘要不起作用。请按摘要上的“✅ 保存”来保存这个定时任务。"
    assert len(await pg.services.schedules.list(group.chat.id)) == 1


async def test_a_quiz_window_is_chosen_on_the_summary_with_its_defaults_shown(pg, group):
    """A quiz's window (how long it is open, what a right answer pays, how many right answers pay) was one-line only:
    the summary shows each with its default (activities.quiz_minutes, quiz_points), kept by Save in one tap, or
    changed on its own screen — a button, the default again, or a value typed as a reply (a bad one: its line and
    the screen again)."""
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:quiz", "sch:quiz daily"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    summary = await press(pg, group.owner, group.chat, flow, "sch:quiz daily 20:00")
    assert labels(summary) == ["☐ 📌 Pin each post (silently)", "⏱ Open for 1 hour (default)",
                               "🎁 Each right answer: +10 points (default)", "🥇 Every right answer (default)",
                               "📅 Choose the first run", "Next: the content ▶", "Cancel"]
    screen = await press(pg, group.owner, group.chat, summary, "sch:=for")
    assert screen["text"] == ("New schedule. How long does it stay open?\nOr reply to this message with another length,"
                              " such as 45m, 4h or 2d (at most 7 days).\nSo far: /schedule daily 20:00 quiz DURATION")
    assert labels(screen) == ["1 hour (default)", "15 minutes", "30 minutes", "3 hours", "12 hours", "1 day", "2 days",
                              "7 days", "Cancel"]
    summary = await press(pg, group.owner, group.chat, screen, "sch:=for=30m")
    assert "\n/schedule daily 20:00 quiz 30m\n" in summary["text"] and labels(summary)[1] == "⏱ Open for 30 minutes"
    screen = await press(pg, group.owner, group.chat, summary, "sch:=pts")
    assert labels(screen)[:3] == ["+10 points (default)", "+5 points", "+20 points"]
    for bad in ("lots", "-5", "+12345"):
        again = await answer(pg, group.owner, group.chat, screen, bad)
        assert again["text"].startswith("That is not a number of points: type a whole number, such as 15.\n"
                                        "New schedule. How many points does each right answer earn?"), bad
    summary = await answer(pg, group.owner, group.chat, again, "15")
    assert "\n/schedule daily 20:00 quiz 30m +15\n" in summary["text"]
    summary = await press(pg, group.owner, group.chat, await press(pg, group.owner, group.chat, summary, "sch:=first"),
                          "sch:=first=3")
    assert labels(summary)[1:4] == ["⏱ Open for 30 minutes", "🎁 Each right answer: +15 points",
                                    "🥇 Only the first 3 right answers"]
    back = await press(pg, group.owner, group.chat, await press(pg, group.owner, group.chat, summary, "sch:=for"), "sch:=for=-")
    assert "\n/schedule daily 20:00 quiz +15 first 3\n" in back["text"]  # the default again
    assert await pg.services.schedules.list(group.chat.id) == []
    prompt = await ok(pg, group.owner, group.chat, back)
    assert prompt["text"].endswith("Next time it fits in one line: /schedule daily 20:00 quiz +15 first 3 YOUR TEXT")
    await answer(pg, group.owner, group.chat, prompt, "Which tea is green?\n*Longjing\nAssam")
    [quiz] = await pg.services.schedules.list(group.chat.id)
    assert (quiz.options["minutes"], quiz.options["points"], quiz.options["first"]) == (None, 15, 3)  # None: the default
    # Keeping every default is the one tap the summary always had.
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:quiz", "sch:quiz daily"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    prompt = await ok(pg, group.owner, group.chat, await press(pg, group.owner, group.chat, flow, "sch:quiz daily 21:00"))
    await answer(pg, group.owner, group.chat, prompt, "Which tea is black?\n*Assam\nLongjing")
    quiz = (await pg.services.schedules.list(group.chat.id))[-1]
    assert (quiz.options["minutes"], quiz.options["points"], quiz.options["first"]) == (None, None, None)


async def test_a_polls_several_answers_and_a_topics_window_step_by_step(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:poll", "sch:poll every"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    summary = await press(pg, group.owner, group.chat, flow, "sch:poll every 12h")
    assert labels(summary) == ["☐ 📌 Pin each post (silently)", "☐ 🔢 Several answers allowed", "⏱ Open for 1 day (default)",
                               "🎁 Each voter: +5 points (default)", "📅 Choose the first run", "Next: the content ▶", "Cancel"]
    summary = await press(pg, group.owner, group.chat, summary, "sch:=multi")
    screen = await press(pg, group.owner, group.chat, summary, "sch:=for")
    again = await answer(pg, group.owner, group.chat, screen, "8d")  # longer than 7 days
    assert again["text"].startswith("That is not a length: type a number and m (minutes), h (hours) or d (days), such"
                                    " as 45m, 4h or 2d, at most 7 days.\nNew schedule. How long does it stay open?")
    summary = await answer(pg, group.owner, group.chat, again, "6h")
    assert "\n/schedule every 12h poll 6h multi\n" in summary["text"]
    prompt = await ok(pg, group.owner, group.chat, summary)
    done = await answer(pg, group.owner, group.chat, prompt, "Tea or coffee?\nTea\nCoffee")
    assert done["text"] == "Schedule #1 saved: every 12h · poll · multi. Next run: 2026-12-01 20:00 (UTC)."
    [poll] = await pg.services.schedules.list(group.chat.id)
    assert poll.options["multi"] and poll.options["minutes"] == 360
    # The topic of the week: replies count for a while and pay XP (activities.topic_minutes, topic_xp).
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:topic", "sch:topic weekly", "sch:topic weekly @fri", "sch:topic weekly fri"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    summary = await press(pg, group.owner, group.chat, flow, "sch:topic weekly fri 18:00")
    assert labels(summary)[1:3] == ["⏱ Open for 7 days (default)", "🎁 A member's first reply: +5 XP (default)"]
    screen = await press(pg, group.owner, group.chat, summary, "sch:=pts")
    assert screen["text"].startswith("New schedule. How much XP does a member's first reply earn?")
    summary = await press(pg, group.owner, group.chat, screen, "sch:=pts=20")
    summary = await press(pg, group.owner, group.chat, await press(pg, group.owner, group.chat, summary, "sch:=for"), "sch:=for=2d")
    prompt = await ok(pg, group.owner, group.chat, summary)
    assert prompt["text"].endswith("/schedule weekly fri 18:00 topic 2d +20 YOUR TEXT")
    await answer(pg, group.owner, group.chat, prompt, "Your favourite oolong?")
    topic = (await pg.services.schedules.list(group.chat.id))[-1]
    assert (topic.options["minutes"], topic.options["points"]) == (2 * 24 * 60, 20)


async def test_in_a_forum_the_summary_chooses_the_topic_to_post_in(pg):
    """topic:N was one-line only. In a forum supergroup the summary offers the topic: the one the flow runs in
    (default), the General topic, or another by its number or link typed as a reply; the post goes there."""
    from tests.handlers.test_schedule_topics import forum

    chat, owner, _alice, news, chat_topic = await forum(pg)
    pg.sim.send(owner, "/schedule", chat, topic=news)
    await pg.settle()
    flow = last(pg, chat)
    for data in ("sch:post", "sch:post daily"):
        flow = await press(pg, owner, chat, flow, data)
    summary = await press(pg, owner, chat, flow, "sch:post daily 09:00")
    assert "🧵 Posts in this topic (default)" in labels(summary)
    screen = await press(pg, owner, chat, summary, "sch:=where")
    assert screen["text"] == ("New schedule. In which forum topic should it post?\nOr reply to this message with the"
                              " topic's number or link (t.me/c/…/12: the number at the end).\nSo far: /schedule daily"
                              " 09:00 post topic:N")
    assert labels(screen) == ["This topic (default)", "The General topic", "Chat", "Cancel"]  # the other topic seen
    assert (await answer(pg, owner, chat, screen, "news"))["text"].startswith(
        "That is not a forum topic: type its number (the number at the end of its link, t.me/c/…/12).")
    summary = await answer(pg, owner, chat, screen, f"https://t.me/c/{str(chat.id)[4:]}/{chat_topic}")
    assert f"\n/schedule daily 09:00 post topic:{chat_topic}\n" in summary["text"]
    assert "🧵 Posts in the topic “Chat”" in labels(summary)  # by its name: Sticky saw it made
    prompt = await ok(pg, owner, chat, summary)
    await answer(pg, owner, chat, prompt, "Say hi!")
    pg.sim.send(owner, "/schedule", chat, topic=news)  # the General topic, by its button
    await pg.settle()
    flow = last(pg, chat)
    for data in ("sch:reminder", "sch:reminder daily"):
        flow = await press(pg, owner, chat, flow, data)
    summary = await press(pg, owner, chat, flow, "sch:reminder daily 10:00")
    summary = await press(pg, owner, chat, await press(pg, owner, chat, summary, "sch:=where"), "sch:=where=general")
    assert labels(summary)[0] == "🧵 Posts in the General topic"
    await ok(pg, owner, chat, summary)
    first, second = await pg.services.schedules.list(chat.id)
    assert first.options["topic"] == chat_topic and "topic" not in second.options
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 2, tzinfo=UTC))
    await tick(pg)
    [post] = [m for m in pg.sim.replies(chat) if m.get("text") == "Say hi!"]
    assert post["message_thread_id"] == chat_topic


async def test_from_private_chat_a_connected_forum_offers_its_topics_by_name(pg):
    """From private chat on a connected forum the summary offered no topic: the post went to General. Telegram's Bot
    API has no way to list a forum's topics, so Sticky offers the ones it has seen — by name, from their creation or
    from a message in one made before Sticky came — and General (the default there: no topic to be in); another is
    typed as a reply. The post goes to the topic chosen. A group that is not a forum offers none."""
    sim = pg.sim
    owner, alice = sim.user("owner"), sim.user("alice")
    chat = sim.create_group("Tea Forum", owner=owner, forum=True)
    older = sim.create_topic(chat, owner, "Old Topic")  # before Sticky came: its creation is never seen
    sim.add_bot(chat, by=owner)
    sim.join(chat, alice)
    news, chat_topic = sim.create_topic(chat, owner, "News"), sim.create_topic(chat, owner, "Chat")
    await pg.settle()
    sim.send(alice, "Anyone here?", chat, topic=older)  # a message in it replies to its creation: the name
    await pg.settle()
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, owner, "/start")
    await say(pg, owner, "/connect Tea Forum")
    await say(pg, owner, "/schedule")
    flow = last(pg, owner)
    for data in ("sch:post", "sch:post daily"):
        flow = await press(pg, owner, owner, flow, data)
    summary = await press(pg, owner, owner, flow, "sch:post daily 09:00")
    assert summary["text"].startswith("[Tea Forum]\nNew schedule: check it before saving.")
    assert "🧵 Posts in the General topic (default)" in labels(summary)
    screen = await press(pg, owner, owner, summary, "sch:=where")
    assert screen["text"].startswith("[Tea Forum]\nNew schedule. In which forum topic should it post?")
    assert labels(screen) == ["The General topic (default)", "Old Topic", "News", "Chat", "Cancel"]
    summary = await press(pg, owner, owner, screen, f"sch:=where={chat_topic}")
    assert f"\n/schedule daily 09:00 post topic:{chat_topic}\n" in summary["text"]
    assert "🧵 Posts in the topic “Chat”" in labels(summary)
    prompt = await ok(pg, owner, owner, summary)
    done = await answer_dm(pg, owner, prompt, "Tea time in Chat")
    assert done["text"].startswith(f"[Tea Forum]\nSchedule #1 saved: daily 09:00 · post · topic {chat_topic}.")
    # Typed as a reply in private: a topic's link; a word that is not one gets the line and the screen again.
    await say(pg, owner, "/schedule")
    flow = last(pg, owner)
    for data in ("sch:reminder", "sch:reminder daily", "sch:reminder daily 10:00", "sch:=where"):
        flow = await press(pg, owner, owner, flow, data)
    again = await answer_dm(pg, owner, flow, "the news one")
    assert again["text"].startswith("[Tea Forum]\nThat is not a forum topic: type its number")
    summary = await answer_dm(pg, owner, again, f"https://t.me/c/{str(chat.id)[4:]}/{news}")
    assert f"\n/schedule daily 10:00 reminder topic:{news}\n" in summary["text"]
    assert "🧵 Posts in the topic “News”" in labels(summary)
    await ok(pg, owner, owner, summary)
    first, second = await pg.services.schedules.list(chat.id)
    assert (first.options["topic"], second.options["topic"]) == (chat_topic, news)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 2, tzinfo=UTC))
    await tick(pg)
    [post] = [m for m in pg.sim.replies(chat) if m.get("text") == "Tea time in Chat"]
    assert post["message_thread_id"] == chat_topic
    await say(pg, owner, "/lang zh", chat)  # in the group's language
    await say(pg, owner, "/schedule")
    flow = last(pg, owner)
    for data in ("sch:reminder", "sch:reminder daily", "sch:reminder daily 12:00"):
        flow = await press(pg, owner, owner, flow, data)
    assert "🧵 发在 General 话题（默认）" in labels(flow)
    flow = await press(pg, owner, owner, await press(pg, owner, owner, flow, "sch:=where"), f"sch:=where={news}")
    assert "🧵 发在话题“News”" in labels(flow)


async def where_buttons(pg, owner) -> list[str]:
    """The topic picker of a new daily post, from the owner's private chat on the connected forum."""
    await say(pg, owner, "/schedule")
    flow = last(pg, owner)
    for data in ("sch:post", "sch:post daily", "sch:post daily 09:00", "sch:=where"):
        flow = await press(pg, owner, owner, flow, data)
    return labels(flow)


async def test_a_renamed_topic_keeps_its_new_name_after_messages_in_it_and_a_restart(pg):
    """Every message in a topic replies to its creation message, which keeps the name at creation: it overwrote the
    new name after a rename (again after each restart), and the picker offered the old one. A rename is the topic's
    own message and wins; the creation message's name is taken only when none is known."""
    sim = pg.sim
    owner, alice = sim.user("owner"), sim.user("alice")
    chat = sim.create_group("Tea Forum", owner=owner, forum=True)
    sim.add_bot(chat, by=owner)
    sim.join(chat, alice)
    news, chat_topic = sim.create_topic(chat, owner, "News"), sim.create_topic(chat, owner, "Chat")
    await pg.settle()
    sim.rename_topic(chat, news, owner, "Updates")
    await pg.settle()
    sim.send(alice, "Hello in updates", chat, topic=news)
    await pg.settle()
    await pg.restart()
    sim.send(alice, "Still here", chat, topic=news)
    await pg.settle()
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, owner, "/start")
    await say(pg, owner, "/connect Tea Forum")
    assert await where_buttons(pg, owner) == ["The General topic (default)", "Updates", "Chat", "Cancel"]


async def test_the_topic_picker_offers_the_20_topics_with_the_latest_messages(pg):
    """The picker offers 20 topics as buttons (others are typed): those written in most recently, not the 20 oldest."""
    sim = pg.sim
    owner = sim.user("owner")
    chat = sim.create_group("Tea Forum", owner=owner, forum=True)
    sim.add_bot(chat, by=owner)
    topics = []
    for i in range(1, 23):
        pg.clock.set(datetime(2026, 12, 1, 7, i, tzinfo=UTC))
        topics.append(sim.create_topic(chat, owner, f"Topic {i}"))
        await pg.settle()
    pg.clock.set(datetime(2026, 12, 1, 7, 40, tzinfo=UTC))
    sim.send(owner, "Back to the first one", chat, topic=topics[0])
    await pg.settle()
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, owner, "/start")
    await say(pg, owner, "/connect Tea Forum")
    assert await where_buttons(pg, owner) == (
        ["The General topic (default)", "Topic 1"] + [f"Topic {i}" for i in range(22, 3, -1)] + ["Cancel"])


async def test_the_window_and_topic_choices_in_chinese(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/lang zh", group.chat)
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:quiz", "sch:quiz daily"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    summary = await press(pg, group.owner, group.chat, flow, "sch:quiz daily 20:00")
    assert labels(summary)[1:4] == ["⏱ 开放 1 小时（默认）", "🎁 每个正确答案：+10 积分（默认）", "🥇 每个答对的人（默认）"]
    screen = await press(pg, group.owner, group.chat, summary, "sch:=first")
    assert screen["text"].startswith("新建定时任务。奖励哪些答对的人？\n或回复这条消息，输入其他数字，例如 20。")
    again = await answer(pg, group.owner, group.chat, screen, "很多")
    assert again["text"].startswith("这不是答对人数：请输入 1 到 1000 之间的整数，例如 20。")
    summary = await answer(pg, group.owner, group.chat, again, "5")
    assert labels(summary)[3] == "🥇 只奖励前 5 个答对的人"


async def answer_dm(pg, user, prompt: dict, text: str) -> dict:
    """`user` replies in their private chat with Sticky to a prompt there; the bot's answer."""
    pg.sim.send(user, text, reply_to=prompt)
    await pg.settle()
    return last(pg, user)


async def test_the_flow_from_private_chat_acts_on_the_connected_group(pg, group):
    """/schedule typed in private on a connected group (/connect) showed its first question without buttons: a dead
    end. The buttons work there, each press and reply acting on the connected group (the admin's rights asked of
    Telegram each time), every message headed with the group; the post goes out in the group. After /connect to
    another group the old buttons are out of date, and a member who lost admin is told so."""
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    admin = group.admin
    await say(pg, admin, "/start")
    await say(pg, admin, "/connect Tea Lovers")
    await say(pg, admin, "/schedule")
    flow = last(pg, admin)
    assert flow["text"] == "[Tea Lovers]\nNew schedule. What should I schedule?"
    assert labels(flow)[0] == "📝 A post"
    for data in ("sch:post", "sch:post daily", "sch:post daily 21:00", "sch:=pin"):
        flow = await press(pg, admin, admin, flow, data)
    assert flow["text"].startswith("[Tea Lovers]\nNew schedule: check it before saving.\n/schedule daily 21:00 post pin\n")
    assert not [label for label in labels(flow) if label.startswith("🧵")]  # not a forum: no topic to choose
    prompt = await press(pg, admin, admin, flow, "sch:=ok")
    assert prompt["text"].startswith("[Tea Lovers]\nLast step: reply to this message with the text to post")
    in_group = len(pg.sim.replies(group.chat))
    done = await answer_dm(pg, admin, prompt, "Good night, tea people")
    assert done["text"] == "[Tea Lovers]\nSchedule #1 saved: daily 21:00 · post · pin. Next run: 2026-12-01 21:00 (UTC)."
    assert not [m for m in pg.sim.replies(admin)[-3:] if "/help" in m.get("text", "")]  # no pointer to /help as well
    assert len(pg.sim.replies(group.chat)) == in_group  # nothing said in the group
    [made] = await pg.services.schedules.list(group.chat.id)
    assert made.created_by == admin.id and made.options.get("pin")
    pg.clock.set(datetime(2026, 12, 1, 21, 0, 2, tzinfo=UTC))
    await tick(pg)
    assert [p["text"] for p in bot_posts(pg, group.chat)][-1:] == ["Good night, tea people"]
    # A typed answer in private: the time, then the summary, headed.
    await say(pg, admin, "/schedule")
    flow = last(pg, admin)
    for data in ("sch:reminder", "sch:reminder daily"):
        flow = await press(pg, admin, admin, flow, data)
    summary = await answer_dm(pg, admin, flow, "20:30")
    assert summary["text"].startswith("[Tea Lovers]\nNew schedule: check it before saving.\n/schedule daily 20:30 reminder\n")
    # Connected to another group meanwhile: these buttons are not for it.
    other = pg.sim.create_group("Coffee Club", owner=admin)
    pg.sim.add_bot(other, by=admin)
    await pg.settle()
    await say(pg, admin, "/connect Coffee Club")
    stale = await press(pg, admin, admin, summary, "sch:=ok")
    assert stale["text"] == "These buttons are out of date; start again with /schedule."
    assert [s.id for s in await pg.services.schedules.list(group.chat.id)] == [1]
    assert await pg.services.schedules.list(other.id) == []
    # No longer an admin of the connected group (Telegram says so at the press): refused, nothing is made.
    await say(pg, admin, "/connect Tea Lovers")
    await say(pg, admin, "/schedule")
    flow = last(pg, admin)
    pg.sim.demote(group.chat, admin, by=group.owner)
    await pg.settle()
    pg.sim.press(admin, flow, "sch:post")
    await pg.settle()
    assert pg.sim.calls("answerCallbackQuery")[-1].params["text"] == (
        "You are no longer an admin of Tea Lovers, so this private chat no longer manages it (disconnected).")
    assert pg.sim.message(admin, flow["message_id"])["text"] == "[Tea Lovers]\nNew schedule. What should I schedule?"
    assert [s.id for s in await pg.services.schedules.list(group.chat.id)] == [1]


async def test_a_cron_expression_that_matches_no_date_is_refused_as_one_typed_or_in_one_line(pg, group):
    """31 February is a cron expression that never fires: typed at the step it got "Something went wrong" (the
    summary found no first run), and the one-line command said the time was already past. Both say what it is,
    in English and Chinese, and the step is asked again; 29 February (leap years) is a schedule."""
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    never = "That cron expression matches no date (such as 31 February), so it would never run."
    assert await say(pg, group.owner, '/schedule cron "0 9 31 2 *" reminder', group.chat) == never
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:reminder", "sch:reminder cron"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    again = await answer(pg, group.owner, group.chat, flow, "0 9 31 4 *")
    assert again["text"].startswith(never + "\nNew schedule. Which cron expression?")
    summary = await answer(pg, group.owner, group.chat, again, "0 9 29 2 *")
    assert "First run: 2028-02-29 09:00 (UTC)." in summary["text"]
    assert await pg.services.schedules.list(group.chat.id) == []
    await say(pg, group.owner, "/lang zh", group.chat)
    assert await say(pg, group.owner, '/schedule cron "0 9 30 2 *" reminder', group.chat) == (
        "这个 cron 表达式不匹配任何日期（例如 2 月 31 日），所以永远不会运行。")
