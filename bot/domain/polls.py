"""Quizzes and native polls, pure: the question an admin wrote (a question line, one option per line or `|`-separated,
the right answer of a quiz marked `*`), Telegram's limits on it, and who earns what for an answer."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bot.domain.errors import UserError

QUESTION_LIMIT = 300  # Telegram's: a poll question is 1-300 characters
OPTION_LIMIT = 100  # an option 1-100
MIN_OPTIONS, MAX_OPTIONS = 2, 12  # Telegram takes 1-12; a choice needs two
CORRECT_MARK = "*"
KINDS = ("quiz", "poll")


class PollError(UserError):
    """params: reason in {no_question, few_options, many_options, question_long, option_long, no_correct,
    many_correct, correct_in_poll}; n (the option's number), limit."""

    code = "poll"


@dataclass(frozen=True)
class Question:
    text: str
    options: tuple[str, ...]
    correct: int | None = None  # a quiz's right option (0-based); None for a poll


def _plain(text_html: str) -> str:
    """A poll takes no formatting: the admin's text without its tags."""
    return html.unescape(re.sub(r"<[^>]+>", "", text_html))


def parse_question(text_html: str, quiz: bool) -> Question:
    """`Question?` then one option per line (or `Question? | a | *b | c` on one line); in a quiz exactly one option
    starts with `*`, the right answer."""
    lines = [line.strip() for line in _plain(text_html).strip().split("\n") if line.strip()]
    if len(lines) == 1 and "|" in lines[0]:
        lines = [part.strip() for part in lines[0].split("|") if part.strip()]
    if not lines:
        raise PollError(reason="no_question")
    question, raw = lines[0], lines[1:]
    if len(question) > QUESTION_LIMIT:
        raise PollError(reason="question_long", limit=QUESTION_LIMIT)
    if len(raw) < MIN_OPTIONS:
        raise PollError(reason="few_options", limit=MIN_OPTIONS)
    if len(raw) > MAX_OPTIONS:
        raise PollError(reason="many_options", limit=MAX_OPTIONS)
    marked = [i for i, o in enumerate(raw) if o.startswith(CORRECT_MARK)]
    if not quiz and marked:
        raise PollError(reason="correct_in_poll", n=marked[0] + 1)
    if quiz and not marked:
        raise PollError(reason="no_correct")
    if len(marked) > 1:
        raise PollError(reason="many_correct")
    options = tuple(o[len(CORRECT_MARK):].strip() if i in marked else o for i, o in enumerate(raw))
    for n, option in enumerate(options, 1):
        if not option:
            raise PollError(reason="empty_option", n=n)
        if len(option) > OPTION_LIMIT:
            raise PollError(reason="option_long", n=n, limit=OPTION_LIMIT)
    return Question(question, options, marked[0] if quiz else None)


@dataclass(frozen=True)
class Award:
    correct: bool | None  # a quiz: whether the answer was right; a poll: None
    rank: int | None  # a right answer's place among the right ones (1 = first)
    points: int


def award(kind: str, correct_option: int | None, option_ids: list[int], points: int, first_n: int | None,
          right_before: int) -> Award:
    """What a member's first answer earns. A poll pays for answering; a quiz pays a right answer, only the first
    `first_n` right ones if it says so (`right_before`: right answers recorded before this one)."""
    if kind == "poll":
        return Award(None, None, points)
    right = option_ids == [correct_option]
    if not right:
        return Award(False, None, 0)
    rank = right_before + 1
    return Award(True, rank, points if first_n is None or rank <= first_n else 0)
