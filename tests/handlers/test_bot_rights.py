"""Sticky says when it cannot do what was asked (issue 13): turning on a setting that needs an admin right the bot
lacks (screening → Ban users, the link gate and command tidying → Delete messages, the rules engine → both) answers
with the missing right, and /settings marks such settings, and the features without a setting (invite links, pinned
posts) that the missing rights stop. The rights are Telegram's: the bot's own getChatMember."""
from __future__ import annotations

from tests.helpers import say


async def weak_group(pg, **rights):
    """A group where the bot is an admin without the rights given as False."""
    sim = pg.sim
    owner = sim.user("owner")
    chat = sim.create_group("Tea Lovers", owner=owner)
    sim.add_bot(chat, by=owner, **rights)
    await pg.settle()
    return chat, owner


async def test_turning_on_a_setting_the_bot_lacks_a_right_for_names_the_right(pg):
    chat, owner = await weak_group(pg, can_delete_messages=False, can_restrict_members=False)
    assert (await say(pg, owner, "/set delete_commands on", chat)).splitlines() == [
        "delete_commands is now on.",
        "Note: delete_commands needs the “Delete messages” admin right, which I don't have here, so it can't work until an admin gives it to me.",
    ]
    # The link gate is a rule of the rules engine now; its switch says the same.
    gate = (await say(pg, owner, "/set link_gate on", chat)).splitlines()
    assert gate[0] == "link_gate is now on." and gate[-1] == (
        "Note: link_gate needs the “Delete messages” admin right, which I don't have here, so it can't work until an admin gives it to me.")
    assert (await say(pg, owner, "/set screening on", chat)).splitlines()[1] == (
        "Note: screening needs the “Ban users” admin right, which I don't have here, so it can't work until an admin gives it to me.")
    assert (await say(pg, owner, "/set rules_mode on", chat)).splitlines()[1:] == [
        "Note: rules_mode needs the “Delete messages” admin right, which I don't have here, so it can't work until an admin gives it to me.",
        "Note: rules_mode needs the “Ban users” admin right, which I don't have here, so it can't work until an admin gives it to me.",
    ]
    # Turning it off needs nothing, and says nothing more.
    assert await say(pg, owner, "/set delete_commands off", chat) == "delete_commands is now off."
    assert (await pg.services.groups.settings(chat.id)).screening is True  # stored all the same: a note, not a refusal


async def test_a_rule_that_acts_with_a_right_the_bot_lacks_says_so_when_written_or_switched_on(pg):
    """A lock, a rule, a blocklist entry or antiflood acts with Sticky's rights like the settings do: each is stored,
    and the answer notes the right Sticky lacks for what it does (once per right), so nobody believes links are
    locked while the bot cannot delete them. With the rights, nothing is noted; in Chinese too."""
    chat, owner = await weak_group(pg, can_delete_messages=False)
    delete = "Note: the rules' actions (/rule list) need the “Delete messages” admin right, which I don't have here, so they can't work until an admin gives it to me."
    for command in ("/lock url", '/rule add when message and words "spam" then delete, warn', "/addblocklist casino"):
        lines = (await say(pg, owner, command, chat)).splitlines()
        assert lines[-1] == delete and lines.count(delete) == 1, command
    assert "url" in await pg.services.rules.locks(chat.id)  # stored all the same: a note, not a refusal
    chat2, owner2 = await weak_group(pg, can_restrict_members=False)
    lines = (await say(pg, owner2, "/setfloodmode ban", chat2)).splitlines()
    assert lines[-1] == "Note: the rules' actions (/rule list) need the “Ban users” admin right, which I don't have here, so they can't work until an admin gives it to me."
    assert "Note" not in await say(pg, owner2, "/lock sticker", chat2)  # it may delete: nothing to note
    # Clearing warns is Sticky's own write, no Telegram action: nothing to note (the admin's check asks Ban users).
    assert "Note" not in await say(pg, owner2, '/rule add when message and words "sorry" then reset warn', chat2)
    await say(pg, owner2, "/lang zh", chat2)
    assert (await say(pg, owner2, "/setflood 5", chat2)).splitlines()[-1] == (
        "注意：规则的处理动作（/rule list）需要“封禁用户”管理员权限，而我在本群没有这项权限，所以在管理员授予之前它们无法生效。")


