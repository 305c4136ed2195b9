"""/setlog: every moderation action and rule firing is posted to the log chat with hashtags, through the outbox;
when the log chat refuses, the action still stands and the owner is told once; /unsetlog stops it."""
from __future__ import annotations

from tests.handlers.test_permissions import answer
from tests.helpers import say


async def log_group(pg, g):
    """The owner's log group, where the group's admin is an admin too (only an admin of the log may /setlog it)."""
    log = pg.sim.create_group("Tea Log", owner=g.owner)
    pg.sim.join(log, g.admin)
    pg.sim.promote(log, g.admin, by=g.owner)
    pg.sim.add_bot(log, by=g.owner)
    await pg.settle()
    return log


def posts(pg, log) -> list[str]:
    """What Sticky posted in the log chat after its greeting there."""
    return [m["text"] for m in pg.sim.replies(log)][1:]


async def test_actions_by_hand_and_by_rule_are_posted_with_hashtags(pg, group):
    g = group
    log = await log_group(pg, g)
    said = await say(pg, g.admin, f"/setlog {log.id}", g.chat)
    assert said == ("From now on every moderation action and rule firing here is posted to Tea Log "
                    f"({log.id}), with hashtags (#WARN #MUTE #BAN #RULE …).")
    assert posts(pg, log) == ["📋 This chat is now the moderation log of Tea Lovers."]
    spam = pg.sim.send(g.alice, "meh", g.chat)
    await say(pg, g.admin, "/warn too rude", g.chat, reply_to=spam)
    [warn] = posts(pg, log)[1:]
    assert warn.splitlines() == [
        "#WARN", "Tea Lovers", f"Member: Alice ({g.alice.id})", f"By: {g.admin.first_name} ({g.admin.id})",
        "Reason: too rude", f"Message: https://t.me/c/{str(g.chat.id)[4:]}/{spam['message_id']}"]
    pg.clock.advance(minutes=1)
    for i in range(6):                                              # the default antiflood rule fires
        pg.sim.send(g.bob, f"flood {i}", g.chat)
    await pg.settle()
    mute = posts(pg, log)[-1].splitlines()
    assert mute[:4] == ["#MUTE #RULE", "Tea Lovers", f"Member: Bob ({g.bob.id})", "By: Sticky's rules"]
    assert mute[4].startswith("Until: 20") and mute[5] == "Reason: rule antiflood"
    await say(pg, g.admin, "/unmute @bob", g.chat)
    assert posts(pg, log)[-1].startswith("#UNMUTE\nTea Lovers")
    assert [e.action for e in await pg.services.moderation.modlog(g.chat.id)][:2] == ["unmute", "mute"]  # the record


async def test_a_refusing_log_chat_leaves_the_action_and_tells_the_owner_once(pg, group):
    g = group
    log = await log_group(pg, g)
    await say(pg, g.admin, f"/setlog {log.id}", g.chat)
    pg.sim.remove_bot(log, by=g.owner)                              # the log chat no longer takes posts
    await pg.settle()
    await say(pg, g.admin, "/warn @alice first", g.chat)
    await say(pg, g.admin, "/warn @alice second", g.chat)
    assert len(await pg.services.moderation.warns(g.chat.id, g.alice.id)) == 2      # both stand
    notices = [t for t in (m.get("text", "") for m in pg.sim.replies(g.chat)) if t.startswith("⚠️ Owner")]
    assert notices == [f"⚠️ Owner: I could not post to the log chat {log.id}. The actions stand and /modlog has them all."
                       " Make me an admin there who may post messages, or /setlog again. (I say this once, until it works again.)"]
    pushed = await pg.services.outbox.recent(g.chat.id)
    assert [p.outcome for p in pushed if p.kind == "modlog"] == ["failed", "failed"]
    pg.sim.add_bot(log, by=g.owner)                                  # it works again…
    await pg.settle()
    await say(pg, g.admin, "/warn @alice third", g.chat)
    assert posts(pg, log)[-1].startswith("#WARN")
    pg.sim.remove_bot(log, by=g.owner)                               # …and a new refusal is said again, once
    await pg.settle()
    await say(pg, g.admin, "/unwarn @alice", g.chat)
    await say(pg, g.admin, "/unwarn @alice", g.chat)
    assert sum(1 for m in pg.sim.replies(g.chat) if m.get("text", "").startswith("⚠️ Owner")) == 2


