"""Topics of the week, pure: what a topic on the admin's list may be, and which replies were the best — those that
got the most replies from other members (the discussion they started), one per member, earlier first on a tie."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.errors import UserError, bounded_text, typed_id

MAX_TEXT = 1000


class TopicError(UserError):
    """params: reason in {empty, too_long, unknown_id, bad_id}, id, limit."""

    code = "topic"


def check_text(text: str) -> str:
    return bounded_text(text, TopicError, MAX_TEXT)


def parse_id(word: str) -> int:
    return typed_id(word, TopicError)


@dataclass(frozen=True)
class Reply:
    message_id: int
    user_id: int
    at: datetime
    replies: int  # replies it got from other members


def best_replies(replies: list[Reply], n: int) -> list[Reply]:
    """The n replies that drew the most replies from others (at least one), a member's best one only."""
    ranked = sorted((r for r in replies if r.replies > 0), key=lambda r: (-r.replies, r.at, r.message_id))
    best, members = [], set()
    for r in ranked:
        if r.user_id in members:
            continue
        best.append(r)
        members.add(r.user_id)
        if len(best) == n:
            break
    return best
