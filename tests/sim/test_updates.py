"""The update queue with getUpdates semantics: allowed_updates filtering (chat_member only on request),
offset confirmation (also negative), limit, long polling, and the 429s of flood control."""
from __future__ import annotations

import json
import threading
import time

import pytest

from bot.sim import FakeTelegram
from bot.sim.errors import TransportFault

from .conftest import api, kinds, ok, refused


def test_default_setting_drops_chat_member(sim: FakeTelegram, group, carol) -> None:
    sim.join(group, carol)
    assert sim.pending_update_count == 2
    assert kinds(ok(sim, "getUpdates")) == ["message"]  # the chat_member update is dropped for good
    assert sim.allowed_updates is None
    assert kinds(sim.take_updates(allowed_updates=["chat_member", "message"])) == ["message"]


def test_asking_for_chat_member_delivers_it(sim, group, carol) -> None:
    sim.take_updates(allowed_updates=["message", "chat_member"])
    assert sim.allowed_updates == ["message", "chat_member"]
    sim.join(group, carol)
    assert kinds(sim.take_updates()) == ["chat_member", "message"]


def test_allowed_updates_given_to_getupdates_is_kept(sim, group, carol, bob) -> None:
    assert ok(sim, "getUpdates", allowed_updates=["chat_member"]) == []
    sim.join(group, carol)
    sim.send(bob, "hello", chat=group)  # filtered out when created, as Telegram does
    assert sim.pending_update_count == 1
    assert kinds(ok(sim, "getUpdates")) == ["chat_member"]
    ok(sim, "getUpdates", allowed_updates=[])  # [] = back to the default
    sim.leave(group, carol)
    assert kinds(sim.take_updates()) == ["message"]


def test_offset_confirms_and_limit_pages(sim, group, bob) -> None:
    for i in range(5):
        sim.send(bob, f"m{i}", chat=group)
    first = ok(sim, "getUpdates", limit=2)
    assert [u["message"]["text"] for u in first] == ["m0", "m1"]
    assert ok(sim, "getUpdates", limit=2) == first  # unconfirmed: the same again
    ids = [u["update_id"] for u in first]
    assert ids[1] == ids[0] + 1
    rest = ok(sim, "getUpdates", offset=ids[-1] + 1)
    assert [u["message"]["text"] for u in rest] == ["m2", "m3", "m4"]
    assert sim.pending_update_count == 3
    ok(sim, "getUpdates", offset=rest[-1]["update_id"] + 1)
    assert sim.pending_update_count == 0


def test_negative_offset_keeps_only_the_last_updates(sim, group, bob) -> None:
    for i in range(4):
        sim.send(bob, f"m{i}", chat=group)
    assert [u["message"]["text"] for u in ok(sim, "getUpdates", offset=-2)] == ["m2", "m3"]
    assert sim.pending_update_count == 2  # the earlier ones are forgotten


def test_limit_is_clamped_like_the_real_server(sim, group, bob) -> None:
    for i in range(3):
        sim.send(bob, f"m{i}", chat=group)
    assert len(ok(sim, "getUpdates", limit=0)) == 1
    assert len(ok(sim, "getUpdates", limit=500)) == 3


def test_update_ids_increase_across_kinds(sim, group, bob, carol) -> None:
    sim.take_updates(allowed_updates=["message", "chat_member"])
    sim.join(group, carol)
    sim.send(bob, "hi", chat=group)
    ids = [u["update_id"] for u in sim.take_updates()]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) == 3


def test_delete_webhook_can_drop_pending_updates(sim, group, bob) -> None:
    sim.send(bob, "old", chat=group)
    status, body = api(sim, "deleteWebhook", drop_pending_updates=True)
    assert (status, body["description"]) == (200, "Webhook is already deleted")
    assert sim.pending_update_count == 0


def test_flood_control_answers_429_with_retry_after(sim, group) -> None:
    sim.flood("sendMessage", retry_after=7, times=2)
    for _ in range(2):
        status, body = api(sim, "sendMessage", chat_id=group.id, text="x")
        assert (status, body) == (429, {"ok": False, "error_code": 429,
                                        "description": "Too Many Requests: retry after 7",
                                        "parameters": {"retry_after": 7}})
    assert ok(sim, "getMe")  # other methods were never affected
    assert ok(sim, "sendMessage", chat_id=group.id, text="x")["text"] == "x"
    sim.flood()
    assert api(sim, "getMe")[0] == 429
    assert sim.calls("getMe")[-1].error_code == 429


