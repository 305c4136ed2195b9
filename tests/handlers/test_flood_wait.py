"""A flood wait (429 "retry after N") on one chat's answer is waited out without one of the update processor's
sixteen places: other chats are answered meanwhile, and the waiting chat's answers still go out once each, in order."""
from __future__ import annotations

import asyncio

import pytest
from telegram import Update

from bot.app import ALLOWED_UPDATES
from bot.processor import ChatUpdateProcessor

WAIT = 3  # seconds Telegram asks for: long against answering a command, short for a test


async def until(predicate, what: str, timeout: float = 15.0):
    for _ in range(int(timeout / 0.01)):
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")


async def feed(pg) -> None:
    """What Telegram has for the bot, into the Application's queue: handled by the per-chat processor, as polling does."""
    for data in pg.sim.take_updates(ALLOWED_UPDATES):
        await pg.app.update_queue.put(Update.de_json(data, pg.app.bot))


def answers(pg, chat, message: dict) -> list[dict]:
    return [m for m in pg.sim.replies(chat) if m.get("reply_to_message", {}).get("message_id") == message["message_id"]]


async def test_chats_waiting_out_a_flood_wait_do_not_hold_up_another_chat(pg):
    places = pg.app.update_processor
    assert isinstance(places, ChatUpdateProcessor)
    owner = pg.sim.user("founder")
    chats = []
    for i in range(places.concurrent_chats + 1):
        chat = pg.sim.create_group(f"Club {i}", owner=owner)
        pg.sim.add_bot(chat, by=owner)
        chats.append(chat)
    await pg.settle()  # greeted
    waiting, quiet = chats[:-1], chats[-1]
    # Every place's chat meets Telegram's flood wait on its answer; the first chat has a second command behind it.
    pg.sim.flood("sendMessage", retry_after=WAIT, times=len(waiting))
    first = [pg.sim.send(owner, "/levels", chat) for chat in waiting]
    second = pg.sim.send(owner, "/earn", waiting[0])
    await feed(pg)
    await until(lambda: len([c for c in pg.sim.calls("sendMessage") if c.error_code == 429]) == len(waiting), "the 429s")

    asked = pg.sim.send(owner, "/levels", quiet)
    await feed(pg)
    await until(lambda: answers(pg, quiet, asked), "the quiet group's answer")
    # Answered while every other chat still waits out its flood wait: none of theirs has gone out yet.
    assert [answers(pg, chat, m) for chat, m in zip(waiting, first)] == [[] for _ in waiting]

    await pg.app.update_queue.join()
    await until(lambda: all(answers(pg, chat, m) for chat, m in zip(waiting, first)) and answers(pg, waiting[0], second),
                "the answers after the wait")
    # Each answered once (the wait is not a reason to send twice), and the first chat's two answers in order.
    assert [len(answers(pg, chat, m)) for chat, m in zip(waiting, first)] == [1] * len(waiting)
    assert len(answers(pg, waiting[0], second)) == 1
    assert answers(pg, waiting[0], first[0])[0]["message_id"] < answers(pg, waiting[0], second)[0]["message_id"]


async def test_chats_whose_mute_meets_a_flood_wait_do_not_hold_up_another_chat(pg):
    # The moderation calls wait out a short flood wait (≤ 10 s) themselves: also without holding a place.
    places = pg.app.update_processor
    owner, bob = pg.sim.user("founder"), pg.sim.user("bob")
    chats = []
    for i in range(places.concurrent_chats + 1):
        chat = pg.sim.create_group(f"Club {i}", owner=owner)
        pg.sim.add_bot(chat, by=owner)
        pg.sim.join(chat, bob)
        pg.sim.send(bob, "hi", chat)
        chats.append(chat)
    await pg.settle()
    waiting, quiet = chats[:-1], chats[-1]
    for chat in waiting:  # the bot's rights are known in each, so the mute goes straight to Telegram
        pg.sim.send(owner, "/mute @bob 1h", chat)
    await pg.settle()
    pg.clock.advance(minutes=2)
    pg.sim.flood("restrictChatMember", retry_after=WAIT, times=len(waiting))
    mutes = [pg.sim.send(owner, "/mute @bob 2h", chat) for chat in waiting]
    await feed(pg)
    await until(lambda: len([c for c in pg.sim.calls("restrictChatMember") if c.error_code == 429]) == len(waiting), "the 429s")

    asked = pg.sim.send(owner, "/levels", quiet)
    await feed(pg)
    await until(lambda: answers(pg, quiet, asked), "the quiet group's answer")
    assert [answers(pg, chat, m) for chat, m in zip(waiting, mutes)] == [[] for _ in waiting]  # all still waiting

    await pg.app.update_queue.join()
    await until(lambda: all(answers(pg, chat, m) for chat, m in zip(waiting, mutes)), "the mutes after the wait")
    assert all(answers(pg, chat, m)[0]["text"].startswith("Bob is muted until") and "\n" not in answers(pg, chat, m)[0]["text"]
               for chat, m in zip(waiting, mutes))  # each mute made after its wait, no failure said
