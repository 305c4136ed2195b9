"""Replies about quizzes and native polls: what is wrong with a question an admin wrote, and a quiz's result."""
from __future__ import annotations

from collections.abc import Sequence
from html import escape

from bot.domain.polls import PollError
from bot.texts import Translator
from bot.texts.core import name


def poll_error(_: Translator, err: PollError) -> str:
    p = err.params
    texts = {
        "no_question": _("Nothing to ask: write the question, then one option per line (the right one of a quiz starts with *)."),
        "few_options": _("A quiz or poll needs at least {n} options: one per line after the question, or separated by |.").format(
            n=p.get("limit")),
        "many_options": _("At most {n} options: Telegram takes no more.").format(n=p.get("limit")),
        "question_long": _("The question is too long: at most {n} characters.").format(n=p.get("limit")),
        "option_long": _("Option {i} is too long: at most {n} characters.").format(i=p.get("n"), n=p.get("limit")),
        "empty_option": _("Option {i} is empty.").format(i=p.get("n")),
        "no_correct": _("Mark the right answer of the quiz with * at the start of its line, such as *Paris."),
        "many_correct": _("A quiz has one right answer: only one option may start with *."),
        "correct_in_poll": _("A poll has no right answer: option {i} starts with *. For a quiz, schedule quiz.").format(i=p.get("n")),
    }
    return texts.get(str(p.get("reason")), _("That question didn't work."))


def quiz_result(_: Translator, question: str, right_option: str, answered: int, right: int, winners: Sequence[str],
                unnamed: int, points: int) -> str:
    """winners: the names of those whose right answer paid (in the order they answered); unnamed: paid members who
    opted out of mentions, counted but not named."""
    lines = [_("📝 Quiz closed: {question}").format(question=escape(question)),
             _("Right answer: {option}").format(option=escape(right_option))]
    if not answered:
        lines.append(_("Nobody answered this time."))
        return "\n".join(lines)
    lines.append(_.ngettext("{right} of {n} member answered right.", "{right} of {n} members answered right.", answered).format(
        right=right, n=answered))
    if winners or unnamed:
        who = _.listed(name(w) for w in winners)
        if unnamed:
            more = _.ngettext("{n} more", "{n} more", unnamed).format(n=unnamed)
            who = _.listed(x for x in (who, more) if x)
        lines.append(_.ngettext("+{points} point each: {who}", "+{points} points each: {who}", points).format(points=points, who=who))
    return "\n".join(lines)
