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
    """VirtualTime.run, with room for a chat's 46 updates to pass their turns along between two moves of time."""
    import heapq

    tasks = [asyncio.ensure_future(c) for c in coroutines]
    while not all(t.done() for t in tasks):
        for _ in range(2000):
            await asyncio.sleep(0)
        if all(t.done() for t in tasks):
            break
        assert vt._sleepers, "deadlock: tasks wait for something other than time"
        wake, _, future = heapq.heappop(vt._sleepers)
        vt.t = max(vt.t, wake)
        if not future.done():
            future.set_result(None)
    for t in tasks:
        t.result()


async def test_a_join_behind_a_flood_of_answers_is_handled_before_their_turn_in_the_groups_window():
    """45 /checkin in one group, each answered, then a join: the join's restriction (no message, no flood limit) is
    made at once, not after the answers' turn in the group's 20-a-minute window; the answers keep the order of the
    check-ins, and no two updates of the chat ever do their work at the same time."""
    from bot.ratelimit import FloodLimiter
    from tests.test_ratelimit import VirtualTime

    vt = VirtualTime()
    limiter = FloodLimiter(now=vt.now, sleep=vt.sleep)
    processor = ChatUpdateProcessor(concurrent_chats=4)
    await processor.initialize()
    sent: list[tuple[str, int, float]] = []
    working = 0

    async def work() -> None:  # the handler's own steps (database…): one update of the chat at a time
        nonlocal working
        working += 1
        assert working == 1, "two updates of one chat worked at once"
        await asyncio.sleep(0)
        working -= 1

    def call(endpoint: str, n: int):
        async def callback():
            sent.append((endpoint, n, vt.now()))
            return {"ok": True}
        return limiter.process_request(callback, (), {}, endpoint, {"chat_id": -1}, None)

    async def checkin(n: int) -> None:
        await work()
        await call("sendMessage", n)  # the answer, which waits for the group's window
        await work()  # what the handler does after its answer

    async def join(n: int) -> None:
        await work()
        await call("restrictChatMember", n)

    updates = [processor.process_update(update(n, -1), checkin(n)) for n in range(1, 46)]
    updates.append(processor.process_update(update(99, -1), join(99)))
    await settled(vt, updates)
    [(_, _, restricted_at)] = [s for s in sent if s[0] == "restrictChatMember"]
    assert restricted_at < 1.0  # before: 120 s, after the 25 answers past the window's first 20
    answers = [s for s in sent if s[0] == "sendMessage"]
    assert [n for _, n, _ in answers] == list(range(1, 46))
    assert answers[-1][2] >= 120.0  # the answers themselves keep to 20 a minute


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


# --- the send turn never deadlocks (issue 9, review of the send-turn handoff) ------------------------------------

def _limited(vt):
    from bot.ratelimit import FloodLimiter

    limiter, sent = FloodLimiter(now=vt.now, sleep=vt.sleep), []

    def call(endpoint, chat, n):
        async def callback():
            sent.append((endpoint, chat, n))
            return {"ok": True}
        return limiter.process_request(callback, (), {}, endpoint, {"chat_id": chat}, None)
    return call, sent


async def test_a_wait_to_send_to_another_chat_keeps_the_work_turn_so_a_group_never_goes_silent():
    """A /warn answered in the group, then logged to a log channel whose window is full; the group's next update (a
    rule's deletion) logs to the same channel first. The first gave the group's work turn away while it waited for
    the channel; the second took it and queued for the channel behind the first, which needed the work turn back:
    neither moved, and nothing reached the channel again. The same with a private chat and the 30-a-second window
    (/fb accept tells its author privately, /fulfil sends the code privately first). Both finish, in order."""
    from tests.test_ratelimit import VirtualTime

    G, L, P = -100, -200, 777
    for fill, first, second in [
        ([("sendMessage", L, 1000 + i) for i in range(20)],  # the log channel's 20 a minute
         [("sendMessage", G), ("sendMessage", L)], [("deleteMessage", G), ("sendMessage", L)]),
        ([("sendMessage", -5000 - i, i) for i in range(29)],  # 29 of the bot's 30 a second
         [("sendMessage", G), ("sendMessage", P)], [("sendMessage", P), ("sendMessage", G)]),
    ]:
        vt = VirtualTime()
        call, sent = _limited(vt)
        processor = ChatUpdateProcessor(concurrent_chats=4)
        await processor.initialize()
        for endpoint, chat, n in fill:
            await call(endpoint, chat, n)
        del sent[:]

        def handler(steps, n):
            async def run():
                for endpoint, chat in steps:
                    await call(endpoint, chat, n)
            return run()

        ups = [processor.process_update(update(1, G), handler(first, 1)),
               processor.process_update(update(2, G), handler(second, 2)),
               processor.process_update(update(3, G), handler(first, 3))]
        await asyncio.wait_for(settled(vt, ups), timeout=20)  # a deadlock never settles
        assert sorted(n for _, _, n in sent) == [1, 1, 2, 2, 3, 3]
        assert [n for _, chat, n in sent if chat == G] == [1, 2, 3]  # the group's own messages in order


async def test_a_send_right_after_the_send_turn_is_handed_on_waits_its_place_without_a_deadlock():
    """Just after the update holding the group's send turn ends and hands it to a waiting update, the lock looks
    free until that one resumes; the group's next update, sending at once, kept its work turn while it queued for
    the send turn, and the waiter, needing the work turn back, never resumed. It queues as for a held lock now."""
    from tests.test_ratelimit import VirtualTime

    G = -100
    vt = VirtualTime()
    call, sent = _limited(vt)
    processor = ChatUpdateProcessor(concurrent_chats=4)
    await processor.initialize()
    for i in range(19):
        await call("sendMessage", G, 1000 + i)  # the group's window: 19 of 20

    async def u1():
        await call("sendMessage", G, 1)  # the 20th goes at once
        await call("sendMessage", G, 1)  # waits ~60 s for the window, the work turn handed on
        await vt.sleep(20)  # its database work after its answers

    async def u2():
        await call("sendMessage", G, 2)  # waits for u1's send turn

    async def u4():
        await call("sendMessage", G, 4)  # an answer at once

    async def late():
        await vt.sleep(70)
        await processor.process_update(update(4, G), u4())

    ups = [processor.process_update(update(1, G), u1()), processor.process_update(update(2, G), u2()), late()]
    await asyncio.wait_for(settled(vt, ups), timeout=20)
    assert [n for _, _, n in sent if n < 1000] == [1, 1, 2, 4]
