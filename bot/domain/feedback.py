"""The feedback box, pure: what a suggestion may be and how an admin's decision reads."""
from __future__ import annotations

from bot.domain.errors import UserError, row_id

MAX_TEXT = 1000
MAX_POINTS = 10_000


class FeedbackError(UserError):
    """params: reason in {empty, too_long, unknown_id, decided, bad_points, bad_id}, id, status, limit."""

    code = "feedback"


def check_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise FeedbackError(reason="empty")
    if len(text) > MAX_TEXT:
        raise FeedbackError(reason="too_long", limit=MAX_TEXT)
    return text


def parse_id(word: str) -> int:
    found = row_id(word)
    if found is None:
        raise FeedbackError(reason="bad_id")
    return found


def parse_points(word: str | None, default: int) -> int:
    if word is None:
        return default
    if not word.isdigit() or len(word) > 6:
        raise FeedbackError(reason="bad_points", limit=MAX_POINTS)
    value = int(word)
    if not 0 <= value <= MAX_POINTS:
        raise FeedbackError(reason="bad_points", limit=MAX_POINTS)
    return value
