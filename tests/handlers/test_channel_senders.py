"""Members who write on behalf of a channel (sender_chat the channel, `from` the placeholder Channel_Bot): each channel
is moderated as itself — its own warns, flood window and cooldowns — banned with banChatSenderChat, and never muted
(Telegram can't); an anonymous admin (sender_chat the group itself) stays an admin, not a channel."""
from __future__ import annotations

import pytest

from bot.sim import SimError
from tests.helpers import make_group, say

CHANNEL_BOT = 136817688


async def as_channel(pg, user, text, chat, channel):
    """`user` writes `text` on behalf of `channel`; the bot's new reply in the chat ('' if none) and the message."""
    before = len(pg.sim.replies(chat))
    sent = pg.sim.send(user, text, chat, as_channel=channel)
    await pg.settle()
    replies = pg.sim.replies(chat)
    return (replies[-1].get("text", "") if len(replies) > before else ""), sent


def deleted(pg, chat, message) -> bool:
    return not any(m["message_id"] == message["message_id"] for m in pg.sim.messages(chat))


@pytest.fixture
async def g(pg):
    group = await make_group(pg)
    group.deals = pg.sim.create_channel("Deals A", owner=group.bob)
    group.news = pg.sim.create_channel("News B", owner=group.carol)
    return group


async def test_two_channels_do_not_share_warns_nor_a_flood_window(pg, g):
    await say(pg, g.admin, "/addblocklist casino", g.chat)
    said, first = await as_channel(pg, g.bob, "casino tonight", g.chat, g.deals)
    assert said.startswith("Deals A has been warned (1/5).") and deleted(pg, g.chat, first)
    said, _ = await as_channel(pg, g.carol, "casino tomorrow", g.chat, g.news)
    assert said.startswith("News B has been warned (1/5).")            # not 2/5: a warn of its own
    assert len(await pg.services.moderation.warns(g.chat.id, g.deals.id)) == 1
    assert len(await pg.services.moderation.warns(g.chat.id, g.news.id)) == 1
    assert await pg.services.moderation.warns(g.chat.id, CHANNEL_BOT) == []
    # /warn by reply to a channel's message warns that channel.
    _, post = await as_channel(pg, g.bob, "a fair offer", g.chat, g.deals)
    assert (await say(pg, g.admin, "/warn pushy", g.chat, reply_to=post)).startswith("Deals A has been warned (2/5).")
    assert await say(pg, g.admin, "/warns", g.chat, reply_to=post) == "Deals A has 2/5 warns:\n1. blocklist\n2. pushy"
    assert await say(pg, g.admin, f"/warns {g.deals.id}", g.chat) == "Deals A has 2/5 warns:\n1. blocklist\n2. pushy"
    assert await say(pg, g.alice, "/warns", g.chat, reply_to=post) == "Only admins can look up others; /warns alone shows yours."
    # The antiflood (6 in 10 s) counts each channel alone: 4 posts of each within seconds is no flood.
    pg.clock.advance(seconds=11)
    for i in range(4):
        for user, channel in ((g.bob, g.deals), (g.carol, g.news)):
            pg.sim.send(user, f"post {i}", g.chat, as_channel=channel)
    await pg.settle()
    assert [e.action for e in await pg.services.moderation.modlog(g.chat.id)].count("delete") == 2  # the two casinos
    assert pg.sim.calls("restrictChatMember") == []
    assert all(not m.get("text", "").startswith("post") or not deleted(pg, g.chat, m) for m in pg.sim.messages(g.chat))


