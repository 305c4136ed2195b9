"""build_application(config): the ONE place that wires Sticky — PTB application, services, handlers, menus, jobs."""
from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import BotCommand, BotCommandScopeAllChatAdministrators, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import (
    Application, ApplicationBuilder, CallbackQueryHandler, ChatJoinRequestHandler, ChatMemberHandler, CommandHandler,
    ContextTypes, Defaults, JobQueue,
    MessageHandler, PollAnswerHandler, TypeHandler, filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.context import BotContext, BotData, Services
from bot.processor import ChatUpdateProcessor, StickyApplication, in_the_door
from bot.ratelimit import FloodLimiter
from bot.receiving import AnsweredRequest, InboxQueue, InboxRequest, dated_httpx_request
from bot.domain.roles import Role
from bot.services.activity import ActivityBuffer
from bot.services.feedback import FeedbackService
from bot.services.funnel import FunnelService
from bot.services.groups import GroupService
from bot.services.inbox import InboxService
from bot.services.members import MemberService
from bot.services.moderation import ModerationService
from bot.services.logchat import LogChatService
from bot.services.rules import RulesService
from bot.services.actions import Actions
from bot.services.points import PointsService
from bot.services.outbox import Outbox
from bot.services.roles import RoleService
from bot.services.nightmode import NightModeService
from bot.services.schedules import ScheduleService, announce_end, record_copy
from bot.services.polls import PollService
from bot.services.topics import TopicService
from bot.services.shop import ShopService
from bot.services.stats import StatsService
from bot.services.spotlight import SpotlightService
from bot.services.loyalty import LoyaltyService
from bot.services.nps import NpsService
from bot.services.export import ExportService
from bot.services.connections import ConnectionService
from bot.domain.loyalty import Thresholds
from bot.telegram_port import BotOutbox, BotPort, ModerationPort
from bot.texts import LANGUAGES, core as core_texts, translator
from bot.texts.commands import description
from handlers import (
    connections, core, export, feedback, funnel, lifecycle, loyalty, moderation, nightmode, points, polls, rules, schedule_flow,
    schedules, shop, stats, topics,
)
from handlers.base import attempt, spec_of
from handlers.middleware import Middleware, translator_for
from handlers.router import CommandRouter, GroupMessageRouter, always, new_reply, reply_with_text_or_photo, with_text
from storage.activity import ActivityRepo
from storage.db import Database
from storage.feedback import FeedbackRepo
from storage.funnel import FunnelRepo
from storage.groups import GroupRepo
from storage.inbox import InboxRepo
from storage.ledger import LedgerRepo
from storage.members import MemberRepo
from storage.points import PointsRepo
from storage.outbox import OutboxRepo
from storage.roles import RoleRepo
from storage.nightmode import NightModeRepo
from storage.schedules import CampaignRepo, ScheduleRepo
from storage.polls import PollRepo
from storage.topics import TopicRepo
from storage.rules import LogChatRepo, ModerationRepo, RulesRepo
from storage.shop import ShopRepo
from storage.stats import StatsRepo
from storage.loyalty import LoyaltyRepo
from storage.nps import NpsRepo
from storage.export import ExportRepo
from storage.connections import ConnectionRepo

log = logging.getLogger(__name__)

# Real Telegram sends chat_member only when asked: request exactly what Sticky handles.
ALLOWED_UPDATES = [
    "message", "edited_message", "callback_query", "chat_member", "my_chat_member", "poll_answer", "chat_join_request",
    "channel_post",  # only /setlog is answered in a channel
]

# "X joined" / "X left" in a group: every bot there gets these, admin or not.
MEMBER_MESSAGE = filters.ChatType.GROUPS & (filters.StatusUpdate.NEW_CHAT_MEMBERS | filters.StatusUpdate.LEFT_CHAT_MEMBER)

# Handler groups, in the order they run for one update.
GROUP_MIDDLEWARE = -10
GROUP_MAIN = 0
# Every group message and edit (GroupMessageRouter): the rules engine first, a message a rule deletes goes no further;
# then a plain message's own steps, and nothing else is asked. A command goes on to GROUP_MAIN's router.
GROUP_RULES = -2
GROUP_FUNNEL_START = -1  # /start ref_… and /start cap_… answer before the core /start (and stop there)
GROUP_FUNNEL = 5  # join funnel: screening after lifecycle recorded the member; private answers
GROUP_FLOWS = 6  # a reply in private chat to a step-by-step prompt, on a connected group
GROUP_LAST = 9  # what nothing else took: an unknown command, plain text in private → a pointer to /help


WARM_CHART_WORKER_AFTER = 60  # seconds after the start: the chart worker warmed (config stats.warm_chart_worker)
CHECKPOINT_SECONDS = 5  # how often the WAL is checkpointed (PASSIVE, beside the writer)
STAYS_SECONDS = 60  # how often a message a rule could not surely delete is asked about again


def all_commands() -> list:
    return [*core.COMMANDS, *points.COMMANDS, *shop.COMMANDS, *funnel.COMMANDS, *schedules.COMMANDS, *nightmode.COMMANDS, *stats.COMMANDS, *loyalty.COMMANDS,
            *export.COMMANDS, *feedback.COMMANDS, *moderation.COMMANDS, *rules.COMMANDS, *topics.COMMANDS, *connections.COMMANDS]


# CPython runs a full (generation-2) collection whenever the heap has grown by a quarter and 10 younger collections
# passed; it keeps the GIL throughout. While 100,000 members chatted that was 13 collections in 28 s of the bench's P1,
# up to 160-300 ms each, and every update and the writer thread waited them out: each writer hold over 100 ms
# overlapped one of nearly its length. With 1,000 in place of 10, P1 ran with none, the longest hold 19-25 ms
# (was 177-180). Young cycles are collected as often as before; only long-lived garbage in cycles waits longer.
GC_THRESHOLDS = (700, 10, 1000)
# The database's threads (the writer's, the reader's) give up the interpreter lock at every SQLite call and must get it
# back from the event loop's thread, which hands it over only when it waits or when the waiter has asked for
# longer than the switch interval (5 ms by default). A transaction of six statements while the loop was busy so held
# the writer up to 6 x 5 ms and more, and every update waiting for the writer (the inbox's record of each batch, a
# check-in) waited that long too: P2's tail. At 1 ms each call waits at most about that (`python -m bench.gil`: a
# 6-statement transaction beside a busy thread, six runs at load 0.5-3: p99 1.6-72 ms at 5 ms, 0.15-13.5 ms at 1 ms).
SWITCH_INTERVAL = 0.001


def tune_runtime() -> None:
    """For a process that runs Sticky (`python -m bot run`, the bench): full collections a hundred times rarer, and
    the interpreter lock handed to a waiting database thread within a millisecond."""
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL)


