"""A code purchase killed around its private send (kill -9, in-process): before the message went out, or after it
but before "delivered" was written. After the restart the buyer holds their own code (once, or the same one again,
marked), never a different one; the order ends fulfilled; and a /reject of an order whose code may have been seen
refunds the points without putting that code back on sale."""
from __future__ import annotations

import asyncio

import pytest
from telegram import Update

import handlers.shop as shop_handlers
from bot.app import ALLOWED_UPDATES
from bot.context import BotContext
from bot.domain.shop import MAX_CODE_SENDS
from storage.db import iso
from tests.handlers.test_inbox import crash
from tests.handlers.test_shop import balance, buttons, code_item_on_sale, fund, open_confirm, orders, stock
from tests.helpers import say

AGAIN = "(sent again after a restart)"


class Killed(BaseException):
    """The process dies here: nothing after this point runs (PTB catches Exception, not this)."""


def codes_sent(pg, user) -> list[str]:
    return [m["text"] for m in pg.sim.replies(user) if m.get("text", "").startswith("🎁 Your code")]


async def killed_during_delivery(pg, g, monkeypatch, point: str, *, resend_fails: bool = False,
                                 earlier_sends: int = 0) -> tuple[int, int]:
    """Alice buys a code item holding two codes; the process is killed `point` ("before" / "after") the code's
    private message, then starts again on the same database (resend_fails: the network is down for the resend at
    start; earlier_sends: sends of this code that earlier restarts began and kills cut off too). Returns (item id, order id)."""
    item = await code_item_on_sale(pg, g, "AAA-111 BBB-222")
    _a, prompt = await open_confirm(pg, g, g.alice, item)
    real = shop_handlers._send_code

    async def dies(*args, **kwargs):
        if point == "after":
            assert (await real(*args, **kwargs)).done
        raise Killed()

    monkeypatch.setattr(shop_handlers, "_send_code", dies)
    pg.sim.press(g.alice, prompt, next(d for d in buttons(prompt) if d.startswith("shop:ok:")))
    updates = pg.sim.take_updates(ALLOWED_UPDATES)
    await pg.services.inbox.receive(updates)
    with pytest.raises(Killed):
        await pg.app.process_update(Update.de_json(updates[0], pg.app.bot))
    monkeypatch.setattr(shop_handlers, "_send_code", real)
    [(order, _u, _i, _c, status)] = await orders(pg, g.chat)
    assert status == "pending"  # not fulfilled: "delivered" was never written
    assert len(codes_sent(pg, g.alice)) == (1 if point == "after" else 0)
    if earlier_sends:
        async with pg.services.db.transaction() as tx:
            await tx.execute("UPDATE orders SET sends = sends + ? WHERE id = ?", (earlier_sends, order))
    if resend_fails:
        pg.sim.network_error("sendMessage")
    await crash(pg)
    await pg.settle()  # the Confirm press, unfinished, is handled again from the inbox: the same order, no new sale
    return item, order


async def resume(pg) -> None:
    """The start-up pass (its job also runs by itself at start; a second pass finds nothing left to do)."""
    await shop_handlers.job_resume_codes(BotContext(pg.app))
    await pg.settle()


@pytest.mark.parametrize("point", ["before", "after"])
async def test_a_code_cut_off_by_a_kill_reaches_the_buyer_as_the_same_code_and_the_order_ends_fulfilled(
    pg, group, monkeypatch, point,
):
    g = group
    item, order = await killed_during_delivery(pg, g, monkeypatch, point)
    await resume(pg)
    await resume(pg)  # more passes send nothing more
    sent = codes_sent(pg, g.alice)
    code = f"🎁 Your code for Game key (order #{order} in Tea Lovers):\nAAA-111"
    assert sent == ([code] if point == "after" else []) + [f"{code}\n{AGAIN}"]  # never BBB-222, never a third time
    assert [r[-1] for r in await orders(pg, g.chat)] == ["fulfilled"]
    assert await balance(pg, g.chat, g.alice) == 50  # paid once
    assert await stock(pg, item) == 1  # BBB-222 is still for sale, and only it
    assert await pg.services.db.fetchval("SELECT code FROM shop_codes WHERE order_id IS NULL") == "BBB-222"
    assert await pg.services.points.ledger.mismatches() == []