async def test_ban_of_a_channel_stops_its_posts_until_unbanned(pg, g):
    _, post = await as_channel(pg, g.bob, "buy followers", g.chat, g.deals)
    assert await say(pg, g.admin, "/ban spam", g.chat, reply_to=post) == "Deals A is banned forever.\nReason: spam"
    [call] = pg.sim.calls("banChatSenderChat")
    assert call.params == {"chat_id": g.chat.id, "sender_chat_id": g.deals.id}
    assert pg.sim.calls("banChatMember") == []
    with pytest.raises(SimError, match="banned in Tea Lovers"):
        pg.sim.send(g.bob, "buy more", g.chat, as_channel=g.deals)
    assert await say(pg, g.bob, "/warns", g.chat) == "Bob has no warns."   # bob himself is untouched
    assert (await say(pg, g.admin, "/ban 2d", g.chat, reply_to=post)).startswith("Telegram bans a channel until it is unbanned")
    assert await say(pg, g.admin, "/unban", g.chat, reply_to=post) == "Deals A is unbanned: members may post on behalf of it here again."
    assert [c.params["sender_chat_id"] for c in pg.sim.calls("unbanChatSenderChat")] == [g.deals.id]
    assert pg.sim.send(g.bob, "back", g.chat, as_channel=g.deals)["sender_chat"]["id"] == g.deals.id
    assert [e.action for e in await pg.services.moderation.modlog(g.chat.id)][:2] == ["unban", "ban"]
    # By its id too (its messages may be gone), named by the title Sticky remembered.
    assert await say(pg, g.admin, f"/ban {g.deals.id}", g.chat) == "Deals A is banned forever."
    await say(pg, g.owner, "/lang zh", g.chat)
    assert await say(pg, g.admin, f"/unban {g.deals.id}", g.chat) == "Deals A 已解除封禁，成员可以再次以该频道身份在本群发言。"
    assert len(pg.sim.calls("unbanChatSenderChat")) == 2


async def test_the_warn_ladder_on_a_channel_deletes_instead_of_muting_and_bans_at_the_limit(pg, g):
    posts = []
    for n in range(1, 6):
        _, post = await as_channel(pg, g.bob, f"offer {n}", g.chat, g.deals)
        posts.append(post)
        said = await say(pg, g.admin, "/warn", g.chat, reply_to=post)
        assert said.startswith(f"Deals A has been warned ({n}/5).")
        pg.clock.advance(seconds=20)
    assert deleted(pg, g.chat, posts[2])                                 # 3 warns: a mute for a person
    assert pg.sim.calls("restrictChatMember") == []
    assert "Deals A is banned" in said                                    # 5 warns: the limit
    assert [c.params["sender_chat_id"] for c in pg.sim.calls("banChatSenderChat")] == [g.deals.id]
    reasons = [e.reason for e in await pg.services.moderation.modlog(g.chat.id) if e.action == "delete"]
    assert reasons == ["3/5 warns: a channel can't be muted"]


async def test_a_rules_ban_bans_the_channel(pg, g):
    await say(pg, g.admin, '/rule add when message and from channel and words "crypto" then ban', g.chat)
    await as_channel(pg, g.carol, "crypto pump", g.chat, g.news)
    assert [c.params["sender_chat_id"] for c in pg.sim.calls("banChatSenderChat")] == [g.news.id]
    with pytest.raises(SimError, match="banned in Tea Lovers"):
        pg.sim.send(g.carol, "again", g.chat, as_channel=g.news)
    pg.sim.send(g.bob, "crypto is fine here", g.chat, as_channel=g.deals)  # another channel: not banned
    await pg.settle()
    assert len(pg.sim.calls("banChatSenderChat")) == 2 and pg.sim.calls("banChatMember") == []


async def test_mute_of_a_channel_says_telegram_cant_and_suggests_ban(pg, g):
    _, post = await as_channel(pg, g.bob, "hello", g.chat, g.deals)
    assert await say(pg, g.admin, "/mute 1h", g.chat, reply_to=post) == (
        "Telegram can't mute a channel: it is not a member of the group. Use /ban to stop anyone posting on behalf of "
        "it here (/unban lets it back).")
    assert (await say(pg, g.admin, "/kick", g.chat, reply_to=post)).startswith("Telegram can't kick a channel")
    await say(pg, g.owner, "/lang zh", g.chat)
    assert await say(pg, g.admin, "/mute", g.chat, reply_to=post) == (
        "Telegram 无法禁言频道：频道不是群成员。请用 /ban 禁止任何人以该频道身份在本群发言（/unban 可解除）。")
    assert pg.sim.calls("restrictChatMember") == [] and pg.sim.calls("banChatSenderChat") == []
    assert await pg.services.moderation.modlog(g.chat.id) == []


