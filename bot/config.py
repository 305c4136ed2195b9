"""config.yaml as typed, validated settings: every feature's defaults live here; a bad file stops start-up with clear lines."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

LANGUAGES = ("en", "zh")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookConfig(_Model):
    listen: str = "0.0.0.0"
    port: int = Field(8443, ge=1, le=65535)
    url_path: str = "telegram"
    public_url: str | None = None  # e.g. https://bot.example.org; required in webhook mode


class TelegramConfig(_Model):
    mode: Literal["polling", "webhook"] = "polling"
    api_url: str | None = None  # None = the real Telegram; the simulator's URL when testing end to end
    poll_timeout: int = Field(10, ge=0, le=50)
    drop_pending_updates: bool = False
    rate_limit: bool = True  # PTB's AIORateLimiter: ~30 msg/s overall, 20/min per group
    webhook: WebhookConfig = WebhookConfig()


class DatabaseConfig(_Model):
    path: str = "./data/sticky.db"
    busy_timeout_ms: int = Field(5000, ge=0)


class GroupDefaults(_Model):
    language: Literal["en", "zh"] = "en"
    timezone: str = "UTC"
    delete_commands: bool = False  # delete the member's command message after answering
    transient_seconds: int = Field(60, ge=0, le=86400)  # how long transient bot replies stay (0 = keep)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as Asia/Shanghai)") from None
        return value


class RolesConfig(_Model):
    admin_cache_minutes: int = Field(10, ge=1, le=1440)  # refresh Telegram's admin list when older than this


class ActivityConfig(_Model):
    flush_seconds: int = Field(30, ge=1, le=3600)  # per-message counters are written in batches this often


class LoggingConfig(_Model):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(_Model):
    telegram: TelegramConfig = TelegramConfig()
    database: DatabaseConfig = DatabaseConfig()
    defaults: GroupDefaults = GroupDefaults()
    roles: RolesConfig = RolesConfig()
    activity: ActivityConfig = ActivityConfig()
    logging: LoggingConfig = LoggingConfig()
    # Never read from the file: only from the BOT_TOKEN environment variable.
    token: SecretStr | None = Field(default=None, exclude=True)


class ConfigError(Exception):
    """A config file that cannot be used; `lines` are ready to print, one problem each."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def parse_config(data: Any, source: str = "config.yaml") -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: (top level): expected a mapping of sections, got {type(data).__name__}"])
    if "token" in data:
        raise ConfigError([f"{source}: token: never put the token in a file; set the BOT_TOKEN environment variable"])
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see config.yaml for every key)"
            lines.append(f"{source}: {_loc(err['loc'])}: {msg}")
        raise ConfigError(lines) from None


def load_config(path: str | os.PathLike[str] = "config.yaml", env: dict[str, str] | None = None) -> Config:
    """Read and validate the file; a missing file means all defaults. The token comes from BOT_TOKEN."""
    env = os.environ if env is None else env
    p = Path(path)
    data: Any = {}
    if p.exists():
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark else "(parse)"
            raise ConfigError([f"{p}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})"]) from None
    elif str(path) != "config.yaml":
        raise ConfigError([f"{p}: (file): no such file"])
    config = parse_config(data, str(p))
    token = env.get("BOT_TOKEN", "").strip()
    return config.model_copy(update={"token": SecretStr(token) if token else None})
