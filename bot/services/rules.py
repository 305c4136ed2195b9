"""The rules engine's use-cases: a group's rules (seeded from config, cached, invalidated on change), judging a
message against them (pure evaluate in bot.domain.rules), and applying what fired through the moderation service
and the one actions port — or, in dry mode, only logging what would have happened."""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import RulesConfig
from bot.domain.levels import PERK_POST_LINKS, Tier, tier_index, tier_up, validate_tiers
from bot.domain.moderation import is_sender_chat, until_for
from bot.domain.points import Reason
from bot.domain.roles import Role, role_from
from bot.domain.rules import (
    BLOCKLIST_RULE, BlockAction, block_action_line, block_tag, is_blocklist, FLOOD_MAX_WINDOW, FLOOD_RULE, LOCK_PREFIX, LOCKS, MAX_RULES, Ctx, Decision, Event, Fired, MemberFacts, Part, Rule, RuleError, RuleSyntaxError,
    ROLE_CONDITIONS, Counted, Window, evaluate, flood_line, may_fire, window_counts, flood_of, inactivity_thresholds, listed_in, parse_rule, violation_windows, window_horizon,
)
from bot.domain.rules_io import Diff, RuleSet, RulesImportError, diff, export_text, parse_import
from bot.services.actions import Action, Outcome
from bot.services.groups import GroupService
from bot.services.moderation import ModerationService, WarnResult
from bot.services.activity import ActivityBuffer
from storage.db import Database
from storage.schedules import ScheduleRepo
from storage.ledger import InsufficientBalance, LedgerRepo, post
from storage.members import MemberRepo
from storage.points import PointsRepo
from storage.roles import set_community_role_in
from storage.rules import (
    FactsRow, NewLogEntry, RulesRepo, StoredRule, add_violation, clear_violations, insert_log, mark_event_done,
    recent_violations, store_fired,
)

# Called with the effects of a rule before it is written or switched on (the admin's own rights checked: RulesService
# writes as told; a handler passes the check of who is asking). Raises to refuse.
Guard = Callable[[tuple[Part, ...]], Awaitable[None]]


async def _no_guard(_effects: tuple[Part, ...]) -> None:
    return None


log = logging.getLogger(__name__)

# The link gate (`/set link_gate on|off`) is this default rule, switched on or off; re-created from config (or this
# line, if config dropped it) for a group that deleted it or was seeded before it existed.
IMPORT_TTL = timedelta(minutes=15)  # a dry run's confirmation button works this long (a restart does not end it)
LINK_GATE = "links"
LINK_GATE_RULE = "when message or edit and has link and lacks post_links and role < spreader then delete, explain"


@dataclass(frozen=True)
class Loaded:
    rows: tuple[StoredRule, ...]
    rules: tuple[Rule, ...]
    lists: dict[str, tuple[str, ...]]
    triggers: frozenset[str]  # the event kinds any enabled rule listens to: nothing else costs a read
    windows: bool  # whether any rule counts messages (flood, duplicates)
    messages: bool = False  # whether any rule asks how many messages the member wrote (`messages < N`)
    thresholds: tuple[int, ...] = ()  # the N of `inactive N days` triggers
    violations: dict[str, timedelta | None] = field(default_factory=dict)  # counters rules escalate on, and how far back
    horizon: timedelta = FLOOD_MAX_WINDOW  # how far back the flood and duplicate windows must remember
    reasons: dict[str, dict[str, str]] = field(default_factory=dict)  # list -> entry -> its reason (/addblocklist w why)
    ctx: Ctx | None = None  # what evaluation sees beside the event (lists compiled once); local time set per event
    clock_rules: bool = False  # whether a rule asks the group's clock (`time`, `once a day`): only then is it worked out
    roles: bool = False  # whether an enabled rule has a role condition (`role`, `rolein`): the role map is kept
    times: bool = False  # whether a rule asks the local time (`time`); without, `once a day` needs the zone alone
    zoned: dict[str, Ctx] = field(default_factory=dict)  # time zone -> ctx with it (no local time): made once


@dataclass
class Verdict:
    """What the handler does in the chat after the service applied (and committed) a decision."""

    decision: Decision
    deleted: bool = False
    replies: list[tuple[str, timedelta | None]] = field(default_factory=list)
    explain: tuple[Tier, Tier] | None = None
    warns: list[WarnResult] = field(default_factory=list)
    dry: bool = False
    violations: list[str] = field(default_factory=list)  # named violations added
    resets: list[str] = field(default_factory=list)  # named violations cleared
    moved: list[tuple[str, int]] = field(default_factory=list)  # ("points" | "xp", amount) booked in the ledger
    badges: list[str] = field(default_factory=list)  # badges newly awarded
    roles: list[tuple[str, str]] = field(default_factory=list)  # ("give" | "take", role) that changed
    notify: bool = False  # admins are told (announcer)
    # (rule name, outcome) of each mute, ban or kick a rule's own effect did: the chat is told who and until when
    acted: list[tuple[str, Outcome]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)  # what Telegram made of the actions, after the commit
    deleting: bool = False  # a delete is planned (one per message)
    deleter: int | None = None  # …by this rule: another rule's explanation is not the reason it went
    delete_result: str | None = None  # what Telegram made of that delete (Outcome.result; "failed": no sure answer)
    trace: tuple = ()  # escalation decisions' trace lines

    @property
    def rules(self) -> list[str]:
        return [r.name for r in self.decision.fired]


def _stored_to_rule(row: StoredRule) -> Rule | None:
    try:
        parsed = parse_rule(row.source, row.name)
    except RuleSyntaxError:  # a rule an older version accepted: it is shown, not run
        log.warning("rule %s of %s no longer parses: %s", row.id, row.chat_id, row.source)
        return None
    return Rule(parsed.triggers, parsed.conditions, parsed.effects, row.name, row.id, row.enabled,
                parsed.cooldown, parsed.continue_after, parsed.daily)


# After a commit, what a verdict says beyond the handler's own replies: (event, verdict, "notify" | "replies").
Announcer = Callable[[Event, "Verdict", str], Awaitable[None]]