def build_application(
    config: Config, *, clock: Clock | None = None, request_factory: Callable[[], BaseRequest] | None = None,
    job_queue: JobQueue | None = None,
) -> Application:
    if config.token is None:
        raise ValueError("no bot token: set the BOT_TOKEN environment variable")
    clock = clock or SystemClock()
    db = Database(config.database.path, config.database.busy_timeout_ms)
    inbox = InboxService(InboxRepo(db, clock.now), clock)
    activity = ActivityBuffer(ActivityRepo(db))
    inbox.repo.add_rider(activity)  # a message's counts commit with its update's handled mark
    processor = ChatUpdateProcessor(door_presses=(funnel.CAPTCHA_PRESS,), door_commands=funnel.decides_the_door)
    builder = (
        ApplicationBuilder()
        .application_class(StickyApplication)
        .token(config.token.get_secret_value())
        # Updates are recorded in the inbox as they arrive (see bot/receiving.py) and handled per chat.
        .update_queue(InboxQueue(inbox))
        .concurrent_updates(processor)
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .defaults(Defaults(
            parse_mode=ParseMode.HTML, tzinfo=ZoneInfo(config.defaults.timezone),
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ))
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    # PTB's own pool sizes: 256 connections for calls, one for getUpdates.
    calls = request_factory() if request_factory is not None else dated_httpx_request(connection_pool_size=256)
    updates_request = request_factory() if request_factory is not None else HTTPXRequest(connection_pool_size=1)
    answered = AnsweredRequest(calls, inbox.before_telegram_acts)
    builder = builder.request(answered).get_updates_request(InboxRequest(updates_request, inbox))
    if job_queue is not None:  # the console's (due by the simulated clock, run when it moves), the tests' (HandJobQueue)
        builder = builder.job_queue(job_queue)
    if config.telegram.api_url:
        base = config.telegram.api_url.rstrip("/")
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    if config.telegram.rate_limit:
        # Telegram's limits, 20 messages a minute per group and 30 a second overall (bot/ratelimit.py).
        builder = builder.rate_limiter(FloodLimiter())
    app = builder.build()
    processor.on_finished = lambda update: inbox.finished(update.update_id) if isinstance(update, Update) else None

    groups, members, roles = GroupRepo(db), MemberRepo(db), RoleRepo(db)
    actions = Actions(ModerationPort(app.bot), clock)
    answered.dated = actions.asking  # each answer's Date measures Telegram's clock against ours
    group_service = GroupService(groups, config, clock, actions.rights)
    points_service = PointsService(db, LedgerRepo(db), PointsRepo(db), group_service, config.points, clock, CampaignRepo(db))
    points_service.ride_with(inbox.repo)  # a message's chat XP commits with its update's handled mark
    outbox = Outbox(OutboxRepo(db), ScheduleRepo(db), group_service, PointsRepo(db), members, BotOutbox(app.bot, attempt), clock)
    # What a sent post also records, in the transaction of its 'sent': a schedule's copy, a campaign start's end.
    outbox.after_sent.update(schedule=record_copy, announces=announce_end)
    app.bot_data.services = Services(
        config=config, clock=clock, db=db, inbox=inbox,
        groups=group_service,
        members=MemberService(members, groups, roles, BotPort(app.bot), clock, timedelta(minutes=config.roles.admin_cache_minutes)),
        roles=(role_service := RoleService(roles, members, clock)),
        activity=activity,
        points=points_service,
        funnel=FunnelService(db, FunnelRepo(db), group_service, members, points_service, role_service, LedgerRepo(db), config.funnel, clock,
                             inbox.repo.along),
        shop=ShopService(db, ShopRepo(db), points_service, clock),
        outbox=outbox,
        feedback=FeedbackService(db, FeedbackRepo(db), points_service, clock, config.feedback.points),
        # The points service's campaign windows (cached per chat): a campaign a schedule starts pays at once.
        schedules=ScheduleService(ScheduleRepo(db), group_service, outbox, clock, timedelta(minutes=config.schedules.grace_minutes),
                                  campaigns=points_service.campaigns),
        polls=PollService(db, PollRepo(db), ScheduleRepo(db), outbox, clock, config.activities),
        topics=TopicService(db, TopicRepo(db), clock, config.activities, inbox.repo.along),
        nightmode=NightModeService(NightModeRepo(db), group_service, ModerationPort(app.bot), clock),
        stats=(stats_service := StatsService(StatsRepo(db), group_service, clock, config.stats)),
        spotlight=SpotlightService(db, group_service, config.stats, clock),
        loyalty=(loyalty_service := LoyaltyService(LoyaltyRepo(db), group_service, Thresholds(**config.loyalty.model_dump()))),
        nps=NpsService(NpsRepo(db), clock, config.nps.open_days),
        export=ExportService(ExportRepo(db), members, points_service.tiers, loyalty_service, stats_service),
        moderation=(moderation_service := ModerationService(
            db, ModerationRepo(db), group_service, actions, config.moderation, clock)),
        rules=(rules_service := RulesService(db, RulesRepo(db), moderation_service, group_service, members, LedgerRepo(db),
                                             points_service.tiers, config.rules, clock, activity=activity, deferred=ScheduleRepo(db))),
        logchat=LogChatService(LogChatRepo(db), outbox, clock),
        connections=ConnectionService(ConnectionRepo(db), groups, members, BotPort(app.bot), clock),
    )
    moderation_service.listeners.append(moderation.log_listener(app))
    # The rules engine hears what happens beyond messages, from the services where it happens (after their commits).
    s = app.bot_data.services
    # Who wrote a received batch's messages is stored with the batch (one commit): their updates wait for no write.
    s.members.registered = group_service.known
    inbox.add_with_batch(s.members.with_batch)
    actions.on_protected = s.members.refresh_admins  # "user is an administrator": a promotion we missed
    s.members.rule_events = s.points.rule_events = s.funnel.rule_events = rules_service.feed
    rules_service.announcer = rules.announcer(s, app.create_task)
    s.members.changed = s.roles.changed = rules_service.forget_member  # the rules' member cache hears every change
    commands = all_commands()
    app.bot_data.commands = commands

    app.add_handler(TypeHandler(Update, Middleware({spec_of(c).name: spec_of(c) for c in commands})), group=GROUP_MIDDLEWARE)
    app.add_handler(ChatMemberHandler(lifecycle.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER), group=GROUP_MAIN)
    app.add_handler(ChatMemberHandler(lifecycle.on_chat_member, ChatMemberHandler.CHAT_MEMBER), group=GROUP_MAIN)
    # "X joined" / "X left": all Sticky hears of joins and leaves where it is no admin (Telegram sends chat_member
    # updates to admins only); handled as those updates are, here and in the funnel — and ignored where it is one.
    app.add_handler(MessageHandler(MEMBER_MESSAGE, lifecycle.on_member_message), group=GROUP_MAIN)
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, lifecycle.on_migrate), group=GROUP_MAIN)
    # Every command in one router (looked up by name); a new module's COMMANDS only needs adding to all_commands().
    app.add_handler(router := CommandRouter(commands), group=GROUP_MAIN)
    app.add_handler(PollAnswerHandler(polls.on_poll_answer), group=GROUP_MAIN)
    app.add_handler(CallbackQueryHandler(points.on_season_button, pattern=r"^season:"), group=GROUP_MAIN)
    app.add_handler(CallbackQueryHandler(shop.on_shop_button, pattern=shop.CALLBACK_PATTERN), group=GROUP_MAIN)
    app.add_handler(CallbackQueryHandler(loyalty.on_nps_button, pattern=loyalty.NPS_PATTERN), group=GROUP_MAIN)
    app.add_handler(CallbackQueryHandler(feedback.on_vote, pattern=feedback.CALLBACK_PATTERN), group=GROUP_MAIN)
    app.add_handler(CallbackQueryHandler(schedule_flow.on_flow_button, pattern=schedule_flow.CALLBACK_PATTERN), group=GROUP_MAIN)
    app.add_handler(CallbackQueryHandler(moderation.on_warn_button, pattern=moderation.WARN_PATTERN), group=GROUP_MAIN)
    app.add_handler(CallbackQueryHandler(moderation.on_report_button, pattern=moderation.REPORT_PATTERN), group=GROUP_MAIN)
    app.add_handler(CallbackQueryHandler(rules.on_import_button, pattern=rules.IMPORT_PATTERN), group=GROUP_MAIN)
    app.add_handler(MessageHandler(filters.UpdateType.CHANNEL_POST & filters.Regex(r"^/setlog(@\w+)?\s*$"), moderation.on_channel_setlog),
                    group=GROUP_MAIN)
    app.add_handler(CallbackQueryHandler(connections.on_connect_button, pattern=connections.CONNECT_PATTERN), group=GROUP_MAIN)
    app.add_handler(CallbackQueryHandler(core.on_language_button, pattern=core.LANGUAGE_PATTERN), group=GROUP_MAIN)
    app.add_handler(CallbackQueryHandler(connections.on_pick_button, pattern=connections.PICK_PATTERN), group=GROUP_MAIN)
    # A message someone wrote in a group, in one handler (handlers/router.py): the rules judge it first (a message
    # a rule deletes goes no further; a command is judged as a message — content rules: "/x <spam>" is spam — and,
    # unless it is Sticky's own, by rules on the `command` trigger and counted for flood; admins are exempt as for any
    # message; an edit is judged as an edit); then, in this order, what a plain message (no command) goes through.
    # Each step's condition is the one its own handler had (a new message and an edit alike unless it says new).
    app.add_handler(GroupMessageRouter(rules.on_group_message, router, [
        (points.on_checkin_words, with_text),  # plain-word triggers (check-in words)
        (points.on_group_message, always),  # per-message counters (chat XP)
        (topics.on_group_reply, new_reply),  # replies to an open topic of the week (XP), or to one of its replies
        (funnel.on_group_message, always),  # join funnel: referral message counting
        (schedule_flow.on_flow_reply, reply_with_text_or_photo),  # a reply to one of Sticky's step-by-step prompts
    ]), group=GROUP_RULES)
    # A reply in private chat to one of Sticky's step-by-step prompts acts on the connected group (/connect); in a
    # group, such a reply is the router's last step.
    app.add_handler(MessageHandler(filters.REPLY & filters.ChatType.PRIVATE & (filters.TEXT | filters.PHOTO) & ~filters.COMMAND,
                                   schedule_flow.on_flow_reply), group=GROUP_FLOWS)
    app.add_handler(CommandHandler("start", funnel.on_start_payload, filters.ChatType.PRIVATE & filters.Regex(r"^/start(@\w+)?( (ref|cap)_|\s*$)")), group=GROUP_FUNNEL_START)
    app.add_handler(ChatMemberHandler(funnel.on_chat_member, ChatMemberHandler.CHAT_MEMBER), group=GROUP_FUNNEL)
    app.add_handler(MessageHandler(MEMBER_MESSAGE, funnel.on_member_message), group=GROUP_FUNNEL)
    app.add_handler(ChatJoinRequestHandler(funnel.on_join_request), group=GROUP_FUNNEL)
    app.add_handler(CallbackQueryHandler(funnel.on_captcha_button, pattern=funnel.CAPTCHA_PATTERN), group=GROUP_FUNNEL)
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, funnel.on_private_text), group=GROUP_FUNNEL)
    app.add_handler(MessageHandler(filters.COMMAND, core.on_unknown_command), group=GROUP_LAST)
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, core.on_private_chatter), group=GROUP_LAST)
    app.add_error_handler(on_error)
    return app


