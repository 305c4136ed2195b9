"""/export: a zip of CSV files (members, ledger, referrals, daily stats) written to a temporary file page by page, so
a large group is never held in memory; the caller sends the file and removes it."""
from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from bot.domain.levels import Tier, tier_for
from bot.domain.roles import role_from
from storage.export import ExportRepo
from storage.members import MemberRepo

MEMBERS = ("user_id", "username", "name", "status", "role", "tier", "points", "xp", "segment", "first_seen_at",
           "joined_at", "left_at")
LEDGER = ("id", "at", "user_id", "currency", "amount", "reason", "ref", "actor_id", "note")
REFERRALS = ("id", "inviter_id", "invitee_id", "via", "status", "reason", "joined_at", "screened_at", "confirmed_at",
             "left_at", "messages")
DAILY = ("day", "active_members", "messages", "checkins")


class ExportService:
    def __init__(self, repo: ExportRepo, members: MemberRepo, tiers: tuple[Tier, ...]) -> None:
        self.repo = repo
        self.members = members
        self.tiers = tiers

    async def deliverable(self, user_id: int) -> bool:
        """Telegram lets a bot write first only to someone who started it in private."""
        return await self.members.has_started(user_id)

    def _member(self, r) -> tuple:
        name = " ".join(p for p in (r["first_name"], r["last_name"]) if p)
        role = role_from(r["tg_role"], r["community_role"]).key
        return (r["user_id"], r["username"] or "", name, r["status"], role, tier_for(r["xp"], self.tiers).key,
                r["points"], r["xp"], r["segment"] or "", r["first_seen_at"], r["joined_at"] or "", r["left_at"] or "")

    async def build(self, chat_id: int) -> tuple[Path, dict[str, int]]:
        """The zip's path (a temporary file the caller deletes) and the row count of each CSV."""
        fd, name = tempfile.mkstemp(prefix=f"sticky-export-{chat_id}-", suffix=".zip")
        os.close(fd)
        path, counts = Path(name), {}
        try:
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                parts: list[tuple[str, tuple, AsyncIterator[list], Callable]] = [
                    ("members.csv", MEMBERS, self.repo.members(chat_id), self._member),
                    ("ledger.csv", LEDGER, self.repo.ledger(chat_id), tuple),
                    ("referrals.csv", REFERRALS, self.repo.referrals(chat_id), tuple),
                    ("daily_stats.csv", DAILY, self.repo.daily(chat_id), tuple),
                ]
                for filename, header, pages, shape in parts:
                    with zf.open(filename, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as out:
                        writer = csv.writer(out)
                        writer.writerow(header)
                        n = 0
                        async for page in pages:
                            # Shaping and compressing a page is most of an export's time: on a worker thread, so
                            # other groups' updates are not held up while a large group is exported.
                            await asyncio.to_thread(lambda: writer.writerows([shape(r) for r in page]))
                            n += len(page)
                        counts[filename] = n
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path, counts
