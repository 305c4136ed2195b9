"""Telegram's flood control in the simulator (when enabled): 20 messages in any 60 s to one group, 30 in any second
overall, each call stamped with the simulator's time; past a limit a 429 says how long to wait."""
from __future__ import annotations

from .conftest import api, ok


def test_a_group_gets_20_messages_a_minute_then_a_429_with_the_wait(sim, clock, group):
    sim.enforce_flood_limits()
    for i in range(20):
        ok(sim, "sendMessage", chat_id=group.id, text=f"n{i}")
        clock.advance(seconds=1)  # 20 over 20 s: well under the overall limit, at the group's
    status, body = api(sim, "sendMessage", chat_id=group.id, text="one too many")
    assert status == 429 and body["parameters"] == {"retry_after": 40}
    assert body["description"] == "Too Many Requests: retry after 40"
    clock.advance(seconds=40)  # the first message has left the window
    ok(sim, "sendMessage", chat_id=group.id, text="again")
    stamps = [c.at for c in sim.calls("sendMessage")]
    assert stamps == sorted(stamps) and stamps[-1] - stamps[0] == 60


def test_30_a_second_overall_and_private_chats_have_no_group_limit(sim, clock, group, alice, bob):
    sim.send(alice, "/start")
    sim.send(bob, "/start")
    sim.enforce_flood_limits()
    ok(sim, "sendMessage", chat_id=group.id, text="x")
    for i in range(29):
        ok(sim, "sendMessage", chat_id=(alice, bob)[i % 2].id, text=f"n{i}")
    status, body = api(sim, "sendMessage", chat_id=alice.id, text="31st in the same second")
    assert status == 429 and body["parameters"] == {"retry_after": 1}
    clock.advance(seconds=1)
    for i in range(25):  # 25 to one private chat within a second: only the overall limit applies
        ok(sim, "sendMessage", chat_id=alice.id, text=f"p{i}")


def test_typing_edits_and_refused_calls_do_not_count_and_nothing_is_enforced_by_default(sim, clock, group):
    for i in range(25):
        ok(sim, "sendMessage", chat_id=group.id, text=f"free {i}")  # off by default
    sim.enforce_flood_limits(group_max=2)
    clock.advance(seconds=120)
    first = ok(sim, "sendMessage", chat_id=group.id, text="one")
    for _ in range(5):
        ok(sim, "sendChatAction", chat_id=group.id, action="typing")
        ok(sim, "editMessageText", chat_id=group.id, message_id=first["message_id"], text=f"edited {_}")
        api(sim, "sendMessage", chat_id=group.id, text="")  # refused: not sent, not counted
    ok(sim, "sendMessage", chat_id=group.id, text="two")
    status, _ = api(sim, "sendMessage", chat_id=group.id, text="three")
    assert status == 429