async def post_init(app: Application) -> None:
    s: Services = app.bot_data.services
    await s.db.open()
    # What was received before the last stop and not handled goes first, in Telegram's order.
    await s.spotlight.load()  # before the backlog: its messages count toward a newcomer's first hours
    await s.points.load_cooldowns()  # before the backlog too: no second chat-XP award inside a cooldown after a restart
    for data in await s.inbox.recover():
        await app.update_queue.put(Update.de_json(data, app.bot))
    try:
        await set_command_menus(app)
    except TelegramError as exc:  # a convenience: the bot works without its "/" menus
        log.warning("could not set the command menus (%s): running without them", exc)
    arm_jobs(app)
    if s.config.stats.warm_chart_worker:
        s.stats.charts.warm_later(WARM_CHART_WORKER_AFTER)


async def post_stop(app: Application) -> None:
    """Stopping, still connected to Telegram: write what was counted and announce the tier-ups it reached."""
    s: Services = app.bot_data.services
    if s.db.is_open:
        try:
            await points.job_flush(BotContext(app))
        except Exception:  # post_shutdown tries the write again; the announcement is what is lost
            log.exception("flush at stop failed")


async def post_shutdown(app: Application) -> None:
    s: Services = app.bot_data.services
    await s.stats.charts.close()  # the chart worker process ends with the bot
    if s.db.is_open:
        await s.logchat.idle()
        await s.activity.flush()
        await s.points.flush_chat_xp()
        await s.inbox.flush()
        await s.db.close()


