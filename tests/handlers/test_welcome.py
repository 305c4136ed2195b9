"""A welcome on every join (issue 13), not only after the captcha, and a welcome independent of the rules text:
clearing the rules never turns a custom welcome back into the built-in one (its {rules} points to /rules, and the
admin is told)."""
from __future__ import annotations

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
