"""A handler that fails: the one error handler logs it with the update id (so the admin can find it) and the
user gets one line, in the group's language — never silence, never a traceback in the chat."""
from __future__ import annotations

import logging

from telegram import Update

from bot.texts import translator
from bot.texts.core import internal_error
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