async def test_a_rules_mute_of_a_channel_deletes_its_message_and_logs_why(pg, g):
    await say(pg, g.admin, '/rule add when message and words "spam" then mute 1h', g.chat)
    _, post = await as_channel(pg, g.bob, "spam spam", g.chat, g.deals)
    assert deleted(pg, g.chat, post)
    assert pg.sim.calls("restrictChatMember") == []
    [entry] = await pg.services.moderation.modlog(g.chat.id)
    assert (entry.action, entry.target_id, entry.reason) == ("delete", g.deals.id, "rule rule6: a channel can't be muted")
    assert "Deals A" in await say(pg, g.admin, "/modlog", g.chat)
    pg.sim.send(g.alice, "spam", g.chat)                                 # a person is still muted by it
    await pg.settle()
    assert pg.sim.member(g.chat, g.alice)["status"] == "restricted"


async def test_a_channel_earns_nothing_and_the_placeholder_user_neither(pg, g):
    """Neither chat XP nor a rule's reward goes to the channel or to Channel_Bot (a person still gets the reward)."""
    await say(pg, g.admin, "/rule add when message and words \"tea\" then xp +2, points +1", g.chat)
    for i in range(5):
        pg.clock.advance(seconds=30)
        pg.sim.send(g.bob, f"a long and thoughtful post number {i} about tea", g.chat, as_channel=g.deals)
    await pg.settle()
    await pg.services.activity.flush()
    await pg.services.points.flush_chat_xp()
    for who in (g.deals.id, CHANNEL_BOT):
        assert await pg.services.db.fetchval("SELECT COUNT(*) FROM ledger WHERE user_id = ?", (who,)) == 0
        assert await pg.services.db.fetchval("SELECT COUNT(*) FROM wallets WHERE user_id = ? AND xp > 0", (who,)) == 0
    pg.sim.send(g.alice, "tea time", g.chat)
    await pg.settle()
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM ledger WHERE user_id = ? AND reason = 'rule_award'", (g.alice.id,)) == 2


async def test_an_anonymous_admin_is_an_admin_not_a_channel(pg, g):
    pg.sim.promote(g.chat, g.admin, by=g.owner, is_anonymous=True, can_restrict_members=True, can_delete_messages=True)
    await say(pg, g.admin, "/addblocklist casino", g.chat)
    sent = [pg.sim.send(g.admin, f"casino rules {i}: https://tea.example/{i}", g.chat, as_chat=True) for i in range(8)]
    await pg.settle()
    assert not any(deleted(pg, g.chat, m) for m in sent)             # exempt: no blocklist, no link rule, no flood
    assert await pg.services.moderation.warns(g.chat.id, g.chat.id) == []
    assert [e.action for e in await pg.services.moderation.modlog(g.chat.id)] == []
    assert await say(pg, g.owner, "/ban", g.chat, reply_to=sent[0]) == (
        "That message was sent by an anonymous admin, as the group; admins don't act on admins.")
    assert pg.sim.calls("banChatSenderChat") == [] and pg.sim.calls("banChatMember") == []


async def test_a_deleted_channel_post_or_anonymous_admins_message_is_logged_as_theirs_not_stickys(pg, g):
    from tests.handlers.test_logchat import log_group, posts

    log = await log_group(pg, g)
    await say(pg, g.admin, f"/setlog {log.id}", g.chat)
    _, post = await as_channel(pg, g.bob, "a fair offer", g.chat, g.deals)
    await say(pg, g.admin, "/del", g.chat, reply_to=post)
    assert deleted(pg, g.chat, post)
    assert (await say(pg, g.admin, "/modlog", g.chat)).splitlines()[1].endswith(
        f"Deals A: message deleted — {g.admin.first_name}")
    deleted_post = posts(pg, log)[-1].splitlines()
    assert deleted_post[:4] == ["#DELETE", "Tea Lovers", f"Member: Deals A ({g.deals.id})", f"By: {g.admin.first_name} ({g.admin.id})"]
    # An anonymous admin's message (sent as the group): the group is who wrote it.
    pg.sim.promote(g.chat, g.carol, by=g.owner, is_anonymous=True, can_delete_messages=True)
    anon = pg.sim.send(g.carol, "a note from the admins", g.chat, as_chat=True)
    await pg.settle()
    await say(pg, g.owner, "/purge", g.chat, reply_to=anon)
    assert deleted(pg, g.chat, anon)
    purged = posts(pg, log)[-1].splitlines()
    assert purged[:3] == ["#PURGE", "Tea Lovers", "Member: Tea Lovers"]
    await say(pg, g.owner, "/lang zh", g.chat)
    lines = (await say(pg, g.admin, "/modlog", g.chat)).splitlines()
    assert "Tea Lovers：" in lines[1] and "Deals A：" in lines[2] and "Sticky" not in "\n".join(lines[1:3])


