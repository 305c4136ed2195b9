"""/export: a zip of CSV files (members, ledger, referrals, daily stats) written to temporary files page by page, so
a large group is never held in memory; the caller sends the files and removes them.

Telegram takes a bot's document up to 50 MB. An export that would be larger is split into parts, each a valid zip
of its own no larger than the limit: a CSV that does not fit in one part goes on in the next under the same name,
with its header again, so every part opens and reads alone (and the parts' rows, concatenated, are the whole)."""
from __future__ import annotations

import asyncio
import csv
import functools
import io
import os
import tempfile
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from pathlib import Path

from bot.domain.levels import Tier, tier_for
from bot.domain.roles import role_from
from bot.services.loyalty import LoyaltyService
from bot.services.stats import StatsService
from storage.export import PAGE, ExportRepo
from storage.members import MemberRepo

MEMBERS = ("user_id", "username", "name", "status", "role", "tier", "points", "xp", "segment", "first_seen_at",
           "joined_at", "left_at")
LEDGER = ("id", "at", "user_id", "currency", "amount", "reason", "ref", "actor_id", "note")
REFERRALS = ("id", "inviter_id", "invitee_id", "via", "status", "reason", "joined_at", "screened_at", "confirmed_at",
             "left_at", "messages")
# Counted as /stats counts them (members only: bots never, admins apart), and the admins apart.
DAILY = ("day", "active_members", "messages", "checkins", "admins_active", "admins_messages")

# sendDocument: "Bots can currently send files of any type of up to 50 MB in size" (api.json; the simulator refuses
# more with 413, as Telegram does).
DOCUMENT_LIMIT = 50 * 1024 * 1024
CHUNK = 64 * 1024  # CSV text written (and judged against the limit) at a time
# What a zip adds after the data: per entry a data descriptor and a central-directory record (with zip64 fields at
# most about 130 bytes), then the end records.
_PER_ENTRY, _END = 160, 120
_LOCAL = 30 + 64 + 32  # an entry's local header (its name, its extra fields)


class _Parts:
    """Zip parts on disk, each at most `limit` bytes. Before a chunk goes in, the part's final size with it is known
    exactly when it is near the limit: the entry's compressor is copied and the chunk compressed and flushed on the
    copy (the real one then makes the same bytes). Far from the limit a cheap bound decides (deflate makes little
    more than its input; what it holds back is far less than the slack kept), and each closed part is checked."""

    def __init__(self, chat_id: int, limit: int) -> None:
        self.chat_id, self.limit = chat_id, limit
        self.paths: list[Path] = []
        self.zf: zipfile.ZipFile | None = None
        self.entry = None
        self.table: tuple[str, bytes] = ("", b"")

    def _reserve(self) -> int:
        return _PER_ENTRY * (len(self.zf.filelist) + 1) + _END

    def _new_part(self) -> None:
        self._close_part()
        fd, name = tempfile.mkstemp(prefix=f"sticky-export-{abs(self.chat_id)}-", suffix=".zip")
        os.close(fd)
        self.paths.append(Path(name))
        self.zf = zipfile.ZipFile(name, "w", compression=zipfile.ZIP_DEFLATED)

    def _close_part(self) -> None:
        if self.zf is None:
            return
        self.zf.close()
        self.zf = None
        size = self.paths[-1].stat().st_size
        if size > self.limit:  # the bounds say it cannot happen: never hand Telegram what it refuses
            raise RuntimeError(f"export part {len(self.paths)} is {size} bytes, over the limit of {self.limit}")

    def _open_entry(self) -> None:
        """The current table's entry, with its header, in this part if it fits (a new part if not)."""
        filename, header = self.table
        if self.zf is None or self.zf.fp.tell() + _LOCAL + 2 * len(header) + 1024 + self._reserve() > self.limit:
            self._new_part()
        self.entry = self.zf.open(filename, "w")
        if not self._fits(header):
            raise RuntimeError(f"export: a CSV header does not fit in a part of {self.limit} bytes")
        self.entry.write(header)

    def _fits(self, data: bytes) -> bool:
        written, reserve = self.zf.fp.tell(), self._reserve()
        if written + 2 * len(data) + 4 * CHUNK + reserve <= self.limit:
            return True
        trial = self.entry._compressor.copy()  # noqa: SLF001 - exact: the same compressor state, on a copy
        return written + len(trial.compress(data)) + len(trial.flush()) + reserve <= self.limit

    def begin(self, filename: str, header: tuple) -> None:
        self.table = (filename, _csv([header]))
        self._open_entry()

    def rows(self, rows: list[tuple]) -> None:
        """Rows, in chunks of whole rows (a part never ends inside a row) of about CHUNK bytes at most."""
        for start in range(0, len(rows), 256):
            self._rows(rows[start:start + 256])

    def _rows(self, rows: list[tuple]) -> None:
        data = _csv(rows)
        if len(data) <= CHUNK or len(rows) == 1:
            self._write(data)
        else:
            half = len(rows) // 2
            self._rows(rows[:half])
            self._rows(rows[half:])

    def _write(self, data: bytes) -> None:
        if not self._fits(data):  # the rest of this table goes on in a new part, under its header again
            self.entry.close()
            self.entry = None
            self._new_part()
            self._open_entry()
            if not self._fits(data):
                raise RuntimeError(f"export: {len(data)} bytes of rows do not fit in a part of {self.limit} bytes")
        self.entry.write(data)

    def end(self) -> None:
        self.entry.close()
        self.entry = None

    def finish(self) -> list[Path]:
        self._close_part()
        return self.paths

    def discard(self) -> None:
        try:
            if self.entry is not None:
                self.entry.close()
            if self.zf is not None:
                self.zf.close()
        except Exception:  # noqa: BLE001 - the files go anyway
            pass
        for path in self.paths:
            path.unlink(missing_ok=True)


