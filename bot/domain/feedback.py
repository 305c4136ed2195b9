"""The feedback box, pure: what a suggestion may be and how an admin's decision reads."""
from __future__ import annotations

from bot.domain.errors import UserError

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
    try:
        value = int(word.lstrip("#"))
    except ValueError:
        raise FeedbackError(reason="bad_id") from None
    if value <= 0:
        raise FeedbackError(reason="bad_id")
    return value


def parse_points(word: str | None, default: int) -> int:
    if word is None:
        return default
    try:
        value = int(word)
    except ValueError:
        raise FeedbackError(reason="bad_points", limit=MAX_POINTS) from None
    if not 0 <= value <= MAX_POINTS:
        raise FeedbackError(reason="bad_points", limit=MAX_POINTS)
    return value
