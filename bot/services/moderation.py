"""Moderation use-cases: warn (with limit and mode), mute, ban, kick, delete, purge, approvals, reports, the audit log.
Each decides with bot.domain.moderation, commits in one transaction, then acts through the actions port."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.config import ModerationConfig
from bot.domain.moderation import ModerationError, Penalty, RightsError, check_target, is_sender_chat, parse_penalty, warn_penalty
from bot.domain.roles import Actor, Role, role_from
from bot.services.actions import Action, Actions, Outcome
from bot.services.groups import GroupService
from storage.db import Database
from storage.members import Member
from storage.rules import (
    LogEntry, ModerationRepo, NewLogEntry, Violation, add_violation, clear_violations, count_violations, insert_log,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WarnResult:
    violation_id: int | None  # None: this command/update had warned already
    count: int
    limit: int
    penalty: Penalty | None
    reset: bool
    outcomes: list[Outcome] = field(default_factory=list)


# Called after a commit with the entries written (the log channel listens here).
LogListener = Callable[[int, list[NewLogEntry]], Awaitable[None]]
class ViolationHook(Protocol):
    """The rules engine's escalation ("N violations of NAME within W") on a violation added here."""

    async def prepare_violation(self, chat_id: int, user_id: int) -> object | None:
        """Before the transaction: what deciding needs, or None when no rule escalates."""

    async def violation_added(self, tx: Any, prepared: object, name: str, violation_id: int,
                              now: datetime) -> tuple[list[NewLogEntry], list[Action]]:
        """Inside the transaction: audit entries and actions (after the commit) the escalation adds."""


