"""The command line as an operator uses it: `python -m bot backup|check|console`, each in its own process."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from storage.groups import GroupRepo

ROOT = Path(__file__).resolve().parents[1]


def config_for(tmp_path: Path, db_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"database:\n  path: {db_path}\n")
    return path


def bot_cli(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}  # none of these commands needs Telegram
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), *args],
        cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=60,
    )


@pytest.fixture
async def live_db(db):
    """A database the bot would be using right now (open, WAL), with one group in it."""
    await GroupRepo(db).register(-100123, "Tea Lovers", "supergroup", 42, datetime(2026, 3, 2, tzinfo=timezone.utc))
    return db


async def test_backup_copies_a_database_in_use(tmp_path, live_db):
    target = tmp_path / "backups" / "sticky-2026-03-02.db"
    result = bot_cli(config_for(tmp_path, live_db.path), "backup", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"backed up {live_db.path} to {target} (")
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT chat_id, title, added_by FROM groups").fetchall() == [(-100123, "Tea Lovers", 42)]
        versions = copy.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    finally:
        copy.close()
    source = sqlite3.connect(live_db.path)
    try:
        assert versions == source.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    finally:
        source.close()


def test_backup_of_a_missing_database_fails_with_a_clear_message(tmp_path):
    missing = tmp_path / "nowhere" / "sticky.db"
    target = tmp_path / "copy.db"
    result = bot_cli(config_for(tmp_path, missing), "backup", str(target))
    assert result.returncode == 1
    assert result.stderr.strip() == f"backup failed: no database at {missing}"
    assert "Traceback" not in result.stderr
    assert not target.exists() and not missing.exists()  # nothing half-made, no empty database created


async def test_check_passes_on_a_fresh_database(tmp_path, db):
    result = bot_cli(config_for(tmp_path, db.path), "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"{db.path}: all checks passed"


def test_check_without_a_database_exits_1(tmp_path):
    missing = tmp_path / "sticky.db"
    result = bot_cli(config_for(tmp_path, missing), "check")
    assert result.returncode == 1
    assert result.stdout.strip().splitlines()[0] == f"{missing}: no database"


async def test_check_of_a_database_from_a_newer_sticky_says_so_and_exits(tmp_path, db):
    """It used to print a traceback and then hang for ever: the database's connection thread was left open."""
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, 'future', 'x')")
    result = bot_cli(config_for(tmp_path, db.path), "check")  # bot_cli's timeout fails the test if it hangs
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"{db.path}: database {db.path} has migrations [9999] this Sticky does not know: it is newer than the code"
    )


@pytest.mark.parametrize("command", ["check", "backup"])
def test_a_file_that_is_not_a_database_is_named_not_a_traceback(tmp_path, command):
    bogus = tmp_path / "sticky.db"
    bogus.write_text("these are not the pages you are looking for " * 200)
    args = ["backup", str(tmp_path / "copy.db")] if command == "backup" else ["check"]
    result = bot_cli(config_for(tmp_path, bogus), *args)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().endswith("file is not a database")


def test_console_scripted_through_stdin(tmp_path):
    script = "alice: hello\nowner: /setrole @alice activator\nbob: /roles\nowner -> bob: /setrole spreader\ncarol: /setrole @bob activator\n"
    result = bot_cli(config_for(tmp_path, tmp_path / "unused.db"), "console", stdin=script)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Sticky → owner: Alice is now Activator." in lines
    roles = lines.index("Sticky → bob: Roles in Console Group")
    assert lines[roles + 5 : roles + 7] == ["  Activator (1) — keeps the mood up", "    Alice"]
    assert "Sticky → owner: Bob is now Spreader." in lines  # `owner -> bob:` replies to bob's last message
    assert "Sticky → carol: Only Admin and above can use this command." in lines
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "unused.db").exists()  # the console plays in a scratch database


def run_cli(config: Path, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "BOT_TOKEN": "123456:TEST-TOKEN", **(extra_env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "run", *args],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )


async def test_run_on_a_database_from_a_newer_sticky_stops_before_telegram(tmp_path, db):
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, 'future', 'x')")
    # An address nobody answers: were Telegram asked anything, the run would end in a network error instead.
    result = run_cli(config_for(tmp_path, db.path), "--api-url", "http://127.0.0.1:9")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"database.path {db.path}: database {db.path} has migrations [9999] this Sticky does not know: it is newer than the code"
    )


WEBHOOK_CONFIG = "telegram:\n  mode: webhook\n  webhook:\n    public_url: https://bot.example.org\n    port: 8443\n"


def test_the_webhooks_extra_exists_and_pins_the_same_telegram_library():
    """README says `pip install -e '.[webhooks]'`: pip would refuse an extra that does not exist."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ptb = next(d for d in project["dependencies"] if d.startswith("python-telegram-bot["))
    (webhooks,) = project["optional-dependencies"]["webhooks"]
    assert webhooks.startswith("python-telegram-bot[webhooks]")
    assert webhooks.split("]", 1)[1] == ptb.split("]", 1)[1]  # the same version range


def test_a_webhook_config_validates_and_builds_the_application(tmp_path):
    from bot.app import build_application
    from bot.config import load_config

    path = tmp_path / "config.yaml"
    path.write_text(WEBHOOK_CONFIG + f"database:\n  path: {tmp_path / 'sticky.db'}\n")
    config = load_config(path, env={"BOT_TOKEN": "123456:TEST-TOKEN"})
    assert config.telegram.mode == "webhook"
    assert config.telegram.webhook.public_url == "https://bot.example.org"
    app = build_application(config)  # builds offline: nothing is asked of Telegram before run_webhook
    assert app.updater is not None and app.bot.token == "123456:TEST-TOKEN"


def test_webhook_mode_without_tornado_names_the_extra(tmp_path):
    # Whether or not this machine has the extra, the bot runs here as if it had not: a sitecustomize on
    # PYTHONPATH marks tornado as absent (sys.modules[name] = None makes find_spec answer None).
    hide = tmp_path / "no_tornado"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['tornado'] = None\n")
    path = tmp_path / "config.yaml"
    path.write_text(WEBHOOK_CONFIG + f"database:\n  path: {tmp_path / 'sticky.db'}\n")
    result = run_cli(path, extra_env={"PYTHONPATH": os.pathsep.join(filter(None, [str(hide), os.environ.get("PYTHONPATH")]))})
    assert result.returncode == 2
    assert result.stderr.strip() == "telegram.mode webhook needs tornado: pip install -e '.[webhooks]' (or use mode: polling)"


def test_run_makes_full_garbage_collections_rarer_before_the_bot_starts(tmp_path, monkeypatch):
    """A full collection keeps the GIL for as long as it takes (160-300 ms at 100,000 members in the bench): `run`
    sets Sticky's thresholds before the application runs, so updates and the writer are not held up by one every
    few seconds."""
    import argparse
    import gc

    import bot.app
    from bot.__main__ import cmd_run
    from bot.config import load_config

    seen = []

    class App:
        def run_polling(self, **kwargs):
            seen.append(gc.get_threshold())

    before = gc.get_threshold()
    monkeypatch.setattr(bot.app, "build_application", lambda config: App())
    path = tmp_path / "config.yaml"
    path.write_text(f"database:\n  path: {tmp_path / 'sticky.db'}\n")
    config = load_config(path, env={"BOT_TOKEN": "123456:TEST-TOKEN"})
    try:
        assert before != bot.app.GC_THRESHOLDS
        cmd_run(config, argparse.Namespace(api_url=None))
    finally:
        gc.set_threshold(*before)
    assert seen == [bot.app.GC_THRESHOLDS]
