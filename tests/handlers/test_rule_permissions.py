"""The permission matrix of the rule commands with real arguments: /rule, /lock, /setflood, /setlog and
/rules_import, each sent by the owner, an admin, an anonymous admin, an activator, a spreader and a member. Who may
gets it done; everyone else gets one clear refusal and changes nothing."""
from __future__ import annotations

import pytest

from bot.domain.roles import Role
from tests.handlers.test_permissions import SENDERS, answer, refusal, sender_for
from tests.helpers import make_group

# (command, the role it needs, what the first line of a successful answer starts with); /setlog to the owner's log
# group, where the group's admin is an admin too: an anonymous admin can't show it is theirs, and is refused.
MATRIX = [
    ("/rule add when message and has link then delete", Role.ADMIN, "Rule 6 (rule6) added."),
    ("/rule list", Role.ADMIN, "Rules, in order"),
    ("/lock sticker", Role.ADMIN, "Locked: sticker (stickers)."),
    ("/unlock sticker", Role.ADMIN, "Unlocked: sticker (stickers)."),
    ("/locks", Role.MEMBER, "Locks (a locked kind"),
    ("/setflood 5 in 20s", Role.ADMIN, "Antiflood: 5 messages in 20s"),
    ("/setfloodmode kick", Role.ADMIN, "Antiflood: 5 messages in 20s from one member → kick."),
    ("/setlog {log}", Role.ADMIN, "From now on every moderation action"),
    ("/unsetlog", Role.ADMIN, "No more posts to the log chat"),
    ("/rules_import sticky_rules: 1\nrules: []", Role.OWNER, "Dry run of the import"),
    ("/rules_export", Role.OWNER, "The rules file goes to you in private"),  # the owner never started Sticky here
]


@pytest.mark.parametrize("kind", list(SENDERS))
async def test_rule_commands_by_role(pg, kind):
    g = await make_group(pg)
    log = pg.sim.create_group("Tea Log", owner=g.owner)
    pg.sim.join(log, g.admin)
    pg.sim.promote(log, g.admin, by=g.owner)
    pg.sim.add_bot(log, by=g.owner)
    await pg.settle()
    user, as_chat = await sender_for(pg, g, kind)
    role = SENDERS[kind]
    async def state():  # what a rule command can change: the rules in order, the lists, the log chat
        rows = [(r.name, r.source, r.enabled) for r in await pg.services.rules.rows(g.chat.id)]
        return rows, await pg.services.rules.list_items(g.chat.id, "blocklist"), await pg.services.logchat.get(g.chat.id)

    rules_before = [(r.name, r.source, r.enabled) for r in await pg.services.rules.rows(g.chat.id)]
    for command, needed, success in MATRIX:
        before = await state()
        said = await answer(pg, user, command.format(log=log.id), g.chat, as_chat)
        if said and said[0].startswith(("Only ", "As an anonymous admin")):
            assert await state() == before, f"{command} by {kind}: refused, yet something changed"
        if command.startswith("/setlog") and kind == "anonymous admin":
            assert said == ["As an anonymous admin I can't tell whether Tea Log ({}) is yours: send /setlog as yourself "
                            "(not anonymously).".format(log.id)], said
        elif command == "/unsetlog" and kind == "anonymous admin":
            assert said == ["This group has no log chat."], said
        elif role >= needed:
            assert said, f"{command} by {kind}: no answer"
            if success:
                assert said[0].startswith(success), f"{command} by {kind}: {said}"
            else:
                assert pg.sim.replies(g.chat)[-1].get("document"), f"{command} by {kind}: no file"
        else:
            assert said == [refusal(needed)], f"{command} by {kind}: {said}"
    rules_after = [(r.name, r.source, r.enabled) for r in await pg.services.rules.rows(g.chat.id)]
    if role < Role.ADMIN:
        assert rules_after == rules_before                           # nothing a refused command could change
        assert await pg.services.logchat.get(g.chat.id) is None
    else:
        assert ("rule6", "when message and has link then delete", True) in rules_after


async def test_only_the_owner_confirms_an_import(pg):
    g = await make_group(pg)
    await answer(pg, g.owner, "/rules_import sticky_rules: 1\nrules: []", g.chat)
    question = pg.sim.replies(g.chat)[-1]
    apply = question["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    pg.sim.promote(g.chat, g.bob, by=g.owner, is_anonymous=True)
    await pg.settle()
    for presser in (g.admin, g.bob, g.alice):                  # an admin, an anonymous admin, a member
        pg.sim.press(presser, question, apply)
        await pg.settle()
        assert pg.sim.calls("answerCallbackQuery")[-1].params.get("text") == "Only the group's owner can confirm an import."
    assert len(await pg.services.rules.rows(g.chat.id)) == 5
    pg.sim.press(g.owner, question, apply)
    await pg.settle()
    assert await pg.services.rules.rows(g.chat.id) == ()
