"""The ONE actions port: every moderation action, by hand or by rule, reaches Telegram here — after the commit.
It knows which right each action needs (and says which is missing), turns a duration into the until_date Telegram
accepts (under 30 s or over 366 days is forever), and treats "already gone" as done. It never raises."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.domain.moderation import until_for

log = logging.getLogger(__name__)

DELETE, RESTRICT = "can_delete_messages", "can_restrict_members"
NEEDS = {"delete": DELETE, "mute": RESTRICT, "unmute": RESTRICT, "ban": RESTRICT, "unban": RESTRICT, "kick": RESTRICT}
RIGHTS_CACHE = timedelta(minutes=2)
# A kick is a ban lifted at once. The ban itself ends after this long, so a kick whose unban Telegram refuses or never
# gets (403, a right taken between the two calls, 429, network) leaves nobody banned for good; 5 minutes stays far
# from the 30 s below which Telegram reads a ban as forever, even with our clock some minutes off Telegram's.
KICK_HOLD = timedelta(minutes=5)


class ModerationCalls(Protocol):
    async def bot_rights(self, chat_id: int) -> dict[str, bool]: ...
    async def mute(self, chat_id: int, user_id: int, until: datetime | None) -> str: ...
    async def unmute(self, chat_id: int, user_id: int) -> str: ...
    async def ban(self, chat_id: int, user_id: int, until: datetime | None) -> str: ...
    async def unban(self, chat_id: int, user_id: int) -> str: ...
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
        have = await self.rights(chat_id)
        for kind in kinds:
            need = NEEDS[kind]
            if not have.get(need):
                return need
        return None

    def until(self, action: Action) -> datetime | None:
        return until_for(self.clock.now(), action.duration)

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
        if action.kind == "delete":
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
            hold = until_for(self.clock.now(), KICK_HOLD)
            result = await c.ban(chat, user, hold)
            if result == "done":
                lifted = await c.unban(chat, user)
                if lifted not in ("done", "gone"):  # removed, but back only when the ban ends: the outcome says when
                    until = hold
                    log.info("kick in %s: the unban of %s was %s; Telegram ends the ban in %s", chat, user, lifted, KICK_HOLD)
        if result in ("no_right", "not_member"):
            self.forget(chat)  # our cached rights were stale
        if result not in ("done", "gone"):
            log.info("action %s in %s: %s", action.kind, chat, result)
        return Outcome(action, result, until, need if result == "no_right" else None)
