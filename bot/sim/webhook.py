"""Webhook delivery, as Telegram does it once setWebhook is set: each pending update is POSTed as JSON to the webhook
URL (with X-Telegram-Bot-Api-Secret-Token when one was given) and stays pending until an answer in 2XX comes; a
failed delivery (no connection, a dropped connection, any other status) is repeated, and an update is given up after a
while. This simulator delivers one update at a time, in order (what max_connections=1 gives), and reaches the public
HTTPS URL through `proxy` — the TLS-terminating reverse proxy in front of the bot — which must lead to 127.0.0.1."""
from __future__ import annotations

import copy
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .core import FakeTelegram


@dataclass(frozen=True)
class Delivery:
    update: dict
    status: int | None  # the webhook's HTTP status; None: no answer (refused, dropped, timed out, or lost)
    error: str | None
    at: float

    @property
    def update_id(self) -> int:
        return self.update["update_id"]

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookDelivery:
    """A daemon thread delivering the simulator's pending updates to its webhook; `close()` stops it."""

    def __init__(self, sim: FakeTelegram, proxy: dict[str, str], retry_seconds: float = 0.2,
                 give_up_seconds: float = 120.0, timeout: float = 10.0, lose_answers: int = 0) -> None:
        for local in proxy.values():
            if urlsplit(local).hostname not in ("127.0.0.1", "localhost"):
                raise ValueError("the simulator delivers webhooks only to 127.0.0.1")
        self._sim = sim
        self._proxy = {public.rstrip("/"): local.rstrip("/") for public, local in proxy.items()}
        self.retry_seconds, self.give_up_seconds, self.timeout = retry_seconds, give_up_seconds, timeout
        self.deliveries: list[Delivery] = []
        self.given_up: list[int] = []
        self._first_try: dict[int, float] = {}
        self._lose = lose_answers  # set before the thread starts: the first answers lost, whatever the timing
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-webhook", daemon=True)
        self._thread.start()

    def lose_answers(self, times: int = 1) -> None:
        """The next `times` answers never reach Telegram (the network dropped them after the bot handled the POST):
        Telegram repeats those updates."""
        with self._sim._cond:
            self._lose += times

    def close(self) -> None:
        self._stop.set()
        with self._sim._cond:
            self._sim._cond.notify_all()
        self._thread.join(timeout=self.timeout + 5)

    def _local_url(self, url: str) -> str | None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        local = self._proxy.get(origin)
        return None if local is None else local + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def _next(self) -> tuple[dict, str, str | None] | None:
        """The first update the webhook should get now (waits a little when there is none)."""
        sim = self._sim
        with sim._cond:
            hook = sim._webhook
            pending = [u for u in sim._updates if sim._is_allowed(u)] if hook is not None else []
            if not pending:
                sim._cond.wait(self.retry_seconds)
                return None
            return copy.deepcopy(pending[0]), hook["url"], hook["secret_token"]

    def _run(self) -> None:
        while not self._stop.is_set():
            taken = self._next()
            if taken is None:
                continue
            update, url, secret = taken
            update_id = update["update_id"]
            first = self._first_try.setdefault(update_id, time.monotonic())
            status, error = self._post(url, update, secret)
            sim = self._sim
            with sim._cond:
                if status is not None and self._lose > 0:
                    self._lose -= 1
                    status, error = None, "Connection failed: the answer was lost"
                delivered = status is not None and 200 <= status < 300
                self.deliveries.append(Delivery(update, status, error, time.time()))
                if delivered or time.monotonic() - first > self.give_up_seconds:
                    sim._updates = [u for u in sim._updates if u["update_id"] != update_id]  # confirmed (or dropped)
                    self._first_try.pop(update_id, None)
                    if not delivered:
                        self.given_up.append(update_id)
                if not delivered:
                    sim._webhook_error = (int(sim.clock.now().timestamp()), error or f"Wrong response from the webhook: {status}")
            if not delivered:
                self._stop.wait(self.retry_seconds)

    def _post(self, url: str, update: dict, secret: str | None) -> tuple[int | None, str | None]:
        local = self._local_url(url)
        if local is None:
            return None, "Failed to resolve host: Name or service not known"
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        request = urllib.request.Request(local, data=json.dumps(update).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                answer.read()
                return answer.status, None
        except urllib.error.HTTPError as exc:
            return exc.code, f"Wrong response from the webhook: {exc.code} {exc.reason}"
        except (OSError, ValueError) as exc:  # refused, reset, timed out: no answer
            return None, f"Connection failed: {exc}"
