"""Counts messages in memory and writes them in one batch per interval: the per-message hot path does no I/O."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from storage.activity import ActivityRepo


class ActivityBuffer:
    def __init__(self, repo: ActivityRepo) -> None:
        self.repo = repo
        self._counts: dict[tuple[int, int, str], int] = defaultdict(int)
        self._last_seen: dict[tuple[int, int], datetime] = {}

    def count(self, chat_id: int, user_id: int, at: datetime, tz: str) -> None:
        day = at.astimezone(ZoneInfo(tz)).date().isoformat()
        self._counts[(chat_id, user_id, day)] += 1
        self._last_seen[(chat_id, user_id)] = at

    @property
    def pending(self) -> int:
        return sum(self._counts.values())

    async def flush(self) -> int:
        """Write what was counted; on failure the counts go back so nothing is lost."""
        if not self._counts and not self._last_seen:
            return 0
        counts, last_seen = self._counts, self._last_seen
        self._counts, self._last_seen = defaultdict(int), {}
        try:
            await self.repo.add_counts(
                [(c, u, d, n) for (c, u, d), n in counts.items()], [(c, u, at) for (c, u), at in last_seen.items()]
            )
        except Exception:
            for key, n in counts.items():
                self._counts[key] += n
            for key, at in last_seen.items():
                self._last_seen.setdefault(key, at)
            raise
        return sum(counts.values())
