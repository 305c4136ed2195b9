"""The shop's pure rules: who may buy, and reading what admins type."""
from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from bot.domain.errors import UsageError
from bot.domain.levels import DEFAULT_TIERS
from bot.domain.points import InsufficientPointsError
from bot.domain.shop import (
    ItemInactiveError, ItemSpec, LimitReachedError, ShopInputError, SoldOutError, TierTooLowError, can_buy, parse_codes,
    parse_edit, parse_id, parse_item_spec, valid_nonce,
)

TIERS = tuple(t.key for t in DEFAULT_TIERS)
BRONZE, SILVER, GOLD = DEFAULT_TIERS[0], DEFAULT_TIERS[1], DEFAULT_TIERS[2]


@dataclass(frozen=True)
class Item:
    name: str = "Mug"
    cost: int = 100
    stock: int | None = None
    per_member_limit: int | None = None
    min_tier: str | None = None
    active: bool = True


def test_can_buy_passes_when_everything_is_in_order():
    assert can_buy(Item(stock=1, per_member_limit=1, min_tier="silver"), GOLD, 0, 100, DEFAULT_TIERS) is None


@pytest.mark.parametrize(
    ("item", "tier", "bought", "balance", "error"),
    [
        (Item(active=False, stock=0), BRONZE, 0, 0, ItemInactiveError),
        (Item(stock=0, min_tier="gold"), BRONZE, 0, 0, SoldOutError),
        (Item(min_tier="gold", per_member_limit=1), SILVER, 1, 0, TierTooLowError),
        (Item(per_member_limit=2), BRONZE, 2, 0, LimitReachedError),
        (Item(), BRONZE, 0, 99, InsufficientPointsError),
        (Item(min_tier="mythic"), DEFAULT_TIERS[-1], 0, 1000, TierTooLowError),  # a tier gone from the config refuses
    ],
)
def test_can_buy_names_the_first_reason(item, tier, bought, balance, error):
    with pytest.raises(error):
        can_buy(item, tier, bought, balance, DEFAULT_TIERS)


def test_insufficient_points_carries_balance_and_cost():
    with pytest.raises(InsufficientPointsError) as err:
        can_buy(Item(cost=100), BRONZE, 0, 30)
    assert (err.value.balance, err.value.needed, err.value.missing) == (30, 100, 70)


def test_tier_error_carries_needed_and_current():
    with pytest.raises(TierTooLowError) as err:
        can_buy(Item(min_tier="gold"), SILVER, 0, 1000)
    assert (err.value.needed, err.value.current) == ("gold", "silver")


def test_a_rejected_order_frees_the_limit():
    assert can_buy(Item(per_member_limit=1), BRONZE, 0, 100) is None


def test_parse_minimal_and_full_item_specs():
    assert parse_item_spec("Mug | 100", TIERS) == ItemSpec("Mug", 100)
    assert parse_item_spec("  Big   mug |100| stock 5 | limit 1 | tier Gold | A mug | with a bar ", TIERS) == ItemSpec(
        "Big mug", 100, stock=5, limit=1, tier="gold", description="A mug | with a bar",
    )
    assert parse_item_spec("Mug | 10 | tier: silver | stock=unlimited | limit none", TIERS) == ItemSpec("Mug", 10, tier="silver")


def test_parse_chinese_keywords_fullwidth_bar_and_digits():
    assert parse_item_spec("马克杯｜１００｜库存 5｜限购：2｜等级 gold｜好看", TIERS) == ItemSpec(
        "马克杯", 100, stock=5, limit=2, tier="gold", description="好看",
    )
    assert parse_item_spec("马克杯 | 10 | 库存 不限", TIERS).stock is None


def test_a_description_that_starts_like_a_keyword_is_a_description():
    assert parse_item_spec("Mug | 10 | Limited edition, stocky and tiered", TIERS).description == "Limited edition, stocky and tiered"


@pytest.mark.parametrize("text", ["", "Mug", "Mug |", " | 10", "|"])
def test_missing_name_or_cost_is_a_usage_error(text):
    with pytest.raises(UsageError):
        parse_item_spec(text, TIERS)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Mug | ten", "cost"),
        ("Mug | 0", "cost"),
        ("Mug | 1.5", "cost"),
        ("Mug | 99999999", "cost"),
        ("Mug | 10 | stock -1", "stock"),
        ("Mug | 10 | stock 100001", "stock"),
        ("Mug | 10 | stock ²", "stock"),
        ("Mug | 10 | limit 0", "limit"),
        ("Mug | 10 | limit lots", "limit"),
        ("Mug | 10 | tier mythic", "tier"),
        ("Mug | 10 | tier 1 | tier 2", "repeated"),
        ("M" * 49 + " | 10", "name_too_long"),
        ("Mug | 10 | " + "d" * 201, "description_too_long"),
    ],
)
def test_bad_item_specs_name_the_problem(text, reason):
    with pytest.raises(ShopInputError) as err:
        parse_item_spec(text, TIERS)
    assert err.value.reason == reason


def test_parse_edit_fields_and_values():
    assert parse_edit("price", "25", TIERS) == ("cost", 25)
    assert parse_edit("名称", " New  name ", TIERS) == ("name", "New name")
    assert parse_edit("stock", "unlimited", TIERS) == ("stock", None)
    assert parse_edit("LIMIT", "3", TIERS) == ("limit", 3)
    assert parse_edit("tier", "none", TIERS) == ("tier", None)
    assert parse_edit("desc", "", TIERS) == ("description", "")
    assert parse_edit("description", "none", TIERS) == ("description", "")
    assert parse_edit("active", "off", TIERS) == ("active", False)
    assert parse_edit("上架", "是", TIERS) == ("active", True)
    for field, value, reason in [("colour", "red", "field"), ("cost", " ", "value_missing"), ("active", "maybe", "flag")]:
        with pytest.raises(ShopInputError) as err:
            parse_edit(field, value, TIERS)
        assert err.value.reason == reason


def test_parse_codes():
    assert parse_codes(["A", "B", "A", " "]) == ["A", "B"]
    for words, reason in [([], "no_codes"), (["x" * 201], "code_too_long"), ([str(i) for i in range(501)], "too_many_codes")]:
        with pytest.raises(ShopInputError) as err:
            parse_codes(words)
        assert err.value.reason == reason


def test_parse_id():
    assert parse_id("12") == 12
    assert parse_id("#12") == 12
    for bad in ("0", "-1", "x", "１２", "12a", "9" * 30):
        with pytest.raises(ShopInputError) as err:
            parse_id(bad, "order")
        assert err.value.reason == "order_id"


def test_nonces():
    assert valid_nonce("abcD_-12")
    for bad in ("", "abc", "a:bcdefg", "x" * 17, "abcdéfgh"):
        assert not valid_nonce(bad)


def test_item_spec_is_a_value():
    assert replace(ItemSpec("Mug", 1), stock=3).stock == 3
