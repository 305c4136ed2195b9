"""Quizzes, polls and topics of the week, pure: the question an admin writes, what an answer earns, which replies
are the best, and the /schedule words of a windowed activity."""
from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.polls import PollError, Question, award, parse_question
from bot.domain.schedules import ScheduleError, parse
from bot.domain.topics import Reply, best_replies

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_a_question_one_option_per_line_or_on_one_line_with_bars():
    assert parse_question("Which tea is green?\nEarl Grey\n*Longjing\nAssam", quiz=True) == Question(
        "Which tea is green?", ("Earl Grey", "Longjing", "Assam"), 1)
    assert parse_question("Capital? | Lyon | * Paris", quiz=True) == Question("Capital?", ("Lyon", "Paris"), 1)
    assert parse_question("<b>Meetup</b> &amp; tea?\nSat\nSun", quiz=False) == Question("Meetup & tea?", ("Sat", "Sun"), None)


@pytest.mark.parametrize("text, quiz, reason", [
    ("", True, "no_question"),
    ("Q?\n*a", True, "few_options"),
    ("Q?\na\nb", True, "no_correct"),
    ("Q?\n*a\n*b", True, "many_correct"),
    ("Q?\na\n*b", False, "correct_in_poll"),
    ("Q?\n" + "\n".join(str(n) for n in range(13)), False, "many_options"),
    ("Q" * 301 + "\na\nb", False, "question_long"),
    ("Q?\na\n" + "b" * 101, False, "option_long"),
    ("Q?\na\n*", True, "empty_option"),
])
def test_what_telegram_would_refuse_is_refused_with_its_reason(text, quiz, reason):
    with pytest.raises(PollError) as caught:
        parse_question(text, quiz)
    assert caught.value.params["reason"] == reason


def test_a_poll_pays_for_answering_a_quiz_only_its_first_n_right_answers():
    assert award("poll", None, [0, 1], 5, None, 0).points == 5
    assert award("quiz", 1, [0], 10, None, 0).points == 0
    assert [award("quiz", 1, [1], 10, 2, before).points for before in range(4)] == [10, 10, 0, 0]
    assert award("quiz", 1, [1], 10, 2, 2).rank == 3
    assert award("quiz", 1, [1, 0], 10, None, 0).correct is False  # a right answer is exactly the right option


def test_the_best_replies_drew_the_most_replies_one_per_member_earlier_first():
    replies = [Reply(1, 10, T0, 2), Reply(2, 11, T0 + timedelta(minutes=1), 3), Reply(3, 10, T0 + timedelta(minutes=2), 5),
               Reply(4, 12, T0 + timedelta(minutes=3), 3), Reply(5, 13, T0, 0)]
    assert [r.message_id for r in best_replies(replies, 3)] == [3, 2, 4]  # member 10's best only; 11 before 12 (earlier)
    assert best_replies([Reply(5, 13, T0, 0)], 3) == []  # a reply nobody answered is not "best"


def test_the_window_words_of_a_quiz_poll_and_topic_in_any_order():
    spec = parse("daily 20:00 quiz +15 first 2 30m Which?".split())
    assert (spec.action, spec.minutes, spec.points, spec.first, spec.content_start) == ("quiz", 30, 15, 2, 7)
    spec = parse("daily 20:00 poll multi 1d Q".split())
    assert (spec.minutes, spec.points, "multi" in spec.options) == (24 * 60, None, True)
    spec = parse("weekly mon 09:00 topic first president?".split())  # `first` without a number is content
    assert (spec.minutes, spec.first, spec.content_start) == (None, None, 4)
    assert parse("daily 20:00 nps".split()).action == "nps"
    with pytest.raises(ScheduleError):
        parse("daily 20:00 quiz first 1001 Q".split())
