"""Thirty days of one group's life through the real Application on the simulated Telegram, with a fixed clock.

Five people with different habits — alice checks in every day, bob every other day (with the word 签到), carol
misses two days and repairs them with /makeup, dave mostly chats, and the admin gives and takes — in a group on
Asia/Shanghai time whose points expire FIFO after a short time. A small model written here from the config
amounts (not from the bot's code) predicts every balance, XP total, expiry, warning and announcement; at the end
the bot must agree exactly, and every cached wallet must equal its ledger."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from bot.context import BotContext
from handlers import points as hp
from tests.helpers import say

TZ = "Asia/Shanghai"
DAYS = 30
EXPIRY_DAYS = 12
FIRST_DAY = date(2026, 3, 3)
WARN = ("⏳ In Night Owls, {n} of your points expire within the next {days} days, the first on {day}."
        " Spend them in the /shop before then.")


def at(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    d = FIRST_DAY + timedelta(days=day)
    return datetime(d.year, d.month, d.day, hh, mm, ss, tzinfo=ZoneInfo(TZ)).astimezone(timezone.utc)


@dataclass
class Person:
    """What the model knows of one member: unspent lots (earning day, amount left), XP, check-in days."""

    name: str
    lots: list[list[int]] = field(default_factory=list)
    xp: int = 0
    days: set[int] = field(default_factory=set)
    pending_chat: int = 0
    expired: int = 0
    last_warned: int | None = None

    @property
    def balance(self) -> int:
        return sum(n for _, n in self.lots)

    def credit(self, day: int, amount: int) -> None:
        if amount:
            self.lots.append([day, amount])

    def spend(self, amount: int) -> None:
        assert self.balance >= amount, f"{self.name} can't spend {amount}"
        while amount:
            take = min(amount, self.lots[0][1])
            self.lots[0][1] -= take
            amount -= take
            if not self.lots[0][1]:
                self.lots.pop(0)

    def run(self, day: int) -> int:
        length = 0
        while day - length in self.days:
            length += 1
        return length


class Model:
    def __init__(self, config) -> None:
        self.c = config.points
        self.people = {name: Person(name) for name in ("alice", "bob", "carol", "dave")}
        self.announced: list[str] = []
        self.warnings: list[str] = []

    def tier(self, xp: int):
        return [t for t in self.c.tiers if t.min_xp <= xp][-1]

    def checkin(self, name: str, day: int) -> None:
        p, c = self.people[name], self.c.checkin
        first = not p.days
        p.days.add(day)
        streak = p.run(day)
        multiplier = Decimal(str(self.tier(p.xp).points_multiplier))
        paid = int((Decimal(c.base + c.streak_bonus.get(streak, 0)) * multiplier).to_integral_value(ROUND_HALF_UP))
        p.credit(day, paid)
        if first:
            p.credit(day, next(b.points_bonus for b in self.c.badges if b.kind == "first_checkin"))
        self.gain_xp(p, c.xp)

    def gain_xp(self, p: Person, xp: int) -> None:
        before = self.tier(p.xp)
        p.xp += xp
        if self.tier(p.xp) != before:
            self.announced.append(f"🎉 {p.name.capitalize()} reached {self.tier(p.xp).key.capitalize()}!")

    def flush(self) -> None:
        for p in self.people.values():
            if p.pending_chat:
                self.gain_xp(p, p.pending_chat)
                p.pending_chat = 0

    def expire(self, day: int) -> None:
        """The 20:00 job: lots earned around 10:00 on day c expire at 10:00 on day c + EXPIRY_DAYS."""
        for p in self.people.values():
            gone = sum(n for d, n in p.lots if d + EXPIRY_DAYS <= day)
            p.lots = [lot for lot in p.lots if lot[0] + EXPIRY_DAYS > day]
            p.expired += gone
            if p.name != "alice":  # only alice started the bot in private
                continue
            week = self.c.expiry.warn_days
            soon = [(d + EXPIRY_DAYS, n) for d, n in p.lots if day < d + EXPIRY_DAYS <= day + week]
            # One notice for all that expires within the week, then quiet for a week: a daily earner is not
            # told every day.
            if soon and (p.last_warned is None or day - p.last_warned >= week):
                p.last_warned = day
                first = min(d for d, _ in soon)
                self.warnings.append(WARN.format(n=sum(n for _, n in soon), days=week,
                                                 day=(FIRST_DAY + timedelta(days=first)).isoformat()))


async def test_thirty_days_of_group_life(pg):
    sim, clock, ctx = pg.sim, pg.clock, BotContext(pg.app)
    owner, admin = sim.user("owner"), sim.user("admin")
    chat = sim.create_group("Night Owls", owner=owner)
    sim.add_bot(chat, by=owner)
    sim.join(chat, admin)
    sim.promote(chat, admin, by=owner, can_restrict_members=True, can_delete_messages=True)
    users = {name: sim.user(name) for name in ("alice", "bob", "carol", "dave")}
    for user in users.values():
        sim.join(chat, user)
    await pg.settle()
    for setting in (f"timezone {TZ}", "expiry_mode fifo", f"expiry_days {EXPIRY_DAYS}", "checkin_words on"):
        assert (await say(pg, owner, f"/set {setting}", chat)).endswith(" is now " + setting.split()[1] + ".")
    await say(pg, users["alice"], "/start")  # lets the bot warn her privately
    private_before = {name: len(sim.replies(u)) for name, u in users.items()}

    m = Model(pg.config)
    cost, chat_xp = m.c.checkin.makeup_cost, m.c.chat_xp.xp_per_message
    refusals: list[str] = []

    async def checkin(name: str, day: int, text: str = "/checkin") -> None:
        reply = await say(pg, users[name], text, chat)
        assert reply.startswith(f"✅ {name.capitalize()} checked in"), (name, day, reply)
        m.checkin(name, day)

    async def makeup(name: str, day: int, milestone: int = 0) -> None:
        reply = await say(pg, users[name], "/makeup", chat)
        assert reply.startswith(f"🩹 Made up {(FIRST_DAY + timedelta(days=day - 1)).isoformat()} for {cost} points."), reply
        p = m.people[name]
        p.spend(cost)
        p.days.add(day - 1)
        p.credit(day, milestone)

    for day in range(DAYS):
        clock.set(at(day, 10))
        await checkin("alice", day)
        if day % 2 == 0:
            await checkin("bob", day, "签到")
            m.people["bob"].pending_chat += chat_xp  # the word is a message too
        if day == 6:        # missed day 5; checks in first, then repairs: 5 days + the made-up day + today = 7
            await checkin("carol", day)
            await makeup("carol", day, milestone=m.c.checkin.streak_bonus[7])
        elif day == 13:     # missed day 12; repairs first (13 days, no milestone), then checks in
            await makeup("carol", day)
            await checkin("carol", day)
        elif day not in (5, 12):
            await checkin("carol", day)
        if day % 7 == 0:
            clock.set(at(day, 10, 0, 30))
            await checkin("dave", day)
        for mm, ss in ((1, 0), (1, 30), (2, 0), (3, 30)):  # four messages, three cooldown windows
            clock.set(at(day, 10, mm, ss))
            last = sim.send(users["dave"], f"day {day}, thought {mm}:{ss}", chat)
        m.people["dave"].pending_chat += 3 * chat_xp
        await pg.settle()

        clock.set(at(day, 11))
        if day == 3:
            await say(pg, admin, "/give @bob 20 helped a newcomer", chat)
            m.people["bob"].credit(day, 20)
        if day == 9:
            await say(pg, admin, "/take @bob 10 spam", chat)
            m.people["bob"].spend(10)
        if day == 15:
            await say(pg, admin, "/give 50 great discussion", chat, reply_to=last)
            m.people["dave"].credit(day, 50)
        if day == 16:
            await say(pg, admin, "/take @dave 30 off-topic flood", chat)
            m.people["dave"].spend(30)
        if day == 20:
            refusals.append((await say(pg, admin, "/take @alice 1000 test", chat), m.people["alice"].balance))

        clock.set(at(day, 20))
        await hp.job_flush(ctx)
        m.flush()
        await hp.job_expiry(ctx)
        m.expire(day)

    # ---- what the bot says and stores agrees with the model
    wallets = pg.services.points.ledger
    for name, user in users.items():
        p, wallet = m.people[name], await wallets.wallet(chat.id, user.id)
        assert (wallet.points, wallet.xp) == (p.balance, p.xp), name
        expired = await pg.services.db.fetchval(
            "SELECT COALESCE(-SUM(amount), 0) FROM ledger WHERE chat_id = ? AND user_id = ? AND reason = 'expiry'",
            (chat.id, user.id))
        assert expired == p.expired, name
    # Figures derived by hand from the default config, as a check on the model itself:
    # alice's last 12 days (18-29) remain: silver from day 20 (200 XP), 10 x 1.1 = 11, day 29 is her 30th in a row.
    c = m.c.checkin
    assert m.people["alice"].balance == 2 * c.base + 9 * 11 + round((c.base + c.streak_bonus[30]) * 1.1) == 240
    assert m.people["bob"].balance == 6 * c.base == 60  # days 18, 20, ..., 28
    assert m.people["carol"].expired > 0 and m.people["alice"].expired > 0

    profiles = {name: await say(pg, u, "/me", chat) for name, u in users.items()}
    assert "Tier: Silver" in profiles["alice"] and "Streak: 30 days" in profiles["alice"]
    assert "Tier: Silver" in profiles["carol"] and "Streak: 30 days" in profiles["carol"]
    assert "Tier: Silver" in profiles["dave"] and "Streak: 1 day" in profiles["dave"]
    assert "Tier: Bronze" in profiles["bob"] and "Streak: 1 day" in profiles["bob"]
    for name, u in users.items():
        badges = {r["badge"] for r in await pg.services.db.fetchall(
            "SELECT badge FROM badges WHERE chat_id = ? AND user_id = ?", (chat.id, u.id))}
        long_run = name in ("alice", "carol")
        assert badges == ({"first_checkin", "streak_7", "streak_30"} if long_run else {"first_checkin"}), name

    # Tier-ups announced once each: by the check-in reply, or in the group by the flush (dave chatted his way up).
    said = [line for msg in sim.replies(chat) for line in msg.get("text", "").splitlines() if "reached" in line]
    assert said == m.announced
    assert "🎉 Dave reached Silver!" in m.announced and len(m.announced) == 3

    # Expiry: at most one row per member per day; warnings to alice only, at most one a week, each with all
    # that expires in the coming week.
    per_day = await pg.services.db.fetchall(
        "SELECT user_id, substr(at, 1, 10) AS d, COUNT(*) AS n FROM ledger WHERE chat_id = ? AND reason = 'expiry'"
        " GROUP BY user_id, d HAVING n > 1", (chat.id,))
    assert per_day == []
    assert [msg["text"] for msg in sim.replies(users["alice"])[private_before["alice"]:]] == m.warnings
    assert 3 <= len(m.warnings) <= DAYS // pg.config.points.expiry.warn_days + 1
    for name in ("bob", "carol", "dave"):
        assert len(sim.replies(users[name])) == private_before[name]

    (refusal, balance), = refusals
    assert refusal == f"Alice has only {balance} points; 1000 can't be taken."
    assert await wallets.mismatches() == []
