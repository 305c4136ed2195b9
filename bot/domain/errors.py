"""Typed errors a user can cause; bot/texts turns each into one clear line in the group's language."""
from __future__ import annotations


# What a refusal quotes back of what was typed ("… is not an order id"): at most this many characters, so the
# answer fits in Telegram's 4096 however long the message was. The longest value a refusal names legitimately
# (a shop description, a rejection note) is 200.
QUOTE_LIMIT = 200


def quoted(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text` as a refusal may quote it: cut to `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def row_id(word: str) -> int | None:
    """A row's number as typed (`3` or `#3`), or None: ids are SQLite integers, so 0 or 19 digits name nothing."""
    digits = word.lstrip("#")
    # isascii: "²" and "١٢" are digits to str.isdigit but not to int()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18 or int(digits) == 0:
        return None
    return int(digits)


class UserError(Exception):
    """Base for everything a user did that we refuse. `code` picks the text; `params` fill it (texts quoted from the
    user are shortened here, the one place every refusal passes)."""

    code = "error"

    def __init__(self, **params: object) -> None:
        params = {k: quoted(v) if isinstance(v, str) else v for k, v in params.items()}
        super().__init__(f"{self.code}: {params}")
        self.params = params


class UsageError(UserError):
    """Wrong or missing arguments; the reply is the command's usage line."""

    code = "usage"


class NotAllowedError(UserError):
    code = "not_allowed"  # params: needed (Role)


class GroupOnlyError(UserError):
    code = "group_only"


class PrivateOnlyError(UserError):
    code = "private_only"


class TargetError(UserError):
    """The command needs a member and we could not tell which one."""

    code = "target"  # params: reason in {no_target, reply_to_bot, reply_to_channel, unknown_username, unknown_id, not_member}, name


class RoleChangeError(UserError):
    code = "role_change"  # params: reason in {owner, telegram_admin, same, not_set, hierarchy, is_bot}, role


class SettingError(UserError):
    code = "setting"  # params: reason in {unknown_key, bad_value}, key, detail


class LookupNotAllowedError(UserError):
    """A member named someone else in a personal command (/me, /history, /badges, /invites): admins only."""

    code = "lookup"  # params: command


class AnonymousAdminError(UserError):
    """Writing as the group hides who you are; personal commands need the person."""

    code = "anonymous"


class ChannelActorError(UserError):
    """Someone writing as a channel asked for a personal command: a channel is nobody's check-in, points or report."""

    code = "channel_actor"


class BotActorError(UserError):
    """Another bot asked for a personal command (a check-in, points, a report…): those are for people."""

    code = "bot_actor"


class ConnectError(UserError):
    """Managing a group from private chat (/connect) could not go ahead."""

    code = "connect"  # params: reason in {not_admin, not_member, unknown_group, lost, unverified, not_connected, no_groups, in_group, bot_gone, expired}, title, command, name


class MissingRightError(UserError):
    """A note, not a refusal: the setting is stored, but it needs a Telegram admin right the bot lacks in the group."""

    code = "missing_right"  # params: key (a setting) or feature (one without a setting, bot.domain.settings.FEATURE_RIGHTS), right


def bounded_text(text: str, error: type[UserError], limit: int) -> str:
    """A text a member wrote for a list (a suggestion, a topic): stripped, not empty, at most `limit` characters."""
    text = text.strip()
    if not text:
        raise error(reason="empty")
    if len(text) > limit:
        raise error(reason="too_long", limit=limit)
    return text


def typed_id(word: str, error: type[UserError]) -> int:
    """A row's number as typed, or `error` with reason bad_id."""
    found = row_id(word)
    if found is None:
        raise error(reason="bad_id")
    return found
