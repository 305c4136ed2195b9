"""A group's rules and named lists as a versioned YAML file an owner can keep (/rules_export), read back with the
same parser the rules use (/rules_import), and compared with what the group has now, so an import can say what
it would change before it changes anything. Pure: no Telegram, no database."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime

import yaml

from bot.domain.rules import EXPORT_VERSION, MAX_RULES, RuleError, RuleSyntaxError, parse_rule

MAX_IMPORT_BYTES = 100_000  # a full export of 100 rules and large lists is far below this
MAX_LIST_ITEMS = 1000
MAX_ITEM_LENGTH = 100
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_KEYS = {"sticky_rules", "group", "exported_at", "rules", "lists"}
_RULE_KEYS = {"name", "rule", "enabled"}


class RulesImportError(RuleError):
    """params: reason in {size, encoding, yaml, shape, version, rule, name, duplicate, too_many, list, expired, gone,
    stale}, where, …"""

    code = "import"


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[tuple[str, str, bool], ...]  # (name, rule line in canonical spelling, enabled), in order
    lists: dict[str, tuple[tuple[str, str | None], ...]] = field(default_factory=dict)  # name -> ((item, note), …)

    def fingerprint(self) -> str:
        """Changes whenever anything an import would replace changes (to refuse a confirmation made stale)."""
        text = repr((self.rules, sorted((k, v) for k, v in self.lists.items())))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_json(self) -> str:
        """The validated set, to keep while the owner decides (a pending import survives a restart)."""
        return json.dumps({"rules": [list(r) for r in self.rules],
                           "lists": {k: [list(item) for item in v] for k, v in self.lists.items()}}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RuleSet:
        doc = json.loads(text)
        return cls(tuple((str(n), str(line), bool(on)) for n, line, on in doc["rules"]),
                   {k: tuple((str(item), note) for item, note in v) for k, v in doc["lists"].items()})


@dataclass(frozen=True)
class Diff:
    added: tuple[tuple[str, str], ...] = ()  # (name, line)
    removed: tuple[str, ...] = ()
    changed: tuple[tuple[str, str], ...] = ()  # (name, new line)
    switched: tuple[tuple[str, bool], ...] = ()  # (name, now enabled)
    reordered: bool = False
    lists: tuple[tuple[str, int, int], ...] = ()  # (list, items added, items removed)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.switched or self.reordered or self.lists)


class _NoAliases(yaml.SafeLoader):
    """YAML without anchors and aliases: a few bytes of aliases can expand to gigabytes ("billion laughs")."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed here", event.start_mark)
        return super().compose_node(parent, index)


def export_text(rules: RuleSet, title: str, now: datetime) -> str:
    """The YAML an owner keeps. Items with a note are {item, note}; the rest are plain strings."""
    data = {
        "sticky_rules": EXPORT_VERSION,
        "group": title,
        "exported_at": now.replace(microsecond=0).isoformat(),
        "rules": [{"name": n, "enabled": e, "rule": line} for n, line, e in rules.rules],
        "lists": {name: [item if note is None else {"item": item, "note": note} for item, note in items]
                  for name, items in sorted(rules.lists.items())},
    }
    head = "# Sticky rules. Keep this file; reply /rules_import to it (owner) to put these rules back or copy them.\n"
    return head + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)


def _fail(reason: str, **params) -> RulesImportError:
    return RulesImportError(reason=reason, **params)


def parse_import(data: bytes | str) -> RuleSet:
    """Validate an export, all of it, before anything is changed. Raises RulesImportError saying where and why."""
    if len(data) > MAX_IMPORT_BYTES:
        raise _fail("size", n=MAX_IMPORT_BYTES)
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _fail("encoding") from None
    try:
        doc = yaml.load(data, Loader=_NoAliases)  # noqa: S506 - a SafeLoader without aliases
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise _fail("yaml", line=(mark.line + 1) if mark else 0, problem=str(getattr(exc, "problem", "") or exc)[:100]) from None
    if not isinstance(doc, dict) or "sticky_rules" not in doc:
        raise _fail("shape", where="sticky_rules")
    version = doc["sticky_rules"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail("shape", where="sticky_rules")
    if version > EXPORT_VERSION:
        raise _fail("version", version=version, supported=EXPORT_VERSION)
    unknown = set(doc) - _KEYS
    if unknown:
        raise _fail("shape", where=sorted(map(str, unknown))[0])
    rules_doc, lists_doc = doc.get("rules") or [], doc.get("lists") or {}
    if not isinstance(rules_doc, list):
        raise _fail("shape", where="rules")
    if not isinstance(lists_doc, dict):
        raise _fail("shape", where="lists")
    if len(rules_doc) > MAX_RULES:
        raise _fail("too_many", n=MAX_RULES)
    rules, seen = [], set()
    for i, entry in enumerate(rules_doc, 1):
        where = f"rules #{i}"
        if not isinstance(entry, dict) or set(entry) - _RULE_KEYS or "name" not in entry or "rule" not in entry:
            raise _fail("shape", where=where)
        name, line, enabled = entry["name"], entry["rule"], entry.get("enabled", True)
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise _fail("name", where=where, name=str(name)[:40])
        if name in seen:
            raise _fail("duplicate", where=where, name=name)
        seen.add(name)
        if not isinstance(line, str) or not isinstance(enabled, bool):
            raise _fail("shape", where=where, rule=name)
        try:
            rule = parse_rule(line, name)
        except RuleSyntaxError as exc:
            raise _fail("rule", where=where, rule=name, position=exc.position, expected=exc.expected,
                        found=exc.found, line=line, length=len(line), template=exc.template, hint=exc.params) from None
        rules.append((name, rule.source, enabled))
    lists = {}
    for name, items in lists_doc.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise _fail("name", where="lists", name=str(name)[:40])
        if not isinstance(items, list) or len(items) > MAX_LIST_ITEMS:
            raise _fail("list", where=name, n=MAX_LIST_ITEMS)
        parsed: dict[str, str | None] = {}
        for item in items:
            note = None
            if isinstance(item, dict) and set(item) <= {"item", "note"} and "item" in item:
                item, note = item["item"], item.get("note")
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str) or not item.strip() or len(item) > MAX_ITEM_LENGTH \
                    or not (note is None or isinstance(note, str)):
                raise _fail("list", where=name, n=MAX_LIST_ITEMS)
            parsed[item.strip()] = note
        lists[name] = tuple(sorted(parsed.items()))
    return RuleSet(tuple(rules), lists)


def diff(current: RuleSet, new: RuleSet) -> Diff:
    now = {n: (line, e) for n, line, e in current.rules}
    then = {n: (line, e) for n, line, e in new.rules}
    added = tuple((n, line) for n, line, _e in new.rules if n not in now)
    removed = tuple(n for n, _line, _e in current.rules if n not in then)
    changed = tuple((n, line) for n, line, _e in new.rules if n in now and now[n][0] != line)
    switched = tuple((n, e) for n, _line, e in new.rules if n in now and now[n][1] != e)
    kept_order = [n for n, _l, _e in current.rules if n in then]
    reordered = kept_order != [n for n, _l, _e in new.rules if n in now]
    lists = []
    for name in sorted(set(current.lists) | set(new.lists)):
        old_items, new_items = dict(current.lists.get(name, ())), dict(new.lists.get(name, ()))
        plus = sum(1 for k, v in new_items.items() if k not in old_items or old_items[k] != v)
        minus = sum(1 for k in old_items if k not in new_items)
        if plus or minus:
            lists.append((name, plus, minus))
    return Diff(added, removed, changed, switched, reordered, tuple(lists))
