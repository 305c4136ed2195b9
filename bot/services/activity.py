"""Counts messages (per member per local day, and per local hour for the group) in memory, keyed by chat: the
per-message hot path does no I/O. A message's counts are written in the same commit as its update's handled mark
(they ride with it, see storage.inbox.Rider), so a crash loses none and a redelivery counts none twice; counts not
tied to an update are written in batches per interval.

It also keeps each member's message total (written and in memory) for the rules' `messages < N`, so judging a
message reads nothing: read once from the database per member, then kept in step as messages are counted."""
from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from storage.activity import ActivityRepo, rows_with_marks
from storage.db import CommitRows
from storage.inbox import HANDLING

# Members per counter-flush transaction: a chunk holds the write connection for a few milliseconds.
FLUSH_CHUNK = 250
TOTALS_PER_CHAT = 20_000  # members per group whose message total is kept (beyond: the oldest half is read again)


class Watch:
    """A read of one member's written message count in progress (ActivityBuffer.watch): `clean` while no commit
    carrying their counts was underway when it began or began since — only then is the sum exact and kept."""

    __slots__ = ("key", "clean")

    def __init__(self, key: tuple[int, int], clean: bool) -> None:
        self.key, self.clean = key, clean


def member_key(chat_id: int, user_id: int) -> int | tuple[int, int]:
    """(chat, user) as one int (about 40 bytes) instead of a tuple of two ints (56, and the user's int beside it) for
    what is kept per member: ids are far inside 2**53 (Telegram's are 52-bit at most); anything else keeps the
    tuple, which no packed key can equal. Packed keys sort as their (chat, user) pairs do."""
    if -2**53 < user_id < 2**53:
        return chat_id * 2**54 + user_id + 2**53
    return (chat_id, user_id)


def member_of(key: int | tuple[int, int]) -> tuple[int, int]:
    """The (chat, user) of a member_key."""
    if isinstance(key, tuple):
        return key
    chat_id, rest = divmod(key, 2**54)
    return chat_id, rest - 2**53


def follow_moves(moved: dict[int, int], *state: tuple[dict[Any, Any], Callable[[Any, Any], Any]]) -> None:
    """Re-key in-memory state whose keys start with a chat id (a tuple, or a member_key), for every group that got
    a new id (a basic group upgraded to a supergroup); `combine` merges a value with one already under the new key."""
    def chat_of(key: Any) -> int:
        return member_of(key)[0] if isinstance(key, int) else key[0]

    for old, new in moved.items():
        for mapping, combine in state:
            for key in [k for k in mapping if chat_of(k) == old]:
                value = mapping.pop(key)
                moved_key = member_key(new, member_of(key)[1]) if isinstance(key, int) else (new, *key[1:])
                mapping[moved_key] = combine(mapping[moved_key], value) if moved_key in mapping else value


_ONE: dict[Any, Any] = {}


def one(value: Any) -> Any:
    """The one object for this value (a chat id, a day): what is held per update until its flush shares it rather
    than keeping a copy each (a JSON-decoded -100… chat id is its own 32-byte int in every update, a day string
    59 bytes). Only chats and days pass here, so it stays small; if it ever grew, it starts again (sharing is all
    it gives)."""
    kept = _ONE.get(value)
    if kept is None:
        if len(_ONE) >= 100_000:
            _ONE.clear()
        kept = _ONE[value] = value
    return kept


