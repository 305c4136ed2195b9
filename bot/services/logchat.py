"""A group's log chat (/setlog): a copy of every moderation action and rule firing, posted through the outbox after
the audit row is committed. The copy never holds the group up (posts go out in the background, in order per
group) and never undoes anything: when the log chat refuses, the action stands, and the owner is told once until
it works again. The audit log in SQLite (/modlog) stays the record; a post lost to a crash is only a copy."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.clock import Clock
from bot.services.outbox import Outbox
from storage.rules import LogChat, LogChatRepo

log = logging.getLogger(__name__)

Render = Callable[[], Awaitable[str]]


class LogChatService:
    def __init__(self, repo: LogChatRepo, outbox: Outbox, clock: Clock) -> None:
        self.repo, self.outbox, self.clock = repo, outbox, clock
        self._cache: dict[int, LogChat | None] = {}  # keyed by group; dropped on /setlog, /unsetlog and a refusal
        self._tails: dict[int, asyncio.Task] = {}  # keyed by group: its last post, so the next goes after it

    async def get(self, chat_id: int) -> LogChat | None:
        if chat_id not in self._cache:
            self._cache[chat_id] = await self.repo.get(chat_id)
        return self._cache[chat_id]

    async def set(self, chat_id: int, log_chat_id: int, by: int | None) -> None:
        await self.repo.set(chat_id, log_chat_id, by, self.clock.now())
        self._cache.pop(chat_id, None)

    async def unset(self, chat_id: int) -> bool:
        self._cache.pop(chat_id, None)
        return await self.repo.unset(chat_id)

    async def post(self, chat_id: int, render: Render, on_refused: Callable[[LogChat], Awaitable[None]]) -> None:
        """Queue one post for the group's log chat (nothing if it has none); `on_refused` runs the first time the
        log chat refuses, until a post gets through again."""
        target = await self.get(chat_id)
        if target is None:
            return
        previous = self._tails.get(chat_id)
        task = asyncio.get_running_loop().create_task(self._send(chat_id, target, render, on_refused, previous))
        self._tails[chat_id] = task
        task.add_done_callback(lambda t, c=chat_id: self._tails.pop(c, None) if self._tails.get(c) is t else None)

    async def _send(self, chat_id: int, target: LogChat, render: Render, on_refused, previous: asyncio.Task | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        try:
            pushed = await self.outbox.to_log(chat_id, target.log_chat_id, await render())
            if pushed.sent:
                if target.refused_at is not None:
                    await self.repo.works(chat_id)
                    self._cache.pop(chat_id, None)
            elif await self.repo.refused(chat_id, self.clock.now()):
                self._cache.pop(chat_id, None)
                await on_refused(target)
        except Exception:  # a copy: whatever went wrong, the action and its audit row stand
            log.warning("log post for %s failed", chat_id, exc_info=True)

    async def idle(self) -> None:
        """Wait until every queued post went out (tests, a clean stop)."""
        while self._tails:
            await asyncio.wait(list(self._tails.values()))