class ModerationService:
    def __init__(self, db: Database, repo: ModerationRepo, groups: GroupService, actions: Actions,
                 config: ModerationConfig, clock: Clock) -> None:
        self.db, self.repo, self.groups, self.actions, self.config, self.clock = db, repo, groups, actions, config, clock
        self.steps = {int(n): parse_penalty(text) for n, text in config.warn_steps.items()}
        self.listeners: list[LogListener] = []
        # Set by the rules engine: a violation was just added (inside the transaction); returns what its escalation
        # rules add to the audit and to the actions after the commit.
        self.violation_hook: ViolationHook | None = None
        self._reports: dict[tuple[int, int], datetime] = {}
        self._approved: dict[int, frozenset[int]] = {}  # keyed by chat; dropped on /approve, /unapprove  # (chat, reporter) -> last report, for the rate limit

    # --- checks before anything is written ---------------------------------------------------

    def check(self, actor: Actor, target: Member, bot_id: int) -> None:
        check_target(actor.role, actor.user_id, role_from(target.tg_role, target.community_role), target.user.user_id, bot_id)

    async def may(self, actor: Actor, chat_id: int, *kinds: str) -> None:
        """Refuse an admin who lacks, in Telegram, a right these kinds need (can_restrict_members to warn, mute, ban,
        kick and undo them; can_delete_messages to delete): Sticky acts with its own rights, and must not lend them
        to an admin the group did not give them. The owner has every right; an anonymous admin, writing as the group,
        can't be told apart from the others, and is taken as one who has it. Raises ModerationError."""
        if not kinds or actor.role == Role.OWNER or actor.anonymous_admin or actor.role < Role.ADMIN:
            return  # below admin, the command's role check has refused already
        try:
            missing = await self.actions.admin_missing(chat_id, actor.user_id, *kinds)
        except Exception:
            log.warning("could not read the rights of %s in %s", actor.user_id, chat_id, exc_info=True)
            raise ModerationError(reason="admin_rights_unknown") from None
        if missing is not None:
            raise ModerationError(reason="admin_right", right=missing)

    async def need(self, chat_id: int, *kinds: str) -> None:
        missing = await self.actions.missing(chat_id, list(kinds))
        if missing is not None:
            raise RightsError(right=missing)

    async def warn_settings(self, chat_id: int) -> tuple[int, Penalty]:
        s = await self.groups.settings(chat_id)
        return s.warn_limit, parse_penalty(s.warn_mode)

    async def escalation(self, chat_id: int) -> tuple[list[tuple[int, Penalty]], int, Penalty, int]:
        """What warns bring in this group: (the steps below the limit, in order; the limit; the warn mode; the days a
        warn counts, 0 = forever) — what /rule list says beside the rules."""
        limit, mode = await self.warn_settings(chat_id)
        steps = sorted((n, p) for n, p in self.steps.items() if n < limit)
        return steps, limit, mode, self.config.warn_expiry_days

    def _since(self, now: datetime) -> datetime | None:
        days = self.config.warn_expiry_days
        return now - timedelta(days=days) if days else None

    async def _after(self, chat_id: int, entries: list[NewLogEntry], actions: list[Action]) -> list[Outcome]:
        outcomes = await self.actions.run(actions)
        for listener in self.listeners:
            try:
                await listener(chat_id, entries)
            except Exception:  # the log channel is a copy; the audit row is committed
                log.warning("log listener failed in %s", chat_id, exc_info=True)
        return outcomes

    async def after_commit(self, chat_id: int, entries: list[NewLogEntry], actions: list[Action]) -> list[Outcome]:
        """What follows a committed write by another service (the rules engine's one transaction per decision):
        the Telegram actions through the port, then the log listeners."""
        return await self._after(chat_id, entries, actions)

    # --- warns ---------------------------------------------------------------------------------

    async def warn(self, chat_id: int, user_id: int, actor_id: int | None, reason: str | None, source_key: str | None,
                   message_id: int | None = None, rule_id: int | None = None) -> WarnResult:
        """One warn (once per source_key), and what the warn count brings, in one transaction; the penalty after.
        A new warn is a violation: rules that escalate on warns (violation_hook) decide in the same transaction."""
        now = self.clock.now()
        limit, mode = await self.warn_settings(chat_id)
        hook = self.violation_hook
        prepared = await hook.prepare_violation(chat_id, user_id) if hook is not None else None
        async with self.db.transaction() as tx:
            result, entries, actions = await self.warn_in(tx, chat_id, user_id, actor_id, reason, source_key, now, limit, mode,
                                                          message_id, rule_id)
            if result.violation_id is not None and prepared is not None:
                more_entries, more_actions = await hook.violation_added(tx, prepared, "warn", result.violation_id, now)
                entries, actions = entries + more_entries, actions + more_actions
        outcomes = await self._after(chat_id, entries, actions)
        return WarnResult(result.violation_id, result.count, result.limit, result.penalty, result.reset, outcomes)

    async def warn_in(self, tx, chat_id: int, user_id: int, actor_id: int | None, reason: str | None,
                      source_key: str | None, now: datetime, limit: int, mode: Penalty, message_id: int | None = None,
                      rule_id: int | None = None) -> tuple[WarnResult, list[NewLogEntry], list[Action]]:
        """A warn inside the caller's transaction: the violation, the warn ladder, the audit rows. Returns the result
        and what to do after the commit (entries for the listeners, actions for the port)."""
        violation_id = await add_violation(tx, chat_id, user_id, "warn", reason, rule_id, actor_id, source_key, now)
        if violation_id is None:
            count = await count_violations(tx, chat_id, user_id, "warn", self._since(now))
            return WarnResult(None, count, limit, None, False), [], []
        count = await count_violations(tx, chat_id, user_id, "warn", self._since(now))
        penalty, reset = warn_penalty(count, limit, mode, self.steps)
        if reset:
            await clear_violations(tx, chat_id, user_id, "warn", now)
        entries = [NewLogEntry("warn", user_id, actor_id, reason, rule_id, message_id=message_id)]
        actions = []
        if penalty is not None and penalty.kind in ("mute", "kick") and is_sender_chat(user_id):
            # Telegram can't mute or kick a channel: its message goes instead, and the log says why.
            entries.append(NewLogEntry("delete", user_id, actor_id, f"{count}/{limit} warns: a channel can't be "
                                       + {"mute": "muted", "kick": "kicked"}[penalty.kind], rule_id, message_id=message_id))
            if message_id is not None:
                actions.append(Action("delete", chat_id, message_ids=(message_id,)))
            penalty = None
        if penalty is not None:
            action = Action(penalty.kind, chat_id, user_id, duration=penalty.duration)
            entries.append(NewLogEntry(penalty.kind, user_id, actor_id, f"{count}/{limit} warns", rule_id,
                                       self.actions.until(action), message_id))
            actions.append(action)
        await insert_log(tx, chat_id, entries, now)
        return WarnResult(violation_id, count, limit, penalty, reset), entries, actions

    async def unwarn(self, chat_id: int, user_id: int, actor_id: int | None, violation_id: int | None = None) -> Violation:
        entry = NewLogEntry("unwarn", user_id, actor_id)
        removed = await self.repo.remove_violation(chat_id, violation_id, user_id, "warn", entry, self.clock.now())
        if removed is None:
            raise ModerationError(reason="not_warned")
        await self._after(chat_id, [entry], [])
        return removed

    async def warns(self, chat_id: int, user_id: int) -> list[Violation]:
        return await self.repo.violations(chat_id, user_id, "warn", self._since(self.clock.now()))

    async def reset_warns(self, chat_id: int, user_id: int, actor_id: int | None) -> int:
        entry = NewLogEntry("resetwarns", user_id, actor_id)
        removed = await self.repo.reset(chat_id, user_id, "warn", entry, self.clock.now())
        if not removed:
            raise ModerationError(reason="not_warned")
        await self._after(chat_id, [entry], [])
        return removed

    async def violation(self, violation_id: int) -> Violation | None:
        return await self.repo.violation(violation_id)

    # --- mute, ban, kick and their undoing -----------------------------------------------------

    async def act(self, chat_id: int, kind: str, user_id: int, actor_id: int | None, duration: timedelta | None = None,
                  reason: str | None = None, message_id: int | None = None, rule_id: int | None = None) -> Outcome:
        """Audit first, then Telegram. The caller checked rights and hierarchy before. Undoing a mute or a ban that
        Telegram says is not there raises ModerationError and writes nothing (unknown status: go ahead)."""
        undone = {"unmute": ("restricted", "not_muted"), "unban": ("kicked", "not_banned")}.get(kind)
        if undone is not None and not is_sender_chat(user_id):  # a channel has no member status to read
            status = await self.actions.status(chat_id, user_id)
            if status is not None and status != undone[0]:
                raise ModerationError(reason=undone[1])
        action = Action(kind, chat_id, user_id, duration=duration)
        entry = NewLogEntry(kind, user_id, actor_id, reason, rule_id, self.actions.until(action), message_id)
        await self.repo.log(chat_id, [entry], self.clock.now())
        return (await self._after(chat_id, [entry], [action]))[0]

    async def delete(self, chat_id: int, message_ids: list[int], actor_id: int | None, target_id: int | None,
                     reason: str | None = None, kind: str = "delete", rule_id: int | None = None) -> Outcome:
        entry = NewLogEntry(kind, target_id, actor_id, reason, rule_id,
                            message_id=message_ids[0] if message_ids else None)
        await self.repo.log(chat_id, [entry], self.clock.now())
        return (await self._after(chat_id, [entry], [Action("delete", chat_id, message_ids=tuple(message_ids))]))[0]

    async def modlog(self, chat_id: int, target_id: int | None = None) -> list[LogEntry]:
        return await self.repo.modlog(chat_id, target_id)

    # --- approvals and reports -----------------------------------------------------------------

    async def approve(self, chat_id: int, user_id: int, actor_id: int | None, approved: bool) -> None:
        entry = NewLogEntry("approve" if approved else "unapprove", user_id, actor_id)
        self._approved.pop(chat_id, None)
        if not await self.repo.set_approved(chat_id, user_id, approved, entry, self.clock.now()):
            raise ModerationError(reason="already_approved" if approved else "not_approved")
        await self._after(chat_id, [entry], [])

    async def approved(self, chat_id: int) -> frozenset[int]:
        cached = self._approved.get(chat_id)
        if cached is None:
            cached = self._approved[chat_id] = frozenset(await self.repo.approved(chat_id))
        return cached

    async def report(self, chat_id: int, reporter_id: int, target: Member, message_id: int | None) -> None:
        """Admins can't be reported; one report per member per cooldown. Raises ModerationError."""
        if role_from(target.tg_role, target.community_role) >= Role.ADMIN:
            raise ModerationError(reason="report_admin")
        now = self.clock.now()
        last = self._reports.get((chat_id, reporter_id))
        if last is not None and now - last < timedelta(seconds=self.config.report_cooldown_seconds):
            raise ModerationError(reason="report_wait")
        self._reports[(chat_id, reporter_id)] = now
        entry = NewLogEntry("report", target.user.user_id, reporter_id, message_id=message_id)
        await self.repo.log(chat_id, [entry], now)
        await self._after(chat_id, [entry], [])
