"""The rules engine's use-cases: a group's rules (seeded from config, cached, invalidated on change), judging a
message against them (pure evaluate in bot.domain.rules), and applying what fired through the moderation service
and the one actions port — or, in dry mode, only logging what would have happened."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import RulesConfig
from bot.domain.levels import PERK_POST_LINKS, Tier, tier_for
from bot.domain.points import Reason
from bot.domain.roles import Role, role_from
from bot.domain.rules import (
    FLOOD_RULE, LOCK_PREFIX, LOCKS, MAX_RULES, Ctx, Decision, Event, MemberFacts, Rule, RuleError, RuleSyntaxError, Window, evaluate, flood_line, flood_of,
    parse_rule,
)
from bot.domain.rules_io import Diff, RuleSet, RulesImportError, diff, export_text, parse_import
from bot.services.groups import GroupService
from bot.services.moderation import ModerationService, WarnResult
from storage.db import Database
from storage.ledger import LedgerRepo, post
from storage.members import MemberRepo
from storage.rules import NewLogEntry, RulesRepo, StoredRule

log = logging.getLogger(__name__)

# The link gate (`/set link_gate on|off`) is this default rule, switched on or off; re-created from config (or this
# line, if config dropped it) for a group that deleted it or was seeded before it existed.
IMPORT_TTL = timedelta(minutes=15)  # a dry run's confirmation button works this long (and not after a restart)
LINK_GATE = "links"
LINK_GATE_RULE = "when message or edit and has link and lacks post_links and role < spreader then delete, explain"


@dataclass(frozen=True)
class Loaded:
    rows: tuple[StoredRule, ...]
    rules: tuple[Rule, ...]
    lists: dict[str, tuple[str, ...]]
    triggers: frozenset[str]  # the event kinds any enabled rule listens to: nothing else costs a read
    windows: bool  # whether any rule counts messages (flood, duplicates)


@dataclass
class Verdict:
    """What the handler does in the chat after the service applied (and committed) a decision."""

    decision: Decision
    deleted: bool = False
    replies: list[tuple[str, timedelta | None]] = field(default_factory=list)
    explain: tuple[Tier, Tier] | None = None
    warns: list[WarnResult] = field(default_factory=list)
    dry: bool = False


def _stored_to_rule(row: StoredRule) -> Rule | None:
    try:
        parsed = parse_rule(row.source, row.name)
    except RuleSyntaxError:  # a rule an older version accepted: it is shown, not run
        log.warning("rule %s of %s no longer parses: %s", row.id, row.chat_id, row.source)
        return None
    return Rule(parsed.triggers, parsed.conditions, parsed.effects, row.name, row.id, row.enabled,
                parsed.cooldown, parsed.continue_after)


class RulesService:
    def __init__(self, db: Database, repo: RulesRepo, moderation: ModerationService, groups: GroupService,
                 members: MemberRepo, ledger: LedgerRepo, tiers: tuple[Tier, ...], config: RulesConfig, clock: Clock) -> None:
        self.db, self.repo, self.moderation, self.groups = db, repo, moderation, groups
        self.members, self.ledger, self.tiers, self.config, self.clock = members, ledger, tiers, config, clock
        self._cache: dict[int, Loaded] = {}
        # Imports waiting for the owner's confirmation, by chat: token -> (rule set, fingerprint seen, owner, when).
        self._imports: dict[int, dict[str, tuple[RuleSet, str, int, datetime]]] = {}
        self._windows: dict[int, Window] = {}
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
        lists = {name: tuple(item for item, _ in items) for name, items in (await self.repo.lists(chat_id)).items()}
        enabled = [r for r in rules if r.enabled]
        loaded = Loaded(
            rows, rules, lists, frozenset(t.key if t.key != "violations" else "violations" for r in enabled for t in r.triggers),
            any(c.key in ("flood", "groupflood", "duplicate") for r in enabled for c in r.conditions),
        )
        self._cache[chat_id] = loaded
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
            raise RuleError(reason="syntax", position=exc.position, expected=exc.expected, found=exc.found, line=line) from None

    async def add(self, chat_id: int, line: str, name: str | None = None) -> StoredRule:
        rule = self.parse(line)
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

    async def set_enabled(self, chat_id: int, ref: str, enabled: bool) -> StoredRule:
        row = await self._row(chat_id, ref)
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

    async def switch_default(self, chat_id: int, name: str, on: bool | None) -> bool:
        """A default rule on or off by name (None: as config seeds it). A group without it (deleted, or seeded
        before it existed) gets it back from config first."""
        default = next((d for d in self.config.defaults if d.name == name), None)
        if on is None:
            on = default.enabled if default is not None else False
        row = next((r for r in (await self.load(chat_id)).rows if r.name == name), None)
        if row is None:
            source = default.rule if default is not None else LINK_GATE_RULE
            row = await self.add(chat_id, source, name)
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

    async def flood(self, chat_id: int) -> tuple[bool, int, timedelta, str] | None:
        """The antiflood rule as (on, N, window, effects); None if the group has none (or it lost its flood part)."""
        row, rule = self._named(await self.load(chat_id), FLOOD_RULE)
        found = flood_of(rule)
        return None if row is None or found is None else (row.enabled, *found)

    async def set_flood(self, chat_id: int, limit: tuple[int, timedelta | None] | None = None,
                        effects: str | None = None, off: bool = False) -> tuple[bool, int, timedelta, str]:
        """/setflood N [in S] | off, /setfloodmode …: the antiflood rule rewritten in place (or made again, first)."""
        loaded = await self.load(chat_id)
        row, rule = self._named(loaded, FLOOD_RULE)
        n, window = limit if limit is not None else (None, None)
        line = flood_line(rule, n, window, effects)
        enabled = False if off else (True if limit is not None else (row.enabled if row is not None else True))
        if row is None and len(loaded.rows) >= MAX_RULES:
            raise RuleError(reason="too_many", n=MAX_RULES)
        await self.repo.put(chat_id, [(FLOOD_RULE, line, enabled)], self.clock.now(), first=True)
        self.invalidate(chat_id)
        return await self.flood(chat_id)  # type: ignore[return-value]

    async def locks(self, chat_id: int) -> set[str]:
        """The lock types in force: an enabled rule lock_TYPE."""
        return {r.name[len(LOCK_PREFIX):] for r in (await self.load(chat_id)).rows
                if r.enabled and r.name.startswith(LOCK_PREFIX) and r.name[len(LOCK_PREFIX):] in LOCKS}

    async def lock(self, chat_id: int, types: list[str]) -> list[str]:
        """Lock these types (rules placed first, so a locked message goes before anything else judges it); returns
        those that were not locked before."""
        loaded = await self.load(chat_id)
        before = await self.locks(chat_id)
        new = [t for t in types if t not in before]
        existing = {r.name for r in loaded.rows}
        if len(loaded.rows) + sum(LOCK_PREFIX + t not in existing for t in new) > MAX_RULES:
            raise RuleError(reason="too_many", n=MAX_RULES)
        if new:
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
        """Validate an export (all of it) and say what importing it would change; nothing is changed. Returns a
        token the confirmation names. Raises RulesImportError."""
        new = parse_import(data)
        current = await self.rule_set(chat_id)
        token = new.fingerprint()[:8]
        now = self.clock.now()
        pending = {k: v for k, v in self._imports.get(chat_id, {}).items() if now - v[3] < IMPORT_TTL}
        pending[token] = (new, current.fingerprint(), by, now)
        self._imports[chat_id] = pending
        return token, diff(current, new)

    async def apply_import(self, chat_id: int, token: str) -> Diff:
        """The confirmed import, all or nothing — refused if it expired or the rules changed since its dry run."""
        found = self._imports.get(chat_id, {}).get(token)
        if found is None or self.clock.now() - found[3] >= IMPORT_TTL:
            raise RulesImportError(reason="expired")
        new, seen, _by, _at = found
        current = await self.rule_set(chat_id)
        if current.fingerprint() != seen:
            raise RulesImportError(reason="stale")
        await self.repo.replace_all(chat_id, list(new.rules), {k: list(v) for k, v in new.lists.items()}, self.clock.now())
        self._imports.pop(chat_id, None)
        self.invalidate(chat_id)
        return diff(current, new)

    def cancel_import(self, chat_id: int, token: str) -> bool:
        return self._imports.get(chat_id, {}).pop(token, None) is not None

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

    # --- judging ---------------------------------------------------------------------------------------

    async def _ctx(self, chat_id: int, loaded: Loaded, at: datetime) -> Ctx:
        tz = (await self.groups.settings(chat_id)).timezone
        return Ctx(self._ctx_tiers, self._ctx_perks, loaded.lists, at.astimezone(ZoneInfo(tz)).time())

    async def facts(self, chat_id: int, user_id: int, exempt: bool, now: datetime) -> MemberFacts:
        member = await self.members.get(chat_id, user_id)
        role = Role.MEMBER if member is None else role_from(member.tg_role, member.community_role)
        xp = (await self.ledger.wallet(chat_id, user_id)).xp
        tier = tier_for(xp, self.tiers)
        since = (member.joined_at or member.first_seen_at) if member else None
        days = (now - since).days if since else 0
        approved = user_id in await self.moderation.approved(chat_id)
        return MemberFacts(role, self.tiers.index(tier), tier.key, days, 0, exempt or role >= Role.ADMIN, approved)

    async def test(self, chat_id: int, event: Event, facts: MemberFacts) -> Decision:
        """/rule test: what would fire for this event from this member; nothing is recorded or done."""
        loaded = await self.load(chat_id)
        return evaluate(event, loaded.rules, facts, Window(), event.date, await self._ctx(chat_id, loaded, event.date))

    async def judge(self, event: Event, exempt: bool) -> Verdict | None:
        """A group message (or edit): None when no rule of the group can fire on it (no database read then)."""
        if (await self.groups.settings(event.chat_id)).rules_mode == "off":
            return None
        loaded = await self.load(event.chat_id)
        if event.kind not in loaded.triggers:
            return None
        window = self.window(event.chat_id)
        if event.kind == "message" and loaded.windows:
            window.record(event.user_id, event.date, event.text)  # an edit is never counted again
        facts = await self.facts(event.chat_id, event.user_id, exempt, self.clock.now())
        decision = evaluate(event, loaded.rules, facts, window, self.clock.now(), await self._ctx(event.chat_id, loaded, event.date))
        if not decision.effects:
            return None
        for rule in decision.fired:
            window.fired[(rule.id, event.user_id)] = event.date
        return await self.apply(event, decision, facts)

    async def apply(self, event: Event, decision: Decision, facts: MemberFacts) -> Verdict:
        chat, user, msg = event.chat_id, event.user_id, event.message_id
        verdict = Verdict(decision)
        if (await self.groups.settings(chat)).rules_mode == "dry":
            verdict.dry = True
            entries = [NewLogEntry("rule", user, None, f"{r.name}: " + ", ".join(map(str, r.effects)), r.id, message_id=msg, dry=True)
                       for r in decision.fired]
            await self.moderation.repo.log(chat, entries, self.clock.now())
            return verdict
        s = self.moderation
        for fired in decision.effects:
            rule, e = fired.rule, fired.effect
            reason = f"rule {rule.name}"
            if e.key == "delete" and msg is not None and not verdict.deleted:
                outcome = await s.delete(chat, [msg], None, user, reason, rule_id=rule.id)
                verdict.deleted = outcome.ok
            elif e.key in ("mute", "ban", "kick") and not facts.exempt:
                await s.act(chat, e.key, user, None, e.args[0] if e.args else None, reason, msg, rule.id)
            elif e.key == "warn" and not facts.exempt:
                result = await s.warn(chat, user, None, e.args[0] or reason, f"rule:{rule.id}:{msg or event.date.isoformat()}", msg, rule.id)
                if result.violation_id is not None:
                    verdict.warns.append(result)
            elif e.key in ("points", "xp"):
                await self._award(chat, user, rule, e.key, e.args[0], msg or 0)
            elif e.key == "reply":
                verdict.replies.append((e.args[0], e.args[1]))
            elif e.key == "explain":
                tier = self.tiers[facts.tier]
                perk = next((c.args[0] for c in rule.conditions if c.key == "lacks"), PERK_POST_LINKS)
                needed = next((t for t in self.tiers if perk in t.perks), None)
                if needed is not None:
                    verdict.explain = (tier, needed)
            else:  # violation / reset / badge / give / take / notify: parsed and shown; applied by later work
                log.info("rule %s in %s: effect %s is not applied yet", rule.id, chat, e.key)
        return verdict

    async def _award(self, chat: int, user: int, rule: Rule, currency: str, amount: int, message_id: int) -> None:
        now = self.clock.now()
        reason = Reason.RULE_AWARD if amount > 0 else Reason.RULE_DEDUCT
        try:
            async with self.db.transaction() as tx:  # all or nothing: a refused debit leaves no row behind
                await post(tx, chat, user, amount, "xp" if currency == "xp" else "points", reason,
                           f"rule:{rule.id}:{message_id}", now, note=rule.name)
        except Exception:  # a deduction larger than the balance: skipped, logged
            log.info("rule %s could not move %s %s for %s in %s", rule.id, amount, currency, user, chat)
