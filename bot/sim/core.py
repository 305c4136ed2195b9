"""FakeTelegram: the simulated Telegram for one bot - its state, the update queue, the queries tests read,
and `handle`, the single entry every Bot API request (in-process or over HTTP) goes through."""
from __future__ import annotations

import collections
import copy
import json
import logging
import math
import random
import threading
import time
from typing import TYPE_CHECKING, Any

from ..clock import Clock, SystemClock
from . import transcript as _transcript
from .api_bot import BotMethods
from .api_common import CommonMethods
from .api_members import MemberMethods
from .api_messages import MessageMethods
from .driver import DriverMixin
from .forums import ForumMixin
from .user_media import UserMediaMixin
from .channels import ChannelMixin
from .errors import ApiError, SimBug, SimError, TransportFault
from .spec import UploadedFile, load_spec
from .state import ANONYMOUS_ADMIN_ID, CHANNEL_BOT_ID, TELEGRAM_ID, Call, CallbackRecord, ChatState, PollRecord, SimChat, SimUser
from .world import WorldMixin, locked

if TYPE_CHECKING:
    from .transport import SimServer
    from .webhook import WebhookDelivery

log = logging.getLogger(__name__)

_SPEC = load_spec()
# Telegram's default when allowed_updates was never given or given as [].
DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
LONG_POLL_STEP = 0.5
FLOODED_ALSO = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


