"""The command router: one handler finds every `@command` by name, reading a command as PTB's CommandHandler does."""
from __future__ import annotations

import pytest
from telegram.ext import CommandHandler

from bot.app import all_commands
from handlers.base import command, spec_of
from handlers.router import CommandRouter
from tests.helpers import say


async def test_a_command_for_this_bot_runs_and_one_for_another_bot_is_ignored(pg, group):
    bot_name = pg.sim.bot.username
    assert "Tier:" in await say(pg, group.alice, "/me", group.chat)
    assert "Tier:" in await say(pg, group.alice, f"/me@{bot_name}", group.chat)
    assert "Tier:" in await say(pg, group.alice, f"/ME@{bot_name.upper()}", group.chat)
    assert await say(pg, group.alice, "/me@SomeOtherBot", group.chat) == ""
    assert await say(pg, group.alice, "/nosuchcommand", group.chat) == ""


async def test_arguments_reach_the_command_as_commandhandler_gives_them(pg, group):
    # /top's arguments are checked: a bad one gets the usage line, good ones (any case, extra spaces) the board.
    assert "Usage" in await say(pg, group.alice, "/top bogus", group.chat)
    assert "Usage" not in await say(pg, group.alice, f"/top@{pg.sim.bot.username}   XP    all", group.chat)


async def test_an_edited_command_is_not_run_again(pg, group):
    pg.sim.send(group.alice, "/checkin", group.chat)
    await pg.settle()
    before = len(pg.sim.replies(group.chat))
    message = pg.sim.messages(group.chat)[-2]  # alice's command (the bot's answer is last)
    assert message["text"] == "/checkin"
    pg.sim.edit(group.alice, message, "/checkin ")
    await pg.settle()
    assert len(pg.sim.replies(group.chat)) == before


def test_every_registered_command_is_routed_by_its_name():
    router = CommandRouter(all_commands())
    assert set(router.routes) == {spec_of(c).name for c in all_commands()}
    assert all(CommandHandler(name, cb) for name, cb in router.routes.items())  # names PTB accepts


def test_a_name_registered_twice_is_refused():
    @command("twice")
    async def one(update, context):
        return None

    @command("twice")
    async def two(update, context):
        return None

    with pytest.raises(ValueError, match="twice"):
        CommandRouter([one, two])