def minute_past_the_hour(now: datetime) -> float:
    """Seconds from `now` to the next hh:01:00."""
    at = now.replace(minute=1, second=0, microsecond=0)
    if at <= now:
        at += timedelta(hours=1)
    return (at - now).total_seconds()


def arm_jobs(app: Application) -> None:
    """Jobs are rebuilt from config and the database at every start; PTB's JobQueue keeps nothing itself."""
    s: Services = app.bot_data.services
    if app.job_queue is None:
        return
    app.job_queue.run_repeating(points.job_flush, interval=s.config.activity.flush_seconds, name="counters:flush")
    app.job_queue.run_repeating(job_checkpoint, interval=CHECKPOINT_SECONDS, first=CHECKPOINT_SECONDS, name="db:checkpoint")
    app.job_queue.run_repeating(job_prune_inbox, interval=3600, first=120, name="inbox:prune")
    # Expiry is idempotent per local day, so an hourly pass is a safe way to honour every group's timezone.
    app.job_queue.run_repeating(points.job_expiry, interval=3600, first=60, name="points:expiry")
    app.job_queue.run_repeating(points.job_weekly, interval=3600, first=90, name="points:weekly")
    # A local day turns final at a local midnight, on the hour in most zones: the close (and the warming of what
    # /stats keeps) runs a minute past each hour, so the first /stats of a day rarely pays for it; and once soon
    # after a start, for the days closed while we were down.
    app.job_queue.run_once(stats.job_close_days, when=150, name="stats:close:start")
    app.job_queue.run_repeating(stats.job_close_days, interval=3600, first=minute_past_the_hour(s.clock.now()),
                                name="stats:close")
    # First run at once: checks that expired while we were down are resolved, live ones re-armed as captcha:{chat}:{user}.
    # Code sends a kill cut off (before or after the message went out) are sent once more, the same code, at once.
    app.job_queue.run_once(shop.job_resume_codes, when=0, name="shop:resume", job_kwargs=at_once(s.clock))
    app.job_queue.run_repeating(funnel.job_sweep, interval=s.config.funnel.sweep_seconds, first=0, name="funnel:sweep",
                                job_kwargs=at_once(s.clock))
    # What a message a rule meant to delete earns by staying, left waiting by a kill or an unsure delete.
    app.job_queue.run_repeating(rules.job_settle_stays, interval=STAYS_SECONDS, first=0, name="rules:stays",
                                job_kwargs=at_once(s.clock))
    # Schedules and deferred work live in the database; the first tick at once runs what fell due while we were down.
    app.job_queue.run_repeating(schedules.job_tick, interval=s.config.schedules.tick_seconds, first=0, name="schedules:tick",
                                job_kwargs=at_once(s.clock))
    # Night mode is judged from the clock at every look: a group closed when we went down is reopened in the morning.
    app.job_queue.run_repeating(nightmode.job_night, interval=s.config.schedules.tick_seconds, first=0, name="nightmode:tick",
                                job_kwargs=at_once(s.clock))


