"""Sticky's own commands and `when message` rules: a rule that rewards (points +N, XP, a badge, a role) does not fire
on /checkin or /me — the command rewards by itself, so the default activator_xp rule does not pay a check-in twice —
while content and penalty rules (blocklist words in the arguments, links, locks) still judge them. /rule test says
which rule a command skips and why."""
from __future__ import annotations

from tests.handlers.test_rule_effects import add, rule_rows
from tests.handlers.test_rules import deleted
from tests.helpers import say


async def test_a_check_in_earns_no_message_reward_and_a_plain_message_still_does(pg, group):
    g = group
    await say(pg, g.owner, "/setrole @alice activator", g.chat)
    await say(pg, g.alice, "/checkin", g.chat)
    await say(pg, g.alice, "/me", g.chat)
    assert await rule_rows(pg, g, g.alice) == []  # activator_xp did not fire on her commands…
    pg.sim.send(g.alice, "good morning, tea lovers", g.chat)
    await pg.settle()
    assert await rule_rows(pg, g, g.alice) == [("xp", 5)]  # …so its daily cooldown was still free for this message
    xp = await pg.services.db.fetchval("SELECT xp FROM wallets WHERE chat_id = ? AND user_id = ?", (g.chat.id, g.alice.id))
    assert xp == 10 + 5  # the check-in's own 10 XP, and the rule's 5 for her first real message


async def test_content_and_penalty_rules_still_judge_a_command(pg, group):
    g = group
    await say(pg, g.admin, '/addblocklist "cheap followers"', g.chat)
    await add(pg, g, 'when message and words "tip" then points -1')
    spam = pg.sim.send(g.bob, "/feedback cheap followers at spam.example", g.chat)
    await pg.settle()
    assert deleted(pg, spam)
    assert len(await pg.services.moderation.warns(g.chat.id, g.bob.id)) == 1
    await say(pg, g.admin, "/give @carol 5 welcome", g.chat)
    await say(pg, g.carol, "/feedback a tip for the shop", g.chat)
    assert await rule_rows(pg, g, g.carol) == [("points", -1)]  # a deduction is a penalty: it applies to a command


async def test_rule_test_explains_why_a_reward_rule_skips_a_command(pg, group):
    g = group
    await add(pg, g, "when message then xp +1")
    traced = await say(pg, g.admin, "/rule test /checkin", g.chat)
    skipped = "· activator_xp: not for commands (a rule that rewards pays for taking part, not for a command; a rule on the command trigger may)"
    assert skipped in traced
    assert "· flood 6 in 10s: 1 message in the last 10s, counting this one" in traced  # a command counts toward flood
    plain = await say(pg, g.admin, "/rule test hello", g.chat)
    assert "· flood 6 in 10s: 1 message in the last 10s, counting this one" in plain
    assert "· activator_xp: not fired, because this does not hold: role = activator" in plain
    assert any(line.startswith("✅ ") and "xp +1" in line for line in plain.splitlines())
    # Another bot's command earns no reward either: it is talking to a bot, not taking part.
    other = await say(pg, g.admin, "/rule test /checkin@OtherBot", g.chat)
    assert skipped in other and not any(line.startswith("✅ ") and "xp +1" in line for line in other.splitlines())
    await say(pg, g.owner, "/lang zh", g.chat)
    zh = await say(pg, g.admin, "/rule test /checkin", g.chat)
    assert "activator_xp：不计命令（" in zh


async def test_commands_count_as_messages_for_moderation_and_earn_no_rule_reward(pg, group):
    """The decision (README, rules): a command — Sticky's own or another bot's — is a message to moderation (flood
    counts it, as Rose's antiflood and YAGPDB's automod count every message) and to the member's message count
    (`messages < N`, as /stats), but no `message` rule rewards it; a rule on the `command` trigger may."""
    g = group
    await say(pg, g.owner, "/setrole @alice activator", g.chat)
    for text in ("/start@OtherBot", "/help@OtherBot"):
        pg.sim.send(g.alice, text, g.chat)
        await pg.settle()
    assert await rule_rows(pg, g, g.alice) == []          # activator_xp: no command pays the daily XP…
    pg.sim.send(g.alice, "morning all", g.chat)
    await pg.settle()
    assert await rule_rows(pg, g, g.alice) == [("xp", 5)]  # …so her first real message still gets it
    # Ten of Sticky's own commands in a few seconds are a flood (and ten answers): the default antiflood mutes.
    pg.clock.advance(minutes=1)
    for _ in range(7):
        pg.sim.send(g.bob, "/me", g.chat)
    await pg.settle()
    assert [c.params["user_id"] for c in pg.sim.calls("restrictChatMember") if c.ok] == [g.bob.id]
    # A command counts in the member's messages (`messages < N` sees it, as /stats does).
    pg.clock.advance(minutes=5)
    before = (await pg.services.rules.facts(g.chat.id, g.carol.id, False, pg.clock.now())).messages
    for text in ("/me", "/top"):
        await say(pg, g.carol, text, g.chat)
    assert (await pg.services.rules.facts(g.chat.id, g.carol.id, False, pg.clock.now())).messages == before + 2
    # A rule that names the command trigger rewards commands: it says so.
    await add(pg, g, "when command then points +1")
    pg.sim.send(g.carol, "/start@OtherBot", g.chat)
    await pg.settle()
    assert ("points", 1) in await rule_rows(pg, g, g.carol)