def test_injected_failure(sim, group) -> None:
    sim.set_fail("getChat", 500, "Internal Server Error: restart", times=1)
    assert refused(sim, "getChat", chat_id=group.id) == (500, "Internal Server Error: restart")
    assert ok(sim, "getChat", chat_id=group.id)["id"] == group.id


def test_blocking_long_poll_returns_when_an_update_arrives(sim, group, bob) -> None:
    results: list[tuple[int, bytes]] = []
    poller = threading.Thread(target=lambda: results.append(
        sim.handle(sim.token, "getUpdates", {"timeout": "10"})))
    started = time.monotonic()
    poller.start()
    time.sleep(0.2)
    sim.send(bob, "wake up", chat=group)
    poller.join(5)
    assert time.monotonic() - started < 3
    status, body = results[0]
    assert status == 200 and json.loads(body)["result"][0]["message"]["text"] == "wake up"


def test_a_second_long_poll_ends_the_first_with_409(sim) -> None:
    results: list[tuple[int, bytes]] = []
    first = threading.Thread(target=lambda: results.append(sim.handle(sim.token, "getUpdates", {"timeout": "10"})))
    first.start()
    time.sleep(0.2)
    second = threading.Thread(target=lambda: sim.handle(sim.token, "getUpdates", {"timeout": "1"}))
    second.start()
    first.join(5)
    second.join(5)
    status, body = results[0]
    assert status == 409
    assert json.loads(body)["description"].startswith("Conflict: terminated by other getUpdates request")


def test_short_poll_timeout_zero_returns_at_once(sim) -> None:
    started = time.monotonic()
    assert ok(sim, "getUpdates", timeout=0) == []
    assert time.monotonic() - started < 0.5


def test_network_error_never_reaches_telegram(sim, group) -> None:
    sim.network_error("sendMessage")
    with pytest.raises(TransportFault) as caught:
        api(sim, "sendMessage", chat_id=group.id, text="lost on the way")
    assert caught.value.kind == "network"
    assert sim.replies(group) == []  # nothing was sent
    call = sim.calls("sendMessage")[-1]
    assert (call.ok, call.fault, call.error_code) == (False, "network", None)
    assert ok(sim, "sendMessage", chat_id=group.id, text="x")["text"] == "x"  # once only


def test_timeout_after_send_does_the_work_and_loses_the_answer(sim, group, bob) -> None:
    sim.timeout_after_send("restrictChatMember")
    with pytest.raises(TransportFault) as caught:
        api(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id, permissions={"can_send_messages": False})
    assert caught.value.kind == "timeout"
    assert sim.member(group, bob)["status"] == "restricted"  # it happened
    call = sim.calls("restrictChatMember")[-1]
    assert (call.ok, call.fault) == (True, "timeout")


def test_clear_faults_forgets_what_was_not_used_up(sim, group) -> None:
    sim.flood("sendMessage", times=5)
    sim.network_error()
    sim.clear_faults()
    assert ok(sim, "sendMessage", chat_id=group.id, text="x")["text"] == "x"


def test_lost_confirmations_redeliver_everything_to_a_fresh_start(sim, group, bob) -> None:
    sim.lose_confirmations()
    for text in ("one", "two"):
        sim.send(bob, text, group)
    first = ok(sim, "getUpdates")
    assert len(first) == 2
    offset = first[-1]["update_id"] + 1
    assert ok(sim, "getUpdates", offset=offset) == []  # the running bot moves on ...
    sim.send(bob, "three", group)
    assert [u["message"]["text"] for u in ok(sim, "getUpdates", offset=offset)] == ["three"]
    # ... but Telegram never took the offset as a confirmation: a fresh start gets all three again.
    assert [u["message"]["text"] for u in ok(sim, "getUpdates")] == ["one", "two", "three"]
    sim.lose_confirmations(False)
    assert len(ok(sim, "getUpdates", offset=offset)) == 1
    assert sim.pending_update_count == 1
