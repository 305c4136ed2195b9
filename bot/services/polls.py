"""Quizzes and native polls as use-cases: post one for a schedule run (through the outbox), take each member's first
answer (points through the ledger in the same transaction, once per member per poll however often Telegram delivers
it or the vote changes), close it at its time (deferred work) and hand over a quiz's result once every answer
Telegram counted has been taken."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.config import ActivitiesConfig
from bot.domain.points import Currency, Reason, ledger_key
from bot.domain.polls import Award, Question, award
from bot.services.outbox import Outbox, Pushed
from storage.db import Database
from storage.ledger import post
from storage.polls import Answer, PollRepo, PollRow
from storage.schedules import Schedule, ScheduleRepo

# After a quiz closes, its result waits (in these steps, at most this often) for answers Telegram counted that are
# not handled yet — a restart right at the closing time leaves some in Telegram's queue.
RESULT_WAIT = timedelta(seconds=5)
RESULT_TRIES = 12


@dataclass(frozen=True)
class Taken:
    poll: PollRow
    award: Award


class PollService:
    def __init__(self, db: Database, repo: PollRepo, deferred: ScheduleRepo, outbox: Outbox, clock: Clock,
                 config: ActivitiesConfig) -> None:
        self.db = db
        self.repo = repo
        self.deferred = deferred
        self.outbox = outbox
        self.clock = clock
        self.config = config

    def _window(self, schedule: Schedule) -> tuple[int, int]:
        """(minutes open, points) for this schedule's kind: its own words first, then the configured defaults."""
        quiz = schedule.action == "quiz"
        minutes = schedule.options.get("minutes") or (self.config.quiz_minutes if quiz else self.config.poll_minutes)
        points = schedule.options.get("points")
        if points is None:
            points = self.config.quiz_points if quiz else self.config.poll_points
        return int(minutes), int(points)

    async def open(self, schedule: Schedule, question: Question) -> Pushed:
        """The row and its closing are written first, then the poll is sent; one that did not go out is closed at
        once (nothing is left to close later)."""
        now = self.clock.now()
        minutes, points = self._window(schedule)
        row = await self.repo.open(schedule.chat_id, schedule.id, schedule.action, question.text, question.options,
                                   question.correct, points, schedule.options.get("first"), now, now + timedelta(minutes=minutes))
        pushed = await self.outbox.poll(schedule.chat_id, schedule.action, question.text, list(question.options),
                                        correct=question.correct, multiple=bool(schedule.options.get("multi")),
                                        pin=bool(schedule.options.get("pin")))
        if pushed.sent:
            await self.repo.posted(row.id, pushed.message_id, pushed.poll_id)
        else:
            await self.repo.close(row.id, now)
        return pushed

    async def answer(self, tg_poll_id: str, user_id: int, option_ids: list[int]) -> Taken | None:
        """A member's answer (poll_answer). Only the first counts: a changed or retracted vote, or the same answer
        delivered again, changes nothing. Every answer Telegram sends was given while the poll was open (Telegram
        refuses votes in a closed poll), so one handled after the closing still counts. None: not one of ours, a
        retraction, or answered before."""
        row = await self.repo.by_telegram_id(tg_poll_id)
        if row is None or not option_ids:
            return None
        now = self.clock.now()
        reason = Reason.QUIZ if row.kind == "quiz" else Reason.POLL
        async with self.db.transaction() as tx:
            before = await PollRepo.right_before(tx, row.id) if row.kind == "quiz" else 0
            got = award(row.kind, row.correct, list(option_ids), row.points, row.first_n, before)
            if not await PollRepo.record_answer(tx, row.id, user_id, list(option_ids), got.correct, got.rank, got.points, now):
                return None
            if got.points:
                await post(tx, row.chat_id, user_id, got.points, Currency.POINTS, reason,
                           ledger_key(reason, row.chat_id, user_id, row.id), now, note=f"#{row.id}")
        return Taken(row, got)

    async def close(self, poll_id: int) -> PollRow | None:
        """Close the poll in Telegram (claimed first: once). Returns the row when it was posted and is now closed."""
        row = await self.repo.close(poll_id, self.clock.now())
        if row is None or row.message_id is None:
            return None
        voters = await self.outbox.stop_poll(row.chat_id, row.message_id)
        await self.repo.set_voters(row.id, voters)
        return row

    async def result(self, poll_id: int, tries: int = 0) -> tuple[PollRow, list[Answer]] | None:
        """A closed quiz's answers for its result post, handed out once. While fewer answers are recorded than
        Telegram counted voters, it waits (deferred `quiz_result`, RESULT_WAIT at a time, RESULT_TRIES at most)."""
        row = await self.repo.get(poll_id)
        if row is None or row.result_at is not None:
            return None
        answers = await self.repo.answers(poll_id)
        now = self.clock.now()
        if row.voters is not None and len(answers) < row.voters and tries < RESULT_TRIES:
            await self.deferred.defer(row.chat_id, "quiz_result", {"poll": poll_id, "tries": tries + 1}, now + RESULT_WAIT, now)
            return None
        if not await self.repo.claim_result(poll_id, now):
            return None
        return row, answers
