"""Row numbers as people type them (`3`, `#3`): anything else is a clear refusal, never a crash."""
import pytest

from bot.domain.errors import row_id
from bot.domain.feedback import FeedbackError
from bot.domain.feedback import parse_id as feedback_id
from bot.domain.topics import TopicError
from bot.domain.topics import parse_id as topic_id


@pytest.mark.parametrize("word,expected", [("3", 3), ("#3", 3), ("#000012", 12), ("0", None), ("#", None),
                                           ("²", None), ("#١٢", None), ("１２", None), ("9" * 19, None), ("-1", None)])
def test_row_id_takes_plain_digits_only(word, expected):
    assert row_id(word) == expected


@pytest.mark.parametrize("parse,error", [(feedback_id, FeedbackError), (topic_id, TopicError)])
def test_a_digit_python_reads_but_int_refuses_is_a_bad_id_not_a_crash(parse, error):
    with pytest.raises(error) as refused:
        parse("#²")
    assert refused.value.params["reason"] == "bad_id"
