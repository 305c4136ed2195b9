"""The feedback box, pure: what a suggestion may be and how an admin's decision reads."""
from __future__ import annotations

from bot.domain.errors import UserError, bounded_text, typed_id

MAX_TEXT = 1000
MAX_POINTS = 10_000


class FeedbackError(UserError):
    """params: reason in {empty, too_long, unknown_id, decided, bad_points, bad_id}, id, status, limit."""

    code = "feedback"


def check_text(text: str) -> str:
    return bounded_text(text, FeedbackError, MAX_TEXT)


def parse_id(word: str) -> int:
    return typed_id(word, FeedbackError)


def parse_points(word: str | None, default: int) -> int:
    if word is None:
        return default
    if not word.isdigit() or len(word) > 6:
        raise FeedbackError(reason="bad_points", limit=MAX_POINTS)
    value = int(word)
    if not 0 <= value <= MAX_POINTS:
        raise FeedbackError(reason="bad_points", limit=MAX_POINTS)
    return value
