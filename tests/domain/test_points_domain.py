"""Amount parsing, ledger keys and error types of the points economy."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, strategies as st

from bot.domain.errors import UserError
from bot.domain.points import (
    DEBIT_REASONS,
    AlreadyCheckedInError,
    Currency,
    InsufficientPointsError,
    InvalidAmountError,
    MakeupWindowError,
    NothingToMakeUpError,
    PointsError,
    Reason,
    ledger_key,
    parse_amount,
    require_balance,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("250", 250),
        ("  42 \n", 42),
        ("007", 7),
        ("+5", 5),
        ("1000000", 1_000_000),
        ("１００", 100),  # fullwidth digits from a CJK keyboard
        ("\u3000300\u3000", 300),  # ideographic spaces
    ],
)
def test_parse_amount_accepts_positive_whole_numbers(text, expected):
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("abc", "not_a_number"),
        ("5 points", "not_a_number"),
        ("1 000", "not_a_number"),
        ("inf", "not_a_number"),
        ("NaN", "not_a_number"),
        ("0x10", "not_a_number"),
        ("²", "not_a_number"),  # superscript two is not an amount
        ("1_000", "not_a_number"),
        ("-", "not_a_number"),
        ("1.5", "not_integer"),
        ("2,5", "not_integer"),
        ("10.0", "not_integer"),
        ("1e3", "not_integer"),
        ("-5", "negative"),
        ("\u22125", "negative"),  # unicode minus pasted from a phone keyboard
        ("－５", "negative"),
        ("-1.5", "negative"),
        ("0", "zero"),
        ("000", "zero"),
        ("-0", "zero"),
        ("1000001", "too_large"),
        ("9" * 5000, "too_large"),  # longer than Python's int() digit limit
    ],
)
def test_parse_amount_rejects_with_translatable_reason(text, reason):
    with pytest.raises(InvalidAmountError) as info:
        parse_amount(text)
    assert info.value.reason == reason
    assert info.value.code == "invalid_amount"


def test_parse_amount_respects_custom_maximum():
    assert parse_amount("500", max_amount=500) == 500
    with pytest.raises(InvalidAmountError) as info:
        parse_amount("501", max_amount=500)
    assert info.value.reason == "too_large"
    assert info.value.max_amount == 500


def test_parse_amount_rejects_non_text():
    with pytest.raises(InvalidAmountError) as info:
        parse_amount(None)  # type: ignore[arg-type]
    assert info.value.reason == "not_a_number"


@given(st.text())
def test_parse_amount_only_ever_raises_invalid_amount(text):
    try:
        value = parse_amount(text)
    except InvalidAmountError as exc:
        assert exc.reason in {"empty", "not_a_number", "not_integer", "negative", "zero", "too_large"}
    else:
        assert 1 <= value <= 1_000_000


@given(st.integers(min_value=1, max_value=1_000_000))
def test_parse_amount_round_trips_every_valid_amount(n):
    assert parse_amount(str(n)) == n


def test_errors_share_a_base_and_carry_ui_fields():
    short = InsufficientPointsError(balance=20, needed=30)
    assert isinstance(short, PointsError) and isinstance(short, UserError)
    assert (short.balance, short.needed, short.missing) == (20, 30, 10)
    # params are what the text layer formats the translated message with.
    assert short.params == {"balance": 20, "needed": 30, "missing": 10}
    assert InvalidAmountError("too_large", "9999999", 1_000_000).params == {
        "reason": "too_large", "max_amount": 1_000_000
    }
    assert MakeupWindowError(3).params == {"window_days": 3}
    for error in (short, NothingToMakeUpError(), MakeupWindowError(3), InvalidAmountError("zero", "0")):
        assert isinstance(error, PointsError)
        assert error.code != PointsError.code


def test_require_balance():
    assert require_balance(50, 30) == 20
    assert require_balance(30, 30) == 0
    with pytest.raises(InsufficientPointsError) as info:
        require_balance(29, 30)
    assert info.value.missing == 1


def test_reason_and_currency_values_are_the_stored_strings():
    assert Currency.POINTS == "points" and Currency.XP == "xp"
    assert Reason.CHECKIN == "checkin"
    assert {r.value for r in Reason} >= {
        "checkin", "makeup", "chat", "referral", "referral_bonus", "referral_clawback", "welcome_bonus",
        "activity", "feedback", "admin_give", "admin_take", "shop_purchase", "shop_refund", "expiry",
        "season_reset", "rule_award", "rule_deduct", "badge_bonus", "milestone",
    }
    # There is deliberately no separate streak-bonus reason: one check-in row per day.
    assert "checkin_streak_bonus" not in {r.value for r in Reason}
    assert Reason.SHOP_PURCHASE in DEBIT_REASONS and Reason.SHOP_REFUND not in DEBIT_REASONS


def test_ledger_key_is_deterministic_and_distinguishes_events():
    day = date(2026, 3, 2)
    key = ledger_key(Reason.CHECKIN, -100123, 42, day)
    assert key == "checkin:-100123:42:2026-03-02"
    assert key == ledger_key("checkin", -100123, 42, day)
    assert key != ledger_key(Reason.CHECKIN, -100123, 42, date(2026, 3, 3))
    assert key != ledger_key(Reason.MAKEUP, -100123, 42, day)


@pytest.mark.parametrize("bad", ["a:b", "", True, 1.5])
def test_ledger_key_refuses_ambiguous_parts(bad):
    with pytest.raises(ValueError):
        ledger_key(Reason.BADGE_BONUS, 1, bad)


def test_already_checked_in_error_keeps_both_times():
    from datetime import datetime, timezone

    at = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    nxt = datetime(2026, 3, 2, 16, 0, tzinfo=timezone.utc)
    error = AlreadyCheckedInError(at, nxt)
    assert error.at == at and error.next_at == nxt and error.code == "already_checked_in"
