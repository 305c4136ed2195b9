"""/schedule step by step, through the real Application: buttons for what, how often, which day and what time,
then (for a post) a reply with its text or photo — the same schedule the one-line command makes, and the prompt
teaches that line; the flow survives a restart in the middle; only admins drive it; a past time gets one line;
Cancel cancels; English and Chinese."""
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


async def test_a_weekly_post_made_with_buttons_and_a_reply(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))  # a Tuesday
    flow = await start(pg, group.admin, group.chat)
    assert flow["text"] == "New schedule. What should I schedule?"
    assert labels(flow) == ["📝 A post", "⏰ Check-in reminder", "🏆 Weekly leaderboard", "Cancel"]
    flow = await press(pg, group.admin, group.chat, flow, "sch:a:post")
    assert labels(flow) == ["Every day", "Once a week", "Once", "Cancel"]
    flow = await press(pg, group.admin, group.chat, flow, "sch:k:post:weekly")
    assert labels(flow)[:7] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    await pg.restart()  # the flow is in the buttons: a restart in the middle loses nothing
    flow = await press(pg, group.admin, group.chat, flow, "sch:d:post:weekly:mon")
    assert flow["text"] == "New schedule. At what time? (group time, UTC)"
    flow = await press(pg, group.owner, group.chat, flow, "sch:t:post:weekly:mon:09:00")  # any admin may go on
    assert flow["text"] == ("Last step: reply to this message with the text to post (your formatting is kept), or with a"
                            " photo and its caption.\nNext time it fits in one line: /schedule weekly mon 09:00 post YOUR TEXT")
    assert "reply_markup" not in flow
    pg.sim.send(group.alice, "I want to post too", group.chat, reply_to=flow)  # a member's reply is not a schedule
    await pg.settle()
    assert await pg.services.schedules.list(group.chat.id) == []
    text = "Weekly topic: oolong"
    pg.sim.send(group.admin, text, group.chat, reply_to=flow, entities=[{"type": "bold", "offset": 0, "length": 12}])
    await pg.settle()
    assert pg.sim.replies(group.chat)[-1]["text"] == (
        "Schedule #1 saved: weekly mon 09:00 · post. Next run: 2026-12-07 09:00 (UTC).")
    assert pg.sim.message(group.chat, flow["message_id"])["text"] == "Done: this became schedule #1."
    pg.sim.send(group.admin, "again?", group.chat, reply_to=flow)  # the prompt is used up
    await pg.settle()
    assert len(await pg.services.schedules.list(group.chat.id)) == 1
    pg.clock.set(datetime(2026, 12, 7, 9, 0, 2, tzinfo=UTC))
    await tick(pg)
    [post] = bot_posts(pg, group.chat)[-1:]
    assert post["text"] == text and post["entities"] == [{"type": "bold", "offset": 0, "length": 12}]


async def test_a_reminder_needs_no_content_and_a_photo_post_takes_the_photo(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:a:reminder", "sch:k:reminder:daily"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    flow = await press(pg, group.owner, group.chat, flow, "sch:t:reminder:daily:-:20:00")
    assert flow["text"] == ("Schedule #1 saved: daily 20:00 · check-in reminder. Next run: 2026-12-01 20:00 (UTC).\n"
                            "In one line: /schedule daily 20:00 reminder")
    flow = await start(pg, group.owner, group.chat)
    for data in ("sch:a:post", "sch:k:post:once"):
        flow = await press(pg, group.owner, group.chat, flow, data)
    assert labels(flow)[:2] == ["Today", "Tomorrow"] and labels(flow)[2] == "Thu 12-03"
    flow = await press(pg, group.owner, group.chat, flow, "sch:d:post:once:2026-12-02")
    flow = await press(pg, group.owner, group.chat, flow, "sch:t:post:once:2026-12-02:18:00")
    photo = pg.sim.send_media(group.owner, "photo", group.chat, "Tea tasting tonight", reply_to=flow)
    await pg.settle()
    assert pg.sim.replies(group.chat)[-1]["text"].startswith("Schedule #2 saved: once 2026-12-02 18:00 · post.")
    pg.clock.set(datetime(2026, 12, 2, 18, 0, 2, tzinfo=UTC))
    await tick(pg)
    [post] = bot_posts(pg, group.chat)[-1:]
    assert post["photo"] == photo["photo"] and post["caption"] == "Tea tasting tonight"


async def test_only_admins_press_a_past_time_gets_one_line_and_cancel_cancels(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    flow = await start(pg, group.admin, group.chat)
    pg.sim.press(group.alice, flow, "sch:a:post")
    await pg.settle()
    assert pg.sim.calls("answerCallbackQuery")[-1].params == {
        "callback_query_id": pg.sim.calls("answerCallbackQuery")[-1].params["callback_query_id"],
        "text": "Only admins can make schedules.", "show_alert": True}
    assert pg.sim.message(group.chat, flow["message_id"])["text"] == "New schedule. What should I schedule?"
    for data in ("sch:a:leaderboard", "sch:k:leaderboard:once", "sch:d:leaderboard:once:2026-12-01"):
        flow = await press(pg, group.admin, group.chat, flow, data)
    flow = await press(pg, group.admin, group.chat, flow, "sch:t:leaderboard:once:2026-12-01:07:00")
    assert flow["text"] == "That time is already past in the group's timezone."
    flow = await start(pg, group.admin, group.chat)
    flow = await press(pg, group.admin, group.chat, flow, "sch:x")
    assert flow["text"] == "Cancelled: nothing was scheduled."
    assert await pg.services.schedules.list(group.chat.id) == []


async def test_the_flow_in_chinese(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/lang zh", group.chat)
    flow = await start(pg, group.owner, group.chat)
    assert flow["text"] == "新建定时任务。要定时做什么？"
    assert labels(flow) == ["📝 发帖", "⏰ 签到提醒", "🏆 每周排行榜", "取消"]
    flow = await press(pg, group.owner, group.chat, flow, "sch:a:post")
    assert labels(flow) == ["每天", "每周一次", "一次", "取消"]
    flow = await press(pg, group.owner, group.chat, flow, "sch:k:post:daily")
    flow = await press(pg, group.owner, group.chat, flow, "sch:t:post:daily:-:21:00")
    assert flow["text"] == ("最后一步：回复这条消息，写下要发的内容（保留你的格式），或回复一张带说明的图片。\n"
                            "下次一行就够了：/schedule daily 21:00 post 你的内容")
    pg.sim.send(group.owner, "晚安！", group.chat, reply_to=flow)
    await pg.settle()
    assert pg.sim.replies(group.chat)[-1]["text"] == "定时任务 #1 已保存：daily 21:00 · 帖子。下次运行：2026-12-01 21:00（UTC）。"
