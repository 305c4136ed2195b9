"""Channels as a bot meets them: added as an administrator, posts as channel_post updates signed by the channel,
posting only with the right to, getChat on a channel, and its posts forwarded into groups with a channel origin."""
from __future__ import annotations

import pytest

from bot.sim import FakeTelegram, SimError
from bot.sim.spec import load_spec

from .conftest import ok, refused

SPEC = load_spec()


def test_a_channel_with_the_bot_as_admin(sim: FakeTelegram, alice, bob) -> None:
    channel = sim.create_channel("Tea News", owner=alice, username="teanews")
    sim.add_bot_to_channel(channel, by=alice)
    [added] = sim.take_updates()
    assert added["my_chat_member"]["new_chat_member"]["status"] == "administrator"
    assert added["my_chat_member"]["new_chat_member"]["can_post_messages"] is True
    assert SPEC.check("Update", added) == []
    post = sim.post(alice, "/setlog", channel)
    assert "from" not in post and post["sender_chat"]["type"] == "channel"
    [update] = sim.take_updates()
    assert update["channel_post"]["text"] == "/setlog" and SPEC.check("Update", update) == []
    sent = ok(sim, "sendMessage", chat_id="@teanews", text="hello subscribers")
    assert sent["chat"]["type"] == "channel" and SPEC.check("Message", sent) == []
    info = ok(sim, "getChat", chat_id=channel.id)
    assert info["type"] == "channel" and SPEC.check("ChatFullInfo", info) == []
    with pytest.raises(SimError, match="not in Tea News"):
        sim.post(bob, "hi", channel)
    sim.subscribe(bob, channel)
    with pytest.raises(SimError, match="only its administrators"):
        sim.post(bob, "hi", channel)


def test_the_bot_posts_only_with_the_right_to(sim, alice) -> None:
    channel = sim.create_channel("Quiet", owner=alice)
    assert refused(sim, "sendMessage", chat_id=channel.id, text="x") == (403, "Forbidden: bot is not a member of the channel chat")
    sim.add_bot_to_channel(channel, by=alice, can_post_messages=False)
    assert refused(sim, "sendMessage", chat_id=channel.id, text="x") == (400, "Bad Request: need administrator rights in the channel chat")
    sim.remove_bot_from_channel(channel, by=alice)
    assert refused(sim, "sendMessage", chat_id=channel.id, text="x") == (403, "Forbidden: bot was kicked from the channel chat")


def test_a_channel_post_forwarded_into_a_group(sim, group, alice, bob) -> None:
    channel = sim.create_channel("Tea News", owner=alice)
    post = sim.post(alice, "news!", channel)
    forwarded = sim.forward(alice, post, group)
    assert forwarded["forward_origin"] == {"type": "channel", "date": post["date"], "chat": post["chat"],
                                           "message_id": post["message_id"]}
    assert SPEC.check("Message", forwarded) == []
    with pytest.raises(SimError):
        sim.forward(bob, post, group)                                   # bob does not follow the channel
    sim.subscribe(bob, channel)
    assert sim.forward(bob, post, group)["forward_origin"]["type"] == "channel"


def test_get_chat_member_in_a_channel_gives_each_persons_status(sim: FakeTelegram, alice, bob, carol) -> None:
    """A bot administering a channel may look up its members, as in a group: the owner is creator, a subscriber a
    member, someone else has left."""
    channel = sim.create_channel("Tea News", owner=alice, username="teanews")
    sim.add_bot_to_channel(channel, by=alice)
    sim.subscribe(bob, channel)
    sim.take_updates()
    owner = ok(sim, "getChatMember", chat_id=channel.id, user_id=alice.id)
    assert owner["status"] == "creator" and SPEC.check("ChatMember", owner) == []
    assert ok(sim, "getChatMember", chat_id="@teanews", user_id=bob.id)["status"] == "member"
    assert ok(sim, "getChatMember", chat_id=channel.id, user_id=carol.id)["status"] == "left"
    me = ok(sim, "getChatMember", chat_id=channel.id, user_id=sim.bot.id)
    assert me["status"] == "administrator" and me["can_post_messages"] is True


def test_a_person_writes_in_a_group_as_their_channel(sim, group, alice, bob) -> None:
    """Telegram's "send as": sender_chat is the channel, and `from` the fake Channel_Bot user (136817688, a bot) that
    the Bot API puts there "for backward compatibility" — never the person, nor GroupAnonymousBot."""
    channel = sim.create_channel("Tea News", owner=bob, username="teanews")
    sim.take_updates()
    message = sim.send(bob, "/checkin", chat=group, as_channel=channel)
    assert message["from"] == {"id": 136817688, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}
    assert message["sender_chat"]["id"] == channel.id and message["sender_chat"]["type"] == "channel"
    [update] = sim.take_updates()
    assert update["message"]["sender_chat"]["title"] == "Tea News" and SPEC.check("Update", update) == []
    with pytest.raises(SimError, match="neither its owner nor an admin who posts there"):
        sim.send(alice, "hi", chat=group, as_channel=channel)             # alice neither owns nor posts in it
    with pytest.raises(SimError, match="only possible in groups"):
        sim.send(bob, "hi", as_channel=channel)
