"""Schedules and delete-later across SIGKILL, with the real `python -m bot run` against the HTTP simulator: every
schedule re-armed from the database with the right next run, a slot never fired twice, a pending delete still done."""
from __future__ import annotations

import signal
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.test_run_process import BotProcess, command_answered, make_group, query, wait_for  # noqa: F401

from bot.sim import FakeTelegram
from tests.conftest import malformed_calls


@pytest.fixture
def sim():
    return FakeTelegram()


@pytest.fixture
def server(sim):
    server = sim.serve_http()
    yield server
    server.close()


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "data" / "sticky.db"
    (tmp_path / "config.yaml").write_text(
        "telegram:\n  poll_timeout: 1\n"
        f"database:\n  path: {path}\n"
        "defaults:\n  transient_seconds: 5\n"
        "schedules:\n  tick_seconds: 1\n"
    )
    return path


@pytest.fixture
def start(tmp_path, server, sim):
    started: list[BotProcess] = []

    def start_bot() -> BotProcess:
        mark = len(sim.calls())
        bot = BotProcess(tmp_path, server.url, sim.token, f"run{len(started) + 1}")
        started.append(bot)
        wait_for(lambda: any(c.method == "getUpdates" and c.ok for c in sim.calls()[mark:]), "polling", bot, 30.0)
        return bot

    yield start_bot
    for bot in started:
        bot.kill()
    assert not malformed_calls(sim)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def test_sigkill_keeps_schedules_and_pending_deletes_and_fires_each_slot_once(sim, start, db_path):
    first = start()
    chat, owner, admin, alice, bob = make_group(sim)
    saved = command_answered(sim, first, owner, "/schedule every 5m post tick-tock", chat)[0]["text"]
    assert saved.startswith("Schedule #1 saved: every 5m · post. Next run: ")
    refusal = command_answered(sim, first, alice, "/schedule daily 09:00 post hi", chat)[0]  # deleted in 5 s
    # The delete is recorded right after the reply is sent (a crash in between leaves the message, see README).
    wait_for(lambda: query(db_path, "SELECT 1 FROM deferred WHERE kind = 'delete' AND done_at IS NULL"), "the recorded delete", first)
    first.kill()  # SIGKILL before the delete is due: the timer in memory is gone
    assert first.proc.returncode == -signal.SIGKILL

    [(first_run, planned)] = query(db_path, "SELECT first_run, next_run FROM schedules")
    assert datetime.fromisoformat(planned) - datetime.fromisoformat(first_run) == timedelta(minutes=5)
    # Make the slot due a moment after the restart (the test cannot wait five minutes).
    import sqlite3
    soon = datetime.now(timezone.utc) + timedelta(seconds=3)
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE schedules SET next_run = ?", (iso(soon),))
    conn.commit()
    conn.close()

    second = start()

    def deletes():
        return [c for c in sim.calls("deleteMessage") if c.params.get("message_id") == refusal["message_id"]]

    wait_for(deletes, "the pending delete, after the restart", second)
    posts = lambda: [m for m in sim.replies(chat) if m.get("text") == "tick-tock"]  # noqa: E731
    wait_for(posts, "the scheduled post", second)
    second.kill()  # right after the slot: the next start must not fire it again
    [(next_run, runs)] = query(db_path, "SELECT next_run, runs FROM schedules")
    assert runs == 1 and next_run == planned  # back on the every-5-minutes grid from the first run

    third = start()
    ticks = len([c for c in sim.calls() if c.method == "getUpdates"])
    time.sleep(3)  # a few ticks of the third process
    wait_for(lambda: len(sim.calls("getUpdates")) > ticks, "more polls", third)
    assert len(posts()) == 1
    # Deleted once. A delete whose answer came too late (a loaded machine) is a timeout to Sticky and is tried
    # again; Telegram's "not found" then ends it — the only other call allowed.
    assert deletes()[0].ok
    assert all(not c.ok and "message to delete not found" in c.description for c in deletes()[1:])
    assert refusal["message_id"] in [m["message_id"] for m in sim.deleted(chat)]
    assert query(db_path, "SELECT next_run, runs FROM schedules") == [(planned, 1)]
    assert query(db_path, "SELECT COUNT(*) FROM deferred WHERE done_at IS NULL") == [(0,)]
    assert third.stop() == 0


