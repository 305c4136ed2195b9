"""Forum supergroups as Telegram runs them: is_forum on the chat; topics made by people or by the bot with the
right to manage topics, each opened by a forum_topic_created message whose id is the topic's; message_thread_id
on what is sent into a topic (a message there replies to the topic's first message), none in General; refusals
for a thread that is not there (General's 1, a deleted topic, any thread in a group without topics), a closed
topic, a missing right."""
from __future__ import annotations

import pytest

from bot.sim import FakeTelegram, SimError

from .conftest import ok, refused


@pytest.fixture
def forum(sim: FakeTelegram, alice, bob):
    chat = sim.create_group("Tea Forum", owner=alice, forum=True)
    sim.add_bot(chat, by=alice)
    sim.join(chat, bob)
    sim.take_updates()
    return chat


def test_people_make_topics_and_write_in_them(sim, forum, alice, bob) -> None:
    thread = sim.create_topic(forum, alice, "Green tea")
    [created] = sim.take_updates()
    message = created["message"]
    assert message["chat"]["is_forum"] is True
    assert (message["message_id"], message["message_thread_id"], message["is_topic_message"]) == (thread, thread, True)
    assert message["forum_topic_created"] == {"name": "Green tea", "icon_color": 7322096}
    said = sim.send(bob, "longjing is best", forum, topic=thread)
    assert (said["message_thread_id"], said["is_topic_message"]) == (thread, True)
    assert said["reply_to_message"]["message_id"] == thread  # in a topic, a message replies to its first one
    general = sim.send(bob, "hello everyone", forum)
    assert "message_thread_id" not in general and "is_topic_message" not in general
    answer = sim.send(alice, "agreed", forum, reply_to=said)  # a reply stays in its topic
    assert answer["message_thread_id"] == thread
    with pytest.raises(SimError):
        sim.create_topic(forum, bob, "Mine")  # members may not, unless the group's permissions let them
    with pytest.raises(SimError):
        sim.send(bob, "hi", forum, topic=9999)


def test_a_person_renames_a_topic_and_later_messages_still_show_its_first_name(sim, forum, alice, bob) -> None:
    """editForumTopic by a person: a forum_topic_edited message in the topic; every later message there replies to
    the creation message, which keeps the name the topic was made with. The creator or a topic manager only."""
    thread = sim.create_topic(forum, alice, "News")
    with pytest.raises(SimError):
        sim.rename_topic(forum, thread, bob, "Mine")  # neither its creator nor allowed to manage topics
    with pytest.raises(SimError):
        sim.rename_topic(forum, thread, alice, "News")  # not modified
    sim.take_updates()
    sim.rename_topic(forum, thread, alice, "Updates")
    [edited] = sim.take_updates()
    message = edited["message"]
    assert message["forum_topic_edited"] == {"name": "Updates"}
    assert (message["message_thread_id"], message["is_topic_message"]) == (thread, True)
    assert message["reply_to_message"]["message_id"] == thread
    said = sim.send(bob, "hello", forum, topic=thread)
    assert said["reply_to_message"]["forum_topic_created"]["name"] == "News"  # the root keeps the first name
    assert [t["name"] for t in sim.topics(forum)] == ["Updates"]


def test_the_bot_sends_into_a_topic_and_general(sim, forum, alice) -> None:
    thread = sim.create_topic(forum, alice, "News")
    sent = ok(sim, "sendMessage", chat_id=forum.id, text="Weekly news", message_thread_id=thread)
    assert (sent["message_thread_id"], sent["is_topic_message"]) == (thread, True)
    general = ok(sim, "sendMessage", chat_id=forum.id, text="In General")
    assert "message_thread_id" not in general
    for wrong in (1, 9999):  # General is not named by an id; an unknown thread is not there
        assert refused(sim, "sendMessage", chat_id=forum.id, text="x", message_thread_id=wrong) == (
            400, "Bad Request: message thread not found")
    reply = ok(sim, "sendMessage", chat_id=forum.id, text="re", reply_parameters={"message_id": sent["message_id"]})
    assert reply["message_thread_id"] == thread  # a reply goes where the replied-to message is


def test_the_bots_own_topics_need_the_right(sim, forum, alice, bob) -> None:
    assert refused(sim, "createForumTopic", chat_id=forum.id, name="Events") == (
        400, "Bad Request: not enough rights to create a topic")  # usual admin rights leave topics out
    sim.promote(forum, sim.bot, by=alice, can_manage_topics=True, can_delete_messages=True, can_restrict_members=True)
    topic = ok(sim, "createForumTopic", chat_id=forum.id, name="Events", icon_color=16766590)
    assert topic == {"message_thread_id": topic["message_thread_id"], "name": "Events", "icon_color": 16766590}
    assert refused(sim, "createForumTopic", chat_id=forum.id, name="x" * 129)[0] == 400
    assert ok(sim, "closeForumTopic", chat_id=forum.id, message_thread_id=topic["message_thread_id"]) is True
    with pytest.raises(SimError, match="closed"):
        sim.send(bob, "can I still?", forum, topic=topic["message_thread_id"])
    assert ok(sim, "sendMessage", chat_id=forum.id, text="admins still may", message_thread_id=topic["message_thread_id"])


def test_a_closed_topic_refuses_a_bot_without_the_right(sim, forum, alice) -> None:
    thread = sim.create_topic(forum, alice, "Archive")
    sim.close_topic(forum, thread, by=alice)
    assert refused(sim, "sendMessage", chat_id=forum.id, text="x", message_thread_id=thread) == (400, "Bad Request: TOPIC_CLOSED")
    sim.close_topic(forum, thread, by=alice, closed=False)
    assert ok(sim, "sendMessage", chat_id=forum.id, text="open again", message_thread_id=thread)


def test_a_deleted_topic_takes_its_messages_and_is_not_found(sim, forum, alice, bob) -> None:
    thread = sim.create_topic(forum, alice, "Old")
    said = sim.send(bob, "bye", forum, topic=thread)
    sim.delete_topic(forum, thread, by=alice)
    assert said["message_id"] in [m["message_id"] for m in sim.deleted(forum)]
    assert refused(sim, "sendMessage", chat_id=forum.id, text="x", message_thread_id=thread) == (
        400, "Bad Request: message thread not found")
    assert sim.topics(forum) == []


def test_no_threads_outside_forums(sim, group, alice) -> None:
    assert "is_forum" not in ok(sim, "getChat", chat_id=group.id)
    assert refused(sim, "sendMessage", chat_id=group.id, text="x", message_thread_id=5) == (
        400, "Bad Request: message thread not found")
    assert refused(sim, "createForumTopic", chat_id=group.id, name="Events") == (400, "Bad Request: the chat is not a forum")
    with pytest.raises(SimError):
        sim.create_topic(group, alice, "Nope")
    with pytest.raises(SimError):
        sim.create_group("Basic", owner=alice, supergroup=False, forum=True)