@pytest.mark.parametrize("point", ["before", "after"])
async def test_a_reject_of_an_order_cut_off_mid_delivery_refunds_and_never_puts_the_code_back_on_sale(
    pg, group, monkeypatch, point,
):
    g = group
    item, order = await killed_during_delivery(pg, g, monkeypatch, point, resend_fails=True)
    await resume(pg)  # the resend got no answer (it may have arrived): pending, for an admin
    assert [r[-1] for r in await orders(pg, g.chat)] == ["pending"]
    answer = await say(pg, g.admin, f"/reject {order}", g.chat)
    assert answer.startswith(
        f"Order #{order} (Game key for Alice) is rejected; 50 points refunded. "
        "Its code may already have reached them, so it is retired, not put back on sale."
    )
    assert await balance(pg, g.chat, g.alice) == 100
    assert await stock(pg, item) == 1  # only BBB-222: AAA-111, which Alice may hold, is not sold again
    # Bob buys the last unit: he gets BBB-222, never Alice's code.
    await fund(pg, g.chat, g.bob, 100)
    pg.sim.send(g.bob, "/start")
    await pg.settle()
    _a, prompt = await open_confirm(pg, g, g.bob, item)
    await pg.settle()
    pg.sim.press(g.bob, prompt, next(d for d in buttons(prompt) if d.startswith("shop:ok:")))
    await pg.settle()
    assert [m.rsplit("\n", 1)[-1] for m in codes_sent(pg, g.bob)] == ["BBB-222"]
    assert await stock(pg, item) == 0
    assert await pg.services.points.ledger.mismatches() == []


async def test_an_order_cut_off_by_kill_after_kill_is_left_to_an_admin(pg, group, monkeypatch):
    """A resend that a kill cuts off again is tried at the next start, but not forever: after MAX_CODE_SENDS begun
    sends the order waits for an admin (/fulfil or /reject) instead of messaging the buyer at every restart."""
    g = group
    _item, order = await killed_during_delivery(pg, g, monkeypatch, "after", earlier_sends=MAX_CODE_SENDS - 1)
    await resume(pg)
    assert len(codes_sent(pg, g.alice)) == 1  # not sent again
    assert [r[-1] for r in await orders(pg, g.chat)] == ["pending"]
    assert await say(pg, g.admin, f"/fulfil {order}", g.chat) == f"Order #{order} (Game key for Alice) is fulfilled. I told them privately."


async def blocked_send(pg, monkeypatch):
    """The code's private send held open until released: (started, release)."""
    real, started, release = shop_handlers._send_code, asyncio.Event(), asyncio.Event()

    async def held(*args, **kwargs):
        started.set()
        await release.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(shop_handlers, "_send_code", held)
    return started, release


async def handle_now(pg, updates) -> None:
    """Handle these updates at once, beside whatever is running (an admin's command typed meanwhile)."""
    await pg.services.inbox.receive(updates)
    for update in updates:
        await pg.app.process_update(Update.de_json(update, pg.app.bot))


async def test_a_reject_while_the_code_is_on_its_way_is_refused_and_refunds_nothing(pg, group, monkeypatch):
    """/reject of an order whose code is being sent at that moment (the purchase's own send, held open) would refund a
    code that arrives a moment later: it is refused, and once the send is done the order is fulfilled, paid once."""
    g = group
    item = await code_item_on_sale(pg, g)
    _a, prompt = await open_confirm(pg, g, g.alice, item)
    started, release = await blocked_send(pg, monkeypatch)
    pg.sim.press(g.alice, prompt, next(d for d in buttons(prompt) if d.startswith("shop:ok:")))
    confirm = asyncio.create_task(handle_now(pg, pg.sim.take_updates(ALLOWED_UPDATES)))
    await asyncio.wait_for(started.wait(), 5)
    [(order, *_rest)] = await orders(pg, g.chat)
    pg.sim.send(g.admin, f"/reject {order} changed my mind", g.chat)
    await asyncio.wait_for(handle_now(pg, pg.sim.take_updates(ALLOWED_UPDATES)), 5)
    assert pg.sim.replies(g.chat)[-1]["text"] == (
        f"Order #{order}'s code is being sent to the buyer right now; try again in a minute, once it has arrived or failed."
    )
    release.set()
    await confirm
    await pg.settle()
    assert [m.rsplit("\n", 1)[-1] for m in codes_sent(pg, g.alice)] == ["AAA-111"]
    assert [r[-1] for r in await orders(pg, g.chat)] == ["fulfilled"]
    assert await balance(pg, g.chat, g.alice) == 50  # paid once, nothing refunded
    assert await say(pg, g.admin, f"/reject {order}", g.chat) == f"Order #{order} is already ✅ fulfilled."
    assert await pg.services.points.ledger.mismatches() == []


