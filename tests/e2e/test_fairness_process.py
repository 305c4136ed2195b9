"""Fair concurrency in the real `python -m bot run` process against the HTTP simulator, which enforces Telegram's
flood limits: one group's flood does not delay another group's answer; the bot keeps to 20 messages in any 60 s per
group and 30 in any second overall (the simulator never has to refuse one); a stop under that load is quick."""
from __future__ import annotations

import time

import pytest

from tests.e2e.test_run_process import BotProcess, make_group, reply_to, server, sim, wait_for  # noqa: F401 - fixtures


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "data" / "sticky.db"
    (tmp_path / "config.yaml").write_text(
        f"telegram:\n  poll_timeout: 1\n  rate_limit: true\ndatabase:\n  path: {path}\nlogging:\n  level: INFO\n"
    )
    return path


def started(sim, server, tmp_path, name: str) -> BotProcess:  # noqa: F811
    mark = len(sim.calls())
    bot = BotProcess(tmp_path, server.url, sim.token, name)

    def polling() -> bool:
        calls = sim.calls()[mark:]
        return any(c.method == "getUpdates" and c.ok for c in calls)

    wait_for(polling, "the bot to start polling", bot, 30.0)
    return bot


def messages(sim, chat_id: int | None = None) -> list[float]:
    """When each message the bot sent arrived (simulator clock), to one group or (None) anywhere."""
    return sorted(c.at for c in sim.calls() if c.ok and c.sent_to is not None and (chat_id is None or c.sent_to == chat_id))


def most_in_any_window(times: list[float], period: float) -> int:
    return max((sum(1 for u in times[i:] if u < t + period) for i, t in enumerate(times)), default=0)


def test_a_flood_in_one_group_does_not_hold_up_another_and_limits_hold(sim, server, tmp_path, db_path):  # noqa: F811
    sim.enforce_flood_limits()
    # Thirty-five groups that added the bot while it was down: thirty-five greetings at once at start.
    owner = sim.user("founder")
    for i in range(35):
        chat = sim.create_group(f"Club {i}", owner=owner)
        sim.add_bot(chat, by=owner)
    bot = started(sim, server, tmp_path, "fair")
    try:
        busy, busy_owner, admin, alice, bob = make_group(sim)
        quiet_owner = sim.user("quiet")
        quiet = sim.create_group("Quiet Corner", owner=quiet_owner)
        sim.add_bot(quiet, by=quiet_owner)
        greeted = lambda chat: [m for m in sim.replies(chat) if m.get("text", "").startswith("Hello")]  # noqa: E731
        wait_for(lambda: greeted(busy) and greeted(quiet), "the greetings", bot)

        flood = [sim.send((alice, bob, admin)[i % 3], "/checkin", busy) for i in range(45)]
        wait_for(lambda: len(messages(sim, busy.id)) >= 20, "the busy group's first 20 messages", bot)
        asked = time.monotonic()
        question = sim.send(quiet_owner, "/checkin", quiet)
        wait_for(lambda: reply_to(sim, quiet, question), "the quiet group's answer", bot, timeout=10.0)
        assert time.monotonic() - asked < 5.0
        answered = sum(1 for m in flood if reply_to(sim, busy, m))
        assert answered < 45  # the busy group is still waiting for its window: the quiet one did not wait for it

        refused = [c for c in sim.calls() if c.error_code == 429]
        assert refused == []  # the bot kept to the limits itself
        assert most_in_any_window(messages(sim, busy.id), 60.0) == 20
        assert most_in_any_window(messages(sim), 1.0) <= 30
        assert len(messages(sim)) >= 35 + 2 + 20  # the greetings went out too, paced

        begun = time.monotonic()
        assert bot.stop(timeout=15.0) == 0  # under load: queued check-ins wait in the inbox for the next start
        assert time.monotonic() - begun < 10.0
    finally:
        bot.kill()
