"""The bot joining and leaving groups, members joining, leaving, promoted and demoted, and Telegram staying the
authority on who is an admin (admin list refreshed when stale, anonymous admins recognised)."""
from __future__ import annotations

from telegram import Update

from tests.helpers import help_of, say

GREETING = "Hello, Tea Lovers! I'm Sticky: roles, daily check-in and points, a points shop, invite rewards with newcomer screening, moderation, scheduled posts, loyalty and stats for this group. Type /help to see what I can do."
MAKE_ME_ADMIN = "Please make me an admin (delete messages, restrict and invite members) so I can do my job."
REFUSED = "Only Admin and above can use this command."


async def fetch(pg, sql, *params):
    return [tuple(r) for r in await pg.services.db.fetchall(sql, params)]


async def group_row(pg, chat):
    return await pg.services.db.fetchone("SELECT * FROM groups WHERE chat_id = ?", (chat.id,))


async def deliver(pg, updates, times=1):
    """Feed these exact updates to the Application, `times` times each (Telegram may deliver one twice)."""
    for _ in range(times):
        for data in updates:
            await pg.app.process_update(Update.de_json(data, pg.app.bot))


async def role_shown(pg, user, chat) -> str:
    """The role the bot gives `user` here, as /help names it ("Commands for you (Admin):")."""
    header = (await help_of(pg, user, chat)).splitlines()[0]
    return header.removeprefix("Commands for you (").removesuffix("):")


def admin_list_calls(pg, chat):
    return [c for c in pg.sim.calls("getChatAdministrators") if c.params.get("chat_id") == chat.id]


# ---------------------------------------------------------------- the bot itself


async def test_bot_added_registers_the_group_greets_and_learns_the_admins(pg):
    sim = pg.sim
    owner, admin = sim.user("owner"), sim.user("admin")
    chat = sim.create_group("Tea Lovers", owner=owner)
    sim.join(chat, admin)
    sim.promote(chat, admin, by=owner)  # an admin from before the bot came: only getChatAdministrators tells
    sim.add_bot(chat, by=owner)
    await pg.settle()

    row = await group_row(pg, chat)
    assert (row["title"], row["type"], row["active"], row["added_by"]) == ("Tea Lovers", "supergroup", 1, owner.id)
    assert row["admins_refreshed_at"] is not None
    assert [m["text"] for m in sim.replies(chat)] == [GREETING]
    assert len(admin_list_calls(pg, chat)) == 1
    roles = await fetch(pg, "SELECT user_id, tg_role FROM members WHERE chat_id = ? AND tg_role IS NOT NULL ORDER BY user_id", chat.id)
    assert (owner.id, "owner") in roles and (admin.id, "admin") in roles

    alice = sim.user("alice")
    sim.join(chat, alice)
    await pg.settle()
    # The fresh list is used as it is: the admin can act at once, and no second getChatAdministrators is needed.
    assert await say(pg, admin, "/setrole @alice activator", chat) == "Alice is now Activator."
    assert len(admin_list_calls(pg, chat)) == 1


async def test_added_without_admin_rights_asks_for_them_and_relearns_admins_when_promoted(pg):
    sim = pg.sim
    owner = sim.user("owner")
    chat = sim.create_group("Tea Lovers", owner=owner)
    sim.add_bot(chat, by=owner, admin=False)
    await pg.settle()
    assert [m["text"] for m in sim.replies(chat)] == [GREETING + "\n" + MAKE_ME_ADMIN]
    sim.promote(chat, sim.bot, by=owner)
    await pg.settle()
    assert len(admin_list_calls(pg, chat)) == 2  # our rights changed, so did Telegram's admin list
    assert len(sim.replies(chat)) == 1  # no second greeting


