"""The permission matrix: every registered command that needs a role, tried by every kind of sender.
Commands are read from the running Application, so a new privileged command is covered without editing this file."""
from __future__ import annotations

import pytest

from bot.domain.errors import GroupOnlyError, NotAllowedError
from bot.domain.roles import Role
from bot.texts import translator
from bot.texts.core import internal_error, role_name
from handlers.base import spec_of
from tests.helpers import make_group

EN = translator("en")
INTERNAL_ERROR = internal_error(EN)
GROUP_ONLY = "This command works in a group. Add me to your group and use it there."

# Who sends, and the role Sticky must give them.
SENDERS = {
    "owner": Role.OWNER,
    "admin": Role.ADMIN,
    "anonymous admin": Role.ADMIN,
    "activator": Role.ACTIVATOR,
    "spreader": Role.SPREADER,
    "member": Role.MEMBER,
}


def refusal(needed: Role) -> str:
    from bot.texts.core import error

    return error(EN, NotAllowedError(needed=needed))


def specs(pg):
    return [spec_of(c) for c in pg.app.bot_data.commands]


async def sender_for(pg, g, kind: str):
    """A group where `kind` exists; returns (user, as_chat)."""
    sim = pg.sim
    if kind == "owner":
        return g.owner, False
    if kind == "admin":
        return g.admin, False
    if kind == "anonymous admin":
        sim.promote(g.chat, g.bob, by=g.owner, is_anonymous=True)
        await pg.settle()
        return g.bob, True
    if kind in ("activator", "spreader"):
        sim.send(g.owner, f"/setrole @alice {kind}", g.chat)
        await pg.settle()
        assert pg.sim.replies(g.chat)[-1]["text"] == f"Alice is now {kind.capitalize()}."
        return g.alice, False
    dave = sim.user("dave")
    sim.join(g.chat, dave)
    sim.send(dave, "hello", g.chat)
    await pg.settle()
    return dave, False


async def answer(pg, user, text, chat, as_chat=False) -> list[str]:
    """Every message the bot sent because of `text` (in the group or privately to the sender)."""
    places = [chat] if as_chat else [user] if chat is None else [chat, user]
    before = [len(pg.sim.replies(place)) for place in places]
    pg.clock.advance(seconds=3)  # a person types one command every few seconds (seven in ten seconds are a flood)
    pg.sim.send(user, text, chat, as_chat=as_chat)
    await pg.settle()
    new = []
    for place, count in zip(places, before):
        new += [m.get("text", m.get("caption", "")) for m in pg.sim.replies(place)[count:]]
    return new


@pytest.mark.parametrize("kind", list(SENDERS))
async def test_privileged_commands_by_role(pg, kind):
    g = await make_group(pg)
    user, as_chat = await sender_for(pg, g, kind)
    role = SENDERS[kind]
    privileged = [s for s in specs(pg) if s.role > Role.MEMBER and s.where != "private"]
    assert {"setrole", "unsetrole", "settings", "set", "lang"} <= {s.name for s in privileged}
    for spec in privileged:
        said = await answer(pg, user, f"/{spec.name}", g.chat, as_chat)
        assert said, f"/{spec.name} by {kind}: no answer at all"
        assert INTERNAL_ERROR not in said, f"/{spec.name} by {kind}: internal error"
        if role >= spec.role:
            assert not any(t.startswith("Only ") and t.endswith(" can use this command.") for t in said), (
                f"/{spec.name} by {kind} was refused: {said}"
            )
        else:
            assert said == [refusal(spec.role)], f"/{spec.name} by {kind}: {said}"


async def test_every_member_command_is_usable_by_a_plain_member(pg):
    g = await make_group(pg)
    dave, _ = await sender_for(pg, g, "member")
    for spec in specs(pg):
        if spec.role > Role.MEMBER:
            continue
        chat = None if spec.where == "private" else g.chat
        said = await answer(pg, dave, f"/{spec.name}", chat)
        assert said, f"/{spec.name}: no answer"
        assert INTERNAL_ERROR not in said
        assert not any(t.endswith(" can use this command.") for t in said), f"/{spec.name}: {said}"
        assert GROUP_ONLY not in said and "This command works in a private chat with me." not in said


async def test_group_commands_in_private_chat_say_so_for_everyone(pg):
    """Not connected (/connect): a member command says it works in their group, an admin command says how to manage
    a group from here (or to send it there) — to a member, that only admins may —, and a personal one (/me…) answers
    for the sender's only group."""
    g = await make_group(pg)
    group_only = [s for s in specs(pg) if s.where == "group"]
    assert {"roles", "setrole", "settings"} <= {s.name for s in group_only}
    for user in (g.owner, g.alice):
        for spec in group_only:
            said = await answer(pg, user, f"/{spec.name}", None)
            if spec.personal:
                expected_head = "[Tea Lovers]"
                assert said and said[-1].splitlines()[0] == expected_head, f"/{spec.name} in private by {user.username}: {said}"
            elif spec.role >= Role.ADMIN and not spec.remote:
                assert said == [f"/{spec.name} works only in the group itself: send it there."], said
            elif spec.role >= Role.ADMIN and user is g.owner:
                assert said == [f"/{spec.name} acts on a group: send it there, or pick a group to manage from here with /connect."], said
            elif spec.role >= Role.ADMIN:  # a member, who cannot /connect: refused as in the group
                assert said == [f"Only {role_name(EN, spec.role)} and above can use this command."], said
            else:  # Sticky knows them in Tea Lovers: they need not add it to a group
                assert said == [f"/{spec.name} works in your group: send it there."], f"/{spec.name} in private by {user.username}: {said}"
    # The same line the error renderer gives, so the zh catalog covers it too.
    from bot.texts.core import error

    assert error(EN, GroupOnlyError()) == GROUP_ONLY


async def test_command_menus_follow_the_matrix(pg):
    """Telegram's '/' menu: admins see the admin commands, members only what they may use."""
    menus: dict[tuple[str, str | None], set[str]] = {}
    for call in pg.sim.calls("setMyCommands"):
        key = (call.params["scope"]["type"], call.params.get("language_code"))
        menus[key] = {c["command"] for c in call.params["commands"]}
    group_specs = [s for s in specs(pg) if s.where in ("group", "any")]
    for lang in (None, "zh"):
        assert menus[("all_group_chats", lang)] == {s.name for s in group_specs if s.role == Role.MEMBER and not s.admin_tool}
        assert "connect" not in menus[("all_group_chats", lang)] and "connect" in menus[("all_chat_administrators", lang)]
        assert menus[("all_chat_administrators", lang)] == {s.name for s in group_specs if s.role <= Role.ADMIN}
        assert menus[("all_private_chats", lang)] == {s.name for s in specs(pg) if s.where in ("private", "any")}
