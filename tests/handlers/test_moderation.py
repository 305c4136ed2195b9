"""Moderation in chat through the real Application: warns and their escalation, mute/ban/kick, delete/purge,
hierarchy, the bot's own rights, Telegram refusing, reports, /rules, and the audit log."""
from __future__ import annotations

from datetime import timedelta

from tests.helpers import make_group, say


def status(pg, g, user) -> dict:
    return pg.sim.member(g.chat, user)


async def modlog(pg, g) -> list[str]:
    return [e.action for e in await pg.services.moderation.modlog(g.chat.id)]


async def test_warns_escalate_to_a_mute_then_a_ban_and_start_again(pg, group):
    g = group
    for n in (1, 2):
        assert await say(pg, g.admin, f"/warn @alice spam {n}", g.chat) == f"Alice has been warned ({n}/5).\nReason: spam {n}"
    third = await say(pg, g.admin, "/warn @alice spam 3", g.chat)
    assert third.endswith("Alice is muted for 1d for reaching this many warns.")
    muted = status(pg, g, g.alice)
    assert muted["status"] == "restricted" and not muted["can_send_messages"]
    assert muted["until_date"] == int((pg.clock.now() + timedelta(hours=24)).timestamp())
    await say(pg, g.admin, "/warn @alice 4", g.chat)
    fifth = await say(pg, g.admin, "/warn @alice 5", g.chat)
    assert fifth.endswith("That is the warn limit: Alice is banned, and the warns start again.")
    assert status(pg, g, g.alice)["status"] == "kicked"
    assert await pg.services.moderation.warns(g.chat.id, g.alice.id) == []
    assert (await modlog(pg, g))[:3] == ["ban", "warn", "warn"]


async def test_the_warn_limit_and_mode_are_the_groups(pg, group):
    g = group
    assert await say(pg, g.owner, "/setwarnlimit 2", g.chat) == "Warn limit: 2. At 2 warns the warn mode applies."
    assert await say(pg, g.owner, "/setwarnmode tmute 1h", g.chat) == "At the warn limit members now get: mute for 1h."
    await say(pg, g.admin, "/warn @bob", g.chat)
    assert (await say(pg, g.admin, "/warn @bob", g.chat)).endswith("Bob is muted for 1h, and the warns start again.")
    assert status(pg, g, g.bob)["status"] == "restricted"
    assert await say(pg, g.owner, "/setwarnlimit 0", g.chat) == "warn_limit must be a whole number from 1 to 100."
    assert await say(pg, g.owner, "/setwarnmode tmute", g.chat) == "Usage: /setwarnmode ban|kick|mute|tmute 1h|tban 2d"
    assert await say(pg, g.owner, "/setwarnlimit", g.chat) == "Usage: /setwarnlimit N (1-100)"


