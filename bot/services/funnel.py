"""Use-cases of the join funnel: open, answer and expire captcha checks; attribute joins to members' invite links;
confirm referrals exactly once (points, XP, welcome bonus, milestones, badge, spreader role); claw back.
Telegram is the handlers' business: this service decides and records, and says what to do."""
from __future__ import annotations

import logging
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import FunnelConfig
from bot.domain import funnel as fd
from bot.domain.levels import tier_up
from bot.domain.points import Currency, Reason, ledger_key
from bot.domain.roles import Role
from bot.domain.rules import Event as RuleEvent, RuleEvents
from bot.services.groups import GroupService
from bot.services.points import PointsService
from bot.services.roles import RoleService
from storage.db import Database
from storage.inbox import Along
from storage.funnel import Check, FunnelNumbers, FunnelRepo, InviteLink, Referral
from storage.ledger import InsufficientBalance, LedgerRepo, post, rule_awards_for
from storage.members import MemberRepo, UserInfo

log = logging.getLogger(__name__)

# A check is closed this long after its deadline, not at it: an answer typed just before the deadline may reach the bot
# just after it, and its own date decides (see answer). Only the closing waits; a late answer is still late.
EXPIRY_SLACK = timedelta(seconds=10)
# A check's Telegram action (restrict, pass, remove) that is still not done this long after it was taken on — the bot
# crashed in between, or Telegram could not do it then — is taken on again by the funnel sweep.
ACTION_RETRY = timedelta(seconds=60)
# What each decision owes Telegram.
ACTION_OF = {"passed": "pass", "failed": "remove", "timeout": "remove"}


def rule_event_key(referral_id: int) -> str:
    """The `referral` rule event of one confirmed referral: the key its rules' ledger rows carry (rule:<id>:<key>)."""
    return f"referral:{referral_id}"


@dataclass(frozen=True)
class Answered:
    outcome: str  # passed | retry | failed | expired | not_yours | gone
    check: Check | None


@dataclass(frozen=True)
class Confirmed:
    referral: Referral
    confirmed_count: int
    milestones: tuple[tuple[int, int], ...]  # (N, bonus) newly paid
    badges: tuple[str, ...]
    spreader: bool  # the spreader role was granted now
    points: int = 0  # what the inviter was paid for this referral
    xp: int = 0


@dataclass(frozen=True)
class InviterStats:
    statuses: dict[str, int]
    reasons: dict[str, int]

    @property
    def joined(self) -> int:
        return sum(self.statuses.values())

    def __getitem__(self, status: str) -> int:
        return self.statuses.get(status, 0)

    @property
    def left(self) -> int:
        return self.reasons.get(fd.LEFT, 0) + self["clawed_back"]

    @property
    def rejected(self) -> int:
        return sum(n for r, n in self.reasons.items() if r != fd.LEFT)


