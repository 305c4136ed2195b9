"""The trace /rule test and dry runs explain by is made on demand from the steps evaluate records (not a line per
rule per message): for random rules, members and messages it says exactly what the eager trace said, and the same
effects fire. The reference below is evaluate and its condition checks as they were before (a line per rule, the
failing condition's source formatted at once, each list compiled at every check, normalise by NFKC/NFKD always)."""
from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta, timezone

from bot.domain.roles import Role
from bot.domain.rules import (
    _SCRIPTS, EXTRAS, REGISTRY, Ctx, Event, Fired, Kind, MemberFacts, Window, _names_roles, _triggered, evaluate, may_fire,
    normalise, parse_rule, rewards, word_pattern,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
LISTS = {"blocklist": ("buy now", "casino*", "Crème"), "bad": ("spam.com", ".Evil.org")}
CTX = Ctx(("bronze", "silver", "gold"), (frozenset(), frozenset({"post_links"}), frozenset({"post_links"})), LISTS,
          datetime(2026, 3, 2, 23, 30).time())

LINES = [
    'when message or edit and has link and tier < silver then delete, reply "Links unlock at silver"',
    "when message and flood 3 in 10s then mute 10m",
    "when message and groupflood 5 in 10s then delete",
    'when message and words "buy*" "spam" then delete, warn "blocklist"',
    "when message and words in blocklist then delete",
    "when message and has link and domain in bad then delete, continue",
    'when message and role not in spreader,activator and regex "a+b" then delete, cooldown 1m, continue',
    "when message then xp +5",
    "when message and lacks post_links then delete, explain",
    "when message and not has media photo and caps >= 70% and emoji >= 2 and mentions >= 1 then delete",
    "when message and length > 20 and days < 3 then delete, continue",
    "when message and messages < 5 and has link then delete",
    "when message and duplicate 2 in 1m then delete, cooldown 30s",
    "when message and script cyrillic then warn",
    "when message and time 23:00-07:00 then reply \"late\", continue",
    "when message and role >= admin and has link then reply \"even admins\"",
    "when message and has forward then delete",
    "when message and from bot then delete",
    "when command then delete",
    "when message or command then xp +1",
    "when edit and has link then delete",
    "when message and tier >= gold then points +2, continue",
    "when message and not has sticker and length < 3 then badge tiny",
    'when message or edit then reply "hi", cooldown 2m, continue',
]
TEXTS = ["hello", "BUY NOW please", "casino royale", "crème brûlée", "ＣＡＳＩＮＯ night", "привет", "aab spam",
         "LOUD NOISES HERE", "ok", "see https://x.spam.com/a", "a very long message, longer than twenty", "🙂🙂 @a",
         "Ｂｕｙ　now", "e\u0301clair and more", ""]


def _old_normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    stripped = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def _old_cmp(op, a, b):
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "=": a == b, "!=": a != b}[op]


def _old_holds(part, event, member, window, ctx, now) -> bool:
    k, a = part.key, part.args
    text = event.text
    if k == "link":
        result = bool(event.links)
    elif k == "forward":
        result = event.forward
    elif k == "sticker":
        result = event.media == "sticker"
    elif k == "media":
        result = event.media is not None and (a[0] == "any" or event.media == a[0])
    elif k in EXTRAS:
        result = k in event.extras
    elif k == "words":
        norm = _old_normalise(text)
        patterns = [word_pattern(w) for w in (ctx.lists.get(a[1], ()) if a[1] is not None else a[0])]  # one by one
        result = any(p.search(norm) for p in patterns)
    elif k == "regex":
        result = a[1](text)
    elif k == "domain":
        listed = {d.lower().lstrip(".") for d in ctx.lists.get(a[0], ())}
        result = any(h == d or h.endswith("." + d) for h in event.links for d in listed)
    elif k in ("mentions", "length", "emoji", "days", "messages", "caps"):
        if k == "caps":
            letters = [ch for ch in text if ch.isalpha()]
            value = 100 * sum(ch.isupper() for ch in letters) / len(letters) if len(letters) >= 5 else 0
        else:
            value = {"mentions": event.mentions, "length": len(text), "emoji": event.emoji,
                     "days": member.days_in_group, "messages": member.messages}[k]
        result = _old_cmp(a[0], value, a[1])
    elif k == "script":
        result = _SCRIPTS[a[0]].search(text) is not None
    elif k == "duplicate":
        result = window.duplicates(event.user_id, event.date, text, a[1]) >= a[0]
    elif k == "flood":
        result = window.count(event.user_id, event.date, a[1]) >= a[0]
    elif k == "groupflood":
        result = window.count(None, event.date, a[1]) >= a[0]
    elif k == "tier":
        target = ctx.tiers.index(a[1]) if a[1] in ctx.tiers else len(ctx.tiers)
        result = _old_cmp(a[0], member.tier, target)
    elif k == "lacks":
        perks = ctx.tier_perks[member.tier] if member.tier < len(ctx.tier_perks) else frozenset()
        result = a[0] not in perks and any(a[0] in p for p in ctx.tier_perks)
    elif k == "role":
        result = _old_cmp(a[0], member.role, a[1])
    elif k == "rolein":
        result = (member.role in a[0]) != a[1]
    elif k == "time":
        local = ctx.local_time or now.time()
        start, end = a
        result = start <= local < end if start <= end else (local >= start or local < end)
    elif k == "from":
        result = event.from_bot if a[0] == "bot" else event.from_channel
    else:
        result = False
    return result != part.negate