async def test_remove_warn_button_is_for_admins(pg, group):
    g = group
    await say(pg, g.admin, "/warn @alice rude", g.chat)
    warn_msg = pg.sim.replies(g.chat)[-1]
    data = warn_msg["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    pg.sim.press(g.bob, warn_msg, data)
    await pg.settle()
    assert len(await pg.services.moderation.warns(g.chat.id, g.alice.id)) == 1
    pg.sim.press(g.owner, warn_msg, data)
    await pg.settle()
    assert await pg.services.moderation.warns(g.chat.id, g.alice.id) == []
    edited = next(m for m in pg.sim.replies(g.chat) if m["message_id"] == warn_msg["message_id"])
    assert edited["text"] == "One warn of Alice removed." and "reply_markup" not in edited
    assert await modlog(pg, g) == ["unwarn", "warn"]


async def test_warns_unwarn_resetwarns(pg, group):
    g = group
    assert await say(pg, g.alice, "/warns", g.chat) == "Alice has no warns."
    await say(pg, g.admin, "/warn @alice one", g.chat)
    await say(pg, g.admin, "/warn @alice", g.chat)
    assert await say(pg, g.alice, "/warns", g.chat) == "Alice has 2/5 warns:\n1. one\n2. (no reason)"
    assert await say(pg, g.admin, "/unwarn @alice", g.chat) == "One warn of Alice removed."
    assert await say(pg, g.admin, "/resetwarns @alice", g.chat) == "Alice's 1 warn was cleared."
    assert await say(pg, g.admin, "/resetwarns @alice", g.chat) == "They have no warns."
    assert await say(pg, g.admin, "/unwarn @alice", g.chat) == "They have no warns."


async def test_one_command_warns_once_even_delivered_again(pg, group):
    g = group
    s = pg.services.moderation
    first = await s.warn(g.chat.id, g.alice.id, g.admin.id, "x", "cmd:777")
    again = await s.warn(g.chat.id, g.alice.id, g.admin.id, "x", "cmd:777")
    assert first.violation_id is not None and again.violation_id is None
    assert len(await s.warns(g.chat.id, g.alice.id)) == 1
    assert await modlog(pg, g) == ["warn"]


async def test_mute_ban_kick_and_undo(pg, group):
    g = group
    assert await say(pg, g.admin, "/mute @alice 2h flooding", g.chat) == "Alice is muted until 2026-03-02 11:00.\nReason: flooding"
    assert status(pg, g, g.alice)["until_date"] == int((pg.clock.now() + timedelta(hours=2)).timestamp())
    assert await say(pg, g.admin, "/unmute @alice", g.chat) == "Alice may write again."
    assert status(pg, g, g.alice)["status"] == "member"
    assert await say(pg, g.admin, "/mute @alice 10s", g.chat) == "Alice is muted forever."  # Telegram: under 30 s is forever
    assert status(pg, g, g.alice)["until_date"] == 0
    assert await say(pg, g.admin, "/ban @bob", g.chat) == "Bob is banned forever."
    assert status(pg, g, g.bob)["status"] == "kicked"
    assert await say(pg, g.admin, "/unban @bob", g.chat) == "Bob is unbanned and may join again."
    assert status(pg, g, g.bob)["status"] == "left"
    assert await say(pg, g.admin, "/kick @carol", g.chat) == "Carol was removed; they may join again."
    assert status(pg, g, g.carol)["status"] == "left"
    assert await modlog(pg, g) == ["kick", "unban", "ban", "mute", "unmute", "mute"]


async def test_by_reply_and_by_id(pg, group):
    g = group
    msg = pg.sim.send(g.alice, "buy now", g.chat)
    await pg.settle()
    assert await say(pg, g.admin, "/mute 1h", g.chat, reply_to=msg) == "Alice is muted until 2026-03-02 10:00."
    assert await say(pg, g.admin, f"/unmute {g.alice.id}", g.chat) == "Alice may write again."


async def test_hierarchy(pg, group):
    g = group
    assert await say(pg, g.admin, "/ban @owner", g.chat) == "Nobody acts on the group's owner."
    assert await say(pg, g.admin, "/mute @admin", g.chat) == "You can't do that to yourself."
    pg.sim.promote(g.chat, g.bob, by=g.owner)
    await pg.settle()
    assert await say(pg, g.admin, "/warn @bob", g.chat) == "Admins don't act on admins."
    assert await say(pg, g.admin, "/kick @bob", g.chat) == "Admins don't act on admins."
    assert await say(pg, g.owner, "/ban @bob", g.chat) == "Telegram doesn't let me act on an admin; demote them in Telegram first."
    assert status(pg, g, g.owner)["status"] == "creator" and status(pg, g, g.bob)["status"] == "administrator"
    assert await modlog(pg, g) == []


async def test_anonymous_admin_moderates(pg, group):
    g = group
    pg.sim.promote(g.chat, g.bob, by=g.owner, is_anonymous=True)
    await pg.settle()
    pg.sim.send(g.bob, "/mute @alice 1h", g.chat, as_chat=True)
    await pg.settle()
    assert pg.sim.replies(g.chat)[-1]["text"] == "Alice is muted until 2026-03-02 10:00."
    pg.sim.send(g.bob, "/warn @admin", g.chat, as_chat=True)
    await pg.settle()
    assert pg.sim.replies(g.chat)[-1]["text"] == "Admins don't act on admins."
    assert await say(pg, g.owner, "/modlog", g.chat) == "Moderation log (newest first):\n03-02 09:00 Alice: muted — Tea Lovers"


async def test_missing_right_is_named_and_nothing_is_written(pg, group):
    g = group
    pg.sim.promote(g.chat, pg.sim.bot, by=g.owner, can_restrict_members=False, can_delete_messages=True)
    await pg.settle()
    expected = "I need the “Ban users” admin right for that. Give it to me in the group's admin settings."
    for cmd in ("/mute @alice", "/ban @alice 1d", "/kick @alice", "/unmute @alice"):
        assert await say(pg, g.admin, cmd, g.chat) == expected, cmd
    assert status(pg, g, g.alice)["status"] == "member"
    assert await modlog(pg, g) == []
    pg.sim.promote(g.chat, pg.sim.bot, by=g.owner, can_restrict_members=True, can_delete_messages=False)
    await pg.settle()
    msg = pg.sim.send(g.alice, "junk", g.chat)
    await pg.settle()
    assert await say(pg, g.admin, "/del", g.chat, reply_to=msg) == (
        "I need the “Delete messages” admin right for that. Give it to me in the group's admin settings.")


async def test_telegram_refusing_after_the_commit_is_said_not_crashed(pg, group):
    g = group
    pg.sim.set_fail("restrictChatMember", 400, "Bad Request: not enough rights to restrict/unrestrict chat member")
    said = await say(pg, g.admin, "/mute @alice 1h", g.chat)
    assert said.endswith("(I could not do it: I need the “Ban users” admin right.)")
    assert await modlog(pg, g) == ["mute"]  # the decision is on record
    pg.sim.flood("banChatMember", retry_after=30)  # longer than the port waits
    said = await say(pg, g.admin, "/ban @bob", g.chat)
    assert said.endswith("(Telegram did not accept that; it is in the log.)")
    pg.sim.set_fail("deleteMessage", 400, "Bad Request: message to delete not found")
    msg = pg.sim.send(g.carol, "x", g.chat)
    await pg.settle()
    assert await say(pg, g.admin, "/del", g.chat, reply_to=msg) == ""  # already gone is done
    assert not any("went wrong" in (m.get("text") or "") for m in pg.sim.replies(g.chat))


async def test_del_and_purge(pg, group):
    g = group
    first = pg.sim.send(g.alice, "one", g.chat)
    pg.sim.send(g.bob, "two", g.chat)
    pg.sim.send(g.alice, "three", g.chat)
    await pg.settle()
    assert await say(pg, g.admin, "/purge", g.chat, reply_to=first) == "Deleted 3 messages."
    texts = [m.get("text") for m in pg.sim.messages(g.chat)]
    assert "one" not in texts and "two" not in texts and "three" not in texts and "/purge" not in texts
    msg = pg.sim.send(g.carol, "bad", g.chat)
    await pg.settle()
    await say(pg, g.admin, "/del", g.chat, reply_to=msg)
    assert "bad" not in [m.get("text") for m in pg.sim.messages(g.chat)]
    assert await modlog(pg, g) == ["delete", "purge"]
    assert await say(pg, g.admin, "/del", g.chat) == "Reply to the message you mean."


async def test_rules_and_setrules(pg, group):
    g = group
    assert await say(pg, g.alice, "/rules", g.chat) == "This group has no rules written down yet. Admins: /setrules TEXT"
    assert await say(pg, g.admin, "/setrules", g.chat) == "Usage: /setrules TEXT"
    assert await say(pg, g.admin, "/setrules Be kind.\nNo spam.", g.chat) == "The group's rules are saved; /rules shows them."
    assert await say(pg, g.alice, "/rules", g.chat) == "The rules of this group:\nBe kind.\nNo spam."
    assert (await pg.services.groups.settings(g.chat.id)).rules == "Be kind.\nNo spam."  # the one `rules` setting


async def test_report_with_one_tap_actions_and_a_rate_limit(pg, group):
    g = group
    spam = pg.sim.send(g.bob, "cheap pills", g.chat)
    await pg.settle()
    assert await say(pg, g.alice, "/report", g.chat) == "Reply to the message you mean."
    assert await say(pg, g.alice, "/report", g.chat, reply_to=spam) == "Alice reported Bob to the admins."
    report = pg.sim.replies(g.chat)[-1]
    buttons = [b["callback_data"] for row in report["reply_markup"]["inline_keyboard"] for b in row]
    assert [b.split(":")[1] for b in buttons] == ["del", "warn", "mute", "ban", "ok"]
    assert await say(pg, g.alice, "/report", g.chat, reply_to=spam) == (
        "You reported something a moment ago; admins have it. Try again in a few minutes.")
    pg.sim.press(g.carol, report, buttons[1])
    await pg.settle()
    assert await pg.services.moderation.warns(g.chat.id, g.bob.id) == []
    pg.sim.press(g.admin, report, buttons[1])
    await pg.settle()
    assert len(await pg.services.moderation.warns(g.chat.id, g.bob.id)) == 1
    assert any(m.get("text") == "Report handled by Admin: Bob — warned." for m in pg.sim.replies(g.chat))
    admin_msg = pg.sim.send(g.admin, "hello", g.chat)
    await pg.settle()
    pg.clock.advance(minutes=10)
    assert await say(pg, g.carol, "/report", g.chat, reply_to=admin_msg) == "Admins can't be reported."


async def test_approve(pg, group):
    g = group
    assert await say(pg, g.admin, "/approve @alice", g.chat) == (
        "Alice is approved: content rules no longer apply to them (flood still does).")
    assert await say(pg, g.admin, "/approve @alice", g.chat) == "They are approved already."
    assert await pg.services.moderation.approved(g.chat.id) == {g.alice.id}
    assert await say(pg, g.admin, "/unapprove @alice", g.chat) == "Alice is no longer approved."
    assert await say(pg, g.admin, "/unapprove @alice", g.chat) == "They are not approved."


async def test_bad_targets(pg, group):
    g = group
    assert await say(pg, g.admin, "/mute", g.chat) == "Whom do you mean? Reply to their message, or give @username or their numeric id."
    assert await say(pg, g.admin, "/ban @nobody", g.chat) == (
        "I haven't seen @nobody in this group yet. They need to write something first, or use their numeric id.")
    assert await say(pg, g.admin, f"/mute {pg.sim.bot.id}", g.chat) == "I won't do that to myself."


async def test_a_mistyped_duration_is_refused_not_read_as_a_reason(pg, group):
    """/ban @bob -1h banned Bob forever with the reason "-1h": a word shaped like a duration that is not one is
    a typo, refused with the durations that work, and nothing is done."""
    g = group
    await say(pg, g.bob, "hello", g.chat)
    # A number with a unit Sticky does not take is the same typo: /mute @bob 10min muted Bob forever, reason "10min".
    for command in ("/ban @bob -1h spam", "/mute @bob 0m", "/ban @bob +2d", "/mute @bob 10min spam", "/ban @bob 2days",
                    "/mute @bob 1hour", "/mute @bob 10x"):
        word = command.split()[2]
        assert await say(pg, g.admin, command, g.chat) == f"“{word}” is not a duration; use 30s, 10m, 2h, 7d or 2w.", command
    assert status(pg, g, g.bob)["status"] == "member"
    assert await modlog(pg, g) == []
    # A reason that starts with a number is still a reason.
    assert (await say(pg, g.admin, "/ban @bob 3 spam links", g.chat)).startswith("Bob is banned forever.")
    assert (await say(pg, g.admin, "/mute @carol 3rd time", g.chat)).startswith("Carol is muted forever.")
    await say(pg, g.owner, "/lang zh", g.chat)
    assert await say(pg, g.admin, "/mute @carol -5m", g.chat) == "“-5m”不是时长；请用 30s、10m、2h、7d 或 2w。"
    assert await say(pg, g.admin, "/mute @carol 10分钟", g.chat) == "“10分钟”不是时长；请用 30s、10m、2h、7d 或 2w。"


async def test_at_admin_in_reply_reports_as_rose_does(pg, group):
    g = group
    spam = pg.sim.send(g.bob, "cheap pills", g.chat)
    await pg.settle()
    assert await say(pg, g.alice, "@admin", g.chat, reply_to=spam) == "Alice reported Bob to the admins."
    report = pg.sim.replies(g.chat)[-1]
    assert [b["callback_data"].split(":")[1] for row in report["reply_markup"]["inline_keyboard"] for b in row] == [
        "del", "warn", "mute", "ban", "ok"]
    assert await say(pg, g.carol, "@Admins look at this", g.chat, reply_to=spam) == "Carol reported Bob to the admins."
    assert await say(pg, g.alice, "@admin", g.chat, reply_to=spam) == (
        "You reported something a moment ago; admins have it. Try again in a few minutes.")
    # Without a reply, or with @admin inside a sentence, it is an ordinary message: nothing is answered.
    assert await say(pg, g.carol, "@admin are you there?", g.chat) == ""
    assert await say(pg, g.carol, "ask @admin later", g.chat, reply_to=spam) == ""
    assert await say(pg, g.carol, "@administrator hi", g.chat, reply_to=spam) == ""


async def test_a_report_reaches_the_admins_in_private(pg, group):
    # A report only posted in a busy group scrolls away unseen: admins who started Sticky are told in private.
    g = group
    await say(pg, g.admin, "/start")
    before_owner = len(pg.sim.replies(g.owner))
    spam = pg.sim.send(g.bob, "cheap pills", g.chat)
    await pg.settle()
    assert await say(pg, g.alice, "/report selling pills", g.chat, reply_to=spam) == "Alice reported Bob to the admins."
    notice = pg.sim.replies(g.admin)[-1]["text"]
    assert notice.splitlines()[:2] == ["🚩 Tea Lovers: Alice reported Bob.", "Reason: selling pills"]
    assert notice.splitlines()[2] == f"https://t.me/c/{str(g.chat.id)[4:]}/{spam['message_id']}"
    assert len(pg.sim.replies(g.owner)) == before_owner  # the owner never started Sticky: nothing sent


async def test_undoing_a_mute_or_ban_that_is_not_there_says_so_and_writes_nothing(pg, group):
    g = group
    assert await say(pg, g.admin, "/unmute @alice", g.chat) == "They are not muted; nothing to undo."
    assert await say(pg, g.admin, "/unban @bob", g.chat) == "They are not banned; nothing to undo."
    assert await modlog(pg, g) == []
    assert not [c for c in pg.sim.calls() if c.method in ("restrictChatMember", "unbanChatMember")]
    await say(pg, g.admin, "/ban @bob", g.chat)
    assert await say(pg, g.admin, "/unban @bob", g.chat) == "Bob is unbanned and may join again."
    assert await say(pg, g.admin, "/unban @bob", g.chat) == "They are not banned; nothing to undo."
    assert await modlog(pg, g) == ["unban", "ban"]


async def spam_bot(pg, g):
    """A spam bot someone added; its message is never delivered to Sticky (Telegram's bot-to-bot rule), only seen
    inside the reply to it."""
    spam = pg.sim.user("spambot", first_name="Spam Bot", is_bot=True)
    pg.sim.add_member(g.chat, spam, by=g.alice)
    await pg.settle()
    return spam, pg.sim.send(spam, "cheap pills at spam.example.com", g.chat)


async def test_ban_kick_mute_and_warn_by_reply_act_on_a_spam_bot(pg, group):
    g = group
    spam, sent = await spam_bot(pg, g)
    assert await say(pg, g.admin, "/warn spam", g.chat, reply_to=sent) == "Spam Bot has been warned (1/5).\nReason: spam"
    assert await say(pg, g.admin, "/mute 1h", g.chat, reply_to=sent) == "Spam Bot is muted until 2026-03-02 10:00."
    assert status(pg, g, spam)["status"] == "restricted"
    assert await say(pg, g.admin, "/kick", g.chat, reply_to=sent) == "Spam Bot was removed; they may join again."
    assert status(pg, g, spam)["status"] == "left"
    pg.sim.add_member(g.chat, spam, by=g.alice)
    await pg.settle()
    again = pg.sim.send(spam, "more pills", g.chat)
    assert await say(pg, g.admin, "/ban", g.chat, reply_to=again) == "Spam Bot is banned forever."
    assert status(pg, g, spam)["status"] == "kicked"
    assert await modlog(pg, g) == ["ban", "kick", "mute", "warn"]


async def test_a_member_does_not_read_a_spam_bots_warns_by_reply(pg, group):
    """Members see only their own warns: a reply to another bot's message is a lookup like any other (a reply to
    Sticky's own says it is a bot's message, as /warn does); an admin reads the bot's warns."""
    g = group
    _spam, sent = await spam_bot(pg, g)
    await say(pg, g.admin, "/warn spam", g.chat, reply_to=sent)
    assert await say(pg, g.alice, "/warns", g.chat, reply_to=sent) == "Only admins can look up others; /warns alone shows yours."
    assert await say(pg, g.admin, "/warns", g.chat, reply_to=sent) == "Spam Bot has 1/5 warns:\n1. spam"
    assert await say(pg, g.alice, "/warns", g.chat, reply_to=pg.sim.replies(g.chat)[0]) == (
        "That message is from a bot; reply to a person's message.")


async def test_a_member_reports_a_spam_bot_by_reply(pg, group):
    g = group
    _spam, sent = await spam_bot(pg, g)
    assert await say(pg, g.bob, "/report", g.chat, reply_to=sent) == "Bob reported Spam Bot to the admins."
    report = pg.sim.replies(g.chat)[-1]
    assert any(b["callback_data"].startswith(f"rep:ban:{_spam.id}:") for row in report["reply_markup"]["inline_keyboard"] for b in row)
    # Replying to Sticky's own message still names nobody.
    assert await say(pg, g.admin, "/ban", g.chat, reply_to=report) == "That message is from a bot; reply to a person's message."