async def test_removed_bot_keeps_the_data_and_comes_back_active(pg, group):
    sim, chat = pg.sim, group.chat
    await say(pg, group.owner, "/setrole @alice activator", chat)
    await say(pg, group.owner, "/set timezone Asia/Shanghai", chat)
    sim.remove_bot(chat, by=group.owner)
    await pg.settle()

    row = await group_row(pg, chat)
    assert row["active"] == 0 and row["removed_at"] is not None
    assert await pg.services.db.fetchval("SELECT community_role FROM members WHERE user_id = ?", (group.alice.id,)) == "activator"
    assert await pg.services.db.fetchval("SELECT value FROM group_settings WHERE chat_id = ? AND key = 'timezone'", (chat.id,)) == "Asia/Shanghai"
    assert [c for c in sim.calls() if not c.ok] == []  # nothing was sent to a chat that threw us out

    sim.add_bot(chat, by=group.owner)
    await pg.settle()
    row = await group_row(pg, chat)
    assert row["active"] == 1 and row["removed_at"] is None
    assert sim.replies(chat)[-1]["text"] == GREETING
    assert "Activator (1) — keeps the mood up\n  Alice" in await say(pg, group.bob, "/roles", chat)
    assert "• timezone = Asia/Shanghai" in (await say(pg, group.owner, "/settings", chat)).splitlines()


# ---------------------------------------------------------------- members


async def test_telegram_promotion_and_demotion_change_the_role_and_are_audited(pg, group):
    sim, chat = pg.sim, group.chat
    await say(pg, group.owner, "/setrole @alice activator", chat)
    sim.promote(chat, group.alice, by=group.owner)
    await pg.settle()
    assert await role_shown(pg, group.alice, chat) == "Admin"
    assert await say(pg, group.alice, "/setrole @bob spreader", chat) == "Bob is now Spreader."
    assert "Admin (2) — rewards and moderates\n  Admin, Alice" in await say(pg, group.carol, "/roles", chat)

    sim.demote(chat, group.alice, by=group.owner)
    await pg.settle()
    assert await role_shown(pg, group.alice, chat) == "Activator"  # her community role was kept underneath
    assert await say(pg, group.alice, "/setrole @carol spreader", chat) == REFUSED
    trail = await fetch(
        pg, "SELECT actor_id, change, role, reason FROM role_audit WHERE chat_id = ? AND target_id = ? ORDER BY id",
        chat.id, group.alice.id,
    )
    assert trail == [
        (group.owner.id, "set", "activator", None),
        (group.owner.id, "promoted", "admin", "telegram"),
        (group.owner.id, "demoted", "admin", "telegram"),
    ]


async def test_a_promotion_delivered_again_after_a_restart_is_audited_once(pg, group):
    pg.sim.promote(group.chat, group.bob, by=group.owner)
    updates = pg.sim.take_updates()
    await deliver(pg, updates, times=2)
    await pg.restart()  # the in-memory memory of update ids is gone; the database must know
    await deliver(pg, updates)
    rows = await fetch(pg, "SELECT change FROM role_audit WHERE target_id = ?", group.bob.id)
    assert rows == [("promoted",)]
    assert await role_shown(pg, group.bob, group.chat) == "Admin"


async def test_join_and_leave_are_recorded_once_even_when_delivered_twice(pg, group):
    sim, chat = pg.sim, group.chat
    dave = sim.user("dave")
    sim.join(chat, dave)
    joined = sim.take_updates()
    assert any("chat_member" in u for u in joined)
    await deliver(pg, joined, times=2)
    sim.leave(chat, dave)
    left = sim.take_updates()
    await deliver(pg, left, times=2)
    await pg.restart()
    await deliver(pg, joined + left)

    events = await fetch(pg, "SELECT event FROM member_events WHERE chat_id = ? AND user_id = ? ORDER BY id", chat.id, dave.id)
    assert events == [("join",), ("leave",)]
    row = await pg.services.db.fetchone("SELECT status, joined_at, left_at FROM members WHERE user_id = ?", (dave.id,))
    assert row["status"] == "left" and row["joined_at"] is not None and row["left_at"] is not None


