"""The points shop through the real Application on the simulated Telegram: /shop and its Buy → Confirm dialogue,
codes delivered privately, orders fulfilled and rejected with a refund, and one clear line for every refusal."""
from __future__ import annotations

import re

from bot.domain.points import Reason
from storage.ledger import post
from tests.helpers import help_of, say

ADMIN_ONLY = "Only Admin and above can use this command."
ADDITEM_USAGE = "Usage: /additem NAME | COST [| stock N|unlimited] [| limit N] [| tier KEY] [| makeup card] [| description]"


# --- helpers -------------------------------------------------------------------------------------------


async def fund(pg, chat, user, points: int = 0, xp: int = 0) -> None:
    async with pg.services.db.transaction() as tx:
        if points:
            await post(tx, chat.id, user.id, points, "points", Reason.ADMIN_GIVE, f"test:{user.id}:{points}:{pg.clock.now()}", pg.clock.now())
        if xp:
            await post(tx, chat.id, user.id, xp, "xp", Reason.ADMIN_GIVE, f"testxp:{user.id}:{xp}", pg.clock.now())


async def balance(pg, chat, user) -> int:
    return await pg.services.db.fetchval("SELECT points FROM wallets WHERE chat_id = ? AND user_id = ?", (chat.id, user.id)) or 0


async def stock(pg, item_id: int):
    return await pg.services.db.fetchval("SELECT stock FROM shop_items WHERE id = ?", (item_id,))


async def orders(pg, chat) -> list[tuple]:
    rows = await pg.services.db.fetchall("SELECT id, user_id, item_id, cost, status FROM orders WHERE chat_id = ? ORDER BY id", (chat.id,))
    return [tuple(r) for r in rows]


async def ledger(pg, chat, user) -> list[tuple]:
    rows = await pg.services.db.fetchall(
        "SELECT amount, reason FROM ledger WHERE chat_id = ? AND user_id = ? AND currency = 'points' AND reason LIKE 'shop%' ORDER BY id",
        (chat.id, user.id),
    )
    return [tuple(r) for r in rows]


