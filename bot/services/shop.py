"""Use-cases of the points shop: manage items and codes, quote and buy, fulfil or reject orders with a refund.

A purchase is one transaction: the stock is taken by a conditional UPDATE, the member's limit is
counted and the points are debited through the ledger in that same transaction, and the order's
UNIQUE request key makes a repeated confirmation a no-op. Telegram is reached only through the
`can_message` probe a caller passes in.
"""
from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.clock import Clock
from bot.domain.levels import Tier
from bot.domain.points import Currency, InsufficientPointsError, Reason, ledger_key
from bot.domain.shop import (
    CODE_SEND_UNDER_WAY, MAX_ACTIVE_ITEMS, MAX_CODE_SENDS, CodeSendingError, ItemInactiveError, OrderDecidedError, PriceChangedError, PrivateChatNeededError, PurchaseDoneError,
    ShopInputError, SoldOutError, UnknownItemError, UnknownOrderError, can_buy, parse_edit, parse_item_spec, valid_nonce,
)
from storage.db import Database
from storage.ledger import InsufficientBalance, post
from storage.shop import Order, ShopItem, ShopRepo


class TierSource(Protocol):
    """What the shop needs from the points economy (PointsService provides it)."""

    tiers: tuple[Tier, ...]

    async def tier_of(self, chat_id: int, user_id: int) -> Tier: ...


@dataclass(frozen=True)
class Quote:
    """A member may buy this now: show the price and ask. nonce makes the confirmation's request key."""

    item: ShopItem
    balance: int
    nonce: str


@dataclass(frozen=True)
class Purchase:
    order: Order
    item: ShopItem
    code: str | None  # the delivered code, for a code item
    balance: int  # points left after paying


@dataclass(frozen=True)
class Decision:
    order: Order  # as it is now
    refunded: int  # points given back by this call (0 for a fulfilment)
    retired: bool = False  # its code may have reached the buyer: kept off the shelf instead of going back on sale


@dataclass(frozen=True)
class CodesAdded:
    item: ShopItem
    added: int
    skipped: int  # codes the item already had
    converted: bool  # the item sold without codes before; its stock now follows the codes


def request_key(user_id: int, item_id: int, nonce: str) -> str:
    return f"{user_id}:{item_id}:{nonce}"


