"""config.yaml as typed, validated settings: every feature's defaults live here; a bad file stops start-up with clear lines."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

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
    rate_limit: bool = True  # bot/ratelimit.py: 20 messages per 60 s per group, 30/s overall
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
        from bot.domain.settings import parse_timezone  # the same rule as /set timezone

        try:
            return parse_timezone(value)
        except ValueError:
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as Asia/Shanghai)") from None


class RolesConfig(_Model):
    admin_cache_minutes: int = Field(10, ge=1, le=1440)  # refresh Telegram's admin list when older than this


class ActivityConfig(_Model):
    flush_seconds: int = Field(30, ge=1, le=3600)  # per-message counters are written in batches this often


class StatsConfig(_Model):
    silent_days: int = Field(30, ge=1, le=365)  # a present member silent this many days counts as churned
    chart_cache_minutes: int = Field(5, ge=0, le=1440)  # a group's chart is drawn again after this long
    chart_timeout_seconds: float = Field(30, gt=0, le=600)  # a chart not drawn by then is given up (the worker replaced)
    # Start the chart worker (and load matplotlib in it) a minute after the bot starts, so the first /stats draws as
    # fast as the next (about 85 MB in the worker process); off: the first chart starts it.
    warm_chart_worker: bool = True
    spotlight_messages: int = Field(20, ge=0, le=10_000)  # per-group: messages in the first hours that flag a newcomer (0: off)
    spotlight_hours: int = Field(24, ge=1, le=168)  # the newcomer's first hours, from the join
    spotlight_bonus: int = Field(0, ge=0, le=100_000)  # per-group: points for a spotlighted newcomer (0: none)


class LoyaltyConfig(_Model):
    window_days: int = Field(30, ge=7, le=365)  # behaviour is judged over the trailing days
    active_share: float = Field(0.25, ge=0, le=1)  # share of days active that makes behaviour regular…
    checkin_regularity: float = Field(0.5, ge=0, le=1)  # …or this share of days checked in
    mercenary_share: float = Field(0.6, ge=0, le=1)  # regular, and check-ins + orders are this share of all → mercenary
    replies: int = Field(5, ge=1, le=10_000)  # replies to others in the window that count as caring
    fanatic_referrals: int = Field(2, ge=1, le=10_000)  # confirmed referrals that make a committed member a fanatic
    grace_days: int = Field(14, ge=0, le=365)  # a lower segment is shown only after the numbers said so this long


class NpsConfig(_Model):
    open_days: int = Field(7, ge=1, le=90)  # an /nps survey takes (and lets members change) answers this long


class CheckinConfig(_Model):
    base: int = Field(10, ge=0, le=100_000)  # per-group: checkin_base
    xp: int = Field(10, ge=0, le=100_000)  # per-group: checkin_xp
    streak_bonus: dict[int, int] = {3: 5, 7: 20, 30: 100}  # paid on the day the streak reaches N
    random_bonus: tuple[int, int] | None = None  # e.g. [0, 5]: a random extra within the range
    makeup_cost: int = Field(30, ge=0, le=100_000)  # per-group: makeup_cost
    makeup_window_days: int = Field(3, ge=0, le=30)
    words: list[str] = ["签到", "check in", "checkin"]  # plain words that check in when the group enables checkin_words

    @field_validator("streak_bonus")
    @classmethod
    def _positive_days(cls, value: dict[int, int]) -> dict[int, int]:
        if any(day < 1 or bonus < 0 for day, bonus in value.items()):
            raise ValueError("days must be >= 1 and bonuses >= 0")
        return dict(sorted(value.items()))

    @field_validator("random_bonus")
    @classmethod
    def _range(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and not 0 <= value[0] <= value[1]:
            raise ValueError("must be [low, high] with 0 <= low <= high")
        return value


class ChatXpConfig(_Model):
    xp_per_message: int = Field(2, ge=0, le=1000)  # per-group: chat_xp (0 = off)
    cooldown_seconds: int = Field(60, ge=0, le=86400)
    min_length: int = Field(1, ge=1, le=4096)


class TierConfig(_Model):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    min_xp: int = Field(ge=0)
    points_multiplier: float = Field(1.0, ge=0, le=10)
    perks: list[str] = []


class BadgeConfig(_Model):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    kind: Literal["first_checkin", "streak", "checkins_total", "referrals", "top_week", "feedback_accepted"]
    threshold: int = Field(1, ge=1)
    points_bonus: int = Field(0, ge=0)


class ExpiryConfig(_Model):
    mode: Literal["off", "fifo", "decay"] = "off"  # per-group: expiry_mode
    days: int = Field(365, ge=1, le=3650)  # fifo: points older than this expire; per-group: expiry_days
    decay_percent: int = Field(10, ge=0, le=100)  # decay: % of the balance removed once a year; per-group: decay_percent
    warn_days: int = Field(7, ge=0, le=60)  # warn members this many days ahead
    run_at: str = Field("03:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")  # local time of the daily expiry job


class PointsConfig(_Model):
    checkin: CheckinConfig = CheckinConfig()
    chat_xp: ChatXpConfig = ChatXpConfig()
    tiers: list[TierConfig] = [
        TierConfig(key="bronze", min_xp=0),
        TierConfig(key="silver", min_xp=200, points_multiplier=1.1, perks=["post_links"]),
        TierConfig(key="gold", min_xp=1000, points_multiplier=1.2, perks=["post_links"]),
        TierConfig(key="platinum", min_xp=3000, points_multiplier=1.3, perks=["post_links"]),
        TierConfig(key="diamond", min_xp=8000, points_multiplier=1.5, perks=["post_links"]),
    ]
    badges: list[BadgeConfig] = [
        BadgeConfig(key="first_checkin", kind="first_checkin", threshold=1, points_bonus=5),
        BadgeConfig(key="streak_7", kind="streak", threshold=7),
        BadgeConfig(key="streak_30", kind="streak", threshold=30),
        BadgeConfig(key="streak_100", kind="streak", threshold=100),
        BadgeConfig(key="first_referral", kind="referrals", threshold=1, points_bonus=10),
        BadgeConfig(key="referrals_10", kind="referrals", threshold=10, points_bonus=100),
        BadgeConfig(key="weekly_top", kind="top_week", threshold=1, points_bonus=50),
        BadgeConfig(key="feedback_accepted", kind="feedback_accepted", threshold=1, points_bonus=20),
    ]
    expiry: ExpiryConfig = ExpiryConfig()
    checkin_words: bool = False  # per-group: checkin_words - plain words (签到, "check in") check in too
    # The link gate is the rules engine's `links` rule now (rules.defaults); a config that still names it is told so.
    link_gate: bool | None = None
    max_admin_amount: int = Field(100_000, ge=1, le=10_000_000)  # the most one /give or /take may move

    @field_validator("link_gate")
    @classmethod
    def _moved(cls, value: bool | None) -> None:
        if value is not None:
            raise ValueError("link_gate moved to the rules engine: it is the rule named links in rules.defaults"
                             " (set its enabled: true or false there); /set link_gate on|off still works per group")
        return None

    @field_validator("tiers")
    @classmethod
    def _ladder(cls, value: list[TierConfig]) -> list[TierConfig]:
        from bot.domain.levels import Tier, validate_tiers

        validate_tiers([Tier(t.key, t.min_xp, t.points_multiplier, frozenset(t.perks)) for t in value])
        return value


class ReferralConfig(_Model):
    stay_hours: int = Field(24, ge=0, le=24 * 90)  # a referral is confirmed after the newcomer stayed this long…
    min_messages: int = Field(1, ge=0, le=1000)  # …and sent at least this many messages (after passing screening)
    points: int = Field(20, ge=0, le=100_000)  # the inviter's reward per confirmed referral
    xp: int = Field(20, ge=0, le=100_000)
    welcome_bonus: int = Field(5, ge=0, le=100_000)  # the newcomer's points when their referral is confirmed
    clawback_days: int = Field(7, ge=0, le=365)  # a confirmed newcomer leaving within this many days takes the reward back (0 = never)
    milestones: dict[int, int] = {10: 100}  # confirmed referrals -> one-off bonus points; each needs its referrals badge
    spreader_at: int = Field(5, ge=0, le=10_000)  # confirmed referrals that earn the spreader role (0 = never)
    deeplink_days: int = Field(7, ge=1, le=90)  # a t.me/<bot>?start=ref_… claim (or a join request's referral) attributes a join within this many days

    @field_validator("milestones")
    @classmethod
    def _positive(cls, value: dict[int, int]) -> dict[int, int]:
        if any(n < 1 or bonus < 0 for n, bonus in value.items()):
            raise ValueError("counts must be >= 1 and bonuses >= 0")
        return dict(sorted(value.items()))


class FunnelConfig(_Model):
    screening: bool = False  # per-group: screening - newcomers are read-only until they pass a check
    captcha_mode: Literal["button", "math", "question"] = "button"  # per-group: captcha_mode
    captcha_timeout_seconds: int = Field(120, ge=30, le=3600)  # per-group: captcha_timeout
    captcha_retries: int = Field(1, ge=0, le=5)  # wrong answers forgiven before removal
    late_grace_seconds: int = Field(60, ge=0, le=3600)  # a join handled late (downtime) still gets at least this long
    skip_returning: bool = True  # members who passed before are not asked again
    kick_bots_added_by_members: bool = True  # bots added by non-admins are removed (when screening is on)
    welcome: str = ""  # per-group: welcome - {name} {group} {rules}; empty = the built-in welcome
    greet: bool = True  # per-group: greet - every join is welcomed (off: nobody is)
    rules_url: str = ""  # per-group: rules - what {rules} becomes in the welcome (a link or a line of text)
    invite_delete_seconds: int = Field(60, ge=0, le=86400)  # an /invite link shown in the group is deleted after this (0 = keep)
    sweep_seconds: int = Field(300, ge=10, le=86400)  # how often due referrals are confirmed and expired checks resolved
    referral: ReferralConfig = ReferralConfig()


class OutboxConfig(_Model):
    """Push discipline for what Sticky sends on its own initiative; each key is also a per-group setting."""

    daily_cap: int = Field(10, ge=0, le=1000)  # per-group: push_daily_cap - capped posts per local day (0 = no cap)
    weekly_cap: int = Field(40, ge=0, le=5000)  # per-group: push_weekly_cap - per week from Monday (0 = no cap)
    quiet_hours: str = "off"  # per-group: quiet_hours - e.g. 22:00-08:00 in group time, or off

    @field_validator("quiet_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        from bot.domain.outbox import parse_quiet_hours

        try:
            return parse_quiet_hours(value)
        except ValueError:
            raise ValueError(f"quiet_hours {value!r}: use HH:MM-HH:MM (e.g. 22:00-08:00) or off") from None


class SchedulesConfig(_Model):
    tick_seconds: int = Field(10, ge=1, le=300)  # how often due schedules and deferred work (delete later…) are claimed
    grace_minutes: int = Field(60, ge=0, le=7 * 24 * 60)  # a run missed by downtime still runs once if at most this late

class ActivitiesConfig(_Model):
    """Scheduled activities with a window (/schedule … quiz|poll|topic); a schedule's own +POINTS and DURATION win."""

    quiz_points: int = Field(10, ge=0, le=10000)  # a right quiz answer pays this (ledger reason quiz)
    quiz_minutes: int = Field(60, ge=1, le=7 * 24 * 60)  # a quiz stays open this long, then its result is posted
    poll_points: int = Field(5, ge=0, le=10000)  # answering a poll pays this, once per member (ledger reason poll)
    poll_minutes: int = Field(24 * 60, ge=1, le=7 * 24 * 60)  # a poll stays open this long
    topic_xp: int = Field(5, ge=0, le=10000)  # XP for replying to the topic of the week, once per member (reason topic)
    topic_minutes: int = Field(7 * 24 * 60, ge=1, le=7 * 24 * 60)  # replies count this long
    topic_best: int = Field(3, ge=0, le=10)  # how many of the best replies the closing post highlights
    topic_best_points: int = Field(20, ge=0, le=10000)  # points for each highlighted reply (reason topic_best)