def _csv(rows) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def _day(row: tuple) -> tuple:
    day, f, admins_active = row
    return (day.isoformat(), f.active, f.messages, f.checkins, admins_active, f.admin_messages)


def export_filename(chat_id: int, day: date, part: int = 1, parts: int = 1) -> str:
    """The name the admin's file is sent under: the group's id without Telegram's minus (no double hyphen, as
    /rules_export's sticky-rules-<id>.yaml) and the group's day, so exports of different days sort and differ:
    sticky-export-1001000000001-20260302.zip, …-part1of3.zip for a large one."""
    stem = f"sticky-export-{abs(chat_id)}-{day:%Y%m%d}"
    return f"{stem}.zip" if parts == 1 else f"{stem}-part{part}of{parts}.zip"


class ExportService:
    def __init__(self, repo: ExportRepo, members: MemberRepo, tiers: tuple[Tier, ...], loyalty: LoyaltyService,
                 stats: StatsService, limit: int = DOCUMENT_LIMIT) -> None:
        self.repo = repo
        self.stats = stats  # the daily stats: each day as /stats counts it
        self.members = members
        self.tiers = tiers
        self.loyalty = loyalty  # the segment column: each member placed as the export is made
        self.limit = limit  # the largest part, in bytes (Telegram's document limit; smaller in tests)
        self.page = PAGE  # rows read at a time

    async def deliverable(self, user_id: int) -> bool:
        """Telegram lets a bot write first only to someone who started it in private."""
        return await self.members.has_started(user_id)

    def _member(self, segments: dict[int, str], r) -> tuple:
        name = " ".join(p for p in (r["first_name"], r["last_name"]) if p)
        role = role_from(r["tg_role"], r["community_role"]).key
        return (r["user_id"], r["username"] or "", name, r["status"], role, tier_for(r["xp"], self.tiers).key,
                r["points"], r["xp"], segments.get(r["user_id"], ""), r["first_seen_at"], r["joined_at"] or "",
                r["left_at"] or "")

    async def _members_shape(self, chat_id: int, at: datetime, rows: list) -> Callable:
        """How a page of members is written: with each one's segment at `at`, placed for this page's ids as
        /loyalty places them (LoyaltyService.segments, nothing stored) — blank for whoever /loyalty does not place
        (admins, bots, people who left). Page by page, so the export never holds every member's numbers at once."""
        segments = await self.loyalty.segments(chat_id, at, (rows[0]["user_id"], rows[-1]["user_id"]))
        return functools.partial(self._member, segments)

    async def build(self, chat_id: int, at: datetime) -> tuple[list[Path], dict[str, int]]:
        """The zip parts' paths (temporary files the caller deletes; one unless the export is over the limit) and
        the row count of each CSV; members' segments are theirs at `at`."""
        parts, counts = _Parts(chat_id, self.limit), {}

        async def plain(rows: list) -> Callable:
            return tuple

        async def daily(rows: list) -> Callable:
            return _day

        try:
            tables: list[tuple[str, tuple, AsyncIterator[list], Callable[[list], Awaitable[Callable]]]] = [
                ("members.csv", MEMBERS, self.repo.members(chat_id, self.page),
                 functools.partial(self._members_shape, chat_id, at)),
                ("ledger.csv", LEDGER, self.repo.ledger(chat_id, self.page), plain),
                ("referrals.csv", REFERRALS, self.repo.referrals(chat_id, self.page), plain),
                ("daily_stats.csv", DAILY, self.stats.days(chat_id, at), daily),
            ]
            for filename, header, pages, shaping in tables:
                await asyncio.to_thread(parts.begin, filename, header)
                n = 0
                async for rows in pages:
                    shape = await shaping(rows)
                    # Shaping and compressing a page is most of an export's time: on a worker thread, so other
                    # groups' updates are not held up while a large group is exported.
                    await asyncio.to_thread(lambda: parts.rows([shape(r) for r in rows]))
                    n += len(rows)
                await asyncio.to_thread(parts.end)
                counts[filename] = n
            paths = await asyncio.to_thread(parts.finish)
        except BaseException:
            parts.discard()
            raise
        return paths, counts
