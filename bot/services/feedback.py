"""The feedback box as use-cases: submit, vote (one per member), and an admin's accept (points with reason
`feedback` and the feedback_accepted badge, in the same transaction as the decision) or reject."""
from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.domain.badges import BadgeRule
from bot.domain.feedback import FeedbackError, check_text
from bot.domain.points import Currency, Reason, ledger_key
from bot.services.points import PointsService
from storage.db import Database
from storage.feedback import FeedbackRepo, Suggestion
from storage.ledger import post


@dataclass(frozen=True)
class Decision:
    suggestion: Suggestion  # as it was before the decision
    accepted: bool
    points: int
    badges: tuple[BadgeRule, ...] = ()


class FeedbackService:
    def __init__(self, db: Database, repo: FeedbackRepo, points: PointsService, clock: Clock, default_points: int) -> None:
        self.db = db
        self.repo = repo
        self.points = points
        self.clock = clock
        self.default_points = default_points

    async def submit(self, chat_id: int, user_id: int, text: str) -> int:
        return await self.repo.add(chat_id, user_id, check_text(text), self.clock.now())

    async def list(self, chat_id: int, status: str | None) -> list[Suggestion]:
        return await self.repo.of_chat(chat_id, status)

    async def get(self, chat_id: int, feedback_id: int) -> Suggestion:
        found = await self.repo.get(chat_id, feedback_id)
        if found is None:
            raise FeedbackError(reason="unknown_id", id=feedback_id)
        return found

    async def vote(self, chat_id: int, feedback_id: int, user_id: int) -> tuple[bool, Suggestion]:
        """(counted?, the suggestion with its votes now). A member's own suggestion and a decided one take no votes."""
        found = await self.get(chat_id, feedback_id)
        if found.user_id == user_id:
            raise FeedbackError(reason="own")
        if found.status != "open":
            raise FeedbackError(reason="decided", id=feedback_id, status=found.status)
        counted = await self.repo.vote(feedback_id, user_id, self.clock.now())
        return counted, await self.get(chat_id, feedback_id)

    async def accept(self, chat_id: int, feedback_id: int, actor_id: int | None, points: int | None) -> Decision:
        found = await self.get(chat_id, feedback_id)
        amount = self.default_points if points is None else points
        now = self.clock.now()
        async with self.db.transaction() as tx:
            author = await FeedbackRepo.decide(tx, chat_id, feedback_id, "accepted", amount, None, actor_id, now)
            if author is None:
                raise FeedbackError(reason="decided", id=feedback_id, status=found.status)
            if amount:
                await post(tx, chat_id, author, amount, Currency.POINTS, Reason.FEEDBACK,
                           ledger_key(Reason.FEEDBACK, chat_id, author, feedback_id), now, actor_id=actor_id, note=f"#{feedback_id}")
            count = await FeedbackRepo.accepted_count(tx, chat_id, author)
            badges = await self.points.award_badges_in(tx, chat_id, author, now, feedback_accepted=count)
        return Decision(found, True, amount, badges)

    async def reject(self, chat_id: int, feedback_id: int, actor_id: int | None, reason: str | None) -> Decision:
        found = await self.get(chat_id, feedback_id)
        async with self.db.transaction() as tx:
            author = await FeedbackRepo.decide(tx, chat_id, feedback_id, "rejected", 0, (reason or "").strip()[:200] or None,
                                               actor_id, self.clock.now())
            if author is None:
                raise FeedbackError(reason="decided", id=feedback_id, status=found.status)
        return Decision(found, False, 0)
