"""The ONE actions port: every moderation action, by hand or by rule, reaches Telegram here — after the commit.
It knows which right each action needs (and says which is missing), turns a duration into the until_date Telegram
accepts (under 30 s or over 366 days is forever), and treats "already gone" as done. It never raises."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Awaitable, Callable, Protocol

from bot.clock import Clock
from bot.domain.moderation import FOREVER_BELOW, is_sender_chat, until_for

log = logging.getLogger(__name__)

DELETE, RESTRICT = "can_delete_messages", "can_restrict_members"
NEEDS = {"delete": DELETE, "mute": RESTRICT, "unmute": RESTRICT, "ban": RESTRICT, "unban": RESTRICT, "kick": RESTRICT}
# What an admin needs in Telegram to have Sticky do it for them: the right the action needs; a warn (and its undoing)
# too leads to a mute or a ban, so it takes the right to restrict members, as Rose asks.
ADMIN_NEEDS = {**NEEDS, "warn": RESTRICT}
RIGHTS_CACHE = timedelta(minutes=2)
# A kick is a ban lifted at once. The ban itself ends after this long, so a kick whose unban Telegram refuses or never
# gets (403, a right taken between the two calls, 429, network) leaves nobody banned for good; counted from
# Telegram's now (below), so it stays far from the 30 s below which Telegram reads a ban as forever.
KICK_HOLD = timedelta(minutes=5)
# Telegram counts an until_date on *its* clock, and reads one less than 30 s after its now as forever. Ours may be
# behind or ahead of it, so an until_date is counted from Telegram's now as best known: our clock moved by the lead
# (how far Telegram's is ahead of ours; negative: behind). Two things show it. An update's date is Telegram's time
# when it was sent, so Telegram's clock is at least that far ahead (a lower bound only: an update may arrive late —
# a backlog after downtime is hours old). Every answer to a call Sticky makes comes with Telegram's time between our
# request and the answer (the HTTP Date header, to the second): the lead lies between date − answered and
# date + 1 s − sent, and one outside that range is moved to its middle. getMe, as the bot starts, is the first. So a
# clock ahead of Telegram's does not make a 10-minute mute last 10 minutes plus the skew, nor one behind cut it short
# (off by at most half a second and half the round trip), from the first restriction after a start. A temporary
# restriction is sent at least SEND_MARGIN beyond those 30 s (the request takes time to arrive).
SEND_MARGIN = timedelta(seconds=10)
_SECOND = timedelta(seconds=1)


class ModerationCalls(Protocol):
    async def bot_rights(self, chat_id: int) -> dict[str, bool]: ...
    async def member_rights(self, chat_id: int, user_id: int) -> dict[str, bool]: ...
    async def mute(self, chat_id: int, user_id: int, until: datetime | None) -> str: ...
    async def unmute(self, chat_id: int, user_id: int) -> str: ...
    async def ban(self, chat_id: int, user_id: int, until: datetime | None) -> str: ...
    async def unban(self, chat_id: int, user_id: int) -> str: ...
    async def ban_sender_chat(self, chat_id: int, sender_chat_id: int) -> str: ...
    async def unban_sender_chat(self, chat_id: int, sender_chat_id: int) -> str: ...
    async def delete(self, chat_id: int, message_ids: list[int]) -> str: ...
    async def status(self, chat_id: int, user_id: int) -> str | None: ...


@dataclass(frozen=True)
class Action:
    kind: str  # delete | mute | unmute | ban | unban | kick
    chat_id: int
    user_id: int | None = None
    message_ids: tuple[int, ...] = ()
    duration: timedelta | None = None  # mute/ban; None = forever


@dataclass
class Outcome:
    action: Action
    result: str  # done | gone | no_right | protected (the member is an admin/owner in Telegram) | not_member (the bot
    # is not in the group) | failed | skipped
    until: datetime | None = None
    missing: str | None = field(default=None)

    @property
    def ok(self) -> bool:
        return self.result in ("done", "gone")


class Actions:
    def __init__(self, calls: ModerationCalls, clock: Clock) -> None:
        self.calls = calls
        self.clock = clock
        self._rights: dict[int, tuple[datetime, dict[str, bool]]] = {}  # keyed by chat
        # How far Telegram's clock is ahead of ours (negative: behind), as measured (above); none measured yet: 0.
        self._lead = timedelta(0)
        # Telegram refused an action because the member is an admin or the owner there: what we stored of them is
        # stale (a promotion we never heard of). Set by the app to the members service's admin-list refresh.
        self.on_protected: Callable[[int], Awaitable[object]] | None = None

    def observe(self, date: datetime | None) -> None:
        """An update's date (Telegram's time when it was sent): if it is after our now moved by the lead, Telegram's
        clock is further ahead than we thought, by at least that much. An earlier one says nothing (it may have come
        late). A lead is kept however long ago it was measured (a job's kick after a quiet night must not count from
        our clock: under 30 s ahead is for good) until a sent message or a later update measures it again."""
        if date is None:
            return
        self._lead = max(self._lead, date - self.clock.now())

    def asking(self) -> Callable[[float], None]:
        """A request is about to go to Telegram: the callback for the time Telegram answers it at (a Unix time, to
        the second: the HTTP Date header), which measures the lead from both sides (the range above). Every answer
        does — getMe as the bot starts, too — so the first restriction after a restart counts from Telegram's now."""
        sent = self.clock.now()

        def answered(date: float) -> None:
            at = datetime.fromtimestamp(date, timezone.utc)
            low, high = at - self.clock.now(), at + _SECOND - sent
            if not low <= self._lead <= high:
                self._lead = low + (high - low) / 2

        return answered

    def telegram_now(self) -> datetime:
        """Telegram's now as best known: ours moved by the lead last measured (kept however long ago: counting an
        old lead can only be as wrong as the clocks have drifted since, a forgotten one as wrong as the skew)."""
        return self.clock.now() + self._lead

    async def status(self, chat_id: int, user_id: int) -> str | None:
        """A member's status as Telegram has it now (restricted, kicked, member…); None when Telegram did not say."""
        return await self.calls.status(chat_id, user_id)

    def forget(self, chat_id: int) -> None:
        """The bot's status changed in this chat (my_chat_member): ask Telegram again next time."""
        self._rights.pop(chat_id, None)

    async def rights(self, chat_id: int) -> dict[str, bool]:
        now = self.clock.now()
        cached = self._rights.get(chat_id)
        if cached is not None and now - cached[0] < RIGHTS_CACHE:
            return cached[1]
        try:
            rights = await self.calls.bot_rights(chat_id)
        except Exception:  # Telegram unreachable: try the action and let Telegram say no
            log.warning("could not read the bot's rights in %s", chat_id, exc_info=True)
            return {DELETE: True, RESTRICT: True}
        self._rights[chat_id] = (now, rights)
        return rights

    async def missing(self, chat_id: int, kinds: list[str]) -> str | None:
        """The first right the bot lacks for these actions (a Telegram right name), or None."""
        lacking = await self.lacking(chat_id, kinds)
        return lacking[0] if lacking else None

    async def lacking(self, chat_id: int, kinds: list[str]) -> list[str]:
        """Every right the bot lacks for these actions, each once, in the order of the kinds."""
        have = await self.rights(chat_id)
        needs = dict.fromkeys(ADMIN_NEEDS[kind] for kind in kinds)  # NEEDS, and a warn: it leads to a mute or a ban
        return [need for need in needs if not have.get(need)]

    async def admin_missing(self, chat_id: int, user_id: int, *kinds: str) -> str | None:
        """The first Telegram right an admin lacks to have Sticky do these kinds for them (ADMIN_NEEDS), or None. Asked
        of Telegram each time (one call for all), never cached: a right taken away in the app counts at once. Raises
        when Telegram does not answer (the caller refuses: acting on rights nobody could check would lend Sticky's own)."""
        rights = await self.calls.member_rights(chat_id, user_id)
        return next((ADMIN_NEEDS[k] for k in kinds if not rights.get(ADMIN_NEEDS[k])), None)

    def until(self, action: Action) -> datetime | None:
        if action.user_id is not None and is_sender_chat(action.user_id):
            return None  # a channel's ban has no end in Telegram
        return self._until(action.duration)

    def kick_until(self) -> datetime:
        """The until_date of a kick's ban: KICK_HOLD on Telegram's clock, so that a ban whose unban never comes
        (the bot removed in between, its right taken) ends by itself instead of lasting for good."""
        return self._until(KICK_HOLD)

    def _until(self, duration: timedelta | None) -> datetime | None:
        """The until_date for a temporary restriction, on Telegram's clock (None: forever, as until_for says); never
        closer to Telegram's now than 30 s + SEND_MARGIN, so it cannot arrive as "forever"."""
        now = self.telegram_now()
        until = until_for(now, duration)
        return None if until is None else max(until, now + FOREVER_BELOW + SEND_MARGIN)

    async def run(self, actions: list[Action]) -> list[Outcome]:
        """Do them in order; each failure is logged and reported in its Outcome, never raised."""
        outcomes = []
        for action in actions:
            try:
                outcomes.append(await self._one(action))
            except Exception:
                log.exception("action %s failed", action)
                outcomes.append(Outcome(action, "failed"))
        return outcomes

    async def _one(self, action: Action) -> Outcome:
        need = NEEDS[action.kind]
        if not (await self.rights(action.chat_id)).get(need):
            return Outcome(action, "no_right", missing=need)
        c, chat, user = self.calls, action.chat_id, action.user_id
        until = self.until(action) if action.kind in ("mute", "ban") else None
        if user is not None and is_sender_chat(user):
            # A channel is no member: Telegram bans and unbans it (banChatSenderChat), and cannot mute or kick it
            # (callers delete its message instead); asked to, nothing is done.
            if action.kind == "ban":
                result = await c.ban_sender_chat(chat, user)
            elif action.kind == "unban":
                result = await c.unban_sender_chat(chat, user)
            else:
                log.info("action %s in %s: %s is a channel, which Telegram can't %s", action.kind, chat, user, action.kind)
                return Outcome(action, "skipped")
        elif action.kind == "delete":
            result = await c.delete(chat, list(action.message_ids))
        elif action.kind == "mute":
            result = await c.mute(chat, user, until)
        elif action.kind == "unmute":
            result = await c.unmute(chat, user)
        elif action.kind == "ban":
            result = await c.ban(chat, user, until)
        elif action.kind == "unban":
            result = await c.unban(chat, user)
        else:  # kick: a ban lifted at once, so they may come back (and that Telegram lifts by itself if we could not)
            hold = self.kick_until()
            result = await c.ban(chat, user, hold)
            if result == "done":
                lifted = await c.unban(chat, user)
                if lifted not in ("done", "gone"):  # removed, but back only when the ban ends: the outcome says when
                    until = hold
                    log.info("kick in %s: the unban of %s was %s; Telegram ends the ban in %s", chat, user, lifted, KICK_HOLD)
        if result in ("no_right", "not_member"):
            self.forget(chat)  # our cached rights were stale
        if result == "protected" and self.on_protected is not None:
            try:  # Telegram's admin list replaces ours, so the next check sees them as the admin they are
                await self.on_protected(chat)
            except Exception:  # Telegram unreachable: the refusal is still told; the list refreshes when stale
                log.warning("could not refresh the admins of %s after a refusal", chat, exc_info=True)
        if result not in ("done", "gone"):
            log.info("action %s in %s: %s", action.kind, chat, result)
        return Outcome(action, result, until, need if result == "no_right" else None)
