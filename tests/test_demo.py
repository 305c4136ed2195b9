"""`make demo` runs `python -m bot demo`: the real application against the simulated Telegram, from the shipped
config.yaml. It must exit 0 and tell the story it promises, with no hidden failure on the way."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.texts import translator
from bot.texts.core import internal_error

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_runs_offline_and_tells_its_story():
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}  # the demo needs no token and no network
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    out = result.stdout
    lines = [line.strip() for line in out.splitlines()]
    # A handler that failed would show the internal-error reply (en or zh) and log an ERROR with a traceback.
    for lang in ("en", "zh"):
        assert internal_error(translator(lang)) not in out
    assert "Traceback" not in result.stderr and " ERROR " not in result.stderr

    assert "Sticky: Hello, Tea Lovers! I'm Sticky: roles, daily check-in and points, a points shop, invite rewards with newcomer screening, moderation, scheduled posts, loyalty and stats for this group. Type /help to see what I can do." in lines
    assert "Sticky → owner: Alice is now Activator." in lines
    assert "Sticky → carol: Only Admin and above can use this command." in lines
    # Check-in, and the day after.
    assert "Sticky → alice: ✅ Alice checked in: +10 points (10 base), +10 XP." in lines
    assert "🔥 Streak: 2 days · #1 today" in lines
    # /me after two check-ins and a badge.
    me = lines.index("Sticky → alice: Alice — Activator", lines.index("🔥 Streak: 2 days · #1 today"))
    assert lines[me + 3 : me + 6] == ["Points: 25 · XP: 20", "Streak: 2 days · Rank: #2 on /top (points, this season)", "Badges: First check-in"]
    # The shop: bought with a confirmation, then fulfilled.
    assert "· bob sees a notice: 'Bought! Order #1; 25 points left.'" in lines
    # Presses are printed, and the purchase question shows its final text once confirmed.
    assert "· bob pressed '✅ Confirm'" in lines
    assert any(line.startswith("✎ Sticky: 🧾 Order #1: Bob bought Tea mug") for line in lines)
    assert any(line.startswith("Sticky → owner: Order #1 (Tea mug for Bob) is fulfilled.") for line in lines)
    # The newcomer passes the check and may write; the inviter is rewarded in private.
    assert "· Sticky restricted dave (forever)" in lines
    assert "· Sticky lifted the restrictions on dave" in lines
    assert "Sticky: Welcome to Tea Lovers, Dave! Say hello to everyone." in lines
    assert "joined 1 · pending 0 · confirmed 1 · left 0 · not counted 0" in lines
    assert any(line.startswith("Sticky: 🎉 Dave joined Tea Lovers through you and stayed: +20 points") for line in lines)
    # A scheduled post, a member day doubling a check-in, an accepted suggestion rewarded.
    assert "Sticky: 🍵 Tea of the day: share what is in your cup!" in lines
    assert "Sticky → bob: ✅ Bob checked in: +20 points (10 base × 2 (campaign)), +10 XP." in lines
    assert "Sticky: 📝 Quiz closed: Which tea is green?" in lines and "+15 points each: Alice" in lines  # a quiz won
    assert "Sticky: Alice, your suggestion in Tea Lovers was accepted: “A tasting evening once a month”" in lines
    assert "New badge: Useful feedback" in lines
    # The group switched to Chinese answers in Chinese.
    assert "Sticky → owner: 从现在起，我在本群使用中文。" in lines
    assert lines[-1] == "Demo finished: every answer above came from Sticky's real handlers."
