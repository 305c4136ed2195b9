"""Where updates come in, each recorded in the inbox before Telegram may consider it delivered; and how a
Telegram that answers with a server error is told apart from one that cannot be reached.

Polling: PTB confirms a batch by asking for the next one (offset), which it does only after this batch's
getUpdates returned — so the batch is written, in one transaction, before the answer is handed to PTB.
Webhook: PTB answers Telegram's POST once it has put the update on the queue — so the put writes first.
"""
from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import httpx
from telegram import Update
from telegram.error import NetworkError
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.services.inbox import InboxService

log = logging.getLogger(__name__)


class TelegramAnswered(NetworkError):
    """Telegram (or whatever serves telegram.api_url) was reached and answered with a server error (5xx)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"Telegram answered {code}: {description}")
        self.code = code
        self.description = description


def _description(payload: bytes) -> str:
    try:
        body = json.loads(payload)
    except ValueError:
        return payload[:200].decode("utf-8", "replace").strip() or "no description"
    return str(body.get("description") or "no description") if isinstance(body, dict) else "no description"


# Telegram's clock, heard with each answer: the HTTP Date header (RFC 9110: a server's time when it answered, to the
# second), or the simulator's clock. The request backend that hears it hands it, through this context variable, to
# the AnsweredRequest call awaiting it (one per task, so calls in flight at once do not mix up their answers).
_ANSWER_DATE: ContextVar[list[float] | None] = ContextVar("answer_date", default=None)


def heard_date(unix: float) -> None:
    """A request backend heard Telegram's time with an answer (a Unix time, whole seconds as the Date header has)."""
    holder = _ANSWER_DATE.get()
    if holder is not None:
        holder.append(unix)


@functools.lru_cache(maxsize=8)  # answers within one second carry the same header
def _http_date(value: str) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


async def _date_header(response: httpx.Response) -> None:
    if (value := response.headers.get("date")) and (unix := _http_date(value)) is not None:
        heard_date(unix)


def dated_httpx_request(**kwargs: Any) -> HTTPXRequest:
    """PTB's HTTPXRequest, which also hears the Date header of each answer (see heard_date)."""
    return HTTPXRequest(httpx_kwargs={"event_hooks": {"response": [_date_header]}}, **kwargs)


# The calls PTB makes to start (getMe; deleteWebhook before polling, setWebhook for a webhook), made at start-up
# only and safe to repeat. A one-off fault on one of them (a 429, a 5xx, a dropped connection, a timeout) is waited
# out or tried again: STARTUP_ATTEMPTS in all, STARTUP_BACKOFF seconds apart (doubling), a 429 after its retry_after.
# PTB's own bootstrap_retries would also repeat a refusal that cannot change (a 400 on setWebhook's URL) and waits in
# silence; here only what may pass is repeated, said once in a warning, and PTB gives up at the first error it sees.
STARTUP_CALLS = frozenset({"getme", "deletewebhook", "setwebhook"})
STARTUP_ATTEMPTS = 5
STARTUP_BACKOFF = 1.0


def _retry_after(payload: bytes) -> float | None:
    try:
        body = json.loads(payload)
        return float(body["parameters"]["retry_after"])
    except (ValueError, TypeError, KeyError):
        return None


