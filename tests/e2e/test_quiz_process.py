"""A scheduled quiz across SIGKILLs, with the real `python -m bot run` against the HTTP simulator: answers paid once
though Telegram delivers them all again after each restart, the closing (durable deferred work) done after a restart
that came past its time, waiting for an answer given while Sticky was down, and its result posted once."""
from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta, timezone

from tests.e2e.test_run_process import command_answered, make_group, query, wait_for
from tests.e2e.test_schedules_process import db_path, iso, server, sim, start  # noqa: F401  (fixtures)


def _set(db, sql: str, *params) -> None:
    conn = sqlite3.connect(db, timeout=10)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def test_a_quiz_pays_once_closes_after_a_restart_and_posts_its_result_once(sim, start, db_path):
    sim.lose_confirmations()  # every restart gets every update again, as after a crash
    first = start()
    chat, owner, admin, alice, bob = make_group(sim)
    saved = command_answered(sim, first, owner, "/schedule daily 23:59 quiz 1m +10\nCapital of France?\nLyon\n*Paris\nNice",
                             chat)[0]["text"]
    assert saved.startswith("Schedule #1 saved: daily 23:59 · quiz.")
    _set(db_path, "UPDATE schedules SET next_run = ?", iso(datetime.now(timezone.utc) + timedelta(seconds=1)))
    [quiz] = wait_for(lambda: [m for m in sim.replies(chat) if "poll" in m], "the quiz", first)
    sim.vote(alice, quiz, [1])
    sim.vote(bob, quiz, [0])
    paid = lambda: query(db_path, "SELECT user_id, amount FROM ledger WHERE reason = 'quiz' ORDER BY id")  # noqa: E731
    wait_for(paid, "alice's points", first)
    wait_for(lambda: len(query(db_path, "SELECT 1 FROM poll_answers")) == 2, "both answers", first)
    first.kill()

    sim.vote(admin, quiz, [1])  # while Sticky is down: the answer waits in Telegram's queue
    _set(db_path, "UPDATE deferred SET due_at = ? WHERE kind = 'poll_close'", iso(datetime.now(timezone.utc) - timedelta(seconds=1)))
    second = start()
    results = lambda: [m["text"] for m in sim.replies(chat) if m.get("text", "").startswith("📝")]  # noqa: E731
    [result] = wait_for(results, "the quiz result", second, 20.0)
    assert result == ("📝 Quiz closed: Capital of France?\nRight answer: Paris\n2 of 3 members answered right.\n"
                      "+10 points each: Alice, Admin")
    assert paid() == [(alice.id, 10), (admin.id, 10)]
    second.kill()

    third = start()
    polls = len(sim.calls("getUpdates"))
    time.sleep(3)  # a few ticks and polls of the third process, which gets every update again
    wait_for(lambda: len(sim.calls("getUpdates")) > polls, "more polls", third)
    assert len(results()) == 1 and len([c for c in sim.calls("stopPoll") if c.ok]) == 1
    assert paid() == [(alice.id, 10), (admin.id, 10)]
    assert third.stop() == 0
