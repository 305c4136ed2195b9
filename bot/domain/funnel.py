"""The join funnel's pure rules: captcha challenges and answers, when a check expires, which referrals never count
(and why), when a pending referral is confirmed, clawbacks and milestones. No Telegram, no storage, no clock."""
from __future__ import annotations

import random
import re
import string
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.errors import UserError

MODES = ("button", "math", "question")

# Emoji with unambiguous English/Chinese names; the prompt names one, the member presses it.
EMOJI = ("🍎", "🐱", "🚗", "🌙", "⚽", "🎸", "🌵", "🐟", "🍕", "🔑", "☂️", "🚀")

# Why a referral never counts. Values are stored, never rename one.
SELF_INVITE = "self_invite"
RETURNING = "returning"
BOT_ACCOUNT = "bot"
LEFT = "left"
FAILED_SCREENING = "failed_screening"
INVITER_BANNED = "inviter_banned"
NOT_ADMITTED = "not_admitted"  # a join request closed without Sticky's approval letting them in (declined, withdrawn, too old)
REJECT_REASONS = (SELF_INVITE, RETURNING, BOT_ACCOUNT, LEFT, FAILED_SCREENING, INVITER_BANNED, NOT_ADMITTED)

PLACEHOLDERS = ("name", "group", "rules")


class FunnelError(UserError):
    code = "funnel"  # params: reason in {no_question, bad_question, no_link_rights, unknown_code, already_member, no_check,
    #                                   rules_unset, question_unset, telegram_busy}


@dataclass(frozen=True)
class Challenge:
    mode: str
    question: str  # button: the emoji to press; math: "7 + 5"; question: the admins' question
    choices: tuple[str, ...]  # button labels (empty for a typed answer)
    answers: tuple[str, ...]  # accepted answers, normalised


def parse_number(text: str, digits: int = 18) -> int | None:
    """A check id or button index as a deep link or a button carries it: ASCII digits only (int() also reads '١٢' and
    refuses '²'), short enough to fit a 64-bit column; None for anything else."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= digits else None


def normalise(text: str) -> str:
    """Answers compare without case, width or surrounding punctuation: '  Paris. ' == 'paris' == 'ＰＡＲＩＳ'."""
    folded = unicodedata.normalize("NFKC", text).casefold().strip()
    return re.sub(r"^[\s\W_]+|[\s\W_]+$", "", folded) or folded


def make_challenge(mode: str, rng: random.Random, question: str | None = None, answers: tuple[str, ...] = (), choices: int = 6) -> Challenge:
    if mode == "question":
        if not question or not answers:
            raise FunnelError(reason="no_question")
        return Challenge("question", question, (), tuple(normalise(a) for a in answers))
    if mode == "math":
        a, b = rng.randint(2, 12), rng.randint(2, 12)
        right = a + b
        wrong = set()
        while len(wrong) < choices - 1:
            candidate = right + rng.choice([-3, -2, -1, 1, 2, 3, 10, -10])
            if candidate > 0 and candidate != right:
                wrong.add(candidate)
        labels = [str(right), *map(str, wrong)]
        rng.shuffle(labels)
        return Challenge("math", f"{a} + {b}", tuple(labels), (str(right),))
    if mode != "button":
        raise ValueError(f"unknown captcha mode {mode!r}")
    labels = rng.sample(EMOJI, choices)
    target = rng.choice(labels)
    return Challenge("button", target, tuple(labels), (target,))


def is_correct(challenge_answers: tuple[str, ...], given: str) -> bool:
    return normalise(given) in {normalise(a) for a in challenge_answers}


def deadline_for(event_at: datetime, now: datetime, timeout_seconds: int, late_grace_seconds: int) -> datetime:
    """The deadline runs from the join's own time, so downtime does not stretch it; but nobody is removed without
    having had the prompt in front of them for at least the grace period (an event handled late after downtime)."""
    return max(event_at + timedelta(seconds=timeout_seconds), now + timedelta(seconds=late_grace_seconds))


def parse_question(text: str) -> tuple[str, tuple[str, ...]]:
    """'What colour is the sky? | blue; azure' -> ('What colour is the sky?', ('blue', 'azure'))."""
    if "|" not in text:
        raise FunnelError(reason="bad_question")
    question, _, rest = text.partition("|")
    answers = tuple(a.strip() for a in re.split(r"[;；,，]", rest) if a.strip())
    question = question.strip()
    if not question or not answers or len(question) > 300 or any(len(a) > 100 for a in answers) or len(answers) > 20:
        raise FunnelError(reason="bad_question")
    return question, answers


def check_welcome(text: str) -> str:
    """A welcome template may use {name}, {group} and {rules}; anything else in braces is refused at /set time."""
    value = text.strip()
    if not value or len(value) > 1000:
        raise ValueError("text")
    try:
        value.format(**{p: "" for p in PLACEHOLDERS})
    except (KeyError, IndexError, ValueError):
        raise ValueError("placeholders") from None
    return value


def check_rules(text: str) -> str:
    value = text.strip()
    if not value or len(value) > 1000:
        raise ValueError(f"length:{len(value)}")
    return value


def uses_rules(template: str) -> bool:
    """Does this welcome show {rules}? (Only known placeholders reach here: /set checks them first.)"""
    try:
        return any(field == "rules" for _, field, _, _ in string.Formatter().parse(template))
    except ValueError:
        return False


def rejection_reason(inviter_id: int, invitee_id: int, invitee_is_bot: bool, returning: bool, inviter_banned: bool) -> str | None:
    """Why a join through someone's link can never count, decided when it happens; None = it may count later."""
    if invitee_is_bot:
        return BOT_ACCOUNT
    if inviter_id == invitee_id:
        return SELF_INVITE
    if inviter_banned:
        return INVITER_BANNED
    if returning:
        return RETURNING
    return None


def referral_due(joined_at: datetime, screened_at: datetime | None, messages: int, now: datetime, stay_hours: int, min_messages: int) -> bool:
    """Passed screening, stayed long enough, said something: the referral is confirmed."""
    return screened_at is not None and now - joined_at >= timedelta(hours=stay_hours) and messages >= min_messages


def clawback_due(confirmed_at: datetime | None, left_at: datetime, clawback_days: int) -> bool:
    return confirmed_at is not None and clawback_days > 0 and left_at - confirmed_at < timedelta(days=clawback_days)


def milestones_reached(confirmed: int, milestones: dict[int, int]) -> list[tuple[int, int]]:
    """(N, bonus) for every milestone at or below the confirmed count; the ledger key per N pays each once."""
    return [(n, bonus) for n, bonus in sorted(milestones.items()) if confirmed >= n]