async def test_a_second_fulfil_while_the_first_is_sending_is_refused_and_the_code_goes_once(pg, group, monkeypatch):
    """An order whose code Telegram did not take at the purchase waits for an admin; two admins /fulfil it at once
    (one from private chat, say): the second is told the code is on its way, and the buyer gets it once."""
    g = group
    item = await code_item_on_sale(pg, g)
    _a, prompt = await open_confirm(pg, g, g.alice, item)
    pg.sim.network_error("sendMessage")  # the purchase's send gets no answer: pending, for an admin
    pg.sim.press(g.alice, prompt, next(d for d in buttons(prompt) if d.startswith("shop:ok:")))
    await pg.settle()
    [(order, *_rest, status)] = await orders(pg, g.chat)
    assert status == "pending" and codes_sent(pg, g.alice) == []
    started, release = await blocked_send(pg, monkeypatch)
    pg.sim.send(g.admin, f"/fulfil {order}", g.chat)
    first = asyncio.create_task(handle_now(pg, pg.sim.take_updates(ALLOWED_UPDATES)))
    await asyncio.wait_for(started.wait(), 5)
    pg.sim.send(g.owner, f"/fulfil {order}", g.chat)
    await asyncio.wait_for(handle_now(pg, pg.sim.take_updates(ALLOWED_UPDATES)), 5)  # not held behind the first send
    assert pg.sim.replies(g.chat)[-1]["text"].startswith(f"Order #{order}'s code is being sent to the buyer right now")
    release.set()
    await first
    await pg.settle()
    assert len(codes_sent(pg, g.alice)) == 1
    assert pg.sim.replies(g.chat)[-1]["text"] == f"Order #{order} (Game key for Alice) is fulfilled. I told them privately."
    assert [r[-1] for r in await orders(pg, g.chat)] == ["fulfilled"]
    assert await balance(pg, g.chat, g.alice) == 50


async def test_a_send_whose_answer_was_never_recorded_does_not_block_the_order_for_good(pg, group, monkeypatch):
    """A send begun long ago in this process whose answer was never written (a fault right after it) is no longer
    taken to be under way: /reject works (and retires the code, which may have arrived); so does a zh refusal."""
    g = group
    item = await code_item_on_sale(pg, g)
    _a, prompt = await open_confirm(pg, g, g.alice, item)
    pg.sim.network_error("sendMessage")
    pg.sim.press(g.alice, prompt, next(d for d in buttons(prompt) if d.startswith("shop:ok:")))
    await pg.settle()
    [(order, *_rest)] = await orders(pg, g.chat)
    async with pg.services.db.transaction() as tx:  # a send begun now whose answer is never recorded
        await tx.execute("UPDATE orders SET sending_since = ?, sends = sends + 1 WHERE id = ?", (iso(pg.clock.now()), order))
    await say(pg, g.admin, "/lang zh", g.chat)
    assert await say(pg, g.admin, f"/reject {order}", g.chat) == f"订单 #{order} 的兑换码正在发给买家，请过一分钟、等它送达或失败后再试。"
    pg.clock.advance(minutes=11)
    answer = await say(pg, g.admin, f"/reject {order}", g.chat)
    assert answer.startswith(f"订单 #{order}"), answer
    assert [r[-1] for r in await orders(pg, g.chat)] == ["rejected"]
    assert await balance(pg, g.chat, g.alice) == 100
    assert await stock(pg, item) == 0  # retired: it may have reached her


async def test_a_code_dropped_at_a_stop_goes_out_at_the_next_start(pg, group, monkeypatch):
    """A stop drops a send that would wait for a flood limit (DroppedAtStop: certainly not sent). The code's send was
    taken for "no answer: it may have arrived" — its record closed, nothing sent again, the paid order left for an
    admin; it stays under way now, and the next start sends it, as after a kill."""
    from bot.processor import DroppedAtStop

    g = group
    item = await code_item_on_sale(pg, g, "AAA-111 BBB-222")
    _, prompt = await open_confirm(pg, g, g.alice, item)
    real_attempt = shop_handlers.attempt

    async def stopping(what, call, **kw):
        async def dropped():
            raise DroppedAtStop("dropped at stop: flood limit")  # what FloodLimiter._send raises once stopping
        return await real_attempt(what, dropped, **kw)

    monkeypatch.setattr(shop_handlers, "attempt", stopping)
    pg.sim.press(g.alice, prompt, next(d for d in buttons(prompt) if d.startswith("shop:ok:")))
    await pg.settle()
    monkeypatch.setattr(shop_handlers, "attempt", real_attempt)
    assert codes_sent(pg, g.alice) == []
    await crash(pg)
    await pg.settle()
    await resume(pg)
    [sent] = codes_sent(pg, g.alice)
    assert "AAA-111" in sent and "sent again after a restart" in sent
