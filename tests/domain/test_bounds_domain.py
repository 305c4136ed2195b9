"""Input bounded at the edge: quoting, numbers from links and buttons."""
from __future__ import annotations


def test_quoted_texts_are_cut_with_an_ellipsis():
    from bot.domain.errors import QUOTE_LIMIT, UserError, quoted

    assert quoted("short") == "short"
    assert quoted("x" * 500) == "x" * (QUOTE_LIMIT - 1) + "…"
    assert UserError(value="y" * 5000, n=10 ** 30).params == {"value": "y" * (QUOTE_LIMIT - 1) + "…", "n": 10 ** 30}


def test_numbers_from_links_and_buttons_are_ascii_and_fit_64_bits():
    from bot.domain.funnel import parse_number

    assert parse_number("12") == 12
    assert [parse_number(t) for t in ("", "-1", "²", "١٢", "1e3", "9" * 19, " 1")] == [None] * 7
