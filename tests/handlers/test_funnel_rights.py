"""Passing the check gives back only what the check took: an admin's earlier restriction (kept across leaving and
rejoining) comes back, a mute an admin adds during the check stays; admins and bots an admin adds are left alone."""
from __future__ import annotations

from datetime import timedelta

from telegram import ChatPermissions, Update

from tests.handlers.funnel_helpers import can_send, join, pending, press, screening_on
from tests.helpers import say


async def mute(pg, chat, user, hours=2, **allowed):
    """An admin's mute (through the Bot API: the simulator has no app-side restrict), ending in `hours`."""
    until = pg.clock.now() + timedelta(hours=hours)
    await pg.app.bot.restrict_chat_member(chat.id, user.id, ChatPermissions(**allowed), until_date=until,
                                          use_independent_chat_permissions=True)
    await pg.settle()
    return int(until.timestamp())


async def pass_check(pg, chat, user):
    check = await pending(pg, chat, user)
    assert check is not None
    await press(pg, chat, user, check)
    assert (await pg.services.funnel.repo.check(check.id)).status == "passed"


async def test_a_member_muted_before_leaving_is_still_muted_after_rejoining_and_passing(pg, group):
    until = await mute(pg, group.chat, group.bob, can_send_messages=True)  # may write, no media
    await screening_on(pg, group)
    pg.sim.leave(group.chat, group.bob)
    pg.clock.advance(minutes=5)
    pg.sim.join(group.chat, group.bob)
    await pg.settle()
    assert not can_send(pg, group.chat, group.bob)  # the check's restriction while pending
    await pass_check(pg, group.chat, group.bob)
    m = pg.sim.member(group.chat, group.bob)
    assert m["status"] == "restricted" and m["until_date"] == until
    assert m["can_send_messages"] and not m["can_send_photos"]  # the admin's restriction, not everything and not nothing


async def test_a_mute_added_by_an_admin_during_the_check_survives_passing(pg, group):
    await screening_on(pg, group)
    dave = await join(pg, group.chat)
    until = await mute(pg, group.chat, dave, hours=1)
    await pass_check(pg, group.chat, dave)
    m = pg.sim.member(group.chat, dave)
    assert m["status"] == "restricted" and m["until_date"] == until and not m["can_send_messages"]


async def test_a_restriction_that_has_run_out_is_simply_lifted(pg, group):
    await mute(pg, group.chat, group.bob, hours=1)
    await screening_on(pg, group)
    pg.sim.leave(group.chat, group.bob)
    pg.clock.advance(minutes=59, seconds=50)  # the mute ends 10 s from now: Telegram would read that as forever
    pg.sim.join(group.chat, group.bob)
    await pg.settle()
    await pass_check(pg, group.chat, group.bob)
    assert pg.sim.member(group.chat, group.bob)["status"] == "member"


async def test_a_newcomer_without_earlier_restrictions_gets_the_groups_default_rights(pg, group):
    await screening_on(pg, group)
    dave = await join(pg, group.chat)
    await pass_check(pg, group.chat, dave)
    assert pg.sim.member(group.chat, dave)["status"] == "member"


async def test_admins_are_never_screened_even_when_they_leave_and_come_back(pg, group):
    await screening_on(pg, group)
    pg.sim.leave(group.chat, group.admin)  # leaving drops the admin title in Telegram ...
    pg.clock.advance(minutes=5)
    pg.sim.join(group.chat, group.admin)  # ... they come back as a member, but one the group trusted
    await pg.settle()
    assert await pending(pg, group.chat, group.admin) is None and can_send(pg, group.chat, group.admin)
    assert not [c for c in pg.sim.calls("restrictChatMember") if c.params["user_id"] == group.admin.id]


async def test_an_admin_demoted_by_the_owner_who_leaves_and_returns_is_screened(pg, group):
    await screening_on(pg, group)
    pg.sim.demote(group.chat, group.admin, by=group.owner)
    await pg.settle()
    pg.sim.leave(group.chat, group.admin)
    pg.clock.advance(minutes=5)
    pg.sim.join(group.chat, group.admin)
    await pg.settle()
    assert await pending(pg, group.chat, group.admin) is not None


