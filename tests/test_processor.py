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
