"""Points economy commands: /checkin (and check-in words), /makeup, /me, /history, /levels, /earn, /badges, /top,
/give, /take, /season, /optout, /optin — plus the chat-XP counter and the batch/expiry jobs."""
from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import BotContext
from bot.domain.errors import UsageError, UserError
from bot.domain.points import InsufficientPointsError, SeasonArgumentError, parse_amount
from bot.domain.roles import Role
from bot.services.members import user_id_arg
from bot.texts import core as core_texts
from bot.texts import points as texts
from bot.texts import language_for_user, translator
from handlers.base import (
    answer_query, command, edit_query_message, person_id, render_error, replied_person, reply,
    resolve_target, sender, subject,
)
from handlers.router import GROUP_CHAT

log = logging.getLogger(__name__)

BOARDS = ("points", "xp", "checkin", "streak", "invites")
WINDOWS = ("week", "month", "season", "all")
OPTOUT_KINDS = {"private": ["private"], "mentions": ["mentions"], "all": ["private", "mentions"]}


async def _names(context: BotContext, chat_id: int, rows):
    users = await context.services.members.users([user_id for user_id, _ in rows])
    return [(users[u].display if u in users else str(u), value) for u, value in rows]


async def _checkin(update: Update, context: BotContext, user_id: int) -> None:
    chat, who = update.effective_chat, sender(update)
    s = context.services
    result = await s.points.checkin(chat.id, user_id, update.effective_message.date)
    tz = (await s.groups.settings(chat.id)).timezone
    # Name the tier whose multiplier was paid: a check-in that reaches the next tier still paid the old one's.
    tier = result.tier or await s.points.tier_of(chat.id, who.user_id)
    text = texts.checkin_done(context.tr, who.display, result.reward, result.rank_today, tier, tz, result.campaign,
                              result.birthday)
    extra = texts.awarded(context.tr, who.display, result.awarded.badges, result.awarded.tier_up)
    await reply(update, context, text + ("\n" + extra if extra else ""))


@command("checkin")
async def cmd_checkin(update: Update, context: BotContext) -> None:
    await _checkin(update, context, person_id(context))


async def on_checkin_words(update: Update, context: BotContext) -> None:
    """签到 / "check in" as a plain message, when the group turned checkin_words on."""
    message = update.effective_message
    s = context.services
    settings = await s.groups.settings(message.chat.id)
    if not settings.checkin_words or message.sender_chat is not None or message.from_user.is_bot:
        return
    words = {w.casefold() for w in s.config.points.checkin.words}
    if (message.text or "").strip().casefold() not in words:
        return
    await earn_by_staying(update, context)  # before the check-in's commit, to be written in it
    try:
        # The middleware resolves context.actor for commands only: a plain message names its author itself.
        await _checkin(update, context, message.from_user.id)
    except UserError as err:
        await reply(update, context, await render_error(update, context, err), transient=True)


@command("makeup")
async def cmd_makeup(update: Update, context: BotContext) -> None:
    result = await context.services.points.makeup(update.effective_chat.id, person_id(context), update.effective_message.date)
    await reply(update, context, texts.makeup_done(context.tr, result))


