"""/export through the real Application: a zip of CSVs sent with sendDocument in private; no private chat → one line."""
from __future__ import annotations

import csv
import io
import os
import re
import zipfile

from bot.context import BotContext
from bot.services.export import CHUNK, DOCUMENT_LIMIT, _Parts
from bot.sim.api_messages import UPLOAD_LIMIT
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
    assert answer == f"I sent you the export in private: 5 members, {ledger_rows} ledger rows, 0 referrals, 1 day."
    [document] = [m["document"] for m in pg.sim.replies(g.admin) if "document" in m]
    # The group's id without Telegram's minus (it made "sticky-export--100…", a double hyphen) and the group's day.
    assert g.chat.id < 0 and document["file_name"] == f"sticky-export-{-g.chat.id}-{pg.clock.now():%Y%m%d}.zip"
    assert "--" not in document["file_name"]
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


def fill_group(g, members: int, ledger: int):
    """`members` more members and `ledger` ledger rows, written straight into the tables (as a large group has them)."""
    at = "2026-03-01T12:00:00+00:00"

    def fill(conn):
        conn.executemany("INSERT INTO users(user_id, first_name, username, updated_at) VALUES (?, ?, ?, ?)",
                         ((10**9 + u, f"Member {u}", f"member{u}", at) for u in range(members)))
        conn.executemany("INSERT INTO members(chat_id, user_id, status, first_seen_at) VALUES (?, ?, 'member', ?)",
                         ((g.chat.id, 10**9 + u, at) for u in range(members)))
        conn.executemany("INSERT INTO ledger(chat_id, user_id, amount, currency, reason, ref, note, at)"
                         " VALUES (?, ?, ?, 'points', 'give', ?, 'a note of some length for the ledger', ?)",
                         ((g.chat.id, 10**9 + i % members, 1 + i % 50, f"bulk:{i}", at) for i in range(ledger)))
    return fill


async def test_a_large_group_is_exported_whole_in_pages_never_held_in_memory(pg):
    # 2,000 members and 20,000 ledger rows read 200 rows at a time (a large group's 5,000-row pages, scaled down
    # with it): every row arrives in the zip, and the export never holds the group in memory at once — its peak
    # stays under half the CSV it writes (2.3 MB). The zip is well under Telegram's document limit: one part.
    import tracemalloc

    g = await make_group(pg)
    await say(pg, g.admin, "/start")
    members, ledger = 2_000, 20_000
    await pg.services.db.write(fill_group(g, members, ledger))
    pg.services.export.page = 200
    tracemalloc.start()
    try:
        paths, counts = await pg.services.export.build(g.chat.id, pg.clock.now())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        [path] = paths
        with zipfile.ZipFile(path) as zf:
            written = sum(i.file_size for i in zf.infolist())
            assert sum(1 for _ in csv.reader(io.TextIOWrapper(zf.open("ledger.csv"), encoding="utf-8"))) == counts["ledger.csv"] + 1
            assert len(rows(zf, "members.csv")) == members + 5
        assert counts["members.csv"] == members + 5 and counts["ledger.csv"] >= ledger
        assert written > 2_000_000
        assert peak < written / 2, (peak, written)
    finally:
        path.unlink()
    answer = await say(pg, g.admin, "/export", g.chat)           # and through Telegram: the document is accepted
    rows_now = await pg.services.db.fetchval("SELECT COUNT(*) FROM ledger WHERE chat_id = ?", (g.chat.id,))
    assert answer.startswith(f"I sent you the export in private: {members + 5} members, {rows_now} ledger rows")
    [document] = [m["document"] for m in pg.sim.replies(g.admin) if "document" in m]
    with zipfile.ZipFile(io.BytesIO(pg.sim.download(document["file_id"]))) as zf:
        assert len(rows(zf, "members.csv")) == members + 5


def documents(pg, user) -> list[tuple[dict, bytes]]:
    return [(m, pg.sim.download(m["document"]["file_id"])) for m in pg.sim.replies(user) if "document" in m]