class AnsweredRequest(BaseRequest):
    """A request backend, wrapped: a 5xx answer becomes TelegramAnswered (PTB makes it a bare NetworkError,
    which reads like "cannot reach"); before a call that makes Telegram act (anything but get…), `before_acting`;
    each answer's date (Telegram's clock, heard_date) goes to `dated` (the lead measured: bot/services/actions.py);
    a start-up call (STARTUP_CALLS) that meets a passing fault is tried again."""

    __slots__ = ("_inner", "_before_acting", "dated", "startup_backoff", "_retrying")

    def __init__(self, inner: BaseRequest, before_acting: Callable[[], Awaitable[None]] | None = None) -> None:
        self._inner = inner
        self._before_acting = before_acting
        # Set by the app to the actions port's `asking`: called as a request goes out, it returns what takes the date.
        self.dated: Callable[[], Callable[[float], None]] | None = None
        self.startup_backoff = STARTUP_BACKOFF
        self._retrying: set[str] = set()  # the start-up calls whose retry was said (once each)

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1].lower()
        if self._before_acting is not None and not name.startswith("get"):
            await self._before_acting()
        timeouts = {"read_timeout": read_timeout, "write_timeout": write_timeout, "connect_timeout": connect_timeout,
                    "pool_timeout": pool_timeout}
        if name not in STARTUP_CALLS:
            return await self._once(url, method, request_data, timeouts)
        backoff = self.startup_backoff
        for attempt in range(1, STARTUP_ATTEMPTS + 1):
            last = attempt == STARTUP_ATTEMPTS
            try:
                code, payload = await self._once(url, method, request_data, timeouts)
            except NetworkError as exc:  # a 5xx (TelegramAnswered), a dropped connection, a timeout
                if last:
                    raise
                delay, reason = backoff, exc.message if isinstance(exc, TelegramAnswered) else f"cannot reach Telegram ({exc.message})"
                backoff *= 2
            else:
                wait = _retry_after(payload) if code == 429 else None
                if wait is None or last:
                    return code, payload
                delay, reason = wait, f"Telegram asks to wait {wait:g} s (flood control)"
            self._said_retrying(url.rsplit("/", 1)[-1], reason)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _said_retrying(self, call: str, reason: str) -> None:
        if call not in self._retrying:
            self._retrying.add(call)
            log.warning("start-up: %s failed: %s; trying again, %d attempts in all (this is said once)",
                        call, reason, STARTUP_ATTEMPTS)

    async def _once(self, url: str, method: str, request_data: RequestData | None, timeouts: dict[str, Any]) -> tuple[int, bytes]:
        dated = self.dated() if self.dated is not None else None
        heard: list[float] = []
        token = _ANSWER_DATE.set(heard)
        try:
            code, payload = await self._inner.do_request(url, method, request_data, **timeouts)
        finally:
            _ANSWER_DATE.reset(token)
        if dated is not None and heard:  # any answer, even a refusal, says what time it is on Telegram
            dated(heard[-1])
        if code >= 500:
            raise TelegramAnswered(code, _description(payload))
        return code, payload


class InboxRequest(AnsweredRequest):
    """The getUpdates connection: a batch Telegram sent is in the inbox before PTB sees it; and an outage is one
    warning when polling starts failing and one when it works again, not a line per retry."""

    __slots__ = ("_inbox", "_outage_since", "_failed_polls", "_decoded")

    def __init__(self, inner: BaseRequest, inbox: InboxService) -> None:
        super().__init__(inner)
        self._inbox = inbox
        self._outage_since: float | None = None
        self._failed_polls = 0
        # The last getUpdates answer as (payload, its JSON): PTB asks parse_json_payload for the same bytes next,
        # and gets what was decoded to record the batch instead of decoding every update a second time.
        self._decoded: tuple[bytes, Any] | None = None

    def parse_json_payload(self, payload: bytes) -> Any:
        decoded, self._decoded = self._decoded, None
        if decoded is not None and decoded[0] is payload:
            return decoded[1]
        return BaseRequest.parse_json_payload(payload)

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None, **timeouts: Any) -> tuple[int, bytes]:
        polling = url.rsplit("/", 1)[-1].lower() == "getupdates"
        try:
            code, payload = await super().do_request(url, method, request_data, **timeouts)
        except NetworkError as exc:  # TimedOut included
            if polling:
                self._failed(exc)
            raise
        if polling and code == 200:
            self._back()
            await self._record(payload)
        return code, payload

    def _failed(self, exc: NetworkError) -> None:
        self._failed_polls += 1
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            reason = exc.message if isinstance(exc, TelegramAnswered) else f"cannot reach Telegram ({exc.message})"
            log.warning("polling failed: %s; trying again until it works (this is said once)", reason)

    def _back(self) -> None:
        if self._outage_since is not None:
            log.warning("polling works again after %.0f s (%d failed attempts)",
                        time.monotonic() - self._outage_since, self._failed_polls)
            self._outage_since, self._failed_polls = None, 0

    async def _record(self, payload: bytes) -> None:
        self._decoded = None
        try:
            body = json.loads(payload.decode("utf-8", "replace"))  # as PTB's parse_json_payload decodes it
        except ValueError:
            return  # PTB refuses it with its own error; nothing was delivered
        result = body.get("result") if isinstance(body, dict) else None
        if isinstance(result, list) and result:
            # A failure here (disk full…) propagates: PTB does not take the batch, Telegram sends it again.
            await self._inbox.receive(result)
        self._decoded = (payload, body)


class InboxQueue(asyncio.Queue):
    """PTB's update queue: an update not recorded yet (a webhook's) is written before it is queued."""

    def __init__(self, inbox: InboxService) -> None:
        super().__init__()
        self.inbox = inbox

    async def put(self, item: Any) -> None:
        if isinstance(item, Update) and not self.inbox.received(item.update_id):
            await self.inbox.receive([item.to_dict()])
        await super().put(item)
