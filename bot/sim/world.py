"""How Telegram's state changes and how it is shown to the bot: members and their statuses, messages and
who sees them, and the Bot API objects (Chat, ChatMember, ChatInviteLink, Message) built from the state."""
from __future__ import annotations

import copy
import functools
import string
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from .errors import SimError
from .html import entity_text
from .state import (
    CHANNEL_RIGHTS,
    ADMIN_RIGHTS,
    PERMISSIONS,
    USUAL_ADMIN_RIGHTS,
    ChatState,
    InviteLink,
    Member,
    Msg,
    SimChat,
    SimUser,
)

if TYPE_CHECKING:
    from .core import FakeTelegram

T = TypeVar("T")


def locked(fn: Callable[..., T]) -> Callable[..., T]:
    """Run a public method under the simulator's lock (the HTTP server answers from other threads)."""

    @functools.wraps(fn)
    def wrapper(self: FakeTelegram, *args: Any, **kwargs: Any) -> T:
        with self._lock:
            return fn(self, *args, **kwargs)

    return wrapper


class WorldMixin:
    # ================================================================== time & ids

    def _now(self: FakeTelegram) -> int:
        return int(self.clock.now().timestamp())

    def _random_token(
        self: FakeTelegram, length: int, alphabet: str = string.ascii_letters + string.digits + "-_"
    ) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(length))

    def _random_digits(self: FakeTelegram, length: int) -> str:
        return str(self._rng.randrange(10 ** (length - 1), 10**length))

    # ================================================================== helpers: lookups

    def _known_user(self: FakeTelegram, user: SimUser) -> SimUser:
        if not isinstance(user, SimUser) or self._users.get(user.id) != user:
            raise SimError(f"unknown user {user!r}; create it with sim.user(name)")
        return user

    def _group(self: FakeTelegram, chat: SimChat | int) -> ChatState:
        chat_id = chat.id if isinstance(chat, SimChat) else chat
        state = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if state is None or not state.is_group:
            raise SimError(f"unknown group {chat!r}")
        if state.migrated_to is not None:
            raise SimError(f"{state.title} was upgraded to a supergroup: use chat {state.migrated_to}")
        return state

    def _private(self: FakeTelegram, user: SimUser) -> ChatState:
        self._known_user(user)
        state = self._chats.get(user.id)
        if state is None:
            state = ChatState(id=user.id, type="private")
            self._chats[user.id] = state
        return state

    def _chat_ref(self: FakeTelegram, chat: SimChat | SimUser | int) -> ChatState:
        if isinstance(chat, SimUser):
            return self._private(chat)
        chat_id = chat.id if isinstance(chat, SimChat) else chat
        if isinstance(chat_id, int) and chat_id in self._users and chat_id not in self._chats:
            return self._private(self._users[chat_id])
        state = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if state is None:
            raise SimError(f"unknown chat {chat!r}")
        return state

    def _driver_message(self: FakeTelegram, message: dict[str, Any]) -> tuple[ChatState, Msg]:
        try:
            state = self._chats[message["chat"]["id"]]
            msg = state.messages[message["message_id"]]
        except (KeyError, TypeError):
            raise SimError(f"not a message of this simulator: {message!r}") from None
        if msg.deleted:
            raise SimError("that message was deleted")
        return state, msg

    def _driver_reply_target(self: FakeTelegram, state: ChatState, reply_to: int | dict[str, Any] | None) -> Msg | None:
        if reply_to is None:
            return None
        message_id = reply_to["message_id"] if isinstance(reply_to, dict) else reply_to
        if isinstance(reply_to, dict) and reply_to.get("chat", {}).get("id") != state.id:
            raise SimError("can only reply to a message of the same chat")
        msg = state.messages.get(message_id)
        if msg is None or msg.deleted:
            raise SimError(f"no message {message_id} to reply to in that chat")
        return msg

    # ================================================================== helpers: members

    def _member(self: FakeTelegram, state: ChatState, user_id: int) -> Member:
        """The member record, with restrictions and bans that ran out (by the clock) already lifted."""
        member = state.members.get(user_id)
        if member is None:
            return Member(user_id, "left")
        if member.status in ("restricted", "kicked") and member.until_date and member.until_date <= self._now():
            if member.status == "restricted" and member.is_member:
                member = Member(user_id, "member")
            else:
                member = Member(user_id, "left")
            state.members[user_id] = member
        return member

    def _present(self: FakeTelegram, state: ChatState, user: SimUser) -> Member:
        self._known_user(user)
        member = self._member(state, user.id)
        if not member.present:
            raise SimError(f"{user.display} is not in {state.title}")
        return member

    def _rights(self: FakeTelegram, given: dict[str, bool]) -> dict[str, bool]:
        unknown = set(given) - set(ADMIN_RIGHTS)
        if unknown:
            raise SimError(f"unknown administrator rights {sorted(unknown)}; known: {ADMIN_RIGHTS}")
        return {**USUAL_ADMIN_RIGHTS, **{k: bool(v) for k, v in given.items()}}

    def _check_can_promote(self: FakeTelegram, state: ChatState, actor: Member, rights: dict[str, bool]) -> None:
        if actor.status == "creator":
            return
        actor_rights = actor.rights or {}
        if actor.status != "administrator" or not actor_rights.get("can_promote_members"):
            raise SimError(f"{self._users[actor.user_id].display} may not promote members in {state.title}")
        beyond = [r for r, on in rights.items() if on and not actor_rights.get(r)]
        if beyond:
            raise SimError(f"{self._users[actor.user_id].display} can't grant rights they lack: {beyond}")

    def _may_invite(self: FakeTelegram, state: ChatState, actor: Member) -> bool:
        if actor.status == "creator":
            return True
        if actor.status == "administrator":
            return bool((actor.rights or {}).get("can_invite_users"))
        return bool(state.permissions.get("can_invite_users")) and (
            actor.status == "member" or bool((actor.permissions or {}).get("can_invite_users")))

    def _bot_member(self: FakeTelegram, state: ChatState) -> Member:
        return self._member(state, self.bot.id)

    def _bot_has_right(self: FakeTelegram, state: ChatState, right: str) -> bool:
        member = self._bot_member(state)
        if member.status == "creator":
            return True
        return member.status == "administrator" and bool((member.rights or {}).get(right))

    def _check_user_may_write(self: FakeTelegram, state: ChatState, user: SimUser, member: Member) -> None:
        if member.status in ("creator", "administrator"):
            return
        if member.status == "restricted" and not (member.permissions or {}).get("can_send_messages"):
            raise SimError(f"{user.display} is restricted in {state.title} and can't send messages")
        if not state.permissions.get("can_send_messages"):
            raise SimError(f"members can't send messages in {state.title}")

    def _check_can_see(self: FakeTelegram, state: ChatState, user: SimUser) -> None:
        self._known_user(user)
        if state.is_group or state.type == "channel":
            self._present(state, user)
        elif state.id != user.id:
            raise SimError(f"{user.display} can't see that private chat")

    def _change_member(
        self: FakeTelegram, state: ChatState, user: SimUser, new: Member, actor: SimUser, **extra: Any
    ) -> None:
        """Store a member's new status and emit the update Telegram sends about it."""
        old_api = self._member_api(state, self._member(state, user.id))
        if new.status == "left":
            state.members.pop(user.id, None)
        else:
            state.members[user.id] = new
        new_api = self._member_api(state, new)
        if old_api == new_api:
            return
        update = {
            "chat": self._chat_api(state),
            "from": actor.to_api(),
            "date": self._now(),
            "old_chat_member": old_api,
            "new_chat_member": new_api,
            **extra,
        }
        if user.id == self.bot.id:
            self._emit("my_chat_member", update)
        elif self._bot_member(state).status in ("creator", "administrator"):
            # chat_member updates go only to bots that administer the chat.
            self._emit("chat_member", update)

    def _admit(
        self: FakeTelegram,
        state: ChatState,
        user: SimUser,
        invite: InviteLink | None,
        actor: SimUser,
        via_request: bool,
    ) -> None:
        old = self._member(state, user.id)
        if old.status == "restricted":  # a restricted user who comes back is still restricted
            new = Member(user.id, "restricted", until_date=old.until_date, is_member=True,
                         permissions=dict(old.permissions or {}))
        else:
            new = Member(user.id, "member")
        extra: dict[str, Any] = {}
        if invite is not None:
            invite.joined += 1
            extra["invite_link"] = self._link_api(invite)
        if via_request:
            extra["via_join_request"] = True
        self._change_member(state, user, new, actor=actor, **extra)
        self._service_message(state, user, {"new_chat_members": [user.to_api()]},
                              f"{user.display} joined" + self._via(invite))

    def _via(self: FakeTelegram, invite: InviteLink | None) -> str:
        if invite is None:
            return ""
        return f" via link '{invite.name or invite.url}'"

    def _private_member_api(self: FakeTelegram, state: ChatState) -> dict[str, Any]:
        if state.blocked:
            return {"status": "kicked", "user": self.bot.to_api(), "until_date": 0}
        return {"status": "member", "user": self.bot.to_api()}

    def _emit_private_status(self: FakeTelegram, state: ChatState, user: SimUser, old: dict[str, Any]) -> None:
        self._emit("my_chat_member", {
            "chat": self._chat_api(state), "from": user.to_api(), "date": self._now(),
            "old_chat_member": old, "new_chat_member": self._private_member_api(state),
        })

    # ================================================================== helpers: API objects

    def _user_api(self: FakeTelegram, user_id: int) -> dict[str, Any] | None:
        user = self._users.get(user_id)
        return user.to_api() if user else None

    def _chat_api(self: FakeTelegram, state: ChatState) -> dict[str, Any]:
        if state.type == "private":
            user = self._users[state.id]
            chat: dict[str, Any] = {"id": state.id, "type": "private", "first_name": user.first_name}
            if user.last_name:
                chat["last_name"] = user.last_name
            if user.username:
                chat["username"] = user.username
            return chat
        chat = {"id": state.id, "type": state.type, "title": state.title}
        if state.username:
            chat["username"] = state.username
        if state.is_forum:
            chat["is_forum"] = True
        return chat

    def _member_api(self: FakeTelegram, state: ChatState, member: Member) -> dict[str, Any]:
        user = self._users[member.user_id].to_api()
        if member.status == "creator":
            data: dict[str, Any] = {"status": "creator", "user": user, "is_anonymous": member.is_anonymous}
        elif member.status == "administrator":
            rights = member.rights or {}
            data = {
                "status": "administrator",
                "user": user,
                # The bot may edit exactly the administrators it promoted (never itself).
                "can_be_edited": member.promoted_by == self.bot.id and member.user_id != self.bot.id,
                "is_anonymous": member.is_anonymous,
                **({r: bool(rights.get(r)) for r in CHANNEL_RIGHTS} if state.type == "channel" else
                   {r: bool(rights.get(r)) for r in ADMIN_RIGHTS
                    if not (r == "can_manage_topics" and state.type != "supergroup")}),
            }
        elif member.status == "restricted":
            permissions = member.permissions or {}
            data = {
                "status": "restricted",
                "user": user,
                "is_member": member.is_member,
                **{p: bool(permissions.get(p)) for p in PERMISSIONS},
                "until_date": member.until_date,
            }
        elif member.status == "kicked":
            data = {"status": "kicked", "user": user, "until_date": member.until_date}
        else:
            data = {"status": member.status, "user": user}
        if member.custom_title and member.status in ("creator", "administrator"):
            data["custom_title"] = member.custom_title
        return data

    def _link_api(self: FakeTelegram, link: InviteLink, full: bool = False) -> dict[str, Any]:
        # Telegram shows the bot other admins' links with the secret part elided.
        url = link.url if full or link.creator_id == self.bot.id else link.url[: len("https://t.me/+") + 4] + "…"
        data: dict[str, Any] = {
            "invite_link": url,
            "creator": self._users[link.creator_id].to_api(),
            "creates_join_request": link.creates_join_request,
            "is_primary": link.is_primary,
            "is_revoked": link.is_revoked,
        }
        if link.name:
            data["name"] = link.name
        if link.expire_date is not None:
            data["expire_date"] = link.expire_date
        if link.member_limit is not None:
            data["member_limit"] = link.member_limit
        if link.creates_join_request:
            data["pending_join_request_count"] = len(link.pending)
        return data

    # ================================================================== helpers: messages

    def _new_message(
        self: FakeTelegram,
        state: ChatState,
        sender: SimUser,
        content: dict[str, Any],
        *,
        sender_chat: dict[str, Any] | None = None,
        reply_to: Msg | None = None,
        service: bool = False,
        author_id: int | None = None,
    ) -> Msg:
        data: dict[str, Any] = {
            "message_id": state.next_message_id,
            "from": sender.to_api(),
            "date": self._now(),
            "chat": self._chat_api(state),
        }
        if sender_chat is not None:
            data["sender_chat"] = sender_chat
        if reply_to is not None:
            # Telegram nests one level only: the replied-to message comes without its own reply_to_message.
            data["reply_to_message"] = {k: copy.deepcopy(v) for k, v in reply_to.data.items()
                                        if k != "reply_to_message"}
        data.update(content)
        state.next_message_id += 1
        msg = Msg(data=data, sender_id=author_id if author_id is not None else sender.id, service=service)
        state.messages[data["message_id"]] = msg
        if not service:
            state.timeline.append(("msg", data["message_id"], self.next_order()))
        return msg

    def _service_message(
        self: FakeTelegram, state: ChatState, actor: SimUser, content: dict[str, Any], event: str,
        reply_to: Msg | None = None,
    ) -> Msg:
        msg = self._new_message(state, actor, content, service=True, reply_to=reply_to)
        self._event(state, event)
        if actor.id != self.bot.id:
            self._deliver(state, msg, "message")
        return msg

    def _mark_edited(self: FakeTelegram, msg: Msg, changes: dict[str, Any]) -> None:
        """Apply an edit (the bot's or a person's): each field set, or dropped when empty; stamped as edited."""
        for key, value in changes.items():
            if value:
                msg.data[key] = value
            else:
                msg.data.pop(key, None)
        msg.data["edit_date"] = self._now()
        msg.edited = True
        msg.changed_at = self.next_order()

    def _event(self: FakeTelegram, state: ChatState, text: str) -> None:
        state.timeline.append(("event", text, self.next_order()))

    def _from_bot_seen(self: FakeTelegram, state: ChatState, msg: Msg, bot: Member) -> bool:
        """Another bot's message reaches the bot under test only in Telegram's bot-to-bot cases
        (core.telegram.org/api/bots/bot-to-bot): with Bot-to-Bot Communication Mode on (`bot_to_bot`), a command
        addressed to it (/cmd@ThisBot) or a direct reply to one of its messages — or any message when it is an
        admin with privacy mode off. Without the mode (the default) never: such a message is seen only inside a
        person's reply to it, as reply_to_message. A person's message, and the anonymous admin's or a channel's
        (sender_chat), are not bots' messages in this sense."""
        sender = msg.data.get("from") or {}
        if not sender.get("is_bot") or sender.get("id") in (self.bot.id, self.anonymous_admin.id, self.channel_bot.id) or "sender_chat" in msg.data:
            return True
        if msg.service or not self.bot_to_bot:
            return msg.service
        replied = (msg.data.get("reply_to_message") or {}).get("from", {}).get("id")
        text = msg.data.get("text") or ""
        addressed = any(e["type"] == "bot_command" and entity_text(text, e).lower().endswith("@" + (self.bot.username or "").lower())
                        for e in msg.data.get("entities", ()))
        admin = bot.status in ("creator", "administrator") and not self.privacy_mode
        return replied == self.bot.id or addressed or admin

    def _deliver(self: FakeTelegram, state: ChatState, msg: Msg, kind: str) -> None:
        """Emit a message/edited_message update if the bot would see it (membership and privacy mode)."""
        if state.type == "private":
            if not state.blocked:
                self._emit(kind, copy.deepcopy(msg.data))
            return
        bot = self._bot_member(state)
        if not bot.present:
            return
        if not self._from_bot_seen(state, msg, bot):
            return
        if self.privacy_mode and bot.status not in ("creator", "administrator") and not self._meant_for_bot(msg):
            return
        self._emit(kind, copy.deepcopy(msg.data))

    def _meant_for_bot(self: FakeTelegram, msg: Msg) -> bool:
        """What a bot in privacy mode still receives: service messages, commands for it, replies to it."""
        data = msg.data
        if msg.service:
            return True
        if data.get("reply_to_message", {}).get("from", {}).get("id") == self.bot.id:
            return True
        text = data.get("text", "")
        for entity in data.get("entities", []):
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                command = text[: entity["length"]]
                target = command.partition("@")[2]
                return not target or target.lower() == (self.bot.username or "").lower()
        return False


