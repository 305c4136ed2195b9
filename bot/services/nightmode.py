"""Night mode as use-cases: during a group's chosen hours members cannot post (the group's default permissions
lose every way of sending), and in the morning the permissions it had are put back exactly. Durable: the
permissions are saved before the group is closed, the state is judged from the clock each time a row falls due,
so a restart in the night still reopens in the morning and a restart in the morning never leaves it closed."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.domain import nightmode as dom
from bot.domain.nightmode import NightModeError
from bot.services.groups import GroupService
from storage.nightmode import NightMode, NightModeRepo

log = logging.getLogger(__name__)

RECHECK = timedelta(hours=1)  # every row is looked at least this often: a timezone changed since is followed
RETRY = timedelta(minutes=5)  # a call Telegram did not answer (or refused) is tried again this soon


class NightCalls(Protocol):
    async def bot_rights(self, chat_id: int) -> dict[str, bool]: ...
    async def chat_permissions(self, chat_id: int) -> dict[str, bool] | None: ...  # None: could not read them
    async def set_chat_permissions(self, chat_id: int, permissions: dict[str, bool]) -> str: ...  # done|gone|no_right|failed


@dataclass(frozen=True)
class Change:
    """What a look at one group did: closed | opened | kept (an admin changed the permissions meanwhile: left as
    they are) | no_right | failed | none; `until` is the end of the night when it closed."""

    chat_id: int
    did: str
    until: datetime | None = None


class NightModeService:
    def __init__(self, repo: NightModeRepo, groups: GroupService, calls: NightCalls, clock: Clock) -> None:
        self.repo = repo
        self.groups = groups
        self.calls = calls
        self.clock = clock
        self._locks: dict[int, asyncio.Lock] = {}  # keyed by chat: the tick and /nightmode never act on one group at once

    def _lock(self, chat_id: int) -> asyncio.Lock:
        return self._locks.setdefault(chat_id, asyncio.Lock())

    async def get(self, chat_id: int) -> NightMode | None:
        """The group's night mode; None when it is off (or turned off and only waiting to reopen the group)."""
        row = await self.repo.get(chat_id)
        return None if row is None or row.hours == "off" else row

    async def set(self, chat_id: int, text: str, actor_id: int | None) -> Change:
        """`23:00-07:00` turns night mode on (closing the group at once if it is night now); `off` turns it off,
        reopening the group first if it is closed."""
        try:
            hours = dom.parse_hours(text)
        except ValueError:
            raise NightModeError(reason="bad_hours", got=text) from None
        if hours == "off":
            return await self.off(chat_id)
        if not (await self.calls.bot_rights(chat_id)).get("can_restrict_members"):
            raise NightModeError(reason="no_right")
        now = self.clock.now()
        tz = (await self.groups.settings(chat_id)).timezone
        async with self._lock(chat_id):
            await self.repo.set(chat_id, hours, min(dom.next_change(hours, now, tz), now + RECHECK), actor_id, now)
            return await self._apply(chat_id, now)

    async def off(self, chat_id: int) -> Change:
        async with self._lock(chat_id):
            row = await self.repo.get(chat_id)
            if row is None:
                return Change(chat_id, "none")
            change = Change(chat_id, "none")
            if row.saved is not None:
                change = await self._open(row)
                if change.did in ("failed", "no_right"):
                    # Still closed: the row stays with no night hours left ("off"), so the retry reopens it and
                    # then removes it.
                    await self.repo.set(chat_id, "off", self.clock.now() + RETRY, None, self.clock.now())
                    return change
            await self.repo.remove(chat_id)
            return change

    async def next_due(self) -> datetime | None:
        """When a tick next finds a group to look at (None: no group has night mode)."""
        return await self.repo.next_due()

    async def tick(self, limit: int = 500) -> list[Change]:
        """Every group whose look is due: claimed (moved on to its next start or end of night, an hour at most)
        before anything is done, then brought to the state the clock says."""
        now = self.clock.now()
        changes = []
        for row in await self.repo.due(now, limit):
            tz = (await self.groups.settings(row.chat_id)).timezone
            change_at = dom.next_change(row.hours, now, tz) or now + RECHECK
            if not await self.repo.claim(row.chat_id, row.next_change, min(change_at, now + RECHECK)):
                continue
            async with self._lock(row.chat_id):
                change = await self._apply(row.chat_id, now)
            if change.did != "none":
                changes.append(change)
        return changes

    async def _apply(self, chat_id: int, now: datetime) -> Change:
        row = await self.repo.get(chat_id)
        if row is None:
            return Change(chat_id, "none")
        tz = (await self.groups.settings(chat_id)).timezone
        if dom.is_night(row.hours, now, tz):
            return await self._close(row, now, tz)
        if row.saved is not None:
            return await self._open(row)
        return Change(chat_id, "none")

    async def _close(self, row: NightMode, now: datetime, tz: str) -> Change:
        if row.closed:
            return Change(row.chat_id, "none")
        saved = row.saved
        if saved is None:  # saved before Telegram is asked: a crash after the call still knows what to restore
            saved = await self.calls.chat_permissions(row.chat_id)
            if saved is None:
                return await self._retry(row.chat_id, now, "failed")
            await self.repo.save(row.chat_id, saved, closed=False)
        if dom.read_only(saved) == saved:  # members could not post anyway: nothing to take away, nothing to announce
            await self.repo.save(row.chat_id, saved, closed=True)
            return Change(row.chat_id, "none")
        outcome = await self.calls.set_chat_permissions(row.chat_id, dom.read_only(saved))
        if outcome in ("done", "gone"):
            await self.repo.save(row.chat_id, saved, closed=True)
            end = dom.next_change(row.hours, now, tz)
            return Change(row.chat_id, "closed", end)
        if outcome == "no_right":
            await self.repo.save(row.chat_id, None, closed=False)  # nothing was closed: nothing to restore
            return Change(row.chat_id, "no_right")
        return await self._retry(row.chat_id, now, "failed")

    async def _open(self, row: NightMode) -> Change:
        """Put back what the group had — unless an admin changed the permissions during the night: then theirs stay."""
        now = self.clock.now()
        current = await self.calls.chat_permissions(row.chat_id)
        if current is None:
            return await self._retry(row.chat_id, now, "failed")
        taken = dom.read_only(row.saved)
        if taken == row.saved or current == row.saved:
            did = "none"  # the night took nothing away (read-only already), or the close never reached Telegram
        elif current == taken:
            outcome = await self.calls.set_chat_permissions(row.chat_id, row.saved)
            if outcome not in ("done", "gone"):
                return await self._retry(row.chat_id, now, "no_right" if outcome == "no_right" else "failed")
            did = "opened"
        else:
            did = "kept"
            log.info("night mode in %s: an admin changed the permissions during the night; theirs stay", row.chat_id)
        await self.repo.save(row.chat_id, None, closed=False)
        if row.hours == "off":  # turned off while it could not be reopened: now it is, and night mode is gone
            await self.repo.remove(row.chat_id)
        return Change(row.chat_id, did)

    async def _retry(self, chat_id: int, now: datetime, did: str) -> Change:
        log.warning("night mode in %s: %s, trying again in %s", chat_id, did, RETRY)
        await self.repo.retry_at(chat_id, now + RETRY)
        return Change(chat_id, did)
