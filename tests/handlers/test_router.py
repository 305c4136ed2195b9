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
    # Bob: Alice's sixth message within ten seconds would be a flood, which the antiflood rule mutes and says so.
    assert await say(pg, group.bob, "/nosuchcommand", group.chat) == ""


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


def test_service_messages_are_told_apart_exactly_as_ptbs_status_update_filter_does():
    """SERVICE_MESSAGE reads the fields StatusUpdate.ALL asks about at once: for a message with any one of
    Message's fields set, and for the real shapes a group sees, both give the same answer (and the service
    messages Sticky relies on — joins, leaves, pins, titles, migrations — are among them)."""
    from datetime import datetime, timezone

    from telegram import Chat, Message, Update, User
    from telegram.ext import filters

    from handlers.router import SERVICE_MESSAGE

    def message(**fields):
        return Message(message_id=1, date=datetime(2026, 3, 2, tzinfo=timezone.utc), chat=Chat(-100, Chat.SUPERGROUP), **fields)

    names = [n for cls in Message.__mro__ for n in getattr(cls, "__slots__", ()) if not n.startswith("_")]
    service = []
    for name in names:
        m = message()
        with m._unfrozen():
            setattr(m, name, True)
        for update in (Update(1, message=m), Update(1, edited_message=m), Update(1, channel_post=m)):
            assert SERVICE_MESSAGE.check_update(update) == bool(filters.StatusUpdate.ALL.check_update(update)), name
        if SERVICE_MESSAGE.check_update(Update(1, message=m)):
            service.append(name)
    assert {"new_chat_members", "left_chat_member", "pinned_message", "new_chat_title", "migrate_to_chat_id"} <= set(service)
    alice = User(7, "Alice", False)
    assert not SERVICE_MESSAGE.check_update(Update(1, message=message(text="hello", from_user=alice)))
    assert SERVICE_MESSAGE.check_update(Update(1, message=message(new_chat_members=(alice,), from_user=alice)))
    assert SERVICE_MESSAGE.check_update(Update(1, message=message(left_chat_member=alice, from_user=alice)))
    assert not SERVICE_MESSAGE.check_update(Update(1))  # no message at all
