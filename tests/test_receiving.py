"""The getUpdates connection records a batch before PTB sees it, and the answer is decoded once: PTB's parse of the
same bytes gets the JSON the inbox recorded from (each update was json-decoded twice in production polling)."""
from __future__ import annotations

import json

import pytest
from telegram.error import TelegramError
from telegram.request import BaseRequest

from bot.receiving import InboxRequest


class Inner(BaseRequest):
    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.calls = 0

    @property
    def read_timeout(self):
        return None

    async def initialize(self) -> None: ...

    async def shutdown(self) -> None: ...

    async def do_request(self, url, method, request_data=None, **timeouts):
        self.calls += 1
        return 200, self.payload


class Inbox:
    def __init__(self) -> None:
        self.batches: list[list[dict]] = []

    async def receive(self, updates):
        self.batches.append(list(updates))
        return list(updates)


UPDATES = [{"update_id": 5, "message": {"message_id": 1, "date": 0, "chat": {"id": -1, "type": "supergroup"}, "text": "hé"}},
           {"update_id": 6, "message": {"message_id": 2, "date": 0, "chat": {"id": -1, "type": "supergroup"}, "text": "2"}}]


@pytest.fixture
def decodes(monkeypatch):
    """How many times a JSON text was decoded (json.loads, wherever it is called from)."""
    count = [0]
    real = json.loads

    def counting(*args, **kwargs):
        count[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(json, "loads", counting)
    return count


async def test_a_getupdates_answer_is_recorded_and_handed_to_ptb_decoded_once(decodes):
    payload = json.dumps({"ok": True, "result": UPDATES}, ensure_ascii=False).encode()
    inbox = Inbox()
    request = InboxRequest(Inner(payload), inbox)
    result = await request.post("https://api.telegram.org/bot1:x/getUpdates")
    assert result == UPDATES
    assert inbox.batches == [UPDATES]
    assert result[0] is inbox.batches[0][0]  # the same decoded objects, not a second decode
    assert decodes[0] == 1


async def test_each_answer_is_decoded_for_itself_and_other_calls_are_not_recorded(decodes):
    inbox = Inbox()
    inner = Inner(json.dumps({"ok": True, "result": UPDATES[:1]}).encode())
    request = InboxRequest(inner, inbox)
    assert await request.post("https://api.telegram.org/bot1:x/getUpdates") == UPDATES[:1]
    inner.payload = json.dumps({"ok": True, "result": UPDATES[1:]}).encode()
    assert await request.post("https://api.telegram.org/bot1:x/getUpdates") == UPDATES[1:]
    inner.payload = json.dumps({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "S"}}).encode()
    assert await request.post("https://api.telegram.org/bot1:x/getMe") == {"id": 1, "is_bot": True, "first_name": "S"}
    assert inbox.batches == [UPDATES[:1], UPDATES[1:]]
    assert decodes[0] == 3


async def test_an_answer_that_is_no_json_is_refused_by_ptb_and_nothing_is_recorded():
    inbox = Inbox()
    request = InboxRequest(Inner(b"<html>bad gateway</html>"), inbox)
    with pytest.raises(TelegramError, match="Invalid server response"):
        await request.post("https://api.telegram.org/bot1:x/getUpdates")
    assert inbox.batches == []
