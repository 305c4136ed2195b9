"""The flood limiter on a virtual clock: Telegram's limits (20 in any 60 s per group, 30 in any second overall) hold
under a burst, a quiet chat's send does not wait for a flooded one, a 429 pauses only its own chat, a stop drops waits."""
from __future__ import annotations

import asyncio
import heapq
import itertools

import pytest
from telegram.error import NetworkError, RetryAfter

from bot.ratelimit import FloodLimiter


class VirtualTime:
    """Time moves only when every task is waiting for it, straight to the next wake-up."""

    def __init__(self) -> None:
        self.t = 0.0
        self._sleepers: list = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self.t

    async def sleep(self, delay: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.t + max(delay, 0.0), next(self._seq), future))
        await future

    async def run(self, *coroutines, spins: int = 50):
        """Run the coroutines to their end; `spins` loop steps between two moves of time (room for tasks to pass
        turns along). Returns each one's result or exception."""
        tasks = [asyncio.ensure_future(c) for c in coroutines]
        while not all(t.done() for t in tasks):
            for _ in range(spins):
                await asyncio.sleep(0)
            if all(t.done() for t in tasks):
                break
            assert self._sleepers, "deadlock: tasks wait for something other than time"
            wake, _, future = heapq.heappop(self._sleepers)
            self.t = max(self.t, wake)
            if not future.done():
                future.set_result(None)
        return [t.result() if not t.exception() else t.exception() for t in tasks]


@pytest.fixture
def vt():
    return VirtualTime()


def limiter(vt) -> tuple[FloodLimiter, list]:
    sent: list[tuple[str, object, float]] = []
    return FloodLimiter(now=vt.now, sleep=vt.sleep), sent


def send(lim: FloodLimiter, sent: list, vt: VirtualTime, chat_id, endpoint: str = "sendMessage", fail=None):
    async def callback():
        if fail is not None and fail():
            raise RetryAfter(5)
        sent.append((endpoint, chat_id, vt.t))
        return {"ok": True}

    return lim.process_request(callback, (), {}, endpoint, {"chat_id": chat_id}, None)


def max_in_window(times: list[float], period: float) -> int:
    times = sorted(times)
    return max((sum(1 for u in times[i:] if u < t + period) for i, t in enumerate(times)), default=0)


async def test_a_burst_keeps_to_20_per_minute_per_group_and_30_per_second_overall(vt):
    lim, sent = limiter(vt)
    groups = [-1001, -1002, -1003]
    work = [send(lim, sent, vt, g) for g in groups for _ in range(45)]
    work += [send(lim, sent, vt, 5000 + i) for i in range(120)]  # private notices
    await vt.run(*work)
    assert len(sent) == 3 * 45 + 120
    for g in groups:
        times = [t for _, c, t in sent if c == g]
        assert max_in_window(times, 60.0) == 20
        assert max(times) >= 120.0  # 45 messages need three windows
    assert max_in_window([t for *_, t in sent], 1.0) == 30
    private = sorted(t for _, c, t in sent if c not in groups)
    assert private[-1] <= 6.0  # private chats are held only by the overall limit


async def test_a_quiet_group_is_not_held_by_a_flooded_one(vt):
    lim, sent = limiter(vt)

    async def later_quiet_send():
        await vt.sleep(10.0)  # ten seconds into the flood
        await send(lim, sent, vt, -2002)

    await vt.run(*[send(lim, sent, vt, -2001) for _ in range(45)], later_quiet_send())
    (quiet,) = [t for _, c, t in sent if c == -2002]
    assert quiet == 10.0


async def test_edits_and_other_calls_are_not_counted_as_messages(vt):
    lim, sent = limiter(vt)
    await vt.run(*[send(lim, sent, vt, -3001, "editMessageText") for _ in range(50)],
                 *[send(lim, sent, vt, -3001, "restrictChatMember") for _ in range(50)])
    assert max(t for *_, t in sent) == 0.0


async def test_a_429_pauses_only_the_chat_it_concerns(vt):
    lim, sent = limiter(vt)
    first = iter([True])
    failing = send(lim, sent, vt, -4001, fail=lambda: next(first, False))
    results = await vt.run(failing)
    assert isinstance(results[0], RetryAfter)

    async def after(delay, chat):
        await vt.sleep(delay)
        await send(lim, sent, vt, chat)

    await vt.run(after(1.0, -4001), after(1.0, -4002))
    times = {c: t for _, c, t in sent}
    assert times[-4002] == 1.0  # another group: at once
    assert times[-4001] == 5.0  # the paused group: when Telegram said


