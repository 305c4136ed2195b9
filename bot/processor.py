"""Fair concurrency: one chat's updates one after another in the order they came, different chats side by side,
so a flood, a slow command or a rate-limited burst in one group never delays another. Within a chat, who comes in
and goes out (joins, leaves, join requests, the bot's own status, captcha presses, and the commands that decide how
joins are met: the door) has a lane of its own that never waits for the chat's messages, so a newcomer is screened
at once even behind a flood of answers waiting for the group's flood window (what the door posts goes out from
tasks: in_the_door); a message waits for the door's updates that came before it (a newcomer's first message is
judged after their join). Stopping is quick: what has not started stays in the inbox for the next start,
what runs gets a short grace."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from telegram import Update, User
from telegram.error import NetworkError, TelegramError
from telegram.ext import Application, BaseUpdateProcessor

log = logging.getLogger(__name__)

# PTB's own bound is taken before our per-chat wait: a flood in one chat would fill it and stall the rest.
# So PTB's is set out of reach and ours (chats handled at once) is applied once an update's turn has come.
_UNBOUNDED = 1 << 30


class DroppedAtStop(NetworkError):
    """A call not made because Sticky is stopping and it would have had to wait (a flood limit, a 429): certainly
    not sent — unlike a network error, after which it may have arrived."""


class Alarm:
    """Sleeps that one call ends at once, for good (a stop): the processor's flood waits, the limiter's windows."""

    def __init__(self) -> None:
        self.rung = False
        self._sleeping: set[asyncio.Future] = set()

    async def sleep(self, seconds: float, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        """`sleep(seconds)`, or until ring(); returns at once once rung."""
        if self.rung:
            return
        woken = asyncio.get_running_loop().create_future()
        self._sleeping.add(woken)
        sleeping = asyncio.ensure_future(sleep(seconds))
        try:
            await asyncio.wait((sleeping, woken), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._sleeping.discard(woken)
            sleeping.cancel()
            woken.cancel()

    def ring(self) -> None:
        self.rung = True
        for woken in list(self._sleeping):
            if not woken.done():
                woken.set_result(None)


class _Place:
    """One of the processor's places, held by the update running in `task` (in its chat's door lane, or not)."""

    __slots__ = ("slots", "held", "task", "door", "processor")

    def __init__(self, slots: asyncio.Semaphore, door: bool = False, processor: ChatUpdateProcessor | None = None) -> None:
        self.slots, self.held, self.task, self.door, self.processor = slots, False, None, door, processor


_PLACE: ContextVar[_Place | None] = ContextVar("sticky_processor_place", default=None)


@asynccontextmanager
async def slot_released() -> AsyncIterator[None]:
    """Wait without holding a place (a flood-limit wait): other chats' updates may run meanwhile."""
    place = _PLACE.get()
    # A task the update started (application.create_task: the captcha prompt) copies its context but is no part of
    # it: it holds no place and must not give the update's away (the update would end without it, the task then
    # take it for good).
    if place is None or not place.held or place.task is not asyncio.current_task():
        yield
        return
    place.held = False
    place.slots.release()
    try:
        yield
    finally:
        await place.slots.acquire()  # if this is cancelled, the place is not held and is not given back twice
        place.held = True


def at_the_door(update: object, presses: tuple[str, ...] = (), commands: Callable[[str], bool] | None = None) -> bool:
    """A join, a leave, a join request, a change of the bot's own status, a press of a button whose data starts
    with one of `presses` (the captcha's), or a command that decides how the next joins are met (`commands`, given
    the text: /set screening on): the chat's door lane."""
    if not isinstance(update, Update):
        return False
    if update.chat_member is not None or update.my_chat_member is not None or update.chat_join_request is not None:
        return True
    message = update.message
    if message is not None:
        if message.new_chat_members or message.left_chat_member is not None:
            return True
        text = message.text
        return commands is not None and text is not None and text.startswith("/") and commands(text)
    query = update.callback_query
    return bool(presses) and query is not None and query.data is not None and query.data.startswith(presses)


class _Lanes:
    """One chat's two turns, and how many updates hold or wait for either."""

    __slots__ = ("talk", "door", "users")

    def __init__(self) -> None:
        self.talk, self.door, self.users = asyncio.Lock(), asyncio.Lock(), 0


_RUNNING: list[ChatUpdateProcessor] = []  # the processor of this process's running Application (initialize)


