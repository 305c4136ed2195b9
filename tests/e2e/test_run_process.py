"""The real `python -m bot run` as a separate process against the simulated Telegram over HTTP: it asks for the
updates it needs, answers a group, survives SIGKILL without losing or repeating anything, and never prints its token."""
from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.sim import FakeTelegram
from tests.conftest import malformed_calls

ROOT = Path(__file__).resolve().parents[2]
# Generous for a slow 2-core CI machine; a healthy run takes a fraction of this.
START_TIMEOUT = 30.0
REPLY_TIMEOUT = 20.0


class BotProcess:
    """One `python -m bot run` process; logs go to files so a chatty bot can never block on a full pipe."""

    def __init__(self, tmp_path: Path, server_url: str, token: str, name: str) -> None:
        self.stdout_path = tmp_path / f"{name}.out"
        self.stderr_path = tmp_path / f"{name}.err"
        env = {**os.environ, "BOT_TOKEN": token, "PYTHONUNBUFFERED": "1"}
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "--config", str(tmp_path / "config.yaml"), "run", "--api-url", server_url],
                cwd=ROOT, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
            )

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()  # SIGKILL: no shutdown code runs
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGINT, as Ctrl-C or a service manager: PTB stops polling and runs post_shutdown."""
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise


def wait_for(predicate, what: str, bot: BotProcess, timeout: float = REPLY_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if not bot.alive():
            pytest.fail(f"the bot exited ({bot.proc.returncode}) while waiting for {what}:\n{bot.output()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}:\n{bot.output()[-3000:]}")
        time.sleep(0.05)


def reply_to(sim: FakeTelegram, chat, message: dict) -> list[dict]:
    return [m for m in sim.replies(chat) if m.get("reply_to_message", {}).get("message_id") == message["message_id"]]


def command_answered(sim: FakeTelegram, bot: BotProcess, user, text: str, chat) -> list[dict]:
    """`user` sends the command `text` in `chat`; waits for the bot's reply to it and returns it."""
    command = sim.send(user, text, chat)
    return wait_for(lambda: reply_to(sim, chat, command), f"the {text.split()[0]} answer", bot)


def query(db: Path, sql: str, *params) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
def sim():
    return FakeTelegram()  # the system clock: the bot process lives in real time


@pytest.fixture
def server(sim):
    server = sim.serve_http()
    yield server
    server.close()


@pytest.fixture
def db_path(tmp_path) -> Path:
    path = tmp_path / "data" / "sticky.db"
    (tmp_path / "config.yaml").write_text(
        "telegram:\n  poll_timeout: 1\n  rate_limit: true\n"
        f"database:\n  path: {path}\n"
        "logging:\n  level: DEBUG\n"  # the most talkative level: the token must not leak even here
    )
    return path


@pytest.fixture
def start(tmp_path, server, sim):
    started: list[BotProcess] = []

    def polling_since(mark: int) -> bool:
        """An answered getUpdates after this process's deleteWebhook (PTB's last step before polling): a killed
        process's long poll may still be answered late, so an earlier or failed getUpdates proves nothing."""
        calls = sim.calls()[mark:]
        hooks = [i for i, c in enumerate(calls) if c.method == "deleteWebhook"]
        return bool(hooks) and any(c.method == "getUpdates" and c.ok for c in calls[hooks[-1]:])

    def start_bot() -> BotProcess:
        mark = len(sim.calls())
        bot = BotProcess(tmp_path, server.url, sim.token, f"run{len(started) + 1}")
        started.append(bot)
        wait_for(lambda: polling_since(mark), "the bot to start polling", bot, START_TIMEOUT)
        return bot

    yield start_bot
    for bot in started:
        bot.kill()
    bad = malformed_calls(sim)
    assert not bad, [(c.method, c.description) for c in bad]


def make_group(sim: FakeTelegram):
    owner, admin, alice, bob = (sim.user(n) for n in ("owner", "admin", "alice", "bob"))
    chat = sim.create_group("Tea Lovers", owner=owner)
    sim.add_bot(chat, by=owner)
    sim.join(chat, admin)
    sim.promote(chat, admin, by=owner)
    for user in (alice, bob):
        sim.join(chat, user)
        sim.send(user, f"hello, I'm {user.username}", chat)
    return chat, owner, admin, alice, bob


def assert_no_token(sim: FakeTelegram, bot: BotProcess) -> None:
    output = bot.output()
    assert output.strip(), "the bot logged nothing at DEBUG level?"
    secret = sim.token.split(":", 1)[1]
    assert sim.token not in output
    assert secret not in output


