"""The per-chat update processor: one chat in order, chats side by side (bounded), a quick stop."""
from __future__ import annotations

import asyncio

from telegram import Update

from bot.processor import ChatUpdateProcessor


def update(update_id: int, chat_id: int) -> Update:
    return Update.de_json({"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "chat": {"id": chat_id, "type": "supergroup", "title": "g"},
        "from": {"id": 5, "is_bot": False, "first_name": "A"}, "text": "hi"}}, None)


async def test_one_chat_in_order_other_chats_meanwhile():
    processor = ChatUpdateProcessor(concurrent_chats=4)
    await processor.initialize()
    finished: list[int] = []
    processor.on_finished = lambda u: finished.append(u.update_id)
    log: list[tuple[str, int]] = []
    release = asyncio.Event()

    async def slow(n: int) -> None:  # the flooded chat's updates wait (a slow command, a rate limit)
        log.append(("start", n))
        await release.wait()
        log.append(("end", n))

    async def quick(n: int) -> None:
        log.append(("quick", n))

    tasks = [asyncio.create_task(processor.process_update(update(n, -1), slow(n))) for n in range(1, 6)]
    tasks.append(asyncio.create_task(processor.process_update(update(99, -2), quick(99))))
    await asyncio.sleep(0.05)
    assert log == [("start", 1), ("quick", 99)]  # the other chat did not wait for the flood
    release.set()
    await asyncio.gather(*tasks)
    assert [e for e in log if e[0] != "quick"] == [(k, n) for n in range(1, 6) for k in ("start", "end")]
    assert sorted(finished) == [1, 2, 3, 4, 5, 99]


async def test_at_most_the_bound_of_chats_run_at_once():
    processor = ChatUpdateProcessor(concurrent_chats=3)
    await processor.initialize()
    running = peak = 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    await asyncio.gather(*(processor.process_update(update(n, -n), work()) for n in range(1, 11)))
    assert peak == 3


async def test_stopping_starts_nothing_new_and_cuts_the_running_short_after_the_grace():
    processor = ChatUpdateProcessor(concurrent_chats=4, stop_grace=0.05)
    await processor.initialize()
    finished: list[int] = []
    processor.on_finished = lambda u: finished.append(u.update_id)
    started: list[int] = []

    async def forever(n: int) -> None:
        started.append(n)
        await asyncio.sleep(3600)

    tasks = [asyncio.create_task(processor.process_update(update(n, -1), forever(n))) for n in range(1, 4)]
    await asyncio.sleep(0.01)
    processor.begin_stop()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=2)
    assert started == [1]
    assert isinstance(results[0], asyncio.CancelledError) and results[1:] == [None, None]
    assert finished == []  # none is marked handled: the inbox gives them to the next start
    assert processor.stop_report() is not None and "2 update(s) not started and 1 cut short" in processor.stop_report()


async def test_without_a_persistence_no_chat_or_user_is_kept_for_one(pg, group):
    """PTB marks each update's chat and user for its persistence; Sticky has none, so nothing would ever clear
    those sets: every member who ever spoke, kept in memory for good."""
    for n in range(3):
        pg.sim.send(group.alice, f"hello {n}", group.chat)
        pg.sim.send(group.bob, f"hi {n}", group.chat)
    await pg.settle()
    assert pg.app.persistence is None
    assert not pg.app._user_ids_to_be_updated_in_persistence and not pg.app._chat_ids_to_be_updated_in_persistence


async def settled(vt, coroutines) -> None:
    """VirtualTime.run, with room for a chat's 46 updates to pass their turns along between two moves of time; an
    update's exception is raised."""
    for outcome in await vt.run(*coroutines, spins=2000):
        if isinstance(outcome, BaseException):
            raise outcome


async def test_a_task_an_update_starts_never_gives_away_the_updates_place():
    """The captcha prompt goes out in a task of its own, which copies the update's context: its flood wait must not
    give back the update's place (the update then ends without giving it back, and the wait takes it for good)."""
    from bot.processor import slot_released

    processor = ChatUpdateProcessor(concurrent_chats=2)
    await processor.initialize()
    children: list[asyncio.Task] = []
    waiting = asyncio.Event()

    async def child() -> None:
        async with slot_released():
            waiting.set()
            await asyncio.sleep(0.01)

    async def handler() -> None:
        children.append(asyncio.create_task(child()))
        await waiting.wait()  # the update ends while its prompt's task waits

    for n in range(3):
        waiting.clear()
        await asyncio.wait_for(processor.process_update(update(n, -n), handler()), timeout=1)  # before: hung here
        await asyncio.gather(*children)
    ran: list[int] = []

    async def record(n: int) -> None:
        ran.append(n)

    await asyncio.wait_for(asyncio.gather(*(processor.process_update(update(10 + n, -10 - n), record(n))
                                            for n in range(2))), timeout=1)
    assert sorted(ran) == [0, 1]