class ActivityBuffer:
    def __init__(self, repo: ActivityRepo) -> None:
        self.repo = repo
        self._counts: dict[tuple[int, int, str], int] = defaultdict(int)
        self._last_seen: dict[tuple[int, int], datetime] = {}
        # (chat_id, metric, local day, local hour) -> n: members' messages, not those of the owner/admins (the heat-map
        # of /stats; moderation actions are counted from the modlog).
        self._hourly: dict[tuple[int, str, str, int], int] = defaultdict(int)
        self._replies: dict[tuple[int, int, str], int] = defaultdict(int)  # replies to others, per member per day
        self._moved: dict[int, int] = {}
        # update id -> (chat, user, local day, local hour (None: an admin's, not in the hourly counts), replied, at):
        # written with that update's handled mark.
        self._held: dict[int, tuple[int, int, str, int | None, bool, datetime]] = {}
        self._riding: dict[int, tuple[int, int, str, int | None, bool, datetime]] = {}
        # (chat, user) -> messages counted whose commit has not been confirmed yet (held, riding, batched, flushing).
        self._uncommitted: dict[tuple[int, int], int] = {}
        # (chat, user) -> commits carrying their counts that are underway (handed over, outcome not heard yet).
        self._inflight: dict[tuple[int, int], int] = {}
        self._watches: dict[tuple[int, int], list[Watch]] = {}  # reads of a written count in progress
        self._totals: dict[int, dict[int, int]] = {}  # chat -> user -> every message of theirs, written or not

    def unwritten(self, chat_id: int, user_id: int) -> int:
        """A member's messages counted in memory whose commit is not confirmed yet."""
        return self._uncommitted.get((self._moved.get(chat_id, chat_id), user_id), 0)

    # ------------------------------------------------------------ a member's message total (the rules' `messages < N`)

    def total(self, chat_id: int, user_id: int) -> int | None:
        """Every message of the member here, written or still in memory; None until `kept` gave it a start."""
        return self._totals.get(self._moved.get(chat_id, chat_id), {}).get(user_id)

    def watch(self, chat_id: int, user_id: int) -> Watch:
        """Call just before reading the member's written count from the database, then `kept` with it."""
        key = (self._moved.get(chat_id, chat_id), user_id)
        watch = Watch(key, not self._inflight.get(key))
        self._watches.setdefault(key, []).append(watch)
        return watch

    def kept(self, watch: Watch, written: int) -> int:
        """The member's total from the count the database gave (read after `watch`) plus what is not committed;
        kept from now on, and counted on, when no commit of theirs overlapped the read."""
        self.unwatch(watch)
        total = written + self._uncommitted.get(watch.key, 0)
        if watch.clean:
            chat_id, user_id = watch.key
            known = self._totals.setdefault(chat_id, {})
            if len(known) >= TOTALS_PER_CHAT:  # bounded: the oldest half is read again when asked
                for stale in list(known)[: TOTALS_PER_CHAT // 2]:
                    del known[stale]
            known[user_id] = total
        return total

    def unwatch(self, watch: Watch) -> None:
        """The read is over (kept calls it; a read that failed calls it alone)."""
        watching = self._watches.get(watch.key, [])
        if watch in watching:
            watching.remove(watch)
        if not watching:
            self._watches.pop(watch.key, None)

    def _handed(self, key: tuple[int, int]) -> None:
        """Counts of this member go to a commit: a read of their written count now cannot tell whether it has them."""
        key = (self._moved.get(key[0], key[0]), key[1])
        self._inflight[key] = self._inflight.get(key, 0) + 1
        for watch in self._watches.get(key, ()):
            watch.clean = False

    def _heard(self, key: tuple[int, int], committed: int, handed: bool = True) -> None:
        """A commit carrying this member's counts ended; `committed` of them are in the database now (0: it failed)."""
        key = (self._moved.get(key[0], key[0]), key[1])
        left = self._inflight.get(key, 0) - (1 if handed else 0)
        if left > 0:
            self._inflight[key] = left
        else:
            self._inflight.pop(key, None)
        if committed:
            rest = self._uncommitted.get(key, 0) - committed
            if rest > 0:
                self._uncommitted[key] = rest
            else:
                self._uncommitted.pop(key, None)

    def count(self, chat_id: int, user_id: int, at: datetime, tz: str, replied: bool = False,
              update_id: int | None = None, hourly: bool = True) -> None:
        """One message; with `update_id`, held until that update's handled mark is written, and written with it.
        Not `hourly` (its sender is an owner/admin): counted for the member, not in the group's messages per hour."""
        local = at.astimezone(ZoneInfo(tz))
        day = local.date().isoformat()
        hour = local.hour if hourly else None
        key = (self._moved.get(chat_id, chat_id), user_id)
        self._uncommitted[key] = self._uncommitted.get(key, 0) + 1
        totals = self._totals.get(key[0])
        if totals is not None and user_id in totals:
            totals[user_id] += 1
        if update_id is not None:
            self._held[update_id] = (one(chat_id), user_id, one(day), hour, replied, at)
            return
        self._add(chat_id, user_id, day, hour, replied, at)

    def _add(self, chat_id: int, user_id: int, day: str, hour: int | None, replied: bool, at: datetime) -> None:
        self._counts[(chat_id, user_id, day)] += 1
        if replied:
            self._replies[(chat_id, user_id, day)] += 1
        if hour is not None:
            self._hourly[(chat_id, "messages", day, hour)] += 1
        self._last_seen[(chat_id, user_id)] = at

    # ------------------------------------------------------------ riding with the inbox's marks (storage.inbox.Rider)

    def ride(self, update_ids: list[int]) -> list[CommitRows]:
        """The held counts of these updates, as rows for the commit that marks them handled."""
        riding = {i: self._held.pop(i) for i in update_ids if i in self._held}
        if not riding:
            return []
        self._riding.update(riding)
        counts: dict[tuple[int, int, str], list[int]] = {}
        hourly: dict[tuple[int, str, str, int], int] = defaultdict(int)
        last_seen: dict[tuple[int, int], datetime] = {}
        for chat_id, user_id, day, hour, replied, at in riding.values():
            chat_id = self._moved.get(chat_id, chat_id)
            self._handed((chat_id, user_id))
            n = counts.setdefault((chat_id, user_id, day), [0, 0])
            n[0] += 1
            n[1] += replied
            if hour is not None:
                hourly[(chat_id, "messages", day, hour)] += 1
            last_seen[(chat_id, user_id)] = max(at, last_seen.get((chat_id, user_id), at))
        return rows_with_marks([(c, u, d, n, r) for (c, u, d), (n, r) in counts.items()],
                               [(c, u, at) for (c, u), at in last_seen.items()],
                               [(c, m, d, h, n) for (c, m, d, h), n in hourly.items()])

    def rode(self, update_ids: list[int], committed: bool) -> None:
        riding = {i: self._riding.pop(i) for i in update_ids if i in self._riding}
        for chat_id, user_id, *_ in riding.values():
            self._heard((chat_id, user_id), 1 if committed else 0)
        if not committed:  # back in memory: the marks are back in line too
            self._held.update(riding)

    def release(self, update_id: int) -> None:
        held = self._held.pop(update_id, None)
        if held is not None:
            self._add(*held)

    def keeps(self, update_id: int) -> bool:
        return False  # counts go with whichever commit marks their update

    def move_chat(self, old: int, new: int) -> None:
        """The group got a new id (upgraded to a supergroup): what is counted and not written yet follows it,
        and so does anything a failed flush puts back later."""
        self._moved[old] = new
        self._follow_moves()
        # The database moved the group's counts to the new id (dropping what the new id had): read totals again,
        # and a read in progress on either id is not kept.
        for chat_id in (old, new):
            self._totals.pop(chat_id, None)
        for key, watches in self._watches.items():
            if key[0] in (old, new):
                for watch in watches:
                    watch.clean = False

    def _follow_moves(self) -> None:
        follow_moves(self._moved, (self._counts, operator.add), (self._last_seen, max), (self._hourly, operator.add), (self._replies, operator.add),
                     (self._uncommitted, operator.add), (self._inflight, operator.add))

    @property
    def pending(self) -> int:
        return sum(self._counts.values()) + len(self._held)

    @property
    def unflushed(self) -> bool:
        """flush() has something to write."""
        return bool(self._counts or self._last_seen or self._hourly or self._held)

    async def flush(self) -> int:
        """Write what was counted, FLUSH_CHUNK members per transaction (the one write connection is never held for a
        whole flush); a chunk that fails goes back with everything after it, so nothing is lost or written twice. Its
        commits also carry the marks of updates whose handling ended meanwhile, and so their held counts."""
        if not self.unflushed:
            return 0
        counts, last_seen, hourly, replies = self._counts, self._last_seen, self._hourly, self._replies
        self._counts, self._last_seen, self._hourly, self._replies = defaultdict(int), {}, defaultdict(int), defaultdict(int)
        count_rows = [(c, u, d, n, replies.get((c, u, d), 0)) for (c, u, d), n in counts.items()]
        seen_rows = [(c, u, at) for (c, u), at in last_seen.items()]
        hourly_rows = [(c, m, d, h, n) for (c, m, d, h), n in hourly.items()]
        written = 0
        # The batch belongs to no update: even called while one is being handled in this task, its commits must not
        # mark that one handled (its handling has not ended).
        outside = HANDLING.set(None)
        try:
            for start in range(0, max(len(count_rows), len(seen_rows), 1), FLUSH_CHUNK):
                end = start + FLUSH_CHUNK
                part = count_rows[start:end]
                for c, u, *_ in part:
                    self._handed((c, u))
                try:
                    await self.repo.add_counts(part, seen_rows[start:end], hourly_rows if start == 0 else [])
                except Exception:
                    for c, u, *_ in part:
                        self._heard((c, u), 0)
                    self._put_back(count_rows[start:], seen_rows[start:], hourly_rows if start == 0 else [])
                    raise
                except BaseException:  # cancelled: whether this chunk committed is not known, and nothing goes back
                    for i, (c, u, _, n, _) in enumerate(count_rows[start:]):
                        self._heard((c, u), n, handed=i < len(part))
                        self._totals.get(self._moved.get(c, c), {}).pop(u, None)  # read again from the database
                    raise
                for c, u, _, n, _ in part:
                    self._heard((c, u), n)
                written += sum(n for _, _, _, n, _ in part)
        finally:
            HANDLING.reset(outside)
        return written

    def _put_back(self, count_rows: list, seen_rows: list, hourly_rows: list) -> None:
        for c, u, d, n, r in count_rows:
            self._counts[(c, u, d)] += n
            if r:
                self._replies[(c, u, d)] += r
        for c, m, d, h, n in hourly_rows:
            self._hourly[(c, m, d, h)] += n
        for c, u, at in seen_rows:
            self._last_seen.setdefault((c, u), at)
        self._follow_moves()
