"""Telegram's flood limits as Telegram states them: at most 20 messages in any 60 s to one group, about 30 a second
overall. A send that would break one waits — in its own chat's turn only, and without holding one of the update
processor's places meanwhile. A 429 (RetryAfter) pauses the sends to the chat it concerns, nothing else."""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.processor import Alarm, DroppedAtStop, slot_released

log = logging.getLogger(__name__)

GROUP_MAX, GROUP_PERIOD = 20, 60.0
OVERALL_MAX, OVERALL_PERIOD = 30, 1.0
# What Telegram counts as a message: every send except the "typing…" action, and copies and forwards.
_ALSO_MESSAGES = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})


# A send's rate_limit_args: it goes before the chat's other sends waiting for its window (a captcha prompt: the newcomer's
# deadline runs from the join, and a flood's answers ahead of it would eat it up).
AHEAD = "ahead"


def ahead(bot: Any) -> dict[str, Any]:
    """The keyword that marks a send AHEAD, for a bot with this limiter (PTB refuses rate_limit_args without one)."""
    return {"rate_limit_args": AHEAD} if isinstance(getattr(bot, "rate_limiter", None), FloodLimiter) else {}


class _Turn:
    """One chat's turn to send, first come first served, except that a send marked AHEAD goes before every waiting
    send that is not."""

    __slots__ = ("held", "ahead", "behind")

    def __init__(self) -> None:
        self.held = False
        self.ahead: deque[asyncio.Future] = deque()
        self.behind: deque[asyncio.Future] = deque()

    def locked(self) -> bool:
        return self.held

    async def acquire(self, ahead: bool = False) -> None:
        if not self.held:
            self.held = True
            return
        waiter = asyncio.get_running_loop().create_future()
        queue = self.ahead if ahead else self.behind
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed the turn, then cancelled before using it: the next one has it
            elif waiter in queue:  # a release() in the same step may have passed over it already
                queue.remove(waiter)
            raise

    def release(self) -> None:
        for queue in (self.ahead, self.behind):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # handed on: still held
                    return
        self.held = False


def is_message(endpoint: str) -> bool:
    return (endpoint.startswith("send") and endpoint != "sendChatAction") or endpoint in _ALSO_MESSAGES


class _Window:
    """Sends of the last `period` seconds (when each was answered) plus those under way (they count already)."""

    __slots__ = ("limit", "period", "times", "in_flight", "paused_until")

    def __init__(self, limit: int, period: float) -> None:
        self.limit, self.period = limit, period
        self.times: list[float] = []
        self.in_flight = 0
        self.paused_until = 0.0

    def wait(self, now: float) -> float:
        """Seconds until one more send fits; 0 if it fits now."""
        if self.times and self.times[0] <= now - self.period:
            self.times = [t for t in self.times if t > now - self.period]
        pause = max(self.paused_until - now, 0.0)
        if len(self.times) + self.in_flight < self.limit:
            return pause
        if len(self.times) + self.in_flight - self.limit >= len(self.times):
            return max(pause, 0.05)  # full of sends still under way: look again when one is answered
        # The oldest sends free their places as they age out of the window.
        return max(pause, self.times[len(self.times) + self.in_flight - self.limit] + self.period - now)

    def done(self, at: float) -> None:
        self.in_flight -= 1
        self.times.append(at)  # answered now: Telegram received it at or before this moment


