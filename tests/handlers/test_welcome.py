"""A welcome on every join (issue 13), not only after the captcha, and a welcome independent of the rules text:
clearing the rules never turns a custom welcome back into the built-in one (its {rules} points to /rules, and the
admin is told)."""
from __future__ import annotations

import pytest

from bot.app import ALLOWED_UPDATES
from tests.handlers.funnel_helpers import newcomer, press, screening_on
from tests.helpers import say


def texts_in(pg, chat) -> list[str]:
    return [m.get("text", "") for m in pg.sim.replies(chat)]


async def test_every_join_is_welcomed_without_screening_once(pg, group):
    await newcomer(pg, group.chat, "dave")
    assert texts_in(pg, group.chat).count("Welcome to Tea Lovers, Dave! Say hello to everyone.") == 1
    await say(pg, group.admin, "/set welcome Hi {name}, this is {group}!", group.chat)
    await newcomer(pg, group.chat, "erin")
    assert texts_in(pg, group.chat)[-1] == "Hi Erin, this is Tea Lovers!"
    # Someone coming back is welcomed again; a bot joining is not.
    pg.sim.leave(group.chat, group.bob)
    pg.sim.join(group.chat, group.bob)
    await pg.settle()
    assert texts_in(pg, group.chat)[-1] == "Hi Bob, this is Tea Lovers!"
    pg.sim.join(group.chat, pg.sim.user("helperbot", is_bot=True))
    await pg.settle()
    assert texts_in(pg, group.chat)[-1] == "Hi Bob, this is Tea Lovers!"


async def test_with_screening_the_welcome_waits_for_the_pass(pg, group):
    await screening_on(pg, group)
    dave, check = await newcomer(pg, group.chat)
    assert not any("Dave" in t and "Welcome" in t for t in texts_in(pg, group.chat))
    await press(pg, group.chat, dave, check)
    assert [t for t in texts_in(pg, group.chat) if t.startswith("Welcome to Tea Lovers, Dave")] == [
        "Welcome to Tea Lovers, Dave! Say hello to everyone."]


async def test_the_welcome_and_the_rules_are_independent(pg, group):
    note = "Note: the welcome shows {rules}, but the group has no rules now, so it points to /rules until you set them with /setrules TEXT."
    # A welcome with {rules} is kept even without rules (it used to be refused), and the admin is told.
    assert (await say(pg, group.admin, "/set welcome Hi {name}, read {rules}", group.chat)).splitlines() == [
        "welcome is now Hi {name}, read {rules}.", note]
    await newcomer(pg, group.chat, "dave")
    assert texts_in(pg, group.chat)[-1] == "Hi Dave, read /rules"
    assert await say(pg, group.admin, "/set rules https://example.org/rules", group.chat) == "rules is now https://example.org/rules."
    await newcomer(pg, group.chat, "erin")
    assert texts_in(pg, group.chat)[-1] == "Hi Erin, read https://example.org/rules"
    # Clearing the rules keeps the custom welcome (it no longer falls back to the built-in one) and says so.
    assert (await say(pg, group.admin, "/set rules default", group.chat)).splitlines() == [
        "rules is back to the default (empty).", note]
    await newcomer(pg, group.chat, "fred")
    assert texts_in(pg, group.chat)[-1] == "Hi Fred, read /rules"
    assert (await pg.services.groups.settings(group.chat.id)).welcome == "Hi {name}, read {rules}"


async def test_the_welcome_on_join_is_in_the_groups_language(pg, group):
    await say(pg, group.owner, "/lang zh", group.chat)
    await newcomer(pg, group.chat, "dave")
    zh = texts_in(pg, group.chat)[-1]
    assert "Dave" in zh and "Tea Lovers" in zh and "Welcome" not in zh
    assert (await say(pg, group.admin, "/set welcome 你好 {name}，请看 {rules}", group.chat)).splitlines()[1].startswith("注意")


async def test_a_group_may_turn_the_welcome_off(pg, group):
    assert await say(pg, group.admin, "/set greet off", group.chat) == "greet is now off."
    before = len(pg.sim.replies(group.chat))
    await newcomer(pg, group.chat, "dave")
    assert len(pg.sim.replies(group.chat)) == before
    await say(pg, group.admin, "/set greet default", group.chat)
    await newcomer(pg, group.chat, "erin")
    assert texts_in(pg, group.chat)[-1] == "Welcome to Tea Lovers, Erin! Say hello to everyone."


# ---------------------------------------------------------------- who tells Sticky of a join
# Telegram sends chat_member updates only to a group's admins (and only when asked for them); every bot in the group
# gets the "X joined" / "X left" service messages. Sticky takes each join from exactly one of them.

WELCOME = "Welcome to Tea Lovers, {}! Say hello to everyone."


async def plain_group(pg):
    """Tea Lovers with Sticky added as a plain member, not an admin."""
    owner = pg.sim.user("owner")
    chat = pg.sim.create_group("Tea Lovers", owner=owner)
    pg.sim.add_bot(chat, by=owner, admin=False)
    await pg.settle()
    return chat, owner


def welcomes(pg, chat, name: str) -> int:
    return texts_in(pg, chat).count(WELCOME.format(name))


async def events(pg, chat, user) -> list[tuple]:
    """The joins and leaves Sticky counted for `user` (what /stats, /funnel and the retention figures read)."""
    rows = await pg.services.db.fetchall(
        "SELECT event, invite_link FROM member_events WHERE chat_id = ? AND user_id = ? ORDER BY id", (chat.id, user.id))
    return [tuple(r) for r in rows]


