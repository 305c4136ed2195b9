"""The topic of the week through the real Application on the simulated Telegram: the admin's list (/topics,
add, del), a weekly schedule posting the next topic, XP for a member's first reply within the window
(judged by the reply's own time; once, across a restart and a redelivery), and the closing — from the durable
deferred store — naming and paying the replies that drew the most replies from others, once."""
from datetime import datetime, timedelta, timezone

from bot.app import ALLOWED_UPDATES
from tests.helpers import assert_one_line_refusals, say, tick

UTC = timezone.utc


def topic_posts(pg, chat):
    return [m for m in pg.sim.replies(chat) if m.get("text", "").startswith("💬")]


async def ledger(pg, chat, reason):
    rows = await pg.services.db.fetchall(
        "SELECT user_id, amount, currency FROM ledger WHERE chat_id = ? AND reason = ? ORDER BY id", (chat.id, reason))
    return [tuple(r) for r in rows]


async def test_the_admins_topic_list_and_one_clear_line_for_each_bad_input(pg, group):
    assert await say(pg, group.owner, "/topics", group.chat) == (
        "No topics on the list yet. /topics add TEXT adds one; /schedule weekly mon 09:00 topic posts the next each week.")
    assert await say(pg, group.owner, "/topics add Green or black?", group.chat) == "Topic #1 added; 1 topic on the list."
    assert await say(pg, group.admin, "/topics add Your best teapot", group.chat) == "Topic #2 added; 2 topics on the list."
    assert await say(pg, group.admin, "/topics", group.chat) == (
        "Topics (the least used goes next)\n#1 Green or black? — not used yet\n#2 Your best teapot — not used yet")

    async def unchanged():
        return [(t.id, t.text) for t in await pg.services.topics.list(group.chat.id)]

    await assert_one_line_refusals(pg, group.owner, group.chat, [
        ("/topics add", "Write the topic after add, such as /topics add Your favourite tea, and why?"),
        ("/topics add " + "x" * 1001, "A topic is at most 1000 characters."),
        ("/topics del 9", "No topic #9 on this group's list; /topics shows it."),
        ("/topics del x", "A topic is named by its number, such as /topics del 2."),
        ("/topics del", "Usage: /topics [add TEXT | del N]"),
        ("/topics all", "Usage: /topics [add TEXT | del N]"),
        ("/schedule weekly mon 09:00 topic 8d", "Word 5 (8d): expected how long it lasts, such as 24h, 90m or 2d (at most 7 days)."),
    ], unchanged)
    assert await say(pg, group.alice, "/topics add mine", group.chat) == "Only Admin and above can use this command."
    assert await say(pg, group.owner, "/topics del 1", group.chat) == "Topic #1 removed from the list."
    assert [t.text for t in await pg.services.topics.list(group.chat.id)] == ["Your best teapot"]