def _set(db_path, sql: str, *params) -> None:
    import sqlite3
    conn = sqlite3.connect(db_path, timeout=10)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def test_sigkill_between_claim_and_send_loses_nothing_and_sends_nothing_twice(sim, start, db_path):
    """Two slots claimed in one tick; SIGKILL while Telegram holds the answer to the first one's send (it is in the
    group, Sticky does not know): after the restart that one is 'lost' in /pushlog and not sent again, and the
    second — claimed, never sent — is sent once."""
    first = start()
    chat, owner, _admin, _alice, _bob = make_group(sim)
    command_answered(sim, first, owner, "/schedule every 5m post alpha", chat)
    command_answered(sim, first, owner, "/schedule every 5m post beta", chat)
    posts = lambda word: [m for m in sim.replies(chat) if m.get("text") == word]  # noqa: E731
    sim.lost_answer_hold = 15.0  # the send's answer never comes: the bot waits on it while it is killed
    sim.timeout_after_send("sendMessage")
    _set(db_path, "UPDATE schedules SET next_run = ?", iso(datetime.now(timezone.utc) + timedelta(seconds=1)))
    wait_for(lambda: [c for c in sim.calls("sendMessage") if c.fault == "timeout"], "the first post's send", first)
    first.kill()
    [held] = [w for w in ("alpha", "beta") if posts(w)]
    other = "beta" if held == "alpha" else "alpha"
    assert query(db_path, "SELECT outcome FROM push_log WHERE kind = 'schedule'") == [("sending",)]
    assert query(db_path, "SELECT COUNT(*) FROM schedules WHERE pending IS NOT NULL") == [(1,)]

    second = start()
    wait_for(lambda: posts(other), f"{other}, claimed and never sent, after the restart", second)
    polls = len(sim.calls("getUpdates"))
    wait_for(lambda: len(sim.calls("getUpdates")) >= polls + 3, "a few more polls", second)
    assert len(posts(held)) == 1 and len(posts(other)) == 1
    assert sorted(query(db_path, "SELECT outcome FROM push_log WHERE kind = 'schedule'")) == [("lost",), ("sent",)]
    assert query(db_path, "SELECT runs, pending FROM schedules") == [(1, None), (1, None)]
    assert second.stop() == 0


def test_night_mode_killed_in_the_night_restarted_after_morning_restores_the_permissions_once(sim, start, db_path):
    """SIGKILL while the group is closed for the night; Sticky is down until after the morning (the night's hours
    moved into the past while it is down: a real process has the real clock). The restart reopens the group with
    exactly the permissions it had, once, and keeps nothing left to restore."""
    import json

    first = start()
    chat, owner, _admin, alice, _bob = make_group(sim)
    before = sim.set_permissions(chat, by=owner, can_send_polls=False, can_invite_users=False)

    def permissions() -> dict:
        status, body = sim.handle(sim.token, "getChat", {"chat_id": str(chat.id)})
        assert status == 200
        return json.loads(body)["result"]["permissions"]

    now = datetime.now(timezone.utc)
    night = f"{(now - timedelta(hours=1)):%H:%M}-{(now + timedelta(hours=2)):%H:%M}"
    command_answered(sim, first, owner, f"/nightmode {night}", chat)
    wait_for(lambda: sim.calls("setChatPermissions"), "the group closed", first)
    assert not permissions()["can_send_messages"]
    first.kill()
    assert query(db_path, "SELECT closed FROM night_modes") == [(1,)]

    morning = f"{(now - timedelta(hours=3)):%H:%M}-{(now - timedelta(hours=2)):%H:%M}"  # the night is over now
    _set(db_path, "UPDATE night_modes SET hours = ?, next_change = ?", morning, iso(now))
    second = start()
    wait_for(lambda: len(sim.calls("setChatPermissions")) == 2, "the group reopened", second)
    assert permissions() == before
    polls = len(sim.calls("getUpdates"))
    wait_for(lambda: len(sim.calls("getUpdates")) >= polls + 3, "a few more polls", second)
    assert len(sim.calls("setChatPermissions")) == 2 and permissions() == before  # restored once, not again
    # Nothing is left to restore: a later restart cannot put back the permissions a second time.
    assert query(db_path, "SELECT closed, saved_permissions FROM night_modes") == [(0, None)]
    sim.send(alice, "good morning", chat)  # members can post again
    assert second.stop() == 0
