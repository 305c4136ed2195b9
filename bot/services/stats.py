"""Use-cases of the group stats: the /stats report against the previous period, its chart (drawn in the chart worker
process, cached per group for a few minutes) and /retention's cohorts and churn."""
from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.charts import ChartWorker
from bot.clock import Clock
from bot.config import StatsConfig
from bot.domain import stats as sd
from bot.domain.loyalty import movers as movers_between, pyramid
from bot.services.groups import GroupService
from storage.stats import Contributor, DayFigures, StatsRepo, final_day

# How far back the daily close catches up after a long downtime (older days are stored when a /stats asks for them).
CLOSE_BACK = 7
# How long after a group's last /stats the daily close keeps its figures warm (see StatsService._warm).
WARM_FOR = timedelta(days=7)

@dataclass(frozen=True)
class StatsReport:
    days: int
    start: date
    end: date
    members: int
    admins: int
    now: sd.PeriodStats
    before: sd.PeriodStats
    top: list[Contributor]
    daily: list[tuple[date, int, int]]  # (day, active members, messages) over the period
    grid: list[list[int]]  # messages per weekday × hour
    nps: object = None  # the NPS summary (bot.services.nps.NpsSummary), when there is one
    chart: "asyncio.Future[bytes] | None" = None  # the chart being drawn meanwhile, when one was asked for

    @property
    def empty(self) -> bool:
        # Members' activity only: admins (counted apart) talking, their /stats included, is not the group's.
        return not any(a or m for _, a, m in self.daily)


@dataclass(frozen=True)
class WeeklyReport:
    """What the weekly report says: the last full group week against the one before, and around it."""

    week: date  # the Monday it starts
    stats: StatsReport
    lifecycle: dict[str, int]  # the week's new, returning, resurrecting and dormant members
    cohort: sd.Cohort | None  # the newest joining week whose week after is over
    segments: dict[str, int]  # as the week ended
    movers: list[tuple[int, str | None, str]] | None  # over the week; None when no snapshot was taken a week before
    funnel: object  # storage.funnel.FunnelNumbers
    nps: object  # bot.services.nps.NpsSummary
    new: int | None = None  # placed as the week ended, not there as it began (joined during it); None as movers


async def weekly_report(stats: "StatsService", loyalty, funnel, nps, chat_id: int, at: datetime) -> WeeklyReport | None:
    """The weekly report of one group, from each feature's own service; None when this week's went out already."""
    weekly = await stats.weekly(chat_id, at)
    if weekly is None:
        return None
    week, report, lifecycle, cohort = weekly
    await loyalty.refresh(chat_id, at)  # also snapshots this week's start if nothing did yet
    # Who moved in the reported week: where everyone stood as it began against where they stood as it ended (the
    # start of this week), both pinned to the week start whatever weekday the report runs on. A member who was not
    # there as it began (joined during it) is new on the ladder, not a mover.
    before, after = await loyalty.snapshot(chat_id, week), await loyalty.snapshot(chat_id, week + timedelta(days=7)) or {}
    segments, movers, new = await asyncio.to_thread(_ladder, before, after)
    return WeeklyReport(week, report, lifecycle, cohort, segments, movers, await funnel.numbers(chat_id),
                        await nps.summary(chat_id), new)


def _ladder(before: dict[int, str] | None,
            after: dict[int, str]) -> tuple[dict[str, int], list[tuple[int, str | None, str]] | None, int | None]:
    """The pure part of the report's loyalty lines, on a worker thread (as LoyaltyService's look): two snapshots of a
    large group's 100,000 members are walked off the event loop. The pyramid as the week ended, who moved over it
    and how many are new on the ladder (None and None with no snapshot as it began)."""
    movers = None if before is None else [m for m in movers_between(before, after) if m[1] is not None]
    new = None if before is None else sum(1 for u in after if u not in before)
    return pyramid(after), movers, new


@dataclass(frozen=True)
class RetentionReport:
    cohorts: list[sd.Cohort]
    churn: list[sd.WeekChurn]
    unbounded: bool

    @property
    def empty(self) -> bool:
        return not any(c.size for c in self.cohorts)