def _eager(event, rules, member, window, now, ctx):
    """evaluate as it was: (effects, [(rule name, fired, why)])."""
    effects, trace, stopped = [], [], False
    for rule in rules:
        if not rule.enabled:
            trace.append((rule.name, False, "off"))
            continue
        if stopped:
            trace.append((rule.name, False, "stopped"))
            continue
        if not _triggered(rule, event):
            trace.append((rule.name, False, "trigger"))
            continue
        if member.exempt and event.kind in ("message", "edit", "command") and not _names_roles(rule):
            trace.append((rule.name, False, "exempt"))
            continue
        if member.approved and (any(REGISTRY.get(f"condition:{c.key}", Kind("", "", "", None, True)).content
                                    for c in rule.conditions if c.key not in ("flood", "groupflood"))
                                or (event.kind == "command" and all(t.key == "command" for t in rule.triggers))) \
                and not any(c.key in ("flood", "groupflood") for c in rule.conditions):
            trace.append((rule.name, False, "approved"))
            continue
        if (event.sticky_command or event.kind == "command") and rewards(rule) and not any(
                t.key == "command" for t in rule.triggers):
            trace.append((rule.name, False, "command"))
            continue
        failed = next((c for c in rule.conditions if not _old_holds(c, event, member, window, ctx, now)), None)
        if failed is not None:
            trace.append((rule.name, False, str(failed)))
            continue
        last = window.fired.get((rule.id, event.user_id))
        if rule.cooldown and last is not None and event.date - last < rule.cooldown:
            trace.append((rule.name, False, "cooldown"))
            continue
        trace.append((rule.name, True, ""))
        effects.extend(Fired(rule, e) for e in rule.effects)
        stopped = not rule.continue_after
    return effects, trace


def test_the_trace_made_on_demand_says_what_the_eager_trace_said_for_random_rules_and_messages():
    rnd = random.Random(8)
    parsed = [parse_rule(line, f"r{i}") for i, line in enumerate(LINES)]
    fired_somewhere, reasons = 0, set()
    for case in range(600):
        rules = [type(r)(r.triggers, r.conditions, r.effects, r.name, i + 1, rnd.random() > 0.15, r.cooldown, r.continue_after)
                 for i, r in enumerate(rnd.sample(parsed, rnd.randint(1, len(parsed))))]
        window = Window()
        user = rnd.choice([7, 8])
        for back in range(rnd.randint(0, 6)):  # some history: floods, duplicates
            window.record(rnd.choice([7, 8]), NOW - timedelta(seconds=rnd.randint(0, 90)), rnd.choice(TEXTS))
        for rule in rnd.sample(rules, rnd.randint(0, min(2, len(rules)))):  # some cooldowns running
            window.fired[(rule.id, user)] = NOW - timedelta(seconds=rnd.randint(0, 120))
        role = rnd.choice(list(Role))
        member = MemberFacts(role, rnd.randint(0, 2), "bronze", rnd.randint(0, 5), rnd.randint(0, 9),
                             exempt=role >= Role.ADMIN or rnd.random() < 0.1, approved=rnd.random() < 0.2)
        text = rnd.choice(TEXTS)
        event = Event(rnd.choice(["message", "message", "edit", "command", "join"]), -100, user,
                      NOW + timedelta(seconds=rnd.randint(0, 5)), 1, text,
                      tuple(rnd.sample(["x.spam.com", "evil.org", "ok.net", ""], rnd.randint(0, 2))),
                      rnd.randint(0, 2), rnd.random() < 0.2, rnd.choice([None, None, "photo", "sticker"]),
                      rnd.randint(0, 3), rnd.random() < 0.1, sticky_command=rnd.random() < 0.2)
        ctx = CTX if rnd.random() < 0.5 else Ctx(CTX.tiers, CTX.tier_perks, LISTS, CTX.local_time, CTX.compiled)
        expected_effects, expected_trace = _eager(event, rules, member, window, NOW, ctx)
        decision = evaluate(event, rules, member, window, NOW, ctx)
        assert list(decision.effects) == expected_effects, case
        assert [(t.rule.name, t.fired, t.why) for t in decision.trace] == expected_trace, case
        assert [r.name for r in decision.fired] == [name for name, fired, _ in expected_trace if fired], case
        fired_somewhere += bool(expected_effects)
        reasons |= {why if why in ("", "off", "stopped", "trigger", "exempt", "approved", "command", "cooldown") else "condition"
                    for _, _, why in expected_trace}
    # The sample reaches every way a rule can go (fired, off, stopped, not triggered, exempt, approved, own command,
    # a failing condition, cooldown), and many messages fire something.
    assert reasons == {"", "off", "stopped", "trigger", "exempt", "approved", "command", "condition", "cooldown"}
    assert fired_somewhere > 100


