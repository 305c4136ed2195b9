"""Replies of the points economy: check-in, profile, history, levels, how to earn, leaderboards, give/take, expiry."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo

from bot.domain.badges import BadgeRule
from bot.domain.checkin import CheckinRules
from bot.domain.levels import Tier, progress_bar
from bot.domain.points import (
    AlreadyCheckedInError, InsufficientPointsError, InvalidAmountError, MakeupWindowError, NothingToMakeUpError, PointsError, SeasonArgumentError,
    SelfGiveError,
)
from bot.domain.roles import Role
from bot.texts import N_, Translator
from bot.texts.core import name, role_name

TIER_NAMES = {"bronze": N_("Bronze"), "silver": N_("Silver"), "gold": N_("Gold"), "platinum": N_("Platinum"), "diamond": N_("Diamond")}

BADGE_NAMES = {
    "first_checkin": N_("First check-in"),
    "streak_7": N_("7-day streak"),
    "streak_30": N_("30-day streak"),
    "streak_100": N_("100-day streak"),
    "first_referral": N_("First referral"),
    "referrals_10": N_("10 referrals"),
    "weekly_top": N_("Weekly top"),
    "feedback_accepted": N_("Useful feedback"),
}

REASONS = {
    "checkin": N_("daily check-in"), "makeup": N_("make-up check-in"), "chat": N_("chatting"),
    "referral": N_("bringing a friend"), "referral_bonus": N_("referral milestone"),
    "referral_clawback": N_("referred friend left early"), "welcome_bonus": N_("welcome bonus"),
    "activity": N_("activity"), "feedback": N_("feedback"), "admin_give": N_("given by an admin"),
    "admin_take": N_("taken by an admin"), "shop_purchase": N_("shop purchase"), "shop_refund": N_("shop refund"),
    "expiry": N_("points expired"), "season_reset": N_("new season"), "rule_award": N_("rule reward"),
    "rule_deduct": N_("rule penalty"), "badge_bonus": N_("badge bonus"), "milestone": N_("streak milestone"),
    "spotlight": N_("newcomer spotlight"),
    "quiz": N_("quiz answered right"), "poll": N_("poll answered"), "topic": N_("replied to the topic of the week"),
    "topic_best": N_("best reply to the topic"),
}

PERKS = {"post_links": N_("may post links")}

BOARDS = {
    "points": N_("points earned"), "xp": N_("XP"), "checkin": N_("check-ins"), "streak": N_("current streak"),
    "invites": N_("confirmed invites"),
}
WINDOWS = {"week": N_("this week"), "month": N_("this month"), "season": N_("this season"), "all": N_("all time")}


def tier_name(_: Translator, tier: Tier | str) -> str:
    key = tier if isinstance(tier, str) else tier.key
    return _(TIER_NAMES[key]) if key in TIER_NAMES else key.replace("_", " ").title()


def badge_name(_: Translator, key: str) -> str:
    return _(BADGE_NAMES[key]) if key in BADGE_NAMES else key.replace("_", " ").capitalize()


def local_time(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def points_error(_: Translator, err: PointsError, tz: str = "UTC") -> str:
    if isinstance(err, AlreadyCheckedInError):
        return _("You already checked in today at {at}; the next check-in opens at {next} (group time).").format(
            at=local_time(err.at, tz), next=local_time(err.next_at, tz) if err.next_at else "00:00")
    if isinstance(err, InsufficientPointsError) and err.holder is not None:
        return _("{who} has only {balance} points; {needed} can't be taken.").format(
            who=name(err.holder), balance=err.balance, needed=err.needed)
    if isinstance(err, InsufficientPointsError):
        return _("Not enough points: you have {balance}, this needs {needed}.").format(balance=err.balance, needed=err.needed)
    if isinstance(err, NothingToMakeUpError) and err.never:
        return _("You have no check-in yet, so there is no streak to repair. Start one with /checkin.")
    if isinstance(err, NothingToMakeUpError):
        return _("There is no missed day to make up: your streak is whole.")
    if isinstance(err, SelfGiveError):
        return _("You can't give points to yourself; only the owner can (and it is recorded with the reason).")
    if isinstance(err, SeasonArgumentError):
        return _("/season takes nothing after it (not “{given}”): send /season alone and I ask before closing season {n} and starting the next.").format(
            given=escape(str(err.params["given"])), n=err.params["season"])
    if isinstance(err, MakeupWindowError):
        return _.ngettext(
            "Your streak broke more than {n} day ago; make-up repairs only a gap within the last {n} day. Start a new one with /checkin.",
            "Your streak broke more than {n} days ago; make-up repairs only a gap within the last {n} days. Start a new one with /checkin.",
            err.window_days).format(n=err.window_days)
    if isinstance(err, InvalidAmountError):
        texts = {
            "no_reason": _("Say why: a reason is required (it is shown in the member's /history)."),
            "too_large": _("That amount is too large (at most {max}).").format(max=err.max_amount),
            "zero": _("The amount must be a whole number above zero."),
            "negative": _("The amount must be a whole number above zero."),
        }
        return texts.get(err.reason, _("The amount must be a whole number above zero."))
    return _("That didn't work.")


def checkin_done(_: Translator, who: str, reward, rank: int, tier: Tier, tz: str, campaign: float = 1.0,
                 birthday: float = 1.0) -> str:
    parts = [_("{n} base").format(n=reward.base)]
    if reward.streak_bonus:
        parts.append(_("{n} streak bonus").format(n=reward.streak_bonus))
    if reward.random_bonus:
        parts.append(_("{n} lucky bonus").format(n=reward.random_bonus))
    detail = " + ".join(parts)
    factors = []
    if tier.points_multiplier != 1:
        factors.append((tier.points_multiplier, tier_name(_, tier)))
    if campaign != 1:
        factors.append((campaign, _("campaign")))
    if birthday != 1:  # the member's /birthday month: named apart from a campaign (both shown when both pay)
        factors.append((birthday, _("birthday month")))
    for m, label in factors:  # "× 2 (campaign)"; in Chinese "×2（活动）", no space after a full-width parenthesis
        detail += ("" if detail.endswith("）") else " ") + _("× {m} ({label})").format(m=f"{m:g}", label=label)
    lines = [
        _("✅ {who} checked in: +{points} points ({detail}), +{xp} XP.").format(who=name(who), points=reward.total, detail=detail, xp=reward.xp),
        _.ngettext("🔥 Streak: {n} day", "🔥 Streak: {n} days", reward.streak).format(n=reward.streak)
        + " · " + _("#{rank} today").format(rank=rank),
    ]
    if reward.next_milestone:
        days, bonus = reward.next_milestone
        left = days - reward.streak
        lines.append(_.ngettext("Next: a {days}-day streak in {left} day pays +{bonus}.",
                                "Next: a {days}-day streak in {left} days pays +{bonus}.", left).format(days=days, left=left, bonus=bonus))
    return "\n".join(lines)


def awarded(_: Translator, who: str, badges: Sequence[BadgeRule], tier: Tier | None) -> str:
    lines = []
    for badge in badges:
        bonus = _("(+{n} points)").format(n=badge.points_bonus) if badge.points_bonus else ""
        lines.append(_.joined(_("🏅 New badge: {badge}").format(badge=badge_name(_, badge.key)), bonus))
    if tier is not None:
        lines.append(tier_up(_, who, tier))
    return "\n".join(lines)


def tier_up(_: Translator, who: str, tier: Tier) -> str:
    return _("🎉 {who} reached {tier}!").format(who=name(who), tier=tier_name(_, tier))


def link_refused(_: Translator, who: str, tier: Tier, needed: Tier) -> str:
    return _("🔗 {who}, links are for {needed} and above here; you are {tier}. Keep chatting and checking in to get there.").format(
        who=name(who), needed=tier_name(_, needed), tier=tier_name(_, tier))


def weekly_top(_: Translator, who: str, points: int, badges: Sequence[BadgeRule], tied: Sequence[str] = ()) -> str:
    lines = [_.ngettext("🏆 Top earner of last week: {who}, with {n} point.", "🏆 Top earner of last week: {who}, with {n} points.", points).format(
        who=name(who), n=points)]
    if tied:
        lines.append(_("Tied with {others}; {who} got there first.").format(
            others=_.listed(name(t) for t in tied), who=name(who)))
    if badges:
        lines.append(awarded(_, who, badges, None))
    return "\n".join(lines)


def makeup_done(_: Translator, result) -> str:
    if result.card:
        text = _("🩹 Made up {day} with a make-up card. Streak: {streak}. Balance: {balance}.").format(
            day=result.day.isoformat(), streak=result.streak, balance=result.wallet.points)
    else:
        text = _("🩹 Made up {day} for {cost} points. Streak: {streak}. Balance: {balance}.").format(
            day=result.day.isoformat(), cost=result.cost, streak=result.streak, balance=result.wallet.points)
    for hit in result.milestones:
        text += "\n" + _("Streak milestone {n} days: +{bonus}").format(n=hit.streak, bonus=hit.bonus)
    return text


def profile(_: Translator, who: str, role: Role, p, tiers: Sequence[Tier]) -> str:
    pr = p.progress
    lines = [
        f"<b>{name(who)}</b> — {role_name(_, role)}",
        _("Tier: {tier}").format(tier=tier_name(_, pr.tier)),
    ]
    if pr.next_tier is not None:
        lines.append(f"{progress_bar(pr.fraction)} " + _("{needed} XP to {next}").format(needed=pr.needed, next=tier_name(_, pr.next_tier)))
    lines.append(_("Points: {points} · XP: {xp}").format(points=p.wallet.points, xp=p.wallet.xp))
    lines.append(_.ngettext("Streak: {n} day", "Streak: {n} days", p.streak).format(n=p.streak)
                 + (" · " + _("Rank: #{rank} on /top (points, this season)").format(rank=p.rank) if p.rank else ""))
    if p.badges:
        lines.append(_("Badges: {list}").format(list=_.listed(badge_name(_, b) for b in p.badges)))
    return "\n".join(lines)


def history(_: Translator, who: str, entries, tz: str) -> str:
    if not entries:
        return _("{who} has no points history yet. Try /checkin.").format(who=name(who))
    lines = [_("<b>Last changes for {who}</b>").format(who=name(who))]
    for e in entries:
        unit = _.ngettext("point", "points", abs(e.amount)) if e.currency == "points" else _("XP")
        why = _(REASONS[e.reason]) if e.reason in REASONS else e.reason
        note = f" — {escape(e.note)}" if e.note and e.reason in ("admin_give", "admin_take") else ""
        when = e.at.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")
        lines.append(_("{when} {amount} {unit}: {why}").format(when=when, amount=f"{e.amount:+d}", unit=unit, why=why) + note)
    return "\n".join(lines)


def levels(_: Translator, tiers: Sequence[Tier], in_force: frozenset[str] | set[str] = frozenset(PERKS)) -> str:
    """in_force: the perks this group applies (post_links only when its link gate is on)."""
    lines = [_("<b>Tiers</b> (XP is earned and never spent; points are spent in the shop)")]
    for tier in tiers:
        perks = _(", ").join(_(PERKS[p]) if p in PERKS else p for p in sorted(tier.perks) if p in in_force or p not in PERKS)
        line = _("{tier}: from {xp} XP, points ×{mult}").format(tier=tier_name(_, tier), xp=tier.min_xp, mult=f"{tier.points_multiplier:g}")
        lines.append(f"• {line}" + (f"; {perks}" if perks else ""))
    return "\n".join(lines)


@dataclass(frozen=True)
class EarnRules:
    """Everything /earn lists, read from config and the group's settings (never written by hand)."""

    checkin: CheckinRules
    chat_xp: int
    cooldown: int
    words: Sequence[str] | None
    badges: Sequence[BadgeRule]
    referral_points: int
    referral_xp: int
    welcome_bonus: int
    milestones: Mapping[int, int]
    expiry_mode: str
    expiry_days: int
    decay_percent: int
    warn_days: int