async def test_where_sticky_is_no_admin_each_join_is_welcomed_and_counted_once_from_the_joined_message(pg):
    chat, owner = await plain_group(pg)
    dave = pg.sim.user("dave")
    pg.sim.join(chat, dave)
    await pg.settle()
    assert welcomes(pg, chat, "Dave") == 1
    assert await events(pg, chat, dave) == [("join", None)]  # the message names no invite link
    # "Dave left" is heard too, so coming back is a join again, welcomed again.
    pg.sim.leave(chat, dave)
    await pg.settle()
    assert (await pg.services.members.member(chat.id, dave.id)).status == "left"
    pg.sim.join(chat, dave)
    await pg.settle()
    assert welcomes(pg, chat, "Dave") == 2
    assert await events(pg, chat, dave) == [("join", None), ("leave", None), ("join", None)]
    # Two people added at once come in one message: each is welcomed and counted once.
    erin, fred = pg.sim.user("erin"), pg.sim.user("fred")
    pg.sim.add_members(chat, [erin, fred], by=owner)
    await pg.settle()
    assert (welcomes(pg, chat, "Erin"), welcomes(pg, chat, "Fred")) == (1, 1)
    assert await events(pg, chat, erin) == await events(pg, chat, fred) == [("join", None)]
    # A bot is not welcomed (and, without an admin's rights, not removed either).
    before = len(texts_in(pg, chat))
    helper = pg.sim.user("helperbot", is_bot=True)
    pg.sim.add_member(chat, helper, by=owner)
    await pg.settle()
    assert len(texts_in(pg, chat)) == before
    assert pg.sim.member(chat, helper)["status"] == "member"


async def test_without_the_right_to_restrict_nobody_is_screened_and_the_welcome_comes_at_once(pg):
    chat, owner = await plain_group(pg)
    await say(pg, owner, "/set screening on", chat)
    assert (await pg.services.groups.settings(chat.id)).screening
    gina, _ = await newcomer(pg, chat, "gina")
    assert welcomes(pg, chat, "Gina") == 1
    assert pg.sim.member(chat, gina)["status"] == "member"  # not restricted: Sticky could not, and did not try
    assert await pg.services.funnel.repo.pending_check(chat.id, gina.id) is None


async def test_an_admin_sticky_welcomes_once_whichever_of_the_two_updates_comes_first(pg, group):
    chat = group.chat
    link = pg.sim.create_invite_link(chat, by=group.owner)
    for name, order in (("dave", 1), ("erin", -1)):  # chat_member first as the simulator sends them, then reversed
        user = pg.sim.user(name)
        pg.sim.join(chat, user, link=link)
        updates = pg.sim.take_updates(ALLOWED_UPDATES)
        assert sorted(k for u in updates for k in u if k != "update_id") == ["chat_member", "message"]
        await pg.deliver(updates[::order])
        await pg.settle()
        assert welcomes(pg, chat, name.title()) == 1
        # Counted once, from the chat_member update: the one that says which link they came by (another admin's
        # link, so Telegram shows it elided).
        [(kind, url)] = await events(pg, chat, user)
        assert kind == "join" and url.endswith("…") and link.startswith(url[:-1])


async def test_sticky_promoted_or_demoted_takes_each_join_from_what_it_gets_then(pg):
    chat, owner = await plain_group(pg)
    dave = pg.sim.user("dave")
    pg.sim.join(chat, dave)
    await pg.settle()
    # Each change of Sticky's own standing is taken from its update, even when the admin list cannot be read then.
    pg.sim.network_error("getChatAdministrators")
    pg.sim.promote(chat, pg.sim.bot, by=owner)  # from here Telegram sends chat_member too
    erin = pg.sim.user("erin")
    pg.sim.join(chat, erin)
    await pg.settle()
    pg.sim.network_error("getChatAdministrators")
    pg.sim.demote(chat, pg.sim.bot, by=owner)  # and from here no longer
    fred = pg.sim.user("fred")
    pg.sim.join(chat, fred)
    await pg.settle()
    assert [welcomes(pg, chat, n) for n in ("Dave", "Erin", "Fred")] == [1, 1, 1]
    for user in (dave, erin, fred):
        assert await events(pg, chat, user) == [("join", None)]


@pytest.mark.parametrize("admin", [False, True])
async def test_a_join_delivered_again_after_a_restart_is_not_welcomed_or_counted_again(pg, admin):
    chat, owner = await plain_group(pg)
    if admin:
        pg.sim.promote(chat, pg.sim.bot, by=owner)
        await pg.settle()
    dave, erin = pg.sim.user("dave"), pg.sim.user("erin")
    pg.sim.join(chat, dave)
    first = pg.sim.take_updates(ALLOWED_UPDATES)
    await pg.deliver(first[::-1])
    await pg.settle()
    # Erin's join is received, then the process dies before handling it: the restart handles it first.
    pg.sim.join(chat, erin)
    second = pg.sim.take_updates(ALLOWED_UPDATES)
    await pg.services.inbox.receive(second)
    await pg.restart()
    await pg.settle()
    # Telegram was never told: everything comes again, in the other order.
    await pg.deliver(first + second[::-1])
    await pg.settle()
    assert (welcomes(pg, chat, "Dave"), welcomes(pg, chat, "Erin")) == (1, 1)
    assert await events(pg, chat, dave) == await events(pg, chat, erin) == [("join", None)]