class RulesService:
    def __init__(self, db: Database, repo: RulesRepo, moderation: ModerationService, groups: GroupService,
                 members: MemberRepo, ledger: LedgerRepo, tiers: tuple[Tier, ...], config: RulesConfig, clock: Clock,
                 activity: ActivityBuffer | None = None, deferred: ScheduleRepo | None = None) -> None:
        self.db, self.repo, self.moderation, self.groups = db, repo, moderation, groups
        self.members, self.ledger, self.tiers, self.config, self.clock = members, ledger, validate_tiers(tiers), config, clock
        self.activity, self.deferred = activity, deferred
        self.announcer: Announcer | None = None  # set by bot/app.py: notices to admins, replies to non-message events
        moderation.violation_hook = self
        self._cache: dict[int, Loaded] = {}
        self._windows: dict[int, Window] = {}
        # (chat) -> user -> (read at, what the member row said): role, tier and days change rarely, and whoever
        # changes them says so (forget_member); the TTL is a backstop. Keyed by chat, like every in-memory state.
        self._members: dict[int, dict[int, tuple[datetime, FactsRow]]] = {}
        # Expired rows go: each chat's at most once a MEMBER_TTL, when it is read or when its turn in this round
        # comes (one other chat a read), so a member read once is not kept for good however quiet the group gets.
        self._swept: dict[int, datetime] = {}
        self._sweep_turns: deque[int] = deque()  # each chat in self._members once
        self._in_turns: set[int] = set()
        # (chat) -> who holds a role there (owner, admins, activators, spreaders): a role condition is judged from it
        # without reading the member (`role = activator` is false for nearly everyone who speaks).
        self._roles: dict[int, _RoleMap] = {}
        self._ctx_tiers = tuple(t.key for t in tiers)
        self._ctx_perks = tuple(frozenset(t.perks) for t in tiers)

    # --- the group's rules ---------------------------------------------------------------------------

    async def load(self, chat_id: int) -> Loaded:
        cached = self._cache.get(chat_id)
        if cached is not None:
            return cached
        if not await self.repo.is_seeded(chat_id):
            await self.repo.seed(chat_id, [(d.name, d.rule, d.enabled) for d in self.config.defaults], self.clock.now())
        rows = tuple(await self.repo.rules(chat_id))
        rules = tuple(r for r in (_stored_to_rule(row) for row in rows) if r is not None)
        stored = await self.repo.lists(chat_id)
        lists = {name: tuple(item for item, _ in items) for name, items in stored.items()}
        reasons = {name: {item: why for item, why in items if why} for name, items in stored.items()}
        enabled = [r for r in rules if r.enabled]
        loaded = Loaded(
            rows, rules, lists, frozenset(t.key for r in enabled for t in r.triggers),
            any(c.key in ("flood", "groupflood", "duplicate") for r in enabled for c in r.conditions),
            any(c.key == "messages" for r in enabled for c in r.conditions),
            inactivity_thresholds(enabled), violation_windows(enabled), window_horizon(rules), reasons,
            Ctx(self._ctx_tiers, self._ctx_perks, lists),
            any(r.daily or any(c.key == "time" for c in r.conditions) for r in rules),
            any(c.key in ROLE_CONDITIONS for r in enabled for c in r.conditions),
            any(c.key == "time" for r in rules for c in r.conditions),
        )
        if any(r.cools_down for r in enabled):
            # What the cooldowns allow survives a restart: the fire times stored with what the rules paid (apply).
            fired = self.window(chat_id).fired
            for rule_id, user_id, at in await self.repo.fired(chat_id, self.clock.now()):
                if fired.get((rule_id, user_id)) is None or fired[(rule_id, user_id)] < at:
                    fired[(rule_id, user_id)] = at
        self._cache[chat_id] = loaded
        await self._arm_inactivity(chat_id, loaded)
        return loaded

    def invalidate(self, chat_id: int) -> None:
        self._cache.pop(chat_id, None)

    def window(self, chat_id: int) -> Window:
        window = self._windows.get(chat_id)
        if window is None:
            window = self._windows[chat_id] = Window()
        return window

    async def _row(self, chat_id: int, ref: str) -> StoredRule:
        """A rule by its number in /rule list or by its name."""
        rows = (await self.load(chat_id)).rows
        if ref.isascii() and ref.isdigit() and 1 <= int(ref) <= len(rows):
            return rows[int(ref) - 1]
        for row in rows:
            if row.name == ref.lower():
                return row
        raise RuleError(reason="unknown", ref=ref)

    def parse(self, line: str) -> Rule:
        try:
            return parse_rule(line)
        except RuleSyntaxError as exc:
            raise RuleError(reason="syntax", position=exc.position, expected=exc.expected, found=exc.found, line=line,
                            length=len(line), template=exc.template, hint=exc.params) from None

    async def add(self, chat_id: int, line: str, name: str | None = None, guard: Guard = _no_guard) -> StoredRule:
        rule = self.parse(line)
        await guard(rule.effects)
        loaded = await self.load(chat_id)
        if len(loaded.rows) >= MAX_RULES:
            raise RuleError(reason="too_many", n=MAX_RULES)
        taken = {r.name for r in loaded.rows}
        if name is None:
            n = len(loaded.rows) + 1
            while f"rule{n}" in taken:
                n += 1
            name = f"rule{n}"
        elif name in taken:
            raise RuleError(reason="name_taken", name=name)
        row = await self.repo.add(chat_id, name, rule.source, self.clock.now())
        self.invalidate(chat_id)
        return row

    async def set_enabled(self, chat_id: int, ref: str, enabled: bool, guard: Guard = _no_guard) -> StoredRule:
        row = await self._row(chat_id, ref)
        if enabled and not row.enabled:
            await guard(self.parse(row.source).effects)
        await self.repo.set_enabled(chat_id, row.id, enabled, self.clock.now())
        self.invalidate(chat_id)
        return row

    async def delete(self, chat_id: int, ref: str) -> StoredRule:
        row = await self._row(chat_id, ref)
        await self.repo.delete(chat_id, row.id)
        self.invalidate(chat_id)
        return row

    async def move(self, chat_id: int, ref: str, position: int) -> StoredRule:
        row = await self._row(chat_id, ref)
        order = [r.id for r in (await self.load(chat_id)).rows if r.id != row.id]
        if not 1 <= position <= len(order) + 1:
            raise RuleError(reason="position", n=len(order) + 1)
        order.insert(position - 1, row.id)
        await self.repo.move(chat_id, order, self.clock.now())
        self.invalidate(chat_id)
        return row

    async def switch_default(self, chat_id: int, name: str, on: bool | None, guard: Guard = _no_guard) -> bool:
        """A default rule on or off by name (None: as config seeds it). A group without it (deleted, or seeded
        before it existed) gets it back from config first."""
        default = next((d for d in self.config.defaults if d.name == name), None)
        if on is None:
            on = default.enabled if default is not None else False
        row = next((r for r in (await self.load(chat_id)).rows if r.name == name), None)
        if row is None:
            source = default.rule if default is not None else LINK_GATE_RULE
            row = await self.add(chat_id, source, name, guard=guard if on else _no_guard)
        elif on and not row.enabled:
            await guard(self.parse(row.source).effects)
        if row.enabled != on:
            await self.repo.set_enabled(chat_id, row.id, on, self.clock.now())
            self.invalidate(chat_id)
        return on

    async def default_state(self, chat_id: int, name: str) -> tuple[bool, bool]:
        """(whether the rule `name` is on, whether that is how config seeds it), for /settings' link_gate line."""
        default = next((d for d in self.config.defaults if d.name == name), None)
        row = next((r for r in (await self.load(chat_id)).rows if r.name == name), None)
        on = row is not None and row.enabled
        return on, on == (default.enabled if default is not None else False)

    async def perks_in_force(self, chat_id: int) -> set[str]:
        """The tier perks an enabled rule of this group gates links by (`has link … and lacks PERK`): what /levels
        shows as a perk, since only there does holding it make a difference."""
        if (await self.groups.settings(chat_id)).rules_mode == "off":
            return set()
        perks: set[str] = set()
        for rule in (await self.load(chat_id)).rules:
            if rule.enabled and any(c.key in ("link", "domain") and not c.negate for c in rule.conditions):
                perks |= {c.args[0] for c in rule.conditions if c.key == "lacks" and not c.negate}
        return perks

    # --- Rose's shortcuts: they edit rules, there is no second mechanism ------------------------------------

    def _named(self, loaded: Loaded, name: str) -> tuple[StoredRule | None, Rule | None]:
        row = next((r for r in loaded.rows if r.name == name), None)
        rule = next((r for r in loaded.rules if row is not None and r.id == row.id), None)
        return row, rule

    async def flood(self, chat_id: int) -> tuple[bool, int, timedelta, tuple[Part, ...]] | None:
        """The antiflood rule as (on, N, window, effects); None if the group has none (or it lost its flood part)."""
        row, rule = self._named(await self.load(chat_id), FLOOD_RULE)
        found = flood_of(rule)
        return None if row is None or found is None else (row.enabled, *found)

    async def set_flood(self, chat_id: int, limit: tuple[int, timedelta | None] | None = None,
                        effects: str | None = None, off: bool = False,
                        guard: Guard = _no_guard) -> tuple[bool, int, timedelta, tuple[Part, ...]]:
        """/setflood N [in S] | off, /setfloodmode …: the antiflood rule rewritten in place (or made again, first)."""
        loaded = await self.load(chat_id)
        row, rule = self._named(loaded, FLOOD_RULE)
        n, window = limit if limit is not None else (None, None)
        line = flood_line(rule, n, window, effects)
        enabled = False if off else (True if limit is not None else (row.enabled if row is not None else True))
        if row is None and len(loaded.rows) >= MAX_RULES:
            raise RuleError(reason="too_many", n=MAX_RULES)
        if enabled:
            await guard(self.parse(line).effects)
        await self.repo.put(chat_id, [(FLOOD_RULE, line, enabled)], self.clock.now(), first=True)
        self.invalidate(chat_id)
        return await self.flood(chat_id)  # type: ignore[return-value]

    async def effects_in_force(self, chat_id: int) -> tuple[Part, ...]:
        """The effects of the group's enabled rules (what Sticky must have the rights for)."""
        loaded = await self.load(chat_id)
        enabled = {r.id for r in loaded.rows if r.enabled}
        return tuple(e for r in loaded.rules if r.id in enabled for e in r.effects)

    async def locks(self, chat_id: int) -> set[str]:
        """The lock types in force: an enabled rule lock_TYPE."""
        return {r.name[len(LOCK_PREFIX):] for r in (await self.load(chat_id)).rows
                if r.enabled and r.name.startswith(LOCK_PREFIX) and r.name[len(LOCK_PREFIX):] in LOCKS}

    async def lock(self, chat_id: int, types: list[str], guard: Guard = _no_guard) -> list[str]:
        """Lock these types (rules placed first, so a locked message goes before anything else judges it); returns
        those that were not locked before."""
        loaded = await self.load(chat_id)
        before = await self.locks(chat_id)
        new = [t for t in types if t not in before]
        existing = {r.name for r in loaded.rows}
        if len(loaded.rows) + sum(LOCK_PREFIX + t not in existing for t in new) > MAX_RULES:
            raise RuleError(reason="too_many", n=MAX_RULES)
        if new:
            await guard(tuple(e for t in new for e in self.parse(LOCKS[t]).effects))
            await self.repo.put(chat_id, [(LOCK_PREFIX + t, LOCKS[t], True) for t in new], self.clock.now(), first=True)
            self.invalidate(chat_id)
        return new

    async def unlock(self, chat_id: int, types: list[str]) -> list[str]:
        before = await self.locks(chat_id)
        gone = [t for t in types if t in before]
        if gone:
            await self.repo.delete_named(chat_id, [LOCK_PREFIX + t for t in gone])
            self.invalidate(chat_id)
        return gone

    # --- export and import --------------------------------------------------------------------------------

    async def rule_set(self, chat_id: int) -> RuleSet:
        loaded = await self.load(chat_id)
        lists = await self.repo.lists(chat_id)
        return RuleSet(tuple((r.name, r.source, r.enabled) for r in loaded.rows),
                       {name: tuple(sorted(items)) for name, items in lists.items()})

    async def export(self, chat_id: int, title: str) -> tuple[str, int, int]:
        """The group's rules and lists as YAML, and how many rules and lists it holds."""
        current = await self.rule_set(chat_id)
        return export_text(current, title, self.clock.now()), len(current.rules), len(current.lists)

    async def preview_import(self, chat_id: int, data: bytes | str, by: int) -> tuple[str, Diff]:
        """Validate an export (all of it) and say what importing it would change; nothing is changed. The import
        waits in the database for the owner's Apply (IMPORT_TTL; a restart does not lose it). Returns the token its
        buttons name. Raises RulesImportError."""
        new = parse_import(data)
        current = await self.rule_set(chat_id)
        token = new.fingerprint()[:8]
        now = self.clock.now()
        await self.repo.save_import(chat_id, token, new.to_json(), current.fingerprint(), by, now, now + IMPORT_TTL)
        return token, diff(current, new)

    async def apply_import(self, chat_id: int, token: str) -> Diff:
        """The confirmed import, all or nothing — refused if it expired, was applied or cancelled already, or the
        rules changed since its dry run."""
        found = await self.repo.pending_import(chat_id, token)
        if found is None:
            raise RulesImportError(reason="gone")
        if self.clock.now() >= found.expires_at:
            raise RulesImportError(reason="expired", minutes=int(IMPORT_TTL.total_seconds() // 60))
        new = RuleSet.from_json(found.rule_set)
        current = await self.rule_set(chat_id)
        if current.fingerprint() != found.seen:
            raise RulesImportError(reason="stale")
        await self.repo.replace_all(chat_id, list(new.rules), {k: list(v) for k, v in new.lists.items()}, self.clock.now())
        await self.repo.drop_import(chat_id)
        self.invalidate(chat_id)
        return diff(current, new)

    async def cancel_import(self, chat_id: int, token: str) -> bool:
        return await self.repo.drop_import(chat_id, token)

    async def rows(self, chat_id: int) -> tuple[StoredRule, ...]:
        return (await self.load(chat_id)).rows

    async def show(self, chat_id: int, ref: str) -> tuple[int, StoredRule]:
        row = await self._row(chat_id, ref)
        return (await self.load(chat_id)).rows.index(row) + 1, row

    async def list_items(self, chat_id: int, name: str) -> list[tuple[str, str | None]]:
        return (await self.repo.lists(chat_id)).get(name, [])

    async def list_add(self, chat_id: int, name: str, items: list[tuple[str, str | None]]) -> int:
        added = await self.repo.list_add(chat_id, name, items)
        self.invalidate(chat_id)
        return added

    async def list_remove(self, chat_id: int, name: str, items: list[str]) -> int:
        removed = await self.repo.list_remove(chat_id, name, items)
        self.invalidate(chat_id)
        return removed

    async def blocklist_add(self, chat_id: int, items: list[str], reason: str | None,
                            action: BlockAction | None = None, guard: Guard = _no_guard) -> int:
        """/addblocklist: the entries go to the blocklist, or with Rose's {action} tag to that action's own list,
        judged by that action's own rule (made on first use, placed right after the blocklist rule). An entry lives
        in one blocklist list at a time: added again with another action, it moves."""
        name = BLOCKLIST_RULE if action is None else action.name
        rule = None
        if action is not None:
            loaded = await self.load(chat_id)
            if not any(r.name == action.name for r in loaded.rows):
                if len(loaded.rows) >= MAX_RULES:
                    have = [block_tag(r.name) for r in loaded.rows if is_blocklist(r.name) and r.name != BLOCKLIST_RULE]
                    raise RuleError(reason="too_many_action", n=MAX_RULES, tag=action.tag, tags=" ".join(have))
                rule = (action.name, block_action_line(action), BLOCKLIST_RULE)
        # The entries widen what the rule they land in does: the action's, or the blocklist rule's own (when on).
        if action is not None:
            await guard(self.parse(block_action_line(action)).effects)
        elif (own := self._named(await self.load(chat_id), BLOCKLIST_RULE)[0]) is not None and own.enabled:
            await guard(self.parse(own.source).effects)
        away = [other for other in await self.repo.lists(chat_id) if is_blocklist(other) and other != name]
        try:  # the action's rule, its list and the entries: one transaction
            added = await self.repo.list_move(chat_id, name, [(w, reason) for w in items], away, rule, self.clock.now())
        finally:
            self.invalidate(chat_id)
        return added

    async def blocklist_remove(self, chat_id: int, items: list[str]) -> int:
        """/rmblocklist: the entries out of every blocklist list; an action's rule whose list is now empty goes too."""
        removed = 0
        try:
            for name in await self.repo.lists(chat_id):
                if is_blocklist(name):  # an emptied action's list takes its rule with it, in the same transaction
                    removed += await self.repo.list_remove(chat_id, name, items, drop_rule=name != BLOCKLIST_RULE)
        finally:
            self.invalidate(chat_id)
        return removed

    async def blocklist(self, chat_id: int) -> list[tuple[str, str | None, str | None]]:
        """/blocklist: (entry, reason, its {action} tag or None for the blocklist rule's own), by entry."""
        out = [(w, note, block_tag(name)) for name, entries in (await self.repo.lists(chat_id)).items()
               if is_blocklist(name) for w, note in entries]
        return sorted(out, key=lambda e: e[0].casefold())

    # --- judging ---------------------------------------------------------------------------------------

    async def _ctx(self, chat_id: int, loaded: Loaded, at: datetime, settings=None) -> Ctx:
        """The loaded rules' Ctx, with the group's local time at `at` and its time zone when a rule asks them
        (`settings`: the group's, when the caller holds them already)."""
        if not loaded.clock_rules:
            return loaded.ctx
        name = (settings or await self.groups.settings(chat_id)).timezone
        base = loaded.ctx
        if not loaded.times:  # `once a day` only: the zone, the same for every message (the default rules' case)
            ctx = loaded.zoned.get(name)
            if ctx is None:
                ctx = loaded.zoned[name] = Ctx(base.tiers, base.tier_perks, base.lists, None, base.compiled, ZoneInfo(name))
            return ctx
        tz = ZoneInfo(name)
        return Ctx(base.tiers, base.tier_perks, base.lists, at.astimezone(tz).time(), base.compiled, tz)

    def forget_member(self, chat_id: int, user_id: int | None = None) -> None:
        """A member's role, status or tier changed (or, with no user, anyone's in the group): read them again."""
        if user_id is None:
            self._members.pop(chat_id, None)
            self._swept.pop(chat_id, None)
            self._roles.pop(chat_id, None)
        else:
            self._members.get(chat_id, {}).pop(user_id, None)
            held = self._roles.get(chat_id)
            if held is not None and len(held.unsure) >= ROLE_UNSURE_MAX:  # a raid of joins: read the map again
                del self._roles[chat_id]
            elif held is not None:
                held.forget(user_id)

    async def _role(self, chat_id: int, user_id: int, now: datetime) -> Role | None:
        """The member's role from the group's role map — who holds one, read in one go once a MEMBER_TTL (the
        backstop, as for member rows) and kept up to date by forget_member — or None when it is not known without
        reading the member: their role changed since (until their row is read again), or the map is being read."""
        held = self._roles.get(chat_id)
        if held is None or now - held.at >= MEMBER_TTL:
            held = self._roles[chat_id] = _RoleMap(now)  # in place during the read: a change meanwhile is noted in it
            holders = await self.repo.role_holders(chat_id)
            if self._roles.get(chat_id) is not held:  # the group was forgotten during the read
                return None
            held.roles.update((user, role_from(tg, community)) for user, tg, community in holders if user not in held.unsure)
            held.ready = True
        if not held.ready or user_id in held.unsure:
            return None
        return held.roles.get(user_id, Role.MEMBER)

    async def _member_row(self, chat_id: int, user_id: int, messages: bool, now: datetime) -> FactsRow:
        """The member row, from memory when it was read less than MEMBER_TTL ago — unless their message count is
        asked, which is always read (one hop: the row comes with it)."""
        cached = self._members.get(chat_id, {}).get(user_id)
        if not messages and cached is not None and now - cached[0] < MEMBER_TTL:
            return cached[1]
        if chat_id in self._members:
            self._sweep(chat_id, now)
        if self._sweep_turns:  # and one other chat, in turn: a group that went quiet is emptied too
            other = self._sweep_turns.popleft()
            if other != chat_id and other in self._members:
                self._sweep(other, now)
            if other in self._members:
                self._sweep_turns.append(other)
            else:
                self._in_turns.discard(other)
        known = self._members.get(chat_id)
        if known is None:
            known = self._members[chat_id] = {}
            self._swept[chat_id] = now
            if chat_id not in self._in_turns:
                self._in_turns.add(chat_id)
                self._sweep_turns.append(chat_id)
        held = self._roles.get(chat_id)
        changes = held.changes if held is not None else 0
        row = await self.repo.facts(chat_id, user_id, messages)
        if held is not None and held.ready and self._roles.get(chat_id) is held and held.changes == changes:
            held.known(user_id, role_from(row.tg_role, row.community_role) if row.known else Role.MEMBER)
        if self._members.get(chat_id) is not known:  # forget_member dropped the group during the read: not kept
            return row
        if len(known) >= MEMBER_CACHE:  # bounded: the oldest half goes
            for stale in sorted(known, key=lambda u: known[u][0])[: MEMBER_CACHE // 2]:
                del known[stale]
        known[user_id] = (now, row)
        return row

    def _sweep(self, chat_id: int, now: datetime) -> None:
        """Drop this chat's rows that ran out, unless it was swept less than MEMBER_TTL ago; an emptied chat goes."""
        if now - self._swept.get(chat_id, now) < MEMBER_TTL:
            return
        self._swept[chat_id] = now
        known = self._members[chat_id]
        for stale in [u for u, (at, _) in known.items() if now - at >= MEMBER_TTL]:
            del known[stale]
        if not known:
            del self._members[chat_id]
            del self._swept[chat_id]

    async def facts(self, chat_id: int, user_id: int, exempt: bool, now: datetime, messages: bool = True,
                    this_message: bool = False) -> MemberFacts:
        """The member as rules see them, in at most one read. `messages`: count their messages (written and still
        in memory; `this_message`: the one being judged is counted already and is not one of those before it).
        The activity buffer keeps that count once it was read for the member: then no read at all."""
        count = self.activity.total(chat_id, user_id) if messages and self.activity is not None else None
        watch = self.activity.watch(chat_id, user_id) if messages and count is None and self.activity is not None else None
        try:
            row = await self._member_row(chat_id, user_id, messages and count is None, now)
        except BaseException:
            if watch is not None:
                self.activity.unwatch(watch)
            raise
        role = role_from(row.tg_role, row.community_role) if row.known else Role.MEMBER
        index = tier_index(row.xp, self.tiers)
        days = (now - row.since).days if row.since else 0
        if messages:
            if count is None:
                count = row.messages if watch is None else self.activity.kept(watch, row.messages)
            count = max(0, count - 1) if this_message else count
        else:
            count = 0
        approved = user_id in await self.moderation.approved(chat_id)
        return MemberFacts(role, index, self.tiers[index].key, days, count, exempt or role >= Role.ADMIN, approved)

    async def test(self, chat_id: int, event: Event, facts: MemberFacts) -> tuple[Decision, list[Counted]]:
        """/rule test: what would fire for this event from this member, judged against a copy of the live window
        (the member's recent messages, the group's, their cooldowns) with the test message recorded in it as the
        member's next one — and how each flood and duplicate condition counted. The live window is not changed;
        nothing is recorded or done."""
        loaded = await self.load(chat_id)
        window = self.window(chat_id).copy_for(event.user_id)
        window.record(event.user_id, event.date, event.text)  # a command counts toward flood too, as judge() does
        decision = evaluate(event, loaded.rules, facts, window, event.date, await self._ctx(chat_id, loaded, event.date))
        return decision, window_counts(loaded.rules, event, window)

    async def judge(self, event: Event, exempt: bool, counted: bool = False,
                    earns: Callable[[bool], Awaitable[None]] | None = None) -> Verdict | None:
        """A group message (or edit): None when no rule of the group can fire on it (no database read then).
        `counted`: the message is in the member's message count already (`messages < N` sees those before it).
        `earns(deleting)`: decides what the message earns by staying (its chat XP, a topic reply, a referral's
        count), awaited before the verdict's commit, so that commit (the one that marks the update handled) writes
        it too — or, when the verdict deletes the message (`deleting`), stores it to wait for the delete's outcome
        (Verdict.delete_result).
        Every new message counts toward flood and duplicates, a command included (Sticky's own too: ten /me in
        ten seconds are a flood, with ten answers on top); an edit never counts again."""
        settings = await self.groups.settings(event.chat_id)
        if settings.rules_mode == "off":
            return None
        loaded = await self.load(event.chat_id)
        if event.kind not in loaded.triggers and not (event.kind == "command" and "message" in loaded.triggers):
            return None
        window = self.window(event.chat_id)
        if event.kind in ("message", "command") and loaded.windows:
            window.horizon = loaded.horizon
            window.record(event.user_id, event.date, event.text)  # an edit is never counted again
        ctx = await self._ctx(event.chat_id, loaded, event.date, settings)
        now = self.clock.now()
        role = await self._role(event.chat_id, event.user_id, now) if loaded.roles else None
        if not may_fire(event, loaded.rules, window, now, ctx, role):
            return None  # nothing can fire for anyone of their role: the member is not read
        facts = await self.facts(event.chat_id, event.user_id, exempt, self.clock.now(), loaded.messages, this_message=counted)
        decision = evaluate(event, loaded.rules, facts, window, self.clock.now(), ctx)
        if not decision.effects:
            return None
        for rule in decision.fired:
            window.fired[(rule.id, event.user_id)] = event.date
        return await self.apply(event, decision, facts, earns)

    async def feed(self, event: Event) -> Verdict | None:
        """An event other than a message (join, check-in, referral confirmed, tier reached, inactivity) from the
        service where it happened, after its commit. Costs nothing when no enabled rule of the group listens to it;
        never raises (a rule must not undo or fail what already happened)."""
        try:
            if event.kind in ("tier", "join"):
                self.forget_member(event.chat_id, event.user_id)
            if (await self.groups.settings(event.chat_id)).rules_mode == "off":
                return None
            loaded = await self.load(event.chat_id)
            if event.kind not in loaded.triggers:
                return None
            now = self.clock.now()
            facts = await self.facts(event.chat_id, event.user_id, False, now, loaded.messages)
            window = self.window(event.chat_id)
            decision = evaluate(event, loaded.rules, facts, window, now, await self._ctx(event.chat_id, loaded, event.date))
            if not decision.effects:
                return None
            for rule in decision.fired:
                window.fired[(rule.id, event.user_id)] = event.date
            verdict = await self.apply(event, decision, facts)
            if self.announcer is not None and not verdict.dry and (verdict.replies or verdict.explain or verdict.warns or verdict.acted):
                await self.announcer(event, verdict, "replies")
            return verdict
        except Exception:
            log.exception("rules on %s in %s failed", event.kind, event.chat_id)
            return None

    async def apply(self, event: Event, decision: Decision, facts: MemberFacts,
                    earns: Callable[[], Awaitable[None]] | None = None) -> Verdict:
        """Every write of the decision in ONE transaction (violations, warns and their escalation, points and XP,
        badges, roles, the audit rows); after the commit, the Telegram actions through the one actions port, then
        the log listeners and notices. In dry mode only the audit log says what would have happened. `earns`: see
        judge (a message a rule deletes earns only if it stays: what it would earn waits for the delete's outcome)."""
        chat, user, msg = event.chat_id, event.user_id, event.message_id
        verdict = Verdict(decision)
        if (await self.groups.settings(chat)).rules_mode == "dry":
            verdict.dry = True
            if earns is not None:  # a dry run deletes nothing
                await earns(False)
            entries = [NewLogEntry("rule", user, None, f"{r.name}: " + ", ".join(map(str, r.effects)), r.id, message_id=msg, dry=True)
                       for r in decision.fired]
            now = self.clock.now()
            async with self.db.transaction() as tx:  # a rerun of a once-only event writes no second dry-run line
                if event.kind in ONCE and not await mark_event_done(tx, chat, user, DRY_MARK + event_key(event), now):
                    return verdict
                await insert_log(tx, chat, entries, now)
            return verdict
        out = _Planned()
        effects = [f for f in decision.effects if not self._skip(event, f, facts, verdict)]
        if earns is not None:  # written in the commit below (or the reply's mark); deleting: stored to wait for it
            await earns(verdict.deleting)
        limit, mode = await self.moderation.warn_settings(chat)
        escalations = await self.escalations(chat)
        xp_before = None
        if any(f.effect.key == "xp" for f in effects):
            xp_before = (await self.repo.facts(chat, user, False)).xp
        once = event.kind in ONCE
        if once or any(_writes(f.effect) for f in effects):
            now = self.clock.now()
            async with self.db.transaction() as tx:
                if once and not await mark_event_done(tx, chat, user, event_key(event), now):
                    return Verdict(decision)  # applied already (a pass run again): nothing again, not even a reply
                await self._write(tx, event, effects, facts, verdict, out, now, limit, mode, escalations, 0)
                await store_fired(tx, chat, [(r.id, user, event.date, event.date + r.cooldown_reach)
                                             for r in decision.fired if r.cools_down])
        else:
            for f in effects:
                self._note(f.rule, f.effect, facts, verdict)
        if out.entries or out.actions:  # nothing written, nothing to do: the log listeners hear nothing
            out.outcomes = await self.moderation.after_commit(chat, out.entries, out.actions)
        for action, outcome in zip(out.actions, out.outcomes):
            if action.kind == "delete" and action.message_ids == (msg,):
                verdict.deleted, verdict.delete_result = outcome.ok, outcome.result
            elif action.kind in ("mute", "ban", "kick") and outcome.ok:
                self.window(chat).restricted[action.user_id] = (self.clock.now(), outcome.until, action.kind)
            by = next((name for planned, name in out.by_rule if planned is action), None)
            if by is not None and outcome.result == "done":  # a warn limit's penalty is told with the warn
                verdict.acted.append((by, outcome))
        now = self.clock.now()
        for f in effects:  # a flood's warn (or violation) given: the rest of that burst is not warned again
            if f.effect.key in ("warn", "violation") and _floods(f.rule):
                self.window(chat).flood_punished[(f.rule.id, user)] = now
        verdict.outcomes = out.outcomes
        if verdict.roles:
            self.forget_member(chat, user)
        if verdict.notify and self.announcer is not None:
            await self.announcer(event, verdict, "notify")
        if xp_before is not None and event.kind != "tier":
            # The XP this verdict moved, not the wallet read again: chat XP that rode with its commit (or any other
            # XP meanwhile) reaches its tier on its own, and is told from there.
            reached = tier_up(xp_before, xp_before + sum(n for kind, n in verdict.moved if kind == "xp"), self.tiers)
            if reached is not None:
                await self.feed(Event("tier", chat, user, event.date, key=f"tier:{reached.key}"))
        return verdict

    def _skip(self, event: Event, fired: Fired, facts: MemberFacts, verdict: Verdict) -> bool:
        """Effects this member or this event cannot have: penalties for the exempt, a delete without a message, a
        second delete, a mute, ban or kick Sticky already gave for the flood this message is part of (a backlog sent
        before it does not punish again), a flood rule's warn or violation already given for this burst."""
        e = fired.effect
        if e.key in ("warn", "violation") and _floods(fired.rule):
            at = self.window(event.chat_id).flood_punished.get((fired.rule.id, event.user_id))
            if at is not None and event.date <= at:
                return True
        if e.key in PENALTIES and facts.exempt:
            return True
        channel = is_sender_chat(event.user_id)
        if channel and e.key in ("points", "xp", "badge", "give", "take"):
            return True  # a channel earns nothing and holds no role: nobody's wallet is its
        if channel and e.key in ("mute", "kick"):  # Telegram can't: the message goes instead (_write)
            if event.message_id is not None and not verdict.deleting:
                verdict.deleting, verdict.deleter = True, fired.rule.id
            return False
        if e.key == "delete":
            if event.message_id is None or verdict.deleting:
                return True
            verdict.deleting, verdict.deleter = True, fired.rule.id
        if e.key in ("mute", "ban", "kick"):
            known = self.window(event.chat_id).restricted.get(event.user_id)
            if known is not None:
                at, until, kind = known
                now = self.clock.now()
                if event.date > at or (until is not None and until <= now):
                    del self.window(event.chat_id).restricted[event.user_id]  # they could write again: it was lifted
                    return False
                if kind in ("ban", "kick"):  # gone: the rest of their burst is not punished again
                    return True
                if e.key == "kick":
                    return False
                new_until = until_for(now, e.args[0] if e.args else None)
                covered = until is None or (new_until is not None and until >= new_until)
                return e.key == "mute" and covered
        return False

    async def _entry_reason(self, rule: Rule, event: Event) -> str | None:
        """The stored reason of the list entry that made this rule fire (`words in LIST`), if it has one: a blocklist
        warn says "No gambling ads", not "blocklist"."""
        loaded = await self.load(event.chat_id)
        for c in rule.conditions:
            if c.key == "words" and not c.negate and c.args[1] is not None:
                reasons = loaded.reasons.get(c.args[1], {})
                found = next((w for w in listed_in(event.text, loaded.lists.get(c.args[1], ())) if w in reasons), None)
                if found is not None:
                    return reasons[found]
        return None

    def _note(self, rule: Rule, e: Part, facts: MemberFacts, verdict: Verdict) -> None:
        """What needs no write: replies and explanations for the chat, and the notice to admins."""
        if e.key == "reply":
            verdict.replies.append((e.args[0], e.args[1]))
        elif e.key == "explain":  # the first tier with the perk the rule's `lacks` names
            if verdict.deleting and verdict.deleter != rule.id:
                return  # a lock deleted it, for everyone: "links are for Silver and above" would be wrong
            tier = self.tiers[facts.tier]
            perk = next((c.args[0] for c in rule.conditions if c.key == "lacks"), PERK_POST_LINKS)
            needed = next((t for t in self.tiers if perk in t.perks), None)
            if needed is not None:
                verdict.explain = (tier, needed)
        elif e.key == "notify":
            verdict.notify = True

    async def _write(self, tx, event: Event, effects: list[Fired], facts: MemberFacts, verdict: Verdict, out: _Planned,
                     now: datetime, limit: int, mode, escalations: frozenset[str], depth: int) -> None:
        chat, user, msg = event.chat_id, event.user_id, event.message_id
        key = event_key(event)
        async def audit(entry: NewLogEntry) -> None:  # in the order things happen, escalations included
            await insert_log(tx, chat, [entry], now)
            out.entries.append(entry)

        for fired in effects:
            rule, e = fired.rule, fired.effect
            reason = f"rule {rule.name}"
            if e.key == "delete":
                await audit(NewLogEntry("delete", user, None, reason, rule.id, message_id=msg))
                out.actions.append(Action("delete", chat, message_ids=(msg,)))
            elif e.key in ("mute", "kick") and is_sender_chat(user):
                # A channel can't be muted or kicked (it is no member): its message is deleted, and the log says why.
                done = "muted" if e.key == "mute" else "kicked"
                await audit(NewLogEntry("delete", user, None, f"{reason}: a channel can't be {done}", rule.id, message_id=msg))
                if msg is not None and not any(a.kind == "delete" and a.message_ids == (msg,) for a in out.actions):
                    out.actions.append(Action("delete", chat, message_ids=(msg,)))
            elif e.key in ("mute", "ban", "kick"):
                action = Action(e.key, chat, user, duration=e.args[0] if e.args else None)
                await audit(NewLogEntry(e.key, user, None, reason, rule.id, self.moderation.actions.until(action), msg))
                out.actions.append(action)
                out.by_rule.append((action, rule.name))
            elif e.key == "warn":
                why = await self._entry_reason(rule, event) or e.args[0] or reason
                result, warn_entries, warn_actions = await self.moderation.warn_in(
                    tx, chat, user, None, why, f"rule:{rule.id}:{key}", now, limit, mode, msg, rule.id)
                out.entries += warn_entries
                out.actions += warn_actions
                if result.violation_id is not None:
                    verdict.warns.append(result)
                    if "warn" in escalations:
                        await self._escalate(tx, event, "warn", result.violation_id, facts, verdict, out, now, limit, mode,
                                             escalations, depth)
            elif e.key == "violation":
                name = e.args[0]
                violation_id = await add_violation(tx, chat, user, name, reason, rule.id, None, f"rule:{rule.id}:{key}:{name}", now)
                if violation_id is not None:
                    await audit(NewLogEntry("violation", user, None, f"{name} ({reason})", rule.id, message_id=msg))
                    verdict.violations.append(name)
                    if name in escalations:
                        await self._escalate(tx, event, name, violation_id, facts, verdict, out, now, limit, mode,
                                             escalations, depth)
            elif e.key == "reset":
                if await clear_violations(tx, chat, user, e.args[0], now):
                    await audit(NewLogEntry("reset", user, None, f"{e.args[0]} ({reason})", rule.id, message_id=msg))
                    verdict.resets.append(e.args[0])
            elif e.key in ("points", "xp"):
                amount = e.args[0]
                code = Reason.RULE_AWARD if amount > 0 else Reason.RULE_DEDUCT
                await tx.execute("SAVEPOINT rule_points")
                try:
                    if await post(tx, chat, user, amount, "xp" if e.key == "xp" else "points", code, f"rule:{rule.id}:{key}",
                                  now, note=rule.name):
                        verdict.moved.append((e.key, amount))
                except InsufficientBalance:  # more than they have: this effect is skipped, the rest stands
                    await tx.execute("ROLLBACK TO rule_points")
                    log.info("rule %s could not take %s %s from %s in %s", rule.id, -amount, e.key, user, chat)
                await tx.execute("RELEASE rule_points")
            elif e.key == "badge":
                if await PointsRepo.award_badge(tx, chat, user, e.args[0], now):
                    verdict.badges.append(e.args[0])
            elif e.key in ("give", "take"):
                role = _ROLE_KEYS[e.args[0]]
                if e.key == "give" and facts.role < role:  # never lowers anyone, never touches an admin
                    changed = await set_community_role_in(tx, chat, user, role.key, "set", role.key, None, reason, now)
                elif e.key == "take" and facts.role == role:
                    changed = await set_community_role_in(tx, chat, user, None, "unset", role.key, None, reason, now,
                                                          only_if=role.key)
                else:
                    changed = False
                if changed:
                    verdict.roles.append((e.key, role.key))
            elif e.key == "notify":
                await audit(NewLogEntry("notify", user, None, reason, rule.id, message_id=msg))
                verdict.notify = True
            else:
                self._note(rule, e, facts, verdict)

    # --- escalation: "N violations of NAME within W" -------------------------------------------------

    async def escalations(self, chat_id: int) -> frozenset[str]:
        """The violation names an enabled rule of the group escalates on (loads the rules: call before a transaction)."""
        return frozenset((await self.load(chat_id)).violations)

    async def _escalate(self, tx, cause: Event, name: str, violation_id: int, facts: MemberFacts, verdict: Verdict,
                        out: _Planned, now: datetime, limit: int, mode, escalations: frozenset[str], depth: int) -> None:
        """Inside the transaction that added the violation: the rules that listen to this counter decide, and what
        they write joins the same transaction (their own escalations too, MAX_ESCALATION deep)."""
        if depth >= MAX_ESCALATION:
            log.warning("escalation in %s stopped at depth %s (%s)", cause.chat_id, depth, name)
            return
        loaded = await self.load(cause.chat_id)
        expiry = self.moderation._since(now)
        longest = loaded.violations.get(name)
        since = None if expiry is None else expiry if longest is None else min(expiry, now - longest)
        recent = await recent_violations(tx, cause.chat_id, cause.user_id, name, since)
        active = sum(1 for at in recent if expiry is None or at >= expiry)
        event = Event("violations", cause.chat_id, cause.user_id, now, violation=name, violations=active,
                      key=f"v{violation_id}", recent=tuple(recent))
        decision = evaluate(event, loaded.rules, facts, self.window(cause.chat_id), now, await self._ctx(cause.chat_id, loaded, now))
        if not decision.effects:
            return
        verdict.trace += decision.trace
        for rule in decision.fired:
            self.window(cause.chat_id).fired[(rule.id, cause.user_id)] = now
        effects = [f for f in decision.effects if not self._skip(event, f, facts, verdict)]
        await self._write(tx, event, effects, facts, verdict, out, now, limit, mode, escalations, depth + 1)

    async def prepare_violation(self, chat_id: int, user_id: int) -> object | None:
        """ModerationService's hook, before its transaction: what an escalation needs (None: no rule escalates)."""
        if (await self.groups.settings(chat_id)).rules_mode != "on":
            return None
        escalations = await self.escalations(chat_id)
        if not escalations:
            return None
        limit, mode = await self.moderation.warn_settings(chat_id)
        facts = await self.facts(chat_id, user_id, False, self.clock.now(), (await self.load(chat_id)).messages)
        return (chat_id, user_id, facts, escalations, limit, mode)

    async def violation_added(self, tx, prepared: object, name: str, violation_id: int, now: datetime):
        """ModerationService's hook, inside its transaction (a /warn by hand): escalation rules decide there."""
        chat_id, user_id, facts, escalations, limit, mode = prepared
        if name not in escalations:
            return [], []
        verdict, out = Verdict(Decision((), ())), _Planned()
        cause = Event("violations", chat_id, user_id, now, key=f"v{violation_id}")
        await self._escalate(tx, cause, name, violation_id, facts, verdict, out, now, limit, mode, escalations, 0)
        return out.entries, out.actions

    # --- inactivity: a durable daily pass per group ------------------------------------------------------

    async def _arm_inactivity(self, chat_id: int, loaded: Loaded) -> None:
        """A group whose rules listen to inactivity has one pending daily pass in the deferred work table (durable:
        it survives restarts; re-made here if a crash lost it)."""
        if self.deferred is None or not loaded.thresholds:
            return
        if not await self.deferred.has_deferred(chat_id, INACTIVITY_WORK):
            await self.deferred.defer(chat_id, INACTIVITY_WORK, {"since": None}, self.clock.now(), self.clock.now())

    async def prune_marks(self) -> int:
        """Forget join rules' once-marks older than JOIN_MARKS_KEPT, in every group (an inactivity mark goes in its
        group's pass, once it cannot matter: _stale_events_done). Returns how many were forgotten."""
        now = self.clock.now()
        return await self.repo.prune_join_marks(now - JOIN_MARKS_KEPT) + await self.repo.prune_fired(now)

    async def sweep_inactive(self, chat_id: int, since: datetime | None) -> int:
        """One daily pass (claimed deferred work): every member who crossed an inactivity threshold since the last
        finished pass (`since`; None: everyone inactive that long) is one `inactive` event, applied once per member
        and crossing (rule_events_done, in the decision's own transaction). The next pass is booked first, still
        starting from this pass's `since`, and moved up to now only once this pass is through: a crash on the way
        leaves the next pass to cover what this one did not reach, and what it did reach is not done twice. Members
        are read and judged INACTIVE_CHUNK at a time, giving the loop back in between (a pass over 100,000 members
        holds up nobody). Returns how many events were fed."""
        now = self.clock.now()
        loaded = await self.load(chat_id)
        pruned = await self.repo.prune_events_done(chat_id)  # once-only marks no rerun can meet again
        if pruned:
            log.info("pruned %d once-only rule marks in %s", pruned, chat_id)
        if not loaded.thresholds:
            return 0  # no rule listens any more: the chain ends here, and load() starts it again when one does
        nxt = await self.deferred.defer(chat_id, INACTIVITY_WORK, {"since": since.isoformat() if since else None},
                                        now + INACTIVITY_EVERY, now)
        fed = 0
        for days in loaded.thresholds:
            span = timedelta(days=days)
            after = None
            while True:
                chunk = await self.repo.inactive(chat_id, since - span if since else None, now - span, after, INACTIVE_CHUNK)
                for user_id, last in chunk:
                    await self.feed(Event("inactive", chat_id, user_id, now, inactive_days=days,
                                          key=f"inactive:{days}:{last.isoformat()}"))
                    fed += 1
                if len(chunk) < INACTIVE_CHUNK:
                    break
                after = chunk[-1][0]
                await asyncio.sleep(0)  # the rest of the bot runs between chunks
        await self.deferred.set_payload(nxt, {"since": now.isoformat()})
        return fed


@dataclass
class _Planned:
    """What one decision leaves for after its commit."""

    entries: list[NewLogEntry] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    by_rule: list[tuple[Action, str]] = field(default_factory=list)  # the mutes, bans and kicks rules' effects asked


def _floods(rule: Rule) -> bool:
    return any(c.key in ("flood", "groupflood") and not c.negate for c in rule.conditions)


PENALTIES = frozenset({"mute", "ban", "kick", "warn", "violation"})
WRITES = frozenset({"delete", "mute", "ban", "kick", "warn", "violation", "reset", "points", "xp", "badge", "give", "take", "notify"})
MEMBER_TTL = timedelta(seconds=60)


class _RoleMap:
    """A group's role holders (user -> role; everyone else is a member) as read at `at`, less the members whose role
    changed since (`unsure`, until their row is read again). `changes` counts those changes, so a row read across
    one is not taken as the news."""

    __slots__ = ("at", "roles", "unsure", "changes", "ready")

    def __init__(self, at: datetime) -> None:
        self.at, self.roles, self.unsure, self.changes, self.ready = at, {}, set(), 0, False

    def forget(self, user_id: int) -> None:
        self.roles.pop(user_id, None)
        self.unsure.add(user_id)
        self.changes += 1

    def known(self, user_id: int, role: Role) -> None:
        """The member's role as their row, read just now, says."""
        self.unsure.discard(user_id)
        if role == Role.MEMBER:
            self.roles.pop(user_id, None)
        else:
            self.roles[user_id] = role
MEMBER_CACHE = 20_000  # members per group kept in memory
ROLE_UNSURE_MAX = 1_000  # changed members a group's role map notes before it is read again instead
MAX_ESCALATION = 3  # escalation rules that add violations that escalate…: this deep at most
INACTIVITY_WORK = "rules:inactive"
INACTIVITY_EVERY = timedelta(days=1)
INACTIVE_CHUNK = 500  # members read and judged at a time by an inactivity pass
# Events a rerun may deliver again, applied once per member and event key (rule_events_done, in the decision's own
# transaction): an inactivity pass run again, and a join its update delivers again after a kill (the rules hear a
# join again when its update was cut off before the commit that marks it handled: its reply is not sent twice).
ONCE = frozenset({"inactive", "join"})
# A join's mark is kept as long as the inbox keeps handled updates (bot.services.inbox.KEEP_HANDLED): after that
# Telegram redelivers nothing of it, and update ids could be numbered afresh only after a week without updates.
JOIN_MARKS_KEPT = timedelta(days=2)
DRY_MARK = "dry:"  # a dry run's own once-only mark: trying a ruleset in dry mode does not use up the real one
_ROLE_KEYS = {r.key: r for r in Role}


def _writes(e: Part) -> bool:
    return e.key in WRITES


def event_key(event: Event) -> str:
    """One occurrence of an event: a message (and its edits) by its id, otherwise the event's own key."""
    if event.key:
        return event.key
    return str(event.message_id) if event.message_id is not None else event.date.isoformat()