def test_the_real_process_serves_a_group_and_shuts_down_cleanly(sim, start, db_path):
    bot = start()
    # Without asking, Telegram never sends chat_member: joins, leaves and promotions would go unseen.
    first = sim.calls("getUpdates")[0]
    # Exactly what Sticky handles: one missing is silently never delivered, one extra is traffic for nothing.
    wanted = {"message", "edited_message", "callback_query", "chat_member", "my_chat_member", "poll_answer", "chat_join_request",
              "channel_post"}
    assert sorted(first.params["allowed_updates"]) == sorted(wanted)
    assert sorted(sim.allowed_updates or []) == sorted(wanted)
    assert sim.calls("getMe") and sim.calls("setMyCommands")

    chat, owner, admin, alice, bob = make_group(sim)
    greeting = wait_for(lambda: [m for m in sim.replies(chat) if m.get("text", "").startswith("Hello, Tea Lovers!")], "the greeting", bot)
    assert len(greeting) == 1
    answer = command_answered(sim, bot, admin, "/setrole @alice activator keeps the mood up", chat)
    assert [m.get("text") for m in answer] == ["Alice is now Activator."]
    roles = sim.send(bob, "/roles", chat)
    answer = wait_for(lambda: reply_to(sim, chat, roles), "the /roles answer", bot)
    assert "Activator (1) — keeps the mood up\n  Alice" in answer[0]["text"]
    assert "Admin (1) — rewards and moderates\n  Admin" in answer[0]["text"]

    assert query(db_path, "SELECT active, added_by FROM groups WHERE chat_id = ?", chat.id) == [(1, owner.id)]
    assert query(db_path, "SELECT actor_id, target_id, change, role, reason FROM role_audit WHERE change = 'set'") == [
        (admin.id, alice.id, "set", "activator", "keeps the mood up")
    ]
    joins = query(db_path, "SELECT user_id, COUNT(*) FROM member_events WHERE event = 'join' GROUP BY user_id ORDER BY user_id")
    assert joins == [(admin.id, 1), (alice.id, 1), (bob.id, 1)]

    # A clean stop (SIGINT) exits 0 and writes what was still counted in memory.
    assert bot.stop() == 0
    counted = dict(query(db_path, "SELECT user_id, SUM(messages) FROM activity_daily GROUP BY user_id"))
    assert counted.get(alice.id, 0) >= 1 and counted.get(bob.id, 0) >= 2
    assert query(db_path, "PRAGMA integrity_check") == [("ok",)]
    assert_no_token(sim, bot)


def test_sigkill_and_restart_lose_nothing_and_repeat_nothing(sim, start, db_path):
    first = start()
    chat, owner, admin, alice, bob = make_group(sim)
    command_answered(sim, first, owner, "/setrole @alice activator", chat)
    command_answered(sim, first, owner, "/set timezone Asia/Shanghai", chat)

    first.kill()  # SIGKILL mid-life: no shutdown, no flush, no goodbye
    assert first.proc.returncode == -signal.SIGKILL

    # While it is down, life goes on: Telegram keeps these updates for it.
    dave = sim.user("dave")
    sim.join(chat, dave)
    roles = sim.send(bob, "/roles", chat)
    settings = sim.send(admin, "/settings", chat)

    second = start()
    answer = wait_for(lambda: reply_to(sim, chat, roles), "the /roles sent while the bot was down", second)
    assert "Activator (1) — keeps the mood up\n  Alice" in answer[0]["text"]
    answer = wait_for(lambda: reply_to(sim, chat, settings), "the /settings sent while the bot was down", second)
    assert "• timezone = Asia/Shanghai" in answer[0]["text"].splitlines()
    wait_for(lambda: query(db_path, "SELECT 1 FROM member_events WHERE user_id = ?", dave.id), "Dave's join", second)

    # One more full poll: anything it would still handle (twice) would show up by then.
    polls = len(sim.calls("getUpdates"))
    wait_for(lambda: len(sim.calls("getUpdates")) >= polls + 1, "one more poll", second)
    assert len(reply_to(sim, chat, roles)) == 1
    assert len(reply_to(sim, chat, settings)) == 1
    assert query(db_path, "SELECT event FROM member_events WHERE user_id = ?", dave.id) == [("join",)]
    assert query(db_path, "SELECT COUNT(*) FROM role_audit WHERE change = 'set'") == [(1,)]
    assert len([m for m in sim.replies(chat) if m.get("text", "").startswith("Hello, Tea Lovers!")]) == 1
    assert sim.pending_update_count == 0  # everything was confirmed

    assert second.stop() == 0
    assert_no_token(sim, first)
    assert_no_token(sim, second)


