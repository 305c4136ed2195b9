"""Two kinds of refusal: ApiError is what the Bot API answers the bot; SimError is what a Telegram client
would not let a person do."""
from __future__ import annotations

from typing import Any


class SimError(Exception):
    """A driver action (a person's action in a Telegram client) that Telegram would not allow.

    Raised synchronously to the test or demo that asked for it; never turned into an API response.
    """


class ApiError(Exception):
    """An error answer of the Bot API: becomes {"ok": false, "error_code": ..., "description": ...}."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad_request(message: str) -> ApiError:
    # Telegram lower-cases the first letter of tdlib's messages unless it is an ERROR_CODE-style token.
    return ApiError(400, f"Bad Request: {message}")


def forbidden(message: str) -> ApiError:
    return ApiError(403, f"Forbidden: {message}")


# How Telegram words its refusals of the member calls (getChatMember, restrictChatMember, banChatMember,
# unbanChatMember): the simulator's own checks use these, and FakeTelegram.refuse injects them where its state cannot
# show the cause by itself (an account Telegram no longer resolves, a right taken away between two calls).
NO_RESTRICT_RIGHTS = "not enough rights to restrict/unrestrict chat member"
USER_NOT_FOUND = "user not found"
PARTICIPANT_ID_INVALID = "PARTICIPANT_ID_INVALID"
TARGET_IS_ADMIN = "user is an administrator of the chat"
TARGET_IS_OWNER = "can't remove chat owner"


def kicked(kind: str = "supergroup") -> ApiError:
    return forbidden(f"bot was kicked from the {kind} chat")


def not_a_member(kind: str = "supergroup") -> ApiError:
    return forbidden(f"bot is not a member of the {kind} chat")


REFUSALS = {
    "kicked": kicked,  # 403: the bot was removed from the group
    "not_member": not_a_member,  # 403: the bot left, or was never added
    "no_rights": lambda: bad_request(NO_RESTRICT_RIGHTS),  # 400: not an admin, or without "Ban users"
    "user_not_found": lambda: bad_request(USER_NOT_FOUND),  # 400: an id Telegram does not know (a deleted account)
    "participant_invalid": lambda: bad_request(PARTICIPANT_ID_INVALID),  # 400: not a participant Telegram can act on
    "admin": lambda: bad_request(TARGET_IS_ADMIN),  # 400: the member is an admin (promoted where the bot did not see)
    "owner": lambda: bad_request(TARGET_IS_OWNER),  # 400: the member owns the group
}


def unsupported(what: str) -> ApiError:
    """Clearly ours: something real Telegram supports that the simulator does not model."""
    return ApiError(400, f"Bad Request: {what} not supported by the simulator")


class TransportFault(Exception):
    """An injected fault of the network between the bot and Telegram, not an answer of the Bot API.

    "network": the request never reached Telegram (nothing happened). "timeout": Telegram did what was asked,
    but its answer never came back (the bot cannot tell whether it happened)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class SimBug(Exception):
    """The simulator produced an object that does not conform to api.json - a bug in the simulator."""
