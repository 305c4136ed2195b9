"""`make demo` runs `python -m bot demo`: the real application against the simulated Telegram, from the shipped
config.yaml. It must exit 0 and tell the story it promises, with no hidden failure on the way — and each block must
really have happened: the database the demo leaves behind (--keep) holds what its transcript claims."""
from __future__ import annotations

import os
import re
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

from bot.charts import HEIGHT, WIDTH
from bot.texts import translator
from bot.texts.core import internal_error

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_runs_offline_and_tells_its_story(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}  # the demo needs no token and no network
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--keep", str(tmp_path)], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=180,
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
    # XP: 10 per check-in; the activator_xp rule pays nothing for them (a Sticky command earns no rule rewards) and
    # Alice wrote nothing else that day.
    assert lines[me + 3 : me + 6] == ["Points: 25 · XP: 20", "Streak: 2 days · Rank: #2 on /top (points, this season)", "Badges: First check-in"]
    # The shop: bought with a confirmation, then fulfilled.
    assert "· bob sees a notice: 'Bought! Order #1; 25 points left.'" in lines
    # Presses are printed, and the purchase question shows its final text once confirmed.
    assert "· bob pressed '✅ Confirm'" in lines
    assert any(line.startswith("✎ Sticky: 🧾 Order #1: Bob bought Tea mug") for line in lines)
    # …the press first, then what it changed.
    assert lines.index("· bob pressed '✅ Confirm'") < next(
        i for i, line in enumerate(lines) if line.startswith("✎ Sticky: 🧾 Order #1"))
    assert any(line.startswith("Sticky → owner: Order #1 (Tea mug for Bob) is fulfilled.") for line in lines)
    # Each vote is followed by the poll as it stood after it (Bob's vote was counted under Alice's line).
    alice_voted, bob_voted = lines.index("· alice voted 'Longjing'"), lines.index("· bob voted 'Earl Grey'")
    assert lines[alice_voted + 1] == "✎ Sticky: [poll] Which tea is green? — Earl Grey (0) / Longjing (1) / Assam (0)"
    assert lines[bob_voted + 1] == "✎ Sticky: [poll] Which tea is green? — Earl Grey (1) / Longjing (1) / Assam (0)"
    # The newcomer passes the check and may write; the inviter is rewarded in private.
    assert "· Sticky restricted dave (forever)" in lines
    assert "· Sticky lifted the restrictions on dave" in lines
    assert "Sticky: Welcome to Tea Lovers, Dave! Say hello to everyone." in lines
    # Private chats are marked as the console marks them, every line of them, and a cause comes before its effect:
    # Alice's /start (her private chat opens), then /invite in the group, then the link in private.
    start = lines.index("[alice ⇄ Sticky] alice: /start")
    invite = lines.index("alice: /invite")
    link = lines.index("[alice ⇄ Sticky] Sticky: Your personal invite link to Tea Lovers:")
    assert start < invite < link
    assert lines[start + 1].startswith("[alice ⇄ Sticky] Sticky → alice: Hi! I'm Sticky.")
    assert lines[link + 1].startswith("[alice ⇄ Sticky]   https://t.me/+")
    private = ("Sticky → admin: Hi!", "Sticky → alice: Hi!", "admin: /connect", "Sticky: Your personal invite link", "Sticky: 🎉 Dave joined")
    assert not [line for line in lines if line.startswith(private)], "a private message without its mark"
    assert "joined 1 · pending 0 · confirmed 1 · left 0 · not counted 0" in lines
    assert any(line.startswith("[alice ⇄ Sticky] Sticky: 🎉 Dave joined Tea Lovers through you and stayed: +20 points") for line in lines)
    # A scheduled post, a member day doubling a check-in, an accepted suggestion rewarded.
    assert "Sticky: 🍵 Tea of the day: share what is in your cup!" in lines
    assert "Sticky → bob: ✅ Bob checked in: +20 points (10 base × 2 (campaign)), +10 XP." in lines
    assert "Sticky: 📝 Quiz closed: Which tea is green?" in lines and "+15 points each: Alice" in lines  # a quiz won
    assert "[alice ⇄ Sticky] Sticky: Alice, your suggestion in Tea Lovers was accepted: “A tasting evening once a month”" in lines
    assert "[alice ⇄ Sticky]   New badge: Useful feedback" in lines
    # A weekly post built with the buttons (/schedule alone): each press printed, the summary's command, the reply with
    # the content, the saved line; then, at its time on the demo's clock, the post itself, pinned.
    flow = lines.index("── Adam builds a weekly post step by step with buttons (/schedule alone), then it runs at its time")
    scene = lines[flow:lines.index("── Olivia schedules a daily post and a monthly member day (kept in the database)")]
    presses = [line for line in scene if line.startswith("· admin pressed")]
    assert presses == ["· admin pressed '📝 A post'", "· admin pressed 'Some days of the week'", "· admin pressed 'Wed'",
                       "· admin pressed 'Next ▶'", "· admin pressed '18:00'", "· admin pressed '☐ 📌 Pin each post (silently)'",
                       "· admin pressed 'Next: the content ▶'"]
    assert "/schedule weekly wed 18:00 post pin" in scene
    assert "Sticky → admin: Schedule #1 saved: weekly wed 18:00 · post · pin. Next run: 2026-03-04 18:00 (UTC)." in scene
    ran = scene.index("── 2026-03-04 18:00: Adam's weekly post goes out by itself, pinned")
    assert "Sticky: 🫖 Wednesday tasting notes: what did you brew this week?" in scene[ran:]
    assert "· Sticky pinned '🫖 Wednesday tasting notes: what did you '" in scene[ran:]
    # The group switched to Chinese answers in Chinese.
    assert "Sticky → owner: 从现在起，我在本群使用中文。" in lines
    casino = lines.index("gus: best casino in town! [deleted]")  # a blocklist entry's own action: {tmute 1h}
    assert lines[casino + 1:casino + 3] == ["· Sticky deleted a message from gus", "· Sticky restricted gus (until 10:00)"]
    assert "• casino {tmute 1h} — No gambling" in lines
    spam = lines.index("Cheap Bot: Followers 50% off at spam.example")  # never delivered to Sticky; banned by reply
    assert lines[spam + 1:spam + 4] == ["admin → Cheap Bot: /ban spam bot", "· Sticky banned Cheap Bot (forever)",
                                        "Sticky → admin: Cheap Bot is banned forever."]
    # …and shows the product there: check-in, /me, the shop, a rule's refusal, a schedule made, refused and run.
    zh = lines[lines.index("Sticky → owner: 从现在起，我在本群使用中文。"):]
    assert "Sticky → carol: ✅ Carol 签到成功：+10 积分（基础 10），+10 经验。" in zh
    assert "Sticky → carol: Carol — 成员" in zh and "徽章：首次签到" in zh
    assert "Sticky → carol: 🛍 积分商城 —— 点击按钮兑换；/orders 查看你的订单。" in zh
    assert "carol: 试试这家店：https://tea.example/oolong [deleted]" in zh
    assert any(l.startswith("Sticky: 🔗 Carol，本群只有白银及以上等级可以发链接") for l in zh)
    assert any(re.fullmatch(r"Sticky → owner: 定时任务 #\d+ 已保存：daily 09:00 · 帖子。下次运行：2026-03-09 09:00（UTC）。", l) for l in zh)
    assert "Sticky → owner: 第 3 个词（sometimes）：应为补发方式：late（错过的一次晚些补发一次）或 skip（跳过）。" in " ".join(zh)
    assert "Sticky: 🍵 早上好！今天喝什么茶？" in zh
    # A private chat follows its person, not the group: English from Alice's app, then Chinese once she picks it.
    assert "[alice ⇄ Sticky] Sticky → alice: I speak English with you here (from your Telegram app)." in zh
    assert "[alice ⇄ Sticky] · alice pressed '中文'" in zh
    assert "[alice ⇄ Sticky] ✎ Sticky → alice: 从现在起，我在私聊里和你说中文。群组的语言不变。 (edited)" in zh
    assert "[alice ⇄ Sticky]   徽章：首次签到、首次邀请、有用的反馈" in zh
    assert lines[-2] == "Demo finished: every answer above came from Sticky's real handlers."
    # Library messages went to a log file named at the end, none to the terminal.
    log = re.fullmatch(r"· library messages were written to (\S+\.log)", lines[-1])
    assert log and result.stderr.strip() == "", result.stderr[-2000:]  # e.g. "private message to 1004: Forbidden…"
    logged = Path(log[1]).read_text(encoding="utf-8")
    assert "Traceback" not in logged and " ERROR " not in logged, logged[-3000:]  # no handler failed on the way
    check_blocks_happened(lines, tmp_path / "demo.db")


