"""/export through the real Application: a zip of CSVs sent with sendDocument in private; no private chat → one line."""
from __future__ import annotations

import csv
import io
import zipfile

from bot.context import BotContext
from handlers import points as hp
from tests.helpers import make_group, say


def rows(zf: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.TextIOWrapper(zf.open(name), encoding="utf-8")))


async def test_export_is_a_zip_of_csvs_sent_in_private(pg):
    g = await make_group(pg)
    await say(pg, g.alice, "/checkin", g.chat)
    await hp.job_flush(BotContext(pg.app))
    await say(pg, g.admin, "/start")                           # the admin can be written to in private
    answer = await say(pg, g.admin, "/export", g.chat)
    ledger_rows = await pg.services.db.fetchval("SELECT COUNT(*) FROM ledger WHERE chat_id = ?", (g.chat.id,))
    assert answer == f"I sent you the export in private: 5 members, {ledger_rows} ledger rows, 0 referrals, 1 days."
    [document] = [m["document"] for m in pg.sim.replies(g.admin) if "document" in m]
    assert document["file_name"] == f"sticky-export-{g.chat.id}.zip"
    with zipfile.ZipFile(io.BytesIO(pg.sim.download(document["file_id"]))) as zf:
        assert sorted(zf.namelist()) == ["daily_stats.csv", "ledger.csv", "members.csv", "referrals.csv"]
        members, ledger, daily = rows(zf, "members.csv"), rows(zf, "ledger.csv"), rows(zf, "daily_stats.csv")
    alice = next(m for m in members if m["user_id"] == str(g.alice.id))
    wallet = await pg.services.points.ledger.wallet(g.chat.id, g.alice.id)
    assert (alice["role"], alice["tier"], alice["points"], alice["xp"]) == ("member", "bronze", str(wallet.points), str(wallet.xp))
    assert wallet.points >= 10
    assert next(m for m in members if m["user_id"] == str(g.owner.id))["role"] == "owner"
    assert len(ledger) == ledger_rows
    assert {(str(g.alice.id), "checkin", "points"), (str(g.alice.id), "checkin", "xp")} <= {
        (r["user_id"], r["reason"], r["currency"]) for r in ledger}
    assert [(d["active_members"], d["checkins"]) for d in daily] == [("3", "1")]


async def test_export_without_a_private_chat_says_how_and_bad_input(pg):
    g = await make_group(pg)
    answer = await say(pg, g.admin, "/export", g.chat)
    assert answer == "I cannot write to you in private yet: open a chat with me, press Start, then send /export again."
    assert await say(pg, g.admin, "/export all", g.chat) == "Usage: /export"
    assert "Only Admin and above" in await say(pg, g.alice, "/export", g.chat)


async def test_a_large_group_is_exported_whole_in_pages_within_telegram_s_document_limit(pg):
    # 20,000 members and 200,000 ledger rows: every row arrives in the zip, the zip Telegram accepts (sendDocument
    # takes 50 MB at most; the simulator refuses more), and the export never holds the group in memory at once —
    # its peak (6.6 MB when written) stays under half the 23 MB of CSV it writes.
    import tracemalloc

    from bot.sim.api_messages import UPLOAD_LIMIT
    g = await make_group(pg)
    await say(pg, g.admin, "/start")
    members, ledger = 20_000, 200_000
    at = "2026-03-01T12:00:00+00:00"

    def fill(conn):
        conn.executemany("INSERT INTO users(user_id, first_name, username, updated_at) VALUES (?, ?, ?, ?)",
                         ((10**9 + u, f"Member {u}", f"member{u}", at) for u in range(members)))
        conn.executemany("INSERT INTO members(chat_id, user_id, status, first_seen_at) VALUES (?, ?, 'member', ?)",
                         ((g.chat.id, 10**9 + u, at) for u in range(members)))
        conn.executemany("INSERT INTO ledger(chat_id, user_id, amount, currency, reason, ref, note, at)"
                         " VALUES (?, ?, ?, 'points', 'give', ?, 'a note of some length for the ledger', ?)",
                         ((g.chat.id, 10**9 + i % members, 1 + i % 50, f"bulk:{i}", at) for i in range(ledger)))
    await pg.services.db.write(fill)
    tracemalloc.start()
    try:
        path, counts = await pg.services.export.build(g.chat.id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        with zipfile.ZipFile(path) as zf:
            written = sum(i.file_size for i in zf.infolist())
            assert sum(1 for _ in csv.reader(io.TextIOWrapper(zf.open("ledger.csv"), encoding="utf-8"))) == counts["ledger.csv"] + 1
        assert counts["members.csv"] == members + 5 and counts["ledger.csv"] >= ledger
        assert path.stat().st_size < UPLOAD_LIMIT
        assert peak < written / 2, (peak, written)
    finally:
        path.unlink()
    answer = await say(pg, g.admin, "/export", g.chat)           # and through Telegram: the document is accepted
    rows_now = await pg.services.db.fetchval("SELECT COUNT(*) FROM ledger WHERE chat_id = ?", (g.chat.id,))
    assert answer.startswith(f"I sent you the export in private: {members + 5} members, {rows_now} ledger rows")
    [document] = [m["document"] for m in pg.sim.replies(g.admin) if "document" in m]
    with zipfile.ZipFile(io.BytesIO(pg.sim.download(document["file_id"]))) as zf:
        assert len(rows(zf, "members.csv")) == members + 5
