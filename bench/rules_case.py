"""Phase R of `make bench`: what the rules engine costs per chat message, against bare PTB in the same run. Three
groups of the bench world take the same chat (30 members in turn, a second apart, each seen before: none a flood):
one with the rules off (`/set rules_mode off`), one with the default rules, one with 50 rules (the defaults and 46
more of every kind: words, regex, caps, mentions, emoji, script, duplicates, links by tier and `messages < N`, which
reads the member's message count), and one with every lock (`/lock all`: 17 rules lock_TYPE before the defaults). Each message is handled alone (the next once the last is done), so the figures
are the cost of one message, not of queueing; the rules' cost is the difference to the rules-off group (medians:
a shared machine's hiccups move means more). The groups take turns in rounds of 50 messages."""
from __future__ import annotations

from typing import Any

from bench.load import one_at_a_time
from bot.domain.rules import LOCKS
from bench.report import summary_ms
from bench.world import CHAT_TEXTS, World


def fifty_rules_extra(count: int = 46) -> list[str]:
    """Rules a busy group might keep, most of which a typical message does not match."""
    shapes = [
        'when message or edit and words "spamword{i}" "promo{i}*" then delete, warn "spam"',
        'when message and regex "buy{i}\\\\s+now" then delete',
        "when message and caps >= 80% and length > {n} then delete, cooldown 1m",
        "when message and mentions >= {m} then delete",
        "when message and emoji >= {m} then delete",
        "when message and script cyrillic and days < {i} then delete",
        "when message and duplicate 3 in 1m then delete",
        "when message and has link and tier < silver and messages < {n} then delete",
    ]
    return [shapes[i % len(shapes)].format(i=i + 1, n=20 + i, m=5 + i) for i in range(count)]


SPEAKERS = 30  # members per group who chat in the measurement: each seen before it, none near a flood
ROUND = 50  # messages per group per round; rounds alternate the groups, so a change in the machine's load hits all


def stream(world: World, group: int, count: int, date: int) -> list[tuple[str, dict[str, Any]]]:
    """`count` chat messages from SPEAKERS members in turn, a second apart (one member every SPEAKERS seconds)."""
    return [("chat", world.message(group, i % SPEAKERS, f"{CHAT_TEXTS[i % len(CHAT_TEXTS)]} ({i})", date + i))
            for i in range(count)]


async def measure(sticky, bare, world: World, date: int, count: int) -> dict:
    s = sticky.pg.services
    groups = {"off": 0, "default": 1, "fifty": 2, "locks": 3}
    await s.groups.set(world.groups[0].id, "rules_mode", "off", None)
    fifty = world.groups[2].id
    await s.rules.load(fifty)
    for line in fifty_rules_extra():
        await s.rules.add(fifty, line)
    await s.rules.lock(world.groups[3].id, list(LOCKS))
    out: dict = {"messages": count, "rules": {k: 0 if k == "off" else len(await s.rules.rows(world.groups[i].id))
                                              for k, i in groups.items()}}
    assert out["rules"]["fifty"] >= 50
    streams = {k: stream(world, i, SPEAKERS + count, date) for k, i in groups.items()}
    for k in groups:  # warm: the group's rules loaded and every speaker seen once
        await one_at_a_time(sticky, streams[k][:SPEAKERS])
        await one_at_a_time(bare, streams[k][:SPEAKERS])
    times: dict = {k: {"sticky": [], "bare": []} for k in groups}
    for start in range(SPEAKERS, SPEAKERS + count, ROUND):
        for k in groups:
            part = streams[k][start:start + ROUND]
            times[k]["bare"] += (await one_at_a_time(bare, part))["chat"]
            times[k]["sticky"] += (await one_at_a_time(sticky, part))["chat"]
    for k in groups:
        out[k] = {"sticky": summary_ms(times[k]["sticky"]), "bare": summary_ms(times[k]["bare"])}
    return out


def rows(r: dict) -> list[dict]:
    base = r["off"]["sticky"]["p50"]
    out = []
    for label, name in (("off", "rules off"), ("default", f"default rules ({r['rules']['default']})"),
                        ("fifty", f"{r['rules']['fifty']} rules"),
                        ("locks", f"every lock and the defaults ({r['rules']['locks']})")):
        v, b = r[label]["sticky"], r[label]["bare"]
        extra = "" if label == "off" else f"; rules: {1e3 * (v['p50'] - base):+,.0f} µs at p50"
        out.append({"what": f"R one chat message, {name}: p50 / mean / p99 µs",
                    "value": f"{1e3 * v['p50']:,.0f} / {1e3 * v['mean']:,.0f} / {1e3 * v['p99']:,.0f}{extra}",
                    "beside": f"{1e3 * b['p50']:,.0f} / {1e3 * b['mean']:,.0f} / {1e3 * b['p99']:,.0f}"})
    return out