def check_blocks_happened(lines: list[str], path: Path) -> None:
    db = sqlite3.connect(path)
    one = lambda sql, *args: db.execute(sql, args).fetchone()  # noqa: E731
    users = dict(db.execute("SELECT username, user_id FROM users"))
    eve, adam, owner = users["eve"], users["admin"], users["owner"]
    [chat] = [r[0] for r in db.execute("SELECT chat_id FROM groups")]

    alice, bob, dave = users["alice"], users["bob"], users["dave"]
    # Roles: Olivia's and Adam's assignments are stored (and audited); Carol's and the owner's attempts are not.
    assert sorted(db.execute("SELECT target_id, role FROM role_audit WHERE change = 'set'")) == [(alice, "activator"), (bob, "spreader")]
    # Check-ins: Alice on two days in a row (her streak of 2), one row per member and day.
    assert [r[0] for r in db.execute("SELECT day FROM checkins WHERE user_id = ? ORDER BY day", (alice,))] == ["2026-03-02", "2026-03-03"]
    # The shop: one order, confirmed by the button and fulfilled; the balance is the ledger's sum.
    assert one("SELECT status FROM orders") == ("fulfilled",)
    assert one("SELECT w.points = (SELECT SUM(amount) FROM ledger l WHERE l.chat_id = w.chat_id AND l.user_id = w.user_id"
               " AND l.currency = 'points') FROM wallets w WHERE w.user_id = ?", bob) == (1,)
    # Screening and the referral: Dave passed his check and Alice's referral was confirmed.
    assert one("SELECT status FROM captcha_checks WHERE user_id = ?", dave) == ("passed",)
    assert one("SELECT inviter_id, status FROM referrals WHERE invitee_id = ?", dave) == (alice, "confirmed")
    # The feedback box: the suggestion accepted with 30 points, in the ledger.
    assert one("SELECT status, points FROM feedback") == ("accepted", 30)
    assert one("SELECT COUNT(*) FROM ledger WHERE user_id = ? AND reason = 'feedback' AND amount = 30", alice) == (1,)
    # The quiz: closed by itself, two answers, Alice's right one paid (in the ledger too), Bob's wrong one not.
    assert one("SELECT kind, closed_at IS NOT NULL, voters FROM polls") == ("quiz", 1, 2)
    assert sorted(db.execute("SELECT user_id, correct, points FROM poll_answers")) == [(alice, 1, 15), (bob, 0, 0)]
    assert one("SELECT COUNT(*) FROM ledger WHERE user_id = ? AND reason = 'quiz' AND amount = 15", alice) == (1,)
    # The group spoke Chinese, and English again for the finale.
    assert one("SELECT value FROM group_settings WHERE key = 'language'") == ("en",)
    assert one("SELECT language FROM users WHERE user_id = ?", alice) == ("zh",)  # her private choice, stored
    assert one("SELECT runs, last_message_id IS NOT NULL FROM schedules ORDER BY id DESC LIMIT 1") == (1, 1)  # the morning post ran once
    # Every join is welcomed, not only after the captcha.
    assert "Sticky: Welcome to Tea Lovers, Eve! Say hello to everyone." in lines
    # Moderation: the blocklist rule deleted Eve's message and warned her by itself; Adam warned her by hand.
    assert "Sticky: Eve has been warned (1/5)." in lines and "Sticky → admin: Eve has been warned (2/5)." in lines
    assert "· Sticky deleted a message from eve" in lines
    rule_warn = one("SELECT r.name FROM violations v JOIN rules r ON v.source_key LIKE 'rule:' || r.id || ':%'"
                    " WHERE v.user_id = ? AND v.chat_id = ?", eve, chat)
    assert rule_warn == ("blocklist",)
    assert one("SELECT COUNT(*) FROM modlog WHERE action = 'delete' AND target_id = ? AND actor_id IS NULL", eve) == (1,)
    # Adam looks Eve's warns up: the rule's and his, with their reasons.
    assert lines[lines.index("admin: /warns @eve") + 1:lines.index("admin: /warns @eve") + 4] == [
        "Sticky → admin: Eve has 2/5 warns:", "1. blocklist", "2. ads again after the rule"]
    # Adam's warns by hand: one here, two more in "Rules at work" (below).
    assert one("SELECT COUNT(*) FROM modlog WHERE action = 'warn' AND target_id = ? AND actor_id = ?", eve, adam) == (3,)
    # In private, /me answers for the one group Alice is in, and says which.
    private_me = lines.index("[alice ⇄ Sticky] alice: /me", lines.index("── In Alice's private chat with Sticky, /me answers for her group"))
    assert lines[private_me + 1:private_me + 3] == ["[alice ⇄ Sticky] Sticky → alice: [Tea Lovers]", "[alice ⇄ Sticky]   Alice — Activator"]
    # From his private chat (/connect) Adam removed a warn in the group; then disconnected.
    unwarn = lines.index("[admin ⇄ Sticky] admin: /unwarn @eve")
    assert lines[unwarn + 1:unwarn + 3] == ["[admin ⇄ Sticky] Sticky → admin: [Tea Lovers]", "[admin ⇄ Sticky]   One warn of Eve removed."]
    assert one("SELECT COUNT(*) FROM modlog WHERE action = 'unwarn' AND chat_id = ? AND actor_id = ?", chat, adam) == (1,)
    # Eve's four warns are all gone: one by /unwarn, the other three when she reached the warn limit (below).
    assert one("SELECT COUNT(*), SUM(removed_at IS NULL) FROM violations WHERE user_id = ?", eve) == (4, 0)
    assert one("SELECT COUNT(*) FROM connections") == (0,)
    # Rules at work. The link gate (a default rule, switched on): Carol, bronze, lost her link and was told why.
    carol, finn = users["carol"], users["finn"]
    block = lines.index("── Rules at work: the link gate, a flood, warns escalating, and a dry run that explains itself")
    assert one("SELECT enabled FROM rules WHERE chat_id = ? AND name = 'links'", chat) == (1,)
    assert lines[block + 4:block + 7] == [
        "carol: Try this shop: https://tea.example/oolong [deleted]", "· Sticky deleted a message from carol",
        "Sticky: 🔗 Carol, links are for Silver and above here; you are Bronze. Keep chatting and checking in to get there."]
    assert one("SELECT COUNT(*) FROM modlog m JOIN rules r ON r.id = m.rule_id WHERE m.action = 'delete'"
               " AND m.target_id = ? AND r.name = 'links' AND m.actor_id IS NULL", carol) == (2,)  # and again in Chinese
    # A flood: Finn's six messages within ten seconds, muted by the antiflood rule for ten minutes, once.
    assert "· Sticky restricted finn (until 09:10)" in lines[block:]
    flood = db.execute("SELECT m.until, r.name FROM modlog m JOIN rules r ON r.id = m.rule_id WHERE m.action = 'mute'"
                       " AND m.target_id = ?", (finn,)).fetchall()
    assert flood == [("2026-03-03T09:10:00+00:00", "antiflood")]
    # Warns escalate: /setwarnlimit 3 and /setwarnmode tmute 1h, then Adam's third warn muted Eve for an hour.
    assert dict(db.execute("SELECT key, value FROM group_settings WHERE key IN ('warn_limit', 'warn_mode')")) == {
        "warn_limit": "3", "warn_mode": "tmute 1h"}
    assert "That is the warn limit: Eve is muted for 1h, and the warns start again." in lines[block:]
    assert one("SELECT actor_id, reason, until FROM modlog WHERE action = 'mute' AND target_id = ?", eve) == (
        adam, "3/3 warns", "2026-03-03T10:00:00+00:00")
    # /rule test: a dry run for a typical member, rule by rule — it wrote nothing (no rule fired for carol since).
    test = lines.index("admin: /rule test Buy cheap followers at spam.example", block)
    assert lines[test + 1:test + 6] == [
        "Sticky → admin: Dry run for a typical member:", "· antiflood: not fired, because this does not hold: flood 6 in 10s",
        "· links: not fired, because this does not hold: has link",
        "· forwards: not fired, because this does not hold: has forward", '✅ blocklist fires: delete, warn "blocklist"']
    command = lines.index("admin: /rule test /checkin", block)
    assert ("· activator_xp: not for commands (a rule that rewards pays for taking part, not for a command; a rule on"
            " the command trigger may)") in lines[command + 1:command + 12]
    assert one("SELECT COUNT(*) FROM modlog WHERE actor_id IS NULL AND target_id = 0") == (0,)
    # The scheduled posts went out by themselves, once each, at their time; the member day ran and paid Bob double.
    assert one("SELECT last_run FROM schedules WHERE spec = '21:00'")[0].startswith("2026-03-04T21:00")
    weekly = one("SELECT spec, runs, last_run, options FROM schedules WHERE kind = 'weekly' AND action = 'post'")
    assert weekly[:2] == ("wed 18:00", 1) and weekly[2].startswith("2026-03-04T18:00") and '"pin": true' in weekly[3]
    assert one("SELECT COUNT(*) FROM push_log WHERE kind = 'schedule' AND outcome = 'sent'") == (3,)  # and the zh one
    assert one("SELECT COUNT(*) FROM ledger l JOIN users u ON u.user_id = l.user_id WHERE u.username = 'bob'"
               " AND l.reason = 'checkin' AND l.amount = 20") == (1,)
    # NPS: the four answers pressed are stored, the survey is closed, and the score shown is theirs.
    answers = dict(db.execute("SELECT u.username, a.score FROM nps_answers a JOIN users u ON u.user_id = a.user_id"))
    assert answers == {"alice": 10, "bob": 9, "dave": 7, "carol": 4}
    assert one("SELECT closed_at IS NOT NULL FROM nps_surveys") == (1,)
    scores = list(answers.values())
    nps = round(100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores))
    assert f"Sticky → owner: Survey closed. NPS {nps:+d} (4 answers: 2 promoters, 1 passive, 1 detractor)" in lines
    # /stats counted what happened (members in the group, the check-ins of the week) and sent its chart.
    # The demo ends with it: the NPS round, /stats and its chart, /loyalty, back in English.
    finale = lines.index("── Last, back in English: how sticky is the group? An NPS survey, then the stats and the loyalty ladder")
    assert lines.index("Sticky → owner: 从现在起，我在本群使用中文。") < finale and not {"owner: /nps", "owner: /stats", "owner: /loyalty"} & set(lines[:finale])
    stats = lines.index("Sticky → owner: Stats of Tea Lovers, last 7 days (2026-03-03 – 2026-03-09):")
    members = one("SELECT COUNT(*) FROM members m JOIN users u ON u.user_id = m.user_id WHERE m.chat_id = ?"
                  " AND m.status IN ('member', 'administrator', 'creator', 'restricted') AND u.is_bot = 0", chat)[0]
    assert lines[stats + 1].startswith(f"Members: {members} ")
    checkins = one("SELECT COUNT(*) FROM checkins WHERE chat_id = ? AND day >= '2026-03-03'", chat)[0]
    assert f"Check-ins: {checkins}; check-in rate" in " ".join(lines[stats:stats + 8])
    assert "Sticky: [photo] Tea Lovers: activity over the last 7 days." in lines[stats:]
    # …and that chart is written to the file the transcript names: the PNG Sticky sent, of the chart's size.
    chart = Path(next(line for line in lines[stats:] if line.startswith("· the chart above is in ")).rsplit(" ", 1)[1])
    assert chart == path.parent / "stats-chart.png"
    png = chart.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (WIDTH, HEIGHT)
    # /loyalty placed the members it names, each in the segment stored for them.
    placed = dict(db.execute("SELECT segment, COUNT(*) FROM loyalty_state WHERE chat_id = ? GROUP BY segment", (chat,)))
    ladder = lines.index(f"Sticky → owner: Loyalty of Tea Lovers ({sum(placed.values())} members, admins apart):")
    shown = {m.group(1): int(m.group(2)) for line in lines[ladder + 1:ladder + 7]
             if (m := re.match(r"(\w+): (\d+)", line))}
    assert {k: v for k, v in shown.items() if v} == placed
    assert owner not in [r[0] for r in db.execute("SELECT user_id FROM loyalty_state")]  # admins apart