async def test_a_weekly_topic_pays_first_replies_and_its_closing_names_and_pays_the_best_replies_once(pg, group):
    pg.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # a Monday
    await say(pg, group.owner, "/topics add Green or black?", group.chat)
    await say(pg, group.owner, "/topics add Your best teapot", group.chat)
    assert await say(pg, group.owner, "/schedule weekly mon 09:00 topic 2d +7", group.chat) == (
        "Schedule #1 saved: weekly mon 09:00 · topic of the week. Next run: 2026-11-30 09:00 (UTC).")
    pg.clock.set(datetime(2026, 11, 30, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    [topic] = topic_posts(pg, group.chat)
    assert topic["text"] == ("💬 Topic of the week\nGreen or black?\n\nReply to this message until 2026-12-02 09:00: "
                             "your first reply earns +7 XP, and the best replies are highlighted.")

    def send(user, text, to):
        pg.clock.advance(seconds=20)  # a conversation, not a flood
        return pg.sim.send(user, text, group.chat, reply_to=to)

    a1 = send(group.alice, "Green, always", topic)
    send(group.alice, "and oolong too", topic)  # her second reply: no more XP
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    await pg.deliver(updates)
    b1 = send(group.bob, "Black with milk", topic)
    send(group.carol, "Agreed, green!", a1)
    await pg.settle()
    await pg.restart()  # what is open is read back from the database
    await pg.deliver(updates)  # delivered again after the restart: nothing counted twice
    send(group.admin, "Sencha is the best green", a1)
    send(group.alice, "(I mean Longjing)", a1)  # her own follow-up does not count
    send(group.carol, "Milk? Never.", b1)
    await pg.settle()
    assert await ledger(pg, group.chat, "topic") == [(group.alice.id, 7, "xp"), (group.bob.id, 7, "xp")]
    pg.clock.set(datetime(2026, 12, 2, 9, 0, 30, tzinfo=UTC))
    send(group.owner, "Late, but: both", topic)  # after the window, by its own date: no XP
    await pg.settle()
    await tick(pg)
    await tick(pg)
    [_, closing] = topic_posts(pg, group.chat)
    assert closing["text"] == ("💬 The topic is closed: Green or black?\n2 members replied.\n"
                               "Best replies (most replies from others):\n1. Alice — 2 replies\n2. Bob — 1 reply\n+20 points each.")
    links = [e["url"] for e in closing["entities"] if e["type"] == "text_link"]
    assert links == [f"https://t.me/c/{str(group.chat.id)[4:]}/{a1['message_id']}",
                     f"https://t.me/c/{str(group.chat.id)[4:]}/{b1['message_id']}"]
    assert await ledger(pg, group.chat, "topic_best") == [(group.alice.id, 20, "points"), (group.bob.id, 20, "points")]
    assert len(await ledger(pg, group.chat, "topic")) == 2
    pg.clock.set(datetime(2026, 12, 7, 9, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert topic_posts(pg, group.chat)[-1]["text"].startswith("💬 Topic of the week\nYour best teapot\n")  # the list goes round


async def test_a_topic_schedule_with_no_text_and_an_empty_list_is_refused_at_creation(pg, group):
    # It was saved, and every run then posted nothing, seen only in /pushlog.
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))

    async def unchanged():
        return [s.id for s in await pg.services.schedules.list(group.chat.id)]

    refusal = ("The topic list is empty: add topics first (/topics add Your favourite tea, and why?), "
               "or write the topic after topic.")
    await assert_one_line_refusals(pg, group.owner, group.chat, [
        ("/schedule weekly mon 09:00 topic", refusal),
        ("/schedule weekly mon 09:00 topic 2d +10", refusal),
    ], unchanged)
    await say(pg, group.owner, "/lang zh", group.chat)
    assert await say(pg, group.owner, "/schedule weekly mon 09:00 topic", group.chat) == (
        "话题列表是空的：请先添加话题（/topics add 你最爱哪种茶？为什么？），或在 topic 后直接写上话题。")
    await say(pg, group.owner, "/topics add Green or black?", group.chat)
    assert (await say(pg, group.owner, "/schedule weekly mon 09:00 topic", group.chat)).startswith("定时任务 #1 已保存")


async def test_a_topic_given_inline_and_a_list_emptied_since_logged(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/schedule daily 10:00 topic 1h Tea or coffee?", group.chat)
    await say(pg, group.owner, "/topics add Green or black?", group.chat)
    await say(pg, group.owner, "/schedule daily 11:00 topic", group.chat)
    await say(pg, group.owner, "/topics del 1", group.chat)  # the list is empty by the time it runs
    await say(pg, group.owner, "/schedule daily 12:00 topic +250 Your best teapot", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 10, 0, 1, tzinfo=UTC))
    await tick(pg)
    [topic] = topic_posts(pg, group.chat)
    assert topic["text"].startswith("💬 Topic of the week\nTea or coffee?\n\nReply to this message until 2026-12-01 11:00: ")
    pg.clock.set(datetime(2026, 12, 1, 11, 0, 1, tzinfo=UTC))
    await tick(pg)
    assert topic_posts(pg, group.chat)[-1]["text"] == "💬 The topic is closed: Tea or coffee?\nNobody replied this time."
    assert "topic of the week: not sent — the topic list is empty" in await say(pg, group.admin, "/pushlog", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 12, 0, 1, tzinfo=UTC))
    await tick(pg)
    pg.sim.send(group.bob, "My grandmother's Yixing pot", group.chat, reply_to=topic_posts(pg, group.chat)[-1])
    await pg.settle()
    assert pg.sim.replies(group.chat)[-1]["text"] == "🎉 Bob reached Silver!"  # 250 XP from the reply: a tier up
