"""Use-cases of the points economy: check-in, make-up, admin give/take, chat XP, badges, tiers, leaderboards, seasons, expiry."""
from __future__ import annotations

import asyncio
import contextvars
import logging
import operator
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlite3

import aiosqlite

from bot.clock import Clock
from bot.config import PointsConfig
from bot.domain import checkin as ck
from bot.domain.badges import BadgeRule, MemberStats, badges_earned
from bot.domain.expiry import expiry_due, expiry_warnings, split_ledger, decay_amount
from bot.domain.timing import event_time
from bot.domain.levels import (
    ChatXpRules, Progress, Tier, chat_xp_due, progress, tier_for, tier_up,
)
from bot.domain.points import BIRTHDAY_MULTIPLIER, parse_birthday
from bot.domain.rules import Event as RuleEvent, RuleEvents
from bot.domain.points import (
    AlreadyCheckedInError, Currency, InsufficientPointsError, InvalidAmountError, Reason, check_adjust, ledger_key, parse_amount,
)
from bot.services.activity import follow_moves, one
from bot.services.groups import GroupService
from storage.db import CommitRows, Database, iso
from storage.inbox import HANDLING, InboxRepo
from storage.ledger import Entry, InsufficientBalance, LedgerRepo, Wallet, credit_new_in, post, post_in, wallet_in
from storage.schedules import CampaignRepo, birthday_month_in, multipliers_in
from storage.points import (
    PointsRepo, award_badge_in, badges_in, checkin_record_in, insert_checkin_in, last_checkin_in, rank_on_day_in,
)


@dataclass(frozen=True)
class Awarded:
    """What one action paid, for the reply: new badges and a tier reached (announced once: XP only grows)."""

    badges: tuple[BadgeRule, ...] = ()
    tier_up: Tier | None = None


@dataclass(frozen=True)
class CheckinResult:
    reward: ck.CheckinReward
    rank_today: int
    wallet: Wallet
    awarded: Awarded
    tier: Tier | None = None  # the tier whose multiplier this check-in paid (the one held before it)
    campaign: float = 1.0  # the campaign multiplier this check-in paid
    birthday: float = 1.0  # the birthday-month multiplier it paid (the member's /birthday month)


@dataclass(frozen=True)
class MakeupResult:
    day: date
    cost: int  # points paid; 0 when a make-up card was used
    streak: int
    milestones: tuple[ck.MilestoneHit, ...]
    wallet: Wallet
    card: bool = False  # a make-up card from the shop paid for it


@dataclass(frozen=True)
class Profile:
    wallet: Wallet
    progress: Progress
    streak: int
    badges: list[str]
    rank: int | None


@dataclass(frozen=True)
class WeeklyTop:
    user_id: int
    points: int  # earned that week
    week: date  # its Monday
    badges: tuple[BadgeRule, ...]  # newly awarded for it
    tied: tuple[int, ...] = ()  # others with as many points, who got there later


log = logging.getLogger(__name__)

# Members per chat-XP flush transaction: one chunk holds the write connection for a few milliseconds.
FLUSH_CHUNK = 250
# Members per commit when the XP rides with its updates' marks: that commit writes their marks and message counts
# too, so it takes fewer members for the same short hold.
RIDE_CHUNK = 100
# Updates whose chat XP (and so their handled marks, and their message counts riding with them) may wait in memory
# for the next flush: beyond, they are written at once, in the flush's own chunks, whatever the flush interval. About
# 650 bytes an update held by tracemalloc (its XP, its counts, its mark, its date, its uncommitted count, not the 400
# once thought): this bounds that at about 6.5 MB under any burst (25,000 held were about 16 MB of P4's peak).
HELD_MAX = 10_000
# The share of the writer's time a big flush takes while it runs: after each chunk it waits as long as the chunk took.
# Back to back, the chunks of 7,700 members' XP held the writer for 0.6 s, every update's writes (its inbox record, a
# check-in, its mark) queued behind one chunk after another: bench P2 at 500 updates/s had all of its latencies over
# 20 ms in the 0.6 s after a flush began (p99 27 ms, up to 96). Half the time: the flush takes twice as long, each
# update's write waits for at most the one chunk being written. Not once HELD_MAX updates hold XP: paced, the flush
# fell behind a chat at full speed (bench P4: 90,747 members pending at the end, 245 MB).
FLUSH_DUTY = 0.5

# The yearly decay is booked on the group's 1 January; a bot that was down then books it within this many days.
DECAY_CATCH_UP_DAYS = 7


@dataclass(frozen=True)
class ExpiryWarning:
    amount: int  # points that will expire
    first_day: date  # the group's calendar day the first of them go
    within_days: int | None  # fifo: all that expires in this many days; None: the yearly decay on first_day


@dataclass
class ExpiryRun:
    expired: dict[int, int] = field(default_factory=dict)  # user -> points expired now
    warnings: dict[int, ExpiryWarning] = field(default_factory=dict)  # user -> what they are told