async def test_a_bot_added_by_an_admin_is_kept_and_one_added_by_a_member_is_removed(pg, group):
    await screening_on(pg, group)
    helper, spam = pg.sim.user("helperbot", is_bot=True), pg.sim.user("spambot", is_bot=True)
    for robot, adder in ((helper, group.admin), (spam, group.alice)):
        pg.sim.join(group.chat, robot)
        [update] = pg.sim.take_updates(["chat_member"])
        update["chat_member"]["from"] = adder.to_api()  # the simulator has no "add a member" action: who added it
        await pg.app.process_update(Update.de_json(update, pg.app.bot))
        await pg.settle()
    assert pg.sim.member(group.chat, helper)["status"] == "member"
    assert pg.sim.member(group.chat, spam)["status"] == "left"


async def test_a_newcomer_who_leaves_during_the_check_and_rejoins_can_talk_after_passing(pg, group):
    """Telegram keeps the check's own 'nothing, forever' restriction across leaving: it is not an earlier mute to give back."""
    await screening_on(pg, group)
    dave = await join(pg, group.chat)
    assert not can_send(pg, group.chat, dave)
    pg.sim.leave(group.chat, dave)  # before answering
    await pg.settle()
    pg.clock.advance(minutes=5)
    pg.sim.join(group.chat, dave)
    await pg.settle()
    assert not can_send(pg, group.chat, dave)  # screened again
    await pass_check(pg, group.chat, dave)
    assert can_send(pg, group.chat, dave)
    assert pg.sim.member(group.chat, dave)["status"] == "member"


async def test_an_earlier_mute_still_comes_back_after_leaving_twice_during_checks(pg, group):
    until = await mute(pg, group.chat, group.bob, hours=3, can_send_messages=True)
    await screening_on(pg, group)
    pg.sim.leave(group.chat, group.bob)
    pg.sim.join(group.chat, group.bob)
    await pg.settle()
    pg.sim.leave(group.chat, group.bob)  # during the check, which replaced the mute with nothing, forever
    await pg.settle()
    pg.clock.advance(minutes=5)
    pg.sim.join(group.chat, group.bob)
    await pg.settle()
    await pass_check(pg, group.chat, group.bob)
    m = pg.sim.member(group.chat, group.bob)
    assert m["status"] == "restricted" and m["until_date"] == until and m["can_send_messages"] and not m["can_send_photos"]


async def test_a_mute_given_after_an_old_abandoned_check_is_not_lifted_by_the_next_one(pg, group):
    await screening_on(pg, group)
    dave = await join(pg, group.chat)
    pg.sim.leave(group.chat, dave)          # left during that check long ago
    await pg.settle()
    await say(pg, group.owner, "/set screening off", group.chat)
    pg.clock.advance(days=30)
    pg.sim.join(group.chat, dave)           # back while nobody was screened…
    await pg.settle()
    await pg.app.bot.restrict_chat_member(  # …and an admin muted him for good: the same shape as the check's
        group.chat.id, dave.id, ChatPermissions.no_permissions(), use_independent_chat_permissions=True)
    await pg.settle()
    pg.sim.leave(group.chat, dave)
    await pg.settle()
    await say(pg, group.owner, "/set screening on", group.chat)
    pg.clock.advance(minutes=5)
    pg.sim.join(group.chat, dave)
    await pg.settle()
    await pass_check(pg, group.chat, dave)
    assert not can_send(pg, group.chat, dave)  # the admin's mute stands


async def test_passing_reads_the_members_rights_and_keeps_a_mute_the_bot_never_saw(pg, group):
    """An admin muted the newcomer during the check and that change never reached the bot (its chat_member update
    lost): passing asks Telegram first, sees a restriction that is not the check's, and leaves it."""
    from bot.app import ALLOWED_UPDATES

    await screening_on(pg, group)
    dave = await join(pg, group.chat)
    until = pg.clock.now() + timedelta(hours=1)
    await pg.app.bot.restrict_chat_member(group.chat.id, dave.id, ChatPermissions(can_send_messages=True), until_date=until,
                                          use_independent_chat_permissions=True)
    assert [u for u in pg.sim.take_updates(ALLOWED_UPDATES) if "chat_member" in u]  # dropped: the bot never hears of it
    await pass_check(pg, group.chat, dave)
    m = pg.sim.member(group.chat, dave)
    assert m["status"] == "restricted" and m["until_date"] == int(until.timestamp())
    assert m["can_send_messages"] and not m["can_send_photos"]  # the admin's mute, not lifted


async def test_passing_when_telegram_cannot_say_lifts_by_what_the_check_recorded(pg, group):
    await screening_on(pg, group)
    dave = await join(pg, group.chat)
    pg.sim.network_error("getChatMember")
    await pass_check(pg, group.chat, dave)
    assert can_send(pg, group.chat, dave)
