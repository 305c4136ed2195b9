"""ShopRepo on a real SQLite file: the conditional writes a purchase relies on say no at the right moment."""
from __future__ import annotations

from datetime import timedelta

import pytest

from storage.members import MemberRepo, UserInfo
from storage.shop import ShopRepo
from tests.storage.conftest import CHAT, NOW


@pytest.fixture
async def repo(db, chat) -> ShopRepo:
    return ShopRepo(db)


async def new_item(repo: ShopRepo, stock: int | None = None, name: str = "Mug") -> int:
    async with repo.db.transaction() as tx:
        return await ShopRepo.insert_item(tx, CHAT, name, 10, stock, None, None, "", NOW)


async def test_take_stock_takes_only_what_is_there(repo):
    one, unlimited = await new_item(repo, 1), await new_item(repo, None, "Tea")
    async with repo.db.transaction() as tx:
        assert await ShopRepo.take_stock(tx, one)
        assert not await ShopRepo.take_stock(tx, one)
        for _ in range(3):
            assert await ShopRepo.take_stock(tx, unlimited)
        await ShopRepo.restore_stock(tx, one)
        await ShopRepo.restore_stock(tx, unlimited)  # unlimited stays unlimited
    assert (await repo.item(one)).stock == 1
    assert (await repo.item(unlimited)).stock is None


async def test_take_stock_refuses_an_inactive_item(repo):
    item = await new_item(repo, 5)
    async with repo.db.transaction() as tx:
        await ShopRepo.update_item(tx, item, "active", False)
        assert not await ShopRepo.take_stock(tx, item)
    assert (await repo.item(item)).stock == 5


async def test_one_order_per_request_key(repo):
    item = await new_item(repo)
    async with repo.db.transaction() as tx:
        first = await ShopRepo.insert_order(tx, CHAT, 1, item, 10, "pending", "1:1:abcd", NOW)
        assert first is not None
        assert await ShopRepo.insert_order(tx, CHAT, 1, item, 10, "pending", "1:1:abcd", NOW) is None
        assert await ShopRepo.order_by_key_in(tx, CHAT, "1:1:abcd") == first
    assert await repo.order_by_key(CHAT, "1:1:abcd") == first


async def test_codes_are_handed_out_oldest_first_once_each(repo):
    item = await new_item(repo)
    async with repo.db.transaction() as tx:
        assert await ShopRepo.add_codes(tx, item, ["A", "B", "A"]) == 2
        assert await ShopRepo.sync_code_stock(tx, item) == 2
        o1 = await ShopRepo.insert_order(tx, CHAT, 1, item, 10, "fulfilled", "k1", NOW)
        o2 = await ShopRepo.insert_order(tx, CHAT, 2, item, 10, "fulfilled", "k2", NOW)
        o3 = await ShopRepo.insert_order(tx, CHAT, 3, item, 10, "fulfilled", "k3", NOW)
        assert await ShopRepo.assign_code(tx, item, o1) == "A"
        assert await ShopRepo.assign_code(tx, item, o2) == "B"
        assert await ShopRepo.assign_code(tx, item, o3) is None
        assert await ShopRepo.release_code(tx, o1)
        assert await ShopRepo.assign_code(tx, item, o3) == "A"
        assert await ShopRepo.sync_code_stock(tx, item) == 0
    assert (await repo.item(item)).has_codes
    assert await repo.unused_codes(item) == 0


async def test_decide_moves_only_from_the_status_seen(repo):
    item = await new_item(repo)
    async with repo.db.transaction() as tx:
        order = await ShopRepo.insert_order(tx, CHAT, 1, item, 10, "pending", "k", NOW)
        assert await ShopRepo.decide(tx, order, "pending", "rejected", 9, NOW, "no")
        assert not await ShopRepo.decide(tx, order, "pending", "rejected", 9, NOW, "again")
    stored = await repo.order(order)
    assert (stored.status, stored.note, stored.decided_by) == ("rejected", "no", 9)


async def test_orders_lists_count_and_name_the_buyer(repo):
    await MemberRepo(repo.db).seen(CHAT, UserInfo(1, "Alice", "alice", "Liddell", language_code="zh"), NOW)
    item = await new_item(repo)
    async with repo.db.transaction() as tx:
        ids = [await ShopRepo.insert_order(tx, CHAT, 1 + i % 2, item, 10, "pending", f"k{i}", NOW + timedelta(minutes=i)) for i in range(5)]
        await ShopRepo.decide(tx, ids[0], "pending", "rejected", 9, NOW)
        await ShopRepo.decide(tx, ids[2], "pending", "fulfilled", 9, NOW)
    pending, total = await repo.pending(CHAT, limit=1)
    assert total == 3 and [o.id for o in pending] == [ids[1]]
    assert (pending[0].buyer_name, pending[0].user_id) == ("2", 2)  # never seen: the id stands in for a name
    mine = await repo.orders_of(CHAT, 1)
    assert [o.id for o in mine] == [ids[4], ids[2], ids[0]]
    assert (mine[0].buyer_name, mine[0].buyer_language, mine[0].item_name) == ("Alice Liddell", "zh", "Mug")
    assert await repo.bought(CHAT, 1, item) == 2  # the rejected one does not count


async def test_private_opt_out_shows_on_orders(repo):
    item = await new_item(repo)
    async with repo.db.transaction() as tx:
        order = await ShopRepo.insert_order(tx, CHAT, 1, item, 10, "pending", "k", NOW)
        await tx.execute("INSERT INTO optouts(user_id, kind, at) VALUES (1, 'private', '2026-03-01T00:00:00+00:00')")
    assert (await repo.order(order)).no_private


async def test_update_item_uses_a_column_whitelist(repo):
    item = await new_item(repo)
    async with repo.db.transaction() as tx:
        assert await ShopRepo.update_item(tx, item, "limit", 2)
        assert await ShopRepo.update_item(tx, item, "tier", "gold")
        with pytest.raises(KeyError):
            await ShopRepo.update_item(tx, item, "chat_id = 0, name", "x")
    stored = await repo.item(item)
    assert (stored.per_member_limit, stored.min_tier, stored.chat_id) == (2, "gold", CHAT)


async def test_active_items_and_names(repo):
    mug, tea = await new_item(repo, name="Mug"), await new_item(repo, name="Tea")
    async with repo.db.transaction() as tx:
        assert await ShopRepo.active_named_in(tx, CHAT, "mug") == mug
        assert await ShopRepo.active_named_in(tx, CHAT, "mug", other_than=mug) is None
        await ShopRepo.update_item(tx, mug, "active", False)
        assert await ShopRepo.count_active_in(tx, CHAT) == 1
    assert [i.id for i in await repo.items(CHAT)] == [tea]
    assert [i.id for i in await repo.items(CHAT, active_only=False)] == [mug, tea]
