"""Fair concurrency: one chat's updates one after another in the order they came, different chats side by side,
so a flood, a slow command or a rate-limited burst in one group never delays another. Stopping is quick:
what has not started stays in the inbox for the next start, what runs gets a short grace.

A chat has two turns. Its *work* turn: one update of the chat at a time, in the order they came. Its *send* turn:
the messages an update sends to its own chat go out in the order of the updates (taken at an update's first
message there, kept to its end). An update that must wait to send (Telegram's 20 messages a minute per group)
holds its send turn — so no later update's message can overtake its own — and gives the work turn to the chat's
next update meanwhile; it takes the work turn back (at the end of the queue) before its handler goes on. So a join
behind a flood of /checkin is handled — restricted — as soon as their own work is done, not after their answers'
turn in the group's window (minutes); its prompt, a message, still waits for that turn."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from telegram import Update, User
from telegram.error import TelegramError
from telegram.ext import Application, BaseUpdateProcessor

log = logging.getLogger(__name__)

# PTB's own bound is taken before our per-chat wait: a flood in one chat would fill it and stall the rest.
# So PTB's is set out of reach and ours (chats handled at once) is applied once an update's turn has come.
_UNBOUNDED = 1 << 30


class _Chat:
    """One chat's turns (see the module's doc), and how many of its updates hold or wait for them."""

    __slots__ = ("work", "send", "users")

    def __init__(self) -> None:
        self.work, self.send, self.users = asyncio.Lock(), asyncio.Lock(), 0


class _Held:
    """What the update running in `task` holds: one of the processor's places, and its chat's turns."""

    __slots__ = ("slots", "task", "key", "chat", "held", "working", "sending")

    def __init__(self, slots: asyncio.Semaphore, task: asyncio.Task | None, key: int | None, chat: _Chat | None) -> None:
        self.slots, self.task, self.key, self.chat = slots, task, key, chat
        self.held = self.working = self.sending = False

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self.slots.release()
        if self.chat is not None:
            if self.working:
                self.working = False
                self.chat.work.release()
            if self.sending:
                self.sending = False
                self.chat.send.release()


_HELD: ContextVar[_Held | None] = ContextVar("sticky_processor_held", default=None)


def _current() -> _Held | None:
    """The update this task is handling. A task it started (application.create_task) copies its context but is no
    part of it: it holds none of its places or turns, and must not give them away."""
    held = _HELD.get()
    return held if held is not None and held.task is asyncio.current_task() else None


@asynccontextmanager
async def _waiting(held: _Held | None, give_work: bool) -> AsyncIterator[None]:
    """Wait without the place (and, with `give_work`, without the chat's work turn); both are taken back after
    (the work turn first: a place is not held while queueing for it). Cancelled, nothing is taken back: the
    update's end gives back only what it holds."""
    if held is None:
        yield
        return
    gave_place, gave_work = held.held, give_work and held.working
    if gave_place:
        held.held = False
        held.slots.release()
    if gave_work:
        held.working = False
        held.chat.work.release()  # type: ignore[union-attr]

    async def take_back() -> None:
        if gave_work:
            await held.chat.work.acquire()  # type: ignore[union-attr]
            held.working = True
        if gave_place:
            await held.slots.acquire()
            held.held = True

    try:
        yield
    except asyncio.CancelledError:
        raise
    except BaseException:
        await take_back()
        raise
    await take_back()


@asynccontextmanager
async def slot_released() -> AsyncIterator[None]:
    """Wait without holding a place (a flood-limit wait): other chats' updates may run meanwhile. The chat's work
    turn is kept."""
    async with _waiting(_current(), give_work=False):
        yield


def taken(lock: asyncio.Lock) -> bool:
    """Held, or released to a waiter that has not resumed yet: asyncio.Lock.locked() is False in between, though the
    lock is promised to that waiter, so whoever asks now queues behind it — and must not keep a turn that waiter
    needs back meanwhile (it reads the lock's waiters: the standard library gives no public way)."""
    return lock.locked() or any(not w.cancelled() for w in (getattr(lock, "_waiters", None) or ()))


@asynccontextmanager
async def send_wait(chat_id: Any = None) -> AsyncIterator[None]:
    """A message's wait for Telegram's flood limits: without a place, and, once the update holds its chat's send
    turn (send_turn) and the message is for that chat, without the chat's work turn — the next update of the chat is
    handled meanwhile. A wait to send to another chat keeps the work turn: given away, the next update could take it
    and then queue for that other chat behind this one, which needs the work turn back — neither would move."""
    held = _current()
    own = held is not None and held.key is not None and _same_chat(held.key, chat_id)
    async with _waiting(held, give_work=held is not None and held.sending and own):
        yield


def _same_chat(key: int, chat_id: Any) -> bool:
    try:
        return int(chat_id) == key
    except (TypeError, ValueError):
        return False


async def send_turn(chat_id: Any) -> None:
    """Before a message to `chat_id`: if that is the chat of the update being handled, its send turn (kept to the
    update's end), so the chat's messages go out in the order of its updates. Waiting for it (an earlier update's
    message waits for the window), the work turn goes to the next update; the waiter is queued before that."""
    held = _current()
    if held is None or held.sending or held.chat is None or held.key is None or not _same_chat(held.key, chat_id):
        return
    send = held.chat.send
    if taken(send):
        # Released and queued with no await in between: the next update, woken by the release, cannot queue first.
        async with _waiting(held, give_work=True):
            await send.acquire()
    else:
        await send.acquire()
    held.sending = True


def chat_key(update: object) -> int | None:
    """Updates are ordered per chat; an update without one (a poll answer) per user; otherwise not at all."""
    if isinstance(update, Update):
        chat = update.effective_chat
        if chat is not None:
            return chat.id
        user = update.effective_user
        if user is not None:
            return user.id
    return None


class ChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, concurrent_chats: int = 16, stop_grace: float = 5.0) -> None:
        super().__init__(max_concurrent_updates=_UNBOUNDED)
        self.concurrent_chats = concurrent_chats
        self.stop_grace = stop_grace
        # Told when an update's handling ended (the inbox marks it handled); not told when it was cut short.
        self.on_finished: Callable[[object], None] | None = None
        self._slots: asyncio.Semaphore | None = None
        self._chats: dict[int, _Chat] = {}
        self._running: set[asyncio.Task] = set()
        self._stopping = False
        self.left_for_next_start = 0
        self.cut_short = 0

    async def initialize(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrent_chats)
        self._stopping = False

    async def shutdown(self) -> None:
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        assert self._slots is not None, "the processor was not initialized"
        key = chat_key(update)
        chat = None
        if key is not None:
            chat = self._chats.get(key)
            if chat is None:
                chat = self._chats[key] = _Chat()
            chat.users += 1
        held = _Held(self._slots, asyncio.current_task(), key, chat)
        token = _HELD.set(held)
        try:
            if chat is not None:
                await chat.work.acquire()  # asyncio.Lock wakes waiters first come, first served: the chat's order
                held.working = True
            await self._run(update, coroutine, held)
        finally:
            held.give_back()
            _HELD.reset(token)
            if chat is not None:
                chat.users -= 1
                if chat.users == 0:
                    del self._chats[key]

    async def _run(self, update: object, coroutine: Awaitable[Any], held: _Held) -> None:
        await held.slots.acquire()
        held.held = True
        if self._stopping:
            self._skip(coroutine)
            return
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await coroutine
        except asyncio.CancelledError:
            self.cut_short += 1
            raise
        finally:
            self._running.discard(task)
        if self.on_finished is not None:
            self.on_finished(update)

    def _skip(self, coroutine: Awaitable[Any]) -> None:
        self.left_for_next_start += 1
        close = getattr(coroutine, "close", None)
        if close is not None:
            close()  # never awaited: no "coroutine was never awaited" warning

    def begin_stop(self) -> None:
        """From now on nothing new starts; what runs is cancelled after the grace period."""
        self._stopping = True
        asyncio.get_running_loop().call_later(self.stop_grace, self._cancel_running)

    def _cancel_running(self) -> None:
        for task in list(self._running):
            task.cancel()

    def stop_report(self) -> str | None:
        if not (self.left_for_next_start or self.cut_short):
            return None
        return (f"stopped with {self.left_for_next_start} update(s) not started and {self.cut_short} cut short:"
                " the inbox hands the next start every one whose change was not committed")


