"""The simulator's state: the public handles tests hold (SimUser, SimChat, Call) and the records behind them
(members, messages, invite links, join requests, callback queries, polls)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .spec import load_spec

ANONYMOUS_ADMIN_ID = 1087968824  # GroupAnonymousBot: the `from` of messages sent by anonymous admins
CHANNEL_BOT_ID = 136817688  # Channel_Bot: the `from` of messages a person sends in a group on behalf of a channel
TELEGRAM_ID = 777000  # "Telegram", the service account: the `from` of a channel post automatically forwarded to its discussion group

_SPEC = load_spec()
# Rights and permissions come from api.json, so a new Bot API field shows up in every ChatMember at once.
PERMISSIONS = tuple(f["name"] for f in _SPEC.object_fields("ChatPermissions"))
_CHANNEL_ONLY = {"can_post_messages", "can_edit_messages", "can_manage_direct_messages"}
ADMIN_RIGHTS = tuple(  # what a group administrator has; Telegram leaves the channel-only rights out
    f["name"]
    for f in _SPEC.object_fields("ChatMemberAdministrator")
    if f["name"].startswith("can_") and f["name"] != "can_be_edited" and f["name"] not in _CHANNEL_ONLY
)
# A channel administrator's rights (api.json ChatMemberAdministrator, "channels only" ones included).
CHANNEL_RIGHTS = ("can_manage_chat", "can_change_info", "can_post_messages", "can_edit_messages", "can_delete_messages",
                  "can_invite_users", "can_restrict_members", "can_promote_members", "can_manage_video_chats",
                  "can_post_stories", "can_edit_stories", "can_delete_stories")
# What a person gets when promoted in a Telegram app without touching the toggles; bots get the same.
USUAL_ADMIN_RIGHTS = {right: right not in ("can_promote_members", "can_manage_topics") for right in ADMIN_RIGHTS}
# A new group: members may write and invite, only admins change info or pin.
DEFAULT_PERMISSIONS = {
    p: p not in ("can_change_info", "can_pin_messages", "can_manage_topics", "can_edit_tag") for p in PERMISSIONS
}

MEMBER_STATUSES = ("creator", "administrator", "member")  # in the chat, unrestricted


@dataclass(frozen=True)
class SimUser:
    """A Telegram account the simulator knows; immutable, so tests can keep and compare it freely."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    last_name: str | None = None

    def to_api(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code and not self.is_bot:
            user["language_code"] = self.language_code
        return user

    @property
    def display(self) -> str:
        """How a transcript names the account: bots by name, people by username."""
        if self.is_bot:
            return self.first_name
        return self.username or self.first_name


@dataclass(frozen=True)
class SimChat:
    """A group chat handle; its mutable state lives in the simulator."""

    id: int
    title: str
    type: str  # "supergroup" or "group"
    username: str | None = None


@dataclass
class Call:
    """One Bot API request as the simulator received and answered it.

    params holds the decoded values (uploads summarised); for a request refused before decoding (401, 404,
    injected failures, validation errors) it holds the wire strings as they came.
    """

    method: str
    params: dict[str, Any]
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    fault: str | None = None  # an injected transport fault: "network" (never arrived) or "timeout" (done, answer lost)
    at: float = 0.0  # when it arrived, unix time by the simulator's clock
    sent_to: int | None = None  # a message under flood control: the group it went to, 0 for any other chat


@dataclass
class Member:
    user_id: int
    status: str  # creator | administrator | member | restricted | left | kicked
    until_date: int = 0  # restricted / kicked: 0 = forever
    is_member: bool = True  # restricted only: still in the chat?
    permissions: dict[str, bool] | None = None  # restricted only
    rights: dict[str, bool] | None = None  # administrator only
    is_anonymous: bool = False
    custom_title: str | None = None
    promoted_by: int | None = None

    @property
    def present(self) -> bool:
        """In the chat right now (can read it, is counted as a member)."""
        return self.status in MEMBER_STATUSES or (self.status == "restricted" and self.is_member)


@dataclass
class InviteLink:
    url: str
    creator_id: int
    name: str | None = None
    expire_date: int | None = None
    member_limit: int | None = None
    creates_join_request: bool = False
    is_primary: bool = False
    is_revoked: bool = False
    joined: int = 0
    pending: set[int] = field(default_factory=set)


@dataclass
class JoinRequest:
    user_id: int
    date: int
    link_url: str | None


@dataclass
class Msg:
    data: dict[str, Any]  # the Bot API Message, as getUpdates/sendMessage would show it
    sender_id: int
    service: bool = False
    deleted: bool = False
    edited: bool = False
    changed_at: int = 0  # the world's order (FakeTelegram.next_order) of its last edit or deletion, 0 if none


@dataclass
class Topic:
    """A forum topic: its id is the id of the service message that created it (forum_topic_created)."""

    thread_id: int
    name: str
    icon_color: int
    creator_id: int
    closed: bool = False
    deleted: bool = False


@dataclass
class ChatState:
    id: int
    type: str  # private | group | supergroup | channel
    title: str | None = None
    username: str | None = None
    members: dict[int, Member] = field(default_factory=dict)
    messages: dict[int, Msg] = field(default_factory=dict)
    next_message_id: int = 1
    permissions: dict[str, bool] = field(default_factory=dict)
    join_by_request: bool = False
    description: str | None = None
    links: dict[str, InviteLink] = field(default_factory=dict)
    requests: dict[int, JoinRequest] = field(default_factory=dict)
    pinned: list[int] = field(default_factory=list)
    # The chat as people see it: ("msg", message_id, order) or ("event", text, order), `order` counting across
    # every chat of the world (so a printer can interleave chats as things happened); rendered by transcript.py.
    timeline: list[tuple[str, Any, int]] = field(default_factory=list)
    # Private chats only: the user pressed Start / wrote first; or blocked the bot.
    started: bool = False
    blocked: bool = False
    # A basic group upgraded to a supergroup: the id of the supergroup; the old id answers every call with 400.
    migrated_to: int | None = None
    # A forum supergroup (topics on): its topics by thread id; messages outside every topic are in General.
    is_forum: bool = False
    topics: dict[int, Topic] = field(default_factory=dict)
    # A channel and its discussion group name each other (getChat's linked_chat_id); the channel's posts are forwarded
    # into the group automatically.
    linked_chat_id: int | None = None
    # Channels (sender chats) banned here with banChatSenderChat: nobody may write on behalf of them, and their owner
    # on behalf of none of their channels, until unbanned.
    banned_senders: set[int] = field(default_factory=set)

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    @property
    def kind(self) -> str:
        """The word Telegram uses in "bot is not a member of the <kind> chat"."""
        return self.type if self.type in ("supergroup", "channel") else "group"


@dataclass
class CallbackRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    button_text: str
    created: float  # unix time, by the simulator's clock
    answered: bool = False


@dataclass
class PollRecord:
    id: str
    chat_id: int
    message_id: int
    is_anonymous: bool
    allows_multiple_answers: bool
    votes: dict[int, list[int]] = field(default_factory=dict)
    closes_at: int | None = None  # unix time (open_period / close_date): Telegram closes the poll by itself then
    by_bot: bool = True  # a person's poll: the bot hears nothing of its votes
