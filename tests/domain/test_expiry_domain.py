"""Points expiry: the oldest points are spent first, only unspent old points expire, running the
job twice expires nothing more, and yearly decay rounds in the member's favour."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from bot.domain.expiry import (
    Credit,
    Debit,
    Lot,
    decay_amount,
    expiring,
    expiry_due,
    expiry_warnings,
    split_ledger,
    unspent,
)

UTC = timezone.utc
YEAR = 365


def at(y: int, m: int, d: int, h: int = 0) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


# Earned 100 in January, 50 in February, 80 in June 2026; spent 120 in March.
CREDITS = [Credit(1, 100, at(2026, 1, 1)), Credit(2, 50, at(2026, 2, 1)), Credit(3, 80, at(2026, 6, 1))]
SPENT = [Debit(120, at(2026, 3, 1))]


def test_spending_consumes_oldest_credits_first():
    # 120 spent = all of January's 100 + 20 of February's 50.
    assert unspent(CREDITS, SPENT) == {2: 30, 3: 80}


def test_only_the_unspent_part_of_an_old_credit_expires():
    # January's credit is past a year old but fully spent: nothing of it expires.
    assert expiry_due(CREDITS, SPENT, at(2027, 1, 15), YEAR) == 0
    # February's remaining 30 expires once it is a year old; June's 80 is still fresh.
    assert expiring(CREDITS, SPENT, at(2027, 2, 2), YEAR) == [Lot(2, 30, at(2027, 2, 1))]
    assert expiry_due(CREDITS, SPENT, at(2027, 2, 2), YEAR) == 30


def test_a_lot_expiring_exactly_now_is_due():
    assert expiry_due(CREDITS, SPENT, at(2027, 2, 1), YEAR) == 30
    assert expiry_due(CREDITS, SPENT, at(2027, 2, 1) - timedelta(seconds=1), YEAR) == 0


def test_running_the_expiry_job_twice_expires_nothing_more():
    now = at(2027, 2, 2)
    due = expiry_due(CREDITS, SPENT, now, YEAR)
    assert due == 30
    after_job = SPENT + [Debit(due, now)]  # the EXPIRY row the job wrote
    assert expiry_due(CREDITS, after_job, now, YEAR) == 0
    assert expiry_due(CREDITS, after_job, now + timedelta(hours=1), YEAR) == 0
    assert unspent(CREDITS, after_job) == {3: 80}  # the balance left is exactly June's points
    # Months later the June credit comes due, and only it.
    assert expiry_due(CREDITS, after_job, at(2027, 6, 2), YEAR) == 80


def test_spending_after_an_expiry_does_not_bring_expired_points_back():
    now = at(2027, 2, 2)
    ledger = SPENT + [Debit(30, now), Debit(50, at(2027, 3, 1))]
    assert unspent(CREDITS, ledger) == {3: 30}
    assert expiry_due(CREDITS, ledger, at(2027, 6, 2), YEAR) == 30


def test_warnings_look_ahead_seven_days_without_repeating_due_lots():
    # On 28 January 2027 February's 30 points expire within the week.
    assert expiry_warnings(CREDITS, SPENT, at(2027, 1, 28), YEAR) == [Lot(2, 30, at(2027, 2, 1))]
    # Eight days ahead is outside the look-ahead.
    assert expiry_warnings(CREDITS, SPENT, at(2027, 1, 24), YEAR) == []
    # Once due, the job handles it; the warning is no longer relevant.
    assert expiry_warnings(CREDITS, SPENT, at(2027, 2, 2), YEAR) == []
    # expiring() with a horizon includes both due and upcoming lots.
    assert [lot.credit_id for lot in expiring(CREDITS, SPENT, at(2027, 5, 30), YEAR, horizon_days=7)] == [2, 3]


def test_spending_before_the_deadline_shrinks_the_warning():
    ledger = SPENT + [Debit(25, at(2027, 1, 29))]
    assert expiry_warnings(CREDITS, ledger, at(2027, 1, 30), YEAR) == [Lot(2, 5, at(2027, 2, 1))]


def test_overdraft_is_repaid_by_later_credits():
    credits = [Credit(1, 10, at(2026, 1, 1)), Credit(2, 100, at(2026, 1, 5))]
    debits = [Debit(50, at(2026, 1, 2))]  # an admin take that left the balance at -40
    assert unspent(credits, debits) == {2: 60}
    assert expiry_due(credits, debits, at(2027, 2, 1), YEAR) == 60


def test_more_debits_than_credits_leave_nothing_to_expire():
    assert unspent(CREDITS, [Debit(1000, at(2026, 7, 1))]) == {}
    assert expiry_due(CREDITS, [Debit(1000, at(2026, 7, 1))], at(2030, 1, 1), YEAR) == 0


def test_input_order_does_not_matter_and_ties_break_by_id():
    same_time = at(2026, 1, 1)
    credits = [Credit(7, 10, same_time), Credit(3, 10, same_time), Credit(5, 10, at(2025, 12, 31))]
    assert list(unspent(credits, [Debit(15, at(2026, 2, 1))])) == [3, 7]
    assert unspent(list(reversed(credits)), [Debit(15, at(2026, 2, 1))]) == {3: 5, 7: 10}


def test_mixed_timezones_are_ordered_by_real_time():
    shanghai = ZoneInfo("Asia/Shanghai")
    # 07:00 in Shanghai on 2 Jan is 23:00 UTC on 1 Jan, so credit 2 is actually older.
    credits = [Credit(1, 10, at(2026, 1, 1, 23) + timedelta(minutes=30)),
               Credit(2, 10, datetime(2026, 1, 2, 7, tzinfo=shanghai))]
    assert unspent(credits, [Debit(10, at(2026, 2, 1))]) == {1: 10}


def test_duplicate_credit_ids_are_refused():
    with pytest.raises(ValueError, match="duplicate"):
        unspent([Credit(1, 10, at(2026, 1, 1)), Credit(1, 10, at(2026, 1, 1))], [])


@pytest.mark.parametrize(
    "make",
    [
        lambda: Credit(1, 0, at(2026, 1, 1)),
        lambda: Credit(1, -5, at(2026, 1, 1)),
        lambda: Credit(1, 5, datetime(2026, 1, 1)),
        lambda: Debit(0, at(2026, 1, 1)),
        lambda: expiring(CREDITS, SPENT, at(2027, 1, 1), 0),
        lambda: expiring(CREDITS, SPENT, at(2027, 1, 1), YEAR, horizon_days=-1),
        lambda: expiring(CREDITS, SPENT, datetime(2027, 1, 1), YEAR),
    ],
)
def test_invalid_inputs_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_split_ledger_signs():
    rows = [(1, 100, at(2026, 1, 1)), (2, -30, at(2026, 1, 2)), (3, 0, at(2026, 1, 3)), (4, 20, at(2026, 1, 4))]
    credits, debits = split_ledger(rows)
    assert credits == [Credit(1, 100, at(2026, 1, 1)), Credit(4, 20, at(2026, 1, 4))]
    assert debits == [Debit(30, at(2026, 1, 2))]


# --- decay -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("balance", "percent", "expected"),
    [
        (1000, 10, 100),
        (55, 10, 5),  # 5.5 -> 5: the member keeps the fraction
        (99, 1, 0),
        (1000, 3.5, 35),
        (100, 33.3, 33),
        (375, 18.4, 69),  # exactly 69; float arithmetic would give 68.99999 -> 68
        (500, 100, 500),
        (500, 0, 0),
        (0, 50, 0),
        (-20, 50, 0),  # an overdrawn balance never decays into more debt
    ],
)
def test_decay_amount(balance, percent, expected):
    assert decay_amount(balance, percent) == expected


@pytest.mark.parametrize("percent", [-1, 100.5, float("nan"), float("inf"), "abc"])
def test_decay_refuses_bad_percent(percent):
    with pytest.raises(ValueError):
        decay_amount(100, percent)


@given(st.integers(min_value=-10**9, max_value=10**9), st.integers(min_value=0, max_value=1000))
def test_decay_never_negative_nor_above_balance(balance, tenths):
    amount = decay_amount(balance, tenths / 10)
    assert 0 <= amount <= max(balance, 0)


# --- properties --------------------------------------------------------------------------

START = at(2026, 1, 1)
events = st.lists(
    st.tuples(st.booleans(), st.integers(min_value=1, max_value=500), st.integers(min_value=0, max_value=800)),
    max_size=40,
)


def build(evts):
    credits, debits = [], []
    for i, (is_credit, amount, day) in enumerate(evts):
        when = START + timedelta(days=day)
        (credits.append(Credit(i, amount, when)) if is_credit else debits.append(Debit(amount, when)))
    return credits, debits


@given(events, st.integers(min_value=0, max_value=1200), st.integers(min_value=1, max_value=400),
       st.integers(min_value=0, max_value=30))
def test_fifo_never_expires_more_than_was_left(evts, now_day, lifetime, horizon):
    credits, debits = build(evts)
    credited = sum(c.amount for c in credits)
    spent = sum(d.amount for d in debits)
    now = START + timedelta(days=now_day)
    lots = expiring(credits, debits, now, lifetime, horizon)
    assert all(lot.remaining > 0 for lot in lots)
    total_expiring = sum(lot.remaining for lot in lots)
    assert total_expiring + min(spent, credited) <= credited
    left = unspent(credits, debits)
    assert all(v > 0 for v in left.values())
    assert sum(left.values()) == max(credited - spent, 0)
    by_id = {c.id: c for c in credits}
    assert all(left[i] <= by_id[i].amount for i in left)


@settings(max_examples=200)
@given(events, st.lists(st.integers(min_value=0, max_value=1200), min_size=1, max_size=6),
       st.integers(min_value=1, max_value=400))
def test_expiry_job_is_idempotent_whenever_it_runs(evts, run_days, lifetime):
    credits, debits = build(evts)
    credited = sum(c.amount for c in credits)
    spent = sum(d.amount for d in debits)
    expired_total = 0
    for day in sorted(run_days):
        now = START + timedelta(days=day)
        due = expiry_due(credits, debits, now, lifetime)
        if due:
            debits = debits + [Debit(due, now)]
            expired_total += due
        # An immediate re-run (a retry, a second worker) finds nothing.
        assert expiry_due(credits, debits, now, lifetime) == 0
    assert expired_total + min(spent, credited) <= credited
