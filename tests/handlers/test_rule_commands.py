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
    assert "· activator_xp: not for my own commands (a rule that rewards does not pay for a command; the command rewards by itself)" in traced
    assert "counting this one" not in traced  # Sticky's own commands do not count toward flood: nothing counted
    plain = await say(pg, g.admin, "/rule test hello", g.chat)
    assert "· flood 6 in 10s: 1 message in the last 10s, counting this one" in plain
    assert "· activator_xp: not fired, because this does not hold: role = activator" in plain
    assert any(line.startswith("✅ ") and "xp +1" in line for line in plain.splitlines())
    # Another bot's command is not Sticky's: a reward rule judges it like a message.
    other = await say(pg, g.admin, "/rule test /checkin@OtherBot", g.chat)
    assert "not for my own commands" not in other
    await say(pg, g.owner, "/lang zh", g.chat)
    zh = await say(pg, g.admin, "/rule test /checkin", g.chat)
    assert "activator_xp：不计我自己的命令" in zh
