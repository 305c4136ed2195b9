"""Net promoter score (净推荐值): answers 0–10 to "How likely are you to recommend this group to a friend?".
Promoters answer 9–10, detractors 0–6; the score is the promoters' share minus the detractors' share, −100…+100."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain.errors import UserError

SCORES = range(11)


class NpsError(UserError):
    """reason: already_open | none_open | closed | bad_score | admin (the owner or an admin answering)."""


def category(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


@dataclass(frozen=True)
class NpsResult:
    answers: int
    promoters: int
    passives: int
    detractors: int

    @property
    def score(self) -> float | None:
        return None if self.answers == 0 else 100 * (self.promoters - self.detractors) / self.answers


def nps(scores: Iterable[int]) -> NpsResult:
    values = list(scores)
    cats = [category(v) for v in values]
    return NpsResult(len(values), cats.count("promoter"), cats.count("passive"), cats.count("detractor"))