def earn(_: Translator, r: EarnRules) -> str:
    rules = r.checkin
    lines = [_("<b>How to earn</b>")]
    lines.append(_.joined(_("• /checkin once a day: +{points} points, +{xp} XP").format(points=rules.base, xp=rules.xp),
                          _("(or write: {words})").format(words=_(", ").join(escape(w) for w in r.words)) if r.words else ""))
    if rules.streak_bonus:
        bonus = _(", ").join(_("{d} days +{b}").format(d=d, b=b) for d, b in rules.streak_bonus)
        lines.append(_("• streak bonus on the day you reach: {list}").format(list=bonus))
    if rules.random_bonus:
        lines.append(_("• a lucky bonus of {lo}–{hi} on each check-in").format(lo=rules.random_bonus[0], hi=rules.random_bonus[1]))
    lines.append(_("• higher tiers multiply check-in points (see /levels)"))
    if rules.makeup_window_days:
        lines.append(_("• /makeup repairs a day missed in the last {n} days for {cost} points").format(n=rules.makeup_window_days, cost=rules.makeup_cost))
    if r.chat_xp:
        lines.append(_("• chatting: +{xp} XP per message, at most once every {s} s").format(xp=r.chat_xp, s=r.cooldown))
    if r.referral_points or r.referral_xp:
        paid = [_("+{n} points").format(n=r.referral_points)] if r.referral_points else []
        paid += [_("+{n} XP").format(n=r.referral_xp)] if r.referral_xp else []
        line = _("• a friend you /invite who stays and takes part: {reward}").format(reward=_(", ").join(paid))
        if r.welcome_bonus:
            line = _("{line} (and +{bonus} points for them)").format(line=line, bonus=r.welcome_bonus)
        lines.append(line)
    if any(r.milestones.values()):
        steps = _(", ").join(_("{n} friends +{b}").format(n=n, b=b) for n, b in r.milestones.items() if b)
        lines.append(_("• invite milestones: {list}").format(list=steps))
    paying = [b for b in r.badges if b.points_bonus]
    if paying:
        lines.append(_("• badges: {list}").format(list=_(", ").join(f"{badge_name(_, b.key)} +{b.points_bonus}" for b in paying)))
    warned = _.ngettext("You are told {n} day ahead.", "You are told up to {n} days ahead.", r.warn_days).format(
        n=r.warn_days) if r.warn_days else ""
    if r.expiry_mode == "fifo":
        lines.append(_.joined(_("Points expire {days} days after they are earned, oldest first.").format(days=r.expiry_days), warned))
    elif r.expiry_mode == "decay" and r.decay_percent:
        lines.append(_.joined(_("Each New Year, {share} of unspent points expire.").format(share=f"{r.decay_percent}%"), warned))
    return "\n".join(lines)