def member_update(update_id: int, chat_id: int, kind: str) -> Update:
    """A join's chat_member update, its "X joined" service message, or a captcha press, in chat `chat_id`."""
    chat = {"id": chat_id, "type": "supergroup", "title": "g"}
    newcomer = {"id": 77, "is_bot": False, "first_name": "N"}
    if kind == "chat_member":
        body = {"chat_member": {"chat": chat, "from": newcomer, "date": 0,
                                "old_chat_member": {"status": "left", "user": newcomer},
                                "new_chat_member": {"status": "member", "user": newcomer}}}
    elif kind == "joined":
        body = {"message": {"message_id": update_id, "date": 0, "chat": chat, "from": newcomer,
                            "new_chat_members": [newcomer]}}
    else:
        body = {"callback_query": {"id": str(update_id), "from": newcomer, "chat_instance": "1", "data": kind,
                                   "message": {"message_id": 1, "date": 0, "chat": chat, "text": "?"}}}
    return Update.de_json({"update_id": update_id, **body}, None)


async def test_a_join_is_handled_at_once_behind_a_flood_of_the_chats_messages():
    """Who comes in (a join, its service message, a captcha press) never waits for the chat's messages: forty-five
    answers waiting for the group's flood window held a newcomer's restriction up for two minutes."""
    processor = ChatUpdateProcessor(concurrent_chats=4, door_presses=("cap:",))
    await processor.initialize()
    log: list[tuple[str, int]] = []
    window = asyncio.Event()

    async def answer(n: int) -> None:  # a /checkin whose answer waits for the group's window
        log.append(("start", n))
        await window.wait()
        log.append(("end", n))

    async def door(n: int) -> None:
        log.append(("door", n))

    tasks = [asyncio.create_task(processor.process_update(update(n, -1), answer(n))) for n in range(1, 46)]
    tasks += [asyncio.create_task(processor.process_update(member_update(n, -1, kind), door(n)))
              for n, kind in ((46, "chat_member"), (47, "joined"), (48, "cap:3:1"))]
    other_press = asyncio.create_task(processor.process_update(member_update(49, -1, "shop:buy:1"), answer(49)))
    await asyncio.sleep(0.05)
    assert log == [("start", 1), ("door", 46), ("door", 47), ("door", 48)]  # before: the door waited for all 45
    window.set()
    await asyncio.gather(*tasks, other_press)
    assert [n for kind, n in log if kind == "start"] == list(range(1, 46)) + [49]  # the messages kept their order


async def test_a_message_waits_for_the_joins_that_came_before_it():
    """A newcomer's first message is judged after their join (the screening it opens deletes what they got in)."""
    processor = ChatUpdateProcessor(concurrent_chats=4)
    await processor.initialize()
    log: list[str] = []
    lookup = asyncio.Event()

    async def join() -> None:
        log.append("join begins")
        await lookup.wait()  # getChatMember, restrictChatMember
        log.append("join ends")

    async def message() -> None:
        log.append("message")

    joining = asyncio.create_task(processor.process_update(member_update(1, -1, "chat_member"), join()))
    writing = asyncio.create_task(processor.process_update(update(2, -1), message()))
    elsewhere = asyncio.create_task(processor.process_update(update(3, -2), message()))
    await asyncio.sleep(0.05)
    assert log == ["join begins", "message"]  # only the other chat's message ran
    lookup.set()
    await asyncio.gather(joining, writing, elsewhere)
    assert log == ["join begins", "message", "join ends", "message"]


async def test_chats_waiting_for_one_chats_send_turn_never_take_every_place():
    """Every place held by an update waiting for one chat's send turn (a log channel all groups write to, under its
    window) left none for the turn's holder to come back to after its own wait: every chat stopped for good."""
    from bot.ratelimit import FloodLimiter
    from tests.test_ratelimit import VirtualTime

    vt = VirtualTime()
    processor = ChatUpdateProcessor(concurrent_chats=2)
    await processor.initialize()
    limiter = FloodLimiter(now=vt.now, sleep=vt.sleep, group_max=1, group_period=10.0)
    sent: list[int] = []

    async def log_to_channel(n: int) -> None:
        async def callback():
            sent.append(n)
            return {"ok": True}

        await limiter.process_request(callback, (), {}, "sendMessage", {"chat_id": -900}, None)

    await settled(vt, [processor.process_update(update(n, -n), log_to_channel(n)) for n in range(1, 6)])
    assert sorted(sent) == [1, 2, 3, 4, 5] and vt.t == 40.0


def command_update(update_id: int, chat_id: int, text: str) -> Update:
    return Update.de_json({"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "chat": {"id": chat_id, "type": "supergroup", "title": "g"},
        "from": {"id": 5, "is_bot": False, "first_name": "A"}, "text": text}}, None)


