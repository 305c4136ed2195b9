"""Help that teaches (issue 13): /help grouped by purpose, /help COMMAND with usage, a real example and who may
use it (in the group's language), a pointer for unknown commands and plain text in private, and silence in a
group for commands that are not addressed to Sticky."""
from __future__ import annotations

from tests.helpers import say


async def test_help_groups_commands_by_what_they_are_for(pg, group):
    text = await say(pg, group.admin, "/help", group.chat)
    lines = text.splitlines()
    assert lines[0] == "Commands for you (Admin):"
    sections = [l for l in lines if l and not l.startswith("/") and l != lines[0]]
    assert sections[:3] == ["Getting started", "Check-in and points", "Friends and invites"]
    assert "Members (admins)" in sections
    assert lines.index("/checkin — Daily check-in: points, XP and your streak") > lines.index("Check-in and points")
    assert lines.index("/give — Give a member points (with a reason)") > lines.index("Members (admins)")
    assert lines[-1] == "/help COMMAND shows how to use one, with an example."
    member = (await say(pg, group.alice, "/help", group.chat)).splitlines()
    assert "Members (admins)" not in member and "Check-in and points" in member


async def test_help_command_gives_usage_a_real_example_and_who_may_use_it(pg, group):
    assert (await say(pg, group.alice, "/help give", group.chat)).splitlines() == [
        "/give — Give a member points (with a reason)",
        "Usage: /give @username|id|(reply) AMOUNT REASON",
        "Example: /give @alice 20 wrote the tea guide",
        "Who: Admin and above, in a group.",
    ]
    assert (await say(pg, group.alice, "/help /checkin", group.chat)).splitlines()[2:] == [
        "Example: /checkin", "Who: everyone, in a group."]
    assert await say(pg, group.alice, "/help nosuch", group.chat) == "I don't know /nosuch. /help lists what I can do."
    await say(pg, group.owner, "/lang zh", group.chat)
    zh = (await say(pg, group.alice, "/help give", group.chat)).splitlines()
    assert zh[0].startswith("/give — ") and zh[1].startswith("用法：/give") and zh[2].startswith("示例：")


async def test_unknown_commands_get_a_pointer_in_private_and_when_addressed_but_quiet_otherwise(pg, group):
    alice = group.alice
    pg.sim.send(alice, "/start")
    await pg.settle()
    assert await say(pg, alice, "/frobnicate") == "I don't know /frobnicate. /help lists what I can do."
    assert await say(pg, alice, "what can you do?") == "I answer commands. /help lists them; /help COMMAND shows one with an example."
    assert await say(pg, alice, "/frobnicate", group.chat) == ""                       # maybe another bot's
    assert await say(pg, alice, "/frobnicate@OtherBot", group.chat) == ""
    assert await say(pg, alice, "/frobnicate@StickyTestBot", group.chat) == "I don't know /frobnicate. /help lists what I can do."
    assert (await say(pg, alice, "/me@StickyTestBot", group.chat)).startswith("Alice — Member")
