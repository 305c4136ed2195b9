"""Scheduled posts in forum topics, through the real Application on a forum supergroup: a schedule made inside
a topic posts there, `topic:N` names another, `topic:general` the General topic; the command's answer stays in the
topic it was asked in; a topic deleted since is a failed post in /pushlog, not a post elsewhere; bad topic words
get one line; English and Chinese."""
from datetime import datetime, timezone

from tests.handlers.test_schedule_commands import tick
from tests.helpers import say

UTC = timezone.utc


async def forum(pg):
    sim = pg.sim
    owner, alice = sim.user("owner"), sim.user("alice")
    chat = sim.create_group("Tea Forum", owner=owner, forum=True)
    sim.add_bot(chat, by=owner)
    sim.join(chat, alice)
    await pg.settle()
    news = sim.create_topic(chat, owner, "News")
    chat_topic = sim.create_topic(chat, owner, "Chat")
    await pg.settle()
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    return chat, owner, alice, news, chat_topic


async def ask(pg, user, text, chat, topic=None) -> dict:
    before = len(pg.sim.replies(chat))
    pg.sim.send(user, text, chat, topic=topic)
    await pg.settle()
    [answer] = pg.sim.replies(chat)[before:]
    return answer


def posts(pg, chat) -> list[dict]:
    return [m for m in pg.sim.replies(chat) if "reply_to_message" not in m or "forum_topic_created" in m["reply_to_message"]
            if not m.get("text", "").startswith(("Hello", "Schedule #", "Welcome to"))]  # not the greeting, answers or welcomes


async def test_a_schedule_made_in_a_topic_posts_there_and_others_where_they_say(pg):
    chat, owner, _alice, news, chat_topic = await forum(pg)
    answer = await ask(pg, owner, "/schedule daily 09:00 post Weekly news", chat, topic=news)
    assert answer["text"] == f"Schedule #1 saved: daily 09:00 · post · topic {news}. Next run: 2026-12-01 09:00 (UTC)."
    assert answer["message_thread_id"] == news  # the answer stays in the topic it was asked in
    await ask(pg, owner, f"/schedule daily 09:00 post topic:{chat_topic} Say hi!", chat)
    await ask(pg, owner, "/schedule daily 09:00 post topic:general Good morning", chat, topic=news)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 2, tzinfo=UTC))
    await tick(pg)
    where = {m["text"]: m.get("message_thread_id") for m in posts(pg, chat)}
    assert where == {"Weekly news": news, "Say hi!": chat_topic, "Good morning": None}
    assert "topic" in (await ask(pg, owner, "/schedule show 2", chat))["text"]


async def test_a_deleted_topic_makes_a_failed_post_not_a_post_elsewhere(pg):
    chat, owner, _alice, news, _ = await forum(pg)
    await ask(pg, owner, "/schedule daily 09:00 post Weekly news", chat, topic=news)
    pg.sim.delete_topic(chat, news, by=owner)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 2, tzinfo=UTC))
    await tick(pg)
    assert [m for m in posts(pg, chat) if m.get("text") == "Weekly news"] == []
    assert (await ask(pg, owner, "/pushlog", chat))["text"] == (
        "Push log (latest first, group time)\n2026-12-01 09:00 schedule: failed — Message thread not found")


async def test_bad_topic_words_get_one_line_and_a_post_may_say_topic(pg):
    chat, owner, _alice, _, _ = await forum(pg)
    for text, expected in [
        ("/schedule daily 09:00 post topic:news Hi", "Word 4 (topic:news): expected topic: and a forum topic's number"
                                                     " (from its link, t.me/c/…/N), or topic:general."),
        ("/schedule daily 09:00 post topic:1 Hi", "Word 4 (topic:1): expected topic: and a forum topic's number"
                                                  " (from its link, t.me/c/…/N), or topic:general."),
    ]:
        assert (await ask(pg, owner, text, chat))["text"] == expected
    assert await pg.services.schedules.list(chat.id) == []
    await ask(pg, owner, "/schedule daily 09:00 post Topic of the week: oolong", chat)  # the word alone is text
    [made] = await pg.services.schedules.list(chat.id)
    assert made.content["texts"] == ["Topic of the week: oolong"] and "topic" not in made.options


async def test_topics_in_chinese(pg):
    chat, owner, _alice, news, _ = await forum(pg)
    await say(pg, owner, "/lang zh", chat)
    answer = await ask(pg, owner, "/schedule daily 09:00 post 每周新闻", chat, topic=news)
    assert answer["text"] == f"定时任务 #1 已保存：daily 09:00 · 帖子 · 话题 {news}。下次运行：2026-12-01 09:00（UTC）。"
    assert (await ask(pg, owner, "/schedule daily 09:00 post topic:新闻 你好", chat))["text"] == (
        "第 4 个词（topic:新闻）：应为形如 topic:12 的论坛话题编号（见话题链接 t.me/c/…/12），或 topic:general。")


async def test_topic_n_where_there_are_no_topics_is_refused_in_the_group_and_from_private(pg, group):
    """`topic:N` in a group without topics was saved, and every run then failed ("Message thread not found"). It is
    refused in one line (en, zh), whether typed in the group or in private chat on a connected group (Telegram asked
    whether it is a forum); topic:general still means the chat itself; a connected forum takes topic:N."""
    from tests.helpers import say

    g = group
    refused = "This group has no topics (a forum supergroup has them), so there is no topic to post in. Leave out topic:N."
    assert await say(pg, g.owner, "/schedule daily 09:00 post topic:5 Hello", g.chat) == refused
    await say(pg, g.owner, "/start")
    await say(pg, g.owner, "/connect Tea Lovers")
    assert await say(pg, g.owner, "/schedule daily 09:00 post topic:5 Hello") == "[Tea Lovers]\n" + refused
    assert await pg.services.schedules.list(g.chat.id) == []
    assert (await say(pg, g.owner, "/schedule daily 09:00 post topic:general Hello", g.chat)).startswith("Schedule #1 saved")
    await say(pg, g.owner, "/lang zh", g.chat)
    assert await say(pg, g.owner, "/schedule daily 09:00 post topic:5 你好", g.chat) == (
        "本群没有话题（论坛超级群才有），所以没有可发的话题。请去掉 topic:N。")
    chat, owner, _alice, news, _ = await forum(pg)
    await say(pg, owner, "/start")
    await say(pg, owner, "/connect Tea Forum")
    assert (await say(pg, owner, f"/schedule daily 09:00 post topic:{news} Hello")).startswith(
        f"[Tea Forum]\nSchedule #2 saved: daily 09:00 · post · topic {news}.")
