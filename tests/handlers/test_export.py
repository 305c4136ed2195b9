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