def buttons(message) -> list[str]:
    return [b["callback_data"] for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


def last(pg, chat) -> dict:
    return pg.sim.replies(chat)[-1]


async def press(pg, user, message, data: str) -> dict:
    """Press a button and let the bot handle it; returns the callback answer (text, show_alert)."""
    query_id = pg.sim.press(user, message, data)
    await pg.settle()
    answers = [c.params for c in pg.sim.calls("answerCallbackQuery") if c.params["callback_query_id"] == query_id]
    assert len(answers) == 1, f"a callback query must be answered exactly once, got {answers}"
    return {"text": answers[0].get("text", ""), "alert": bool(answers[0].get("show_alert"))}


async def add(pg, group, spec: str) -> int:
    text = await say(pg, group.admin, f"/additem {spec}", group.chat)
    match = re.match(r"Added #(\d+) ", text)
    assert match, text
    return int(match.group(1))


async def code_item_on_sale(pg, group, codes: str = "AAA-111") -> int:
    """A code item "Game key" for 50 points holding `codes`, and Alice, who started the bot, with 100 points to buy it."""
    item = await add(pg, group, "Game key | 50")
    await say(pg, group.admin, f"/addcodes {item} {codes}", group.chat)
    await fund(pg, group.chat, group.alice, 100)
    pg.sim.send(group.alice, "/start")
    await pg.settle()
    return item


async def shelf(pg, group, user=None) -> dict:
    await say(pg, user or group.alice, "/shop", group.chat)
    return last(pg, group.chat)


async def open_confirm(pg, group, user, item_id: int) -> tuple[dict, dict]:
    """Press Buy on a fresh /shop; returns (the Buy answer, the confirmation message)."""
    answer = await press(pg, user, await shelf(pg, group, user), f"shop:buy:{item_id}")
    return answer, last(pg, group.chat)


async def buy(pg, group, user, item_id: int) -> dict:
    _answer, prompt = await open_confirm(pg, group, user, item_id)
    ok = next(d for d in buttons(prompt) if d.startswith("shop:ok:"))
    return await press(pg, user, prompt, ok)


# --- the shelf -------------------------------------------------------------------------------------------


async def test_shop_lists_items_with_terms_and_a_buy_button_each(pg, group):
    mug = await add(pg, group, "Mug | 100 | stock 5 | limit 1 | A tea mug with our logo")
    vip = await add(pg, group, "VIP badge | 500 | tier gold")
    gone = await add(pg, group, "Sticker | 10 | stock 0")
    message = await shelf(pg, group)
    assert message["text"] == (
        "🛍 Points shop — press a button to buy; /orders shows what you bought.\n\n"
        f"#{mug} Mug — 100 points · 5 left · limit 1 per member\n"
        "A tea mug with our logo\n\n"
        f"#{vip} VIP badge — 500 points · stock ∞ · Gold tier and above\n\n"
        f"#{gone} Sticker — 10 points · sold out"
    )
    assert buttons(message) == [f"shop:buy:{mug}", f"shop:buy:{vip}"]  # nothing to buy when sold out


async def test_empty_shop_says_how_to_fill_it(pg, group):
    assert await say(pg, group.alice, "/shop", group.chat) == "The shop is empty for now. Admins add items with /additem."


async def test_shop_is_a_group_command(pg, group):
    pg.sim.send(group.alice, "/start")
    await pg.settle()
    assert await say(pg, group.alice, "/shop") == "/shop works in your group: send it there."


async def test_the_shop_speaks_chinese_in_a_chinese_group(pg, group):
    await say(pg, group.owner, "/lang zh", group.chat)
    mug = await add_zh(pg, group, "马克杯 | 100 | 库存 5 | 限购 1")
    text = (await shelf(pg, group))["text"]
    assert text.startswith("🛍 积分商城")
    assert f"#{mug} 马克杯 — 100 积分 · 剩 5 件 · 每人限购 1" in text


async def add_zh(pg, group, spec: str) -> int:
    text = await say(pg, group.admin, f"/additem {spec}", group.chat)
    match = re.match(r"已上架 #(\d+) ", text)
    assert match, text
    return int(match.group(1))


# --- buying ------------------------------------------------------------------------------------------------


async def test_buy_confirm_creates_a_pending_order_and_tells_the_group(pg, group):
    mug = await add(pg, group, "Mug | 100 | stock 5")
    await fund(pg, group.chat, group.alice, 250)
    answer, prompt = await open_confirm(pg, group, group.alice, mug)
    assert answer == {"text": "", "alert": False}
    assert prompt["text"] == "Alice, buy Mug for 100 points? Your balance: 250 → 150."
    ok, no = buttons(prompt)
    assert re.fullmatch(rf"shop:ok:{mug}:{group.alice.id}:100:[A-Za-z0-9_-]{{8}}", ok)
    assert no == "shop:no:" + ok.split(":", 2)[2].replace(":100:", ":")
    assert all(len(d.encode()) <= 64 for d in (ok, no))
    [prompt_buttons] = [[b["text"] for b in row] for row in prompt["reply_markup"]["inline_keyboard"]]
    assert prompt_buttons == ["✅ Confirm", "❌ Cancel"]

    answer = await press(pg, group.alice, prompt, ok)
    [(order_id, user_id, item_id, cost, status)] = await orders(pg, group.chat)
    assert (user_id, item_id, cost, status) == (group.alice.id, mug, 100, "pending")
    assert answer == {"text": f"Bought! Order #{order_id}; 150 points left.", "alert": False}
    notice = pg.sim.messages(group.chat)[-1]
    assert notice["message_id"] == prompt["message_id"] and "reply_markup" not in notice
    assert notice["text"] == (
        f"🧾 Order #{order_id}: Alice bought Mug for 100 points. "
        f"Admins: /fulfil {order_id} when delivered, or /reject {order_id} [reason] to refund."
    )
    assert await balance(pg, group.chat, group.alice) == 150
    assert await stock(pg, mug) == 4
    assert await ledger(pg, group.chat, group.alice) == [(-100, "shop_purchase")]


async def test_a_double_tapped_confirm_makes_one_order_and_one_debit(pg, group):
    mug = await add(pg, group, "Mug | 100 | stock 5")
    await fund(pg, group.chat, group.alice, 250)
    _answer, prompt = await open_confirm(pg, group, group.alice, mug)
    ok = buttons(prompt)[0]
    first = pg.sim.press(group.alice, prompt, ok)
    second = pg.sim.press(group.alice, prompt, ok)  # before the bot answered the first
    await pg.settle()
    answers = {c.params["callback_query_id"]: c.params for c in pg.sim.calls("answerCallbackQuery")}
    [(order_id, *_)] = await orders(pg, group.chat)
    assert answers[first]["text"] == f"Bought! Order #{order_id}; 150 points left."
    assert answers[second] == {"callback_query_id": second, "text": f"Already done: this purchase is order #{order_id}.", "show_alert": True}
    assert await balance(pg, group.chat, group.alice) == 150
    assert await ledger(pg, group.chat, group.alice) == [(-100, "shop_purchase")]
    assert await stock(pg, mug) == 4


async def test_only_the_member_who_pressed_buy_may_confirm_or_cancel(pg, group):
    mug = await add(pg, group, "Mug | 100")
    await fund(pg, group.chat, group.alice, 250)
    await fund(pg, group.chat, group.bob, 250)
    _answer, prompt = await open_confirm(pg, group, group.alice, mug)
    ok, no = buttons(prompt)
    for data in (ok, no):
        assert await press(pg, group.bob, prompt, data) == {"text": "Only the member who pressed Buy can answer this.", "alert": True}
    assert await orders(pg, group.chat) == []
    assert await balance(pg, group.chat, group.bob) == 250
    assert buttons(last(pg, group.chat)) == [ok, no]  # still there for Alice


async def test_cancel_removes_the_question_and_takes_nothing(pg, group):
    mug = await add(pg, group, "Mug | 100")
    await fund(pg, group.chat, group.alice, 250)
    _answer, prompt = await open_confirm(pg, group, group.alice, mug)
    assert await press(pg, group.alice, prompt, buttons(prompt)[1]) == {"text": "Cancelled; no points were taken.", "alert": False}
    assert prompt["message_id"] in [m["message_id"] for m in pg.sim.deleted(group.chat)]
    assert await orders(pg, group.chat) == []
    assert await balance(pg, group.chat, group.alice) == 250


async def test_not_enough_points_says_balance_and_cost(pg, group):
    mug = await add(pg, group, "Mug | 100")
    await fund(pg, group.chat, group.alice, 30)
    before = len(pg.sim.replies(group.chat))
    answer = await press(pg, group.alice, await shelf(pg, group), f"shop:buy:{mug}")
    assert answer == {"text": "Not enough points: you have 30, Mug costs 100.", "alert": True}
    assert len(pg.sim.replies(group.chat)) == before + 1  # the /shop message only: no confirmation asked


async def test_points_spent_between_buy_and_confirm_are_caught_at_confirm(pg, group):
    mug = await add(pg, group, "Mug | 100")
    tea = await add(pg, group, "Tea | 100")
    await fund(pg, group.chat, group.alice, 150)
    _a, mug_prompt = await open_confirm(pg, group, group.alice, mug)
    assert (await buy(pg, group, group.alice, tea))["text"].startswith("Bought!")
    answer = await press(pg, group.alice, mug_prompt, buttons(mug_prompt)[0])
    assert answer == {"text": "Not enough points: you have 50, Mug costs 100.", "alert": True}
    assert pg.sim.messages(group.chat)[[m["message_id"] for m in pg.sim.messages(group.chat)].index(mug_prompt["message_id"])]["text"] == (
        "Not enough points: you have 50, Mug costs 100."
    )
    assert await balance(pg, group.chat, group.alice) == 50


async def test_tier_too_low_names_the_tier_needed(pg, group):
    vip = await add(pg, group, "VIP badge | 50 | tier gold")
    await fund(pg, group.chat, group.alice, 500, xp=250)
    answer = await press(pg, group.alice, await shelf(pg, group), f"shop:buy:{vip}")
    assert answer == {"text": "VIP badge needs tier Gold or above; you are Silver.", "alert": True}
    await fund(pg, group.chat, group.bob, 500, xp=1000)
    assert (await buy(pg, group, group.bob, vip))["text"].startswith("Bought!")


async def test_limit_per_member(pg, group):
    mug = await add(pg, group, "Mug | 10 | limit 1")
    await fund(pg, group.chat, group.alice, 500)
    assert (await buy(pg, group, group.alice, mug))["text"].startswith("Bought!")
    answer = await press(pg, group.alice, await shelf(pg, group), f"shop:buy:{mug}")
    assert answer == {"text": "You already have 1 × Mug: that is the limit per member.", "alert": True}


async def test_sold_out_between_shelf_and_buy(pg, group):
    mug = await add(pg, group, "Mug | 10 | stock 1")
    await fund(pg, group.chat, group.alice, 500)
    await fund(pg, group.chat, group.bob, 500)
    old_shelf = await shelf(pg, group, group.bob)
    assert (await buy(pg, group, group.alice, mug))["text"].startswith("Bought!")
    assert await press(pg, group.bob, old_shelf, f"shop:buy:{mug}") == {"text": "Mug is sold out.", "alert": True}
    assert buttons(await shelf(pg, group)) == []


async def test_sold_out_between_buy_and_confirm(pg, group):
    mug = await add(pg, group, "Mug | 10 | stock 1")
    await fund(pg, group.chat, group.alice, 500)
    await fund(pg, group.chat, group.bob, 500)
    _a, bob_prompt = await open_confirm(pg, group, group.bob, mug)
    assert (await buy(pg, group, group.alice, mug))["text"].startswith("Bought!")
    assert await press(pg, group.bob, bob_prompt, buttons(bob_prompt)[0]) == {"text": "Mug is sold out.", "alert": True}
    assert await balance(pg, group.chat, group.bob) == 500


async def test_item_taken_off_the_shelf_cannot_be_bought_from_an_old_message(pg, group):
    mug = await add(pg, group, "Mug | 10")
    await fund(pg, group.chat, group.alice, 500)
    old_shelf = await shelf(pg, group)
    _a, prompt = await open_confirm(pg, group, group.alice, mug)
    assert await say(pg, group.admin, f"/delitem {mug}", group.chat) == (
        f"#{mug} Mug is off the shelf. Its orders are kept; /edititem {mug} active on puts it back."
    )
    assert await press(pg, group.alice, old_shelf, f"shop:buy:{mug}") == {"text": "Mug is no longer on sale.", "alert": True}
    assert await press(pg, group.alice, prompt, buttons(prompt)[0]) == {"text": "Mug is no longer on sale.", "alert": True}
    assert await orders(pg, group.chat) == []


async def test_a_price_change_between_buy_and_confirm_asks_again(pg, group):
    mug = await add(pg, group, "Mug | 10")
    await fund(pg, group.chat, group.alice, 500)
    _a, prompt = await open_confirm(pg, group, group.alice, mug)
    assert await say(pg, group.admin, f"/edititem {mug} cost 20", group.chat) == f"Updated #{mug} Mug: 20 points · stock ∞."
    answer = await press(pg, group.alice, prompt, buttons(prompt)[0])
    assert answer == {"text": "The price of Mug changed to 20 points; press Buy again.", "alert": True}
    assert await balance(pg, group.chat, group.alice) == 500


# --- codes ------------------------------------------------------------------------------------------------------


async def test_a_code_is_sent_privately_and_the_order_is_fulfilled_at_once(pg, group):
    key = await add(pg, group, "Game key | 50")
    command = pg.sim.send(group.admin, f"/addcodes {key} AAA-111 BBB-222 AAA-111", group.chat)
    await pg.settle()
    assert command["message_id"] in [m["message_id"] for m in pg.sim.deleted(group.chat)]
    assert last(pg, group.chat)["text"] == (
        f"Added 2 codes to #{key} Game key. Unused codes (the stock): 2. Each purchase now delivers one code by private message.\n"
        "I deleted your message so the codes stay secret."
    )
    assert all("AAA-111" not in m.get("text", "") for m in pg.sim.messages(group.chat))
    await fund(pg, group.chat, group.alice, 100)
    pg.sim.send(group.alice, "/start")
    await pg.settle()
    answer = await buy(pg, group, group.alice, key)
    [(order_id, _u, _i, _c, status)] = await orders(pg, group.chat)
    assert status == "fulfilled"
    assert answer == {"text": f"Bought! Order #{order_id}; 50 points left.", "alert": False}
    assert last(pg, group.alice)["text"] == f"🎁 Your code for Game key (order #{order_id} in Tea Lovers):\nAAA-111"
    assert pg.sim.messages(group.chat)[-1]["text"] == (
        f"✅ Alice bought Game key for 50 points (order #{order_id}); the code was sent by private message."
    )
    assert await stock(pg, key) == 1
    assert await say(pg, group.admin, f"/reject {order_id}", group.chat) == f"Order #{order_id} is already ✅ fulfilled."


async def test_a_code_purchase_is_refused_before_paying_when_the_buyer_never_started_the_bot(pg, group):
    key = await add(pg, group, "Game key | 50")
    await say(pg, group.admin, f"/addcodes {key} AAA-111", group.chat)
    await fund(pg, group.chat, group.alice, 100)
    refusal = "I send the code by private message: open a chat with me, press Start (/start), then buy again."
    assert await press(pg, group.alice, await shelf(pg, group), f"shop:buy:{key}") == {"text": refusal, "alert": True}
    # Started, pressed Buy, then blocked the bot before confirming: still refused before paying.
    pg.sim.send(group.alice, "/start")
    await pg.settle()
    _a, prompt = await open_confirm(pg, group, group.alice, key)
    pg.sim.block(group.alice)
    await pg.settle()
    assert await press(pg, group.alice, prompt, buttons(prompt)[0]) == {"text": refusal, "alert": True}
    assert await balance(pg, group.chat, group.alice) == 100
    assert await stock(pg, key) == 1
    assert await orders(pg, group.chat) == []


async def test_a_code_that_cannot_be_delivered_is_refunded(pg, group):
    key = await add(pg, group, "Game key | 50")
    await say(pg, group.admin, f"/addcodes {key} AAA-111", group.chat)
    await fund(pg, group.chat, group.alice, 100)
    pg.sim.send(group.alice, "/start")
    await pg.settle()
    _a, prompt = await open_confirm(pg, group, group.alice, key)
    pg.sim.set_fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    answer = await press(pg, group.alice, prompt, buttons(prompt)[0])
    assert answer["alert"] and answer["text"].startswith("I could not send Alice the code for Game key privately")
    [(_id, _u, _i, _c, status)] = await orders(pg, group.chat)
    assert status == "rejected"
    assert await balance(pg, group.chat, group.alice) == 100
    assert await ledger(pg, group.chat, group.alice) == [(-50, "shop_purchase"), (50, "shop_refund")]
    assert await stock(pg, key) == 1
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM shop_codes WHERE order_id IS NULL") == 1


async def test_addcodes_refusals(pg, group):
    mug = await add(pg, group, "Mug | 10 | stock 3")
    assert await say(pg, group.admin, "/addcodes", group.chat) == "Usage: /addcodes ID CODE [CODE …]"
    assert await say(pg, group.admin, f"/addcodes {mug}", group.chat) == "Give the codes after the item id, separated by spaces or new lines."
    assert await say(pg, group.admin, "/addcodes 999 X", group.chat) == (
        "There is no item #999 in this group's shop. See /shop.\nI deleted your message so the codes stay secret."
    )
    assert await say(pg, group.alice, f"/addcodes {mug} X", group.chat) == ADMIN_ONLY
    await say(pg, group.admin, f"/addcodes {mug} X Y", group.chat)
    assert await say(pg, group.admin, f"/edititem {mug} stock 9", group.chat) == (
        f"Item #{mug} sells codes: its stock is the number of unused codes. Add more with /addcodes."
    )


async def test_addcodes_warns_when_the_codes_could_not_be_deleted(pg, group):
    mug = await add(pg, group, "Mug | 10")
    pg.sim.set_fail("deleteMessage", 400, "Bad Request: message can't be deleted")
    assert await say(pg, group.admin, f"/addcodes {mug} SECRET", group.chat) == (
        f"Added 1 code to #{mug} Mug. Unused codes (the stock): 1. Each purchase now delivers one code by private message.\n"
        "⚠️ I could not delete your message: delete it yourself, the codes are visible to everyone here."
    )


# --- orders ----------------------------------------------------------------------------------------------------


async def test_orders_for_members_and_the_pending_queue_for_admins(pg, group):
    mug = await add(pg, group, "Mug | 10")
    await fund(pg, group.chat, group.alice, 100)
    await fund(pg, group.chat, group.bob, 100)
    assert await say(pg, group.alice, "/orders", group.chat) == "Alice, you have no orders here yet. See /shop."
    await buy(pg, group, group.alice, mug)
    await buy(pg, group, group.bob, mug)
    [(a, *_), (b, *_)] = await orders(pg, group.chat)
    assert await say(pg, group.alice, "/orders", group.chat) == (
        f"Orders of Alice (latest first):\n#{a} Mug — 10 points — ⏳ pending · 2026-03-02 09:00"
    )
    assert await say(pg, group.admin, "/orders pending", group.chat) == (
        "Pending orders (2), oldest first — /fulfil ID or /reject ID [reason]:\n"
        f"#{a} Mug — Alice — 10 points — ⏳ pending · 2026-03-02 09:00\n"
        f"#{b} Mug — Bob — 10 points — ⏳ pending · 2026-03-02 09:00"
    )
    assert await say(pg, group.alice, "/orders pending", group.chat) == ADMIN_ONLY
    assert await say(pg, group.alice, "/orders everything", group.chat) == "Usage: /orders [pending]"


async def order_by_a_buyer_who_started_the_bot(pg, group) -> int:
    """Alice, who can be told things privately, has bought a 10-point mug; the order's id."""
    mug = await add(pg, group, "Mug | 10")
    await fund(pg, group.chat, group.alice, 100)
    pg.sim.send(group.alice, "/start")
    await pg.settle()
    await buy(pg, group, group.alice, mug)
    [(order_id, *_)] = await orders(pg, group.chat)
    return order_id


async def test_fulfil_tells_the_buyer_privately(pg, group):
    order_id = await order_by_a_buyer_who_started_the_bot(pg, group)
    assert await say(pg, group.admin, f"/fulfil {order_id}", group.chat) == (
        f"Order #{order_id} (Mug for Alice) is fulfilled. I told them privately."
    )
    assert last(pg, group.alice)["text"] == f"✅ Your order #{order_id} (Mug) in Tea Lovers is fulfilled."
    assert await say(pg, group.admin, f"/fulfil {order_id}", group.chat) == f"Order #{order_id} is already ✅ fulfilled."
    assert await say(pg, group.admin, f"/reject {order_id}", group.chat) == f"Order #{order_id} is already ✅ fulfilled."
    assert await balance(pg, group.chat, group.alice) == 90


async def test_reject_refunds_once_restores_stock_and_tells_the_buyer(pg, group):
    mug = await add(pg, group, "Mug | 10 | stock 2")
    await fund(pg, group.chat, group.alice, 100)
    await buy(pg, group, group.alice, mug)
    [(order_id, *_)] = await orders(pg, group.chat)
    assert await stock(pg, mug) == 1
    # Alice never wrote to the bot privately: the admins are asked to tell her.
    pg.sim.send(group.admin, f"/reject {order_id} out of mugs, sorry", group.chat)
    pg.sim.send(group.admin, f"/reject {order_id}", group.chat)  # sent twice before the first was handled
    await pg.settle()
    texts = [m["text"] for m in pg.sim.replies(group.chat)[-2:]]
    assert texts == [
        f"Order #{order_id} (Mug for Alice) is rejected; 10 points refunded. I could not tell them privately; please let them know.",
        f"Order #{order_id} is already ❌ rejected.",
    ]
    assert await balance(pg, group.chat, group.alice) == 100
    assert await ledger(pg, group.chat, group.alice) == [(-10, "shop_purchase"), (10, "shop_refund")]
    assert await stock(pg, mug) == 2
    # Getting spent points back is not earning them: the board still shows the 100 Alice was given.
    assert "Alice — 100" in await say(pg, group.bob, "/top points all", group.chat)
    assert await say(pg, group.alice, "/orders", group.chat) == (
        f"Orders of Alice (latest first):\n#{order_id} Mug — 10 points — ❌ rejected · 2026-03-02 09:00 (out of mugs, sorry)"
    )


async def test_reject_notice_reaches_a_buyer_who_started_the_bot(pg, group):
    order_id = await order_by_a_buyer_who_started_the_bot(pg, group)
    assert (await say(pg, group.admin, f"/reject {order_id} wrong size", group.chat)).endswith("I told them privately.")
    assert last(pg, group.alice)["text"] == (
        f"❌ Your order #{order_id} (Mug) in Tea Lovers was rejected; 10 points went back to your balance.\nReason: wrong size"
    )


async def test_order_commands_refuse_clearly(pg, group):
    other = pg.sim.create_group("Other", owner=group.owner)
    pg.sim.add_bot(other, by=group.owner)
    pg.sim.join(other, group.alice)
    await pg.settle()
    mug = (await say(pg, group.owner, "/additem Mug | 10", other))
    other_item = int(re.match(r"Added #(\d+) ", mug).group(1))
    await fund(pg, other, group.alice, 100)
    await buy(pg, type(group)(other, group.owner, group.admin, group.alice, group.bob, group.carol), group.alice, other_item)
    [(other_order, *_)] = await orders(pg, other)
    assert await say(pg, group.admin, f"/fulfil {other_order}", group.chat) == f"There is no order #{other_order} in this group."
    assert await say(pg, group.admin, "/fulfil abc", group.chat) == "abc is not an order id; see /orders pending."
    assert await say(pg, group.admin, "/fulfil", group.chat) == "Usage: /fulfil ORDER_ID"
    assert await say(pg, group.admin, "/reject", group.chat) == "Usage: /reject ORDER_ID [reason]"
    assert await say(pg, group.admin, f"/reject {other_order} " + "x" * 201, group.chat) == "The reason is too long (at most 200 characters)."
    assert await say(pg, group.alice, f"/fulfil {other_order}", group.chat) == ADMIN_ONLY
    assert await say(pg, group.bob, "/reject 1", group.chat) == ADMIN_ONLY
    assert await say(pg, group.admin, f"/edititem {other_item} cost 5", group.chat) == (
        f"There is no item #{other_item} in this group's shop. See /shop."
    )


# --- admins: items -------------------------------------------------------------------------------------------------


async def test_additem_answers_every_mistake_in_one_line(pg, group):
    cases = {
        "/additem": ADDITEM_USAGE,
        "/additem Mug": ADDITEM_USAGE,
        "/additem Mug |": ADDITEM_USAGE,
        "/additem Mug | free": "The cost must be a whole number of points from 1 to 1000000.",
        "/additem Mug | -5": "The cost must be a whole number of points from 1 to 1000000.",
        "/additem Mug | 10 | stock many": "Stock must be a whole number from 0 to 100000, or unlimited.",
        "/additem Mug | 10 | limit 0": "The limit per member must be a whole number from 1 to 1000, or none.",
        "/additem Mug | 10 | tier mythic": "Unknown tier mythic. Tiers: bronze, silver, gold, platinum, diamond.",
        "/additem Mug | 10 | stock 1 | stock 2": "stock is given twice.",
        "/additem " + "M" * 49 + " | 10": "The name is too long (at most 48 characters).",
        "/additem Mug | 10 | " + "d" * 201: "The description is too long (at most 200 characters).",
    }
    for command, expected in cases.items():
        assert await say(pg, group.admin, command, group.chat) == expected, command
    assert await say(pg, group.alice, "/additem Mug | 10", group.chat) == ADMIN_ONLY
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM shop_items") == 0


async def test_additem_reply_and_a_taken_name(pg, group):
    text = await say(pg, group.admin, "/additem Mug | 10 | tier silver | limit 2 | stock unlimited | Big | heavy", group.chat)
    mug = int(re.match(r"Added #(\d+) ", text).group(1))
    assert text == (
        f"Added #{mug} Mug: 10 points · stock ∞ · limit 2 per member · Silver tier and above. "
        f"It is on sale in /shop; /addcodes {mug} CODE… makes it deliver codes."
    )
    assert await pg.services.db.fetchval("SELECT description FROM shop_items WHERE id = ?", (mug,)) == "Big | heavy"
    assert await say(pg, group.admin, "/additem mug | 20", group.chat) == f"There already is an item with that name on sale: #{mug}."


async def test_edititem_changes_one_field_and_refuses_clearly(pg, group):
    mug = await add(pg, group, "Mug | 10")
    expected = {
        f"/edititem {mug} name Big mug": f"Updated #{mug} Big mug: 10 points · stock ∞.",
        f"/edititem {mug} stock 3": f"Updated #{mug} Big mug: 10 points · 3 left.",
        f"/edititem {mug} limit 1": f"Updated #{mug} Big mug: 10 points · 3 left · limit 1 per member.",
        f"/edititem {mug} tier gold": f"Updated #{mug} Big mug: 10 points · 3 left · limit 1 per member · Gold tier and above.",
        f"/edititem {mug} tier none": f"Updated #{mug} Big mug: 10 points · 3 left · limit 1 per member.",
        f"/edititem {mug} limit none": f"Updated #{mug} Big mug: 10 points · 3 left.",
        f"/edititem {mug} active off": f"Updated #{mug} Big mug: 10 points · 3 left. (off the shelf)",
        f"/edititem {mug} active on": f"Updated #{mug} Big mug: 10 points · 3 left.",
        f"/edititem {mug} active on ": f"Item #{mug} is already on sale.",
        f"/edititem {mug} colour red": "Unknown field colour. Fields: name, cost, stock, limit, tier, description, active.",
        f"/edititem {mug} cost": "Give a value for cost.",
        f"/edititem {mug} cost 0": "The cost must be a whole number of points from 1 to 1000000.",
        f"/edititem {mug}": "Usage: /edititem ID name|cost|stock|limit|tier|description|active VALUE",
        "/edititem x cost 5": "x is not an item id; the ids are the #numbers in /shop.",
        "/edititem 999 cost 5": "There is no item #999 in this group's shop. See /shop.",
    }
    for command, reply in expected.items():
        assert await say(pg, group.admin, command, group.chat) == reply, command


async def test_delitem_keeps_orders_and_pending_ones_can_still_be_decided(pg, group):
    mug = await add(pg, group, "Mug | 10")
    await fund(pg, group.chat, group.alice, 100)
    await buy(pg, group, group.alice, mug)
    await say(pg, group.admin, f"/delitem {mug}", group.chat)
    assert await say(pg, group.admin, f"/delitem {mug}", group.chat) == f"Item #{mug} is already off the shelf."
    assert await say(pg, group.admin, "/delitem", group.chat) == "Usage: /delitem ID"
    assert await say(pg, group.alice, "/shop", group.chat) == "The shop is empty for now. Admins add items with /additem."
    [(order_id, *_)] = await orders(pg, group.chat)
    assert (await say(pg, group.admin, f"/reject {order_id}", group.chat)).startswith(f"Order #{order_id} (Mug for Alice) is rejected")
    assert await balance(pg, group.chat, group.alice) == 100


async def test_help_shows_shop_commands_by_role(pg, group):
    member_help = await help_of(pg, group.alice, group.chat)
    admin_help = await help_of(pg, group.admin, group.chat)  # may come in several messages
    assert "/shop — The points shop: what you can buy here" in member_help
    assert "/orders — Your shop orders; admins: /orders pending" in member_help
    assert "/additem" not in member_help and "/fulfil" not in member_help
    for name in ("additem", "edititem", "delitem", "addcodes", "fulfil", "reject"):
        assert f"/{name} — " in admin_help


def test_callback_data_is_parsed_strictly():
    from handlers.shop import cb_buy, cb_cancel, cb_confirm, parse_callback

    assert parse_callback(cb_buy(7)) == ("buy", 7)
    assert parse_callback(cb_confirm(7, 42, 100, "abcd1234")) == ("ok", 7, 42, 100, "abcd1234")
    assert parse_callback(cb_cancel(7, 42, "abcd1234")) == ("no", 7, 42, "abcd1234")
    longest = cb_confirm(10**18, 2**52, 1_000_000, "A" * 8)
    assert len(longest.encode()) <= 64
    for bad in (None, "", "shop", "shop:buy", "shop:buy:x", "shop:buy:7:8", "shop:ok:7:42:100", "shop:ok:7:42:100:a:b",
                "shop:ok:7:42:-1:abcd1234", "shop:ok:7:42:100:ab", "shop:no:7:x:abcd1234", "season:ok:1", "shop:zap:1",
                "shop:buy:²"):
        assert parse_callback(bad) is None, bad


async def test_an_anonymous_admin_sees_the_queue_and_can_decide(pg, group):
    mug = await add(pg, group, "Mug | 10")
    await fund(pg, group.chat, group.alice, 100)
    await buy(pg, group, group.alice, mug)
    [(order_id, *_)] = await orders(pg, group.chat)
    pg.sim.promote(group.chat, group.bob, by=group.owner, is_anonymous=True)
    pg.sim.send(group.bob, "/orders", group.chat, as_chat=True)
    await pg.settle()
    assert last(pg, group.chat)["text"].startswith("Pending orders (1), oldest first")
    pg.sim.send(group.bob, f"/fulfil {order_id}", group.chat, as_chat=True)
    await pg.settle()
    assert last(pg, group.chat)["text"].startswith(f"Order #{order_id} (Mug for Alice) is fulfilled.")


# --- make-up cards (补签卡) --------------------------------------------------------------------------------


async def test_a_makeup_card_is_delivered_at_once_and_spent_by_makeup_instead_of_points(pg, group):
    card = await add(pg, group, "Make-up card | 20 | makeup card | Repairs one missed day")
    alice = group.alice
    await say(pg, alice, "/checkin", group.chat)          # day 1
    pg.clock.advance(days=2)                              # day 2 missed
    await say(pg, alice, "/checkin", group.chat)          # day 3: streak back to 1
    await fund(pg, group.chat, alice, points=100)
    answer = await buy(pg, group, alice, card)
    assert answer["text"].startswith("Bought!")
    assert last(pg, group.chat)["text"].startswith("🎟 Alice bought a make-up card")
    assert (await orders(pg, group.chat))[-1][-1] == "fulfilled"   # nothing for an admin to deliver
    before = await balance(pg, group.chat, alice)

    text = await say(pg, alice, "/makeup", group.chat)
    assert text.startswith("🩹 Made up 2026-03-03 with a make-up card. Streak: 3.")
    assert await balance(pg, group.chat, alice) == before + 5      # no charge; the 3-day milestone still pays
    used = await pg.services.db.fetchval("SELECT COUNT(*) FROM makeup_card_uses WHERE user_id = ?", (alice.id,))
    assert used == 1

    # The card is spent: the next make-up costs points again.
    pg.clock.advance(days=2)
    await say(pg, alice, "/checkin", group.chat)
    paid_before = await balance(pg, group.chat, alice)
    text = await say(pg, alice, "/makeup", group.chat)
    assert "for 30 points" in text
    assert await balance(pg, group.chat, alice) == paid_before - 30   # the joined run is 5 days: no new milestone
    assert await pg.services.points.ledger.mismatches() == []