class ShopService:
    def __init__(self, db: Database, repo: ShopRepo, points: TierSource, clock: Clock) -> None:
        self.db, self.repo, self.points, self.clock = db, repo, points, clock
        # A code send recorded as under way before this moment was cut off by the end of an earlier process.
        self.started_at = clock.now()

    @property
    def tier_keys(self) -> tuple[str, ...]:
        return tuple(t.key for t in self.points.tiers)

    # --- items ----------------------------------------------------------------------------------

    async def items(self, chat_id: int) -> list[ShopItem]:
        return await self.repo.items(chat_id)

    async def item(self, chat_id: int, item_id: int) -> ShopItem:
        item = await self.repo.item(item_id)
        if item is None or item.chat_id != chat_id:
            raise UnknownItemError(item_id)
        return item

    async def add_item(self, chat_id: int, text: str) -> ShopItem:
        """`/additem` text → a new active item. Raises UsageError / ShopInputError."""
        spec = parse_item_spec(text, self.tier_keys)
        async with self.db.transaction() as tx:
            if await ShopRepo.count_active_in(tx, chat_id) >= MAX_ACTIVE_ITEMS:
                raise ShopInputError("too_many_items", max=MAX_ACTIVE_ITEMS)
            taken = await ShopRepo.active_named_in(tx, chat_id, spec.name)
            if taken is not None:
                raise ShopInputError("name_taken", id=taken)
            item_id = await ShopRepo.insert_item(
                tx, chat_id, spec.name, spec.cost, spec.stock, spec.limit, spec.tier, spec.description, self.clock.now(), spec.grants,
            )
        return await self.item(chat_id, item_id)

    async def edit_item(self, chat_id: int, item_id: int, field: str, value: str) -> tuple[ShopItem, str]:
        """Change one field; returns the item as it is now and the field's canonical name."""
        key, parsed = parse_edit(field, value, self.tier_keys)
        async with self.db.transaction() as tx:
            item = await ShopRepo.item_in(tx, item_id)
            if item is None or item.chat_id != chat_id:
                raise UnknownItemError(item_id)
            if key == "stock" and item.has_codes:
                raise ShopInputError("codes_stock", id=item_id)
            if key == "name" and await ShopRepo.active_named_in(tx, chat_id, parsed, other_than=item_id) is not None:
                raise ShopInputError("name_taken", id=await ShopRepo.active_named_in(tx, chat_id, parsed, other_than=item_id))
            if key == "active":
                if parsed == item.active:
                    raise ShopInputError("already_active" if parsed else "already_inactive", id=item_id)
                if parsed:
                    if await ShopRepo.count_active_in(tx, chat_id) >= MAX_ACTIVE_ITEMS:
                        raise ShopInputError("too_many_items", max=MAX_ACTIVE_ITEMS)
                    taken = await ShopRepo.active_named_in(tx, chat_id, item.name, other_than=item_id)
                    if taken is not None:
                        raise ShopInputError("name_taken", id=taken)
            await ShopRepo.update_item(tx, item_id, key, parsed)
        return await self.item(chat_id, item_id), key

    async def remove_item(self, chat_id: int, item_id: int) -> ShopItem:
        """Take an item off the shelf. Its orders stay (pending ones can still be fulfilled or rejected)."""
        item, _ = await self.edit_item(chat_id, item_id, "active", "off")
        return item

    async def add_codes(self, chat_id: int, item_id: int, codes: list[str]) -> CodesAdded:
        async with self.db.transaction() as tx:
            item = await ShopRepo.item_in(tx, item_id)
            if item is None or item.chat_id != chat_id:
                raise UnknownItemError(item_id)
            if item.grants:  # what it grants is the delivery; a code as well would give the buyer both
                raise ShopInputError("card_codes", id=item_id)
            added = await ShopRepo.add_codes(tx, item_id, codes)
            await ShopRepo.sync_code_stock(tx, item_id)
        return CodesAdded(await self.item(chat_id, item_id), added, len(codes) - added, converted=not item.has_codes and added > 0)

    # --- buying ---------------------------------------------------------------------------------

    async def quote(self, chat_id: int, user_id: int, item_id: int) -> Quote:
        """Check, without changing anything, that the member may buy the item now (the Buy button)."""
        item = await self.item(chat_id, item_id)
        tier = await self.points.tier_of(chat_id, user_id)
        balance = await self.repo.balance(chat_id, user_id)
        can_buy(item, tier, await self.repo.bought(chat_id, user_id, item_id), balance, self.points.tiers)
        return Quote(item, balance, secrets.token_urlsafe(6))

    async def purchase(
        self, chat_id: int, user_id: int, item_id: int, nonce: str, *, expected_cost: int | None = None,
        can_message: Callable[[], Awaitable[bool]] | None = None,
    ) -> Purchase:
        """Buy one unit (the Confirm button). The same nonce twice makes one order: PurchaseDoneError.

        can_message asks Telegram whether the buyer can get a private message; it is called for a
        code item before anything is taken, so a member who never started the bot keeps their points.
        """
        if not valid_nonce(nonce):
            raise ValueError(f"bad nonce {nonce!r}")
        key = request_key(user_id, item_id, nonce)
        before = await self.repo.item(item_id)
        if before is not None and before.has_codes and before.active and can_message is not None:
            if await self.repo.order_by_key(chat_id, key) is None and not await can_message():
                raise PrivateChatNeededError()
        tier = await self.points.tier_of(chat_id, user_id)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            done = await ShopRepo.order_by_key_in(tx, chat_id, key)
            if done is not None:
                raise PurchaseDoneError(done)
            item = await ShopRepo.item_in(tx, item_id)
            if item is None or item.chat_id != chat_id:
                raise UnknownItemError(item_id)
            if not item.active:
                raise ItemInactiveError(item.name)
            if expected_cost is not None and item.cost != expected_cost:
                raise PriceChangedError(item.name, item.cost)
            bought = await ShopRepo.bought_in(tx, chat_id, user_id, item_id)
            can_buy(item, tier, bought, await ShopRepo.balance_in(tx, chat_id, user_id), self.points.tiers)
            if not await ShopRepo.take_stock(tx, item_id):
                raise SoldOutError(item.name)
            # A make-up card is delivered by the purchase itself; a code only once its private message went out
            # (delivered): until then the order is pending, for a retry or an admin.
            status = "fulfilled" if item.grants else "pending"
            order_id = await ShopRepo.insert_order(tx, chat_id, user_id, item_id, item.cost, status, key, now)
            if order_id is None:
                raise PurchaseDoneError(await ShopRepo.order_by_key_in(tx, chat_id, key))
            try:
                paid = await post(
                    tx, chat_id, user_id, -item.cost, Currency.POINTS, Reason.SHOP_PURCHASE,
                    ledger_key(Reason.SHOP_PURCHASE, user_id, item_id, nonce), now, note=f"#{order_id} {item.name}",
                )
            except InsufficientBalance as exc:
                raise InsufficientPointsError(exc.balance, exc.needed) from None
            if not paid:
                raise PurchaseDoneError(order_id)
            code = None
            if item.has_codes:
                code = await ShopRepo.assign_code(tx, item_id, order_id)
                if code is None:  # stock and codes disagree: refuse rather than sell nothing
                    raise SoldOutError(item.name)
                # Delivering: the send is recorded before it starts, so a crash either side of it is known at start.
                await ShopRepo.begin_send(tx, order_id, now)
            balance = await ShopRepo.balance_in(tx, chat_id, user_id)
            order = await ShopRepo.order_in(tx, order_id)
            after = await ShopRepo.item_in(tx, item_id)
        assert order is not None and after is not None
        return Purchase(order, after, code, balance)

    async def code_of(self, order: Order) -> str | None:
        return await self.repo.code_of(order.id)

    async def begin_send(self, order_id: int) -> None:
        """Delivering (/fulfil): claim the send of a pending order's code, recorded before it starts. Refused while
        another send of it is under way (CodeSendingError: the purchase's, a restart's, another admin's /fulfil), or
        once the order is decided meanwhile (OrderDecidedError)."""
        async with self.db.transaction() as tx:
            if await ShopRepo.claim_send(tx, order_id, self.clock.now(), self._under_way_since()):
                return
            order = await ShopRepo.order_in(tx, order_id)
        if order is not None and order.status != "pending":
            raise OrderDecidedError(order_id, order.status)
        raise CodeSendingError(order_id)

    def _under_way_since(self) -> datetime:
        """A code send begun at or after this is under way (CODE_SEND_UNDER_WAY; to the second, as sends are stored)."""
        return max(self.started_at, self.clock.now() - CODE_SEND_UNDER_WAY).replace(microsecond=0)

    async def send_failed(self, order_id: int, *, unsure: bool) -> None:
        """The code's send did not succeed: the order stays pending for an admin. unsure (a timeout, a network error:
        it may have arrived): the buyer may have seen the code, so a /reject retires it instead of selling it again."""
        async with self.db.transaction() as tx:
            await ShopRepo.end_send(tx, order_id, not_sent=not unsure)

    async def claim_resend(self, order: Order) -> bool:
        """Take on the send again of an order left delivering (False: another pass already did)."""
        async with self.db.transaction() as tx:
            return await ShopRepo.claim_resend(tx, order.id, order.sends, self.clock.now())

    async def resumable_sends(self) -> AsyncIterator[tuple[Order, str]]:
        """At start: the code sends an earlier process began and never finished (killed before the message went out,
        or after but before "delivered" was written) are uncertain. Sending the same code to the same buyer again is
        harmless, so each is claimed for one more send and yielded with its code (one at a time: the next is claimed
        only once the caller asks for it, after settling this one). One that restarts keep cutting off
        (MAX_CODE_SENDS) is left pending for an admin (whose /reject then retires the code). Never a different code:
        the order keeps the one reserved at purchase."""
        for order in await self.repo.cut_off_sends(self.started_at):
            code = await self.code_of(order)
            if code is None:  # pragma: no cover - a send is only ever begun for an order holding a code
                await self.send_failed(order.id, unsure=False)
                continue
            if order.sends >= MAX_CODE_SENDS:
                await self.send_failed(order.id, unsure=True)
                continue
            if await self.claim_resend(order):  # False: another pass already did
                yield order, code

    async def delivered(self, order_id: int, actor_id: int | None = None) -> Order:
        """The order's code went out by private message: only now is it fulfilled."""
        async with self.db.transaction() as tx:
            await ShopRepo.end_send(tx, order_id)
            await ShopRepo.decide(tx, order_id, "pending", "fulfilled", actor_id, self.clock.now())
            updated = await ShopRepo.order_in(tx, order_id)
        assert updated is not None
        return updated

    async def undeliverable(self, order_id: int) -> Decision:
        """Telegram refused the code's message (the buyer blocked the bot meanwhile): undo the sale."""
        async with self.db.transaction() as tx:
            order = await ShopRepo.order_in(tx, order_id)
            if order is None or order.status != "pending":
                raise UnknownOrderError(order_id)
            refunded = await self._reverse(tx, order, "pending", None, "undeliverable")
            await ShopRepo.end_send(tx, order_id, not_sent=True)
            await ShopRepo.release_code(tx, order_id)
            await ShopRepo.sync_code_stock(tx, order.item_id)
            updated = await ShopRepo.order_in(tx, order_id)
        return Decision(updated, refunded)

    async def pending_order(self, chat_id: int, order_id: int) -> Order:
        """An order an admin may still decide (UnknownOrderError / OrderDecidedError otherwise)."""
        order = await self.repo.order(order_id)
        if order is None or order.chat_id != chat_id:
            raise UnknownOrderError(order_id)
        if order.status != "pending":
            raise OrderDecidedError(order_id, order.status)
        return order

    # --- orders ---------------------------------------------------------------------------------

    async def orders_of(self, chat_id: int, user_id: int, limit: int = 15) -> list[Order]:
        return await self.repo.orders_of(chat_id, user_id, limit)

    async def pending(self, chat_id: int, limit: int = 30) -> tuple[list[Order], int]:
        return await self.repo.pending(chat_id, limit)

    async def fulfil(self, chat_id: int, order_id: int, actor_id: int) -> Order:
        async with self.db.transaction() as tx:
            order = await self._pending_order(tx, chat_id, order_id)
            await ShopRepo.decide(tx, order.id, "pending", "fulfilled", actor_id, self.clock.now())
            updated = await ShopRepo.order_in(tx, order_id)
        return updated

    async def reject(self, chat_id: int, order_id: int, actor_id: int, reason: str | None = None) -> Decision:
        """Refuse a pending order: the points go back (once: the refund's ledger ref is the order) and so does the stock —
        except a code whose send was ever begun: the buyer may hold it, so it is retired (kept on the rejected order)
        rather than sold to someone else."""
        if reason is not None and len(reason) > 200:
            raise ShopInputError("note_too_long", max=200)
        async with self.db.transaction() as tx:
            order = await self._pending_order(tx, chat_id, order_id)
            if order.sending_since is not None and order.sending_since >= self._under_way_since():
                raise CodeSendingError(order_id)  # refunding now would refund a code that may arrive in a moment
            refunded = await self._reverse(tx, order, "pending", actor_id, reason)
            await ShopRepo.end_send(tx, order_id)
            # A code that may have reached the buyer is never sold again; one never sent goes back on the shelf
            # (release_code: False when the order holds no code — then its stock goes back).
            retired = order.sends > 0 and await ShopRepo.code_in(tx, order_id) is not None
            if not retired:
                if await ShopRepo.release_code(tx, order_id):
                    await ShopRepo.sync_code_stock(tx, order.item_id)
                else:
                    await ShopRepo.restore_stock(tx, order.item_id)
            updated = await ShopRepo.order_in(tx, order_id)
        return Decision(updated, refunded, retired)

    @staticmethod
    async def _pending_order(tx, chat_id: int, order_id: int) -> Order:
        order = await ShopRepo.order_in(tx, order_id)
        if order is None or order.chat_id != chat_id:
            raise UnknownOrderError(order_id)
        if order.status != "pending":
            raise OrderDecidedError(order_id, order.status)
        return order

    async def _reverse(self, tx, order: Order, from_status: str, actor_id: int | None, note: str | None) -> int:
        now = self.clock.now()
        if not await ShopRepo.decide(tx, order.id, from_status, "rejected", actor_id, now, note):
            raise OrderDecidedError(order.id, order.status)
        refunded = await post(
            tx, order.chat_id, order.user_id, order.cost, Currency.POINTS, Reason.SHOP_REFUND,
            ledger_key(Reason.SHOP_REFUND, order.id), now, actor_id=actor_id, note=f"#{order.id} {order.item_name}",
        )
        return order.cost if refunded else 0
