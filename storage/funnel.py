"""The join funnel's tables: pending and past captcha checks, each group's own question, personal invite links,
referrals (pending → confirmed / rejected with a reason / clawed back) and deep-link claims."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite3

import aiosqlite

from storage.db import Database, from_iso, iso

SEP = "\n"


@dataclass(frozen=True)
class Check:
    id: int
    chat_id: int
    user_id: int
    via: str  # join (prompt in the group) | request (prompt in private, then approve/decline)
    mode: str
    question: str
    choices: tuple[str, ...]
    answers: tuple[str, ...]
    attempts_left: int
    event_at: datetime
    deadline: datetime
    prompt_chat_id: int | None
    prompt_message_id: int | None
    status: str
    resolved_at: datetime | None
    restore: str | None = None  # what passing gives back: None = lift the screening restriction; JSON = an earlier restriction; "keep"
    # The Telegram action this check still owes — restrict (at the join), pass (lift and welcome, or approve), remove
    # (kick, or decline) — and when it was last taken on; None once done. The funnel sweep retries what is left.
    action: str | None = None
    action_at: datetime | None = None


@dataclass(frozen=True)
class InviteLink:
    chat_id: int
    user_id: int
    url: str
    code: str
    creates_join_request: bool
    revoked: bool = False


@dataclass(frozen=True)
class Referral:
    id: int
    chat_id: int
    inviter_id: int
    invitee_id: int
    via: str
    joined_at: datetime
    screened_at: datetime | None
    messages: int
    status: str
    reason: str | None
    confirmed_at: datetime | None
    left_at: datetime | None
    joined: bool = True  # False while made at a join request that has not (yet) let them in


@dataclass(frozen=True)
class FunnelNumbers:
    links_created: int
    joined: int  # joins through a member's link (or deep link)
    screened: int  # …of which passed screening
    confirmed: int  # …confirmed (stayed, spoke)
    retained_7d: int  # …of which were still in the group 7 days after joining
    joins_total: int  # every join the bot saw, with or without a link
    checks_passed: int
    checks_failed: int


def _check(row) -> Check:
    return Check(
        row["id"], row["chat_id"], row["user_id"], row["via"], row["mode"], row["question"],
        tuple(row["choices"].split(SEP)) if row["choices"] else (), tuple(row["answers"].split(SEP)),
        row["attempts_left"], from_iso(row["event_at"]), from_iso(row["deadline"]), row["prompt_chat_id"],
        row["prompt_message_id"], row["status"], from_iso(row["resolved_at"]), row["restore"],
        row["action"], from_iso(row["action_at"]),
    )


def _link(row) -> InviteLink:
    return InviteLink(row["chat_id"], row["user_id"], row["url"], row["code"], bool(row["creates_join_request"]), row["revoked_at"] is not None)


def _referral(row) -> Referral:
    return Referral(
        row["id"], row["chat_id"], row["inviter_id"], row["invitee_id"], row["via"], from_iso(row["joined_at"]),
        from_iso(row["screened_at"]), row["messages"], row["status"], row["reason"], from_iso(row["confirmed_at"]),
        from_iso(row["left_at"]), bool(row["joined"]),
    )


def _attach_join(conn: sqlite3.Connection, chat_id: int, invitee_id: int, joined_at: datetime, since: datetime) -> int | None:
    row = conn.execute(
        "SELECT id FROM referrals WHERE chat_id = ? AND invitee_id = ? AND joined = 0 AND joined_at <= ? AND joined_at >= ?"
        " AND (status = 'pending' OR (status = 'rejected' AND reason NOT IN ('failed_screening', 'not_admitted')))"
        " ORDER BY joined_at DESC, id DESC LIMIT 1",
        (chat_id, invitee_id, iso(joined_at), iso(since)),
    ).fetchone()
    if row is None:
        return None
    conn.execute("UPDATE referrals SET joined = 1, joined_at = ? WHERE id = ?", (iso(joined_at), row[0]))
    return row[0]


def _reject_pending(conn: sqlite3.Connection, chat_id: int, invitee_id: int, reason: str, now: datetime) -> int:
    return conn.execute(
        "UPDATE referrals SET status = 'rejected', reason = ?, decided_at = ?,"
        " left_at = CASE WHEN ? = 'left' THEN ? ELSE left_at END"
        " WHERE chat_id = ? AND invitee_id = ? AND status = 'pending'",
        (reason, iso(now), reason, iso(now), chat_id, invitee_id),
    ).rowcount


class FunnelRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- captcha checks -------------------------------------------------------------------

    async def add_check(
        self, chat_id: int, user_id: int, via: str, mode: str, question: str, choices: tuple[str, ...],
        answers: tuple[str, ...], attempts: int, event_at: datetime, deadline: datetime, action: str | None = None,
        now: datetime | None = None,
    ) -> Check | None:
        """None if this join already has a check, or another check is pending for the member (a repeat)."""
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "INSERT INTO captcha_checks(chat_id, user_id, via, mode, question, choices, answers, attempts_left, event_at, deadline,"
                " action, action_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (chat_id, user_id, via, mode, question, SEP.join(choices), SEP.join(answers), attempts, iso(event_at), iso(deadline),
                 action, iso(now) if action else None),
            )
            if cur.rowcount == 0:
                return None
            check_id = cur.lastrowid
        return await self.check(check_id)

    async def check(self, check_id: int) -> Check | None:
        row = await self.db.fetchone("SELECT * FROM captcha_checks WHERE id = ?", (check_id,))
        return None if row is None else _check(row)

    async def pending_check(self, chat_id: int, user_id: int) -> Check | None:
        row = await self.db.fetchone(
            "SELECT * FROM captcha_checks WHERE chat_id = ? AND user_id = ? AND status = 'pending'", (chat_id, user_id)
        )
        return None if row is None else _check(row)

    async def pending_typed_check(self, user_id: int) -> Check | None:
        """The member's open question-mode check, answered by typing in private (earliest deadline first)."""
        row = await self.db.fetchone(
            "SELECT * FROM captcha_checks WHERE user_id = ? AND status = 'pending' AND mode = 'question' ORDER BY deadline LIMIT 1",
            (user_id,),
        )
        return None if row is None else _check(row)

    async def all_pending(self) -> list[Check]:
        return [_check(r) for r in await self.db.fetchall("SELECT * FROM captcha_checks WHERE status = 'pending' ORDER BY deadline")]

    async def set_restore(self, chat_id: int, user_id: int, restore: str) -> None:
        """On the member's pending join check; "keep" (someone else changed their rights) is never overwritten."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE captcha_checks SET restore = ? WHERE chat_id = ? AND user_id = ? AND status = 'pending' AND via = 'join'"
                " AND (restore IS NULL OR restore != 'keep')",
                (restore, chat_id, user_id),
            )

    async def set_prompt(self, check_id: int, chat_id: int, message_id: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE captcha_checks SET prompt_chat_id = ?, prompt_message_id = ? WHERE id = ?", (chat_id, message_id, check_id)
            )

    async def retry(self, check_id: int, question: str, choices: tuple[str, ...], answers: tuple[str, ...]) -> bool:
        """One wrong answer used up, with a fresh challenge; False if no attempt was left or it was already resolved."""
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "UPDATE captcha_checks SET attempts_left = attempts_left - 1, question = ?, choices = ?, answers = ?"
                " WHERE id = ? AND status = 'pending' AND attempts_left > 0",
                (question, SEP.join(choices), SEP.join(answers), check_id),
            )
            return cur.rowcount == 1

    @staticmethod
    async def resolve_in(tx: aiosqlite.Connection, check_id: int, status: str, now: datetime, action: str | None = None) -> bool:
        """pending → status, with the action that decision owes Telegram (taken on by the caller now)."""
        cur = await tx.execute(
            "UPDATE captcha_checks SET status = ?, resolved_at = ?, action = ?, action_at = ? WHERE id = ? AND status = 'pending'",
            (status, iso(now), action, iso(now) if action else None, check_id),
        )
        return cur.rowcount == 1

    async def action_done(self, check_id: int, action: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE captcha_checks SET action = NULL, action_at = NULL WHERE id = ? AND action = ?", (check_id, action)
            )

    async def held_back(self) -> set[tuple[int, int]]:
        """(chat, member) of every open join check whose newcomer may not post (restricted, or owed the restriction),
        unless someone else decided their rights during it (restore 'keep')."""
        rows = await self.db.fetchall(
            "SELECT chat_id, user_id FROM captcha_checks WHERE status = 'pending' AND via = 'join'"
            " AND (restore IS NULL OR restore != 'keep')")
        return {(r[0], r[1]) for r in rows}

    async def drop_restriction(self, chat_id: int, user_id: int) -> None:
        """The member's open check no longer owes its restriction (someone else has decided their rights)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE captcha_checks SET action = NULL, action_at = NULL WHERE chat_id = ? AND user_id = ? AND status = 'pending'"
                " AND action = 'restrict'", (chat_id, user_id),
            )

    async def claim_actions(self, taken_before: datetime, now: datetime) -> list[Check]:
        """Checks whose action was taken on before `taken_before` and is still not done (a crash, or Telegram could not
        do it then): claimed now, so one sweep retries each."""
        async with self.db.transaction() as tx:
            async with tx.execute(
                "UPDATE captcha_checks SET action_at = ? WHERE action IS NOT NULL AND action_at <= ? RETURNING id",
                (iso(now), iso(taken_before)),
            ) as cur:
                ids = [row[0] for row in await cur.fetchall()]
        return [c for c in [await self.check(i) for i in sorted(ids)] if c is not None]

    async def passed_since(self, chat_id: int, user_id: int, since: datetime | None, via: str | None = None) -> bool:
        sql = "SELECT 1 FROM captcha_checks WHERE chat_id = ? AND user_id = ? AND status = 'passed'"
        params: list = [chat_id, user_id]
        if since is not None:
            sql += " AND resolved_at >= ?"
            params.append(iso(since))
        if via is not None:
            sql += " AND via = ?"
            params.append(via)
        return await self.db.fetchval(sql + " LIMIT 1", params) == 1

    async def previous_check(self, chat_id: int, user_id: int, before_id: int) -> Check | None:
        """The member's check in this group just before check `before_id` (the one a rejoin follows)."""
        row = await self.db.fetchone(
            "SELECT * FROM captcha_checks WHERE chat_id = ? AND user_id = ? AND id < ? ORDER BY id DESC LIMIT 1",
            (chat_id, user_id, before_id),
        )
        return None if row is None else _check(row)

    async def check_for_event(self, chat_id: int, user_id: int, event_at: datetime) -> Check | None:
        row = await self.db.fetchone(
            "SELECT * FROM captcha_checks WHERE chat_id = ? AND user_id = ? AND via = 'join' AND event_at = ?",
            (chat_id, user_id, iso(event_at)),
        )
        return None if row is None else _check(row)

    # --- the group's own question --------------------------------------------------------------

    async def set_question(self, chat_id: int, question: str, answers: tuple[str, ...], actor_id: int | None, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO captcha_questions(chat_id, question, answers, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(chat_id) DO UPDATE SET question = excluded.question, answers = excluded.answers,"
                " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                (chat_id, question, SEP.join(answers), actor_id, iso(now)),
            )

    async def question(self, chat_id: int) -> tuple[str, tuple[str, ...]] | None:
        row = await self.db.fetchone("SELECT question, answers FROM captcha_questions WHERE chat_id = ?", (chat_id,))
        return None if row is None else (row["question"], tuple(row["answers"].split(SEP)))

    # --- invite links ---------------------------------------------------------------------------

    async def link_of(self, chat_id: int, user_id: int, creates_join_request: bool) -> InviteLink | None:
        """The member's live link (not known to be revoked)."""
        row = await self.db.fetchone(
            "SELECT * FROM invite_links WHERE chat_id = ? AND user_id = ? AND creates_join_request = ? AND revoked_at IS NULL",
            (chat_id, user_id, int(creates_join_request)),
        )
        return None if row is None else _link(row)

    async def add_link(self, link: InviteLink, now: datetime) -> InviteLink:
        """Keep the first link stored for the member (two /invite at once create two; one wins, the same for both)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO invite_links(chat_id, user_id, url, code, creates_join_request, created_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (link.chat_id, link.user_id, link.url, link.code, int(link.creates_join_request), iso(now)),
            )
        stored = await self.link_of(link.chat_id, link.user_id, link.creates_join_request)
        assert stored is not None
        return stored

    async def mark_revoked(self, url: str, now: datetime) -> None:
        """Telegram says this link no longer works: /invite makes a new one; joins through it before still count."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE invite_links SET revoked_at = COALESCE(revoked_at, ?) WHERE url = ?", (iso(now), url))

    async def link_by_url(self, chat_id: int, url: str) -> InviteLink | None:
        row = await self.db.fetchone("SELECT * FROM invite_links WHERE chat_id = ? AND url = ?", (chat_id, url))
        return None if row is None else _link(row)

    async def link_by_code(self, code: str) -> InviteLink | None:
        row = await self.db.fetchone("SELECT * FROM invite_links WHERE code = ?", (code,))
        return None if row is None else _link(row)

    # --- deep-link claims -----------------------------------------------------------------------

    async def claim(self, user_id: int, chat_id: int, inviter_id: int, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO referral_claims(user_id, chat_id, inviter_id, at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(user_id, chat_id) DO UPDATE SET inviter_id = excluded.inviter_id, at = excluded.at",
                (user_id, chat_id, inviter_id, iso(now)),
            )

    async def claim_of(self, user_id: int, chat_id: int, since: datetime) -> int | None:
        return await self.db.fetchval(
            "SELECT inviter_id FROM referral_claims WHERE user_id = ? AND chat_id = ? AND at >= ?", (user_id, chat_id, iso(since))
        )

    # --- referrals --------------------------------------------------------------------------

    async def add_referral(
        self, chat_id: int, inviter_id: int, invitee_id: int, via: str, joined_at: datetime, reason: str | None, now: datetime,
        joined: bool = True,
    ) -> Referral | None:
        """None when this very join (or join request) was recorded already (the same update delivered twice).
        joined=False: made at a join request; joined_at is the request's time until the join (attach_join)."""
        status = "pending" if reason is None else "rejected"
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "INSERT INTO referrals(chat_id, inviter_id, invitee_id, via, joined_at, status, reason, decided_at, joined)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (chat_id, inviter_id, invitee_id, via, iso(joined_at), status, reason, iso(now) if reason else None, int(joined)),
            )
            if cur.rowcount == 0:
                return None
            ref_id = cur.lastrowid
        return await self.referral(ref_id)

    async def attach_join(self, chat_id: int, invitee_id: int, joined_at: datetime, since: datetime) -> Referral | None:
        """The join that follows a join request: the referral made at the request (at or after `since`; still
        counting, or refused for a reason other than the check or the request's closing) now records the join.
        None if there is no such referral."""
        ref_id = await self.db.write(_attach_join, chat_id, invitee_id, joined_at, since)
        return None if ref_id is None else await self.referral(ref_id)

    async def joined_between(self, chat_id: int, user_id: int, after: datetime, before: datetime) -> bool:
        """Whether the member joined the chat after `after` and before `before` (both ends excluded)."""
        return await self.db.fetchval(
            "SELECT EXISTS(SELECT 1 FROM member_events WHERE chat_id = ? AND user_id = ? AND event = 'join' AND at > ? AND at < ?)",
            (chat_id, user_id, iso(after), iso(before)),
        ) == 1

    async def has_request_referral(self, chat_id: int, invitee_id: int) -> bool:
        """Whether a referral was made at a join request of this member that no join has completed."""
        return await self.db.fetchval(
            "SELECT EXISTS(SELECT 1 FROM referrals WHERE chat_id = ? AND invitee_id = ? AND joined = 0)", (chat_id, invitee_id)
        ) == 1

    async def reject_request(self, chat_id: int, invitee_id: int, reason: str, now: datetime) -> int:
        """The member's pending referral made at a join request that has not let them in (yet): rejected."""
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "UPDATE referrals SET status = 'rejected', reason = ?, decided_at = ?"
                " WHERE chat_id = ? AND invitee_id = ? AND status = 'pending' AND joined = 0",
                (reason, iso(now), chat_id, invitee_id),
            )
            return cur.rowcount

    async def reject_stale_requests(self, before: datetime, reason: str, now: datetime) -> int:
        """Pending referrals made at join requests before `before` that never led to a join: rejected."""
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "UPDATE referrals SET status = 'rejected', reason = ?, decided_at = ?"
                " WHERE status = 'pending' AND joined = 0 AND joined_at < ?",
                (reason, iso(now), iso(before)),
            )
            return cur.rowcount

    async def referral(self, ref_id: int) -> Referral | None:
        row = await self.db.fetchone("SELECT * FROM referrals WHERE id = ?", (ref_id,))
        return None if row is None else _referral(row)

    async def latest_referral(self, chat_id: int, invitee_id: int) -> Referral | None:
        row = await self.db.fetchone(
            "SELECT * FROM referrals WHERE chat_id = ? AND invitee_id = ? ORDER BY joined_at DESC, id DESC LIMIT 1", (chat_id, invitee_id)
        )
        return None if row is None else _referral(row)

    async def pending_invitees(self) -> set[tuple[int, int]]:
        rows = await self.db.fetchall("SELECT chat_id, invitee_id FROM referrals WHERE status = 'pending'")
        return {(r["chat_id"], r["invitee_id"]) for r in rows}

    async def pending_referrals(self) -> list[Referral]:
        return [_referral(r) for r in await self.db.fetchall("SELECT * FROM referrals WHERE status = 'pending' ORDER BY id")]

    async def mark_screened(self, chat_id: int, invitee_id: int, at: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE referrals SET screened_at = COALESCE(screened_at, ?) WHERE chat_id = ? AND invitee_id = ? AND status = 'pending'",
                (iso(at), chat_id, invitee_id),
            )

    @staticmethod
    def count_message_in(conn: sqlite3.Connection, chat_id: int, invitee_id: int) -> bool:
        """One more message toward the invitee's pending referral, inside the caller's transaction (on the writer's
        thread: it rides with the message's handled mark, storage.inbox.Along). False: no referral is pending."""
        return conn.execute("UPDATE referrals SET messages = messages + 1 WHERE chat_id = ? AND invitee_id = ? AND status = 'pending'",
                            (chat_id, invitee_id)).rowcount == 1

    async def pending_of(self, chat_id: int, invitee_id: int) -> Referral | None:
        row = await self.db.fetchone(
            "SELECT * FROM referrals WHERE chat_id = ? AND invitee_id = ? AND status = 'pending'", (chat_id, invitee_id)
        )
        return None if row is None else _referral(row)

    @staticmethod
    async def reject_pending_in(tx: aiosqlite.Connection, chat_id: int, invitee_id: int, reason: str, now: datetime) -> int:
        return await tx._execute(_reject_pending, tx._conn, chat_id, invitee_id, reason, now)

    async def reject_pending(self, chat_id: int, invitee_id: int, reason: str, now: datetime) -> int:
        return await self.db.write(_reject_pending, chat_id, invitee_id, reason, now)

    @staticmethod
    async def confirm_in(tx: aiosqlite.Connection, ref_id: int, now: datetime) -> bool:
        """The one gate: only the transaction that flips pending → confirmed pays."""
        cur = await tx.execute(
            "UPDATE referrals SET status = 'confirmed', confirmed_at = ?, decided_at = ? WHERE id = ? AND status = 'pending'",
            (iso(now), iso(now), ref_id),
        )
        return cur.rowcount == 1

    @staticmethod
    async def confirmed_count_in(tx: aiosqlite.Connection, chat_id: int, inviter_id: int) -> int:
        async with tx.execute(
            "SELECT COUNT(*) FROM referrals WHERE chat_id = ? AND inviter_id = ? AND status = 'confirmed'", (chat_id, inviter_id)
        ) as cur:
            return (await cur.fetchone())[0]

    @staticmethod
    async def claw_back_in(tx: aiosqlite.Connection, ref_id: int, now: datetime) -> bool:
        cur = await tx.execute(
            "UPDATE referrals SET status = 'clawed_back', left_at = ?, decided_at = ? WHERE id = ? AND status = 'confirmed'",
            (iso(now), iso(now), ref_id),
        )
        return cur.rowcount == 1

    async def mark_left(self, ref_id: int, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE referrals SET left_at = COALESCE(left_at, ?) WHERE id = ?", (iso(now), ref_id))

    async def inviter_stats(self, chat_id: int, inviter_id: int) -> tuple[dict[str, int], dict[str, int]]:
        """({status: n}, {rejection reason: n}) for /invites."""
        rows = await self.db.fetchall(
            "SELECT status, reason, COUNT(*) AS n FROM referrals WHERE chat_id = ? AND inviter_id = ? GROUP BY status, reason",
            (chat_id, inviter_id),
        )
        statuses: dict[str, int] = {}
        reasons: dict[str, int] = {}
        for r in rows:
            statuses[r["status"]] = statuses.get(r["status"], 0) + r["n"]
            if r["status"] == "rejected" and r["reason"]:
                reasons[r["reason"]] = reasons.get(r["reason"], 0) + r["n"]
        return statuses, reasons

    async def top_inviters(self, chat_id: int, since: datetime | None, limit: int) -> list[tuple[int, int]]:
        """(inviter, confirmed referrals) confirmed since `since`; a clawed-back referral no longer counts."""
        rows = await self.db.fetchall(
            "SELECT inviter_id, COUNT(*) AS n FROM referrals WHERE chat_id = ? AND status = 'confirmed' AND confirmed_at >= ?"
            " GROUP BY inviter_id ORDER BY n DESC, inviter_id LIMIT ?",
            (chat_id, iso(since) if since else "", limit),
        )
        return [(r["inviter_id"], r["n"]) for r in rows]

    async def numbers(self, chat_id: int, now: datetime) -> FunnelNumbers:
        """links created → joined → screened → confirmed → still here after 7 days: each step counts people (someone
        who joins twice is one), and each is a subset of the one before; plus every join and check."""
        one = self.db.fetchval
        people = "SELECT COUNT(DISTINCT invitee_id) FROM referrals WHERE chat_id = ? AND joined = 1"
        ever_confirmed = await self.db.fetchall(
            "SELECT invitee_id, MIN(joined_at) AS joined_at FROM referrals WHERE chat_id = ? AND joined = 1"
            " AND status IN ('confirmed', 'clawed_back') GROUP BY invitee_id",
            (chat_id,),
        )
        retained = 0
        for row in ever_confirmed:
            joined_at = from_iso(row["joined_at"])
            if joined_at > now - timedelta(days=7):
                continue  # too early to tell
            # Present on day 7: no leave or removal in the week after the join (membership then, not now).
            gone = await one(
                "SELECT COUNT(*) FROM member_events WHERE chat_id = ? AND user_id = ? AND event IN ('leave', 'removed')"
                " AND at >= ? AND at <= ?",
                (chat_id, row["invitee_id"], iso(joined_at), iso(joined_at + timedelta(days=7))),
            )
            retained += not gone
        return FunnelNumbers(
            links_created=await one("SELECT COUNT(*) FROM invite_links WHERE chat_id = ?", (chat_id,)),
            joined=await one(people, (chat_id,)),
            screened=await one(people + " AND screened_at IS NOT NULL", (chat_id,)),
            confirmed=len(ever_confirmed),
            retained_7d=retained,
            joins_total=await one("SELECT COUNT(*) FROM member_events WHERE chat_id = ? AND event = 'join'", (chat_id,)),
            checks_passed=await one("SELECT COUNT(*) FROM captcha_checks WHERE chat_id = ? AND status = 'passed'", (chat_id,)),
            checks_failed=await one("SELECT COUNT(*) FROM captcha_checks WHERE chat_id = ? AND status IN ('failed', 'timeout')", (chat_id,)),
        )

    async def left_as_admin(self, chat_id: int, user_id: int) -> bool:
        """Was this person a Telegram admin (or the owner) until they left on their own? (Leaving drops the title.)
        One demoted by someone else first is not."""
        row = await self.db.fetchone(
            "SELECT change, actor_id FROM role_audit WHERE chat_id = ? AND target_id = ? AND role IN ('admin', 'owner')"
            " ORDER BY id DESC LIMIT 1",
            (chat_id, user_id),
        )
        return row is not None and (row["change"] == "promoted" or row["actor_id"] == user_id)

    async def prior_presence(self, chat_id: int, user_id: int, before: datetime) -> bool:
        """Was this person in the group before this join? (a join or leave recorded earlier, or seen earlier)."""
        events = await self.db.fetchval(
            "SELECT COUNT(*) FROM member_events WHERE chat_id = ? AND user_id = ? AND at < ?", (chat_id, user_id, iso(before))
        )
        if events:
            return True
        earlier = await self.db.fetchval(
            "SELECT COUNT(*) FROM referrals WHERE chat_id = ? AND invitee_id = ? AND joined = 1 AND joined_at < ?",
            (chat_id, user_id, iso(before)),
        )
        if earlier:
            return True
        first_seen = await self.db.fetchval("SELECT first_seen_at FROM members WHERE chat_id = ? AND user_id = ?", (chat_id, user_id))
        return first_seen is not None and first_seen < iso(before)