async def test_coming_back_is_a_new_join(pg, group):
    sim, chat = pg.sim, group.chat
    sim.leave(chat, group.carol)
    sim.join(chat, group.carol)
    await pg.settle()
    events = await fetch(pg, "SELECT event FROM member_events WHERE user_id = ? ORDER BY id", group.carol.id)
    assert events == [("join",), ("leave",), ("join",)]
    assert await say(pg, group.owner, "/setrole @carol spreader", chat) == "Carol is now Spreader."


async def test_leaving_is_not_undone_by_the_left_service_message(pg, group):
    """Telegram sends "Carol left" as a message from Carol; it must not bring her back as present."""
    pg.sim.leave(group.chat, group.carol)
    await pg.settle()
    assert await pg.services.db.fetchval("SELECT status FROM members WHERE user_id = ?", (group.carol.id,)) == "left"
    assert "Member (2)" in await say(pg, group.alice, "/roles", group.chat)
    # Nor does leaving count as taking part: only her "hi" is activity (written with the counters' batch: her "hi"
    # earned chat XP, so its count rides with the XP's commit).
    await pg.services.activity.flush()
    await pg.services.points.flush_chat_xp()
    assert await pg.services.db.fetchval("SELECT SUM(messages) FROM activity_daily WHERE user_id = ?", (group.carol.id,)) == 1


# ---------------------------------------------------------------- Telegram is the authority on admins


async def test_a_stale_admin_list_is_refreshed_before_a_privileged_command(pg, group):
    sim, chat = pg.sim, group.chat
    sim.promote(chat, group.alice, by=group.owner)
    sim.take_updates()  # the bot never hears of the promotion
    calls = len(admin_list_calls(pg, chat))

    # Within roles.admin_cache_minutes the stored list is trusted: no call, and Alice is still a member here.
    assert await say(pg, group.alice, "/setrole @bob spreader", chat) == REFUSED
    assert len(admin_list_calls(pg, chat)) == calls

    pg.clock.advance(minutes=pg.config.roles.admin_cache_minutes + 1)
    assert await say(pg, group.alice, "/setrole @bob spreader", chat) == "Bob is now Spreader."
    assert len(admin_list_calls(pg, chat)) == calls + 1
    # Fresh again: the next privileged command does not ask Telegram.
    assert await say(pg, group.alice, "/unsetrole @bob spreader", chat) == "Bob is no longer Spreader."
    assert len(admin_list_calls(pg, chat)) == calls + 1
    # The promotion the bot missed is in the audit trail all the same (Telegram's list does not say who did it).
    trail = await fetch(pg, "SELECT actor_id, change, role, reason FROM role_audit WHERE target_id = ? ORDER BY id", group.alice.id)
    assert trail == [(None, "promoted", "admin", "telegram_refresh")]


async def test_a_missed_demotion_takes_effect_once_the_list_is_stale(pg, group):
    sim, chat = pg.sim, group.chat
    sim.demote(chat, group.admin, by=group.owner)
    sim.take_updates()
    pg.clock.advance(minutes=pg.config.roles.admin_cache_minutes + 1)
    assert await say(pg, group.admin, "/setrole @bob spreader", chat) == REFUSED
    assert await pg.services.db.fetchval("SELECT tg_role FROM members WHERE user_id = ?", (group.admin.id,)) is None
    trail = await fetch(pg, "SELECT change, role, reason FROM role_audit WHERE target_id = ? ORDER BY id", group.admin.id)
    assert trail[-1] == ("demoted", "admin", "telegram_refresh")
    assert ("demoted", "admin", "telegram_refresh") not in trail[:-1]


