"""Where updates come in, each recorded in the inbox before Telegram may consider it delivered.

Polling: PTB confirms a batch by asking for the next one (offset), which it does only after this batch's
getUpdates returned — so the batch is written, in one transaction, before the answer is handed to PTB.
Webhook: PTB answers Telegram's POST once it has put the update on the queue — so the put writes first.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.services.inbox import InboxService

log = logging.getLogger(__name__)


class InboxRequest(BaseRequest):
    """The getUpdates connection, wrapped: a batch Telegram sent is in the inbox before PTB sees it."""

    __slots__ = ("_inner", "_inbox")

    def __init__(self, inner: BaseRequest, inbox: InboxService) -> None:
        self._inner = inner
        self._inbox = inbox

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
        code, payload = await self._inner.do_request(
            url, method, request_data, read_timeout=read_timeout, write_timeout=write_timeout,
            connect_timeout=connect_timeout, pool_timeout=pool_timeout,
        )
        if code == 200 and url.rsplit("/", 1)[-1].lower() == "getupdates":
            await self._record(payload)
        return code, payload

    async def _record(self, payload: bytes) -> None:
        try:
            body = json.loads(payload)
        except ValueError:
            return  # PTB refuses it with its own error; nothing was delivered
        result = body.get("result") if isinstance(body, dict) else None
        if isinstance(result, list) and result:
            # A failure here (disk full…) propagates: PTB does not take the batch, Telegram sends it again.
            await self._inbox.receive(result)


class InboxQueue(asyncio.Queue):
    """PTB's update queue: an update not recorded yet (a webhook's) is written before it is queued."""

    def __init__(self, inbox: InboxService) -> None:
        super().__init__()
        self.inbox = inbox

    async def put(self, item: Any) -> None:
        if isinstance(item, Update) and not self.inbox.received(item.update_id):
            await self.inbox.receive([item.to_dict()])
        await super().put(item)