def test_the_commands_that_decide_the_door_go_through_it():
    """/set screening on (and the captcha's, the welcome's settings) decides how the next join is met: it goes through
    the door lane, so a join after it is met as it says; /set of anything else, and messages, do not."""
    from bot.processor import at_the_door
    from handlers.funnel import decides_the_door

    door = [at_the_door(command_update(1, -1, text), ("cap:",), decides_the_door) for text in (
        "/set screening on", "/set@StickyBot Captcha_Mode math", "/setcaptcha button", "/set greet off",
        "/set welcome Hi {name}", "/set chat_xp 3", "/settings", "/checkin", "set screening on", "/set")]
    assert door == [True, True, True, True, True, False, False, False, False, False]


async def cross_posting(x: int, y: int, fill: list) -> None:
    """Four updates of two flooded chats, each sending to the other chat too (two groups; a group and a connected
    owner's private chat): the deadlock of a turn handoff (test_zz_r9c, 508d7b4) must not come back."""
    from bot.ratelimit import FloodLimiter
    from tests.test_ratelimit import VirtualTime

    vt = VirtualTime()
    limiter = FloodLimiter(now=vt.now, sleep=vt.sleep)
    sent: list[int] = []

    async def send(chat: int, n: int) -> None:
        async def callback():
            sent.append(n)
            return {"ok": True}

        await limiter.process_request(callback, (), {}, "sendMessage", {"chat_id": chat}, None)

    for step in fill:
        if step is None:
            vt.t += 1.0
        else:
            await send(*step)
    del sent[:]
    processor = ChatUpdateProcessor(concurrent_chats=16)
    await processor.initialize()

    async def steps(n: int, *chats: int) -> None:
        for chat in chats:
            await send(chat, n)

    await asyncio.wait_for(settled(vt, [processor.process_update(update(1, x), steps(1, x)),
                                        processor.process_update(update(2, y), steps(2, y)),
                                        processor.process_update(update(3, x), steps(3, y)),
                                        processor.process_update(update(4, y), steps(4, x))]), timeout=20)
    assert sorted(sent) == [1, 2, 3, 4]


async def test_two_flooded_groups_posting_to_each_other_both_go_on():
    await cross_posting(-100, -200, [(-100, 1000 + i) for i in range(20)] + [None] + [(-200, 2000 + i) for i in range(20)])


async def test_a_flooded_group_and_a_private_chat_posting_to_each_other_both_go_on():
    await cross_posting(-100, 777, [(-100, 1000 + i) for i in range(20)] + [None] + [(-5000 - i, i) for i in range(30)])


async def test_any_mix_of_lanes_places_and_send_turns_settles():
    """Random chats, door and talk updates, each sending to its group, a shared log channel or private chats (some
    AHEAD, some from a task it starts), random 429s, few places: every send is made, nothing waits for good."""
    import random

    from telegram.error import RetryAfter

    from bot.ratelimit import AHEAD, FloodLimiter
    from tests.test_ratelimit import VirtualTime

    for seed in range(40):
        rnd = random.Random(seed)
        vt = VirtualTime()
        limiter = FloodLimiter(now=vt.now, sleep=vt.sleep, group_max=rnd.choice([1, 2, 20]),
                               group_period=rnd.choice([5.0, 60.0]), overall_max=rnd.choice([3, 30]))
        processor = ChatUpdateProcessor(concurrent_chats=rnd.choice([1, 2, 3, 16]), door_presses=("cap:",))
        await processor.initialize()
        groups = [-(i + 1) for i in range(rnd.randint(1, 6))]
        targets = [*groups, -900, 501, 502]
        sent: list[int] = []
        children: list[asyncio.Task] = []

        async def send(chat: int, n: int, ahead: bool, failing: bool) -> None:
            async def callback():
                sent.append(n)
                if failing and rnd.random() < 0.1:
                    raise RetryAfter(rnd.choice([1, 5, 30]))
                return {"ok": True}

            try:
                await limiter.process_request(callback, (), {}, "sendMessage", {"chat_id": chat}, AHEAD if ahead else None)
            except RetryAfter:
                pass

        def body(n: int, plan: list, child: list, failing: bool):
            async def run() -> None:
                if child:
                    async def task() -> None:
                        for chat, ahead in child:
                            await send(chat, n, ahead, failing)
                    children.append(asyncio.ensure_future(task()))
                for chat, ahead in plan:
                    await send(chat, n, ahead, failing)
            return run()

        updates, expected = [], 0
        for n in range(rnd.randint(20, 80)):
            g = rnd.choice(groups)
            kind = rnd.choice(["msg", "msg", "msg", "chat_member", "joined", "cap:1:1"])
            plan = [(rnd.choice([g, g, *targets]), rnd.random() < 0.2) for _ in range(rnd.randint(0, 3))]
            child = [(rnd.choice([g, *targets]), True) for _ in range(rnd.randint(0, 1))]
            expected += len(plan) + len(child)
            u = update(n, g) if kind == "msg" else member_update(n, g, kind)
            updates.append(processor.process_update(u, body(n, plan, child, seed % 2 == 1)))

        async def everything() -> None:
            await asyncio.gather(*updates)
            while not all(c.done() for c in children):
                await asyncio.gather(*children)

        await asyncio.wait_for(settled(vt, [everything()]), timeout=30)
        assert len(sent) == expected, seed