async def test_an_export_over_the_document_limit_is_sent_in_parts_each_a_zip_within_the_limit(pg):
    # Telegram takes a bot's document up to 50 MB (the simulator refuses more, 413). With the limit set to 40 kB, a
    # 180 kB export goes out in parts: each under the limit, each a zip that opens alone with every CSV's header,
    # and the parts' rows together are exactly the rows of the export in one piece. A flood wait on one part is
    # waited out and the same part sent whole again.
    g = await make_group(pg)
    await say(pg, g.admin, "/start")
    await pg.services.db.write(fill_group(g, 2_000, 20_000))
    pg.services.export.page = 500
    whole_paths, _ = await pg.services.export.build(g.chat.id, pg.clock.now())
    with zipfile.ZipFile(whole_paths[0]) as zf:
        whole = {name: rows(zf, name) for name in zf.namelist()}
    assert len(whole_paths) == 1 and whole_paths[0].stat().st_size > 150_000
    whole_paths[0].unlink()

    assert pg.services.export.limit == DOCUMENT_LIMIT == UPLOAD_LIMIT  # Telegram's (and the simulator's) 50 MB
    limit = pg.services.export.limit = 40_000
    pg.sim.flood("sendDocument", retry_after=1)
    answer = await say(pg, g.admin, "/export", g.chat)
    sent = documents(pg, g.admin)
    assert len(sent) >= 4
    assert answer == (f"I sent you the export in private in {len(sent)} files (Telegram takes 50 MB at most in one): "
                      f"2005 members, {len(whole['ledger.csv'])} ledger rows, 0 referrals, 0 days.")
    together: dict[str, list[dict]] = {}
    for i, (message, data) in enumerate(sent, 1):
        assert message["document"]["file_name"] == f"sticky-export-{-g.chat.id}-{pg.clock.now():%Y%m%d}-part{i}of{len(sent)}.zip"
        assert f"part {i} of {len(sent)}" in message["caption"]
        assert len(data) <= limit
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert zf.testzip() is None
            for name in zf.namelist():
                with zf.open(name) as f:
                    header = next(csv.reader(io.TextIOWrapper(f, encoding="utf-8")))
                assert header == list(whole[name][0].keys()) if whole[name] else header
                together.setdefault(name, []).extend(rows(zf, name))
    assert together.keys() == whole.keys()
    assert together == whole
    assert sum(len(data) for _, data in sent) > limit * 3


async def test_an_export_cut_off_between_parts_says_how_many_went(pg, monkeypatch):
    g = await make_group(pg)
    await say(pg, g.admin, "/start")
    await pg.services.db.write(fill_group(g, 2_000, 20_000))
    pg.services.export.limit = 40_000
    send = type(pg.sim).api_sendDocument

    def first_then_blocked(sim, p):
        answer = send(sim, p)
        sim.block(g.admin)                                         # the admin blocks Sticky after the first part
        return answer

    monkeypatch.setattr(type(pg.sim), "api_sendDocument", first_then_blocked)
    answer = await say(pg, g.admin, "/export", g.chat)
    parts = int(re.search(r"part 1 of (\d+)", documents(pg, g.admin)[0][0]["caption"])[1])
    assert answer == (f"I sent you only 1 of the export's {parts} files: Telegram refused the next. Send /export again"
                      " for the whole.")
    assert len(documents(pg, g.admin)) == 1


def test_parts_stay_within_the_limit_on_data_that_does_not_compress():
    # Random bytes as text barely compress: the cheap bound far from the limit and the exact trial near it must
    # both hold. Every part is within the limit and a valid zip; the rows come back whole and in order.
    limit = 12 * CHUNK
    parts = _Parts(1, limit)
    lines = [(i, os.urandom(300).hex()) for i in range(6_000)]
    try:
        parts.begin("noise.csv", ("i", "hex"))
        for start in range(0, len(lines), 700):
            parts.rows(lines[start:start + 700])
        parts.end()
        paths = parts.finish()
        back = []
        for path in paths:
            assert path.stat().st_size <= limit
            with zipfile.ZipFile(path) as zf:
                got = rows(zf, "noise.csv")
            back += [(int(r["i"]), r["hex"]) for r in got]
        assert back == lines
        assert len(paths) >= 3 and max(p.stat().st_size for p in paths[:-1]) > limit - 2 * CHUNK
    finally:
        parts.discard()