class StartupError(Exception):
    """Start-up failed for a reason that is one line for the operator."""


def not_a_bot(detail: str) -> str:
    return f"Telegram's answer to getMe does not describe a bot ({detail}): is telegram.api_url a Bot API server?"


class StickyApplication(Application):
    """PTB's Application, except that stopping does not wait for every queued update (minutes, under a flood),
    and an answer to getMe that is not a bot is a start-up error of its own, not a traceback."""

    async def initialize(self) -> None:
        try:
            await super().initialize()
        except TelegramError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
            raise StartupError(not_a_bot(f"{type(exc).__name__}: {exc}")) from exc
        try:
            me = self.bot.bot
        except RuntimeError:
            me = None
        if not isinstance(me, User) or not me.username:
            raise StartupError(not_a_bot(f"got {me!r}"))

    def _mark_for_persistence_update(self, *, update: object | None = None, job: Any = None) -> None:
        """Only with a persistence, which Sticky has none of (its state is in SQLite): PTB marks every update's chat
        and user for one anyway, and without one nothing ever reads or clears those sets: every user and chat seen,
        kept for good (about 50 B a member)."""
        if self.persistence:
            super()._mark_for_persistence_update(update=update, job=job)

    async def stop(self) -> None:
        processor = self.update_processor
        if self.running and isinstance(processor, ChatUpdateProcessor):
            processor.begin_stop()
        stop_limiter = getattr(self.bot.rate_limiter, "begin_stop", None)
        if stop_limiter is not None:
            stop_limiter()
        await super().stop()
        report = processor.stop_report() if isinstance(processor, ChatUpdateProcessor) else None
        if report:
            log.warning(report)
