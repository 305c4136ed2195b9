"""Telegram's faults on every call an action makes — 429, a network error, a timeout after the call was carried out,
403 (bot kicked, user blocked the bot), "message not found" — through the real Application on the simulator: no
crash, no half-written state, one clear outcome for the user, and never "Something went wrong" after a success."""
from __future__ import annotations

import logging

import pytest

from bot.texts import translator
from bot.texts.core import internal_error
from tests.helpers import say

INTERNAL = internal_error(translator("en"))

# Each fault as Telegram (or the network) shows it; `times` large enough that retrying cannot get past it.
FAULTS = {
    "flood": lambda sim, method: sim.flood(method, retry_after=1, times=3),
    "network": lambda sim, method: sim.network_error(method),
    "timeout": lambda sim, method: sim.timeout_after_send(method),
    "kicked": lambda sim, method: sim.set_fail(method, 403, "Forbidden: bot was kicked from the supergroup chat"),
    "blocked": lambda sim, method: sim.set_fail(method, 403, "Forbidden: bot was blocked by the user"),
    "not_found": lambda sim, method: sim.set_fail(method, 400, "Bad Request: message to be replied not found"),
}


def texts_in(pg, place) -> list[str]:
    return [m.get("text", "") for m in pg.sim.replies(place)]


async def checkins(pg, chat, user) -> list[tuple[str, int]]:
    rows = await pg.services.db.fetchall(
        "SELECT l.amount, c.day FROM checkins c JOIN ledger l ON l.chat_id = c.chat_id AND l.user_id = c.user_id"
        " AND l.reason = 'checkin' AND l.currency = 'points' WHERE c.chat_id = ? AND c.user_id = ?", (chat.id, user.id))
    return [(r["day"], r["amount"]) for r in rows]


# ================================================================ check-in


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_checkin_whose_reply_fails_is_booked_once_and_never_reported_as_an_error(pg, group, fault, caplog):
    g = group
    FAULTS[fault](pg.sim, "sendMessage")
    before = texts_in(pg, g.chat)
    with caplog.at_level(logging.WARNING):
        await say(pg, g.alice, "/checkin", g.chat)
    said = texts_in(pg, g.chat)[len(before):]
    assert INTERNAL not in said
    assert await checkins(pg, g.chat, g.alice) == [("2026-03-02", pg.config.points.checkin.base)]
    assert await pg.services.points.ledger.mismatches() == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # a warning, not an error with a traceback
    assert any("reply in" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    # The answer was sent at most once: a timeout (it went out, the answer was lost) is not sent again.
    assert len([t for t in said if "checked in:" in t]) == (1 if fault == "timeout" else 0)
    # One clear outcome: asking again says it is done.
    assert (await say(pg, g.alice, "/checkin", g.chat)).startswith("You already checked in today")


async def test_a_flood_wait_on_the_reply_is_waited_out_and_the_reply_sent(pg, group):
    pg.sim.flood("sendMessage", retry_after=1, times=2)
    assert "checked in:" in await say(pg, group.alice, "/checkin", group.chat)
    assert [c.error_code for c in pg.sim.calls("sendMessage")][-3:] == [429, 429, None]


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_checkin_whose_command_cannot_be_deleted_is_still_answered(pg, group, fault):
    g = group
    await say(pg, g.owner, "/set delete_commands on", g.chat)
    FAULTS[fault](pg.sim, "deleteMessage")
    assert "checked in:" in await say(pg, g.alice, "/checkin", g.chat)
    assert INTERNAL not in texts_in(pg, g.chat)
    assert len(await checkins(pg, g.chat, g.alice)) == 1