async def test_every_right_a_rule_lacks_is_noted_an_import_too_and_the_warn_limit_names_its_mode(pg):
    """A rule that deletes and bans, where Sticky may do neither, names both rights (the first alone left the ban
    unmentioned once Delete was given); an applied /rules_import notes what its rules lack; /setwarnlimit, which
    brings the warn mode's penalty, notes the right that penalty needs, as /setwarnmode does."""
    chat, owner = await weak_group(pg, can_delete_messages=False, can_restrict_members=False)
    note = "Note: the rules' actions (/rule list) need the “{}” admin right, which I don't have here, so they can't work until an admin gives it to me."
    assert (await say(pg, owner, '/rule add when message and words "spam" then delete, ban', chat)).splitlines()[1:] == [
        note.format("Delete messages"), note.format("Ban users")]
    preview = await say(pg, owner, "/rules_import sticky_rules: 1\nrules:\n  - {name: nolinks, rule: when message and has link then delete}", chat)
    assert preview.startswith("Dry run of the import")
    question = pg.sim.replies(chat)[-1]
    pg.sim.press(owner, question, question["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    await pg.settle()
    done = next(m for m in pg.sim.replies(chat) if m["message_id"] == question["message_id"])["text"].splitlines()
    assert done[0].startswith("Imported") and done[-1] == note.format("Delete messages"), done
    assert (await say(pg, owner, "/setwarnlimit 2", chat)).splitlines()[1] == (
        "Note: warn_mode needs the “Ban users” admin right, which I don't have here, so it can't work until an admin gives it to me.")


async def test_settings_marks_what_cannot_work_and_the_features_a_missing_right_stops(pg):
    chat, owner = await weak_group(pg, can_delete_messages=False, can_invite_users=False)
    await say(pg, owner, "/set delete_commands on", chat)
    await say(pg, owner, "/set link_gate on", chat)
    lines = (await say(pg, owner, "/settings", chat)).splitlines()
    assert "• delete_commands = on ⚠️ can't work: I lack “Delete messages”" in lines
    assert "• link_gate = on ⚠️ can't work: I lack “Delete messages”" in lines  # the rule links, as /settings names it
    assert "• screening = off (default)" in lines
    assert "⚠️ personal invite links (/invite) can't work: I lack “Invite users via link”." in lines
    assert lines[-1] == "Give me these rights in the group's admin settings."
    # Once Telegram says the bot has the rights (promoted again), nothing is marked.
    pg.sim.promote(chat, pg.sim.bot, by=owner)
    await pg.settle()
    lines = (await say(pg, owner, "/settings", chat)).splitlines()
    assert not [l for l in lines if "⚠️" in l] and "• delete_commands = on" in lines


async def test_a_bot_with_its_rights_gets_no_notes(pg, group):
    assert await say(pg, group.admin, "/set screening on", group.chat) == "screening is now on."
    assert "⚠️" not in await say(pg, group.admin, "/settings", group.chat)


async def test_missing_right_notes_in_chinese(pg):
    chat, owner = await weak_group(pg, can_restrict_members=False)
    await say(pg, owner, "/lang zh", chat)
    note = (await say(pg, owner, "/set screening on", chat)).splitlines()[1]
    assert note == "注意：screening 需要“封禁用户”管理员权限，而我在本群没有这项权限，所以在管理员授予之前它无法生效。"
    assert "• screening = on ⚠️ 无法生效：我缺少“封禁用户”" in (await say(pg, owner, "/settings", chat)).splitlines()


async def test_a_pinned_schedule_and_a_warn_mode_note_the_right_the_bot_lacks(pg):
    """The same note /set gives: /schedule … pin without “Pin messages”, /setwarnmode without “Ban users”."""
    chat, owner = await weak_group(pg, can_pin_messages=False, can_restrict_members=False)
    lines = (await say(pg, owner, "/schedule daily 09:00 post pin Good morning!", chat)).splitlines()
    assert lines[0].startswith("Schedule #1 saved: daily 09:00 · post") and lines[-1] == (
        "Note: pinned scheduled posts (/schedule … pin) need the “Pin messages” admin right, which I don't have here,"
        " so they can't work until an admin gives it to me.")
    assert "Note:" not in await say(pg, owner, "/schedule daily 10:00 post Unpinned", chat)  # no pin, no note
    for mode in ("mute", "ban", "kick"):
        lines = (await say(pg, owner, f"/setwarnmode {mode}", chat)).splitlines()
        assert lines[-1] == (
            "Note: warn_mode needs the “Ban users” admin right, which I don't have here, so it can't work until an admin gives it to me."), mode
        assert len(lines) == 2
    assert (await pg.services.groups.settings(chat.id)).warn_mode == "kick"  # stored all the same
    # In Chinese.
    await say(pg, owner, "/lang zh", chat)
    assert (await say(pg, owner, "/schedule daily 11:00 post pin 早上好", chat)).splitlines()[-1] == (
        "注意：置顶的定时消息（/schedule … pin）需要“置顶消息”管理员权限，而我在本群没有这项权限，所以在管理员授予之前它们无法生效。")
    assert (await say(pg, owner, "/setwarnmode ban", chat)).splitlines()[-1] == (
        "注意：warn_mode 需要“封禁用户”管理员权限，而我在本群没有这项权限，所以在管理员授予之前它无法生效。")


async def test_a_bot_that_can_pin_and_ban_adds_no_note(pg, group):
    assert "Note:" not in await say(pg, group.owner, "/schedule daily 09:00 post pin Good morning!", group.chat)
    assert "Note:" not in await say(pg, group.owner, "/setwarnmode mute", group.chat)
    assert "Note:" not in await say(pg, group.owner, "/setwarnmode ban", group.chat)
