"""Bot-level methods: getMe, the update transport switches (getUpdates/webhooks), logOut/close and the
command menus stored per scope and language."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import ApiError, bad_request

if TYPE_CHECKING:
    from .core import FakeTelegram

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE = re.compile(r"[a-z]{2}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
WEBHOOK_PORTS = (443, 80, 88, 8443)


class BotMethods:
    def api_getMe(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def api_getUpdates(self: FakeTelegram, p: dict[str, Any]) -> list[dict[str, Any]]:
        return self._get_updates(p, block=True)

    def api_logOut(self: FakeTelegram, p: dict[str, Any]) -> bool:
        # After logOut the cloud server no longer serves the token.
        self._logged_out = True
        return True

    def api_close(self: FakeTelegram, p: dict[str, Any]) -> bool:
        return True

    # ------------------------------------------------------------------ webhooks

    def api_setWebhook(self: FakeTelegram, p: dict[str, Any]) -> tuple[bool, str]:
        """A set webhook switches getUpdates off (409) and keeps updates pending: tests collect them with
        take_updates as a webhook would, or have them POSTed to the bot (deliver_webhooks, bot/sim/webhook.py)."""
        url = p["url"]
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (parts.port or 443) not in WEBHOOK_PORTS:
            raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = p.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._updates.clear()
        if "allowed_updates" in p:
            self._allowed = list(p["allowed_updates"])
        new = {
            "url": url,
            "max_connections": min(max(p.get("max_connections", 40), 1), 100),
            "secret_token": secret,
            "ip_address": p.get("ip_address"),
        }
        if self._webhook == new:
            return True, "Webhook is already set"
        self._webhook = new
        self._begin_long_poll()  # a running long poll ends: "terminated by setWebhook request"
        return True, "Webhook was set"

    def api_deleteWebhook(self: FakeTelegram, p: dict[str, Any]) -> tuple[bool, str]:
        if p.get("drop_pending_updates"):
            self._updates.clear()
        if self._webhook is None:
            return True, "Webhook is already deleted"
        self._webhook = None
        return True, "Webhook was deleted"

    def api_getWebhookInfo(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook:
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook["ip_address"]:
                info["ip_address"] = self._webhook["ip_address"]
            if self._allowed:
                info["allowed_updates"] = list(self._allowed)
        return info

    # ------------------------------------------------------------------ commands

    def _command_scope_key(self: FakeTelegram, p: dict[str, Any]) -> tuple[Any, ...]:
        scope = p.get("scope") or {"type": "default"}
        language = p.get("language_code", "")
        if language and not _LANGUAGE.fullmatch(language):
            raise bad_request("invalid language code specified")
        kind = scope["type"]
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            return kind, None, None, language
        # chat, chat_administrators, chat_member: the chat must be one the bot can see.
        try:
            chat = self._resolve_chat(scope["chat_id"])
            self._access(chat, write=False)
        except ApiError as exc:
            raise bad_request(f"can't parse BotCommandScope: {exc.description.split(': ', 1)[-1]}") from None
        if kind == "chat_administrators" and not chat.is_group:
            raise bad_request("can't parse BotCommandScope: chat administrators scope is available only in groups")
        user_id = None
        if kind == "chat_member":
            if not chat.is_group:
                raise bad_request("can't parse BotCommandScope: chat member scope is available only in groups")
            user_id = scope["user_id"]
            if not self._member(chat, user_id).present:
                raise bad_request("can't parse BotCommandScope: user not found")
        return kind, chat.id, user_id, language

    def api_setMyCommands(self: FakeTelegram, p: dict[str, Any]) -> bool:
        commands = p["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        for command in commands:
            if not _COMMAND.fullmatch(command["command"]):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"]) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._command_scope_key(p)
        if commands:
            self._commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        else:
            self._commands.pop(key, None)  # an empty list deletes, as in Telegram
        return True

    def api_getMyCommands(self: FakeTelegram, p: dict[str, Any]) -> list[dict[str, str]]:
        # Exactly the list stored for this scope and language; no fallback (Telegram's getMyCommands).
        return [dict(c) for c in self._commands.get(self._command_scope_key(p), [])]

    def api_deleteMyCommands(self: FakeTelegram, p: dict[str, Any]) -> bool:
        self._commands.pop(self._command_scope_key(p), None)
        return True

    def commands(
        self: FakeTelegram, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, str]]:
        """Driver query: the command list stored for a scope (default scope if None) and language."""
        with self._lock:
            scope = scope or {"type": "default"}
            kind = scope["type"]
            chat_id = scope.get("chat_id")
            if chat_id is not None and not isinstance(chat_id, int):
                chat_id = chat_id.id
            return [dict(c) for c in self._commands.get((kind, chat_id, scope.get("user_id"), language_code), [])]
