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


def test_a_post_in_a_linked_channel_is_forwarded_automatically_to_its_discussion_group(sim, group, alice, bob) -> None:
    """A channel's discussion group gets each new post at once, as the Bot API shapes it: `from` the service account
    Telegram (777000), sender_chat the channel ("a linked channel for messages automatically forwarded to the
    channel's discussion group"), is_automatic_forward, and the post as its channel origin. Both chats name each other
    in getChat (linked_chat_id); only someone who may change the info of both links them, and only a supergroup."""
    channel = sim.create_channel("Tea News", owner=alice)
    with pytest.raises(SimError, match="bob is not in Tea News"):
        sim.link_discussion(channel, group, by=bob)
    sim.subscribe(bob, channel)
    with pytest.raises(SimError, match="may not change the info of Tea News"):
        sim.link_discussion(channel, group, by=bob)                    # a subscriber, and a member of Club
    basic = sim.create_group("Old Club", owner=alice, supergroup=False)
    with pytest.raises(SimError, match="only a supergroup"):
        sim.link_discussion(channel, basic, by=alice)
    alone = sim.post(alice, "before the link", channel)
    assert sim.take_updates() == []                                   # the bot is not in the channel, no group linked
    sim.link_discussion(channel, group, by=alice)
    assert ok(sim, "getChat", chat_id=group.id)["linked_chat_id"] == channel.id
    assert sim.take_updates() == []
    post = sim.post(alice, "news! https://tea.example", channel)
    [update] = sim.take_updates()
    forwarded = update["message"]
    assert forwarded["from"] == {"id": 777000, "is_bot": False, "first_name": "Telegram"}
    assert forwarded["sender_chat"] == post["chat"] and forwarded["chat"]["id"] == group.id
    assert forwarded["is_automatic_forward"] is True and forwarded["text"] == post["text"]
    assert forwarded["entities"] == post["entities"]
    assert forwarded["forward_origin"] == {"type": "channel", "date": post["date"], "chat": post["chat"],
                                           "message_id": post["message_id"]}
    assert SPEC.check("Update", update) == []
    assert alone["text"] not in [m.get("text") for m in sim.messages(group)]  # a post from before the link stays put
    sim.add_bot_to_channel(channel, by=alice)
    info = ok(sim, "getChat", chat_id=channel.id)
    assert info["linked_chat_id"] == group.id and SPEC.check("ChatFullInfo", info) == []
    other = sim.create_group("Other", owner=alice)
    sim.link_discussion(channel, other, by=alice)                     # one discussion group: the new one replaces it
    assert "linked_chat_id" not in ok(sim, "getChat", chat_id=group.id)


def test_a_banned_sender_chat_can_no_longer_write_in_the_group(sim, group, alice, bob) -> None:
    """banChatSenderChat: the bot, with the right to ban, bans a channel; nobody then writes on behalf of it there,
    and its owner on behalf of none of their channels, until unbanChatSenderChat."""
    channel = sim.create_channel("Spam Deals", owner=bob)
    other = sim.create_channel("Bob's Other", owner=bob)
    sim.send(bob, "buy now", chat=group, as_channel=channel)
    assert ok(sim, "banChatSenderChat", chat_id=group.id, sender_chat_id=channel.id) is True
    with pytest.raises(SimError, match="banned in Club"):
        sim.send(bob, "buy again", chat=group, as_channel=channel)
    with pytest.raises(SimError, match="any of their channels"):
        sim.send(bob, "and here", chat=group, as_channel=other)
    sim.send(bob, "as myself", chat=group)                              # the person still writes as themselves
    assert ok(sim, "unbanChatSenderChat", chat_id=group.id, sender_chat_id=channel.id) is True
    assert sim.send(bob, "back", chat=group, as_channel=channel)["sender_chat"]["id"] == channel.id
    assert ok(sim, "unbanChatSenderChat", chat_id=group.id, sender_chat_id=channel.id) is True  # not banned: fine


def test_ban_chat_sender_chat_refuses_what_telegram_refuses(sim, group, alice, bob) -> None:
    channel = sim.create_channel("Spam Deals", owner=bob)
    assert refused(sim, "banChatSenderChat", chat_id=group.id, sender_chat_id=-1009999999999) == (400, "Bad Request: chat not found")
    assert refused(sim, "banChatSenderChat", chat_id=group.id, sender_chat_id=group.id) == (400, "Bad Request: PARTICIPANT_ID_INVALID")
    basic = sim.create_group("Basic", owner=alice, supergroup=False)
    sim.add_bot(basic, by=alice)
    assert refused(sim, "banChatSenderChat", chat_id=basic.id, sender_chat_id=channel.id) == (
        400, "Bad Request: chats can't be members of basic groups")
    assert refused(sim, "banChatSenderChat", chat_id=group.id, sender_chat_id=basic.id) == (400, "Bad Request: can't restrict the chat")
    plain = sim.create_group("Plain", owner=alice)
    sim.add_bot(plain, by=alice, admin=False)
    for method in ("banChatSenderChat", "unbanChatSenderChat"):
        assert refused(sim, method, chat_id=plain.id, sender_chat_id=channel.id) == (
            400, "Bad Request: not enough rights to restrict/unrestrict chat member")
    sim.send(bob, "still here", chat=group, as_channel=channel)          # nothing refused was carried out