def test_normalise_of_ascii_is_what_the_unicode_forms_give():
    rnd = random.Random(3)
    alphabet = [chr(c) for c in range(128)]
    for _ in range(3000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))
        assert normalise(text) == _old_normalise(text), repr(text)
    for text in TEXTS:
        assert normalise(text) == _old_normalise(text)


def test_may_fire_is_false_only_where_evaluate_fires_nothing_for_any_member():
    """The member is read for a message only when may_fire says some rule could fire on it: for random rules and
    messages, when it says no, evaluate fires nothing whoever the member is (every role, tier, age, count, exempt or
    approved), and with the member's role given, nothing for anyone of that role; and it says no often (most messages
    meet no content rule), so the read it saves is real."""
    rnd = random.Random(11)
    parsed = [parse_rule(line, f"r{i}") for i, line in enumerate(LINES)]
    members = [MemberFacts(role, tier, "bronze", days, count, exempt=exempt, approved=approved)
               for role in Role for tier in (0, 2) for days, count in ((0, 0), (5, 9))
               for exempt, approved in ((False, False), (True, False), (False, True))]
    said_no = said_yes_and_fired = said_no_for_role = 0
    for case in range(500):
        rules = [type(r)(r.triggers, r.conditions, r.effects, r.name, i + 1, rnd.random() > 0.15, r.cooldown, r.continue_after)
                 for i, r in enumerate(rnd.sample(parsed, rnd.randint(1, 6)))]
        window = Window()
        user = rnd.choice([7, 8])
        for back in range(rnd.randint(0, 6)):
            window.record(rnd.choice([7, 8]), NOW - timedelta(seconds=rnd.randint(0, 90)), rnd.choice(TEXTS))
        for rule in rnd.sample(rules, rnd.randint(0, min(2, len(rules)))):
            window.fired[(rule.id, user)] = NOW - timedelta(seconds=rnd.randint(0, 120))
        event = Event(rnd.choice(["message", "message", "edit", "command", "join"]), -100, user,
                      NOW + timedelta(seconds=rnd.randint(0, 5)), 1, rnd.choice(TEXTS),
                      tuple(rnd.sample(["x.spam.com", "evil.org", "ok.net", ""], rnd.randint(0, 2))),
                      rnd.randint(0, 2), rnd.random() < 0.2, rnd.choice([None, None, "photo", "sticker"]),
                      rnd.randint(0, 3), rnd.random() < 0.1, sticky_command=rnd.random() < 0.2)
        fired = [bool(evaluate(event, rules, m, window, NOW, CTX).effects) for m in members]
        if not may_fire(event, rules, window, NOW, CTX):
            said_no += 1
            assert not any(fired), case
        elif any(fired):
            said_yes_and_fired += 1
        for role in Role:  # the role known (the group's role map): no only where no member of that role fires
            of_role = [f for m, f in zip(members, fired) if m.role == role]
            if not may_fire(event, rules, window, NOW, CTX, role):
                said_no_for_role += 1
                assert not any(of_role), (case, role)
    assert said_no > 100 and said_yes_and_fired > 100
    assert said_no_for_role > 5 * said_no  # knowing the role says no far more often


def test_the_default_content_rules_need_no_member_for_a_plain_message():
    rules = [parse_rule("when message and flood 6 in 10s then mute 10m", "antiflood"),
             parse_rule("when message and has forward and lacks post_links and role < spreader then delete, explain", "fw"),
             parse_rule('when message or edit and words in blocklist then delete, warn "blocklist"', "blocklist")]
    rules = [type(r)(r.triggers, r.conditions, r.effects, r.name, i + 1, True, r.cooldown, r.continue_after) for i, r in enumerate(rules)]
    plain = Event("message", -100, 7, NOW, 1, "hello there")
    assert not may_fire(plain, rules, Window(), NOW, CTX)
    assert may_fire(Event("message", -100, 7, NOW, 1, "casino night"), rules, Window(), NOW, CTX)  # the blocklist
    forwarded = Event("message", -100, 7, NOW, 1, "hello", forward=True)
    assert may_fire(forwarded, rules, Window(), NOW, CTX)  # the tier and role decide: the member is read
