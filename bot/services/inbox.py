"""Nothing lost, nothing twice: which received updates are to be handled, and that each is handled once.

An update is recorded (storage.inbox) before Telegram can consider it delivered; the middleware claims it
before any handler runs; its "handled" mark is committed with the first write its handlers make (or with the
next commit after it finished, for updates that change nothing). After a restart, what was received and not
handled is handled first; a redelivered update already handled is claimed by nobody.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from storage.inbox import HANDLING, BatchWrite, InboxRepo, RecentIds

log = logging.getLogger(__name__)

# How long a finished update's mark may wait for a commit that happens anyway before it gets one of its own:
# the window in which a crash makes a change-nothing update (a /help answer) be answered again.
MARK_DELAY = 0.2
# Telegram keeps an unconfirmed update for 24 hours and, after a week without updates, may start ids afresh.
KEEP_HANDLED = timedelta(days=2)


@dataclass(frozen=True)
class WithBatch:
    """What a service writes for a received batch in the transaction that records it (one commit, no wait later):
    `write` on the writer's thread (storage.inbox.BatchWrite: it is given the ids recorded before, which are repeats),
    then, once that commit is made, `written(those ids)` on the event loop. If the transaction fails with it, the batch
    is recorded again without any of it, and `written` is not called."""

    write: BatchWrite
    written: Callable[[set[int]], None]


# Asked for each received batch (the updates as Telegram sent them): what to write with it, or None.
WithBatchMaker = Callable[[list[dict[str, Any]]], "WithBatch | None"]


class InboxService:
    def __init__(self, repo: InboxRepo, clock: Clock, remember: int = 65_536) -> None:
        self.repo = repo
        self.clock = clock
        self._due: set[int] = set()  # recorded (or recovered) here and not claimed yet
        self._repeats: set[int] = set()  # arrived again although the inbox already had them
        self._claimed = RecentIds(remember)  # claimed here: the last `remember` ids, then the database says
        self._handling: set[int] = set()  # claimed and not finished, whatever ids came since (exact, small)
        self._remember = remember
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task | None = None
        self._with_batch: list[WithBatchMaker] = []

    def add_with_batch(self, maker: WithBatchMaker) -> None:
        """`maker` is asked, for every received batch, what to write in the transaction that records it."""
        self._with_batch.append(maker)

    # ---------------------------------------------------------------- arrival

    async def receive(self, updates: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Record a batch as Telegram sent it (one transaction); returns the updates not seen before."""
        batch = [u for u in updates if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
        if not batch:
            return []
        rows = [(u["update_id"], json.dumps(u, ensure_ascii=False, separators=(",", ":"))) for u in batch]
        extras = [a for a in self._batch_writes(batch) if a is not None]
        try:
            known = await self.repo.record(rows, [a.write for a in extras])
        except Exception:
            if not extras:
                raise  # a failure here (disk full…) propagates: PTB does not take the batch, Telegram sends it again
            # What goes with a batch is a saving, never a reason to refuse a batch (Telegram would send it again and again):
            # recorded without it, and each update does that work in its turn.
            log.warning("inbox: a received batch could not be recorded with what goes with it; recorded without it",
                        exc_info=True)
            known = await self.repo.record(rows)
        else:
            for extra in extras:
                extra.written(known)
        fresh = []
        for update in batch:
            update_id = update["update_id"]
            if update_id in known or update_id in self._due:
                self._repeats.add(update_id)
            else:
                self._due.add(update_id)
                fresh.append(update)
        if len(self._repeats) > self._remember:  # repeats nobody asked about (e.g. filtered out): forget them
            self._repeats.clear()
        return fresh

    def _batch_writes(self, batch: list[dict[str, Any]]) -> list[WithBatch | None]:
        out: list[WithBatch | None] = []
        for maker in self._with_batch:
            try:
                out.append(maker(batch))
            except Exception:  # what goes with a batch is a saving, never a reason to refuse a batch
                log.exception("inbox: what goes with a received batch could not be made (done later instead)")
        return out

    def received(self, update_id: int) -> bool:
        """Already recorded by this process (polling, recovery): a webhook put need not record it again."""
        return update_id in self._due or update_id in self._repeats or update_id in self._claimed

    async def recover(self) -> list[dict[str, Any]]:
        """At start: what was received and never handled, oldest first. They are due before anything new."""
        pending = []
        for row in await self.repo.unhandled():
            try:
                update = json.loads(row.payload)
            except ValueError:
                log.warning("inbox: update %s is unreadable and is skipped", row.update_id)
                self.repo.finished(row.update_id)
                continue
            self._due.add(row.update_id)
            pending.append(update)
        if pending:
            log.info("inbox: %d update(s) received before the last stop and not handled: handling them first", len(pending))
        return pending

    # ---------------------------------------------------------------- handling

    async def claim(self, update_id: int) -> bool:
        """True exactly once per update id, across restarts: the caller handles it."""
        if update_id in self._due:
            self._due.discard(update_id)
        elif update_id in self._handling or update_id in self._claimed or update_id in self._repeats:
            self._repeats.discard(update_id)
            return False
        elif await self.repo.handled(update_id):  # not received through the inbox (handed in directly)
            return False
        self._claimed.add(update_id)
        self._handling.add(update_id)
        return True

    @staticmethod
    def handling(update_id: int | None) -> None:
        """From here on, a commit in this task also marks the update handled (its own writes start here)."""
        HANDLING.set(update_id)

    @staticmethod
    @contextmanager
    def undecided() -> Iterator[None]:
        """What is written (or asked of Telegram) inside does not mark the update being handled: its handling has a
        decision still to commit (a join's screening check), and a crash before that commit must leave the update
        due, so the restart handles it again. What is written inside must be harmless to write again (a repeat of
        it changes nothing); the next commit outside marks the update as usual."""
        outside = HANDLING.set(None)
        try:
            yield
        finally:
            HANDLING.reset(outside)

    async def before_telegram_acts(self) -> None:
        """Called before Sticky asks Telegram to do something (send, edit, restrict…) while handling an update: if
        nothing has marked that update handled yet (it changed nothing here), it is marked now, so a crash after the
        message went out cannot make it go out again after the restart. A crash in the instant between loses it."""
        if HANDLING.get() is not None:
            await self.repo.mark_current()

    def holds(self, update_id: int | None) -> bool:
        """Whether this update came through the inbox and is being handled: what it counts in memory (its messages,
        its chat XP) is held for its handled mark and written with it (storage.inbox.Rider)."""
        return update_id is not None and (update_id in self._handling or update_id in self._claimed)

    async def written(self, update_id: int | None) -> None:
        """The one-off writes held for this update (storage.inbox.Along: a topic reply, a referral's message count)
        are written now, with its handled mark, unless a commit of its handling already wrote them: what follows from
        them (a tier reached, a referral confirmed) can be read."""
        if update_id is not None and self.repo.along.holding(update_id):
            await self.repo.mark_current()

    def hold_back(self, update_id: int | None, chat_id: int, message_id: int, more: list[tuple[str, dict]]) -> bool:
        """A rule means to delete this message: what it earns by staying (held for its update, and `more`) waits
        for the delete's outcome, stored by the rule's commit (settle). False: nothing waits."""
        if update_id is None or not self.holds(update_id):
            return False
        return self.repo.along.contingent(update_id, chat_id, message_id, more)

    async def settle(self, update_id: int, stays: bool | None) -> bool:
        """The delete's outcome for what hold_back kept: the message stayed (written), is gone (dropped), or unsure
        (None: settle_leftovers asks Telegram again)."""
        return await self.repo.along.settle(update_id, stays)

    async def settle_leftovers(self, delete: Callable[[int, int], Awaitable[bool | None]]) -> int:
        """What a kill (or an unsure delete) left unsettled: each message is deleted again, as its rule meant, and
        what Telegram answers settles it — deleted or already gone: dropped; refused (no right, too old): it stays,
        and what it earned is written. `delete(chat, message)` gives True (gone), False (stays) or None (unsure:
        asked again next time). Returns how many were settled."""
        settled = 0
        for left in await self.repo.along.unsettled():
            outcome = await delete(left.chat_id, left.message_id)
            if outcome is not None and await self.settle(left.update_id, not outcome):
                settled += 1
            self.repo.along.forget(left.update_id)
        return settled

    def finished(self, update_id: int) -> None:
        """Handling ended (whatever the outcome: an update that fails is not retried forever)."""
        HANDLING.set(None)
        if update_id in self._handling:
            self._handling.discard(update_id)
        elif update_id not in self._claimed:  # a repeat nobody handled: nothing to mark
            return
        self.repo.finished(update_id)
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._timer = loop.call_later(MARK_DELAY, self._flush_soon)

    def _flush_soon(self) -> None:
        self._timer = None
        if self.repo.unwritten and (self._flushing is None or self._flushing.done()):
            self._flushing = asyncio.ensure_future(self._flush_logged())

    async def _flush_logged(self) -> None:
        try:
            await self.repo.flush()
        except Exception as exc:  # the marks stay queued for the next commit
            log.warning("inbox: could not write handled marks: %s", exc)

    async def flush(self) -> None:
        """At stop: every finished update's mark is written (what unfinished ones held is handled again at the next
        start)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)
        await self.repo.flush()

    async def prune(self) -> int:
        return await self.repo.prune(self.clock.now() - KEEP_HANDLED)

