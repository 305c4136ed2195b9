"""The driver API: tests, the demo and the console act as people through it (join, send, press, promote...).
Each action changes the state and emits the updates Telegram would send; what a Telegram client would not
let a person do raises SimError."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .errors import REFUSALS, SimError
from .html import auto_entities
from .state import (
    DEFAULT_PERMISSIONS,
    PERMISSIONS,
    CallbackRecord,
    ChatState,
    InviteLink,
    JoinRequest,
    Member,
    PollRecord,
    SimChat,
    SimUser,
)
from .world import locked

if TYPE_CHECKING:
    from .core import FakeTelegram


class DriverMixin:
    # ================================================================== driver: people and chats

    @locked
    def user(
        self: FakeTelegram,
        name: str,
        first_name: str | None = None,
        language_code: str | None = "en",
        is_bot: bool = False,
        with_username: bool = True,
    ) -> SimUser:
        """The account called `name` (its username), created on first use. ``with_username=False``: an account with
        no username, as many are (Telegram's usernames are Latin letters, digits and _): `name` is then only the
        driver's handle for it (and its first name)."""
        existing = self._users_by_name.get(name)
        if existing is not None:
            return existing
        user = SimUser(
            id=self._next_user_id,
            first_name=first_name or name.capitalize(),
            username=name if with_username else None,
            language_code=language_code,
            is_bot=is_bot,
        )
        self._next_user_id += 1
        self._users[user.id] = user
        self._users_by_name[name] = user
        return user

    @locked
    def user_by_id(self: FakeTelegram, user_id: int) -> SimUser | None:
        return self._users.get(user_id)

    @locked
    def create_group(
        self: FakeTelegram,
        title: str,
        owner: SimUser,
        supergroup: bool = True,
        join_by_request: bool = False,
        *,
        username: str | None = None,
        forum: bool = False,
    ) -> SimChat:
        """A group owned by `owner`; the bot is not in it until add_bot. No update (the bot is not there).
        `forum`: a supergroup with topics on (messages outside every topic are in General)."""
        self._known_user(owner)
        if owner.is_bot:
            raise SimError("bots can't create groups")
        if forum and not supergroup:
            raise SimError("only supergroups can be forums")
        if supergroup:
            chat_id = self._new_supergroup_id()
        else:
            chat_id = -4000000000 - self._next_basic_group
            self._next_basic_group += 1
        chat = ChatState(
            id=chat_id,
            type="supergroup" if supergroup else "group",
            title=title,
            username=username,
            permissions=dict(DEFAULT_PERMISSIONS),
            join_by_request=join_by_request,
            is_forum=forum,
        )
        chat.members[owner.id] = Member(owner.id, "creator")
        self._chats[chat_id] = chat
        return SimChat(id=chat_id, title=title, type=chat.type, username=username)

    def _new_supergroup_id(self: FakeTelegram) -> int:
        self._next_supergroup += 1
        return -1001000000000 - (self._next_supergroup - 1)

    @locked
    def upgrade(self: FakeTelegram, chat: SimChat | int, by: SimUser) -> SimChat:
        """The owner turns a basic group into a supergroup (Telegram also does it by itself, e.g. past 200
        members). The supergroup has a new id and keeps the members, admins, permissions and invite links.
        The bot gets a service message in each chat, the supergroup's (migrate_from_chat_id) first; from then
        on every call on the old id answers 400 with parameters.migrate_to_chat_id."""
        state = self._group(chat)
        actor = self._present(state, by)
        if state.type != "group":
            raise SimError(f"{state.title} is already a supergroup")
        if actor.status != "creator":
            raise SimError(f"only the owner can upgrade {state.title}")
        new = ChatState(
            id=self._new_supergroup_id(), type="supergroup", title=state.title, username=state.username,
            members=copy.deepcopy(state.members), permissions=dict(state.permissions),
            join_by_request=state.join_by_request, description=state.description,
            links=state.links, requests=state.requests,
        )
        state.links, state.requests = {}, {}
        self._chats[new.id] = new
        self._service_message(new, by, {"migrate_from_chat_id": state.id}, f"{by.display} upgraded the group to a supergroup")
        self._service_message(state, by, {"migrate_to_chat_id": new.id}, f"{by.display} moved the group to a supergroup")
        state.migrated_to = new.id
        return SimChat(id=new.id, title=new.title or "", type=new.type, username=new.username)

    @locked
    def add_bot(self: FakeTelegram, chat: SimChat | int, by: SimUser, admin: bool = True, **rights: bool) -> None:
        """`by` adds the bot, as an administrator with the usual rights (override with rights=...) or not."""
        state = self._group(chat)
        actor = self._present(state, by)
        old = self._member(state, self.bot.id)
        if old.present:
            raise SimError(f"{self.bot.display} is already in {state.title}")
        if admin:
            self._check_can_promote(state, actor, self._rights(rights))
            new = Member(self.bot.id, "administrator", rights=self._rights(rights), promoted_by=by.id)
        else:
            if not self._may_invite(state, actor):
                raise SimError(f"{by.display} may not add members to {state.title}")
            new = Member(self.bot.id, "member")
        self._change_member(state, self.bot, new, actor=by)
        self._service_message(
            state, by, {"new_chat_members": [self.bot.to_api()]},
            f"{by.display} added {self.bot.display}" + (" as admin" if admin else ""),
        )

    @locked
    def add_member(self: FakeTelegram, chat: SimChat | int, user: SimUser, by: SimUser) -> None:
        """`by` adds `user` — another bot, typically (a bot cannot join by itself): one new_chat_members message
        from `by`, and a chat_member update. The bot under test then holds a bot member whose messages it will not
        be shown (see _deliver)."""
        self._add_members(chat, [user], by)

    @locked
    def add_members(self: FakeTelegram, chat: SimChat | int, users: list[SimUser], by: SimUser) -> None:
        """`by` adds several people at once, as Telegram's "add members" does: a chat_member update for each (to an
        admin bot) and ONE new_chat_members message from `by` naming them all (to every bot in the group)."""
        self._add_members(chat, users, by)

    def _add_members(self: FakeTelegram, chat: SimChat | int, users: list[SimUser], by: SimUser) -> None:
        state = self._group(chat)
        actor = self._present(state, by)
        if not users or len({u.id for u in users}) != len(users):
            raise SimError("name each user to add once")
        for user in users:
            self._known_user(user)
            if user.id == self.bot.id:
                raise SimError("use add_bot for the bot under test")
            old = self._member(state, user.id)
            if old.present:
                raise SimError(f"{user.display} is already in {state.title}")
            if old.status == "kicked":
                raise SimError(f"{user.display} is banned from {state.title}")
        if not self._may_invite(state, actor):
            raise SimError(f"{by.display} may not add members to {state.title}")
        for user in users:
            self._change_member(state, user, Member(user.id, "member"), actor=by)
        self._service_message(state, by, {"new_chat_members": [u.to_api() for u in users]},
                              f"{by.display} added {', '.join(u.display for u in users)}")

    @locked
    def remove_bot(self: FakeTelegram, chat: SimChat | int, by: SimUser) -> None:
        """`by` removes the bot: it becomes 'kicked' and every further call on the chat answers 403."""
        state = self._group(chat)
        actor = self._present(state, by)
        if not (actor.status == "creator" or (actor.rights or {}).get("can_restrict_members")):
            raise SimError(f"{by.display} may not remove members from {state.title}")
        if not self._member(state, self.bot.id).present:
            raise SimError(f"{self.bot.display} is not in {state.title}")
        self._change_member(state, self.bot, Member(self.bot.id, "kicked"), actor=by)
        self._service_message(
            state, by, {"left_chat_member": self.bot.to_api()}, f"{by.display} removed {self.bot.display}"
        )

    @locked
    def promote(
        self: FakeTelegram, chat: SimChat | int, user: SimUser, by: SimUser, is_anonymous: bool = False, **rights: bool
    ) -> None:
        """`by` makes `user` an administrator (usual rights unless given); emits chat_member."""
        state = self._group(chat)
        actor = self._present(state, by)
        target = self._member(state, user.id)
        if not target.present:
            raise SimError(f"{user.display} is not in {state.title}")
        if target.status == "creator":
            raise SimError(f"{user.display} owns {state.title}")
        new_rights = self._rights(rights)
        self._check_can_promote(state, actor, new_rights)
        if target.status == "administrator" and actor.status != "creator" and target.promoted_by != by.id:
            raise SimError(f"{by.display} can't edit an administrator promoted by someone else")
        new = Member(
            user.id, "administrator", rights=new_rights, is_anonymous=is_anonymous,
            custom_title=target.custom_title, promoted_by=by.id,
        )
        self._change_member(state, user, new, actor=by)
        self._event(state, f"{by.display} promoted {user.display}")

    @locked
    def demote(self: FakeTelegram, chat: SimChat | int, user: SimUser, by: SimUser) -> None:
        state = self._group(chat)
        actor = self._present(state, by)
        target = self._member(state, user.id)
        if target.status != "administrator":
            raise SimError(f"{user.display} is not an administrator of {state.title}")
        allowed = actor.status == "creator" or (
            (actor.rights or {}).get("can_promote_members") and target.promoted_by == by.id
        )
        if not allowed:
            raise SimError(f"{by.display} may not demote {user.display}")
        self._change_member(state, user, Member(user.id, "member"), actor=by)
        self._event(state, f"{by.display} demoted {user.display}")

    @locked
    def set_permissions(self: FakeTelegram, chat: SimChat | int, by: SimUser, **permissions: bool) -> dict[str, bool]:
        """`by` changes what members may do in the group's settings (the app's Permissions screen): each given
        permission set as given, the others left as they are. Only the owner or an administrator with the right
        to restrict members may; Telegram sends the bot no update about it. Returns the permissions now."""
        state = self._group(chat)
        actor = self._present(state, by)
        if not (actor.status == "creator" or (actor.status == "administrator" and (actor.rights or {}).get("can_restrict_members"))):
            raise SimError(f"{by.display} may not change the permissions of {state.title}")
        unknown = set(permissions) - set(PERMISSIONS)
        if unknown:
            raise SimError(f"no such permission: {', '.join(sorted(unknown))}")
        state.permissions = {**state.permissions, **{k: bool(v) for k, v in permissions.items()}}
        self._event(state, f"{by.display} changed what members may do")
        return dict(state.permissions)

    @locked
    def create_invite_link(
        self: FakeTelegram,
        chat: SimChat | int,
        by: SimUser,
        name: str | None = None,
        creates_join_request: bool = False,
        member_limit: int | None = None,
        expire_date: int | None = None,
    ) -> str:
        """An administrator creates an invite link in their app; returns its URL."""
        state = self._group(chat)
        actor = self._present(state, by)
        if actor.status != "creator" and not (actor.rights or {}).get("can_invite_users"):
            raise SimError(f"{by.display} may not create invite links in {state.title}")
        if creates_join_request and member_limit is not None:
            raise SimError("a link that needs approval can't have a member limit")
        link = InviteLink(
            url="https://t.me/+" + self._random_token(16), creator_id=by.id, name=name,
            creates_join_request=creates_join_request, member_limit=member_limit, expire_date=expire_date,
        )
        state.links[link.url] = link
        return link.url

    @locked
    def join(self: FakeTelegram, chat: SimChat | int, user: SimUser, link: str | None = None) -> str:
        """`user` joins (through invite link URL `link` if given). Returns "joined", or "requested" when the
        link or the group needs an administrator's approval."""
        state = self._group(chat)
        self._known_user(user)
        member = self._member(state, user.id)
        if member.status == "kicked":
            raise SimError(f"{user.display} is banned from {state.title}")
        if member.present:
            raise SimError(f"{user.display} is already in {state.title}")
        if user.id in state.requests:
            raise SimError(f"{user.display} already asked to join {state.title}")
        invite = None
        if link is not None:
            invite = state.links.get(link)
            if invite is None:
                raise SimError(f"no such invite link in {state.title}: {link}")
            if invite.is_revoked:
                raise SimError(f"invite link {link} was revoked")
            if invite.expire_date is not None and invite.expire_date <= self._now():
                raise SimError(f"invite link {link} has expired")
            if invite.member_limit is not None and invite.joined >= invite.member_limit:
                raise SimError(f"invite link {link} reached its member limit")
        needs_approval = invite.creates_join_request if invite else state.join_by_request
        if needs_approval:
            state.requests[user.id] = JoinRequest(user.id, self._now(), invite.url if invite else None)
            if invite:
                invite.pending.add(user.id)
            if self._bot_has_right(state, "can_invite_users"):
                request: dict[str, Any] = {
                    "chat": self._chat_api(state),
                    "from": user.to_api(),
                    "user_chat_id": user.id,
                    "date": self._now(),
                }
                if invite:
                    request["invite_link"] = self._link_api(invite)
                self._emit("chat_join_request", request)
            self._event(state, f"{user.display} asked to join" + self._via(invite))
            return "requested"
        self._admit(state, user, invite, actor=user, via_request=False)
        return "joined"

    @locked
    def leave(self: FakeTelegram, chat: SimChat | int, user: SimUser) -> None:
        state = self._group(chat)
        member = self._present(state, user)
        if member.status == "creator":
            raise SimError("the owner leaving (and ownership transfer) is not modelled by the simulator")
        if member.status == "restricted":
            new = Member(user.id, "restricted", until_date=member.until_date, is_member=False,
                         permissions=dict(member.permissions or {}))
        else:
            new = Member(user.id, "left")
        self._change_member(state, user, new, actor=user)
        self._service_message(state, user, {"left_chat_member": user.to_api()}, f"{user.display} left")

    @locked
    def block(self: FakeTelegram, user: SimUser) -> None:
        """`user` blocks the bot: sends to them answer 403 "bot was blocked by the user"."""
        chat = self._private(user)
        if chat.blocked:
            raise SimError(f"{user.display} already blocked the bot")
        old = self._private_member_api(chat)
        chat.blocked = True
        self._emit_private_status(chat, user, old)

    @locked
    def unblock(self: FakeTelegram, user: SimUser) -> None:
        chat = self._private(user)
        if not chat.blocked:
            raise SimError(f"{user.display} has not blocked the bot")
        old = self._private_member_api(chat)
        chat.blocked = False
        chat.started = True
        self._emit_private_status(chat, user, old)

    # ================================================================== driver: messages

    @locked
    def send(
        self: FakeTelegram,
        user: SimUser,
        text: str,
        chat: SimChat | int | None = None,
        reply_to: int | dict[str, Any] | None = None,
        as_chat: bool = False,
        entities: list[dict[str, Any]] | None = None,
        topic: int | None = None,
        as_channel: SimChat | int | None = None,
    ) -> dict[str, Any]:
        """`user` writes `text` in `chat` (None: their private chat with the bot). Returns the Message. `as_chat`: an
        anonymous admin writes as the group (from GroupAnonymousBot, sender_chat the group). `as_channel`: the user
        writes in a supergroup on behalf of a channel they own or post in (Telegram's "send as"): sender_chat is the
        channel and `from` the fake Channel_Bot user, as the Bot API says for messages sent on behalf of a chat. `entities`:
        formatting the user applied in their app (bold, italic…; offsets in UTF-16 units, as Telegram counts),
        next to those Telegram detects itself (commands, links, @mentions). `topic`: the forum topic it is
        written in (a reply goes to its message's topic)."""
        self._known_user(user)
        if not text.strip():
            raise SimError("Telegram clients do not send empty messages")
        member = None
        if chat is None:
            if as_chat or as_channel is not None:
                raise SimError("as_chat and as_channel are only possible in groups")
            state = self._private(user)
            if state.blocked:
                raise SimError(f"{user.display} blocked the bot; unblock first")
            state.started = True
            sender, sender_chat = user, None
        else:
            state = self._group(chat)
            member = self._present(state, user)
            self._check_user_may_write(state, user, member)
            sender, sender_chat = user, None
            if as_chat:
                if member.status not in ("creator", "administrator") or not member.is_anonymous:
                    raise SimError(f"{user.display} is not an anonymous administrator of {state.title}")
                sender, sender_chat = self.anonymous_admin, self._chat_api(state)
            elif as_channel is not None:
                sender, sender_chat = self.channel_bot, self._chat_api(self._send_as_channel(state, user, as_channel))
        reply = self._driver_reply_target(state, reply_to)
        if reply is not None and reply.data.get("is_topic_message"):
            topic = reply.data["message_thread_id"] if topic is None else topic  # a reply stays in its topic
        content: dict[str, Any] = {"text": text}
        if topic is not None:
            self._driver_topic(state, member, user, topic)
            reply = self._in_topic(state, topic, content, reply)
        entities = sorted([*auto_entities(text), *copy.deepcopy(entities or [])], key=lambda e: (e["offset"], -e["length"]))
        if entities:
            content["entities"] = entities
        msg = self._new_message(state, sender, content, sender_chat=sender_chat, reply_to=reply, author_id=user.id)
        self._deliver(state, msg, "message")
        return copy.deepcopy(msg.data)

    @locked
    def edit(self: FakeTelegram, user: SimUser, message: dict[str, Any], new_text: str) -> dict[str, Any]:
        state, msg = self._driver_message(message)
        if msg.service or msg.sender_id != user.id or msg.data.get("from", {}).get("id") == self.bot.id:
            raise SimError(f"{user.display} can only edit their own messages")
        if "text" not in msg.data:
            raise SimError("only text messages can be edited by the driver")
        if msg.data["text"] == new_text:
            raise SimError("Telegram clients do not send an edit that changes nothing")
        self._mark_edited(msg, {"text": new_text, "entities": auto_entities(new_text)})
        self._deliver(state, msg, "edited_message")
        return copy.deepcopy(msg.data)

    @locked
    def download(self: FakeTelegram, file_id: str) -> bytes:
        """What a person gets opening a photo or document the bot sent (a file_id from its message)."""
        record = self._files.get(file_id)
        if record is None:
            raise SimError(f"no file {file_id!r}")
        return record["content"]

    @locked
    def press(self: FakeTelegram, user: SimUser, message: dict[str, Any], data: str) -> str:
        """`user` presses the inline button with callback_data == data; returns the callback query id."""
        state, msg = self._driver_message(message)
        self._check_can_see(state, user)
        buttons = [b for row in (msg.data.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
        button = next((b for b in buttons if b.get("callback_data") == data), None)
        if button is None:
            offered = [b.get("callback_data") for b in buttons if "callback_data" in b]
            raise SimError(f"no button with callback_data {data!r} on that message (has {offered})")
        query_id = self._random_digits(19)
        self._callbacks[query_id] = CallbackRecord(
            id=query_id, user_id=user.id, chat_id=state.id, message_id=msg.data["message_id"],
            data=data, button_text=button["text"], created=self._now(),
        )
        self._event(state, f"{user.display} pressed '{button['text']}'")
        self._emit("callback_query", {
            "id": query_id,
            "from": user.to_api(),
            "message": copy.deepcopy(msg.data),
            "chat_instance": str((abs(state.id) * 2654435761) % 10**19),
            "data": data,
        })
        return query_id

    @locked
    def vote(self: FakeTelegram, user: SimUser, poll_message: dict[str, Any], option_ids: list[int]) -> None:
        self._close_due_polls()
        state, msg = self._driver_message(poll_message)
        self._check_can_see(state, user)
        poll = msg.data.get("poll")
        if poll is None:
            raise SimError("that message is not a poll")
        record = self._polls.get(poll["id"])
        if record is None:  # a person's poll (sent with send_media): votes are counted, the bot is not told
            record = self._polls[poll["id"]] = PollRecord(
                id=poll["id"], chat_id=state.id, message_id=msg.data["message_id"], is_anonymous=poll["is_anonymous"],
                allows_multiple_answers=poll["allows_multiple_answers"], by_bot=False)
        if poll["is_closed"]:
            raise SimError("the poll is closed")
        options = list(option_ids)
        if any(not 0 <= i < len(poll["options"]) for i in options) or len(set(options)) != len(options):
            raise SimError(f"invalid option ids {options} for a poll with {len(poll['options'])} options")
        if len(options) > 1 and not record.allows_multiple_answers:
            raise SimError("this poll allows one answer")
        if user.id in record.votes and not poll["allows_revoting"]:
            raise SimError("this poll does not allow changing a vote")  # a quiz's answer is final: not even retracted
        if not options and user.id not in record.votes:
            raise SimError("there is no vote to retract")
        for i in record.votes.pop(user.id, []):
            poll["options"][i]["voter_count"] -= 1
        if options:
            record.votes[user.id] = options
            for i in options:
                poll["options"][i]["voter_count"] += 1
        poll["total_voter_count"] = len(record.votes)
        chosen = ", ".join(f"'{poll['options'][i]['text']}'" for i in options) or "nothing (vote retracted)"
        # People see who voted only in a non-anonymous poll.
        self._event(state, "someone voted (anonymous poll)" if record.is_anonymous
                    else f"{user.display} voted {chosen}")
        msg.changed_at = self.next_order()  # the poll shows the new counts, after the vote
        # "Bots receive new votes only in polls that were sent by the bot itself", and poll updates only for those.
        if not record.by_bot:
            return
        if not record.is_anonymous:
            self._emit("poll_answer", {
                "poll_id": poll["id"],
                "user": user.to_api(),
                "option_ids": options,
                "option_persistent_ids": [poll["options"][i]["persistent_id"] for i in options],
            })
        self._emit("poll", copy.deepcopy(poll))

    # ================================================================== driver: fault injection

    @locked
    def flood(self: FakeTelegram, method: str | None = None, retry_after: int = 5, times: int = 1) -> None:
        """The next `times` calls (to `method`, or any) answer 429 with retry_after, as Telegram's flood control."""
        self._failures.append({
            "method": method, "times": times, "code": 429,
            "description": f"Too Many Requests: retry after {retry_after}",
            "parameters": {"retry_after": retry_after},
        })

    @locked
    def lose_confirmations(self: FakeTelegram, lost: bool = True) -> None:
        """While on, a getUpdates offset is honoured for that call but never confirms anything: every update
        delivered stays pending, and a bot that starts afresh (offset 0) gets them all again — what Telegram does
        for a bot that died before its next getUpdates confirmed them. lose_confirmations(False) ends it."""
        self._confirmations_lost = lost

    @locked
    def enforce_flood_limits(
        self: FakeTelegram, group_max: int = 20, group_period: float = 60.0, overall_max: int = 30,
        overall_period: float = 1.0,
    ) -> None:
        """Answer 429 to a message past Telegram's flood limits (20 a minute to one group, 30 a second overall),
        judged by the simulator's clock. Off by default: a FixedClock that never moves would see every message
        of a long test in the same instant."""
        self._flood_limits = (group_max, group_period, overall_max, overall_period)

    @locked
    def set_fail(self: FakeTelegram, method: str, code: int, description: str, times: int = 1) -> None:
        """The next `times` calls to `method` answer this error, e.g. 403 "Forbidden: bot was blocked by the user",
        400 "Bad Request: message to edit not found" (use Telegram's own descriptions: the bot reads them)."""
        self._failures.append(
            {"method": method, "times": times, "code": code, "description": description, "parameters": None}
        )

    @locked
    def refuse(self: FakeTelegram, method: str, why: str, times: int = 1) -> None:
        """The next `times` calls to `method` are refused as Telegram refuses a member call (sim.errors.REFUSALS):
        "kicked", "not_member" (403), "no_rights", "user_not_found", "participant_invalid", "admin", "owner" (400), in
        Telegram's words.
        For causes the state cannot show by itself; a bot that is really removed or stripped of a right is refused
        so by the state (remove_bot, promote with the right off)."""
        error = REFUSALS[why]()
        self._failures.append(
            {"method": method, "times": times, "code": error.code, "description": error.description, "parameters": None}
        )

    @locked
    def clear_faults(self: FakeTelegram) -> None:
        """Forget every injected failure not yet used up: Telegram is fine again."""
        self._failures.clear()

    @locked
    def network_error(self: FakeTelegram, method: str | None = None, times: int = 1) -> None:
        """The next `times` calls (to `method`, or any) never reach Telegram: nothing happens, the bot sees a
        network error (PTB's NetworkError; over HTTP the connection is dropped)."""
        self._failures.append({"method": method, "times": times, "transport": "network"})

    @locked
    def timeout_after_send(self: FakeTelegram, method: str | None = None, times: int = 1) -> None:
        """The next `times` calls (to `method`, or any) are carried out, but the answer is lost: the message is
        sent, the member restricted…, and the bot sees a timeout (PTB's TimedOut; over HTTP no answer comes)."""
        self._failures.append({"method": method, "times": times, "transport": "timeout"})