class ModerationConfig(_Model):
    warn_limit: int = Field(5, ge=1, le=100)  # per-group: warn_limit - at this many warns the warn mode applies and warns start again
    warn_mode: str = "ban"  # per-group: warn_mode - ban | kick | mute | tmute 1h | tban 2d
    warn_steps: dict[int, str] = Field({3: "tmute 24h"}, validate_default=True)  # warns reached below the limit -> penalty (same spelling as warn_mode)
    warn_expiry_days: int = Field(30, ge=0, le=3650)  # warns older than this no longer count (0 = never expire)
    report_cooldown_seconds: int = Field(300, ge=0, le=86400)  # one /report per member per this many seconds

    @field_validator("warn_mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        from bot.domain.moderation import parse_penalty

        try:
            return parse_penalty(value).to_text()
        except ValueError:
            raise ValueError("use ban, kick, mute, tmute DURATION or tban DURATION (durations like 30s, 10m, 2h, 7d, 2w)") from None

    @field_validator("warn_steps")
    @classmethod
    def _steps(cls, value: dict[int, str]) -> dict[int, str]:
        from bot.domain.moderation import parse_penalty

        try:
            return {n: parse_penalty(text).to_text() for n, text in value.items()}
        except ValueError:
            raise ValueError("each step is ban, kick, mute, tmute DURATION or tban DURATION") from None


class FeedbackConfig(_Model):
    points: int = Field(20, ge=0, le=10_000)  # what /fb accept N gives the author unless the admin names an amount
    show_names: bool = False  # per-group: feedback_names - /suggestions shows who suggested what
class DefaultRule(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    rule: str  # one line of the rule syntax (README: Rules engine)
    enabled: bool = True

    @field_validator("rule")
    @classmethod
    def _parses(cls, value: str) -> str:
        from bot.domain.rules import RuleSyntaxError, parse_rule

        try:
            return parse_rule(value).source
        except RuleSyntaxError as exc:
            raise ValueError(f"rule does not parse at character {exc.position}: expected {exc.expected}") from None


class RulesConfig(_Model):
    mode: Literal["on", "dry", "off"] = "on"  # per-group: rules_mode - dry logs what rules would do and does nothing
    defaults: list[DefaultRule] = Field([
        DefaultRule(name="antiflood", rule="when message and flood 6 in 10s then mute 10m"),
        DefaultRule(name="links", rule="when message or edit and has link and lacks post_links and role < spreader then delete, explain",
                    enabled=False),
        DefaultRule(name="forwards", rule="when message and has forward and lacks post_links and role < spreader then delete, explain"),
        DefaultRule(name="blocklist", rule="when message or edit and words in blocklist then delete, warn \"blocklist\""),
        DefaultRule(name="activator_xp", rule="when message and role = activator then xp +5, once a day, continue"),
    ], validate_default=True)  # seeded into every new group, in this order; /rule list shows them


class LoggingConfig(_Model):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("level", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value  # `level: info` is as clear as INFO


class Config(_Model):
    telegram: TelegramConfig = TelegramConfig()
    database: DatabaseConfig = DatabaseConfig()
    defaults: GroupDefaults = GroupDefaults()
    roles: RolesConfig = RolesConfig()
    activity: ActivityConfig = ActivityConfig()
    points: PointsConfig = PointsConfig()
    funnel: FunnelConfig = FunnelConfig()
    outbox: OutboxConfig = OutboxConfig()
    schedules: SchedulesConfig = SchedulesConfig()
    activities: ActivitiesConfig = ActivitiesConfig()
    stats: StatsConfig = StatsConfig()
    loyalty: LoyaltyConfig = LoyaltyConfig()
    nps: NpsConfig = NpsConfig()
    feedback: FeedbackConfig = FeedbackConfig()
    moderation: ModerationConfig = ModerationConfig()
    rules: RulesConfig = RulesConfig()
    logging: LoggingConfig = LoggingConfig()
    # Never read from the file: only from the BOT_TOKEN environment variable.
    token: SecretStr | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _funnel_fits(self) -> Config:
        """Every referral milestone earns its badge (a points.badges entry of kind referrals at the same count), and a
        welcome that shows {rules} has rules to show."""
        at = {b.threshold for b in self.points.badges if b.kind == "referrals"}
        missing = [n for n in self.funnel.referral.milestones if n not in at]
        if missing:
            raise ValueError(f"funnel.referral.milestones {missing}: add a points.badges entry of kind referrals with that threshold")
        if "{rules}" in self.funnel.welcome and not self.funnel.rules_url.strip():
            raise ValueError("funnel.welcome uses {rules} but funnel.rules_url is empty")
        return self


class ConfigError(Exception):
    """A config file that cannot be used; `lines` are ready to print, one problem each."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


# Fields whose form is a regular expression: say the form in words, never the expression.
_FORMS = {
    "key": "lowercase letters, digits and _, starting with a letter (at most 32), e.g. gold",
    "run_at": "a time of day as HH:MM, e.g. 03:00",
}


def _reason(err: Any) -> str:
    """pydantic's error in words an operator reads at once, with what they wrote."""
    kind, ctx, field = err["type"], err.get("ctx") or {}, str(err["loc"][-1]) if err["loc"] else ""
    given = err.get("input")
    shown = f" (got {given!r})" if isinstance(given, (str, int, float, bool)) and kind != "missing" else ""
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see config.yaml for every key)"
    if kind == "missing":
        return "required"
    if kind == "string_pattern_mismatch":
        return f"must be {_FORMS.get(field, 'in the form config.yaml shows')}{shown}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number{shown}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number{shown}"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false{shown}"
    bounds = {"greater_than_equal": "at least {ge}", "less_than_equal": "at most {le}", "greater_than": "more than {gt}",
              "less_than": "less than {lt}"}
    if kind in bounds:
        return "must be " + bounds[kind].format(**ctx) + shown
    if kind == "list_type":
        return "must be a list (lines starting with -)"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a section of key: value lines"
    msg = err["msg"].removeprefix("Value error, ")
    return msg.replace("Input should be", "must be", 1) + (shown if msg.startswith("Input should be") else "")


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
            lines.append(f"{source}: {_loc(err['loc'])}: {_reason(err)}")
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
