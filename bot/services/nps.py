"""Use-cases of NPS surveys: open one per group (closing after nps.open_days), answer or change an answer while it
is open, close it, and the score with its trend for /stats."""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from bot.clock import Clock
from bot.domain.nps import NpsError, NpsResult, SCORES, nps
from storage.nps import NpsRepo, Survey

T = TypeVar("T")


@dataclass(frozen=True)
class NpsSummary:
    latest: NpsResult | None
    previous: NpsResult | None
    open: bool


class NpsService:
    def __init__(self, repo: NpsRepo, clock: Clock, open_days: int) -> None:
        self.repo = repo
        self.clock = clock
        self.open_days = open_days

    async def open(self, chat_id: int, by: int | None, at: datetime) -> Survey:
        """A new survey (/nps open). NpsError when one is still open: nothing is written."""
        async with self.repo.db.transaction() as tx:
            return await self._open_in(tx, chat_id, by, at)

    def opening(self, chat_id: int, by: int | None, at: datetime, choices_for: Callable[[Survey], T]):
        """For the outbox's `opens`: the survey is opened in the transaction of its message's first push-log row
        (so a crash never leaves one without the other, and a run cut off before it runs again cleanly), and its
        buttons (choices_for) name it. NpsError when one is still open: nothing is written."""
        async def opens(tx) -> T:
            return choices_for(await self._open_in(tx, chat_id, by, at))
        return opens

    async def _open_in(self, tx, chat_id: int, by: int | None, at: datetime) -> Survey:
        survey = await NpsRepo.open_in(tx, chat_id, by, at, at + timedelta(days=self.open_days))
        if survey is None:
            raise NpsError(reason="already_open")
        return survey

    async def posted(self, survey: Survey, message_id: int) -> None:
        await self.repo.set_message(survey.id, message_id)

    async def discard(self, survey: Survey) -> None:
        """A survey whose message Telegram refused: it never was one (unless it has a message or answers after all)."""
        await self.repo.discard(survey.id)

    async def close(self, chat_id: int, at: datetime) -> NpsResult:
        survey = await self.repo.close(chat_id, at)
        if survey is None:
            raise NpsError(reason="none_open")
        return nps(await self.repo.scores(survey.id))

    async def answer(self, survey_id: int, user_id: int, score: int, at: datetime) -> NpsResult:
        if score not in SCORES:
            raise NpsError(reason="bad_score")
        if not await self.repo.answer(survey_id, user_id, score, at):
            raise NpsError(reason="closed")
        return nps(await self.repo.scores(survey_id))

    async def summary(self, chat_id: int) -> NpsSummary:
        latest = await self.repo.latest(chat_id, 2)
        results = [nps(await self.repo.scores(s.id)) for s in latest]
        return NpsSummary(results[0] if results else None, results[1] if len(results) > 1 else None,
                          bool(latest) and latest[0].open_at(self.clock.now()))
