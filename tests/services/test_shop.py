"""ShopService on a real SQLite file: the purchase is one transaction, so concurrent buyers, double taps
and repeated rejections leave stock, orders, wallets and the ledger agreeing."""
from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timezone

import pytest

from bot.clock import FixedClock
from bot.domain.levels import DEFAULT_TIERS, Tier, tier_for
from bot.domain.points import InsufficientPointsError, Reason
from bot.domain.shop import (
    ItemInactiveError, LimitReachedError, OrderDecidedError, PriceChangedError, PrivateChatNeededError, PurchaseDoneError,
    ShopInputError, SoldOutError, TierTooLowError, UnknownItemError, UnknownOrderError,
)
from bot.services.shop import ShopService
from storage.db import Database
from storage.groups import GroupRepo
from storage.ledger import LedgerRepo, post
from storage.shop import ShopRepo

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
CHAT = -100


class Tiers:
    """The part of PointsService the shop uses: tiers from lifetime XP."""

    def __init__(self, db: Database) -> None:
        self.ledger = LedgerRepo(db)
        self.tiers: tuple[Tier, ...] = DEFAULT_TIERS

    async def tier_of(self, chat_id: int, user_id: int) -> Tier:
        return tier_for((await self.ledger.wallet(chat_id, user_id)).xp, self.tiers)


def service(db: Database) -> ShopService:
    return ShopService(db, ShopRepo(db), Tiers(db), FixedClock(NOW))


@pytest.fixture
async def shop(db) -> ShopService:
    await GroupRepo(db).register(CHAT, "Tea", "supergroup", None, NOW)
    await GroupRepo(db).register(-200, "Other", "supergroup", None, NOW)
    return service(db)


async def fund(db, user_id: int, points: int = 0, xp: int = 0, chat_id: int = CHAT) -> None:
    async with db.transaction() as tx:
        if points:
            await post(tx, chat_id, user_id, points, "points", Reason.ADMIN_GIVE, f"seed:{user_id}", NOW)
        if xp:
            await post(tx, chat_id, user_id, xp, "xp", Reason.ADMIN_GIVE, f"seed:{user_id}", NOW)


async def points_of(db, user_id: int) -> int:
    return (await LedgerRepo(db).wallet(CHAT, user_id)).points


def nonce() -> str:
    return secrets.token_urlsafe(6)


async def count(db, sql: str, *params) -> int:
    return await db.fetchval(sql, params)


# --- the guarantees ----------------------------------------------------------------------------------------------


async def test_fifty_concurrent_buyers_of_ten_in_stock(db, shop):
    item = await shop.add_item(CHAT, "Mug | 30 | stock 10")
    buyers = list(range(1, 51))
    for user in buyers:
        await fund(db, user, 100 if user % 7 else 20)  # every 7th cannot afford it
    results = await asyncio.gather(*(shop.purchase(CHAT, u, item.id, nonce()) for u in buyers), return_exceptions=True)
    bought = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(bought) == 10
    assert all(isinstance(e, (SoldOutError, InsufficientPointsError)) for e in refused), refused
    assert await count(db, "SELECT COUNT(*) FROM orders") == 10
    assert (await shop.repo.item(item.id)).stock == 0
    assert await count(db, "SELECT COUNT(*) FROM wallets WHERE points < 0") == 0
    assert await LedgerRepo(db).mismatches() == []
    for purchase in bought:
        assert await points_of(db, purchase.order.user_id) == 70 == purchase.balance
    assert sorted(p.order.user_id for p in bought) == sorted(set(p.order.user_id for p in bought))


async def test_two_connections_to_one_file_still_sell_exactly_the_stock(tmp_path):
    """Two Database objects are two writers (as two processes would be): the conditional UPDATE decides, not Python."""
    path = tmp_path / "two.db"
    first, second = Database(path), Database(path)
    await first.open()
    await second.open()
    try:
        await GroupRepo(first).register(CHAT, "Tea", "supergroup", None, NOW)
        a, b = service(first), service(second)
        item = await a.add_item(CHAT, "Mug | 10 | stock 7")
        for user in range(1, 41):
            await fund(first, user, 50)
        results = await asyncio.gather(
            *((a if u % 2 else b).purchase(CHAT, u, item.id, nonce()) for u in range(1, 41)), return_exceptions=True,
        )
        assert sum(not isinstance(r, Exception) for r in results) == 7
        assert all(isinstance(r, SoldOutError) for r in results if isinstance(r, Exception))
        assert await count(first, "SELECT COUNT(*) FROM orders") == 7
        assert await count(first, "SELECT stock FROM shop_items") == 0
        assert await LedgerRepo(first).mismatches() == []
    finally:
        await first.close()
        await second.close()