async def pause(seconds: float) -> None:
    """Wait out a flood wait (a 429's retry_after) for the update being handled, a task it started, or a job: a stop
    ends the wait at once and raises DroppedAtStop (a welcome's task told to wait 25 s, or the start's sweep, kept
    a stop waiting for it)."""
    place = _PLACE.get()
    processor = place.processor if place is not None and place.processor is not None else (_RUNNING[-1] if _RUNNING else None)
    if processor is None:
        await asyncio.sleep(seconds)
        return
    await processor.pause(seconds)


def in_the_door() -> bool:
    """Whether the update being handled (or a task it started) came through its chat's door lane: what it sends to
    the group must not wait for the group's flood window in the lane (a raid's joins would wait behind it), so it
    goes out from a task of its own (handlers.base.reply, the rules' announcements, the funnel's welcome)."""
    place = _PLACE.get()
    return place is not None and place.door


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
    def __init__(self, concurrent_chats: int = 16, stop_grace: float = 5.0, door_presses: tuple[str, ...] = (),
                 door_commands: Callable[[str], bool] | None = None) -> None:
        super().__init__(max_concurrent_updates=_UNBOUNDED)
        self.concurrent_chats = concurrent_chats
        self.stop_grace = stop_grace
        self.door_presses, self.door_commands = door_presses, door_commands
        # Told when an update's handling ended (the inbox marks it handled); not told when it was cut short.
        self.on_finished: Callable[[object], None] | None = None
        self._slots: asyncio.Semaphore | None = None
        self._chats: dict[int, _Lanes] = {}
        self._running: set[asyncio.Task] = set()
        self._alarm = Alarm()  # flood waits of updates and their tasks (pause): a stop ends them
        self._stopping = False
        self.left_for_next_start = 0
        self.cut_short = 0

    async def initialize(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrent_chats)
        self._stopping = False
        self._alarm = Alarm()
        _RUNNING[:] = [self]  # jobs hold no place: their flood waits find the processor here

    async def shutdown(self) -> None:
        if self in _RUNNING:
            _RUNNING.remove(self)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            await self._run(update, coroutine)
            return
        lanes = self._chats.get(key)
        if lanes is None:
            lanes = self._chats[key] = _Lanes()
        lanes.users += 1
        # asyncio.Lock wakes its waiters first come, first served: each lane keeps the chat's order. Nothing that holds
        # the door's turn ever waits for the talk's, so neither lane can hold the other up for good.
        try:
            if at_the_door(update, self.door_presses, self.door_commands):
                async with lanes.door:
                    await self._run(update, coroutine, door=True)
            else:
                async with lanes.door:  # the door's updates that came before this one go first
                    pass
                async with lanes.talk:
                    await self._run(update, coroutine)
        finally:
            lanes.users -= 1
            if lanes.users == 0:
                del self._chats[key]

    async def _run(self, update: object, coroutine: Awaitable[Any], door: bool = False) -> None:
        assert self._slots is not None, "the processor was not initialized"
        place = _Place(self._slots, door, self)
        await self._slots.acquire()
        place.held = True
        try:
            if self._stopping:
                self._skip(coroutine)
                return
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            place.task = task
            _PLACE.set(place)
            try:
                await coroutine
            except asyncio.CancelledError:
                self.cut_short += 1
                raise
            finally:
                self._running.discard(task)
        finally:
            if place.held:
                self._slots.release()
            # The task's context holds the place (_PLACE) and the place the task: a cycle that only a full collection
            # (rare, bot.app.GC_THRESHOLDS) would free, so every finished update's task, coroutine and context
            # (about 700 B) waited in memory for it. A task the update started keeps the place, not the update's task.
            place.task = None
        if self.on_finished is not None:
            self.on_finished(update)

    def _skip(self, coroutine: Awaitable[Any]) -> None:
        self.left_for_next_start += 1
        close = getattr(coroutine, "close", None)
        if close is not None:
            close()  # never awaited: no "coroutine was never awaited" warning

    def begin_stop(self) -> None:
        """From now on nothing new starts; what runs is cancelled after the grace period; a flood wait ends now."""
        self._stopping = True
        self._alarm.ring()
        asyncio.get_running_loop().call_later(self.stop_grace, self._cancel_running)

    async def pause(self, seconds: float) -> None:
        await self._alarm.sleep(seconds)
        if self._alarm.rung:
            raise DroppedAtStop("dropped at stop: a flood wait")

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