async def test_a_refresh_audits_only_what_changed(pg, group):
    """A promotion the bot heard about is audited once, from its update; the refresh that follows adds nothing,
    and the first admin list of a new group is where the trail starts, not a row per admin."""
    sim, chat = pg.sim, group.chat
    assert await fetch(pg, "SELECT COUNT(*) FROM role_audit WHERE reason = 'telegram_refresh'") == [(0,)]
    sim.promote(chat, group.bob, by=group.owner)
    await pg.settle()
    pg.clock.advance(minutes=pg.config.roles.admin_cache_minutes + 1)
    calls = len(admin_list_calls(pg, chat))
    assert await say(pg, group.bob, "/setrole @carol spreader", chat) == "Carol is now Spreader."
    assert len(admin_list_calls(pg, chat)) == calls + 1  # the list was refreshed…
    trail = await fetch(pg, "SELECT change, reason FROM role_audit WHERE target_id = ? ORDER BY id", group.bob.id)
    assert trail == [("promoted", "telegram")]  # …and found nothing new


async def test_member_commands_never_refresh_the_admin_list(pg, group):
    calls = len(admin_list_calls(pg, group.chat))
    pg.clock.advance(days=1)
    await say(pg, group.alice, "/roles", group.chat)
    await say(pg, group.alice, "/help", group.chat)
    assert len(admin_list_calls(pg, group.chat)) == calls


async def test_if_telegram_cannot_be_asked_the_stored_list_is_used(pg, group):
    pg.clock.advance(minutes=pg.config.roles.admin_cache_minutes + 1)
    pg.sim.set_fail("getChatAdministrators", 500, "Internal Server Error")
    assert await say(pg, group.admin, "/setrole @bob spreader", group.chat) == "Bob is now Spreader."


async def test_an_anonymous_admin_writing_as_the_group_is_an_admin(pg, group):
    sim, chat = pg.sim, group.chat
    sim.promote(chat, group.bob, by=group.owner, is_anonymous=True)
    await pg.settle()
    sim.send(group.bob, "/setrole @alice activator", chat, as_chat=True)
    await pg.settle()
    assert sim.replies(chat)[-1]["text"] == "Alice is now Activator."
    actor = await pg.services.db.fetchval("SELECT actor_id FROM role_audit WHERE change = 'set'")
    assert actor == chat.id  # Telegram hides who it was; the group is the actor
    assert (await help_of(pg, group.bob, chat, as_chat=True)).startswith("Commands for you (Admin):")
    sim.send(group.bob, "/settings", chat, as_chat=True)
    await pg.settle()
    assert sim.replies(chat)[-1]["text"].startswith("Group settings")


async def test_an_edited_command_is_not_run_again(pg, group):
    sim, chat = pg.sim, group.chat
    command = sim.send(group.owner, "/setrole @alice activator", chat)
    await pg.settle()
    before = len(sim.replies(chat))
    sim.edit(group.owner, command, "/setrole @alice spreader")
    await pg.settle()
    assert len(sim.replies(chat)) == before
    assert await pg.services.db.fetchval("SELECT community_role FROM members WHERE user_id = ?", (group.alice.id,)) == "activator"


def test_the_greeting_names_only_what_exists():
    """Issue 13: the bot's first words promise features that have commands today."""
    from bot.app import all_commands
    from bot.texts import translator
    from bot.texts.core import bot_added
    from handlers.base import spec_of

    names = {spec_of(c).name for c in all_commands()}
    greeting = bot_added(translator("en"), "Tea Lovers", True)
    promised = {"check-in": "checkin", "shop": "shop", "invite": "invite", "loyalty": "loyalty", "stats": "stats", "roles": "roles",
                "moderation": "warn", "scheduled posts": "schedule"}
    for word, command in promised.items():
        assert word in greeting and command in names, word


async def test_a_channel_subscriber_is_no_member_and_no_error(pg):
    """Sticky administering a channel hears its subscribers join (chat_member): nothing is recorded or said there."""
    owner, reader = pg.sim.user("owner"), pg.sim.user("reader")
    channel = pg.sim.create_channel("Tea News", owner=owner)
    pg.sim.add_bot_to_channel(channel, by=owner)
    await pg.settle()
    pg.sim.subscribe(reader, channel)
    await pg.settle()
    assert pg.sim.replies(channel) == []
    assert await pg.services.members.members.get(channel.id, reader.id) is None