async def test_unsetlog_and_bad_setlog_input(pg, group):
    g = group
    log = await log_group(pg, g)
    quiet = pg.sim.create_group("No Bot Here", owner=g.owner)
    await pg.settle()
    cases = [
        ("/setlog @nosuchchannel", "I can't find @nosuchchannel. Add me to that channel or group first, then give its @username or ID."),
        ("/setlog nosuchchannel", "I can't find @nosuchchannel. Add me to that channel or group first, then give its @username or ID."),
        (f"/setlog {quiet.id}", f"I can't find {quiet.id}. Add me to that channel or group first, then give its @username or ID."),
        (f"/setlog {g.chat.id}", "A group can't be its own log; give another channel or group."),
        (f"/setlog {log.id} extra", "Usage: /setlog (in the log channel or group) | /setlog @channel|ID (in your group)"),
    ]
    for text, said in cases:
        assert await say(pg, g.admin, text, g.chat) == said, text
    pg.sim.send(g.owner, "/start")
    await pg.settle()
    assert await say(pg, g.admin, f"/setlog {g.owner.id}", g.chat) == "@owner is a person, not a channel or group."
    helped = await say(pg, g.admin, "/setlog", g.chat)
    assert helped.splitlines()[1] == f"If this chat is meant to be the log of another group, send /setlog {g.chat.id} in that group."
    assert await say(pg, g.admin, "/unsetlog", g.chat) == "This group has no log chat."
    await say(pg, g.admin, f"/setlog {log.id}", g.chat)
    assert await say(pg, g.admin, "/unsetlog", g.chat) == "No more posts to the log chat; /modlog still has everything."
    before = len(posts(pg, log))
    await say(pg, g.admin, "/warn @alice", g.chat)
    assert len(posts(pg, log)) == before
    assert await say(pg, g.alice, f"/setlog {log.id}", g.chat) == "Only Admin and above can use this command."


async def test_the_log_speaks_the_groups_language(pg, group):
    from tests.test_zh_typography import faults

    g = group
    log = await log_group(pg, g)
    await say(pg, g.owner, "/lang zh", g.chat)
    said = await say(pg, g.admin, f"/setlog {log.id}", g.chat)
    await say(pg, g.admin, "/mute @alice 1h 刷屏", g.chat)
    post = posts(pg, log)[-1]
    assert post.startswith("#MUTE\nTea Lovers\n")
    for text in (said, post, posts(pg, log)[0], await say(pg, g.admin, "/setlog", g.chat)):
        assert faults(text) == [] and "Member" not in text and "From now on" not in text, text


async def test_a_channel_becomes_the_log_from_the_channel_itself(pg, group):
    """Rose's way: /setlog posted in the channel, that post forwarded to the group by an admin."""
    g = group
    channel = pg.sim.create_channel("Tea Log", owner=g.owner, username="tealog")
    pg.sim.add_bot_to_channel(channel, by=g.owner)
    post = pg.sim.post(g.owner, "/setlog", channel)
    await pg.settle()
    assert pg.sim.replies(channel)[-1]["text"] == (
        f"To make this channel a group's moderation log: forward this message to that group (as its admin), or send /setlog {channel.id} there.")
    pg.sim.forward(g.owner, post, g.chat)
    await pg.settle()
    assert pg.sim.replies(g.chat)[-1]["text"].startswith("From now on every moderation action and rule firing here is posted to @tealog")
    await say(pg, g.admin, "/ban @carol 2d spam", g.chat)
    assert pg.sim.replies(channel)[-1]["text"].startswith("#BAN\nTea Lovers\nMember: Carol")
    assert await say(pg, g.admin, "/unsetlog", g.chat) == "No more posts to the log chat; /modlog still has everything."
    assert (await say(pg, g.owner, "/setlog @tealog", g.chat)).startswith("From now on")  # or by its @username


async def test_a_channel_sticky_may_not_post_in_is_refused(pg, group):
    g = group
    channel = pg.sim.create_channel("Read Only", owner=g.owner, username="readonly")
    pg.sim.add_bot_to_channel(channel, by=g.owner, can_post_messages=False)
    await pg.settle()
    assert await say(pg, g.owner, "/setlog @readonly", g.chat) == (
        "I can't post in @readonly. Make me an admin there who may post messages, then /setlog again.")
    assert await pg.services.logchat.get(g.chat.id) is None


