"""Sticky's real Application wired to the simulated Telegram in-process: the engine of the tests, `demo` and `console`."""
from __future__ import annotations

from pathlib import Path

from telegram import Update
from telegram.ext import Application

from bot.app import ALLOWED_UPDATES, build_application
from bot.clock import FixedClock
from bot.config import Config
from bot.context import Services
from bot.sim import FakeTelegram, SimRequest


def sim_config(config: Config, db_path: str | Path, token: str) -> Config:
    """The same config, pointed at a scratch database; no rate limiter (the simulated clock does not wait)."""
    from pydantic import SecretStr

    telegram = config.telegram.model_copy(update={"rate_limit": False, "api_url": None})
    database = config.database.model_copy(update={"path": str(db_path)})
    return config.model_copy(update={"telegram": telegram, "database": database, "token": SecretStr(token)})


class Playground:
    def __init__(self, db_path: str | Path, config: Config | None = None, clock: FixedClock | None = None) -> None:
        self.clock = clock or FixedClock()
        self.sim = FakeTelegram(clock=self.clock)
        self.config = sim_config(config or Config(), db_path, self.sim.token)
        self.app: Application = self._build()
        self.started = False

    def _build(self) -> Application:
        return build_application(self.config, clock=self.clock, request_factory=lambda: SimRequest(self.sim))

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
