"""What every Bot API method shares: finding the target chat and user, and Telegram's access refusals
(chat not found, bot not a member or kicked, can't initiate conversation)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import USER_NOT_FOUND, ApiError, bad_request, forbidden, kicked, not_a_member, unsupported
from .state import ANONYMOUS_ADMIN_ID, CHANNEL_BOT_ID, ChatState, SimUser

if TYPE_CHECKING:
    from .core import FakeTelegram

# A user's join request lets the bot write to them for 5 minutes (ChatJoinRequest.user_chat_id).
JOIN_REQUEST_DM_WINDOW = 5 * 60


class CommonMethods:
    def _resolve_chat(self: FakeTelegram, chat_id: int | str) -> ChatState:
        if isinstance(chat_id, int):
            state = self._chats.get(chat_id)
            if state is not None and state.migrated_to is not None:
                raise ApiError(
                    400, "Bad Request: group chat was upgraded to a supergroup chat",
                    {"migrate_to_chat_id": state.migrated_to},
                )
            if state is not None:
                return state
            user = self._users.get(chat_id)
            if user is not None and chat_id not in (self.bot.id, ANONYMOUS_ADMIN_ID, CHANNEL_BOT_ID):
                return self._private(user)
        elif chat_id.startswith("@"):
            wanted = chat_id[1:].lower()
            for state in self._chats.values():
                if state.username and state.username.lower() == wanted:
                    return state
        raise bad_request("chat not found")

    def _access(self: FakeTelegram, state: ChatState, write: bool = True) -> None:
        """Refuse as Telegram does when the bot may not act in the chat."""
        if state.type == "private":
            user = self._users[state.id]
            if user.is_bot:
                raise forbidden("bot can't send messages to bots")
            if write:
                if state.blocked:
                    raise forbidden("bot was blocked by the user")
                if not state.started and not self._in_join_request_window(user.id):
                    raise forbidden("bot can't initiate conversation with a user")
            return
        bot = self._bot_member(state)
        if bot.status == "kicked":
            raise kicked(state.kind)
        if not bot.present:
            raise not_a_member(state.kind)

    def _in_join_request_window(self: FakeTelegram, user_id: int) -> bool:
        now = self._now()
        return any(
            user_id in chat.requests and now - chat.requests[user_id].date < JOIN_REQUEST_DM_WINDOW
            for chat in self._chats.values()
        )

    def _chat_for(self: FakeTelegram, p: dict[str, Any], write: bool = True) -> ChatState:
        state = self._resolve_chat(p["chat_id"])
        self._access(state, write)
        return state

    def _group_for(self: FakeTelegram, p: dict[str, Any], supergroup_only: bool = False) -> ChatState:
        state = self._chat_for(p)
        if not state.is_group:
            raise bad_request("method is available for supergroup and channel chats only")
        if supergroup_only and state.type != "supergroup":
            raise bad_request("method is available only for supergroups")
        return state

    def _target_user(self: FakeTelegram, user_id: int) -> SimUser:
        if user_id <= 0:
            raise bad_request("invalid user_id specified")
        user = self._users.get(user_id)
        if user is None or user_id in (ANONYMOUS_ADMIN_ID, CHANNEL_BOT_ID):
            raise bad_request(USER_NOT_FOUND)
        return user

    def _reject_unmodelled(self: FakeTelegram, p: dict[str, Any]) -> None:
        """Parameters for Telegram features the simulator does not model: refuse rather than ignore."""
        if "business_connection_id" in p:
            raise bad_request("business connection not found")
        if "direct_messages_topic_id" in p:
            raise unsupported("direct messages topics are")
        if "suggested_post_parameters" in p:
            raise unsupported("suggested posts are")
        if "rich_message" in p:
            raise unsupported("rich messages are")