async def test_a_double_tapped_confirm_is_one_order_and_one_debit(db, shop):
    item = await shop.add_item(CHAT, "Mug | 30")
    await fund(db, 1, 100)
    tap = nonce()
    first, second = await asyncio.gather(
        shop.purchase(CHAT, 1, item.id, tap), shop.purchase(CHAT, 1, item.id, tap), return_exceptions=True,
    )
    assert not isinstance(first, Exception)
    assert isinstance(second, PurchaseDoneError) and second.order_id == first.order.id
    with pytest.raises(PurchaseDoneError):
        await shop.purchase(CHAT, 1, item.id, tap)  # and again, later
    assert await count(db, "SELECT COUNT(*) FROM orders") == 1
    assert await count(db, "SELECT COUNT(*) FROM ledger WHERE reason = 'shop_purchase'") == 1
    assert await points_of(db, 1) == 70


async def test_the_per_member_limit_holds_under_concurrency(db, shop):
    item = await shop.add_item(CHAT, "Mug | 10 | limit 3")
    await fund(db, 1, 1000)
    results = await asyncio.gather(*(shop.purchase(CHAT, 1, item.id, nonce()) for _ in range(10)), return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 3
    assert all(isinstance(r, LimitReachedError) for r in results if isinstance(r, Exception))
    assert await points_of(db, 1) == 970


async def test_concurrent_spending_never_goes_below_zero(db, shop):
    mug = await shop.add_item(CHAT, "Mug | 60")
    tea = await shop.add_item(CHAT, "Tea | 60")
    await fund(db, 1, 100)
    results = await asyncio.gather(shop.purchase(CHAT, 1, mug.id, nonce()), shop.purchase(CHAT, 1, tea.id, nonce()), return_exceptions=True)
    [refusal] = [r for r in results if isinstance(r, Exception)]
    assert isinstance(refusal, InsufficientPointsError) and (refusal.balance, refusal.needed) == (40, 60)
    assert await points_of(db, 1) == 40
    assert await count(db, "SELECT COUNT(*) FROM orders") == 1


async def test_a_refund_happens_once_even_when_reject_is_sent_twice(db, shop):
    item = await shop.add_item(CHAT, "Mug | 30 | stock 2")
    await fund(db, 1, 100)
    bought = await shop.purchase(CHAT, 1, item.id, nonce())
    results = await asyncio.gather(
        shop.reject(CHAT, bought.order.id, 9, "no mugs"), shop.reject(CHAT, bought.order.id, 9), return_exceptions=True,
    )
    [decision] = [r for r in results if not isinstance(r, Exception)]
    [again] = [r for r in results if isinstance(r, Exception)]
    assert decision.refunded == 30 and decision.order.status == "rejected" and decision.order.note == "no mugs"
    assert isinstance(again, OrderDecidedError) and again.status == "rejected"
    assert await points_of(db, 1) == 100
    assert await count(db, "SELECT COUNT(*) FROM ledger WHERE reason = 'shop_refund'") == 1
    assert (await shop.repo.item(item.id)).stock == 2
    assert await LedgerRepo(db).mismatches() == []
    # A rejected order no longer counts against the limit or the stock.
    assert await shop.repo.bought(CHAT, 1, item.id) == 0


async def test_a_code_purchase_is_refused_before_anything_is_taken_when_the_buyer_cannot_be_messaged(db, shop):
    item = await shop.add_item(CHAT, "Key | 30")
    await shop.add_codes(CHAT, item.id, ["AAA", "BBB"])
    await fund(db, 1, 100)
    asked = []

    async def unreachable() -> bool:
        asked.append(True)
        return False

    with pytest.raises(PrivateChatNeededError):
        await shop.purchase(CHAT, 1, item.id, nonce(), can_message=unreachable)
    assert asked == [True]
    assert await points_of(db, 1) == 100
    assert (await shop.repo.item(item.id)).stock == 2
    assert await count(db, "SELECT COUNT(*) FROM shop_codes WHERE order_id IS NOT NULL") == 0
    assert await count(db, "SELECT COUNT(*) FROM orders") == 0


async def test_items_without_codes_do_not_ask_telegram(db, shop):
    item = await shop.add_item(CHAT, "Mug | 30")
    await fund(db, 1, 100)

    async def must_not_be_called() -> bool:
        raise AssertionError("probed Telegram for an item without codes")

    await shop.purchase(CHAT, 1, item.id, nonce(), can_message=must_not_be_called)


async def test_concurrent_code_buyers_each_get_a_different_code(db, shop):
    item = await shop.add_item(CHAT, "Key | 10")
    added = await shop.add_codes(CHAT, item.id, ["C1", "C2", "C3", "C4", "C5"])
    assert (added.added, added.skipped, added.converted, added.item.stock) == (5, 0, True, 5)
    for user in range(1, 21):
        await fund(db, user, 50)

    async def reachable() -> bool:
        return True

    results = await asyncio.gather(*(shop.purchase(CHAT, u, item.id, nonce(), can_message=reachable) for u in range(1, 21)), return_exceptions=True)
    bought = [r for r in results if not isinstance(r, Exception)]
    assert sorted(p.code for p in bought) == ["C1", "C2", "C3", "C4", "C5"]
    assert all(p.order.status == "pending" for p in bought)  # fulfilled once the code's message went out
    assert [(await shop.delivered(p.order.id)).status for p in bought] == ["fulfilled"] * 5
    assert all(isinstance(r, SoldOutError) for r in results if isinstance(r, Exception))
    assert (await shop.repo.item(item.id)).stock == 0


async def test_an_undeliverable_code_is_returned_with_the_points(db, shop):
    item = await shop.add_item(CHAT, "Key | 10")
    await shop.add_codes(CHAT, item.id, ["C1"])
    await fund(db, 1, 50)
    bought = await shop.purchase(CHAT, 1, item.id, nonce())
    assert bought.code == "C1" and bought.item.stock == 0
    undone = await shop.undeliverable(bought.order.id)
    assert (undone.refunded, undone.order.status) == (10, "rejected")
    assert await points_of(db, 1) == 50
    assert (await shop.repo.item(item.id)).stock == 1
    again = await shop.purchase(CHAT, 1, item.id, nonce())
    assert again.code == "C1"


@pytest.mark.parametrize("unsure", [False, True])
async def test_a_rejected_code_goes_back_on_sale_only_if_it_was_never_sent(db, shop, unsure):
    """Telegram said it did not send the code (unsure=False): /reject puts it back on the shelf. No answer came
    (unsure): the buyer may hold it, so it is retired and the item stays sold out."""
    item = await shop.add_item(CHAT, "Key | 10")
    await shop.add_codes(CHAT, item.id, ["C1"])
    await fund(db, 1, 50)
    bought = await shop.purchase(CHAT, 1, item.id, nonce())
    await shop.send_failed(bought.order.id, unsure=unsure)
    decision = await shop.reject(CHAT, bought.order.id, 9)
    assert (decision.refunded, decision.retired) == (10, unsure)
    assert (await shop.repo.item(item.id)).stock == (0 if unsure else 1)
    assert await shop.code_of(decision.order) == ("C1" if unsure else None)


async def test_adding_codes_skips_known_ones_and_makes_stock_follow_codes(db, shop):
    item = await shop.add_item(CHAT, "Key | 10 | stock 50")
    first = await shop.add_codes(CHAT, item.id, ["A", "B"])
    second = await shop.add_codes(CHAT, item.id, ["B", "C"])
    assert (first.item.stock, first.converted) == (2, True)
    assert (second.added, second.skipped, second.converted, second.item.stock) == (1, 1, False, 3)
    with pytest.raises(ShopInputError) as err:
        await shop.edit_item(CHAT, item.id, "stock", "10")
    assert err.value.reason == "codes_stock"
    with pytest.raises(UnknownItemError):
        await shop.add_codes(-200, item.id, ["X"])


# --- refusals -------------------------------------------------------------------------------------------------------


async def test_every_refusal_is_typed(db, shop):
    await fund(db, 1, 100)
    with pytest.raises(UnknownItemError):
        await shop.quote(CHAT, 1, 999)
    elsewhere = await shop.add_item(-200, "Mug | 10")
    with pytest.raises(UnknownItemError):
        await shop.purchase(CHAT, 1, elsewhere.id, nonce())
    gold = await shop.add_item(CHAT, "Gold mug | 10 | tier gold")
    with pytest.raises(TierTooLowError) as err:
        await shop.quote(CHAT, 1, gold.id)
    assert (err.value.needed, err.value.current) == ("gold", "bronze")
    await fund(db, 2, 100, xp=1000)
    assert (await shop.quote(CHAT, 2, gold.id)).item.id == gold.id
    none_left = await shop.add_item(CHAT, "Sticker | 10 | stock 0")
    with pytest.raises(SoldOutError):
        await shop.purchase(CHAT, 1, none_left.id, nonce())
    dear = await shop.add_item(CHAT, "Car | 1000")
    with pytest.raises(InsufficientPointsError):
        await shop.quote(CHAT, 1, dear.id)
    mug = await shop.add_item(CHAT, "Mug | 10")
    await shop.remove_item(CHAT, mug.id)
    with pytest.raises(ItemInactiveError):
        await shop.purchase(CHAT, 1, mug.id, nonce())
    tea = await shop.add_item(CHAT, "Tea | 10")
    with pytest.raises(PriceChangedError) as err:
        await shop.purchase(CHAT, 1, tea.id, nonce(), expected_cost=5)
    assert err.value.cost == 10
    assert await points_of(db, 1) == 100
    assert await count(db, "SELECT COUNT(*) FROM orders") == 0
    with pytest.raises(ValueError):
        await shop.purchase(CHAT, 1, tea.id, "no:colons")


async def test_quote_carries_a_fresh_nonce(db, shop):
    item = await shop.add_item(CHAT, "Mug | 10")
    await fund(db, 1, 100)
    a, b = await shop.quote(CHAT, 1, item.id), await shop.quote(CHAT, 1, item.id)
    assert a.nonce != b.nonce and a.balance == 100 and len(a.nonce) == 8


async def test_fulfil_and_reject_only_pending_orders_of_this_group(db, shop):
    item = await shop.add_item(CHAT, "Mug | 10")
    await fund(db, 1, 100)
    order = (await shop.purchase(CHAT, 1, item.id, nonce())).order
    with pytest.raises(UnknownOrderError):
        await shop.fulfil(-200, order.id, 9)
    with pytest.raises(UnknownOrderError):
        await shop.reject(CHAT, 12345, 9)
    done = await shop.fulfil(CHAT, order.id, 9)
    assert (done.status, done.decided_by, done.decided_at) == ("fulfilled", 9, NOW)
    with pytest.raises(OrderDecidedError):
        await shop.reject(CHAT, order.id, 9)
    with pytest.raises(ShopInputError):
        await shop.reject(CHAT, order.id, 9, "x" * 201)


async def test_the_shop_holds_at_most_twenty_items_on_sale(db, shop):
    for n in range(20):
        await shop.add_item(CHAT, f"Item {n} | 10")
    with pytest.raises(ShopInputError) as err:
        await shop.add_item(CHAT, "One more | 10")
    assert err.value.reason == "too_many_items"
    items = await shop.items(CHAT)
    await shop.remove_item(CHAT, items[0].id)
    await shop.add_item(CHAT, "One more | 10")
    with pytest.raises(ShopInputError) as err:
        await shop.edit_item(CHAT, items[0].id, "active", "on")
    assert err.value.reason == "too_many_items"


async def test_names_are_unique_among_items_on_sale(db, shop):
    mug = await shop.add_item(CHAT, "Mug | 10")
    tea = await shop.add_item(CHAT, "Tea | 10")
    with pytest.raises(ShopInputError) as err:
        await shop.edit_item(CHAT, tea.id, "name", "MUG")
    assert (err.value.reason, err.value.params["id"]) == ("name_taken", mug.id)
    await shop.remove_item(CHAT, mug.id)
    again = await shop.add_item(CHAT, "Mug | 12")  # the old one is off the shelf
    with pytest.raises(ShopInputError):
        await shop.edit_item(CHAT, mug.id, "active", "on")
    assert again.cost == 12