def at_once(clock: Clock) -> dict:
    """What makes a job armed at start (post_init) run as soon as the JobQueue starts, however long the start takes.
    APScheduler works out a job's first run only when the scheduler starts, after post_init: an interval job whose
    `first=0` lies in the past by then was put off a whole interval (the funnel sweep by sweep_seconds: after a crash,
    a newcomer stayed restricted that long), and a run_once more than its 1 s grace late was dropped. `clock` is the
    one the JobQueue keeps (the system's; the console's simulated one)."""
    return {"next_run_time": clock.now(), "misfire_grace_time": None}


async def _now_if(services: Services, work: bool) -> datetime | None:
    return services.clock.now() if work else None


async def job_checkpoint(context: BotContext) -> None:
    """The WAL is copied into the database here, not inside a commit (the writer has autocheckpoint off)."""
    await context.services.db.checkpoint()


async def job_prune_inbox(context: BotContext) -> None:
    await context.services.inbox.prune()
    await context.services.rules.prune_marks()  # join rules' once-marks, kept as long as handled updates


# The frequent polls, by their job, each with when it next has work (None: none until something new comes in).
# Production runs them on their interval; a simulated clock that jumps (Playground.wait) runs one only at its first
# tick from that time on — the tick that would have found the work — not the thousands of empty ticks before it.
POLLS: dict[Callable, Callable[[Services], Awaitable[datetime | None]]] = {
    job_checkpoint: lambda s: _now_if(s, s.db.written_since_checkpoint),
    points.job_flush: lambda s: _now_if(s, s.activity.unflushed or s.points.unflushed),
    schedules.job_tick: lambda s: s.schedules.next_due(),
    nightmode.job_night: lambda s: s.nightmode.next_due(),
}


