"""Captcha decisions under SIGKILL, in the real `python -m bot run` process against the HTTP simulator: nine newcomers
are screened while the bot is killed four times — during a lift and a removal Telegram has carried out but not
answered, in the middle of right and wrong answers, and as the deadline passes — and after the last restart everyone
who passed can write, everyone who failed or timed out is removed (not left banned or restricted), and nobody is
welcomed twice."""
from __future__ import annotations

import time

import pytest

from tests.e2e.test_run_process import command_answered, make_group, query, server, sim, start, wait_for  # noqa: F401 - fixtures

TIMEOUT = 30  # the shortest captcha deadline Sticky accepts


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "data" / "sticky.db"
    (tmp_path / "config.yaml").write_text(
        # No flood limits: the prompts and welcomes of nine newcomers would wait for the group's 20 a minute.
        "telegram:\n  poll_timeout: 1\n  rate_limit: false\n"
        f"database:\n  path: {path}\nlogging:\n  level: INFO\n"
        f"funnel:\n  captcha_timeout_seconds: {TIMEOUT}\n  captcha_retries: 0\n  sweep_seconds: 10\n  late_grace_seconds: 0\n"
    )
    return path


def checks(db_path, user) -> list[tuple]:
    return query(db_path, "SELECT id, choices, answers, status, action FROM captcha_checks WHERE user_id = ?", user.id)


def press(sim, db_path, chat, user, good: bool) -> None:
    [(check_id, choices, answers, _, _)] = checks(db_path, user)
    options = choices.split("\n")
    index = options.index(answers) if good else next(i for i, c in enumerate(options) if c != answers)
    prompt = next(m for m in sim.messages(chat) if f"cap:{check_id}:" in str(m.get("reply_markup")))
    sim.press(user, prompt, f"cap:{check_id}:{index}")


def test_captcha_decisions_cut_by_sigkill_leave_nobody_restricted_or_banned_by_accident(sim, start, db_path):  # noqa: F811
    bot = start()
    chat, owner, _admin, _alice, _bob = make_group(sim)
    command_answered(sim, bot, owner, "/set screening on", chat)
    passing = [sim.user(f"pass{i}") for i in range(3)]
    failing = [sim.user(f"wrong{i}") for i in range(3)]
    silent = [sim.user(f"silent{i}") for i in range(3)]
    newcomers = passing + failing + silent
    for person in newcomers:
        sim.join(chat, person)
    joined = time.monotonic()
    wait_for(lambda: all(sim.member(chat, p)["status"] == "restricted" for p in newcomers), "everyone restricted", bot)
    wait_for(lambda: all(c and c[0][0] for c in (checks(db_path, p) for p in newcomers))
             and len([m for m in sim.messages(chat) if "cap:" in str(m.get("reply_markup"))]) == len(newcomers),
             "every prompt", bot)

    # Kill 1: the right answer's lift and the wrong answer's removal were carried out by Telegram, their answers lost.
    sim.lost_answer_hold = 15.0
    sim.timeout_after_send("restrictChatMember")
    press(sim, db_path, chat, passing[0], good=True)
    wait_for(lambda: [c for c in sim.calls("restrictChatMember") if c.fault == "timeout"], "the lift under way", bot)
    press(sim, db_path, chat, failing[0], good=False)  # waits behind the lift in the chat's turn
    bot.kill()
    sim.clear_faults()
    bot = start()
    wait_for(lambda: checks(db_path, failing[0])[0][3] == "failed", "the wrong answer decided", bot)
    sim.timeout_after_send("banChatMember")
    press(sim, db_path, chat, failing[1], good=False)
    wait_for(lambda: [c for c in sim.calls("banChatMember") if c.fault == "timeout"], "the removal under way", bot)
    # Kill 2: during a removal, with a right answer waiting behind it.
    press(sim, db_path, chat, passing[1], good=True)
    bot.kill()
    sim.clear_faults()
    sim.lost_answer_hold = 10.0

    # Kill 3: answers come in while the bot is starting again; it is killed in the middle of them.
    press(sim, db_path, chat, passing[2], good=True)
    bot = start()
    press(sim, db_path, chat, failing[2], good=False)
    time.sleep(0.3)
    bot.kill()
    bot = start()

    # Kill 4: the three who never answer have timed out (their checks closed) and are being removed.
    time.sleep(max(0.0, joined + TIMEOUT - time.monotonic()))
    wait_for(lambda: all(checks(db_path, p)[0][3] == "timeout" for p in silent), "the timeouts", bot, timeout=20.0)
    bot.kill()
    bot = start()

    settled = lambda: all(c[0][3] != "pending" and c[0][4] is None for c in (checks(db_path, p) for p in newcomers))  # noqa: E731
    wait_for(settled, "every check decided and carried out", bot, timeout=20.0)
    status = {p.username: sim.member(chat, p)["status"] for p in newcomers}
    assert status == {**{p.username: "member" for p in passing}, **{p.username: "left" for p in failing + silent}}
    assert [checks(db_path, p)[0][3] for p in newcomers] == ["passed"] * 3 + ["failed"] * 3 + ["timeout"] * 3
    assert all(len(checks(db_path, p)) == 1 for p in newcomers)  # one check each, however often the joins came
    welcomes = [m.get("text", "") for m in sim.replies(chat) if m.get("text", "").startswith("Welcome to Tea Lovers")]
    for person in passing:  # at most once: a kill between "done" and the welcome loses it rather than doubles it
        assert sum(1 for w in welcomes if person.first_name in w) <= 1
    for person in failing + silent:
        assert not any(person.first_name in w for w in welcomes)
    assert bot.stop() == 0
    print(f"captcha under four kills: {time.monotonic() - joined:.1f} s after the joins")