def badges(_: Translator, who: str, held: Sequence[tuple[str, datetime]], rules: Sequence[BadgeRule]) -> str:
    have = {key for key, _at in held}
    lines = [_("<b>Badges of {who}</b>").format(who=name(who))]
    for key, at in held:
        lines.append(_("🏅 {badge} ({date})").format(badge=badge_name(_, key), date=f"{at:%Y-%m-%d}"))
    missing = [r for r in rules if r.key not in have]
    if missing:
        lines.append(_("Still to earn: {list}").format(list=_.listed(badge_name(_, r.key) for r in missing)))
    return "\n".join(lines)


def top(_: Translator, board: str, window: str, rows: Sequence[tuple[str, int]]) -> str:
    if board == "streak":  # a streak runs up to today: no period applies
        head = _("<b>Top — {board}</b>").format(board=_(BOARDS[board]))
    else:
        head = _("<b>Top — {board}, {window}</b>").format(board=_(BOARDS[board]), window=_(WINDOWS[window]))
    if not rows:
        return head + "\n" + _("Nobody yet.")
    medals = ["🥇", "🥈", "🥉"]
    lines = [head]
    for i, (who, value) in enumerate(rows):
        lines.append(f"{medals[i] if i < 3 else f'{i + 1}.'} {name(who)} — {value}")
    return "\n".join(lines)