class PointsService:
    def __init__(self, db: Database, ledger: LedgerRepo, repo: PointsRepo, groups: GroupService, config: PointsConfig, clock: Clock,
                 campaigns: CampaignRepo | None = None) -> None:
        self.db, self.ledger, self.repo, self.groups, self.config, self.clock = db, ledger, repo, groups, config, clock
        self.campaigns = campaigns
        self.tiers: tuple[Tier, ...] = tuple(Tier(t.key, t.min_xp, t.points_multiplier, frozenset(t.perks)) for t in config.tiers)
        self.badges: tuple[BadgeRule, ...] = tuple(BadgeRule(b.key, b.kind, b.threshold, b.points_bonus) for b in config.badges)
        # Chat XP is the hot path: cooldowns and pending XP stay in memory and are written in batches.
        # chat -> user -> the last award's POSIX time, for each member who earned within the cooldown: a float, not a
        # datetime (48 B), shared by members whose messages came in the same second (Telegram's dates are whole
        # seconds), under the user's id (32 B, often the very int the rules' window keys them by) in a dict per chat,
        # not a packed (chat, user) key (48 B) in one dict for all.
        self._last_xp: dict[int, dict[int, float]] = {}
        self._stamp = 0.0  # the last award time stored in _last_xp: the same time stores this very object
        self._pending_xp: dict[tuple[int, int], int] = defaultdict(int)  # XP in the batch, tied to no update
        self._pending_at: dict[tuple[int, int], datetime] = {}  # the last award in the batch (wallets.chat_xp_at)
        self._held: dict[int, tuple[int, int, int, datetime]] = {}  # update id -> (chat, user, xp, at): rides with its mark
        self._riding: dict[int, tuple[int, int, int, datetime]] = {}  # given to a commit, outcome not known yet
        self._rides: dict[int, tuple[list, dict]] = {}  # a commit's first riding update id -> (credits, balances before)
        self._reached: list[tuple[int, int, Tier]] = []  # tiers reached by XP that rode, announced by the next flush
        self._early: asyncio.Task | None = None  # held XP written before the flush, past HELD_MAX updates held
        self.marks: InboxRepo | None = None
        self._moved: dict[int, int] = {}
        self.rule_events: RuleEvents | None = None  # the rules engine hears check-ins and tiers reached (bot/app.py)

    async def tell_rules(self, event: RuleEvent) -> None:
        if self.rule_events is not None:
            await self.rule_events(event)

    async def tier_reached(self, chat_id: int, user_id: int, tier: Tier, at: datetime) -> None:
        """A member reached a new tier (XP only grows, so once per tier): the rules' `tier` trigger."""
        await self.tell_rules(RuleEvent("tier", chat_id, user_id, at, key=f"tier:{tier.key}"))

    async def xp_written(self, chat_id: int, user_id: int, xp: int) -> Tier | None:
        """XP another feature has just written to the ledger (a reply to the topic of the week): the tier it reached,
        if any, told to the rules like every tier reached; the caller announces it."""
        wallet = await self.ledger.wallet(chat_id, user_id)
        reached = tier_up(wallet.xp - xp, wallet.xp, self.tiers)
        if reached is not None:
            await self.tier_reached(chat_id, user_id, reached, self.clock.now())
        return reached

    # --- rules as they stand for one group -------------------------------------------------

    async def badges_of(self, chat_id: int, user_id: int) -> list[tuple[str, datetime]]:
        """The badges `user_id` holds in the group, each with when it was earned, oldest first."""
        return await self.repo.badges(chat_id, user_id)

    async def checkin_rules(self, chat_id: int) -> ck.CheckinRules:
        s = await self.groups.settings(chat_id)
        c = self.config.checkin
        return ck.CheckinRules(
            base=s.checkin_base, streak_bonus=tuple(c.streak_bonus.items()), random_bonus=c.random_bonus,
            xp=s.checkin_xp, makeup_cost=s.makeup_cost, makeup_window_days=c.makeup_window_days,
        )

    async def campaign_multiplier(self, chat_id: int, now: datetime) -> float:
        """The multiplier of the campaign window open at `now` (member day…, started by a schedule); the highest if
        several overlap, 1.0 when none is."""
        if self.campaigns is None:
            return 1.0
        return _highest(await self.campaigns.multipliers(chat_id, now))

    async def birthday_multiplier(self, chat_id: int, user_id: int, now: datetime) -> float:
        """BIRTHDAY_MULTIPLIER during the member's /birthday month (group time), else 1.0."""
        month = None if self.campaigns is None else await self.campaigns.birthday_month(user_id)
        if month is None:
            return 1.0
        return _birthday_factor(month, now, (await self.groups.settings(chat_id)).timezone)

    def _campaign_in(self, conn: sqlite3.Connection, chat_id: int, user_id: int, now: datetime, tz: str) -> tuple[float, float]:
        """(campaign_multiplier, birthday_multiplier), read on the writer's thread inside its transaction: two
        factors, so that the reply names each (a birthday month is not a campaign)."""
        if self.campaigns is None:
            return 1.0, 1.0
        return _highest(multipliers_in(conn, chat_id, now)), _birthday_factor(birthday_month_in(conn, user_id), now, tz)

    async def birthday(self, user_id: int) -> int | None:
        return None if self.campaigns is None else await self.campaigns.birthday_month(user_id)

    async def set_birthday(self, user_id: int, text: str | None) -> int | None:
        """`/birthday 5` (or `off`): the month only. Raises BirthdayError for anything else."""
        month = parse_birthday(text)
        await self.campaigns.set_birthday(user_id, month, self.clock.now())
        return month

    async def tier_of(self, chat_id: int, user_id: int) -> Tier:
        return tier_for((await self.ledger.wallet(chat_id, user_id)).xp, self.tiers)

    # --- check-in ---------------------------------------------------------------------------

    async def checkin(self, chat_id: int, user_id: int, sent_at: datetime | None = None, rng_value: int | None = None) -> CheckinResult:
        """Check in for the day the command was sent (`sent_at`, its message's date, in the group's timezone): a
        /checkin typed before midnight and handled after it counts for the day it was typed."""
        now = event_time(sent_at, self.clock.now())
        tz = (await self.groups.settings(chat_id)).timezone
        today = ck.local_day(now, tz)
        rules = await self.checkin_rules(chat_id)
        if rng_value is None and rules.random_bonus:
            rng_value = secrets.randbits(32)
        # Read, decide and write in one transaction on the writer's thread: one hop, and nothing read can change
        # before the write (the writer is ours throughout).
        result = await self.db.write(self._checkin_in, chat_id, user_id, now, today, tz, rules, rng_value)
        await self.tell_rules(RuleEvent("checkin", chat_id, user_id, now, key=f"checkin:{today.isoformat()}"))
        if result.awarded.tier_up is not None:
            await self.tier_reached(chat_id, user_id, result.awarded.tier_up, now)
        return result

    def _checkin_in(
        self, conn: sqlite3.Connection, chat_id: int, user_id: int, now: datetime, today: date, tz: str,
        rules: ck.CheckinRules, rng_value: int | None,
    ) -> CheckinResult:
        last = last_checkin_in(conn, chat_id, user_id)
        if last is not None and last.day >= today:
            raise AlreadyCheckedInError(at=last.at, next_at=ck.next_checkin_at(today, tz))
        before = wallet_in(conn, chat_id, user_id)
        campaign, birthday = self._campaign_in(conn, chat_id, user_id, now, tz)
        reward = ck.checkin_reward(
            last.day if last else None, last.streak if last else 0, today, rules,
            tier_multiplier=tier_for(before.xp, self.tiers).points_multiplier,
            campaign_multiplier=campaign * birthday, rng_value=rng_value,
        )
        if not insert_checkin_in(
            conn, chat_id, user_id, today, now, reward.streak, reward.total, reward.xp,
            reward.base, reward.streak_bonus, reward.random_bonus, str(reward.multiplier),
        ):  # the database says no (its PRIMARY KEY), whatever was read above
            raise _already(last_checkin_in(conn, chat_id, user_id), today, tz, now)
        ref = ledger_key(Reason.CHECKIN, chat_id, user_id, today)
        if reward.total:
            post_in(conn, chat_id, user_id, reward.total, Currency.POINTS, Reason.CHECKIN, ref, now)
        if reward.xp:
            post_in(conn, chat_id, user_id, reward.xp, Currency.XP, Reason.CHECKIN, ref, now)
        badges = self._award_badges_in(conn, chat_id, user_id, now, streak=reward.streak)
        after = wallet_in(conn, chat_id, user_id)
        return CheckinResult(
            reward, rank_on_day_in(conn, chat_id, today, now), after,
            Awarded(badges, tier_up(before.xp, after.xp, self.tiers)), tier_for(before.xp, self.tiers), campaign, birthday,
        )

    async def makeup(self, chat_id: int, user_id: int, sent_at: datetime | None = None) -> MakeupResult:
        now = event_time(sent_at, self.clock.now())
        tz = (await self.groups.settings(chat_id)).timezone
        today = ck.local_day(now, tz)
        rules = await self.checkin_rules(chat_id)
        days = await self.repo.checkin_days(chat_id, user_id)
        target = ck.makeup_target(days, today, rules.makeup_window_days, await self.repo.makeup_days(chat_id, user_id))
        hits = ck.makeup_milestones(days, target, rules)
        streak = ck.streak_after_makeup(days | {target}, today)
        latest = max(d for d in days | {target} if d <= today)
        try:
            async with self.db.transaction() as tx:
                if not await PointsRepo.insert_checkin(tx, chat_id, user_id, target, now, 0, 0, 0, makeup=True):
                    raise ck.NothingToMakeUpError()
                card = await PointsRepo.use_makeup_card(tx, chat_id, user_id, target, now)
                if rules.makeup_cost and card is None:
                    await post(tx, chat_id, user_id, -rules.makeup_cost, Currency.POINTS, Reason.MAKEUP,
                               ledger_key(Reason.MAKEUP, chat_id, user_id, target), now)
                for hit in hits:
                    if hit.bonus:
                        await post(tx, chat_id, user_id, hit.bonus, Currency.POINTS, Reason.MILESTONE,
                                   ledger_key(Reason.MILESTONE, chat_id, user_id, hit.day), now, note=str(hit.streak))
                await PointsRepo.set_streak(tx, chat_id, user_id, target, ck.run_length(days | {target}, target))
                await PointsRepo.set_streak(tx, chat_id, user_id, latest, streak)
                await self._award_badges(tx, chat_id, user_id, now, streak=streak)
        except InsufficientBalance as exc:
            raise InsufficientPointsError(exc.balance, exc.needed) from None
        cost = 0 if card is not None else rules.makeup_cost
        return MakeupResult(target, cost, streak, hits, await self.ledger.wallet(chat_id, user_id), card is not None)

    # --- badges ----------------------------------------------------------------------------

    async def _award_badges(self, tx: aiosqlite.Connection, chat_id: int, user_id: int, now: datetime, **stats: int) -> tuple[BadgeRule, ...]:
        """Inside the caller's transaction(): award every badge newly earned, each once, with its bonus (one hop)."""
        return await self.db.call(tx, lambda conn: self._award_badges_in(conn, chat_id, user_id, now, **stats))

    def _award_badges_in(self, conn: sqlite3.Connection, chat_id: int, user_id: int, now: datetime, **stats: int) -> tuple[BadgeRule, ...]:
        """The same, on the writer's thread inside a transaction."""
        total, best = checkin_record_in(conn, chat_id, user_id)
        member_stats = MemberStats(checkins_total=total, best_streak=best, **stats)
        new = []
        for rule in badges_earned(member_stats, self.badges, badges_in(conn, chat_id, user_id)):
            if award_badge_in(conn, chat_id, user_id, rule.key, now):
                new.append(rule)
                if rule.points_bonus:
                    post_in(conn, chat_id, user_id, rule.points_bonus, Currency.POINTS, Reason.BADGE_BONUS,
                            ledger_key(Reason.BADGE_BONUS, chat_id, user_id, rule.key), now, note=rule.key)
        return tuple(new)

    async def award_badges_in(self, tx: aiosqlite.Connection, chat_id: int, user_id: int, now: datetime, **stats: int) -> tuple[BadgeRule, ...]:
        """award_badges inside another feature's transaction (feedback accepted: points, decision and badge together)."""
        return await self._award_badges(tx, chat_id, user_id, now, **stats)

    async def award_badges(self, chat_id: int, user_id: int, **stats: int) -> tuple[BadgeRule, ...]:
        """For other features (referrals, feedback, weekly top): stats such as referrals_confirmed=3."""
        async with self.db.transaction() as tx:
            return await self._award_badges(tx, chat_id, user_id, self.clock.now(), **stats)

    # --- admin give / take -----------------------------------------------------------------

    async def adjust(
        self, chat_id: int, actor_id: int, user_id: int, amount_text: str, reason: str, update_id: int, give: bool,
        *, actor_is_owner: bool = False, target_is_bot: bool = False,
    ) -> Wallet:
        check_adjust(actor_id, actor_is_owner, user_id, target_is_bot, give)
        amount = parse_amount(amount_text, self.config.max_admin_amount)
        if not reason.strip():
            raise InvalidAmountError("no_reason", amount_text)
        code = Reason.ADMIN_GIVE if give else Reason.ADMIN_TAKE
        try:
            async with self.db.transaction() as tx:
                await post(tx, chat_id, user_id, amount if give else -amount, Currency.POINTS, code,
                           ledger_key(code, chat_id, user_id, update_id), self.clock.now(), actor_id=actor_id, note=reason.strip()[:200])
        except InsufficientBalance as exc:
            raise InsufficientPointsError(exc.balance, exc.needed) from None
        return await self.ledger.wallet(chat_id, user_id)

    # --- chat XP (hot path) ----------------------------------------------------------------

    def ride_with(self, marks: InboxRepo) -> None:
        """Chat XP earned by an update handled through the inbox is written in the commit that marks that update
        handled (storage.inbox.Rider): a crash leaves it booked and marked, or neither (and the update is handled
        again). The marks of updates that earned XP wait for the flush, so it stays one ledger row per member per
        flush."""
        self.marks = marks
        marks.add_rider(self)
        # Chat XP decided once its update's mark is written, and that of a message a rule means to delete (handed over
        # to wait for the delete's outcome): one credit keyed by the update, through the inbox's one-off writes.
        marks.along.kind("chat_xp", self._chat_xp_in, self._chat_xp_done, self._chat_xp_dropped)

    async def chat_message(self, chat_id: int, user_id: int, at: datetime, length: int, update_id: int | None = None) -> None:
        """One group message. With `update_id` (an update the inbox claimed) its XP is held for that update and
        rides with its handled mark; without, it joins the batch at once. The cooldown starts at once either way."""
        xp = (await self.groups.settings(chat_id)).chat_xp
        if not xp:
            return
        key, cooling = (chat_id, user_id), self._last_xp.get(chat_id)
        rules = ChatXpRules(xp, self.config.chat_xp.cooldown_seconds, self.config.chat_xp.min_length)
        last = None if cooling is None else cooling.get(user_id)
        if chat_xp_due(None if last is None else datetime.fromtimestamp(last, timezone.utc), at, rules, message_length=length):
            stamp = at.timestamp()
            if stamp != self._stamp:
                self._stamp = stamp
            if cooling is None:
                cooling = self._last_xp[chat_id] = {}
            cooling[user_id] = self._stamp
            # A campaign window (member day) multiplies chat XP too; read only for a message that earns XP.
            earned = round(xp * await self.campaign_multiplier(chat_id, at))
            if earned <= 0:
                return
            if update_id is None:
                self._pend(key, earned, at)
            elif self.marks is not None and self.marks.is_marked(update_id):
                await self._book_now(chat_id, user_id, earned, update_id, at)
            else:
                self._held[update_id] = (one(chat_id), user_id, earned, at)
                if len(self._held) >= HELD_MAX and (self._early is None or self._early.done()):
                    # Its own context: the writing belongs to no update (this one's handling has not ended).
                    self._early = asyncio.get_running_loop().create_task(self._write_held_early(), context=contextvars.Context())

    def _pend(self, key: tuple[int, int], xp: int, at: datetime) -> None:
        """XP for the next batch, with its award's time (the batch keeps each member's latest)."""
        self._pending_xp[key] += xp
        if key not in self._pending_at or self._pending_at[key] < at:
            self._pending_at[key] = at

    async def load_cooldowns(self) -> int:
        """At start: the chat-XP cooldowns still in force, from wallets.chat_xp_at (written with the XP itself), so
        a restart or a kill gives no member a second award inside their cooldown. Only those: the rest decide
        nothing. Returns how many were loaded."""
        since = self.clock.now() - timedelta(seconds=self.config.chat_xp.cooldown_seconds)
        rows = await self.ledger.chat_xp_since(since)
        for chat_id, user_id, at in rows:
            cooling, when = self._last_xp.setdefault(chat_id, {}), at.timestamp()
            if user_id not in cooling or cooling[user_id] < when:
                cooling[user_id] = when
        return len(rows)

    async def _book_now(self, chat_id: int, user_id: int, xp: int, update_id: int, at: datetime) -> None:
        """A commit during this update's handling already wrote its handled mark before its XP was decided (a path
        that did not decide it before that commit: handlers/points.earn_by_staying): the XP is booked at once, keyed by
        the update (in the counters' batch a kill in the next flush interval lost it, while the mark said the update
        was handled). Kept for the batch if the write fails."""
        assert self.marks is not None
        try:
            await self.marks.along.hold(update_id, "chat_xp", self._chat_xp_data(chat_id, user_id, xp, at))
        except Exception as exc:
            log.warning("chat XP of update %s kept for the next batch: %s", update_id, exc)
            self._pend((self._moved.get(chat_id, chat_id), user_id), xp, at)

    def hand_over(self, update_id: int) -> list[tuple[str, dict]]:
        """The chat XP held for this update, taken out of the batch: its message is one a rule means to delete, so
        it is booked only if the message stays (storage.inbox.Along.contingent)."""
        held = self._held.pop(update_id, None)
        if held is None:
            return []
        chat_id, user_id, xp, at = held
        return [("chat_xp", self._chat_xp_data(chat_id, user_id, xp, at))]

    def _chat_xp_data(self, chat_id: int, user_id: int, xp: int, at: datetime) -> dict:
        return {"chat": chat_id, "user": user_id, "xp": xp, "at": iso(at), "ts": at.timestamp(), "now": iso(self.clock.now())}

    def _chat_xp_in(self, conn: sqlite3.Connection, update_id: int, d: dict) -> int | None:
        """On the writer's thread: one credit keyed by the update; the XP before it, if it was booked."""
        key = (self._moved.get(d["chat"], d["chat"]), d["user"])
        credits = [(*key, d["xp"], ledger_key(Reason.CHAT, *key, f"u{update_id}"))]
        return credit_new_in(conn, credits, Currency.XP, Reason.CHAT, d["now"], {key: d["at"]}).get(key)

    def _chat_xp_done(self, update_id: int | None, d: dict, before: int | None) -> None:
        if before is not None:
            reached = tier_up(before, before + d["xp"], self.tiers)
            if reached is not None:
                self._reached.append((self._moved.get(d["chat"], d["chat"]), d["user"], reached))

    def _chat_xp_dropped(self, update_id: int, d: dict) -> None:
        """Its message was deleted after all: it earned nothing, so its cooldown never started (the member's last
        award was a cooldown ago at least, or this one would not have been due)."""
        for chat_id in {d["chat"], self._moved.get(d["chat"], d["chat"])}:
            cooling = self._last_xp.get(chat_id, {})
            if cooling.get(d["user"]) == d["ts"]:
                del cooling[d["user"]]

    # ------------------------------------------------------------ riding with the inbox's marks (storage.inbox.Rider)

    def keeps(self, update_id: int) -> bool:
        return update_id in self._held  # its mark waits for flush_chat_xp, which writes the XP with it

    def ride(self, update_ids: list[int]) -> list[CommitRows]:
        """The held XP of these updates, one credit per member, for the commit that marks them handled."""
        riding = {i: self._held.pop(i) for i in update_ids if i in self._held}
        if not riding:
            return []
        self._riding.update(riding)
        per_member: dict[tuple[int, int], list[int]] = {}
        xp_at: dict[tuple[int, int], str] = {}  # each member's latest award among these: wallets.chat_xp_at
        for update_id, (chat_id, user_id, xp, at) in riding.items():
            key = (self._moved.get(chat_id, chat_id), user_id)
            entry = per_member.setdefault(key, [0, update_id])
            entry[0] += xp
            entry[1] = min(entry[1], update_id)
            xp_at[key] = max(xp_at.get(key, ""), iso(at))
        # Each update rides once, so the first update id names this member's credit uniquely (and the same again
        # if it ever came twice: the ledger's ref leaves it out).
        credits = [(c, u, xp, ledger_key(Reason.CHAT, c, u, f"u{first}")) for (c, u), (xp, first) in per_member.items()]
        before: dict[tuple[int, int], int] = {}
        self._rides[min(riding)] = (credits, before)
        at = iso(self.clock.now())
        return [CommitRows("", "", [], call=lambda conn: before.update(credit_new_in(conn, credits, Currency.XP, Reason.CHAT, at, xp_at)))]

    def rode(self, update_ids: list[int], committed: bool) -> None:
        riding = {i: self._riding.pop(i) for i in update_ids if i in self._riding}
        if not riding:
            return
        credits, before = self._rides.pop(min(riding))
        if not committed:  # back in memory: their marks are back in line too
            self._held.update(riding)
            return
        for chat_id, user_id, xp, _ in credits:
            if (chat_id, user_id) in before:
                reached = tier_up(before[(chat_id, user_id)], before[(chat_id, user_id)] + xp, self.tiers)
                if reached is not None:
                    self._reached.append((chat_id, user_id, reached))

    def release(self, update_id: int) -> None:
        """A commit during the update's handling marked it before its XP was held: the XP goes to the batch."""
        held = self._held.pop(update_id, None)
        if held is not None:
            chat_id, user_id, xp, at = held
            self._pend((self._moved.get(chat_id, chat_id), user_id), xp, at)

    def move_chat(self, old: int, new: int) -> None:
        """The group got a new id (upgraded to a supergroup): batched XP and cooldowns follow it, and so does
        anything a failed flush puts back later (held XP follows it when it rides)."""
        self._moved[old] = new
        self._follow_moves()
        if self.campaigns is not None:  # the windows moved with the group's rows
            self.campaigns.forget(old, new)

    def _follow_moves(self) -> None:
        follow_moves(self._moved, (self._pending_xp, operator.add), (self._pending_at, max))
        for old, new in self._moved.items():
            cooling = self._last_xp.pop(old, None)
            if cooling:
                kept = self._last_xp.setdefault(new, {})
                for user_id, when in cooling.items():
                    kept[user_id] = max(kept[user_id], when) if user_id in kept else when

    def _forget_cooldowns(self, now: datetime) -> None:
        """A cooldown that has run out decides nothing any more (a restart forgets them all the same): without
        this, one entry per member ever seen stays in memory for good."""
        cutoff = (now - timedelta(seconds=self.config.chat_xp.cooldown_seconds)).timestamp()
        for chat_id, cooling in list(self._last_xp.items()):
            for user_id in [u for u, at in cooling.items() if at < cutoff]:
                del cooling[user_id]
            if not cooling:
                del self._last_xp[chat_id]

    def cooling_down(self) -> set[tuple[int, int]]:
        """(chat, user) of every member whose chat-XP cooldown is kept in memory."""
        return {(chat_id, user_id) for chat_id, cooling in self._last_xp.items() for user_id in cooling}

    @property
    def pending_xp(self) -> int:
        return sum(self._pending_xp.values()) + sum(xp for _, _, xp, _ in self._held.values())

    @property
    def pending_members(self) -> int:
        """Members with chat XP not written yet (what the next flush writes a ledger row for)."""
        return len(set(self._pending_xp) | {(self._moved.get(c, c), u) for c, u, _, _ in self._held.values()})

    @property
    def unflushed(self) -> bool:
        """flush_chat_xp() has chat XP to write or tier-ups to announce (forgetting run-out cooldowns changes nothing)."""
        return bool(self._pending_xp or self._held or self._reached)

    async def flush_chat_xp(self) -> list[tuple[int, int, Tier]]:
        """Write the chat XP earned since the last flush, one ledger row per member, FLUSH_CHUNK members per
        transaction: the one write connection is held for milliseconds at a time, so check-ins and joins never wait
        behind a big flush. Held XP is written in the commits that mark its updates handled (their marks were kept
        for this); a chunk that fails goes back with its marks, for the next commit. Returns tier-ups (chat, user,
        tier) to announce, those reached by XP that rode with any commit since the last flush included."""
        now = self.clock.now()
        self._forget_cooldowns(now)
        await self.idle()  # held XP being written early goes first
        await self._write_held()
        ups, self._reached = self._reached, []
        ups += await self._flush_loose(now)
        for chat_id, user_id, tier in ups:
            await self.tier_reached(chat_id, user_id, tier, now)
        return ups

    async def idle(self) -> None:
        """Wait until held XP being written early (past HELD_MAX) is written, without cancelling it (tests, a flush)."""
        while self._early is not None and not self._early.done():
            await asyncio.wait((self._early,))

    async def _write_held_early(self) -> None:
        """HELD_MAX updates' XP held: written now, as the flush writes it (their tier-ups are announced by the next
        flush). What a failed commit did not write stays held for the next commit or flush."""
        try:
            await self._write_held()
        except Exception as exc:
            log.warning("held chat XP kept for the next flush: %s", exc)

    async def _write_held(self) -> None:
        """Let the kept marks of the updates holding XP go, RIDE_CHUNK members a commit: each commit writes those
        members' XP (one ledger row each), their updates' marks and the message counts riding with them."""
        if not self._held or self.marks is None:
            return
        held, moved = self._held, self._moved
        # In (chat, user) order: consecutive commits then write neighbouring keys of the ledger's, wallets' and
        # season totals' indexes, a few pages each, instead of a page per member in each of them scattered over
        # 1,000 groups (the inbox's marks scatter instead: one tree, not six; see bench.flush_case). One list of
        # the update ids sorted by member (stable: each member's in the order they came), not a list per member
        # (at 100,000 members the flush's peak was about 170 B a member more); the key is (chat, user) packed in
        # one int, in the same order, when every user id fits.
        if all(-2**53 < u < 2**53 for _, u, _, _ in held.values()):
            def member(i: int) -> int | tuple[int, int]:
                c, u, _, _ = held[i]
                return moved.get(c, c) * 2**54 + u + 2**53
        else:
            def member(i: int) -> int | tuple[int, int]:
                c, u, _, _ = held[i]
                return (moved.get(c, c), u)
        ids = sorted(held, key=member)
        cuts, members, last = [], 0, None  # where each chunk of RIDE_CHUNK members starts, before any await
        for n, i in enumerate(ids):
            key = member(i)
            if key != last:
                if members % RIDE_CHUNK == 0:
                    cuts.append(n)
                members, last = members + 1, key
        cuts.append(len(ids))
        # The flush belongs to no update: its commits must not mark one being handled in this task.
        outside = HANDLING.set(None)
        loop = asyncio.get_running_loop()
        try:
            took = 0.0
            for start, end in zip(cuts, cuts[1:]):
                # The chunks of a big flush leave the writer free as long as each held it (FLUSH_DUTY), unless what
                # is held has reached HELD_MAX meanwhile: then the writes keep up with the chat, back to back.
                if took and len(self._held) < HELD_MAX:
                    await asyncio.sleep(took * (1 - FLUSH_DUTY) / FLUSH_DUTY)
                began = loop.time()
                self.marks.let_go(ids[start:end])
                await self.marks.flush()
                took = loop.time() - began
        finally:
            HANDLING.reset(outside)

    async def _flush_loose(self, now: datetime) -> list[tuple[int, int, Tier]]:
        """XP tied to no unmarked update (earned outside the inbox, or after its update's mark was written)."""
        if not self._pending_xp:
            return []
        pending, self._pending_xp = self._pending_xp, defaultdict(int)
        pending_at, self._pending_at = self._pending_at, {}
        batch = f"b{now.timestamp():.0f}{secrets.token_hex(4)}"
        items = sorted(pending.items())  # in (chat, user) order, as the held XP above
        ups = []
        for start in range(0, len(items), FLUSH_CHUNK):
            chunk = items[start : start + FLUSH_CHUNK]
            credits = [(c, u, xp, ledger_key(Reason.CHAT, c, u, batch)) for (c, u), xp in chunk]
            xp_at = {key: iso(pending_at[key]) for key, _ in chunk if key in pending_at}
            try:
                before = await self.ledger.credit_many(credits, Currency.XP, Reason.CHAT, now, xp_at)
            except Exception:
                for key, xp in items[start:]:
                    self._pending_xp[key] += xp
                    if key in pending_at:
                        self._pend(key, 0, pending_at[key])
                self._follow_moves()
                raise
            for key, xp in chunk:
                reached = tier_up(before[key], before[key] + xp, self.tiers)
                if reached is not None:
                    ups.append((*key, reached))
        return ups

    # --- reading ---------------------------------------------------------------------------

    async def profile(self, chat_id: int, user_id: int) -> Profile:
        tz = (await self.groups.settings(chat_id)).timezone
        rows = await self.repo.profile(chat_id, user_id)  # read once: one hop, one snapshot
        streak = ck.current_streak(set(rows.days), ck.local_day(self.clock.now(), tz)) if rows.days else 0
        wallet = Wallet(rows.points, rows.xp)
        return Profile(wallet, progress(wallet.xp, self.tiers), streak, list(rows.badges), rows.rank)

    async def rank(self, chat_id: int, user_id: int) -> int | None:
        """The member's place on the board /top shows by default (points earned this season), 1 = top; None
        when they are not on it. One meaning of rank wherever it is shown."""
        return await self.ledger.season_rank(chat_id, user_id)

    async def history(self, chat_id: int, user_id: int, limit: int = 20) -> list[Entry]:
        return await self.ledger.history(chat_id, user_id, limit)

    async def window_start(self, chat_id: int, window: str) -> datetime | None:
        """Start of 'week' (Monday), 'month' or 'season' in the group's time; None = all time."""
        tz = ZoneInfo((await self.groups.settings(chat_id)).timezone)
        local = self.clock.now().astimezone(tz)
        if window == "week":
            start = local.date() - timedelta(days=local.weekday())
        elif window == "month":
            start = local.date().replace(day=1)
        elif window == "season":
            season = await self.repo.season(chat_id)
            return season[2] if season and season[2] else None
        else:
            return None
        return datetime.combine(start, time(0), tz)

    async def top(self, chat_id: int, board: str, window: str, limit: int | None = 10) -> list[tuple[int, int]]:
        if window == "season" and board in ("points", "xp"):
            return await self.ledger.season_board(chat_id, board, limit)
        since = await self.window_start(chat_id, window)
        if board in ("points", "xp"):
            return await self.ledger.leaderboard(chat_id, board, since, limit)
        tz = (await self.groups.settings(chat_id)).timezone
        if board == "checkin":
            return await self.repo.checkin_counts(chat_id, ck.local_day(since, tz) if since else None, limit)
        yesterday = ck.local_day(self.clock.now(), tz) - timedelta(days=1)
        return await self.repo.current_streaks(chat_id, yesterday, limit)

    async def weekly_top(self, chat_id: int) -> WeeklyTop | None:
        """The member who earned the most points in the group's last full week (Monday to Monday, group time):
        recorded once per week, with the weekly-top badges their count of such weeks earns. None when the week
        was already recorded or nobody earned anything."""
        this_monday = await self.window_start(chat_id, "week")
        assert this_monday is not None
        tz = this_monday.tzinfo
        week = this_monday.date() - timedelta(days=7)
        since = datetime.combine(week, time(0), tz)
        rows = await self.ledger.leaderboard(chat_id, "points", since, None, until=this_monday)
        if not rows:
            return None
        points = rows[0][1]
        tied = [u for u, p in rows if p == points]
        if len(tied) > 1:  # a tie goes to whoever reached the total first (then the lower id); the rest are named
            reached = await self.ledger.reached_at(chat_id, tied, since, this_monday)
            tied.sort(key=lambda u: (reached[u], u))
        user_id = tied[0]
        now = self.clock.now()
        async with self.db.transaction() as tx:
            weeks = await PointsRepo.record_weekly_top(tx, chat_id, week, user_id, points, now)
            if weeks is None:
                return None
            badges = await self._award_badges(tx, chat_id, user_id, now, weekly_top_count=weeks)
        return WeeklyTop(user_id, points, week, badges, tuple(tied[1:]))

    async def new_season(self, chat_id: int, expected_number: int) -> int | None:
        """Archive the standings of the season in progress and start the next. None if it was already done."""
        since = await self.window_start(chat_id, "season")
        # Everyone who earned anything this season, ranked by points, then those who only earned XP.
        points = await self.ledger.leaderboard(chat_id, "points", since, limit=None)
        xp = dict(await self.ledger.leaderboard(chat_id, "xp", since, limit=None))
        standings = [(u, p, xp.pop(u, 0)) for u, p in points] + [(u, 0, x) for u, x in xp.items()]
        return await self.repo.close_season(chat_id, standings, expected_number, self.clock.now())

    async def season_number(self, chat_id: int) -> int:
        season = await self.repo.season(chat_id)
        return season[1] if season else 0

    # --- expiry ----------------------------------------------------------------------------

    async def run_expiry(self, chat_id: int) -> ExpiryRun:
        """Expire what is due and collect first-time warnings. Safe to run any number of times a day."""
        s = await self.groups.settings(chat_id)
        if s.expiry_mode == "off":
            return ExpiryRun()
        now = self.clock.now()
        today = ck.local_day(now, s.timezone)
        result = ExpiryRun()
        warn_days = self.config.expiry.warn_days
        horizon = today + timedelta(days=warn_days)
        for user_id in await self.ledger.holders(chat_id):
            if s.expiry_mode == "fifo":
                credits, debits = split_ledger((e.id, e.amount, e.at) for e in await self.ledger.points_rows(chat_id, user_id))
                due = expiry_due(credits, debits, now, s.expiry_days)
                ref = ledger_key(Reason.EXPIRY, chat_id, user_id, today)
                # What expires on the group's calendar days tomorrow … today + warn_days (today's go in this run
                # or the next): one notice for all of it.
                soon = [
                    (ck.local_day(lot.expires_at, s.timezone), lot.remaining)
                    for lot in expiry_warnings(credits, debits, now, s.expiry_days, warn_days + 1)
                ]
                soon = [(day, n) for day, n in soon if today < day <= horizon]
                warning = ExpiryWarning(sum(n for _, n in soon), min(day for day, _ in soon), warn_days) if soon else None
            else:
                wallet = await self.ledger.wallet(chat_id, user_id)
                # Yearly decay of the balance held when the group's year turned; a bot that was down that day
                # catches up in the first week, and what was earned since then is not touched.
                due = 0
                if today.timetuple().tm_yday <= DECAY_CATCH_UP_DAYS:
                    turn = datetime.combine(date(today.year, 1, 1), time(0), ZoneInfo(s.timezone))
                    held = await self.ledger.points_before(chat_id, user_id, turn)
                    due = min(decay_amount(held, s.decay_percent), wallet.points)
                ref = ledger_key(Reason.EXPIRY, chat_id, user_id, f"decay{today.year}")
                new_year = date(today.year + 1, 1, 1)
                coming = decay_amount(wallet.points, s.decay_percent) if new_year <= horizon else 0
                warning = ExpiryWarning(coming, new_year, None) if coming else None
            async with self.db.transaction() as tx:
                if due and await post(tx, chat_id, user_id, -due, Currency.POINTS, Reason.EXPIRY, ref, now):
                    result.expired[user_id] = due
                if warning and warn_days and await self.repo.warned(tx, chat_id, user_id, today, warning.amount, warn_days):
                    result.warnings[user_id] = warning
        return result

    async def optouts(self, user_id: int) -> set[str]:
        return await self.repo.optouts(user_id)

    async def set_optout(self, user_id: int, kinds: list[str], out: bool) -> None:
        await self.repo.set_optout(user_id, kinds, out, self.clock.now())


def _highest(multipliers: list[str]) -> float:
    return max([float(m) for m in multipliers], default=1.0)


def _birthday_factor(month: int | None, now: datetime, tz: str) -> float:
    return float(BIRTHDAY_MULTIPLIER) if month is not None and now.astimezone(ZoneInfo(tz)).month == month else 1.0


def _already(last, today: date, tz: str, now: datetime) -> AlreadyCheckedInError:
    return AlreadyCheckedInError(at=last.at if last else now, next_at=ck.next_checkin_at(today, tz))
