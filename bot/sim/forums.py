"""Forum supergroups (topics on): createForumTopic and its kin with Telegram's rights checks, the service
messages a topic's life leaves (forum_topic_created, _edited, _closed, _reopened), and message_thread_id on what is sent —
the bot's sends and people's. A topic's id is its creation message's id; every message in a topic is a reply to
that message unless it replies to another one there; General is the forum outside every topic: its messages carry
no message_thread_id, and naming it (1) is "message thread not found", as on Telegram."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .errors import SimError, bad_request
from .state import Msg, Topic
from .world import locked

if TYPE_CHECKING:
    from .core import FakeTelegram
    from .state import ChatState, Member, SimChat, SimUser

ICON_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)  # createForumTopic's icon_color values


class ForumMixin:
    # ------------------------------------------------------------------ helpers

    def _forum(self: FakeTelegram, state: ChatState) -> None:
        if not state.is_forum:
            raise bad_request("the chat is not a forum")

    def _topic(self: FakeTelegram, state: ChatState, thread_id: int) -> Topic:
        topic = state.topics.get(thread_id) if state.is_forum else None
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")
        return topic

    def _may_manage_topics(self: FakeTelegram, state: ChatState, member: Member) -> bool:
        if member.status == "creator":
            return True
        if member.status == "administrator":
            return bool((member.rights or {}).get("can_manage_topics"))
        allowed = bool(state.permissions.get("can_manage_topics"))
        if member.status == "restricted":
            allowed = allowed and bool((member.permissions or {}).get("can_manage_topics"))
        return allowed and member.present

    def _thread_for(self: FakeTelegram, state: ChatState, p: dict[str, Any], reply: Msg | None) -> int | None:
        """The topic a message the bot sends goes to: the one named, else the replied-to message's; a closed
        topic takes messages only from those who may manage topics."""
        thread = p.get("message_thread_id")
        if thread is None:
            return reply.data.get("message_thread_id") if reply is not None and reply.data.get("is_topic_message") else None
        topic = self._topic(state, thread)
        if topic.closed and not self._may_manage_topics(state, self._bot_member(state)):
            raise bad_request("TOPIC_CLOSED")
        return thread

    def _in_topic(self: FakeTelegram, state: ChatState, thread: int | None, content: dict[str, Any],
                  reply: Msg | None) -> Msg | None:
        """Mark content as sent to `thread`; returns the message it replies to (the topic's creation message if
        it replies to nothing else)."""
        if thread is None:
            return reply
        content["message_thread_id"] = thread
        content["is_topic_message"] = True
        return reply if reply is not None else state.messages[thread]

    def _topic_service(self: FakeTelegram, state: ChatState, actor: SimUser, topic: Topic, content: dict[str, Any],
                       event: str) -> Msg:
        content = {**content, "message_thread_id": topic.thread_id, "is_topic_message": True}
        if topic.thread_id in state.messages:
            return self._service_message(state, actor, content, event, reply_to=state.messages[topic.thread_id])
        return self._service_message(state, actor, content, event)

    def _new_topic(self: FakeTelegram, state: ChatState, actor: SimUser, name: str, icon_color: int) -> Topic:
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
        if icon_color not in ICON_COLORS:
            raise bad_request("TOPIC_COLOR_INVALID")
        thread_id = state.next_message_id
        topic = Topic(thread_id, name, icon_color, actor.id)
        state.topics[thread_id] = topic
        msg = self._service_message(state, actor, {"message_thread_id": thread_id, "is_topic_message": True,
                                                   "forum_topic_created": {"name": name, "icon_color": icon_color}},
                                    f"{actor.display} created the topic '{name}'")
        assert msg.data["message_id"] == thread_id
        return topic

    # ------------------------------------------------------------------ Bot API

    def _manageable_topic(self: FakeTelegram, p: dict[str, Any]) -> tuple[ChatState, Topic]:
        state = self._group_for(p, supergroup_only=True)
        self._forum(state)
        topic = self._topic(state, p["message_thread_id"])
        if topic.creator_id != self.bot.id and not self._may_manage_topics(state, self._bot_member(state)):
            raise bad_request("not enough rights to manage topics")
        return state, topic

    def api_createForumTopic(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        state = self._group_for(p, supergroup_only=True)
        self._forum(state)
        bot = self._bot_member(state)
        if bot.status not in ("creator", "administrator") or not self._may_manage_topics(state, bot):
            raise bad_request("not enough rights to create a topic")
        if "icon_custom_emoji_id" in p:
            raise bad_request("invalid custom emoji identifier specified")  # the sim has no topic icon stickers
        topic = self._new_topic(state, self.bot, p["name"], p.get("icon_color", ICON_COLORS[0]))
        return {"message_thread_id": topic.thread_id, "name": topic.name, "icon_color": topic.icon_color}

    def api_editForumTopic(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state, topic = self._manageable_topic(p)
        name = p.get("name") or topic.name
        if len(name) > 128:
            raise bad_request("TOPIC_TITLE_TOO_LONG")
        if "icon_custom_emoji_id" in p and p["icon_custom_emoji_id"]:
            raise bad_request("invalid custom emoji identifier specified")
        if name == topic.name:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.name = name
        self._topic_service(state, self.bot, topic, {"forum_topic_edited": {"name": name}},
                            f"{self.bot.display} renamed the topic to '{name}'")
        return True

    def api_closeForumTopic(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state, topic = self._manageable_topic(p)
        if topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = True
        self._topic_service(state, self.bot, topic, {"forum_topic_closed": {}}, f"{self.bot.display} closed '{topic.name}'")
        return True

    def api_reopenForumTopic(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state, topic = self._manageable_topic(p)
        if not topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = False
        self._topic_service(state, self.bot, topic, {"forum_topic_reopened": {}}, f"{self.bot.display} reopened '{topic.name}'")
        return True

    def api_deleteForumTopic(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state = self._group_for(p, supergroup_only=True)
        self._forum(state)
        topic = self._topic(state, p["message_thread_id"])
        if not self._bot_has_right(state, "can_delete_messages"):
            raise bad_request("not enough rights to delete a topic")
        self._delete_topic(state, topic, self.bot)
        return True

    def _delete_topic(self: FakeTelegram, state: ChatState, topic: Topic, by: SimUser) -> None:
        topic.deleted = True
        for msg in state.messages.values():  # "along with all its messages"
            if msg.data.get("message_thread_id") == topic.thread_id and not msg.deleted:
                self._delete(state, msg)
        self._event(state, f"{by.display} deleted the topic '{topic.name}'")

    # ------------------------------------------------------------------ driver

    def _driver_topic(self: FakeTelegram, state: ChatState, member: Member | None, user: SimUser, thread_id: int) -> None:
        """A person writing in a topic: it must exist; a closed one takes messages only from topic managers."""
        if member is None or not state.is_forum:
            raise SimError("topics exist only in forum supergroups")
        topic = state.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise SimError(f"no topic {thread_id} in {state.title}")
        if topic.closed and not self._may_manage_topics(state, member):
            raise SimError(f"the topic '{topic.name}' is closed")

    @locked
    def create_topic(self: FakeTelegram, chat: SimChat | int, by: SimUser, name: str, icon_color: int = ICON_COLORS[0]) -> int:
        """`by` creates a topic in a forum (the owner, an admin with can_manage_topics, or anyone if the group's
        permissions let members); the bot gets the forum_topic_created message. Returns its message_thread_id."""
        state = self._group(chat)
        if not state.is_forum:
            raise SimError(f"{state.title} is not a forum")
        member = self._present(state, by)
        if not self._may_manage_topics(state, member):
            raise SimError(f"{by.display} may not create topics in {state.title}")
        try:
            return self._new_topic(state, by, name, icon_color).thread_id
        except Exception as exc:
            raise SimError(f"a Telegram client would not create that topic: {exc}") from None

    @locked
    def close_topic(self: FakeTelegram, chat: SimChat | int, thread_id: int, by: SimUser, closed: bool = True) -> None:
        state = self._group(chat)
        topic = state.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise SimError(f"no topic {thread_id} in {state.title}")
        member = self._present(state, by)
        if topic.creator_id != by.id and not self._may_manage_topics(state, member):
            raise SimError(f"{by.display} may not close topics in {state.title}")
        if topic.closed == closed:
            raise SimError(f"the topic is already {'closed' if closed else 'open'}")
        topic.closed = closed
        kind = "forum_topic_closed" if closed else "forum_topic_reopened"
        self._topic_service(state, by, topic, {kind: {}}, f"{by.display} {'closed' if closed else 'reopened'} '{topic.name}'")

    @locked
    def rename_topic(self: FakeTelegram, chat: SimChat | int, thread_id: int, by: SimUser, name: str) -> None:
        """`by` renames a topic (its creator, or the owner or an admin with can_manage_topics — editForumTopic's
        rights): a forum_topic_edited service message in the topic, replying to its creation message, which keeps
        the name the topic was made with (as every later message in the topic shows it)."""
        state = self._group(chat)
        topic = state.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise SimError(f"no topic {thread_id} in {state.title}")
        member = self._present(state, by)
        if topic.creator_id != by.id and not self._may_manage_topics(state, member):
            raise SimError(f"{by.display} may not rename topics in {state.title}")
        if not 1 <= len(name) <= 128:
            raise SimError("a Telegram client would not take that topic name (1 to 128 characters)")
        if name == topic.name:
            raise SimError(f"the topic is already called '{name}'")
        topic.name = name
        self._topic_service(state, by, topic, {"forum_topic_edited": {"name": name}}, f"{by.display} renamed the topic to '{name}'")

    @locked
    def delete_topic(self: FakeTelegram, chat: SimChat | int, thread_id: int, by: SimUser) -> None:
        """`by` deletes a topic with all its messages (the owner or an admin who may delete messages); Telegram
        tells the bot nothing."""
        state = self._group(chat)
        topic = state.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise SimError(f"no topic {thread_id} in {state.title}")
        member = self._present(state, by)
        if not (member.status == "creator" or (member.status == "administrator" and (member.rights or {}).get("can_delete_messages"))):
            raise SimError(f"{by.display} may not delete topics in {state.title}")
        self._delete_topic(state, topic, by)

    @locked
    def topics(self: FakeTelegram, chat: SimChat | int) -> list[dict[str, Any]]:
        """The forum's live topics, as ForumTopic objects."""
        state = self._group(chat)
        return [copy.deepcopy({"message_thread_id": t.thread_id, "name": t.name, "icon_color": t.icon_color})
                for t in state.topics.values() if not t.deleted]