def top_streak_has_no_period(_: Translator) -> str:
    return _("The streak board has no period: a streak counts the days in a row up to today. Send /top streak.")


def adjusted(_: Translator, who: str, amount: int, give: bool, balance: int) -> str:
    if give:
        return _.ngettext("{who} got +{n} point (balance {balance}).", "{who} got +{n} points (balance {balance}).", amount).format(
            who=name(who), n=amount, balance=balance)
    return _.ngettext("{who} lost {n} point (balance {balance}).", "{who} lost {n} points (balance {balance}).", amount).format(
        who=name(who), n=amount, balance=balance)


def season_confirm(_: Translator, number: int) -> str:
    return _("Close season {n}? Its standings are archived and the season leaderboard starts again. Balances and XP stay.").format(n=number)


def season_started(_: Translator, number: int, rows: Sequence[tuple[str, int]]) -> str:
    text = _("🏁 Season {n} has begun.").format(n=number)
    if rows:
        text += "\n" + _("Last season's top: {list}").format(list=_(", ").join(f"{name(w)} ({v})" for w, v in rows[:3]))
    return text


def season_cancelled(_: Translator) -> str:
    return _("Season change cancelled.")


def season_stale(_: Translator) -> str:
    return _("That was already done.")


def only_presser(_: Translator) -> str:
    return _("This button is not for you.")


def expiry_warning(_: Translator, group: str, amount: int, first_day: date, within_days: int | None) -> str:
    if within_days is None:
        text = _("⏳ In {group}, {n} of your points go on {day} with the yearly decay. Spend them in the /shop before then.")
    else:
        text = _.ngettext(
            "⏳ In {group}, {n} of your points expire within {days} day, on {day}. Spend them in the /shop before then.",
            "⏳ In {group}, {n} of your points expire within the next {days} days, the first on {day}."
            " Spend them in the /shop before then.",
            within_days,
        )
    return text.format(group=name(group), n=amount, day=first_day.isoformat(), days=within_days)


def optout_done(_: Translator, kinds: Sequence[str], out: bool) -> str:
    names = [_("private messages") if k == "private" else _("mentions") for k in kinds]
    what = (_(" or ") if out else _(" and ")).join(names)
    return (_("Done: no more {what} from me.") if out else _("Done: {what} are on again.")).format(what=what)


MONTHS = (N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"), N_("July"), N_("August"),
          N_("September"), N_("October"), N_("November"), N_("December"))


def birthday_set(_: Translator, month: int | None) -> str:
    if month is None:
        return _("Birthday month forgotten.")
    return _("Birthday month saved: {month}. Check-ins pay double all month long.").format(month=_(MONTHS[month - 1]))


def birthday_shown(_: Translator, month: int | None) -> str:
    if month is None:
        return _("No birthday month saved. /birthday 5 saves May (the month only): check-ins pay double during it.")
    return _("Your birthday month: {month}. /birthday off forgets it.").format(month=_(MONTHS[month - 1]))

