"""The `pg` fixture fails a test whose bot made a call Telegram refuses as malformed; this shows the guard tells
a malformed call from a well-formed one that Telegram refuses for a reason of life (not there, not allowed)."""
from __future__ import annotations

import json

from bot.sim import FakeTelegram
from tests.conftest import malformed_calls


def call(sim: FakeTelegram, method: str, **params) -> None:
    wire = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    sim.handle(sim.token, method, wire)


def test_malformed_calls_are_flagged_and_refusals_of_life_are_not():
    sim = FakeTelegram()
    owner = sim.user("owner")
    chat = sim.create_group("Tea Lovers", owner=owner)
    sim.add_bot(chat, by=owner)
    sim.take_updates()

    call(sim, "sendMessage", chat_id=chat.id, text="fine")  # ok
    call(sim, "sendMessage", chat_id=chat.id)  # no text
    call(sim, "sendMessage", chat_id=chat.id, text="<b>bold", parse_mode="HTML")  # unclosed tag
    call(sim, "sendMessage", chat_id=chat.id, text="x", reply_markup="not json")
    call(sim, "sendMesage", chat_id=chat.id, text="typo in the method")
    call(sim, "restrictChatMember", chat_id=chat.id, user_id="alice", permissions={})  # mistyped user_id
    flagged = [(c.method, c.description) for c in malformed_calls(sim)]
    assert [m for m, _ in flagged] == ["sendMessage", "sendMessage", "sendMessage", "sendMesage", "restrictChatMember"]

    before = len(sim.calls())
    call(sim, "deleteMessage", chat_id=chat.id, message_id=999999)  # already gone: life
    call(sim, "sendMessage", chat_id=-100999, text="hello")  # a chat the bot is not in
    sim.set_fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    call(sim, "sendMessage", chat_id=chat.id, text="hello")
    refused = sim.calls()[before:]
    assert [c.ok for c in refused] == [False, False, False]
    assert len(malformed_calls(sim)) == len(flagged)
