"""Other bots as group members: added by a person, their messages never delivered to the bot under test (Telegram's
bot-to-bot rule) unless Bot-to-Bot Communication Mode lets a command addressed to it or a reply to it through, and
seen otherwise only inside a person's reply, as reply_to_message."""
from __future__ import annotations

import pytest

from bot.sim import FakeTelegram
from bot.sim.errors import SimError


def messages(sim: FakeTelegram) -> list[dict]:
    return [u["message"] for u in sim.take_updates() if "message" in u]


def test_a_bot_added_by_a_member_is_a_member_and_its_messages_are_not_delivered(sim: FakeTelegram, group, alice, bob):
    spam = sim.user("spambot", first_name="Spam Bot", is_bot=True)
    sim.add_member(group, spam, by=alice)
    assert sim.member(group, spam)["status"] == "member"
    assert sim.member(group, spam)["user"]["is_bot"] is True
    messages(sim)
    sent = sim.send(spam, "cheap pills at spam.example.com", group)
    assert messages(sim) == []  # Telegram does not show a bot another bot's message
    reply = sim.send(bob, "report this", group, reply_to=sent)
    [seen] = messages(sim)
    assert seen["message_id"] == reply["message_id"]
    assert seen["reply_to_message"]["from"]["id"] == spam.id and seen["reply_to_message"]["from"]["is_bot"] is True
    assert seen["reply_to_message"]["text"] == "cheap pills at spam.example.com"


def test_bot_to_bot_mode_lets_through_a_command_addressed_to_it(clock):
    sim = FakeTelegram(clock=clock, bot_to_bot=True)
    owner, alice = sim.user("owner"), sim.user("alice")
    chat = sim.create_group("G", owner)
    sim.add_bot(chat, by=owner, admin=False)
    sim.join(chat, alice)
    other = sim.user("otherbot", is_bot=True)
    sim.add_member(chat, other, by=owner)
    messages(sim)
    sim.send(other, "just chatting", chat)
    assert messages(sim) == []
    sim.send(other, f"/start@{sim.bot.username}", chat)
    assert [m["text"] for m in messages(sim)] == [f"/start@{sim.bot.username}"]


def test_a_bot_cannot_be_added_twice_nor_by_someone_who_may_not_invite(sim: FakeTelegram, group, alice):
    spam = sim.user("spambot", is_bot=True)
    sim.add_member(group, spam, by=alice)
    with pytest.raises(SimError, match="already in"):
        sim.add_member(group, spam, by=alice)
