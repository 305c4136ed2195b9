"""Replies and chart labels of the group stats: /stats, /retention, and the definitions every chart's footnote gives."""
from __future__ import annotations

from bot.charts import RetentionLabels, StatsLabels
from bot.texts import N_, Translator
from bot.texts.core import name

WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def definitions(_: Translator, silent_days: int = 30) -> str:
    return _("Active = sent a message or checked in that day (bots never, admins apart). DAU = active members on a "
             "calendar day in group time (a period's DAU is the daily average); WAU / MAU = active in the trailing "
             "7 / 30 days; stickiness = DAU ÷ MAU; churned = left, or silent for {days} days.").format(days=silent_days)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _signed(value: float, digits: int = 0) -> str:
    return f"{value:+.{digits}f}"


def _points_change(_: Translator, now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return ""
    return _.joined("", _("({change} pts)").format(change=_signed((now - before) * 100)))  # after the value: no space in zh


def stats(_: Translator, group: str, r, silent_days: int) -> str:
    now, before = r.now, r.before
    lines = [
        _("Stats of {group}, last {days} days ({start} – {end}):").format(
            group=name(group), days=r.days, start=r.start.isoformat(), end=r.end.isoformat()),
        _("Members: {n} (of them admins: {admins}); growth {growth} ({joins} joined, {leaves} left)").format(
            n=r.members, admins=r.admins, growth=_signed(now.growth), joins=now.joins, leaves=now.leaves),
        _("DAU {dau} · WAU {wau} · MAU {mau} (previous period {dau_before} · {wau_before} · {mau_before})").format(
            dau=f"{now.dau:.1f}", wau=now.wau, mau=now.mau, dau_before=f"{before.dau:.1f}", wau_before=before.wau,
            mau_before=before.mau),
        _("Stickiness (DAU/MAU): {now}{change}, previous period {before}").format(
            now=_pct(now.stickiness), change=_points_change(_, now.stickiness, before.stickiness), before=_pct(before.stickiness)),
        _("Messages per day: {now} (previous period {before})").format(
            now=f"{now.messages_per_day:.1f}", before=f"{before.messages_per_day:.1f}"),
        _("Check-ins: {n}; check-in rate {rate} of active member-days").format(n=now.checkins, rate=_pct(now.checkin_rate)),
        _("Shop orders: {orders} · confirmed referrals: {referrals} · moderation actions: {moderation} (by rules: {rules})").format(
            orders=now.orders, referrals=now.referrals, moderation=now.moderation, rules=now.moderation_by_rules),
        _("Admins (counted apart): {n} active, messages: {messages}").format(n=now.admin_active, messages=now.admin_messages),
    ]
    if r.nps is not None and r.nps.latest is not None:
        from bot.texts.loyalty import nps_trend

        lines.append(nps_trend(_, r.nps))
    if r.top:
        lines.append(_("Top contributors:"))
        for i, c in enumerate(r.top, 1):
            lines.append(_("{rank}. {name} — messages: {messages}, active days: {days}").format(
                rank=i, name=name(c.name), messages=c.messages, days=c.active_days))
    lines.append("")
    lines.append("<i>" + definitions(_, silent_days) + "</i>")
    return "\n".join(lines)


def no_data(_: Translator, group: str, days: int) -> str:
    return _("No activity in {group} in the last {days} days yet: nothing to chart. Stats count from the moment "
             "I am in the group.").format(group=name(group), days=days)


def chart_failed(_: Translator) -> str:
    return _("The chart could not be drawn this time; the figures above are complete. Ask again in a minute.")


def stats_labels(_: Translator, days: int, silent_days: int) -> StatsLabels:
    return StatsLabels(
        title=_("Active members and messages per day, last {days} days").format(days=days),
        active=_("active members"), messages=_("messages"),
        heatmap=_("Messages by weekday and hour (group time)"),
        weekdays=tuple(_(d) for d in WEEKDAYS), hour=_("hour"), footnote=definitions(_, silent_days),
    )


def stats_caption(_: Translator, group: str, days: int) -> str:
    return _("{group}: activity over the last {days} days.").format(group=name(group), days=days)


def retention_definitions(_: Translator, silent_days: int = 30) -> str:
    """/retention's footnote, under its table and its heat-map: what a cohort, active and churned are."""
    return _("Cohort = members whose first join fell in week W (Monday to Sunday, group time); active = sent a message "
             "or checked in (bots never, admins apart); a week shows once it is over. Churned = left, or silent for "
             "{days} days; a week's churn = of the members not churned when the week before ended, the share churned "
             "by its end.").format(days=silent_days)


def retention(_: Translator, group: str, r, silent_days: int) -> str:
    kind = _("active in week N or later") if r.unbounded else _("active in week N")
    lines = [_("Retention of {group} — of those who joined in week W, the share {kind}:").format(group=name(group), kind=kind)]
    for c in r.cohorts:
        cells = " ".join("  · " if s is None else f"{s * 100:3.0f}%" for s in c.shares)
        lines.append(f"<code>{c.week.isoformat()} n={c.size:<4} {cells}</code>")
    lines.append(_("Churn per week (left, or silent for the configured days):"))
    for w in r.churn:
        lines.append(_("{week}: {n} of {base} ({rate})").format(
            week=w.week.isoformat(), n=w.churned, base=w.base, rate=_pct(w.rate)))
    if not r.unbounded:
        lines.append(_("Send /retention all for the unbounded view."))
    lines.append("")
    lines.append("<i>" + retention_definitions(_, silent_days) + "</i>")
    return "\n".join(lines)


def no_joiners(_: Translator, group: str) -> str:
    return _("No one joined {group} in the last weeks that I saw: no cohorts to show yet.").format(group=name(group))


def retention_labels(_: Translator, unbounded: bool, silent_days: int) -> RetentionLabels:
    return RetentionLabels(
        title=_("Retention by joining week ({kind})").format(
            kind=_("active in week N or later") if unbounded else _("active in week N")),
        week=_("weeks since joining"),
        footnote=retention_definitions(_, silent_days),
    )


def retention_caption(_: Translator, group: str) -> str:
    return _("{group}: retention by joining week.").format(group=name(group))



def weekly_definitions(_: Translator, silent_days: int, thresholds) -> str:
    """The weekly report's footnote: /stats' definitions, what its retention line and NPS are, then /loyalty's."""
    from bot.texts.loyalty import definitions as loyalty_definitions

    return _.joined(_.joined(definitions(_, silent_days), _(
        "Retention = of the members whose first join fell in that week (Monday to Sunday, group time), the share active "
        "in the week after; new = first joined that week; returning = active that week and the week before; "
        "resurrecting = active that week, not the week before; dormant = active the week before, not that week; NPS = "
        "the share of promoters (9–10) minus that of detractors (0–6).")),
        loyalty_definitions(_, thresholds))


def weekly_report(_: Translator, group: str, r, names: dict[int, str], silent_days: int, thresholds) -> str:
    """The weekly report: growth, stickiness, retention, segment movers, top contributors, referral funnel, NPS —
    and the definitions under it, as under /stats, /retention and /loyalty."""
    from bot.domain.loyalty import SEGMENTS
    from bot.texts.loyalty import nps_trend, segment_name

    s, now, before = r.stats, r.stats.now, r.stats.before
    lines = [
        "<b>" + _("Weekly report of {group}, {start} – {end}").format(
            group=name(group), start=s.start.isoformat(), end=s.end.isoformat()) + "</b>",
        # As /stats says it: the admins among the members now, and their activity counted apart below.
        _("Members: {n} (of them admins: {admins}); growth {growth} ({joins} joined, {leaves} left)").format(
            n=s.members, admins=s.admins, growth=_signed(now.growth), joins=now.joins, leaves=now.leaves),
        _("DAU {dau} · WAU {wau} · MAU {mau} (previous week {dau_before} · {wau_before} · {mau_before})").format(
            dau=f"{now.dau:.1f}", wau=now.wau, mau=now.mau, dau_before=f"{before.dau:.1f}", wau_before=before.wau,
            mau_before=before.mau),
        _("Stickiness (DAU/MAU): {now}{change}, previous week {before}").format(
            now=_pct(now.stickiness), change=_points_change(_, now.stickiness, before.stickiness), before=_pct(before.stickiness)),
        _("This week: {new} new, {returning} returning, {resurrecting} resurrecting, {dormant} dormant").format(**r.lifecycle),
        _("Admins (counted apart): {n} active, messages: {messages}").format(n=now.admin_active, messages=now.admin_messages),
    ]
    if r.cohort is not None:
        lines.append(_("Retention: of the {n} who joined in the week of {week}, {share} were active the week after.").format(
            n=r.cohort.size, week=r.cohort.week.isoformat(), share=_pct(r.cohort.shares[0])))
    else:
        lines.append(_("Retention: no joining week to show yet."))
    lines.append(_("Loyalty: {segments}").format(segments=_(", ").join(
        _("{segment} {n}").format(segment=segment_name(_, seg), n=r.segments.get(seg, 0)) for seg in reversed(SEGMENTS))))
    if r.movers is None:
        lines.append(_("Movers: none to compare yet (the ladder is snapshotted each week from now on)."))
    elif not r.movers:
        lines.append(_("Movers: nobody changed segment this week."))
    else:
        shown = _(", ").join(_("{name} {before} → {after}").format(
            name=name(names.get(u, str(u))), before=segment_name(_, a), after=segment_name(_, b)) for u, a, b in r.movers[:5])
        lines.append(_("Movers ({n}): {shown}").format(n=len(r.movers), shown=shown))  # the first five named
    if r.new:
        lines.append(_("New on the ladder: {n} (joined during the week; not counted as movers)").format(n=r.new))
    if s.top:
        lines.append(_("Top contributors: {top}").format(top=_(", ").join(
            _("{name} ({messages})").format(name=name(c.name), messages=c.messages) for c in s.top[:3])))
    f = r.funnel
    lines.append(_("Referral funnel (all time): {joined} joined through a member's link, {screened} passed screening, "
                   "{confirmed} confirmed, {retained} still here after 7 days").format(
        joined=f.joined, screened=f.screened, confirmed=f.confirmed, retained=f.retained_7d))
    lines.append(nps_trend(_, r.nps) if r.nps.latest is not None else _("NPS: no survey yet (/nps asks the group)."))
    lines.append("")
    lines.append("<i>" + weekly_definitions(_, silent_days, thresholds) + "</i>")
    return "\n".join(lines)


def spotlight(_: Translator, group: str, who: str, s) -> str:
    """To each admin: a newcomer very active in their first hours (the seeds: act within 24 hours)."""
    text = _("Newcomer spotlight in {group}: {name} joined and sent {n} messages within {hours} hours. "
             "A good moment to welcome them in person.").format(group=name(group), name=name(who), n=s.messages, hours=s.hours)
    if s.bonus:
        text = _.joined(text, _("They got the group's welcome bonus of {points} points.").format(points=s.bonus))
    return text