class StatsService:
    def __init__(self, repo: StatsRepo, groups: GroupService, clock: Clock, config: StatsConfig) -> None:
        self.repo = repo
        self.charts = ChartWorker(config.chart_timeout_seconds)
        self.groups = groups
        self.clock = clock
        self.config = config
        self.silent_days = config.silent_days
        self._charts: dict[tuple, tuple[datetime, bytes]] = {}
        # Per group, what a period's final days say (their top contributors, their weekly and monthly members),
        # kept until a newer day is final: those days no longer change (storage.stats._keep).
        self._kept: dict[tuple, object] = {}
        # Per group, the periods /stats was asked for and when last: the daily close warms what they keep for the
        # new final day (WARM_FOR), so the first /stats of a day reads two live days, not the month again.
        self._asked: dict[int, dict[int, datetime]] = {}

    async def today(self, chat_id: int, at: datetime) -> tuple[date, str]:
        tz = (await self.groups.settings(chat_id)).timezone
        return at.astimezone(ZoneInfo(tz)).date(), tz

    async def report(self, chat_id: int, days: int, at: datetime, nps=None, end: date | None = None,
                     chart: Callable[[date, list[tuple[date, int, int]], list[list[int]]], tuple[tuple, Callable[[], bytes]]]
                     | None = None) -> StatsReport:
        """The period of `days` local days ending today (the day of `at` in group time) or on `end`, and the one
        before it. With `chart` ((end, daily, grid) → (cache key, draw)), the chart is drawn in the chart worker as soon
        as its figures are read, while the rest of the report is read (report.chart; not when there is no data)."""
        today, tz = await self.today(chat_id, at)
        if end is None:
            self._asked.setdefault(chat_id, {})[days] = at
        start, end = sd.window(end or today, days)
        now = await self.repo.period(chat_id, start, end, tz, today, self._kept)
        daily = [(d, now.daily_active.get(d, 0), now.daily_messages.get(d, 0)) for d in sd.days_between(start, end)]
        grid = await self.repo.hour_of_week(chat_id, start, end)
        drawing = None
        if chart is not None and any(a or m for _, a, m in daily):
            drawing = asyncio.ensure_future(self.chart(chat_id, *chart(end, daily, grid)))
        try:
            before = await self.repo.period(chat_id, *sd.window(start - timedelta(days=1), days), tz, today)
            members, admins = await self.repo.members_now(chat_id)
            top = await self.repo.top_contributors(chat_id, start, end, tz, today, ranked=self._kept)
        except BaseException:
            if drawing is not None:
                drawing.cancel()
            raise
        return StatsReport(days, start, end, members, admins, sd.period_stats(now), sd.period_stats(before), top, daily,
                           grid, nps, drawing)

    async def weekly(self, chat_id: int, at: datetime) -> tuple[date, StatsReport, dict[str, int], sd.Cohort | None] | None:
        """The last full group week (Monday to Sunday before the day of `at`): its stats, its lifecycle and the newest
        joining cohort whose first week after joining is over — or None when that week's report went out already
        (once per group week, claimed before anything is sent: a crash in between loses that week's report, never
        doubles it)."""
        today, tz = await self.today(chat_id, at)
        week = sd.week_start(today) - timedelta(days=7)
        if not await self.repo.claim_report(chat_id, week, self.clock.now()):
            return None
        report = await self.report(chat_id, 7, at, end=week + timedelta(days=6))
        retention = await self.retention(chat_id, at, churn=False)  # the report shows no churn
        cohort = next((c for c in reversed(retention.cohorts) if c.size and c.retained[0] is not None), None)
        return week, report, await self.repo.lifecycle(chat_id, week, tz), cohort

    async def days(self, chat_id: int, at: datetime) -> AsyncIterator[list[tuple[date, DayFigures, int]]]:
        """Every local day of the group with activity, as /stats counts it (members only), with the admins active on
        it apart (storage.stats.StatsRepo.days): /export's daily stats, read a month at a time."""
        today, tz = await self.today(chat_id, at)
        async for rows in self.repo.days(chat_id, tz, today):
            yield rows

    async def close_days(self, groups: list[int]) -> int:
        """Store the figures of each group's newest final day (and any final day since its last stored one, up to
        CLOSE_BACK days back), so /stats reads rows instead of counting a large group's members again."""
        stored = await self.repo.last_closed()
        closed = 0
        for chat_id in groups:
            today, tz = await self.today(chat_id, self.clock.now())
            final = final_day(today)
            first = max(stored.get(chat_id, final - timedelta(days=1)) + timedelta(days=1), final - timedelta(days=CLOSE_BACK))
            closed += await self.repo.close(chat_id, first, final, tz)
            await self.store_final_week(chat_id, today, tz)
            await self._warm(chat_id, today, tz)
        return closed

    async def _warm(self, chat_id: int, today: date, tz: str) -> None:
        """What a /stats of each period this group asked for lately keeps (the members of its month's and week's
        final days, its final days' ranking), read now for the newest final day unless kept already: the same reads
        the report would make (storage.stats._trailing, _top), made by the hourly job instead of the first /stats."""
        now = self.clock.now()
        asked = {d: at for d, at in self._asked.get(chat_id, {}).items() if now - at < WARM_FOR}
        if not asked:
            self._asked.pop(chat_id, None)
            return
        self._asked[chat_id] = asked
        # Only what is not kept yet for this final day, and never the live days (they are read by the /stats).
        await self.repo.warm(chat_id, [sd.window(today, days) for days in sorted(asked)], today, self._kept, tz)

    async def chart(self, chat_id: int, key: tuple, draw: Callable[[], bytes]) -> bytes:
        """A chart for this group, drawn in the chart worker process (`draw` is pickled there: a module's function
        with plain data, e.g. a functools.partial of bot.charts.stats_chart); the same one again for
        chart_cache_minutes. DrawFailed when it could not be drawn (nothing is cached then)."""
        now = self.clock.now()
        cached = self._charts.get((chat_id, *key))
        keep = timedelta(minutes=self.config.chart_cache_minutes)
        if cached is not None and now - cached[0] < keep:
            return cached[1]
        png = await self.charts.run(draw)
        self._charts = {k: v for k, v in self._charts.items() if now - v[0] < keep}
        self._charts[(chat_id, *key)] = (now, png)
        return png

    async def retention(self, chat_id: int, at: datetime, unbounded: bool = False, weeks: int = 8,
                        churn: bool = True) -> RetentionReport:
        """Cohorts of the last `weeks` joining weeks and (unless `churn` is False: then none) the churn of each of
        the last `weeks` weeks. Cohorts from compact facts (storage: StatsRepo.retention_facts), never every member's
        history; churn from the rows of the weeks that are final (stored once, see weekly_churn), counted only for
        the weeks not stored yet (on a Monday, the week just over)."""
        today, tz = await self.today(chat_id, at)
        this_week = sd.week_start(today)
        first_week = this_week - timedelta(days=7 * weeks)
        last_week = this_week - timedelta(days=7)
        stored = await self.repo.stored_churn(chat_id, first_week, last_week, self._basis(tz)) if churn else {}
        missing = [w for w in (first_week + timedelta(days=7 * k) for k in range(weeks)) if w not in stored]
        counted = await self._retention(chat_id, first_week, last_week, today, tz, missing if churn else [])
        cohorts = sd.cohorts_from_days(counted[0], first_week, last_week, today, weeks, unbounded)
        if not churn:
            return RetentionReport(cohorts, [], unbounded)
        return RetentionReport(cohorts, await self._churn(chat_id, today, tz, stored, counted[1]), unbounded)

    def _basis(self, tz: str) -> str:
        """What a stored week's churn was counted on: the silent days that churn a member, and the group's timezone
        (its weeks' bounds). A row counted on another basis is counted again."""
        return f"{self.silent_days} {tz}"

    async def _retention(self, chat_id: int, first_week: date, last_week: date, today: date, tz: str,
                         churn_weeks: list[date]) -> tuple[list, list[sd.WeekChurn]]:
        """The joiners of first_week..last_week, and the churn of every week from the first of `churn_weeks` to
        the last (none when it is empty), counted from the member-day tables."""
        if not churn_weeks:
            facts = await self.repo.retention_facts(chat_id, first_week, last_week, today,
                                                    sd.churn_boundaries(first_week, 1), self.silent_days, tz, False)
            return facts.joiners, []
        start, n = churn_weeks[0], (churn_weeks[-1] - churn_weeks[0]).days // 7 + 1
        boundaries = sd.churn_boundaries(start, n)
        facts = await self.repo.retention_facts(chat_id, first_week, last_week, today, boundaries, self.silent_days, tz)
        marks: Counter[tuple[int, int]] = Counter()
        for seen, first_active, events, mask in facts.others:
            marks[sd.churn_marks(boundaries, self.silent_days, seen, first_active, events, mask)] += 1
        return facts.joiners, [sd.WeekChurn(w.week, w.base + base, w.churned + lost)
                               for w, (base, lost) in zip(sd.churn_from_marks(start, n, marks), facts.settled)]

    async def _churn(self, chat_id: int, today: date, tz: str, stored: dict[date, tuple[int, int]],
                     counted: list[sd.WeekChurn]) -> list[sd.WeekChurn]:
        """The stored weeks with the counted ones (a stored week's row wins), the counted weeks that are final
        stored: a week's churn is final once its Sunday is (storage.stats.final_day) — nothing can change it then."""
        final = final_day(today)
        await self.repo.store_churn(chat_id, [(c.week, c.base, c.churned) for c in counted
                                              if c.week not in stored and c.week + timedelta(days=6) <= final],
                               self._basis(tz))
        weeks = {c.week: c for c in counted} | {w: sd.WeekChurn(w, *bc) for w, bc in stored.items()}
        return [weeks[w] for w in sorted(weeks)]

    async def store_final_week(self, chat_id: int, today: date, tz: str) -> bool:
        """The daily pass: the newest final week's churn, stored if it is not yet (True then)."""
        week = sd.week_start(final_day(today) - timedelta(days=6))
        if await self.repo.stored_churn(chat_id, week, week, self._basis(tz)):
            return False
        _, counted = await self._retention(chat_id, week, week, today, tz, [week])
        await self._churn(chat_id, today, tz, {}, counted)
        return True