async def set_command_menus(app: Application) -> None:
    """The '/' menu per place and role, in both languages (Telegram picks by the user's app language)."""
    commands = [spec_of(c) for c in app.bot_data.commands]
    scopes = [
        (BotCommandScopeAllPrivateChats(), lambda s: s.where in ("private", "any")),
        (BotCommandScopeAllGroupChats(), lambda s: s.where in ("group", "any") and s.role <= Role.MEMBER and not s.admin_tool),
        (BotCommandScopeAllChatAdministrators(), lambda s: s.where in ("group", "any") and s.role <= Role.ADMIN),
    ]
    for lang in LANGUAGES:
        _ = translator(lang)
        for scope, keep in scopes:
            menu = [BotCommand(spec.name, description(_, spec.name)) for spec in commands if keep(spec)]
            await app.bot.set_my_commands(menu, scope=scope, language_code=None if lang == "en" else lang)


async def on_error(update: object, context: BotContext) -> None:
    if update is None and context.job is None and isinstance(context.error, TelegramError):
        # A failed poll (run_polling hands those here). Network trouble and server errors are said once per outage
        # by bot/receiving.py; anything else (409: another instance polls with this token) in one line.
        if not isinstance(context.error, NetworkError) or isinstance(context.error, BadRequest):
            log.warning("polling: %s: %s", type(context.error).__name__, context.error)
        return
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error handling update %s: %s", update_id, context.error, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            # A fresh context: the middleware's language choice is not in it, so make it again.
            tr = await translator_for(update, context)
        except Exception:  # e.g. the database is what failed
            tr = context.tr
        chat_id = update.effective_chat.id

        async def tell() -> None:
            try:
                await context.bot.send_message(chat_id, core_texts.internal_error(tr))
            except Exception:  # the error may be that we cannot write there at all
                log.warning("could not tell chat %s about the error", chat_id)

        if in_the_door():  # from a task, as every group post of the door lane (PTB runs this inside the update)
            context.application.create_task(tell(), name=f"error-notice:{chat_id}")
        else:
            await tell()
