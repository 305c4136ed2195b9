"""Sticky's real Application wired to the simulated Telegram in-process: the engine of the tests, `demo` and `console`."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from telegram import Update
from telegram.ext import Application, JobQueue

from bot.app import ALLOWED_UPDATES, POLLS, build_application
from bot.clock import FixedClock
from bot.config import Config
from bot.context import Services
from bot.receiving import heard_date
from bot.sim import FakeTelegram, SimRequest


def sim_config(config: Config, db_path: str | Path, token: str) -> Config:
    """The same config, pointed at a scratch database; no rate limiter (the simulated clock does not wait)."""
    from pydantic import SecretStr

    telegram = config.telegram.model_copy(update={"rate_limit": False, "api_url": None})
    database = config.database.model_copy(update={"path": str(db_path)})
    return config.model_copy(update={"telegram": telegram, "database": database, "token": SecretStr(token)})


class SimJobQueue(JobQueue):
    """PTB's JobQueue on the simulated clock: a job is due by simulated time, and nothing runs on its own (the
    scheduler stays paused, so wall-clock time passing while a person types fires and misses nothing).
    `Playground.wait` runs what falls due, in order, each at its own time."""

    def __init__(self, clock: FixedClock) -> None:
        super().__init__()
        self.clock = clock

    def _tz_now(self) -> datetime:
        return self.clock.now().astimezone(self.scheduler.timezone)

    def run_repeating(self, callback, interval, first=None, last=None, data=None, name=None, chat_id=None, user_id=None, job_kwargs=None):
        seconds = interval.total_seconds() if isinstance(interval, timedelta) else interval
        start = self._parse_time_input(seconds if first is None else first)
        # APScheduler would place the first run after the wall clock's now; here it is where the simulation says.
        return super().run_repeating(callback, interval, start, last, data, name, chat_id, user_id,
                                     {**(job_kwargs or {}), "next_run_time": start})

    async def start(self) -> None:
        if not self.scheduler.running:
            self.scheduler.start(paused=True)


class HandJobQueue(JobQueue):
    """PTB's JobQueue on the wall clock, for the in-process tests: the repeating work a start does at once (app.at_once:
    the funnel sweep, the schedule and night-mode ticks) is run by the test (run_job), when it says — running by
    itself as well, it would race the test's own run. Otherwise as in production (its first run an interval later)."""

    def run_repeating(self, callback, interval, first=None, last=None, data=None, name=None, chat_id=None, user_id=None, job_kwargs=None):
        kwargs = {k: v for k, v in (job_kwargs or {}).items() if k != "next_run_time"}
        return super().run_repeating(callback, interval, first, last, data, name, chat_id, user_id, kwargs)


class Playground:
    def __init__(
        self, db_path: str | Path, config: Config | None = None, clock: FixedClock | None = None, *, drive_jobs: bool = False,
    ) -> None:
        self.clock = clock or FixedClock()
        self.sim = FakeTelegram(clock=self.clock)
        self.config = sim_config(config or Config(), db_path, self.sim.token)
        self.drive_jobs = drive_jobs  # the console: jobs run by `wait` at simulated time (tests run them by hand)
        self.app: Application = self._build()
        self.started = False

    def _build(self) -> Application:
        return build_application(self.config, clock=self.clock, request_factory=lambda: SimRequest(self.sim, on_answer=heard_date),
                                 job_queue=SimJobQueue(self.clock) if self.drive_jobs else HandJobQueue())

    async def wait(self, span: timedelta, on_step=None) -> int:
        """Move the simulated clock by `span`, running every job that falls due on the way — timeouts, sweeps,
        deletions, schedules — in order, each with the clock at its own due time; the bot's answers are delivered
        after each. The clock jumps from one to the next: a frequent poll (app.POLLS) runs at the first of its ticks
        that has work, as stepping through every tick would have found it. `on_step(job)` is called before a job
        runs. Returns how many jobs ran."""
        assert self.drive_jobs, "wait() needs Playground(drive_jobs=True)"
        until, ran = self.clock.now() + span, 0
        while (found := await self._next_job(until)) is not None:
            job, at = found
            if at > self.clock.now():
                self.clock.set(at)
            following = job.job.trigger.get_next_fire_time(at, at + timedelta(microseconds=1))
            if following is None:
                job.schedule_removal()
            else:
                job.job.modify(next_run_time=following)
            if on_step is not None:
                on_step(job)
            await job.run(self.app)
            await self.settle()
            ran += 1
        self.clock.set(until)
        await self.settle()
        return ran

    async def _next_job(self, until: datetime):
        """The job that runs next by `until`, and when: a poll at its first tick from the time it has work (a tick
        before that finds nothing), any other job at its own time; ties in the queue's order."""
        now, best = self.clock.now(), None
        for job in self.app.job_queue.jobs():
            at = job.next_t
            if at is None:
                continue
            if (poll := POLLS.get(job.callback)) is not None:
                work = await poll(self.services)
                if work is None:
                    continue
                if at < (work := max(work, now)):
                    at = job.job.trigger.get_next_fire_time(None, work)
            if at is not None and at <= until and (best is None or at < best[1]):
                best = (job, at)
        return best

    @property
    def services(self) -> Services:
        return self.app.bot_data.services

    async def start(self) -> None:
        await self.app.initialize()
        await self.app.post_init(self.app)
        await self.app.start()
        self.started = True

    async def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        await self.app.stop()
        await self.app.post_stop(self.app)
        await self.app.shutdown()
        await self.app.post_shutdown(self.app)

    async def restart(self) -> None:
        """A fresh Application on the same database and simulator: what a process restart keeps, and loses."""
        await self.stop()
        self.app = self._build()
        await self.start()

    async def settle(self, max_rounds: int = 50) -> int:
        """Deliver every pending update, and those the bot's own actions cause, until Telegram is quiet. Updates go
        through the inbox as in production (recorded, claimed once, marked handled); those the application queued
        itself (received before a restart and not handled) are handled first."""
        handled = 0
        for _ in range(max_rounds):
            await self.app.update_queue.join()
            await self.services.logchat.idle()  # log-chat posts go out in the background
            await self.services.points.idle()  # and held chat XP past its bound is written in the background
            updates = self.sim.take_updates(ALLOWED_UPDATES)
            if not updates:
                return handled
            handled += await self.deliver(updates)
        raise RuntimeError("updates keep coming: a loop between the bot and the simulator?")

    async def deliver(self, updates: list[dict]) -> int:
        """These updates, exactly as Telegram sent them (again, perhaps), through the inbox and the Application."""
        await self.services.inbox.receive(updates)
        for data in updates:
            update = Update.de_json(data, self.app.bot)
            await self.app.process_update(update)
            self.services.inbox.finished(update.update_id)
        return len(updates)

    async def __aenter__(self) -> Playground:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
