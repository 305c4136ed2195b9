"""Chat-XP cooldowns survive a restart and a kill: the time of a member's last award is written with the XP itself
(wallets.chat_xp_at, by the same upsert) and the cooldowns still in force are loaded at start. A message inside the
cooldown after a restart earns nothing, one after it earns; messages cut off by a kill before the flush are handled
again and earn exactly what they earned before; and the in-memory cooldowns forget members whose cooldown ran out."""
from __future__ import annotations

from tests.handlers.test_inbox import counted, crash, flush


def cooldown(pg) -> int:
    return pg.config.points.chat_xp.cooldown_seconds


def per_message(pg) -> int:
    return pg.config.points.chat_xp.xp_per_message


async def chat(pg, user, chat, text: str = "a message worth some XP") -> None:
    pg.sim.send(user, text, chat)
    await pg.settle()


async def xp_of(pg, g, user) -> int:
    return (await counted(pg, g.chat, user))[1]


async def earned_then(pg, g, stop) -> int:
    """Alice earns chat XP (written by a flush), then the bot stops (`stop`) and starts again 10 s later. Returns
    her chat XP after the first message."""
    await flush(pg)
    pg.clock.advance(seconds=cooldown(pg) + 1)  # past any cooldown the group's setup started
    before = await xp_of(pg, g, g.alice)
    await chat(pg, g.alice, g.chat)
    await flush(pg)
    assert await xp_of(pg, g, g.alice) == before + per_message(pg)
    await stop(pg)
    pg.clock.advance(seconds=10)
    return before + per_message(pg)


async def restart(pg) -> None:
    await pg.restart()


async def test_after_a_restart_a_message_inside_the_cooldown_earns_nothing_and_one_after_it_earns(pg, group):
    g = group
    xp = await earned_then(pg, g, restart)
    await chat(pg, g.alice, g.chat, "still inside my cooldown")
    await flush(pg)
    assert await xp_of(pg, g, g.alice) == xp  # before migration 29 the restart forgot the cooldown: +xp here
    pg.clock.advance(seconds=cooldown(pg))
    await chat(pg, g.alice, g.chat, "now the cooldown is over")
    await flush(pg)
    assert await xp_of(pg, g, g.alice) == xp + per_message(pg)


async def test_after_a_kill_a_message_inside_the_cooldown_earns_nothing_and_one_after_it_earns(pg, group):
    g = group
    xp = await earned_then(pg, g, crash)  # a new Application on the same database, no clean shutdown
    await chat(pg, g.alice, g.chat, "still inside my cooldown")
    await flush(pg)
    assert await xp_of(pg, g, g.alice) == xp
    pg.clock.advance(seconds=cooldown(pg))
    await chat(pg, g.alice, g.chat, "now the cooldown is over")
    await flush(pg)
    assert await xp_of(pg, g, g.alice) == xp + per_message(pg)


async def test_messages_cut_off_by_a_kill_before_the_flush_earn_exactly_once_each(pg, group):
    """Several members, some messages inside a cooldown, a kill before any flush wrote them: the restart handles
    them again from the inbox, and each member ends with one award per message that earned one — none lost, none
    twice — and the cooldowns they started hold after the restart."""
    g = group
    await flush(pg)
    pg.clock.advance(seconds=cooldown(pg) + 1)
    before = {u.id: await xp_of(pg, g, u) for u in (g.alice, g.bob, g.carol)}
    await chat(pg, g.alice, g.chat, "first")  # earns
    await chat(pg, g.bob, g.chat, "first")  # earns
    pg.clock.advance(seconds=5)
    await chat(pg, g.alice, g.chat, "inside the cooldown")  # earns nothing
    pg.clock.advance(seconds=cooldown(pg))
    await chat(pg, g.alice, g.chat, "after it")  # earns
    await chat(pg, g.carol, g.chat, "first")  # earns
    owed = {g.alice.id: 2, g.bob.id: 1, g.carol.id: 1}
    await crash(pg)  # the flush never ran: nothing of this was written
    assert {u: await xp_of(pg, g, u_) for u, u_ in ((g.alice.id, g.alice), (g.bob.id, g.bob), (g.carol.id, g.carol))} == before
    await pg.settle()  # handled again from the inbox, in order, by their own dates
    await flush(pg)
    after = {u.id: await xp_of(pg, g, u) for u in (g.alice, g.bob, g.carol)}
    assert after == {u: before[u] + owed[u] * per_message(pg) for u in before}
    await crash(pg)  # and once more: the cooldowns started by the replayed messages were written with their XP
    pg.clock.advance(seconds=5)
    await chat(pg, g.carol, g.chat, "inside carol's cooldown")
    await flush(pg)
    assert await xp_of(pg, g, g.carol) == after[g.carol.id]


async def test_cooldowns_that_ran_out_are_forgotten_and_not_loaded_at_start(pg, group):
    g = group
    points = pg.services.points
    await flush(pg)
    pg.clock.advance(seconds=cooldown(pg) + 1)
    await chat(pg, g.alice, g.chat)
    await chat(pg, g.bob, g.chat)
    await flush(pg)
    assert {(g.chat.id, g.alice.id), (g.chat.id, g.bob.id)} <= points.cooling_down()
    pg.clock.advance(seconds=cooldown(pg) + 1)
    await flush(pg)
    assert points.cooling_down() == set()  # every cooldown ran out: nothing kept for anyone
    await chat(pg, g.alice, g.chat)
    await flush(pg)
    await crash(pg)
    assert pg.services.points.cooling_down() == {(g.chat.id, g.alice.id)}  # bob's ran out: not loaded
    await pg.restart()
    assert pg.services.points.cooling_down() == {(g.chat.id, g.alice.id)}
    pg.clock.advance(seconds=cooldown(pg) + 1)
    await pg.restart()
    assert pg.services.points.cooling_down() == set()
