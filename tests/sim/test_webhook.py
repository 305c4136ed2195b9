"""Webhook delivery as Telegram does it: each pending update POSTed as JSON to the webhook (through the proxy in front
of the bot), with the secret token header, kept and sent again until the answer is 2XX; getUpdates refused meanwhile."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.sim import FakeTelegram


class Hook:
    """A webhook endpoint on 127.0.0.1 answering each POST with the next status of `answers` (then 200)."""

    def __init__(self, answers: list[int]) -> None:
        self.answers, self.got = list(answers), []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.got.append((self.path, self.headers.get("Content-Type"), self.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                                 json.loads(body)))
                self.send_response(hook.answers.pop(0) if hook.answers else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def wait(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_updates_are_posted_to_the_webhook_and_repeated_until_it_answers_2xx(sim: FakeTelegram, group, alice) -> None:
    hook = Hook([500, 502])
    sim.handle(sim.token, "setWebhook", {"url": "https://bot.example.org/telegram", "secret_token": "s3cret",
                                         "allowed_updates": json.dumps(["message"])})
    delivery = sim.deliver_webhooks({"https://bot.example.org": hook.url}, retry_seconds=0.05)
    try:
        sim.send(alice, "first", group)
        sim.send(alice, "second", group)
        wait(lambda: sim.pending_update_count == 0)
    finally:
        delivery.close()
        hook.close()
    texts = [u["message"]["text"] for _, _, _, u in hook.got]
    assert texts == ["first", "first", "first", "second"]  # in order; the first until it was taken
    assert {(path, kind, secret) for path, kind, secret, _ in hook.got} == {("/telegram", "application/json", "s3cret")}
    assert [d.status for d in delivery.deliveries] == [500, 502, 200, 200]
    _, body = sim.handle(sim.token, "getWebhookInfo", {})
    info = json.loads(body)["result"]
    assert info["pending_update_count"] == 0 and info["last_error_message"].startswith("Wrong response from the webhook: 502")
    _, body = sim.handle(sim.token, "getUpdates", {})
    assert json.loads(body)["error_code"] == 409  # no polling while a webhook is set


def test_a_webhook_nobody_answers_keeps_its_updates_and_a_lost_answer_is_repeated(sim: FakeTelegram, group, alice) -> None:
    sim.handle(sim.token, "setWebhook", {"url": "https://bot.example.org/telegram"})
    import socket

    with socket.socket() as sock:  # a port nobody listens on: the bot is down
        sock.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{sock.getsockname()[1]}"
    delivery = sim.deliver_webhooks({"https://bot.example.org": down}, retry_seconds=0.05)
    sim.send(alice, "while you were down", group)
    wait(lambda: len(delivery.deliveries) >= 3)
    delivery.close()
    assert sim.pending_update_count == 1 and all(d.status is None for d in delivery.deliveries)

    hook = Hook([])
    # Lost from the start: lose_answers() called after the thread began could come after the first answer.
    delivery = sim.deliver_webhooks({"https://bot.example.org": hook.url}, retry_seconds=0.05, lose_answers=1)
    try:
        wait(lambda: sim.pending_update_count == 0)
    finally:
        delivery.close()
        hook.close()
    assert [u["message"]["text"] for _, _, _, u in hook.got] == ["while you were down"] * 2  # its answer lost once


def test_webhooks_are_delivered_only_to_this_machine(sim: FakeTelegram) -> None:
    with pytest.raises(ValueError):
        sim.deliver_webhooks({"https://bot.example.org": "http://192.0.2.1:8443"})