class FloodLimiter(BaseRateLimiter[str]):
    def __init__(
        self, *, now: Callable[[], float] | None = None, sleep: Callable[[float], Awaitable[Any]] | None = None,
        group_max: int = GROUP_MAX, group_period: float = GROUP_PERIOD,
        overall_max: int = OVERALL_MAX, overall_period: float = OVERALL_PERIOD,
    ) -> None:
        self._now = now
        self._sleep = sleep or asyncio.sleep
        self._group_max, self._group_period = group_max, group_period
        self._overall = _Window(overall_max, overall_period)
        self._chats: dict[int | str, _Window] = {}
        self._turns: dict[int | str, _Turn] = {}  # sends to one chat go in the order they were made (AHEAD first)
        self.stopping = False
        self._alarm = Alarm()  # sends asleep in a window: begin_stop wakes them

    def now(self) -> float:
        return self._now() if self._now is not None else asyncio.get_running_loop().time()

    async def initialize(self) -> None:
        self.stopping = False
        self._alarm = Alarm()

    async def shutdown(self) -> None:
        return None

    def begin_stop(self) -> None:
        """From now on a send that would have to wait is dropped (logged): a stop does not wait for flood limits —
        nor does a send already waiting (a captcha prompt's task in a raid kept a stop waiting 57 s): it wakes now."""
        self.stopping = True
        self._alarm.ring()

    async def process_request(
        self, callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any, kwargs: dict[str, Any], endpoint: str, data: dict[str, Any], rate_limit_args: str | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if not is_message(endpoint):
            return await callback(*args, **kwargs)
        chat_id = data.get("chat_id")
        window = self._group_window(chat_id)
        if window is None:
            return await self._send(callback, args, kwargs, endpoint, chat_id, None)
        turn = self._turns.get(chat_id)
        if turn is None:
            turn = self._turns[chat_id] = _Turn()
        mine = False
        try:
            if turn.locked():
                # Waiting for the chat's turn is not working either: with their places held, sixteen chats' updates
                # waiting to send to one chat (a shared log channel under a 429) would leave none for the turn's
                # holder to come back to after its own wait, and every chat would stop for good.
                async with slot_released():
                    await turn.acquire(ahead=rate_limit_args == AHEAD)
                    mine = True
            else:
                await turn.acquire()
                mine = True
            return await self._send(callback, args, kwargs, endpoint, chat_id, window)
        finally:
            if mine:
                turn.release()

    def _group_window(self, chat_id: Any) -> _Window | None:
        """Groups, supergroups and channels (negative ids, @usernames) have the per-group limit; a private chat has
        no count of its own but can still be paused by a 429 of its own."""
        if isinstance(chat_id, str) and not chat_id.lstrip("-").isdigit():
            key: int | str = chat_id
        else:
            try:
                key = int(chat_id)
            except (TypeError, ValueError):
                return None
        window = self._chats.get(key)
        if window is None:
            limit = self._group_max if isinstance(key, str) or key < 0 else 1 << 30
            window = self._chats[key] = _Window(limit, self._group_period)
        if len(self._chats) > 10_000:  # forget groups with nothing in their window
            now = self.now()
            for k in [k for k, w in self._chats.items() if not w.in_flight and w.wait(now) == 0 and not w.times
                      and not (k in self._turns and self._turns[k].locked())]:
                del self._chats[k]
                self._turns.pop(k, None)
        return window

    async def _send(self, callback, args, kwargs, endpoint, chat_id, window: _Window | None):
        windows = [w for w in (window, self._overall) if w is not None]
        while True:
            now = self.now()
            delay = max(w.wait(now) for w in windows)
            if delay <= 0:
                break
            if self.stopping:
                log.warning("stopping: %s to %s dropped (Telegram's flood limit would make it wait %.1f s)",
                            endpoint, chat_id, delay)
                raise DroppedAtStop("dropped at stop: flood limit")
            async with slot_released():  # waiting is not working: another chat may use the place meanwhile
                await self._alarm.sleep(delay, self._sleep)
        for w in windows:
            w.in_flight += 1
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as exc:
            # Telegram wants a pause: the chat's next sends wait it out here instead of meeting a 429 again.
            target = window if window is not None else self._overall
            target.paused_until = max(target.paused_until, self.now() + exc._retry_after.total_seconds())  # noqa: SLF001
            raise
        finally:
            at = self.now()
            for w in windows:
                w.done(at)