async def test_an_export_telegram_did_not_answer_for_or_asked_to_wait_for_is_not_told_as_no_private_chat(pg, monkeypatch):
    """An admin who started Sticky was told "I cannot write to you in private yet… press Start" when the upload
    timed out (the file may well have arrived: here it did) or Telegram asked for a long wait. Each now says what
    happened, in English and Chinese; the parts that went are counted."""
    g = await make_group(pg)
    await say(pg, g.admin, "/start")
    pg.sim.timeout_after_send("sendDocument")
    assert await say(pg, g.admin, "/export", g.chat) == (
        "Telegram did not answer while I sent you the export, so it may have arrived anyway: look in our private "
        "chat, and send /export again if it is not there.")
    assert len(documents(pg, g.admin)) == 1                       # it did arrive
    pg.sim.flood("sendDocument", retry_after=3600)
    assert await say(pg, g.admin, "/export", g.chat) == (
        "Telegram asked me to wait before sending you the export: send /export again in a few minutes.")
    await pg.services.db.write(fill_group(g, 2_000, 20_000))
    pg.services.export.limit = 40_000
    send, calls = type(pg.sim).api_sendDocument, []

    def second_fails(sim, p):  # the second part of each export: a long flood wait, then no answer
        calls.append(p)
        if len(calls) == 1:
            sim.flood("sendDocument", retry_after=3600)
        if len(calls) == 2:
            sim.timeout_after_send("sendDocument")
        return send(sim, p)

    monkeypatch.setattr(type(pg.sim), "api_sendDocument", second_fails)
    answer = await say(pg, g.admin, "/export", g.chat)
    parts = int(re.search(r"part 1 of (\d+)", documents(pg, g.admin)[-1][0]["caption"])[1])
    assert answer == (f"Telegram asked me to wait before sending you the rest of the export (1 of {parts} files "
                      "went): send /export again in a few minutes.")
    answer = await say(pg, g.admin, "/export", g.chat)
    assert answer == (f"Telegram did not answer while I sent you file 2 of the export's {parts}, so it may have "
                      "arrived anyway: look in our private chat, and send /export again if a file is missing.")
    monkeypatch.undo()
    await say(pg, g.owner, "/lang zh", g.chat)
    pg.services.export.limit = DOCUMENT_LIMIT
    pg.sim.timeout_after_send("sendDocument")
    assert await say(pg, g.admin, "/export", g.chat) == (
        "我发送导出时 Telegram 没有回应，它可能已经送达：请看看我们的私聊，如果没有，请再发送 /export。")


async def test_the_export_is_named_for_the_group_and_its_day_with_no_double_hyphen(pg):
    from datetime import date, datetime, timezone

    from bot.services.export import export_filename

    assert export_filename(-1001000000001, date(2026, 3, 2)) == "sticky-export-1001000000001-20260302.zip"
    assert export_filename(-1001000000001, date(2026, 3, 2), 2, 3) == "sticky-export-1001000000001-20260302-part2of3.zip"
    # The day is the group's: 20:00 UTC on 2 March is already 3 March in Shanghai.
    g = await make_group(pg)
    await say(pg, g.owner, "/set timezone Asia/Shanghai", g.chat)
    pg.clock.set(datetime(2026, 3, 2, 20, 0, tzinfo=timezone.utc))
    await say(pg, g.admin, "/start")
    await say(pg, g.admin, "/export", g.chat)
    [document] = [m["document"] for m in pg.sim.replies(g.admin) if "document" in m]
    assert document["file_name"] == f"sticky-export-{-g.chat.id}-20260303.zip"


