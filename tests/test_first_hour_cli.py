"""The command line a newcomer meets first (issue 13): errors name the config file given, backup refuses to
overwrite the live database, config errors speak words (not pydantic's or a regex), `check` names groups and
members and says what to do, and the first install prints no setuptools warning."""
from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.__main__ import main
from bot.config import ConfigError, parse_config
from bot.playground import Playground
from tests.helpers import make_group, say

ROOT = Path(__file__).resolve().parents[1]


def test_the_webhook_error_names_the_config_file_given(tmp_path, capsys, monkeypatch):
    config = tmp_path / "prod.yaml"
    config.write_text("telegram:\n  mode: webhook\n", encoding="utf-8")
    monkeypatch.setenv("BOT_TOKEN", "123:ABC")
    assert main(["--config", str(config), "run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{config}: telegram.webhook.public_url: required in webhook mode")
    assert "config.yaml" not in err


def test_backup_onto_the_live_database_itself_is_refused(tmp_path, capsys):
    db = tmp_path / "sticky.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  path: {db}\n", encoding="utf-8")
    (tmp_path / "sticky.db-wal").write_bytes(b"")  # the bot running: its write-ahead log beside the database
    for same in (str(db), str(tmp_path / "." / "sticky.db"), str(tmp_path / "sticky.db-wal"), str(tmp_path / "sticky.db-shm")):
        assert main(["--config", str(config), "backup", same]) == 1
        assert capsys.readouterr().err.strip() == (
            f"backup: {same} is the live database itself (or a file SQLite keeps beside it); give another path,"
            f" e.g. {tmp_path / 'sticky-backup.db'}")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    assert main(["--config", str(config), "backup", str(tmp_path / "copy.db")]) == 0


def lines_for(data) -> list[str]:
    try:
        parse_config(data)
    except ConfigError as exc:
        return exc.lines
    raise AssertionError("accepted")


def test_config_errors_say_the_form_in_words_with_what_was_written():
    assert lines_for({"points": {"tiers": [{"key": "Gold!", "min_xp": 0}]}}) == [
        "config.yaml: points.tiers.0.key: must be lowercase letters, digits and _, starting with a letter (at most 32), e.g. gold (got 'Gold!')"]
    assert lines_for({"points": {"expiry": {"run_at": "25:00"}}}) == [
        "config.yaml: points.expiry.run_at: must be a time of day as HH:MM, e.g. 03:00 (got '25:00')"]
    assert lines_for({"telegram": {"webhook": {"port": "abc"}}}) == ["config.yaml: telegram.webhook.port: must be a whole number (got 'abc')"]
    assert lines_for({"telegram": {"webhook": {"port": 70000}}}) == ["config.yaml: telegram.webhook.port: must be at most 65535 (got 70000)"]
    assert lines_for({"telegram": {"rate_limit": "maybe"}}) == ["config.yaml: telegram.rate_limit: must be true or false (got 'maybe')"]
    assert lines_for({"points": {"tiers": [{"min_xp": 0}]}}) == ["config.yaml: points.tiers.0.key: required"]
    assert lines_for({"points": {"tiers": "gold"}}) == ["config.yaml: points.tiers: must be a list (lines starting with -)"]
    for line in lines_for({"telegram": {"mode": "hook", "webhook": {"port": 0}}, "points": {"max_admin_amount": 0}}):
        assert "Input should" not in line and "String should" not in line and "^" not in line, line


def test_check_names_the_group_and_member_and_repair_rebuilds_from_the_ledger(tmp_path, clock, capsys):
    path = tmp_path / "sticky.db"

    async def lived_in():
        async with Playground(path, clock=clock) as pg:
            g = await make_group(pg)
            await say(pg, g.admin, "/give @alice 40 welcome", g.chat)
            return g.chat.id, g.alice.id

    chat, alice = asyncio.run(lived_in())
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  path: {path}\n", encoding="utf-8")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE wallets SET points = 41 WHERE chat_id = ? AND user_id = ?", (chat, alice))
    assert main(["--config", str(config), "check"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"Tea Lovers (group {chat}) · Alice (@alice, id {alice}): cached points 41, but the ledger adds up to 40",
        f"Next step: back up (python -m bot backup PATH), then run `python -m bot check --repair` to rebuild the cached"
        " balances from the ledger, which is the record.",
    ]
    assert main(["--config", str(config), "check", "--repair"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"Tea Lovers (group {chat}) · Alice (@alice, id {alice}): cached points 41, but the ledger adds up to 40",
        "Repaired: 1 cached balance rebuilt from the ledger.",
    ]
    assert main(["--config", str(config), "check"]) == 0
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT points FROM wallets WHERE chat_id = ? AND user_id = ?", (chat, alice)).fetchone() == (40,)


def test_the_editable_install_prints_no_setuptools_warning(tmp_path):
    """What `make demo` runs first (pip install -e .), into a scratch prefix: setuptools' multi-line
    'Editable installation' warning is gone because the layout is declared, not quieted."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--ignore-installed", "--no-warn-script-location", "-e", ".",
         "--prefix", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    output = "\n".join(l for l in (result.stdout + result.stderr).splitlines() if "is ignored: it is neither a file nor a directory" not in l)
    assert "Editable installation" not in output and "BuildBackendWarning" not in output, output
