"""The real `python -m bot run` in webhook mode, the simulator POSTing updates to it as Telegram does: SIGKILL under a
steady load of check-ins and chat, updates delivered while it is down, and answers lost on the way back (so Telegram
sends the same update again) leave every command answered or booked exactly once and the database consistent after
each restart (`python -m bot check`)."""
from __future__ import annotations

import importlib.util
import random
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.e2e.test_restart_process import bot_check, unhandled
from tests.e2e.test_run_process import (  # noqa: F401 - fixtures
    START_TIMEOUT, BotProcess, make_group, query, reply_to, server, sim, wait_for,
)
from tests.conftest import malformed_calls

PUBLIC = "https://sticky.example.org"  # what Telegram is told; the simulator's proxy map leads it to 127.0.0.1
SECRET = "webhook-secret-42"
KILLS = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hooked(sim, server, tmp_path, monkeypatch):  # noqa: F811
    """(start, db path, delivery): webhook mode on a free local port, the simulator delivering to it."""
    if importlib.util.find_spec("tornado") is None:  # fail with the way out, not with the bot's exit 2
        pytest.fail("webhook mode needs tornado, which the dev extra installs: make .venv/.installed-dev")
    port = free_port()
    db = tmp_path / "data" / "sticky.db"
    (tmp_path / "config.yaml").write_text(
        "telegram:\n  mode: webhook\n  rate_limit: false\n"
        f"  webhook:\n    listen: 127.0.0.1\n    port: {port}\n    url_path: telegram\n    public_url: {PUBLIC}\n"
        f"database:\n  path: {db}\nactivity:\n  flush_seconds: 1\nlogging:\n  level: INFO\n"
    )
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    delivery = sim.deliver_webhooks({PUBLIC: f"http://127.0.0.1:{port}"}, retry_seconds=0.1)
    started: list[BotProcess] = []

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def start() -> BotProcess:
        mark = len(sim.calls())
        bot = BotProcess(tmp_path, server.url, sim.token, f"hook{len(started) + 1}")
        started.append(bot)
        wait_for(lambda: any(c.method == "setWebhook" and c.ok for c in sim.calls()[mark:]) and listening(),
                 "the bot to set its webhook and listen", bot, START_TIMEOUT)
        return bot

    yield start, db, delivery
    delivery.close()
    for bot in started:
        bot.kill()
    bad = malformed_calls(sim)
    assert not bad, [(c.method, c.description) for c in bad]


def caught_up(sim, db: Path) -> bool:
    return sim.pending_update_count == 0 and db.exists() and unhandled(db) == 0


def test_webhook_mode_survives_sigkill_and_redelivery_with_nothing_lost_or_twice(sim, hooked, tmp_path):
    start, db, delivery = hooked
    rng = random.Random(11)
    bot = start()
    [hook] = [c for c in sim.calls("setWebhook") if c.ok][-1:]
    assert hook.params["url"] == f"{PUBLIC}/telegram" and hook.params["secret_token"] == SECRET
    chat, owner, admin, alice, bob = make_group(sim)
    people = [alice, bob]
    for name in ("carol", "dave", "erin"):
        person = sim.user(name)
        sim.join(chat, person)
        people.append(person)
    wait_for(lambda: caught_up(sim, db), "the group set up", bot)

    checkins: list[dict] = []
    for round_ in range(KILLS):
        kill_at = rng.randrange(1, 6)
        for step in range(8):
            person = rng.choice(people)
            if rng.random() < 0.5:
                checkins.append(sim.send(person, "/checkin", chat))
            else:
                sim.send(person, f"chat {round_}.{step}", chat)
            time.sleep(0.03)
            if step == kill_at:
                bot.kill()  # SIGKILL mid-load: a POST half-handled, recorded-not-handled, or answered-not-read
                assert bot.proc.returncode == -signal.SIGKILL
        bot = start()
        wait_for(lambda: caught_up(sim, db), "the restarted bot to catch up", bot)
        code, output = bot_check(tmp_path, in_process=True)
        assert code == 0 and "all checks passed" in output, output
    refused = [d for d in delivery.deliveries if d.status is None]
    assert refused  # Telegram did find the bot down, and delivered again later

    # The network loses the bot's answers: Telegram sends the same updates again after they were handled.
    delivery.lose_answers(6)
    roles = [sim.send(p, "/roles", chat) for p in people[:3]]
    checkins += [sim.send(p, "/checkin", chat) for p in people[3:]]
    wait_for(lambda: caught_up(sim, db) and all(reply_to(sim, chat, m) for m in roles), "the repeated updates", bot)
    assert bot.stop() == 0
    lost = [d for d in delivery.deliveries if d.error and "lost" in d.error]
    print(f"{KILLS} kills, {len(checkins)} check-ins, {len(delivery.deliveries)} deliveries: {len(refused)} found the bot"
          f" down, {len(lost)} answers lost")

    by_message = {(d.update["message"]["chat"]["id"], d.update["message"]["message_id"]): d.update_id
                  for d in delivery.deliveries if "message" in d.update}
    repeated = [m for m in roles if sum(1 for d in delivery.deliveries if d.update_id == by_message[(chat.id, m["message_id"])]) > 1]
    assert repeated  # those updates did come twice
    assert [len(reply_to(sim, chat, m)) for m in roles] == [1, 1, 1]
    handled = {row[0] for row in query(db, "SELECT update_id FROM inbox WHERE handled_at IS NOT NULL")}
    assert all(by_message[(chat.id, m["message_id"])] in handled for m in checkins)  # none lost
    assert max(len(reply_to(sim, chat, m)) for m in checkins) == 1  # none answered twice
    assert sum(1 for m in checkins if reply_to(sim, chat, m)) >= len(checkins) - KILLS  # at most one answer per kill
    booked = query(db, "SELECT user_id, COUNT(*) FROM checkins WHERE chat_id = ? GROUP BY user_id", chat.id)
    assert dict(booked) == {user_id: 1 for user_id in {m["from"]["id"] for m in checkins}}
    code, output = bot_check(tmp_path)
    assert code == 0, output
