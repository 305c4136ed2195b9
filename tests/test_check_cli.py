"""`python -m bot check`: exit 0 on a consistent database; a wallet that disagrees with its ledger is named —
group, member, currency, both numbers — with the next step, and the exit code is 1."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.checks import NEXT_STEP_NO_DATABASE, NEXT_STEP_REPAIR
from bot.playground import Playground
from tests.helpers import make_group, say

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def lived_in(tmp_path, clock):
    """A database the real bot wrote: check-ins, a gift, a take, chat XP; then the bot stops."""
    path = tmp_path / "sticky.db"
    async with Playground(path, clock=clock) as pg:
        g = await make_group(pg)
        await say(pg, g.alice, "/checkin", g.chat)
        await say(pg, g.bob, "/checkin", g.chat)
        await say(pg, g.admin, "/give @alice 40 welcome", g.chat)
        await say(pg, g.admin, "/take @alice 5 typo", g.chat)
        await pg.services.points.flush_chat_xp()
        assert await pg.services.points.ledger.mismatches() == []
        ids = (g.chat.id, g.alice.id, g.bob.id)
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  path: {path}\n", encoding="utf-8")
    return path, config, ids


def run_check(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "check", "--config", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "BOT_TOKEN"})


def wallet(path: Path, chat: int, user: int) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT points, xp FROM wallets WHERE chat_id = ? AND user_id = ?", (chat, user)).fetchone()


async def test_check_passes_then_names_a_corrupted_wallet(lived_in):
    path, config, (chat, alice, bob) = lived_in
    ok = run_check(config)
    assert (ok.returncode, ok.stdout.strip()) == (0, f"{path}: all checks passed")

    points, xp = wallet(path, chat, alice)
    assert points == 10 + 5 + 40 - 5
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE wallets SET points = points + 1 WHERE chat_id = ? AND user_id = ?", (chat, alice))
    bad = run_check(config)
    assert bad.returncode == 1
    assert bad.stdout.splitlines() == [
        f"Tea Lovers (group {chat}) · Alice (@alice, id {alice}): cached points {points + 1}, but the ledger adds up to {points}",
        NEXT_STEP_REPAIR,
    ]


def test_check_in_process_reports_every_currency_and_a_missing_wallet(lived_in, capsys):
    path, config, (chat, alice, bob) = lived_in
    assert main(["check", "--config", str(config)]) == 0
    bob_points, bob_xp = wallet(path, chat, bob)
    alice_points, alice_xp = wallet(path, chat, alice)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE wallets SET xp = xp - 3 WHERE chat_id = ? AND user_id = ?", (chat, alice))
        conn.execute("DELETE FROM wallets WHERE chat_id = ? AND user_id = ?", (chat, bob))
    capsys.readouterr()
    assert main(["--config", str(config), "check"]) == 1
    assert sorted(capsys.readouterr().out.splitlines()) == sorted([
        f"Tea Lovers (group {chat}) · Alice (@alice, id {alice}): cached xp {alice_xp - 3}, but the ledger adds up to {alice_xp}",
        f"Tea Lovers (group {chat}) · Bob (@bob, id {bob}): cached points 0, but the ledger adds up to {bob_points}",
        f"Tea Lovers (group {chat}) · Bob (@bob, id {bob}): cached xp 0, but the ledger adds up to {bob_xp}",
        NEXT_STEP_REPAIR,
    ])


def test_check_without_a_database_fails(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  path: {tmp_path / 'nowhere.db'}\n", encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 1
    # A new operator who runs check before the bot ever ran is told where to look, not only that it is missing.
    assert capsys.readouterr().out.strip().splitlines() == [f"{tmp_path / 'nowhere.db'}: no database", NEXT_STEP_NO_DATABASE]
    assert NEXT_STEP_NO_DATABASE == ("Next step: check database.path in the config file (--config PATH); the bot creates its"
                                     " database at its first start (python -m bot run).")