def run_to_exit(tmp_path: Path, api_url: str, token: str, db: Path, timeout: float = 60.0, level: str = "DEBUG") -> tuple[int, str]:
    """`python -m bot run` that is expected to give up at start: (exit code, everything it printed)."""
    config = tmp_path / "failing.yaml"
    config.write_text(f"telegram:\n  poll_timeout: 1\ndatabase:\n  path: {db}\nlogging:\n  level: {level}\n")
    env = {**os.environ, "BOT_TOKEN": token, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "run", "--api-url", api_url],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
    )
    return result.returncode, result.stdout + result.stderr


def said(output: str) -> list[str]:
    """What the process printed itself, apart from log lines (which start with their time)."""
    return [line for line in output.strip().splitlines() if not re.match(r"\d{4}-\d\d-\d\d \d", line)]


def every_line(output: str) -> list[str]:
    """All the process printed, log lines without their time: for a test of the whole output."""
    return [re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ", "", line) for line in output.strip().splitlines()]


def test_a_rejected_token_is_one_line_and_nothing_else(sim, server, tmp_path):
    code, output = run_to_exit(tmp_path, server.url, "654321:WRONG", tmp_path / "sticky.db", level="INFO")
    assert code == 2
    # PTB's own "Network Retry Loop (Bootstrap Initialize Application): Invalid token. Aborting" is not a second line.
    assert every_line(output) == ["Telegram rejected BOT_TOKEN: copy the token again from @BotFather (/mybots → API Token)."]


def test_a_rejected_token_is_one_clear_line_and_never_printed(sim, server, tmp_path):
    wrong = "654321:WRONG-SECRET-do-not-print"
    code, output = run_to_exit(tmp_path, server.url, wrong, tmp_path / "sticky.db")
    assert [c.error_code for c in sim.calls("getMe")] == [401]  # Telegram's answer to a token it does not know
    assert code == 2
    assert said(output) == ["Telegram rejected BOT_TOKEN: copy the token again from @BotFather (/mybots → API Token)."]
    assert "Traceback" not in output
    assert wrong not in output and "WRONG-SECRET" not in output


def test_an_unusable_database_path_is_named_before_telegram_is_asked(sim, server, tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    db = blocker / "sticky.db"
    code, output = run_to_exit(tmp_path, server.url, sim.token, db)
    assert code == 2
    (line,) = said(output)
    assert line.startswith(f"database.path {db}: ")
    assert "Traceback" not in output
    assert sim.calls() == []  # nothing was asked of Telegram with a database it cannot use


def test_no_network_is_one_clear_line(sim, tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on any more
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    begun = time.monotonic()
    code, output = run_to_exit(tmp_path, url, sim.token, tmp_path / "sticky.db", level="INFO")
    assert code == 1
    assert time.monotonic() - begun < 30  # 5 attempts, 1 + 2 + 4 + 8 s apart
    retrying, last = every_line(output)  # the whole output: no line of PTB's, no traceback
    assert retrying.startswith("WARNING bot.receiving: start-up: getMe failed: cannot reach Telegram (")
    assert retrying.endswith("; trying again, 5 attempts in all (this is said once)")
    assert last.startswith(f"cannot reach Telegram at {url}: ") and last.endswith("(check the network and telegram.api_url)")
    assert sim.token.split(":", 1)[1] not in output


def test_a_refused_command_menu_is_a_warning_and_the_bot_runs(sim, start, db_path):
    sim.set_fail("setMyCommands", 500, "Internal Server Error")  # a Bot API server that cannot keep menus
    bot = start()  # the menus are a convenience: it starts polling all the same
    chat, owner, admin, alice, bob = make_group(sim)
    assert command_answered(sim, bot, bob, "/roles", chat)
    assert bot.stop() == 0
    output = bot.output()
    warned = [line for line in output.splitlines() if "could not set the command menus" in line]
    assert len(warned) == 1 and " WARNING " in warned[0] and "Telegram answered 500: Internal Server Error" in warned[0]
    assert "Traceback" not in output


def test_a_server_error_at_start_up_is_one_line_saying_telegram_answered(sim, server, tmp_path):
    sim.set_fail("getMe", 500, "Internal Server Error", times=100)  # it does not pass
    begun = time.monotonic()
    code, output = run_to_exit(tmp_path, server.url, sim.token, tmp_path / "sticky.db", level="INFO")
    assert code == 1
    getmes = sim.calls("getMe")
    assert len(getmes) == 5 and [round(b.at - a.at) for a, b in zip(getmes, getmes[1:])] == [1, 2, 4, 8]
    assert time.monotonic() - begun < 30
    assert every_line(output) == [  # the whole output: no "Network Retry Loop … Aborting" of PTB's, no traceback
        "WARNING bot.receiving: start-up: getMe failed: Telegram answered 500: Internal Server Error;"
        " trying again, 5 attempts in all (this is said once)",
        "Telegram answered 500: Internal Server Error (at start-up; try again later, or check telegram.api_url)",
    ]


FAULTS = {  # a one-off fault on a call PTB makes to start: what Sticky says, then it runs
    "getMe 429": (lambda sim: sim.flood("getMe", retry_after=2), "getMe", "Telegram asks to wait 2 s (flood control)"),
    "getMe 502": (lambda sim: sim.set_fail("getMe", 502, "Bad Gateway"), "getMe", "Telegram answered 502: Bad Gateway"),
    "getMe dropped": (lambda sim: sim.network_error("getMe"), "getMe", "cannot reach Telegram (httpx.RemoteProtocolError: "
                      "Server disconnected without sending a response.)"),
    "deleteWebhook 500": (lambda sim: sim.set_fail("deleteWebhook", 500, "Internal Server Error"), "deleteWebhook",
                          "Telegram answered 500: Internal Server Error"),
    "deleteWebhook dropped": (lambda sim: sim.network_error("deleteWebhook"), "deleteWebhook",
                              "cannot reach Telegram (httpx.RemoteProtocolError: Server disconnected without sending a response.)"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_passing_fault_at_start_up_is_waited_out_and_the_bot_runs(sim, server, tmp_path, fault):
    inject, call, reason = FAULTS[fault]
    inject(sim)
    (tmp_path / "config.yaml").write_text(
        f"telegram:\n  poll_timeout: 1\ndatabase:\n  path: {tmp_path / 'sticky.db'}\nlogging:\n  level: INFO\n")
    bot = BotProcess(tmp_path, server.url, sim.token, "run")
    try:
        wait_for(lambda: any(c.method == "getUpdates" and c.ok for c in sim.calls()), "the bot to start polling", bot,
                 START_TIMEOUT)
        assert bot.stop() == 0
    finally:
        bot.kill()
    tries = sim.calls(call)
    assert [c.ok for c in tries] == [False, True]
    if fault == "getMe 429":  # Telegram's retry_after is waited out, not met with a second call at once
        assert tries[1].at - tries[0].at >= 2
    assert every_line(bot.output()) == [  # the whole output, no "Aborting" of PTB's, no traceback
        f"WARNING bot.receiving: start-up: {call} failed: {reason}; trying again, 5 attempts in all (this is said once)",
        "INFO telegram.ext.Application: Application started",
        "INFO telegram.ext.Application: Application is stopping. This might take a moment.",
        "INFO telegram.ext.Application: Application.stop() complete",
    ]


class NotQuiteBotApi:
    """A server at telegram.api_url that answers getMe with something that is not a bot (nobody here wrote it)."""

    def __init__(self, result) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        body = json.dumps({"ok": True, "result": result}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

            def log_message(self, *args) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("result", [{"id": 5}, "yes", {"id": 5, "is_bot": True, "first_name": "NoName"}])
def test_a_malformed_get_me_is_one_line(sim, tmp_path, result):
    server = NotQuiteBotApi(result)
    try:
        code, output = run_to_exit(tmp_path, server.url, sim.token, tmp_path / "sticky.db")
    finally:
        server.close()
    assert code == 1
    (line,) = said(output)
    assert line.startswith("Telegram's answer to getMe does not describe a bot (")
    assert line.endswith("is telegram.api_url a Bot API server?")
    assert "Traceback" not in output


def test_an_outage_is_one_warning_when_it_starts_and_one_when_it_ends(sim, start, db_path):
    bot = start()
    chat, owner, admin, alice, bob = make_group(sim)
    command_answered(sim, bot, bob, "/roles", chat)
    mark = len(sim.calls("getUpdates"))
    sim.set_fail("getUpdates", 500, "Internal Server Error", times=2)
    sim.network_error("getUpdates", times=1)
    wait_for(lambda: [c for c in sim.calls("getUpdates")[mark:] if c.ok and not c.fault][3:], "polling to work again", bot)
    assert command_answered(sim, bot, bob, "/roles", chat)  # and the bot serves again
    assert bot.stop() == 0
    output = bot.output()
    lines = output.splitlines()
    started = [line for line in lines if "polling failed:" in line]
    ended = [line for line in lines if "polling works again after" in line]
    assert len(started) == 1 and "Telegram answered 500: Internal Server Error" in started[0]
    assert len(ended) == 1 and "(3 failed attempts)" in ended[0]
    assert "Traceback" not in output
    noisy = [line for line in lines if (" WARNING " in line or " ERROR " in line) and line not in started + ended]
    assert noisy == []
