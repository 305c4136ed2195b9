"""Shared fixtures for the simulator's own tests: a clock, a simulator, three people and a group the bot
administers, plus helpers that call the Bot API entry the way a client does (str -> str parameters)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.sim import FakeTelegram, SimChat, SimUser


def wire(params: dict[str, Any]) -> dict[str, str]:
    """Parameters as PTB puts them on the wire: strings as they are, everything else as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}


def api(sim: FakeTelegram, method: str, *, token: str | None = None, **params: Any) -> tuple[int, dict[str, Any]]:
    status, body = sim.handle(token or sim.token, method, wire(params))
    return status, json.loads(body)


def ok(sim: FakeTelegram, method: str, **params: Any) -> Any:
    status, body = api(sim, method, **params)
    assert status == 200 and body["ok"], body
    return body["result"]


def refused(sim: FakeTelegram, method: str, **params: Any) -> tuple[int, str]:
    status, body = api(sim, method, **params)
    assert not body["ok"] and body["error_code"] == status, body
    return status, body["description"]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def sim(clock: FixedClock) -> FakeTelegram:
    return FakeTelegram(clock=clock)


@pytest.fixture
def alice(sim: FakeTelegram) -> SimUser:
    return sim.user("alice")


@pytest.fixture
def bob(sim: FakeTelegram) -> SimUser:
    return sim.user("bob")


@pytest.fixture
def carol(sim: FakeTelegram) -> SimUser:
    return sim.user("carol")


@pytest.fixture
def group(sim: FakeTelegram, alice: SimUser, bob: SimUser) -> SimChat:
    """A supergroup owned by alice, the bot added as admin, bob a member; the queue starts empty and the bot
    has not yet said which updates it wants."""
    chat = sim.create_group("Club", owner=alice)
    sim.add_bot(chat, by=alice)
    sim.join(chat, bob)
    sim.take_updates()
    return chat


def kinds(updates: list[dict[str, Any]]) -> list[str]:
    return [next(k for k in u if k != "update_id") for u in updates]