async def test_the_segment_column_is_each_member_s_segment_now_without_a_loyalty_run_first(pg):
    # The column was the segment stored by the last /loyalty: blank for everyone in a group where nobody ran it, stale
    # where it ran weeks ago. The export places the members itself, as /loyalty would now (without being a look of
    # /loyalty's: nothing is stored, so who moved this week is unchanged). Admins and bots are not placed: blank.
    g = await make_group(pg)                                   # alice, bob, carol said hi: regular, nothing else
    dave = pg.sim.user("dave")
    pg.sim.join(g.chat, dave)
    await pg.settle()
    await say(pg, dave, "/checkin", g.chat)                    # he only checks in: here for the rewards
    await say(pg, g.admin, "/nps", g.chat)
    survey = [m for m in pg.sim.messages(g.chat) if m.get("reply_markup")][-1]
    pg.sim.press(g.carol, survey, survey["reply_markup"]["inline_keyboard"][1][4]["callback_data"])  # 10: she speaks for it
    await pg.settle()
    await hp.job_flush(BotContext(pg.app))
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM loyalty_state WHERE chat_id = ?", (g.chat.id,)) == 0
    await say(pg, g.admin, "/start")
    pg.services.export.page = 2                                # placed page by page: three pages of two members
    await say(pg, g.admin, "/export", g.chat)
    [document] = [m["document"] for m in pg.sim.replies(g.admin) if "document" in m]
    with zipfile.ZipFile(io.BytesIO(pg.sim.download(document["file_id"]))) as zf:
        segments = {m["user_id"]: m["segment"] for m in rows(zf, "members.csv")}
    assert segments == {str(g.alice.id): "habitual", str(g.bob.id): "habitual", str(g.carol.id): "committed",
                        str(dave.id): "mercenary", str(g.owner.id): "", str(g.admin.id): ""}
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM loyalty_state WHERE chat_id = ?", (g.chat.id,)) == 0
    # /loyalty places them the same (the column is its segment).
    pyramid = await say(pg, g.admin, "/loyalty", g.chat)
    assert "committed: 1 " in pyramid and "habitual: 2 " in pyramid and "mercenary: 1 " in pyramid, pyramid


async def test_daily_stats_count_members_as_stats_does_and_show_admins_apart(pg):
    # The owner and the admin talk (5 messages each), alice, bob and carol said hi: /stats counts the three members
    # active and the two admins apart; daily_stats.csv says the same (it counted everyone: 5 active, 14 messages).
    g = await make_group(pg)
    await say(pg, g.admin, "/start")
    for who in (g.owner, g.admin):
        for i in range(5):
            pg.sim.send(who, f"admin note {i}", g.chat)
    await pg.settle()
    await hp.job_flush(BotContext(pg.app))
    await say(pg, g.admin, "/stats", g.chat)
    stats = [m["text"] for m in pg.sim.replies(g.chat) if m.get("text", "").startswith("Stats of")][-1]
    assert "DAU 0.4 · WAU 3 · MAU 3" in stats
    assert "Admins (counted apart): 2 active, messages: 11" in stats  # their ten notes and the /stats
    await say(pg, g.admin, "/export", g.chat)
    [document] = [m["document"] for m in pg.sim.replies(g.admin) if "document" in m]
    with zipfile.ZipFile(io.BytesIO(pg.sim.download(document["file_id"]))) as zf:
        daily = rows(zf, "daily_stats.csv")
    first = {"day": pg.clock.now().date().isoformat(), "active_members": "3", "messages": "3", "checkins": "0",
             "admins_active": "2", "admins_messages": "11"}
    assert daily == [first]
    first["admins_messages"] = "12"  # and the /export, counted since
    # Forty days on the first day is final and stored (the daily close), read from its row as /stats reads it; the
    # days between (none active) are left out, and a live day is counted from the member-day tables.
    day = pg.clock.now().date()
    pg.clock.advance(days=40)
    assert await pg.services.stats.close_days([g.chat.id]) >= 1          # the last week's days, none active
    _, tz = await pg.services.stats.today(g.chat.id, pg.clock.now())
    assert await pg.services.stats.repo.close(g.chat.id, day, day, tz) == 1  # as a /stats 90d would store it
    await say(pg, g.alice, "/checkin", g.chat)
    await hp.job_flush(BotContext(pg.app))
    paths, counts = await pg.services.export.build(g.chat.id, pg.clock.now())
    with zipfile.ZipFile(paths[0]) as zf:
        daily = rows(zf, "daily_stats.csv")
    paths[0].unlink()
    assert daily == [first, {"day": pg.clock.now().date().isoformat(), "active_members": "1", "messages": "1",
                             "checkins": "1", "admins_active": "0", "admins_messages": "0"}]
