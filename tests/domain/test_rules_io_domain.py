"""Export and import of a group's rules, pure: what is exported reads back the same (property test), nothing
unsafe or malformed is accepted, and the diff says exactly what an import would change."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.rules import parse_rule
from bot.domain.rules_io import RuleSet, RulesImportError, diff, export_text, parse_import
from tests.domain.test_rules_domain import EXAMPLES

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
ITEMS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(lambda s: s.strip() == s and s)


@settings(max_examples=60, deadline=None)
@given(rules=st.lists(st.tuples(NAMES, st.sampled_from(EXAMPLES), st.booleans()), max_size=8, unique_by=lambda r: r[0]),
       lists=st.dictionaries(NAMES, st.lists(st.tuples(ITEMS, st.none() | ITEMS), max_size=5, unique_by=lambda i: i[0]), max_size=3))
def test_an_export_reads_back_as_it_was(rules, lists):
    original = RuleSet(tuple((n, parse_rule(line).source, e) for n, line, e in rules),
                       {k: tuple(sorted(v)) for k, v in lists.items()})
    back = parse_import(export_text(original, "Tea «Lovers» & co: 茶", NOW))
    assert back == original
    assert diff(original, back).empty


def test_the_diff_names_every_change():
    old = RuleSet((("a", "when message then delete", True), ("b", "when edit then delete", True),
                   ("c", "when message then kick", True)), {"blocklist": (("spam", None),)})
    new = RuleSet((("c", "when message then ban", True), ("b", "when edit then delete", False),
                   ("d", "when join then kick", True)), {"blocklist": (("spam", "scam"), ("x", None))})
    d = diff(old, new)
    assert d.added == (("d", "when join then kick"),) and d.removed == ("a",)
    assert d.changed == (("c", "when message then ban"),) and d.switched == (("b", False),)
    assert d.reordered and d.lists == (("blocklist", 2, 0),)


@pytest.mark.parametrize("text,reason", [
    ("a: &x [1, 2]\nb: [*x, *x]", "yaml"),                      # aliases ("billion laughs") are refused
    ("!!python/object:os.system ls", "yaml"),                   # no object construction
    ("- just a list", "shape"),
    ("sticky_rules: true", "shape"),
    ("sticky_rules: 3", "version"),
    ("sticky_rules: 1\nrules: {a: 1}", "shape"),
    ("sticky_rules: 1\nrules: [{name: a, rule: when message then delete, enabled: maybe}]", "shape"),
    ("sticky_rules: 1\nrules: [{name: a, rule: when message then delete, cooldown: 5}]", "shape"),
    ("sticky_rules: 1\nrules: [{name: a, rule: when nonsense}]", "rule"),
    ("sticky_rules: 1\nlists: {blocklist: [[1, 2]]}", "list"),
    ("sticky_rules: 1\nlists: {BAD: []}", "name"),
    ("sticky_rules: 1\nrules: [" + ", ".join(f"{{name: r{i}, rule: when message then delete}}" for i in range(101)) + "]", "too_many"),
])
def test_malformed_imports_are_refused_with_a_reason(text, reason):
    with pytest.raises(RulesImportError) as info:
        parse_import(text)
    assert info.value.params["reason"] == reason


def test_size_and_encoding_are_checked_before_parsing():
    with pytest.raises(RulesImportError, match="size"):
        parse_import(b"#" * 100_001)
    with pytest.raises(RulesImportError, match="encoding"):
        parse_import(b"\xff\xfe")
    assert parse_import("\ufeffsticky_rules: 1".encode()) == RuleSet((), {})  # a byte-order mark is fine