async def test_only_a_chat_the_admin_administers_becomes_the_log(pg, group):
    """The log gets every action and its reason: an admin can't send them to a chat they don't control, be it by
    its ID (a group Sticky is in, where they are a member or nobody), by @username (a channel) or by forwarding a
    channel's post; an anonymous admin can't show it is theirs."""
    g = group
    carols = pg.sim.create_group("Carol's group", owner=g.carol)
    pg.sim.add_bot(carols, by=g.carol)
    pg.sim.join(carols, g.admin)                                              # a plain member there
    channel = pg.sim.create_channel("Tea Log", owner=g.owner, username="tealog")
    pg.sim.add_bot_to_channel(channel, by=g.owner)
    pg.sim.subscribe(g.admin, channel)                                        # reads it, does not run it
    await pg.settle()
    greeted = len(pg.sim.replies(carols))
    refused = ("You are not an admin of {where}: only a channel or group you administer can be this group's log.")
    assert await say(pg, g.admin, f"/setlog {carols.id}", g.chat) == refused.format(where=f"Carol's group ({carols.id})")
    daves = pg.sim.create_group("Dave's group", owner=g.carol)                   # where the admin is nobody
    pg.sim.add_bot(daves, by=g.carol)
    await pg.settle()
    assert await say(pg, g.admin, f"/setlog {daves.id}", g.chat) == refused.format(where=f"Dave's group ({daves.id})")
    assert await say(pg, g.admin, "/setlog @tealog", g.chat) == refused.format(where="@tealog")
    post = pg.sim.post(g.owner, "/setlog", channel)
    await pg.settle()
    pg.sim.forward(g.admin, post, g.chat)
    await pg.settle()
    assert pg.sim.replies(g.chat)[-1]["text"] == refused.format(where="@tealog")
    pg.sim.promote(g.chat, g.bob, by=g.owner, is_anonymous=True)
    await pg.settle()
    assert await answer(pg, g.bob, "/setlog @tealog", g.chat, as_chat=True) == [
        "As an anonymous admin I can't tell whether @tealog is yours: send /setlog as yourself (not anonymously)."]
    assert await pg.services.logchat.get(g.chat.id) is None
    assert len(pg.sim.replies(carols)) == greeted and len(pg.sim.replies(channel)) == 1  # only /setlog's help there
    await say(pg, g.admin, "/warn @alice secret reason", g.chat)
    assert not any("secret" in m.get("text", "") for m in pg.sim.replies(carols) + pg.sim.replies(channel))


async def test_setlog_needs_the_right_rights_there_and_says_which(pg, group):
    """An admin badge is not enough: the log chat's owner, or an admin who may change its info or add admins (a group)
    — and Sticky must be able to post there (not muted, not a plain member where members may not write)."""
    g = group
    bare = pg.sim.create_group("Bare Admin", owner=g.owner)
    pg.sim.join(bare, g.admin)
    pg.sim.promote(bare, g.admin, by=g.owner, can_change_info=False, can_promote_members=False)
    pg.sim.add_bot(bare, by=g.owner)
    await pg.settle()
    assert await say(pg, g.admin, f"/setlog {bare.id}", g.chat) == (
        f"You are an admin of Bare Admin ({bare.id}), but without the right to change its info or to add admins: only"
        " its owner, or an admin with one of those rights, can make it this group's log.")
    pg.sim.promote(bare, g.admin, by=g.owner, can_change_info=True)       # the right it takes
    await pg.settle()
    assert (await say(pg, g.admin, f"/setlog {bare.id}", g.chat)).startswith("From now on")
    assert await say(pg, g.admin, "/unsetlog", g.chat) == "No more posts to the log chat; /modlog still has everything."

    quiet = pg.sim.create_group("Read Only Group", owner=g.owner)
    pg.sim.add_bot(quiet, by=g.owner, admin=False)                        # a plain member…
    pg.sim.set_permissions(quiet, by=g.owner, can_send_messages=False)    # …where members may not write
    await pg.settle()
    sent = len(pg.sim.replies(quiet))
    muted = await say(pg, g.owner, f"/setlog {quiet.id}", g.chat)
    assert muted == (f"I can't post in Read Only Group ({quiet.id}): members may not send messages there, or I am"
                     " restricted. Let me write there (or make me an admin), then /setlog again.")
    assert len(pg.sim.replies(quiet)) == sent                             # it did not even try
    assert await pg.services.logchat.get(g.chat.id) is None

    await say(pg, g.owner, "/lang zh", g.chat)
    pg.sim.promote(bare, g.admin, by=g.owner, can_change_info=False)
    await pg.settle()
    zh = await say(pg, g.admin, f"/setlog {bare.id}", g.chat)
    assert zh == (f"你是 Bare Admin ({bare.id}) 的管理员，但没有修改群信息或添加管理员的权限：只有它的群主，"
                  "或有其中一项权限的管理员，才能把它设为本群的日志。")
    assert (await say(pg, g.owner, f"/setlog {quiet.id}", g.chat)).startswith(f"我无法在 Read Only Group ({quiet.id}) 发言")


async def test_a_channel_admin_who_may_not_post_there_is_refused(pg, group):
    g = group
    channel = pg.sim.create_channel("Tea Log", owner=g.owner, username="tealog")
    pg.sim.add_bot_to_channel(channel, by=g.owner)
    pg.sim.promote_in_channel(channel, g.admin, by=g.owner, can_post_messages=False)   # edits and deletes only
    await pg.settle()
    refused = await say(pg, g.admin, "/setlog @tealog", g.chat)
    assert refused == ("You are an admin of @tealog, but without the right to post there: only its owner, or an admin"
                       " who may post messages, can make it this group's log.")
    await say(pg, g.owner, "/lang zh", g.chat)
    assert await say(pg, g.admin, "/setlog @tealog", g.chat) == (
        "你是 @tealog 的管理员，但没有在那里发消息的权限：只有它的所有者，或可以发消息的管理员，才能把它设为本群的日志。")
    pg.sim.promote_in_channel(channel, g.admin, by=g.owner, can_post_messages=True)
    await pg.settle()
    assert (await say(pg, g.admin, "/setlog @tealog", g.chat)).startswith("从现在起")
