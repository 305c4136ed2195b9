"""Counters across SIGKILL, end to end: the real `python -m bot run` killed mid-load and restarted, again and again,
while members chat, check in, join and leave. Afterwards every message is counted exactly once (per member per local
day, per local hour for the group, replies to others), every join and leave once, every check-in once and its points in the ledger, every wallet its ledger — nothing lost
to a kill (a message's counts are written in the same commit as its update's handled mark), nothing counted twice
(an update handled before the kill is not handled again)."""
from __future__ import annotations

import random
import signal
import time

import pytest

from tests.e2e.test_restart_process import bot_check, caught_up
from tests.e2e.test_run_process import (  # noqa: F401 - fixtures
    command_answered, make_group, query, server, sim, start, wait_for,
)

KILLS = 4


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "data" / "sticky.db"
    # The counters' own batch every 3 s: a round's chat comes and is cut by its kill well within that, so what the kill
    # could lose is in memory then, not written by chance; and catching up, which waits for the batch (it marks the
    # messages that earned chat XP handled), stays quick.
    (tmp_path / "config.yaml").write_text(
        "telegram:\n  poll_timeout: 1\n  rate_limit: false\n"
        f"database:\n  path: {path}\nactivity:\n  flush_seconds: 3\nlogging:\n  level: INFO\n"
    )
    return path


def test_counters_are_neither_lost_nor_counted_twice_across_sigkills(sim, start, db_path, tmp_path):
    rng = random.Random(12)
    bot = start()
    chat, owner, admin, alice, bob = make_group(sim)
    people = [alice, bob] + [sim.user(n) for n in ("carol", "dave", "erin", "frank")]
    for person in people[2:]:
        sim.join(chat, person)
    # Six messages in ten seconds would be a flood the default rule mutes; this load is faster than any chat.
    command_answered(sim, bot, owner, "/set rules_mode off", chat)
    sent: dict[int, int] = {}                                  # chat messages (and commands) per member
    replies_sent: dict[int, int] = {}
    checked_in: set[int] = set()
    joins, leaves = 3 + 4, 0                                  # make_group: admin, alice, bob; then carol, dave, erin, frank
    inside = {p.id: True for p in people}
    last: dict = {}
    for round_ in range(KILLS + 1):
        kill_at = rng.randrange(5, 25)
        for step in range(30):
            person = rng.choice(people)
            roll = rng.random()
            if not inside[person.id]:
                sim.join(chat, person)
                inside[person.id], joins = True, joins + 1
            elif roll < 0.08:
                sim.leave(chat, person)
                inside[person.id], leaves = False, leaves + 1
            elif roll < 0.2 and person.id not in checked_in:
                sim.send(person, "/checkin", chat)
                checked_in.add(person.id)
                sent[person.id] = sent.get(person.id, 0) + 1
            else:
                other = last.get("message")
                replying = other is not None and other["from"]["id"] != person.id and roll < 0.4
                last["message"] = sim.send(person, f"chat {round_}.{step}", chat, reply_to=other if replying else None)
                sent[person.id] = sent.get(person.id, 0) + 1
                if replying:
                    replies_sent[person.id] = replies_sent.get(person.id, 0) + 1
            time.sleep(0.02)
            if step == kill_at and round_ < KILLS:
                bot.kill()                                     # SIGKILL: counts in memory, marks unwritten
                assert bot.proc.returncode == -signal.SIGKILL
                bot = start()
        wait_for(lambda: caught_up(sim, db_path), "the bot to catch up", bot)
    assert bot.stop() == 0
    code, output = bot_check(tmp_path)
    assert code == 0, output

    counted = dict(query(db_path, "SELECT user_id, SUM(messages) FROM activity_daily WHERE chat_id = ? GROUP BY user_id", chat.id))
    hellos = {alice.id: 1, bob.id: 1}                          # make_group's greetings
    assert counted.get(owner.id, 0) == 1                       # the /set
    assert {p.id: counted.get(p.id, 0) for p in people} == {p.id: sent.get(p.id, 0) + hellos.get(p.id, 0) for p in people}
    replies = dict(query(db_path, "SELECT user_id, SUM(replies) FROM activity_daily WHERE chat_id = ? GROUP BY user_id", chat.id))
    assert {p.id: replies.get(p.id, 0) for p in people} == {p.id: replies_sent.get(p.id, 0) for p in people}
    hourly = query(db_path, "SELECT SUM(n) FROM stats_hourly WHERE chat_id = ? AND metric = 'messages'", chat.id)[0][0]
    # Every member's message (the heat-map's), not the owner's command: the owner and admins are counted apart.
    assert hourly == sum(counted.get(p.id, 0) for p in people) and hourly == sum(counted.values()) - 1
    events = dict(query(db_path, "SELECT event, COUNT(*) FROM member_events WHERE chat_id = ? GROUP BY event", chat.id))
    assert (events.get("join", 0), events.get("leave", 0)) == (joins, leaves)
    booked = {r[0] for r in query(db_path, "SELECT user_id FROM checkins WHERE chat_id = ?", chat.id)}
    assert booked == checked_in
    # Points are never lost: each check-in's points and XP are in the ledger once, and every wallet is its ledger.
    earned = query(db_path, "SELECT c.user_id, c.points, c.xp, SUM(CASE WHEN l.currency = 'points' THEN l.amount END),"
                            " SUM(CASE WHEN l.currency = 'xp' THEN l.amount END) FROM checkins c JOIN ledger l"
                            " ON l.chat_id = c.chat_id AND l.user_id = c.user_id AND l.reason = 'checkin'"
                            " WHERE c.chat_id = ? GROUP BY c.user_id", chat.id)
    assert {r[0] for r in earned} == checked_in and all(r[1] == r[3] and r[2] == r[4] for r in earned), earned
    wallets = query(db_path, "SELECT w.user_id, w.points, w.xp, (SELECT COALESCE(SUM(amount), 0) FROM ledger l"
                             " WHERE l.chat_id = w.chat_id AND l.user_id = w.user_id AND currency = 'points'),"
                             " (SELECT COALESCE(SUM(amount), 0) FROM ledger l WHERE l.chat_id = w.chat_id"
                             " AND l.user_id = w.user_id AND currency = 'xp') FROM wallets w WHERE w.chat_id = ?", chat.id)
    assert wallets and all(r[1] == r[3] and r[2] == r[4] for r in wallets), wallets
    assert all(r[2] > 0 for r in wallets if r[0] in checked_in)  # the chat XP and check-ins, booked
    print(f"{KILLS} kills, {sum(sent.values())} messages, {joins} joins, {leaves} leaves, {len(checked_in)} check-ins")