class FunnelService:
    def __init__(
        self, db: Database, repo: FunnelRepo, groups: GroupService, members: MemberRepo, points: PointsService, roles: RoleService,
        ledger: LedgerRepo, config: FunnelConfig, clock: Clock, along: Along, rng: random.Random | None = None,
    ) -> None:
        self.db, self.repo, self.groups, self.members, self.points, self.roles = db, repo, groups, members, points, roles
        # A newcomer's message counts toward their referral in the commit that marks it handled.
        self.along = along
        along.kind("referral_message", lambda conn, update_id, d: FunnelRepo.count_message_in(conn, d["chat"], d["user"]))
        self.ledger, self.config, self.clock = ledger, config, clock
        self.rng = rng or random.Random(secrets.randbits(64))
        self.rule_events: RuleEvents | None = None  # the rules engine hears confirmed referrals (bot/app.py)
        # Newcomers whose referral is pending: only their messages cost a write (hot path stays cheap).
        self._pending: set[tuple[int, int]] | None = None
        # Newcomers under an open join check who may not post (restricted, or owed the restriction): a message from
        # one reached the group before the restriction held, and is deleted.
        self._held: set[tuple[int, int]] | None = None
        self._told_missing: set[int] = set()  # groups told that screening lacks a right, until it works again
        self._restrict_tried: dict[tuple[int, int], datetime] = {}  # when one of their messages last tried it
        # Checks whose deadline passed before this process started expired while nobody could answer them, or while
        # their answers waited in Telegram's queue: they get late_grace_seconds from the start (see deadline_of).
        self.started_at = clock.now()
        # The welcome and the rules are independent settings: a welcome showing {rules} while there are none is
        # stored all the same (it points to /rules), and the admin is told — setting it, or clearing the rules.
        groups.notes_for.setdefault("welcome", []).append(self._welcome_has_rules)
        groups.notes_for.setdefault("rules", []).append(self._rules_cleared_under_welcome)
        groups.notes_for.setdefault("captcha_mode", []).append(self._question_is_set)

    async def _welcome_has_rules(self, chat_id: int, welcome: str) -> fd.FunnelError | None:
        if fd.uses_rules(welcome) and not (await self.groups.settings(chat_id)).rules:
            return fd.FunnelError(reason="rules_unset")
        return None

    async def _rules_cleared_under_welcome(self, chat_id: int, rules: str) -> fd.FunnelError | None:
        if not rules and fd.uses_rules((await self.groups.settings(chat_id)).welcome):
            return fd.FunnelError(reason="rules_unset")
        return None

    async def _question_is_set(self, chat_id: int, mode: str) -> fd.FunnelError | None:
        if mode == "question" and await self.repo.question(chat_id) is None:
            return fd.FunnelError(reason="question_unset")
        return None

    # --- captcha ----------------------------------------------------------------------------

    async def challenge(self, chat_id: int) -> fd.Challenge:
        s = await self.groups.settings(chat_id)
        mode = s.captcha_mode
        if mode == "question":
            stored = await self.repo.question(chat_id)
            if stored is not None:
                return fd.make_challenge("question", self.rng, stored[0], stored[1])
            log.warning("group %s uses captcha_mode question but set none (/setcaptcha): using buttons", chat_id)
            mode = "button"
        return fd.make_challenge(mode, self.rng)

    async def begin_check(self, chat_id: int, user_id: int, via: str, event_at: datetime) -> Check | None:
        """Open a check for this join (or join request). None: already open or already done for this event."""
        now = self.clock.now()
        timeout = (await self.groups.settings(chat_id)).captcha_timeout
        deadline = fd.deadline_for(event_at, now, timeout, self.config.late_grace_seconds)
        c = await self.challenge(chat_id)
        # A join owes a restriction from the start (fail closed: it is retried until done); a request has nothing to undo.
        check = await self.repo.add_check(chat_id, user_id, via, c.mode, c.question, c.choices, c.answers,
                                          self.config.captcha_retries, event_at, deadline,
                                          action="restrict" if via == "join" else None, now=now)
        if check is not None and check.via == "join":
            (await self._held_set()).add((chat_id, user_id))
        return check

    async def _held_set(self) -> set[tuple[int, int]]:
        if self._held is None:
            self._held = await self.repo.held_back()
        return self._held

    async def held(self, chat_id: int, user_id: int) -> bool:
        """Under an open join check that keeps them from posting (a set lookup: every group message asks)."""
        return (chat_id, user_id) in await self._held_set()

    def release(self, chat_id: int, user_id: int) -> None:
        """Their check no longer keeps them from posting (decided, left, or someone else decided their rights)."""
        if self._held is not None:
            self._held.discard((chat_id, user_id))
        self._restrict_tried.pop((chat_id, user_id), None)

    def tell_missing_right(self, chat_id: int) -> bool:
        """Whether to tell the group's admins that screening lacks a right: once, until an action works again there
        (in memory, keyed by chat: a restart tells them once more)."""
        if chat_id in self._told_missing:
            return False
        self._told_missing.add(chat_id)
        return True

    def right_works(self, chat_id: int) -> None:
        self._told_missing.discard(chat_id)

    def try_restriction_now(self, chat_id: int, user_id: int, every: timedelta) -> bool:
        """Whether a message from a newcomer still owed the restriction should try it again (at most once per `every`)."""
        now, key = self.clock.now(), (chat_id, user_id)
        last = self._restrict_tried.get(key)
        if last is not None and now - last < every:
            return False
        self._restrict_tried[key] = now
        return True

    async def owed_restriction_for_event(self, chat_id: int, user_id: int, event_at: datetime) -> Check | None:
        """This join's own check, still open and still owing its restriction (the join delivered again)."""
        check = await self.repo.check_for_event(chat_id, user_id, event_at)
        return check if check is not None and check.status == "pending" and check.action == "restrict" else None

    async def needs_check(self, chat_id: int, user_id: int, event_at: datetime) -> bool:
        """False when this join is already handled or the member may skip (passed a request check, or passed before)."""
        if await self.repo.check_for_event(chat_id, user_id, event_at) is not None:
            return False  # the same join delivered again, perhaps after a restart
        if await self.repo.passed_since(chat_id, user_id, event_at - timedelta(hours=1), via="request"):
            return False  # approved after passing in private
        if await self.repo.passed_since(chat_id, user_id, event_at):
            return False  # passed already (an event handled late)
        if self.config.skip_returning and await self.repo.passed_since(chat_id, user_id, None):
            return False
        if await self.repo.left_as_admin(chat_id, user_id):
            return False  # admins are never screened, not even when they come back after leaving
        return True

    async def keep_rights(self, chat_id: int, user_id: int, restore: str, decided_by_others: bool = False) -> None:
        """Remember what passing the member's open check must give back instead of lifting everything.
        `decided_by_others`: someone else set their rights during the check — its own restriction, if Telegram has
        not made it yet, is no longer forced on them."""
        await self.repo.set_restore(chat_id, user_id, restore)
        if decided_by_others and await self.held(chat_id, user_id):
            await self.repo.drop_restriction(chat_id, user_id)  # if still owed
            self.release(chat_id, user_id)

    async def restore_for_rejoin(self, check: Check, live: str | None, screening_restriction: bool, keep: str) -> str | None:
        """What passing `check` gives back, given the rights Telegram shows at the join (`live`, None = unrestricted).
        Telegram keeps a restriction across leaving, the check's own "nothing, no end" too: someone who left during
        a check (closed as left) and came back still wears it. That is not an earlier restriction: what the check
        before would have given back is (None = lift it), unless someone else changed their rights during it."""
        if live is not None and screening_restriction:
            before = await self.repo.previous_check(check.chat_id, check.user_id, check.id)
            if (before is not None and before.status == "left" and before.via == "join" and before.restore != keep
                    and not await self.repo.joined_between(check.chat_id, check.user_id, before.event_at, check.event_at)):
                # Only when they left during that check and this join is the next one: had they been back in
                # between (unscreened), the restriction they wear could be an admin's since.
                return before.restore
        return live

    async def set_prompt(self, check: Check, chat_id: int, message_id: int) -> None:
        await self.repo.set_prompt(check.id, chat_id, message_id)

    def deadline_of(self, check: Check) -> datetime:
        """When the check really runs out. Its own deadline, except for a check that expired while the bot was down:
        the answers sent meanwhile are still waiting in Telegram's queue (a button press carries no time of its own), so
        it stays open late_grace_seconds after the start, and the sweep at start does not remove anyone wrongly."""
        if check.deadline <= self.started_at:
            return max(check.deadline, self.started_at + timedelta(seconds=self.config.late_grace_seconds))
        return check.deadline

    def expires_at(self, check: Check) -> datetime:
        """When the timeout job (or the sweep) closes the check: EXPIRY_SLACK after it runs out, for answers in flight."""
        return self.deadline_of(check) + EXPIRY_SLACK

    async def answer(self, check_id: int, presser_id: int, given: str, sent_at: datetime | None = None) -> Answered:
        """Judge an answer. `sent_at` is the answer's own time (a message's date): an answer sent before the deadline
        counts however late it is handled. A button press has no time of its own: it counts while the check is open."""
        check = await self.repo.check(check_id)
        if check is None or check.status != "pending":
            return Answered("gone", check)
        if presser_id != check.user_id:
            return Answered("not_yours", check)
        now = self.clock.now()
        late = sent_at >= check.deadline if sent_at is not None else now >= self.deadline_of(check)
        if late:
            return Answered("expired", await self._resolve(check, "timeout", now))
        if fd.is_correct(check.answers, given):
            return Answered("passed", await self._resolve(check, "passed", now))
        if check.attempts_left > 0:
            c = await self.challenge(check.chat_id) if check.mode != "question" else fd.Challenge(check.mode, check.question, (), check.answers)
            if await self.repo.retry(check.id, c.question, c.choices, c.answers):
                return Answered("retry", await self.repo.check(check.id))
        return Answered("failed", await self._resolve(check, "failed", now))

    async def _resolve(self, check: Check, status: str, now: datetime) -> Check | None:
        """pending → status, with the referral consequences in the same transaction. None if someone else resolved it."""
        async with self.db.transaction() as tx:
            if not await FunnelRepo.resolve_in(tx, check.id, status, now, ACTION_OF.get(status)):
                return None
            if status in ("failed", "timeout"):
                await FunnelRepo.reject_pending_in(tx, check.chat_id, check.user_id, fd.FAILED_SCREENING, now)
        self.release(check.chat_id, check.user_id)  # decided: what it owes now is the pass or the removal
        if status == "passed" and check.via == "join":
            await self.repo.mark_screened(check.chat_id, check.user_id, now)
        return await self.repo.check(check.id)

    async def expire(self, check_id: int) -> Check | None:
        """The timeout job: resolve the check if it is still open and its deadline has passed. Returns it if it did."""
        check = await self.repo.check(check_id)
        if check is None or check.status != "pending" or self.clock.now() < self.expires_at(check):
            return None
        return await self._resolve(check, "timeout", self.clock.now())

    async def unreachable(self, check: Check) -> Check | None:
        """Telegram will not let the bot write to this join requester (the request's 5 minutes are over, or they
        blocked the bot): its question can never go out, so the check ends here, owing nothing — the request is the
        admins' to approve or decline, not declined at the deadline for a question nobody could ask. Its referral
        waits for the join an approval brings (within deeplink_days). None if the check was decided meanwhile."""
        return await self._resolve(check, "unreachable", self.clock.now())

    async def action_done(self, check: Check, action: str) -> None:
        """Telegram did what the check owed (or refused it for good: nothing left to retry)."""
        await self.repo.action_done(check.id, action)

    async def due_actions(self) -> list[Check]:
        """Actions left undone for ACTION_RETRY, claimed for this sweep; and, at the first sweep after a start, every
        action taken on before it (a crash or a stop cut it short: nobody else is carrying it out)."""
        now = self.clock.now()
        # A microsecond before the start: an action this process took on at the very instant it started is its own.
        return await self.repo.claim_actions(max(now - ACTION_RETRY, self.started_at - timedelta(microseconds=1)), now)

    async def pending_checks(self) -> list[Check]:
        return await self.repo.all_pending()

    async def check(self, check_id: int) -> Check | None:
        """One check by its id, open or decided (a button press or a job names it)."""
        return await self.repo.check(check_id)

    async def pending_check(self, chat_id: int, user_id: int) -> Check | None:
        """The member's open check in that group, if any."""
        return await self.repo.pending_check(chat_id, user_id)

    async def typed_check(self, user_id: int) -> Check | None:
        return await self.repo.pending_typed_check(user_id)

    async def set_question(self, chat_id: int, text: str, actor_id: int | None) -> tuple[str, tuple[str, ...]]:
        question, answers = fd.parse_question(text)
        await self.repo.set_question(chat_id, question, answers, actor_id, self.clock.now())
        return question, answers

    # --- joins, leaves, attribution ---------------------------------------------------------------

    async def member_joined(
        self, chat_id: int, user: UserInfo, link_url: str | None, event_at: datetime, screened: bool, requested: bool = False,
        via_request: bool = False,
    ) -> Referral | None:
        """Attribute a join (or, requested=True, a join request) to a member's personal link or a deep-link claim.
        The referral starts pending, or rejected with its reason; one made at a request is the one the join later
        completes, so a request declined after a failed check still shows in the inviter's numbers.
        None: no inviter, or this join was recorded already."""
        if not requested:
            window = timedelta(days=self.config.referral.deeplink_days)
            attached = await self.repo.attach_join(chat_id, user.user_id, event_at, event_at - window)
            if attached is not None:
                if attached.status == "pending":
                    if screened:
                        await self.repo.mark_screened(chat_id, user.user_id, event_at)
                    (await self._pending_set()).add((chat_id, user.user_id))
                return await self.repo.referral(attached.id)
            if via_request and await self.repo.has_request_referral(chat_id, user.user_id):
                # The approval of a request we already attributed and judged (closed, or too old to attach):
                # its outcome stands; the join does not start a second referral.
                return None
        inviter_id, via = None, "link"
        if link_url:
            link = await self.repo.link_by_url(chat_id, link_url)
            inviter_id = link.user_id if link else None
        if inviter_id is None:
            since = event_at - timedelta(days=self.config.referral.deeplink_days)
            inviter_id, via = await self.repo.claim_of(user.user_id, chat_id, since), "deeplink"
        if inviter_id is None:
            return None
        inviter = await self.members.get(chat_id, inviter_id)
        returning = await self.repo.prior_presence(chat_id, user.user_id, event_at)
        reason = fd.rejection_reason(inviter_id, user.user_id, user.is_bot, returning, inviter is not None and inviter.status == "kicked")
        referral = await self.repo.add_referral(chat_id, inviter_id, user.user_id, via, event_at, reason, self.clock.now(), joined=not requested)
        if referral is not None and referral.status == "pending" and not requested:
            if screened:
                await self.repo.mark_screened(chat_id, user.user_id, event_at)
            (await self._pending_set()).add((chat_id, user.user_id))
        return referral

    async def request_closed(self, chat_id: int, user_id: int) -> None:
        """Approving the member's join request failed because it is gone (an admin declined it, they withdrew it):
        the referral made at the request is not counted."""
        await self.repo.reject_request(chat_id, user_id, fd.NOT_ADMITTED, self.clock.now())

    async def mark_screened(self, chat_id: int, user_id: int, at: datetime) -> None:
        await self.repo.mark_screened(chat_id, user_id, at)

    async def member_left(self, chat_id: int, user_id: int, at: datetime) -> tuple[Check | None, int]:
        """Close what the member leaves open: their check (status left), a pending referral (rejected: left),
        or a recent confirmed one (clawed back). Returns (the closed check, points clawed back)."""
        now = self.clock.now()
        check = await self.repo.pending_check(chat_id, user_id)
        closed = None
        if check is not None:
            async with self.db.transaction() as tx:
                if await FunnelRepo.resolve_in(tx, check.id, "left", now):
                    closed = check
            self.release(chat_id, user_id)
        await self.repo.reject_pending(chat_id, user_id, fd.LEFT, now)
        (await self._pending_set()).discard((chat_id, user_id))
        clawed = 0
        latest = await self.repo.latest_referral(chat_id, user_id)
        if latest is not None and latest.status == "confirmed":
            if fd.clawback_due(latest.confirmed_at, at, self.config.referral.clawback_days):
                clawed = await self._claw_back(latest, now)
            else:
                await self.repo.mark_left(latest.id, now)
        return closed, clawed

    async def _claw_back(self, referral: Referral, now: datetime) -> int:
        """Take back what the confirmation paid: the inviter's referral points and XP, and the newcomer's welcome bonus,
        each as much as they still hold (spent points are not made a debt). Badges, milestone bonuses and the spreader
        role stay: they are one-off and the ledger key keeps a milestone from paying twice. Returns the points taken
        from the inviter."""
        chat = referral.chat_id
        paid = ((referral.inviter_id, ledger_key(Reason.REFERRAL, chat, referral.id), Currency.POINTS),
                (referral.inviter_id, ledger_key(Reason.REFERRAL, chat, referral.id), Currency.XP),
                (referral.invitee_id, ledger_key(Reason.WELCOME_BONUS, chat, referral.id), Currency.POINTS))
        taken = 0
        async with self.db.transaction() as tx:
            if not await FunnelRepo.claw_back_in(tx, referral.id, now):
                return 0
            for user_id, paid_ref, currency in paid:
                column = "points" if currency == Currency.POINTS else "xp"
                async with tx.execute(
                    f"SELECT (SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE chat_id = ? AND user_id = ? AND currency = ? AND ref = ?),"
                    f" (SELECT {column} FROM wallets WHERE chat_id = ? AND user_id = ?)",
                    (chat, user_id, str(currency), paid_ref, chat, user_id),
                ) as cur:
                    got, held = await cur.fetchone()
                amount = min(got, held or 0)
                if amount > 0:
                    try:
                        await post(tx, chat, user_id, -amount, currency, Reason.REFERRAL_CLAWBACK,
                                   ledger_key(Reason.REFERRAL_CLAWBACK, chat, referral.id), now, note=f"referral {referral.id}")
                    except InsufficientBalance:  # pragma: no cover - read and write are in one transaction
                        amount = 0
                if user_id == referral.inviter_id and currency == Currency.POINTS:
                    taken = amount
            # What rules awarded on this referral's `referral` trigger goes back too, in the same transaction: each
            # reversal's ref names the award it undoes (so it is taken once), as much as the member still holds.
            for user_id, currency, award_ref, got, held in await rule_awards_for(tx, chat, referral.inviter_id, rule_event_key(referral.id)):
                amount = min(got, held)
                if amount > 0:
                    await post(tx, chat, user_id, -amount, currency, Reason.REFERRAL_CLAWBACK,
                               f"{ledger_key(Reason.REFERRAL_CLAWBACK, chat, referral.id)}:{award_ref}", now,
                               note=f"referral {referral.id}, {award_ref}")
                    if user_id == referral.inviter_id and currency == Currency.POINTS:
                        taken += amount
        return taken

    # --- confirmation ----------------------------------------------------------------------

    def forget_pending(self) -> None:
        """Read the pending invitees from storage again (a group changed its id)."""
        self._pending = None

    async def _pending_set(self) -> set[tuple[int, int]]:
        if self._pending is None:
            self._pending = await self.repo.pending_invitees()
        return self._pending

    async def counts(self, chat_id: int, user_id: int, update_id: int | None = None, held: bool = False) -> None:
        """A group message: one more toward the sender's pending referral. `held` (an update the inbox is handling):
        written with the update's handled mark (storage.inbox.Along); otherwise at once. Once it is written,
        counted() says whether it confirms the referral."""
        if (chat_id, user_id) in await self._pending_set():
            await self.along.hold(update_id, "referral_message", {"chat": chat_id, "user": user_id}, held)

    async def counted(self, chat_id: int, user_id: int, update_id: int | None = None) -> Confirmed | None:
        """After counts() was written: the referral confirmed now, if that message made it due."""
        counted = self.along.result(update_id, "referral_message")
        if counted is None:
            return None
        if not counted:  # no longer pending
            self._pending.discard((chat_id, user_id))
            return None
        referral = await self.repo.pending_of(chat_id, user_id)
        return None if referral is None else await self.try_confirm(referral)

    async def message(self, chat_id: int, user_id: int) -> Confirmed | None:
        """A group message not handled through the inbox: counted at once, and the referral confirmed if due."""
        await self.counts(chat_id, user_id)
        return await self.counted(chat_id, user_id)

    async def try_confirm(self, referral: Referral) -> Confirmed | None:
        rules = self.config.referral
        now = self.clock.now()
        if not fd.referral_due(referral.joined_at, referral.screened_at, referral.messages, now, rules.stay_hours, rules.min_messages):
            return None
        invitee = await self.members.get(referral.chat_id, referral.invitee_id)
        if invitee is None or not invitee.present:
            await self.repo.reject_pending(referral.chat_id, referral.invitee_id, fd.LEFT, now)
            return None
        inviter = await self.members.get(referral.chat_id, referral.inviter_id)
        if inviter is not None and inviter.status == "kicked":
            await self.repo.reject_pending(referral.chat_id, referral.invitee_id, fd.INVITER_BANNED, now)
            return None
        return await self._confirm(referral, now)

    async def _confirm(self, referral: Referral, now: datetime) -> Confirmed | None:
        rules = self.config.referral
        chat, inviter, invitee = referral.chat_id, referral.inviter_id, referral.invitee_id
        ref = ledger_key(Reason.REFERRAL, chat, referral.id)
        paid: list[tuple[int, int]] = []
        xp_before = (await self.ledger.wallet(chat, inviter)).xp if rules.xp else 0  # a tier the XP reaches, below
        async with self.db.transaction() as tx:
            if not await FunnelRepo.confirm_in(tx, referral.id, now):
                return None  # the job and a message raced, or the same update came twice: the other one paid
            if rules.points:
                await post(tx, chat, inviter, rules.points, Currency.POINTS, Reason.REFERRAL, ref, now, note=f"invited {invitee}")
            if rules.xp:
                await post(tx, chat, inviter, rules.xp, Currency.XP, Reason.REFERRAL, ref, now, note=f"invited {invitee}")
            if rules.welcome_bonus:
                await post(tx, chat, invitee, rules.welcome_bonus, Currency.POINTS, Reason.WELCOME_BONUS,
                           ledger_key(Reason.WELCOME_BONUS, chat, referral.id), now)
            count = await FunnelRepo.confirmed_count_in(tx, chat, inviter)
            for n, bonus in fd.milestones_reached(count, rules.milestones):
                if bonus and await post(tx, chat, inviter, bonus, Currency.POINTS, Reason.REFERRAL_BONUS,
                                        ledger_key(Reason.REFERRAL_BONUS, chat, inviter, n), now, note=f"{n} referrals"):
                    paid.append((n, bonus))
        if self._pending is not None:
            self._pending.discard((chat, invitee))
        badges = await self.points.award_badges(chat, inviter, referrals_confirmed=count)
        spreader = False
        if rules.spreader_at and count >= rules.spreader_at:
            spreader = await self.roles.grant_earned(chat, inviter, Role.SPREADER, f"{count} confirmed referrals")
        confirmed = await self.repo.referral(referral.id)
        assert confirmed is not None
        if self.rule_events is not None:  # the inviter brought someone who stayed
            await self.rule_events(RuleEvent("referral", chat, inviter, now, key=rule_event_key(referral.id)))
        reached = tier_up(xp_before, xp_before + rules.xp, self.points.tiers) if rules.xp else None
        if reached is not None:
            await self.points.tier_reached(chat, inviter, reached, now)
        return Confirmed(confirmed, count, tuple(paid), tuple(b.key for b in badges), spreader, rules.points, rules.xp)

    async def sweep(self) -> list[Confirmed]:
        """Confirm every referral that became due (the periodic job; idempotent)."""
        done = []
        # A join follows its request within deeplink_days or never counts (see attach_join): the rest are closed.
        now = self.clock.now()
        await self.repo.reject_stale_requests(now - timedelta(days=self.config.referral.deeplink_days), fd.NOT_ADMITTED, now)
        for referral in await self.repo.pending_referrals():
            result = await self.try_confirm(referral)
            if result is not None:
                done.append(result)
        return done

    # --- invite links -------------------------------------------------------------------------

    async def link_for(self, chat_id: int, user_id: int, creates_join_request: bool) -> InviteLink | None:
        return await self.repo.link_of(chat_id, user_id, creates_join_request)

    async def link_revoked(self, url: str) -> None:
        await self.repo.mark_revoked(url, self.clock.now())

    async def save_link(self, chat_id: int, user_id: int, url: str, creates_join_request: bool) -> InviteLink:
        code = secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")
        return await self.repo.add_link(InviteLink(chat_id, user_id, url, code, creates_join_request), self.clock.now())

    async def claim(self, code: str, user_id: int) -> InviteLink:
        """t.me/<bot>?start=ref_<code>: remember who invited this person, for when they join (or ask to)."""
        # Codes are short and alphanumeric (save_link): anything else in a deep link names nothing, unasked.
        link = await self.repo.link_by_code(code) if code.isascii() and code.isalnum() and len(code) <= 32 else None
        if link is None:
            raise fd.FunnelError(reason="unknown_code")
        if link.revoked:  # the inviter's current link, if they have one: the code stands for the person
            link = await self.repo.link_of(link.chat_id, link.user_id, link.creates_join_request)
            if link is None:
                raise fd.FunnelError(reason="unknown_code")
        member = await self.members.get(link.chat_id, user_id)
        if member is not None and member.present:
            raise fd.FunnelError(reason="already_member")
        await self.repo.claim(user_id, link.chat_id, link.user_id, self.clock.now())
        return link

    async def stats(self, chat_id: int, inviter_id: int) -> InviterStats:
        statuses, reasons = await self.repo.inviter_stats(chat_id, inviter_id)
        return InviterStats(statuses, reasons)

    async def top_inviters(self, chat_id: int, since: datetime | None, limit: int = 10) -> list[tuple[int, int]]:
        return await self.repo.top_inviters(chat_id, since, limit)

    async def numbers(self, chat_id: int) -> FunnelNumbers:
        return await self.repo.numbers(chat_id, self.clock.now())