async def test_rule_test_by_reply_to_a_channels_post_tests_as_that_channel(pg, g):
    await say(pg, g.admin, '/rule add when message and from channel and has link then delete', g.chat)
    pg.clock.advance(seconds=11)
    posts = [(await as_channel(pg, g.bob, f"deal {i}", g.chat, g.deals))[1] for i in range(4)]
    traced = (await say(pg, g.admin, "/rule test see https://deals.example", g.chat, reply_to=posts[-1])).splitlines()
    assert traced[0] == "Dry run for Deals A:"
    assert "✅ rule6 fires: delete" in traced                      # `from channel` holds for the channel
    assert "· flood 6 in 10s: 5 messages in the last 10s, counting this one" in traced  # its own window
    # Another member writing nothing: a typical member's dry run finds neither.
    typical = (await say(pg, g.admin, "/rule test see https://deals.example", g.chat)).splitlines()
    assert typical[0] == "Dry run for a typical member:"
    assert "· rule6: not fired, because this does not hold: from channel" in typical
    await say(pg, g.owner, "/lang zh", g.chat)
    assert (await say(pg, g.admin, "/rule test hello", g.chat, reply_to=posts[0])).splitlines()[0] == "以 Deals A 的身份演练："


async def test_a_channel_that_posted_is_named_by_id_and_by_username_before_it_was_ever_moderated(pg, g, monkeypatch):
    promo = pg.sim.create_channel("Promo C", owner=g.bob, username="promoc")
    remembered = []
    real = pg.services.members.members.remember

    async def remember(user, now):
        remembered.append(user.user_id)
        await real(user, now)

    monkeypatch.setattr(pg.services.members.members, "remember", remember)
    for i in range(3):
        await as_channel(pg, g.bob, f"fresh deals {i}", g.chat, promo)
    assert remembered == []  # written with the batch that brought the posts: no write of its own, none per post
    assert (await say(pg, g.admin, f"/warn {promo.id} spam", g.chat)).startswith("Promo C has been warned (1/5).")
    assert await say(pg, g.admin, "/warns @promoc", g.chat) == "Promo C has 1/5 warns:\n1. spam"  # as /warn names it
    assert await say(pg, g.alice, "/warns @promoc", g.chat) == "Only admins can look up others; /warns alone shows yours."
    assert await say(pg, g.admin, "/ban @promoc", g.chat) == "Promo C is banned forever."
    [call] = pg.sim.calls("banChatSenderChat")
    assert call.params == {"chat_id": g.chat.id, "sender_chat_id": promo.id}
    # An update handed to the Application itself (no received batch): one write for the channel, not one a post.
    from telegram import Update

    other = pg.sim.create_channel("Other D", owner=g.carol, username="otherd")
    for i in range(2):
        pg.sim.send(g.carol, f"other {i}", g.chat, as_channel=other)
        for data in pg.sim.take_updates():
            await pg.app.process_update(Update.de_json(data, pg.app.bot))
    await pg.settle()
    assert remembered == [other.id]
    assert (await say(pg, g.admin, f"/warns {other.id}", g.chat)) == "Other D has no warns."
    # A person's @username still goes to the person; one nobody has is still refused.
    assert (await say(pg, g.admin, "/warn @nosuchchannel", g.chat)).startswith("I haven't seen @nosuchchannel")
    await say(pg, g.owner, "/lang zh", g.chat)
    assert (await say(pg, g.admin, "/unban @promoc", g.chat)).startswith("Promo C 已解除封禁")