class FakeTelegram(DriverMixin, ForumMixin, UserMediaMixin, ChannelMixin, BotMethods, MessageMethods, MemberMethods, CommonMethods, WorldMixin):
    """The simulated Telegram cloud for one bot.

    Tests act as people through the driver methods (user, create_group, join, send, press, ...), which raise
    SimError for what a Telegram client would not allow. The bot talks to `handle` through SimRequest or the
    HTTP server, and gets Telegram's answers and refusals. Everything is guarded by one RLock because the
    HTTP server answers from its own threads.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        bot_username: str = "StickyTestBot",
        bot_name: str = "Sticky",
        token: str = "123456:TEST-TOKEN",
        *,
        privacy_mode: bool = True,
        bot_to_bot: bool = False,
    ) -> None:
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self.clock: Clock = clock or SystemClock()
        self.token = token
        self.spec = _SPEC
        # Privacy mode is on by default for every bot: outside admin rights it only sees commands and replies.
        self.privacy_mode = privacy_mode
        # Bot-to-Bot Communication Mode (off unless turned on in @BotFather): other bots' messages are not delivered.
        self.bot_to_bot = bot_to_bot
        self.bot = SimUser(id=7000000001, first_name=bot_name, username=bot_username, is_bot=True)
        self.anonymous_admin = SimUser(
            id=ANONYMOUS_ADMIN_ID, first_name="Group", username="GroupAnonymousBot", is_bot=True
        )
        # "For backward compatibility, if the message was sent on behalf of a chat, the field from contains a fake
        # sender user in non-channel chats": Channel_Bot when a person writes in a group as one of their channels.
        self.channel_bot = SimUser(id=CHANNEL_BOT_ID, first_name="Channel", username="Channel_Bot", is_bot=True)
        # The service account a channel post automatically forwarded to the channel's discussion group comes from.
        self.telegram = SimUser(id=TELEGRAM_ID, first_name="Telegram")
        self._users: dict[int, SimUser] = {
            self.bot.id: self.bot, ANONYMOUS_ADMIN_ID: self.anonymous_admin, CHANNEL_BOT_ID: self.channel_bot,
            TELEGRAM_ID: self.telegram}
        self._users_by_name: dict[str, SimUser] = {}
        self._next_user_id = 1001
        self._chats: dict[int, ChatState] = {}
        self._next_supergroup = 1
        self._next_channel = 0
        self._next_basic_group = 1
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 100000001
        self._allowed: list[str] | None = None
        self._webhook: dict[str, Any] | None = None
        self._webhook_error: tuple[int, str] | None = None  # (unix time, message) of the last failed delivery
        self._commands: dict[tuple[Any, ...], list[dict[str, str]]] = {}
        self._callbacks: dict[str, CallbackRecord] = {}
        self._polls: dict[str, PollRecord] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._file_paths: dict[str, tuple[dict[str, Any], float]] = {}  # getFile's file_path -> (file, link expiry)
        self._calls: list[Call] = []
        self._failures: list[dict[str, Any]] = []
        self._logged_out = False
        # Over HTTP, how long a call whose answer is lost (timeout_after_send) keeps the client waiting: longer
        # than PTB's default 5 s read timeout, so the client gives up as it would with real Telegram.
        self.lost_answer_hold = 10.0
        self._poll_generation = 0
        self._flood_limits: tuple[int, float, int, float] | None = None  # see enforce_flood_limits
        self._confirmations_lost = False  # see lose_confirmations
        self._sent_log: collections.deque[tuple[float, int]] = collections.deque()  # (at, group id or 0)
        self._poll_closed_generation = -1
        # Seeded by the token so links and ids are the same from run to run (stable demo output).
        self._rng = random.Random(token)
        self._order = 0  # counts what happens in any chat (a message, an event, an edit), for next_order

    def next_order(self) -> int:
        """The next number in the one order of everything that happens across the world's chats: a transcript
        printed from several chats (a private command and its effect in the group) keeps the order of events."""
        with self._lock:
            self._order += 1
            return self._order

    # ================================================================== queries

    @locked
    def calls(self, method: str | None = None) -> list[Call]:
        return [copy.deepcopy(c) for c in self._calls if method is None or c.method == method]

    @locked
    def messages(self, chat: SimChat | SimUser | int) -> list[dict[str, Any]]:
        state = self._chat_ref(chat)
        return [copy.deepcopy(m.data) for m in state.messages.values() if not m.deleted]

    @locked
    def message(self, chat: SimChat | SimUser | int, message_id: int) -> dict[str, Any] | None:
        """One message as the chat shows it now, or None once deleted (or never sent)."""
        state = self._chat_ref(chat)
        m = state.messages.get(message_id)
        return None if m is None or m.deleted else copy.deepcopy(m.data)

    @locked
    def replies(self, chat: SimChat | SimUser | int) -> list[dict[str, Any]]:
        state = self._chat_ref(chat)
        return [
            copy.deepcopy(m.data) for m in state.messages.values()
            if not m.deleted and not m.service and m.sender_id == self.bot.id
        ]

    @locked
    def deleted(self, chat: SimChat | SimUser | int) -> list[dict[str, Any]]:
        state = self._chat_ref(chat)
        return [copy.deepcopy(m.data) for m in state.messages.values() if m.deleted]

    @locked
    def member(self, chat: SimChat | int, user: SimUser | int) -> dict[str, Any]:
        state = self._chat_ref(chat)
        user_id = user.id if isinstance(user, SimUser) else int(user)
        if user_id not in self._users:
            raise SimError(f"unknown user {user_id}")
        if not state.is_group:
            return self._private_member_api(state) if user_id == self.bot.id else {
                "status": "member", "user": self._users[user_id].to_api()}
        return self._member_api(state, self._member(state, user_id))

    @locked
    def invite_links(self, chat: SimChat | int) -> list[dict[str, Any]]:
        """Every link of the chat as the API would show it, plus the counters Telegram keeps (joined, pending)."""
        state = self._chat_ref(chat)
        return [
            {**self._link_api(link, full=True), "joined": link.joined, "pending": len(link.pending)}
            for link in state.links.values()
        ]

    @locked
    def join_requests(self, chat: SimChat | int) -> list[int]:
        """Who has asked to join and is still waiting (the list an admin sees in the app), oldest first."""
        state = self._chat_ref(chat)
        return [r.user_id for r in sorted(state.requests.values(), key=lambda r: r.date)]

    @locked
    def transcript(self, chat: SimChat | SimUser | int) -> list[str]:
        return _transcript.render(self, self._chat_ref(chat))

    @locked
    def transcript_entries(self, chat: SimChat | SimUser | int) -> list[tuple[tuple[str, int], str]]:
        """(key, text) per message or event; a message's key stays the same when it is edited or deleted."""
        return [(key, "\n".join(lines)) for key, lines, _at in _transcript.entries(self, self._chat_ref(chat))]

    @locked
    def transcript_changes(self, chat: SimChat | SimUser | int) -> list[tuple[tuple[str, int], str, int, int]]:
        """(key, text, created, changed) per message or event: `created` and `changed` (its last edit or deletion,
        0 if none) are places in next_order's one order across chats."""
        return [(key, "\n".join(lines), created, changed)
                for key, lines, (created, changed) in _transcript.entries(self, self._chat_ref(chat))]

    @property
    def pending_update_count(self) -> int:
        with self._lock:
            return len(self._updates)

    @property
    def allowed_updates(self) -> list[str] | None:
        with self._lock:
            return None if self._allowed is None else list(self._allowed)

    @locked
    def take_updates(self, allowed_updates: list[str] | None = None) -> list[dict[str, Any]]:
        """Return and confirm every pending update the bot would receive (for the in-process harness).

        allowed_updates works as in getUpdates: None keeps the previous setting, [] means the default.
        """
        if allowed_updates is not None:
            self._allowed = list(allowed_updates)
        self._close_due_polls()
        taken = [u for u in self._updates if self._is_allowed(u)]
        self._updates.clear()
        return copy.deepcopy(taken)

    def deliver_webhooks(self, proxy: dict[str, str], **options: float | int) -> WebhookDelivery:
        """Deliver pending updates to the webhook the bot sets, as Telegram does, from a daemon thread (close() it).
        `proxy` maps the webhook's public origin (https://host[:port]) to where the bot listens on 127.0.0.1."""
        from .webhook import WebhookDelivery

        return WebhookDelivery(self, proxy, **options)

    def serve_http(self, host: str = "127.0.0.1", port: int = 0) -> SimServer:
        """Serve the Bot API over HTTP from a daemon thread; use server.url + "/bot" as PTB's base_url."""
        from .transport import SimServer

        return SimServer(self, host, port)

    # ================================================================== the Bot API entry

    def handle(
        self,
        token: str,
        method: str,
        params: dict[str, str],
        files: dict[str, UploadedFile] | None = None,
        *,
        block: bool = True,
    ) -> tuple[int, bytes]:
        """Answer one Bot API request. params: str -> str, non-strings JSON-encoded (as PTB and HTTP forms send).

        block=False makes getUpdates return at once instead of long polling (SimRequest waits on its own,
        asynchronously, before calling).

        Raises TransportFault for an injected network fault (see network_error, timeout_after_send): the
        transports turn it into what a client sees (PTB's NetworkError / TimedOut, a dropped connection).
        """
        with self._lock:
            self._close_due_polls()  # what Telegram did by itself since the last request
            call = Call(method=method, params=dict(params), ok=False, at=self.clock.now().timestamp())
            try:
                status, body = self._answer(call, token, method, params, files or {}, block)
            finally:
                self._calls.append(call)
            if call.fault == "timeout":  # done, but the answer is lost on its way back
                raise TransportFault("timeout")
            return status, _json(body)

    def _answer(
        self, call: Call, token: str, method: str, params: dict[str, str],
        files: dict[str, UploadedFile], block: bool,
    ) -> tuple[int, dict[str, Any]]:
        if token != self.token or self._logged_out:
            return self._fail(call, ApiError(401, "Unauthorized"))
        name = self.spec.canonical_method(method)
        if name is None:
            return self._fail(call, ApiError(404, "Not Found"))
        call.method = name
        injected = self._take_failure(name)
        if isinstance(injected, TransportFault):
            call.fault = injected.kind
            if injected.kind == "network":
                call.description = "network error (injected): the request never reached Telegram"
                raise injected
        elif injected is not None:
            return self._fail(call, injected)
        try:
            decoded = self.spec.decode_params(name, params, files)
            call.params = {k: (v.summary() if isinstance(v, UploadedFile) else v) for k, v in decoded.items()}
            handler = getattr(self, f"api_{name}", None)
            if handler is None:
                raise ApiError(400, "Bad Request: method not supported by the simulator")
            if self._flood_limits is not None:
                self._flood_check(call, decoded)
            result = self._get_updates(decoded, block) if name == "getUpdates" else handler(decoded)
        except ApiError as exc:
            return self._fail(call, exc)
        except Exception as exc:  # a bug in the simulator: answer like a server error, loudly
            log.exception("simulator failed on %s", name)
            return self._fail(call, ApiError(500, f"Internal Server Error: simulator bug: {exc!r}"))
        description = None
        if isinstance(result, tuple):  # (result, description): setWebhook/deleteWebhook say what they did
            result, description = result
        problems = self.spec.check(self.spec.returns(name), result)
        if problems:
            log.error("simulator produced an invalid %s result: %s", name, problems)
            return self._fail(call, ApiError(500, f"Internal Server Error: simulator bug: {problems[:3]}"))
        call.ok, call.result = True, copy.deepcopy(result)
        if call.sent_to is not None:  # a message, counted by the flood limits
            self._sent_log.append((call.at, call.sent_to))
        body: dict[str, Any] = {"ok": True, "result": result}
        if description:
            body["description"] = description
        return 200, body

    def _flood_check(self, call: Call, p: dict[str, Any]) -> None:
        """Telegram's flood control, as Telegram states it: a bot may send at most `group_max` messages to one group
        in any `group_period` seconds and about `overall_max` in any `overall_period` overall; past that it answers
        429 with the seconds to wait. Messages are the sends (not the "typing…" action), copies and forwards."""
        name = call.method
        if not ((name.startswith("send") and name != "sendChatAction") or name in FLOODED_ALSO):
            return
        group_max, group_period, overall_max, overall_period = self._flood_limits
        now = call.at
        horizon = now - max(group_period, overall_period)
        while self._sent_log and self._sent_log[0][0] <= horizon:
            self._sent_log.popleft()
        overall = [at for at, _ in self._sent_log if at > now - overall_period]
        if len(overall) >= overall_max:
            raise self._flood_error(overall[len(overall) - overall_max] + overall_period - now)
        chat_id = p.get("chat_id")
        if isinstance(chat_id, str):
            state = next((c for c in self._chats.values() if c.username and f"@{c.username}" == chat_id), None)
        else:
            state = self._chats.get(chat_id)
        call.sent_to = state.id if state is not None and state.is_group else 0
        if not call.sent_to:
            return
        to_group = [at for at, chat in self._sent_log if chat == call.sent_to and at > now - group_period]
        if len(to_group) >= group_max:
            raise self._flood_error(to_group[len(to_group) - group_max] + group_period - now)

    @staticmethod
    def _flood_error(wait: float) -> ApiError:
        seconds = max(1, math.ceil(wait))
        return ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})

    def _fail(self, call: Call, error: ApiError) -> tuple[int, dict[str, Any]]:
        call.error_code, call.description = error.code, error.description
        body: dict[str, Any] = {"ok": False, "error_code": error.code, "description": error.description}
        if error.parameters:
            body["parameters"] = error.parameters
        return error.code, body

    def _take_failure(self, method: str) -> ApiError | TransportFault | None:
        for failure in self._failures:
            if failure["method"] in (None, method):
                failure["times"] -= 1
                if failure["times"] <= 0:
                    self._failures.remove(failure)
                if failure.get("transport"):
                    return TransportFault(failure["transport"])
                return ApiError(failure["code"], failure["description"], failure["parameters"])
        return None

    # ================================================================== update queue

    def _is_allowed(self, update: dict[str, Any], allowed: list[str] | None = None) -> bool:
        allowed = self._allowed if allowed is None else allowed
        kind = next(k for k in update if k != "update_id")
        if not allowed:  # never set, or []: the default
            return kind not in DEFAULT_EXCLUDED
        return kind in allowed

    def _emit(self, kind: str, payload: dict[str, Any]) -> None:
        update = {"update_id": self._next_update_id, kind: payload}
        problems = self.spec.check("Update", update, "update")
        if problems:
            raise SimBug(f"simulator built an invalid {kind} update: {problems[:3]}")
        # Telegram filters by the bot's setting when the update is created; until the bot gives one,
        # the queue keeps everything and the first getUpdates/take_updates decides.
        if self._allowed is not None and not self._is_allowed(update):
            return
        self._next_update_id += 1
        self._updates.append(update)
        self._cond.notify_all()

    def _get_updates(self, p: dict[str, Any], block: bool) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        # The real server clamps rather than refuses out-of-range limit and timeout.
        limit = min(max(p.get("limit", 100), 1), 100)
        timeout = min(max(p.get("timeout", 0), 0), 50)
        if "allowed_updates" in p:
            self._allowed = list(p["allowed_updates"])
        # Any getUpdates ends a long poll still waiting elsewhere (409 there), as on the real server.
        generation = self._begin_long_poll()
        offset = p.get("offset", 0)
        if not self._confirmations_lost:
            self._confirm(offset)
        ready = self._deliverable(limit, offset)
        if ready or timeout == 0 or not block:
            return ready
        deadline = time.monotonic() + timeout
        while True:
            self._cond.wait(min(LONG_POLL_STEP, max(deadline - time.monotonic(), 0)))
            if self._webhook is not None:
                raise ApiError(409, "Conflict: terminated by setWebhook request")
            if self._poll_generation != generation:
                if self._poll_closed_generation >= generation:
                    return []
                raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                    "make sure that only one bot instance is running")
            self._close_due_polls()
            ready = self._deliverable(limit, offset)
            if ready or time.monotonic() >= deadline:
                return ready

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _deliverable(self, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        # Updates the current setting filters out are dropped for good, as Telegram drops them.
        self._updates = [u for u in self._updates if self._is_allowed(u)]
        # Only ids from the offset on (the rest are confirmed; kept only while confirmations are being lost).
        pending = [u for u in self._updates if u["update_id"] >= offset] if offset > 0 else self._updates
        return copy.deepcopy(pending[:limit])

    def _begin_long_poll(self) -> int:
        # A new long poll ends any other one with 409, as the real server does.
        self._poll_generation += 1
        self._cond.notify_all()
        return self._poll_generation

    def start_long_poll(self) -> int:
        """Register a long poll that waits outside the lock (SimRequest); returns its generation."""
        with self._lock:
            return self._begin_long_poll()

    def wake_long_polls(self) -> None:
        """End every waiting long poll with an empty result (the HTTP server calls this when closing)."""
        with self._lock:
            self._poll_closed_generation = self._poll_generation
            self._poll_generation += 1
            self._cond.notify_all()

    def _long_poll_state(self, token: str, params: dict[str, str], generation: int) -> str:
        """For SimRequest's asynchronous long poll: "ready" (answer now), "wait", or "superseded"."""
        with self._lock:
            self._close_due_polls()
            if self._poll_generation != generation:
                return "ready" if self._poll_closed_generation >= generation else "superseded"
            if token != self.token or self._logged_out or self._webhook is not None:
                return "ready"
            try:
                p = self.spec.decode_params("getUpdates", params)
            except ApiError:
                return "ready"
            offset = p.get("offset", 0)
            allowed = p.get("allowed_updates", self._allowed)
            pending = self._updates[offset:] if offset < 0 else [
                u for u in self._updates if u["update_id"] >= offset]
            return "ready" if any(self._is_allowed(u, allowed) for u in pending) else "wait"

    def _conflict(self, token: str, method: str, params: dict[str, str]) -> tuple[int, bytes]:
        """The answer a long poll gets when a newer getUpdates superseded it (logged like any call)."""
        with self._lock:
            call = Call(method="getUpdates", params=dict(params), ok=False)
            status, body = self._fail(call, ApiError(
                409, "Conflict: terminated by other getUpdates request; "
                     "make sure that only one bot instance is running"))
            self._calls.append(call)
            return status, _json(body)

