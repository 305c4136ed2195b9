"""A handler that fails: the one error handler logs it with the update id (so the admin can find it) and the
user gets one line, in the group's language — never silence, never a traceback in the chat."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from telegram import Update

from bot.context import BotContext
from bot.texts import translator
from bot.texts.core import internal_error
from handlers import points as hp
from tests.handlers.test_campaigns import chat_xp
from tests.helpers import say


async def test_a_failing_handler_is_logged_with_the_update_id_and_answered(pg, group, monkeypatch, caplog):
    async def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pg.services.groups, "display_settings", broken)
    pg.sim.send(group.admin, "/settings", group.chat)
    (update,) = pg.sim.take_updates()
    with caplog.at_level(logging.ERROR, logger="bot.app"):
        await pg.app.process_update(Update.de_json(update, pg.app.bot))
    await pg.settle()

    (record,) = [r for r in caplog.records if r.name == "bot.app" and r.levelno == logging.ERROR]
    assert record.getMessage() == f"error handling update {update['update_id']}: disk on fire"
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)  # the traceback is in the log
    assert pg.sim.replies(group.chat)[-1]["text"] == (
        "Something went wrong on my side; the admins can find it in the log. Please try again later."
    )

    # In the group's language; and the bot keeps working for everything else.
    monkeypatch.undo()
    await say(pg, group.owner, "/lang zh", group.chat)
    monkeypatch.setattr(pg.services.groups, "display_settings", broken)
    assert await say(pg, group.admin, "/settings", group.chat) == internal_error(translator("zh"))
    assert (await say(pg, group.alice, "/roles", group.chat)).startswith("Tea Lovers 的角色")


async def test_an_error_where_the_bot_cannot_write_is_only_logged(pg, group, monkeypatch, caplog):
    async def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pg.services.groups, "display_settings", broken)
    pg.sim.send(group.admin, "/settings", group.chat)
    updates = pg.sim.take_updates()
    pg.sim.set_fail("sendMessage", 403, "Forbidden: bot was kicked from the supergroup chat")
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        for data in updates:
            await pg.app.process_update(Update.de_json(data, pg.app.bot))  # must not raise
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.app"]
    assert messages == [
        f"error handling update {updates[0]['update_id']}: disk on fire",
        f"could not tell chat {group.chat.id} about the error",
    ]


async def test_a_group_message_whose_rules_fail_is_still_counted_and_answered_once(pg, group, monkeypatch, caplog):
    """Each feature a group message goes through is a step of its own: one that fails is logged and answered, and
    the message still goes through the others (its chat XP), as it did when each was a handler group of its own."""
    async def broken(*args, **kwargs):
        raise RuntimeError("rules on fire")

    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc))
    await hp.job_flush(BotContext(pg.app))  # what the greetings earned
    before = await chat_xp(pg, group.chat, group.alice)
    pg.clock.set(datetime(2026, 12, 1, 8, 30, tzinfo=timezone.utc))
    monkeypatch.setattr(pg.services.rules, "judge", broken)
    replies = len(pg.sim.replies(group.chat))
    with caplog.at_level(logging.ERROR, logger="bot.app"):
        await say(pg, group.alice, "good morning all", group.chat)
    await hp.job_flush(BotContext(pg.app))

    assert [r.getMessage().split(": ", 1)[1] for r in caplog.records if r.name == "bot.app"] == ["rules on fire"]
    assert [m["text"] for m in pg.sim.replies(group.chat)[replies:]] == [internal_error(translator("en"))]
    assert len(await chat_xp(pg, group.chat, group.alice)) == len(before) + 1