async def test_at_stop_a_send_that_would_wait_is_dropped_not_waited_for(vt):
    lim, sent = limiter(vt)
    await vt.run(*[send(lim, sent, vt, -5001) for _ in range(20)])
    lim.begin_stop()
    (result,) = await vt.run(send(lim, sent, vt, -5001))
    assert isinstance(result, NetworkError) and "dropped at stop" in str(result)
    (ok,) = await vt.run(send(lim, sent, vt, -5002))  # one that need not wait still goes out
    assert ok == {"ok": True}


async def test_a_send_marked_ahead_goes_before_the_chats_waiting_sends(vt):
    """A captcha prompt behind a flood of 45 answers went out only after them (75 s, of the newcomer's 120 s to
    answer): marked AHEAD, it takes the window's next free place; the others keep their order, and the limit holds."""
    from bot.ratelimit import AHEAD

    lim, sent = limiter(vt)

    def numbered(n: int, marked: str | None = None):
        async def callback():
            sent.append(("sendMessage", n, vt.t))
            return {"ok": True}

        return lim.process_request(callback, (), {}, "sendMessage", {"chat_id": -6001}, marked)

    async def prompt_later() -> None:
        await vt.sleep(10.0)
        await numbered(99, AHEAD)

    await vt.run(*[numbered(n) for n in range(45)], prompt_later())
    order = [n for _, n, _ in sent]
    assert order.index(99) == 21  # after the twenty that fit at once and the one already holding the turn
    assert [n for n in order if n != 99] == list(range(45))
    assert dict((n, t) for _, n, t in sent)[99] == 60.0
    assert max_in_window([t for *_, t in sent], 60.0) == 20


async def test_a_waiter_cancelled_as_the_turn_passes_over_it_comes_out_cancelled():
    """A stop cancels a waiter for a chat's send turn and, in the same step, the holder lets the turn go (passing
    over the cancelled waiter): the waiter's own clean-up raised ValueError, which PTB took for a handler's error
    (a traceback, the update's later handlers run, and the update marked handled instead of cut short)."""
    from bot.ratelimit import _Turn

    turn = _Turn()
    await turn.acquire()
    waiter = asyncio.ensure_future(turn.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    turn.release()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert not turn.locked()


@pytest.mark.parametrize("reverse", [False, True])
async def test_a_stop_cuts_short_two_updates_sharing_a_send_turn_cleanly(reverse):
    from bot.processor import ChatUpdateProcessor
    from tests.test_processor import update

    processor = ChatUpdateProcessor(concurrent_chats=4, stop_grace=0.05)
    await processor.initialize()
    lim = FloodLimiter(group_max=1, group_period=3600.0)

    async def callback():
        return {"ok": True}

    await lim.process_request(callback, (), {}, "sendMessage", {"chat_id": -900}, None)  # the window is full for an hour

    async def log_to_channel():
        await lim.process_request(callback, (), {}, "sendMessage", {"chat_id": -900}, None)

    tasks = [asyncio.create_task(processor.process_update(update(n, -n), log_to_channel())) for n in (1, 2)]
    await asyncio.sleep(0.01)
    if reverse:  # both orders the processor may cancel them in
        processor._running = set(reversed(list(processor._running)))
    processor.begin_stop()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results), results
    assert processor.cut_short == 2


async def test_a_send_already_waiting_for_its_window_is_dropped_at_stop_at_once():
    """A captcha prompt's task asleep in a full window kept a stop waiting (57 s in a raid: PTB waits for the tasks
    it started): begin_stop wakes every waiting send, which is dropped as one starting after the stop would be."""
    lim = FloodLimiter(group_max=1, group_period=3600.0)

    async def callback():
        return {"ok": True}

    await lim.process_request(callback, (), {}, "sendMessage", {"chat_id": -7001}, None)  # the window is full for an hour
    waiting = [asyncio.ensure_future(lim.process_request(callback, (), {}, "sendMessage", {"chat_id": -7001}, None))
               for _ in range(3)]
    await asyncio.sleep(0.05)
    assert not any(w.done() for w in waiting)
    lim.begin_stop()
    results = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), timeout=1.0)
    assert all(isinstance(r, NetworkError) and "dropped at stop" in str(r) for r in results), results