@command("me", personal=True)
async def cmd_me(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if context.actor.anonymous_admin and not context.args and replied_person(update) is None:
        await reply(update, context, core_texts.me(context.tr, chat.title or "", context.actor.role))
        return
    who = await subject(update, context, "me")
    profile = await context.services.points.profile(chat.id, who.user_id)
    await reply(update, context, texts.profile(context.tr, who.display, who.role, profile, context.services.points.tiers))


@command("history", personal=True)
async def cmd_history(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    who = await subject(update, context, "history")
    entries = await context.services.points.history(chat.id, who.user_id)
    tz = (await context.services.groups.settings(chat.id)).timezone
    await reply(update, context, texts.history(context.tr, who.display, entries, tz))


@command("levels", where="any")
async def cmd_levels(update: Update, context: BotContext) -> None:
    in_force: set[str] = set()
    if update.effective_chat.type != "private":  # a perk is shown where a rule of this group gates by it
        in_force = await context.services.rules.perks_in_force(update.effective_chat.id)
    await reply(update, context, texts.levels(context.tr, context.services.points.tiers, in_force))


@command("earn")
async def cmd_earn(update: Update, context: BotContext) -> None:
    s = context.services
    chat_id = update.effective_chat.id
    settings = await s.groups.settings(chat_id)
    rules = await s.points.checkin_rules(chat_id)
    referral = s.config.funnel.referral
    await reply(update, context, texts.earn(context.tr, texts.EarnRules(
        checkin=rules, chat_xp=settings.chat_xp, cooldown=s.config.points.chat_xp.cooldown_seconds,
        words=s.config.points.checkin.words if settings.checkin_words else None, badges=s.points.badges,
        referral_points=referral.points, referral_xp=referral.xp, welcome_bonus=referral.welcome_bonus,
        milestones=referral.milestones, expiry_mode=settings.expiry_mode, expiry_days=settings.expiry_days,
        decay_percent=settings.decay_percent, warn_days=s.config.points.expiry.warn_days,
    )))


@command("badges", personal=True)
async def cmd_badges(update: Update, context: BotContext) -> None:
    who = await subject(update, context, "badges")
    held = await context.services.points.badges_of(update.effective_chat.id, who.user_id)
    await reply(update, context, texts.badges(context.tr, who.display, held, context.services.points.badges))


@command("top")
async def cmd_top(update: Update, context: BotContext) -> None:
    board, window, period = "points", "season", None
    for arg in (a.lower() for a in context.args or []):
        if arg in BOARDS:
            board = arg
        elif arg in WINDOWS:
            window = period = arg
        else:
            raise UsageError()
    if board == "streak" and period is not None:  # a streak runs up to today: showing it "for the week" would mislead
        await reply(update, context, texts.top_streak_has_no_period(context.tr))
        return
    chat_id = update.effective_chat.id
    s = context.services
    if board == "invites":
        rows = await s.funnel.top_inviters(chat_id, await s.points.window_start(chat_id, window))
    else:
        rows = await s.points.top(chat_id, board, window)
    await reply(update, context, texts.top(context.tr, board, window, await _names(context, chat_id, rows)))


def _split_adjust(update: Update, args: list[str]) -> tuple[str | None, list[str]]:
    """/give and /take: with a reply the replied-to member is the target and a number is the AMOUNT (unless an
    @username is named); without one the first argument (@username or id) names the member."""
    replied = update.effective_message.reply_to_message
    if replied is not None and replied.forum_topic_created:  # in forums every message replies to the topic
        replied = None
    if args and (args[0].startswith("@") or (replied is None and user_id_arg(args[0]) is not None)):
        return args[0], args[1:]
    return None, args


async def _adjust(update: Update, context: BotContext, give: bool) -> None:
    target_arg, rest = _split_adjust(update, context.args or [])
    if not rest:
        raise UsageError()
    target = await resolve_target(update, context, target_arg)
    try:
        wallet = await context.services.points.adjust(
            update.effective_chat.id, context.actor.user_id, target.user.user_id, rest[0], " ".join(rest[1:]), update.update_id, give,
            actor_is_owner=context.actor.role >= Role.OWNER, target_is_bot=target.user.is_bot,
        )
    except InsufficientPointsError as err:  # the balance is the member's, not the admin's
        raise InsufficientPointsError(err.balance, err.needed, holder=target.user.display) from None
    amount = parse_amount(rest[0], context.services.config.points.max_admin_amount)
    await reply(update, context, texts.adjusted(context.tr, target.user.display, amount, give, wallet.points))


@command("give", role=Role.ADMIN)
async def cmd_give(update: Update, context: BotContext) -> None:
    await _adjust(update, context, True)


@command("take", role=Role.ADMIN)
async def cmd_take(update: Update, context: BotContext) -> None:
    await _adjust(update, context, False)


@command("season", role=Role.ADMIN, remote=False)
async def cmd_season(update: Update, context: BotContext) -> None:
    number = max(1, await context.services.points.season_number(update.effective_chat.id))
    if context.args:
        raise SeasonArgumentError(" ".join(context.args), number)
    ok, no = core_texts.confirm_buttons(context.tr)
    markup = InlineKeyboardMarkup([[
        InlineKeyboardButton(ok, callback_data=f"season:ok:{number}"), InlineKeyboardButton(no, callback_data="season:no"),
    ]])
    await reply(update, context, texts.season_confirm(context.tr, number), markup=markup)


async def on_season_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if context.actor.role < Role.ADMIN:
        await answer_query(query, texts.only_presser(context.tr), show_alert=True)
        return
    chat_id = query.message.chat.id
    if query.data == "season:no":
        await answer_query(query)
        await edit_query_message(query, texts.season_cancelled(context.tr))
        return
    shown = int(query.data.rsplit(":", 1)[1])
    points = context.services.points
    current = await points.season_number(chat_id)
    archived = await points.top(chat_id, "points", "season", 3)
    started = await points.new_season(chat_id, current) if max(1, current) == shown else None
    if started is None:
        # A double tap or an old button: say so to the presser, and keep the announcement as it is.
        await answer_query(query, texts.season_stale(context.tr), show_alert=True)
        return
    await answer_query(query)
    await edit_query_message(query, texts.season_started(context.tr, started, await _names(context, chat_id, archived)))


@command("optout", where="any")
async def cmd_optout(update: Update, context: BotContext) -> None:
    await _optout(update, context, True)


@command("optin", where="any")
async def cmd_optin(update: Update, context: BotContext) -> None:
    await _optout(update, context, False)


async def _optout(update: Update, context: BotContext, out: bool) -> None:
    args = context.args or []
    kind = args[0].lower() if args else "all"
    if len(args) > 1 or kind not in OPTOUT_KINDS:
        raise UsageError()
    await context.services.points.set_optout(person_id(context), OPTOUT_KINDS[kind], out)
    await reply(update, context, texts.optout_done(context.tr, OPTOUT_KINDS[kind], out))


@command("birthday", where="any")
async def cmd_birthday(update: Update, context: BotContext) -> None:
    """/birthday 5: the member's birthday month (month only); check-ins pay double during it, in every group."""
    args = context.args or []
    user_id = person_id(context)
    if not args:
        await reply(update, context, texts.birthday_shown(context.tr, await context.services.points.birthday(user_id)))
        return
    if len(args) > 1:
        raise UsageError()
    month = await context.services.points.set_birthday(user_id, args[0])
    await reply(update, context, texts.birthday_set(context.tr, month))


async def on_group_message(update: Update, context: BotContext) -> None:
    """Chat XP: decided in memory (cooldown per member), written with the update's handled mark at the next job_flush."""
    await _chat_xp(update, context)


async def earn_by_staying(update: Update, context: BotContext, deleting: bool = False) -> None:
    """Decide what this message earns by staying in its group — its chat XP, its reply to a topic of the week, its
    count toward its sender's pending referral — once per update, and ahead of the first commit of its handling (a
    rule's answer, a check-in word's check-in, or the steps' own mark): that commit marks the update handled, and
    what is held for the update rides with it (storage.inbox.Rider), so a kill loses none of it and a redelivery
    books none twice. Decided after such a commit, each needed a write of its own, and a kill between lost it.
    `deleting`: a rule is about to delete the message, so what it earns waits, stored by the rule's commit, for the
    delete's outcome (InboxService.hold_back). Nothing for what the steps would not see."""
    if context.earned or not GROUP_CHAT.check_update(update):
        return
    s = context.services
    held = s.inbox.holds(update.update_id)
    if not held:  # handed to the Application directly: no mark to ride with; the steps decide, should it stay
        if not deleting:
            await _chat_xp(update, context)
        return
    context.earned = True
    await _chat_xp(update, context)
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot or message.sender_chat is not None:
        return
    chat, user, update_id = message.chat.id, message.from_user.id, update.update_id
    if message.reply_to_message is not None:
        await s.topics.reply(chat, user, message.message_id, message.reply_to_message.message_id, message.date, update_id, held=True)
    await s.funnel.counts(chat, user, update_id, held=True)
    if deleting:
        context.held_back = s.inbox.hold_back(update_id, chat, message.message_id, s.points.hand_over(update_id))


async def _chat_xp(update: Update, context: BotContext) -> None:
    if context.chat_xp_decided:  # earn_by_staying did, before a commit of this update's handling
        return
    context.chat_xp_decided = True
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot or message.sender_chat is not None:
        return
    # Through the inbox, the XP is written with the update's handled mark: a crash loses none and a redelivery
    # books none twice.
    held = update.update_id if context.services.inbox.holds(update.update_id) else None
    await context.services.points.chat_message(message.chat.id, message.from_user.id, message.date, len(message.text or message.caption or ""),
                                               update_id=held)


async def job_flush(context: BotContext) -> None:
    """Write batched activity and chat XP; announce tier-ups that chatting reached."""
    s = context.services
    await s.activity.flush()
    for chat_id, user_id, tier in await s.points.flush_chat_xp():
        await announce(context, chat_id, user_id, lambda _, who, tier=tier: texts.tier_up(_, who, tier))


async def announce(context: BotContext, chat_id: int, user_id: int, render, kind: str = "tier_up") -> None:
    """A group message naming a member (render(_, their name)), in the group's language, through the outbox: none
    for members who did /optout mentions, none beyond the group's caps or in its quiet hours (logged, /pushlog)."""
    s = context.services
    settings = await s.groups.settings(chat_id)
    user = await s.members.user(user_id)
    text = render(translator(settings.language), user.display if user else str(user_id))
    await s.outbox.post(chat_id, kind, text, names=[user_id])


async def job_expiry(context: BotContext) -> None:
    """Hourly: in each group whose local time has passed points.expiry.run_at, expire what is due and warn once."""
    s = context.services
    hour, minute = (int(x) for x in s.config.points.expiry.run_at.split(":"))
    for group in await s.groups.active():
        settings = await s.groups.settings(group.chat_id)
        local = s.clock.now().astimezone(ZoneInfo(settings.timezone))
        if settings.expiry_mode == "off" or (local.hour, local.minute) < (hour, minute):
            continue
        run = await s.points.run_expiry(group.chat_id)
        for user_id, w in run.warnings.items():
            await notify_private(context, user_id, lambda _, w=w: texts.expiry_warning(_, group.title, w.amount, w.first_day, w.within_days),
                                 chat_id=group.chat_id, kind="expiry")


async def job_weekly(context: BotContext) -> None:
    """Hourly: once a group's week has turned (Monday, group time), name last week's top earner and award the
    weekly-top badge. Recorded once per group and week, so restarts and repeated runs announce nothing twice."""
    s = context.services
    for group in await s.groups.active():
        top = await s.points.weekly_top(group.chat_id)
        if top is not None:
            tied = [n for n, _ in await _names(context, group.chat_id, [(u, 0) for u in top.tied])]
            await announce(context, group.chat_id, top.user_id,
                           lambda _, who, top=top, tied=tied: texts.weekly_top(_, who, top.points, top.badges, tied), "weekly_top")


async def notify_private(context: BotContext, user_id: int, render, *, chat_id: int | None = None, kind: str = "private") -> bool:
    """A private message through the outbox: only to people who started the bot and did not opt out of private
    messages; logged under the group it is about (chat_id)."""
    s = context.services
    user = await s.members.user(user_id)
    _ = translator(language_for_user(user.language_code if user else None, s.config.defaults.language,
                                     await s.members.language(user_id)))
    return (await s.outbox.private(user_id, render(_), chat_id=chat_id, kind=kind)).sent


COMMANDS = [cmd_checkin, cmd_makeup, cmd_me, cmd_history, cmd_levels, cmd_earn, cmd_badges, cmd_top,
            cmd_give, cmd_take, cmd_season, cmd_optout, cmd_optin, cmd_birthday]
