"""Replies of the loyalty ladder and NPS surveys: the pyramid, who moved, one member explained, the survey."""
from __future__ import annotations

from bot.domain.loyalty import SEGMENTS, Placement, State, Thresholds
from bot.domain.nps import NpsError, NpsResult
from bot.texts import N_, Translator
from bot.texts.core import name

SEGMENT_NAMES = {  # the Chinese names are the catalog's (不忠诚, 惯性型…): each language shows its own only
    "none": N_("none"),
    "habitual": N_("habitual"),
    "mercenary": N_("mercenary"),
    "latent": N_("latent"),
    "committed": N_("committed"),
    "fanatic": N_("fanatic"),
}
REASONS = {
    "referral": N_("brought a member who stayed"),
    "feedback": N_("had feedback accepted"),
    "replies": N_("replies to others"),
    "promoter": N_("would recommend the group (NPS 9–10)"),
    "detractor": N_("would not recommend it (NPS 0–6)"),
}


def segment_name(_: Translator, segment: str) -> str:
    return _(SEGMENT_NAMES[segment])


def definitions(_: Translator, t: Thresholds) -> str:
    """/loyalty's footnote, under the pyramid: what places a member (the README has the formulas)."""
    return _("Over the last {days} days: regular = active on {share} of the days, or checked in on {checkin}; attitude = "
             "a confirmed referral, accepted feedback, {replies} replies to others or an NPS answer of 9–10; mercenary = "
             "regular, with {mercenary} or more of it check-ins and orders. Bots and admins are not placed.").format(
        days=t.window_days, share=_pct(t.active_share), checkin=_pct(t.checkin_regularity), replies=t.replies,
        mercenary=_pct(t.mercenary_share))


def pyramid(_: Translator, group: str, view, names: dict[int, str], t: Thresholds) -> str:
    total = sum(view.counts.values())
    lines = [_("Loyalty of {group} ({n} members, admins apart):").format(group=name(group), n=total)]
    for segment in reversed(SEGMENTS):
        n = view.counts[segment]
        bar = "█" * (0 if total == 0 else max(1 if n else 0, round(12 * n / total)))
        row = _("{segment}: {n}").format(segment=segment_name(_, segment), n=n)
        lines.append(f"{row} {bar}" if bar else row)  # a zero row has no bar, and no trailing space
    if view.movers:
        lines.append(_("Moved since the week began:"))
        for user_id, before, after in view.movers[:15]:
            lines.append(_("{name}: {before} → {after}").format(
                name=name(names.get(user_id, str(user_id))), before=segment_name(_, before), after=segment_name(_, after)))
    else:
        lines.append(_("Nobody moved since the week began."))
    if view.placed_new:
        lines.append(_("Placed for the first time this week: {n}").format(n=view.placed_new))
    lines.append(_("/loyalty @user explains one member's place."))
    lines.append("")
    lines.append("<i>" + definitions(_, t) + "</i>")
    return "\n".join(lines)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.0f}%"


def explain(_: Translator, who: str, p: Placement, state: State, signals, t: Thresholds) -> str:
    lines = [_("{name} is {segment}.").format(name=name(who), segment=segment_name(_, state.segment))]
    lines.append(_("Behaviour over the last {days} days: active on {active} of {observed} days ({share}; needs {need}), "
                   "checked in on {checkins} ({regularity}; or {need_checkin}) — {verdict}.").format(
        days=t.window_days, active=signals.active_days, observed=signals.observed_days, share=_pct(p.active_share),
        need=_pct(t.active_share), checkins=signals.checkin_days, regularity=_pct(p.checkin_regularity),
        need_checkin=_pct(t.checkin_regularity), verdict=_("regular") if p.behaviour else _("not regular")))
    lines.append(_("Reward-driven share (check-ins and orders against days with a message): {share} "
                   "(mercenary from {need}).").format(share=_pct(p.reward_share), need=_pct(t.mercenary_share)))
    if p.reasons:
        lines.append(_("Attitude: {reasons}.").format(reasons=", ".join(_(REASONS[r]) for r in p.reasons)))
    else:
        lines.append(_("Attitude: no referral, accepted feedback, replies to others or NPS promoter answer yet."))
    lines.append(_("Confirmed referrals: {referrals} · replies to others: {replies} · accepted feedback: {feedback}").format(
        referrals=signals.referrals, replies=signals.replies, feedback=signals.feedback))
    if state.pending is not None and state.pending_since is not None:
        lines.append(_("The numbers point to {segment} since {day}; that counts after {grace} days.").format(
            segment=segment_name(_, state.pending), day=state.pending_since.isoformat(), grace=t.grace_days))
    return "\n".join(lines)


def not_placed(_: Translator, who: str) -> str:
    return _("{name} is not placed: admins, bots and people no longer in the group are left out.").format(name=name(who))


def nps_question(_: Translator, group: str, days: int) -> str:
    return _("How likely are you to recommend {group} to a friend? 0 = not at all, 10 = extremely likely. "
             "Press a number; you can change your answer for {days} days.").format(group=name(group), days=days)


def nps_result(_: Translator, r: NpsResult | None) -> str:
    if r is None or r.score is None:
        return _("NPS: no answers yet.")
    return _("NPS {score} ({answers}: {promoters}, {passives}, {detractors})").format(
        score=f"{r.score:+.0f}",
        answers=_.ngettext("{n} answer", "{n} answers", r.answers).format(n=r.answers),
        promoters=_.ngettext("{n} promoter", "{n} promoters", r.promoters).format(n=r.promoters),
        passives=_.ngettext("{n} passive", "{n} passives", r.passives).format(n=r.passives),
        detractors=_.ngettext("{n} detractor", "{n} detractors", r.detractors).format(n=r.detractors))


def nps_trend(_: Translator, summary) -> str:
    line = nps_result(_, summary.latest)
    if summary.previous is not None and summary.previous.score is not None and summary.latest and summary.latest.score is not None:
        line = _.joined(line, _("(previous survey {score})").format(score=f"{summary.previous.score:+.0f}"))
    if summary.open:
        line = _.joined(line, _("— survey still open"))
    return line


def nps_thanks(_: Translator, score: int) -> str:
    return _("Thanks! Your answer: {score}. You can change it while the survey is open.").format(score=score)


def nps_closed(_: Translator, r: NpsResult) -> str:
    return _("Survey closed. {result}").format(result=nps_result(_, r))


def nps_error(_: Translator, err: NpsError) -> str:
    return {
        "already_open": _("A survey is already open. Close it first with /nps close."),
        "none_open": _("No survey is open. Start one with /nps."),
        "closed": _("This survey is closed."),
        "bad_score": _("That is not an answer from 0 to 10."),
        "admin": _("This survey is for the members; admins' answers are not counted."),
    }.get(err.params.get("reason"), _("This survey is closed."))
