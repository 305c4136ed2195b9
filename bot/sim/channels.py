"""Channels, as far as a bot meets them: a person creates one, adds the bot as an administrator (with or without
the right to post), posts in it (the bot, as an admin, gets channel_post updates; posts are signed by the channel,
not by a person) and forwards its posts into groups. The bot posts there only as an admin allowed to post. A channel
may have a discussion group (a supergroup linked to it): each of its posts is then forwarded there automatically, as a
message from the service account Telegram (777000) sent on behalf of the channel, with is_automatic_forward."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .errors import SimError
from .html import auto_entities
from .state import CHANNEL_RIGHTS, ChatState, Member, SimChat
from .world import locked

if TYPE_CHECKING:
    from .core import FakeTelegram
    from .state import SimUser



class ChannelMixin:
    def _channel(self: FakeTelegram, chat: SimChat | int) -> ChatState:
        chat_id = chat.id if isinstance(chat, SimChat) else chat
        state = self._chats.get(chat_id)
        if state is None or state.type != "channel":
            raise SimError(f"unknown channel {chat!r}")
        return state

    @locked
    def create_channel(self: FakeTelegram, title: str, owner: SimUser, *, username: str | None = None) -> SimChat:
        self._known_user(owner)
        if owner.is_bot:
            raise SimError("bots can't create channels")
        self._next_channel += 1
        chat_id = -1002000000000 - self._next_channel
        state = ChatState(id=chat_id, type="channel", title=title, username=username)
        state.members[owner.id] = Member(owner.id, "creator")
        self._chats[chat_id] = state
        return SimChat(id=chat_id, title=title, type="channel", username=username)

    @locked
    def add_bot_to_channel(self: FakeTelegram, chat: SimChat | int, by: SimUser, can_post_messages: bool = True) -> None:
        """Bots join channels only as administrators; `can_post_messages` is the right that lets them post."""
        state = self._channel(chat)
        actor = self._present(state, by)
        if actor.status != "creator":
            raise SimError(f"only the owner of {state.title} adds administrators in this simulator")
        if self._member(state, self.bot.id).present:
            raise SimError(f"{self.bot.display} is already in {state.title}")
        rights = {r: r != "can_promote_members" for r in CHANNEL_RIGHTS}
        rights["can_post_messages"] = can_post_messages
        self._change_member(state, self.bot, Member(self.bot.id, "administrator", rights=rights, promoted_by=by.id), actor=by)

    @locked
    def promote_in_channel(self: FakeTelegram, chat: SimChat | int, user: SimUser, by: SimUser, **rights: bool) -> None:
        """The owner makes `user` an administrator of the channel, with the channel rights given (others: the usual
        ones, all but adding admins); an admin without can_post_messages may not post there."""
        state = self._channel(chat)
        actor = self._present(state, by)
        if actor.status != "creator":
            raise SimError(f"only the owner of {state.title} adds administrators in this simulator")
        unknown = set(rights) - set(CHANNEL_RIGHTS)
        if unknown:
            raise SimError(f"unknown channel administrator rights {sorted(unknown)}; known: {CHANNEL_RIGHTS}")
        self._known_user(user)
        if self._member(state, user.id).status == "creator":
            raise SimError(f"{user.display} owns {state.title}")
        given = {r: r != "can_promote_members" for r in CHANNEL_RIGHTS} | {k: bool(v) for k, v in rights.items()}
        self._change_member(state, user, Member(user.id, "administrator", rights=given, promoted_by=by.id), actor=by)

    @locked
    def remove_bot_from_channel(self: FakeTelegram, chat: SimChat | int, by: SimUser) -> None:
        state = self._channel(chat)
        self._present(state, by)
        if not self._member(state, self.bot.id).present:
            raise SimError(f"{self.bot.display} is not in {state.title}")
        self._change_member(state, self.bot, Member(self.bot.id, "kicked"), actor=by)

    @locked
    def subscribe(self: FakeTelegram, user: SimUser, chat: SimChat | int) -> None:
        """`user` joins the channel as a subscriber (they read it; they can't post)."""
        state = self._channel(chat)
        self._known_user(user)
        if self._member(state, user.id).present:
            raise SimError(f"{user.display} already follows {state.title}")
        self._change_member(state, user, Member(user.id, "member"), actor=user)

    def _send_as_channel(self: FakeTelegram, group: ChatState, user: SimUser, chat: SimChat | int) -> ChatState:
        """The channel `user` may write as in `group` (Telegram's "send as"): only in supergroups, and only a channel
        the user owns or may post in as its administrator."""
        state = self._channel(chat)
        if group.type != "supergroup":
            raise SimError(f"sending as a channel is only possible in supergroups, not in {group.title}")
        member = self._member(state, user.id)
        if member.status != "creator" and not (member.status == "administrator" and (member.rights or {}).get("can_post_messages")):
            raise SimError(f"{user.display} can't write as {state.title}: neither its owner nor an admin who posts there")
        # banChatSenderChat: the banned channel is silenced, and its owner may write on behalf of none of their
        # channels until it is unbanned (Telegram's clients offer no "send as" then).
        if state.id in group.banned_senders:
            raise SimError(f"{state.title} is banned in {group.title}: nobody can write on behalf of it")
        owned = [c for c in group.banned_senders if c in self._chats and self._member(self._chats[c], user.id).status == "creator"]
        if owned:
            raise SimError(f"{user.display} owns {self._chats[owned[0]].title}, banned in {group.title}: "
                           "they can't write on behalf of any of their channels there")
        return state

    @locked
    def link_discussion(self: FakeTelegram, chat: SimChat | int, group: SimChat | int, by: SimUser) -> None:
        """`by` makes `group` the channel's discussion group (the channel's settings, "Discussion"): someone who may
        change the info of both (their owner, or an admin with can_change_info); only a supergroup, linked to no
        other channel. A channel has one discussion group: linking another replaces it. Both chats then name each
        other in getChat (linked_chat_id). No update: Telegram sends the bot none for it."""
        state, target = self._channel(chat), self._group(group)
        for where in (state, target):
            member = self._present(where, by)
            if member.status != "creator" and not (member.status == "administrator" and (member.rights or {}).get("can_change_info")):
                raise SimError(f"{by.display} may not change the info of {where.title}")
        if target.type != "supergroup":
            raise SimError(f"{target.title} is a basic group: only a supergroup can be a channel's discussion group")
        if target.linked_chat_id not in (None, state.id):
            raise SimError(f"{target.title} is the discussion group of another channel already")
        if state.linked_chat_id is not None and state.linked_chat_id != target.id:
            self._chats[state.linked_chat_id].linked_chat_id = None
        state.linked_chat_id, target.linked_chat_id = target.id, state.id
        self._event(target, f"{by.display} made {target.title} the discussion group of {state.title}")

    def _forward_to_discussion(self: FakeTelegram, channel: ChatState, post: dict[str, Any]) -> None:
        """A new post of a channel with a discussion group, as it appears there at once: from the service account
        Telegram, sent on behalf of the channel (sender_chat), with is_automatic_forward and the post as its origin;
        delivered as a group message is (membership, privacy mode)."""
        if channel.linked_chat_id is None:
            return
        group = self._chats[channel.linked_chat_id]
        origin: dict[str, Any] = {"type": "channel", "date": post["date"], "chat": post["chat"], "message_id": post["message_id"]}
        if "author_signature" in post:
            origin["author_signature"] = post["author_signature"]
        content = {k: copy.deepcopy(v) for k, v in post.items() if k in ("text", "entities")}
        content |= {"forward_origin": origin, "is_automatic_forward": True}
        msg = self._new_message(group, self.telegram, content, sender_chat=self._chat_api(channel))
        self._deliver(group, msg, "message")

    @locked
    def post(self: FakeTelegram, user: SimUser, text: str, chat: SimChat | int) -> dict[str, Any]:
        """An administrator of the channel posts `text`: signed by the channel (sender_chat, no `from`); forwarded to
        the channel's discussion group, if it has one."""
        state = self._channel(chat)
        member = self._present(state, user)
        if member.status not in ("creator", "administrator"):
            raise SimError(f"{user.display} can't post in {state.title}: only its administrators can")
        if member.status == "administrator" and not (member.rights or {}).get("can_post_messages"):
            raise SimError(f"{user.display} can't post in {state.title}: an administrator without can_post_messages")
        if not text.strip():
            raise SimError("Telegram clients do not send empty messages")
        content: dict[str, Any] = {"text": text}
        entities = auto_entities(text)
        if entities:
            content["entities"] = entities
        msg = self._new_message(state, user, content, sender_chat=self._chat_api(state), author_id=user.id)
        msg.data.pop("from", None)  # "may be empty for messages sent to channels"
        if self._bot_member(state).status == "administrator":
            self._emit("channel_post", copy.deepcopy(msg.data))
        self._forward_to_discussion(state, msg.data)
        return copy.deepcopy(msg.data)
