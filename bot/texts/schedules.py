"""Replies of /schedule and friends, the check-in reminder, and /pushlog."""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from html import escape

from bot.domain.schedules import MIN_INTERVAL, ScheduleError, local_text
from bot.texts import N_, Translator
from bot.texts.core import name
from storage.outbox import PushEntry
from storage.schedules import Schedule

EXPECTED = {
    "kind": N_("once, every, daily, weekly, monthly or cron"),
    "time": N_("a time such as 09:00"),
    "date": N_("a date such as 2026-12-24"),
    "days": N_("days such as mon or mon,wed,fri"),
    "interval": N_("an interval such as 30m, 2h or 1d, or days such as mon"),
    "day": N_("a day of the month (1-31) or first|second|third|fourth|last"),
    "weekday": N_("a weekday such as sat"),
    "cron": N_('a cron expression in quotes, such as "0 9 * * 1-5"'),
    "action": N_("post, reminder, leaderboard, campaign, report, quiz, poll, topic or nps"),
    "multiplier": N_("a points multiplier such as 2x or 1.5x (at most 10x)"),
    "duration": N_("how long it lasts, such as 24h, 90m or 2d (at most 7 days)"),
    "winners": N_("a number of winners, such as 3"),
    "end": N_("the end of the command"),
    "report_to": N_("the end of the command, or group (the report goes to the admins in private unless it says group)"),
    "missed": N_("late (a missed run runs once, late) or skip"),
    "topic": N_("topic: and a forum topic's number (from its link, t.me/c/…/N), or topic:general"),
}

ACTIONS = {"post": N_("post"), "reminder": N_("check-in reminder"), "leaderboard": N_("weekly leaderboard"),
           "campaign": N_("campaign"), "report": N_("weekly report"), "quiz": N_("quiz"), "poll": N_("poll"), "topic": N_("topic of the week"),
           "nps": N_("NPS survey")}
# What /pushlog calls each kind of message the outbox handled (bot.domain.outbox.POLICIES, and the log chat's
# "modlog"); a kind that is also a schedule's action is called as /schedules calls it.
PUSH_KINDS = {**ACTIONS, "schedule": N_("schedule"), "tier_up": N_("tier-up announcement"),
              "weekly_top": N_("weekly top member"), "report_admins": N_("weekly report to admins"),
              "spotlight": N_("newcomer spotlight"), "quiz_result": N_("quiz result"),
              "topic_result": N_("topic of the week result"), "referral": N_("referral reward"),
              "expiry": N_("points expiry notice"), "feedback": N_("feedback answer"), "private": N_("private message"),
              "log_refused": N_("log chat refused notice"), "rule": N_("rule reply"),
              "rule_notify": N_("rule notice to admins"), "report_notify": N_("member report to admins"),
              "request_notify": N_("join request left to admins"),
              "night": N_("night mode"), "modlog": N_("moderation log")}
# /pushlog's details of `replace` meeting a copy too old to delete (handlers.schedules.retire_copy).
COPY_EDITED, COPY_LEFT = "old copy edited", "old copy left"
OUTCOMES = {
    "sent": N_("sent"), "capped": N_("capped"), "deferred": N_("held for quiet hours"), "dropped": N_("dropped (quiet hours)"),
    "suppressed": N_("not sent"), "failed": N_("failed"), "missed": N_("missed while down, skipped"),
    "edited": N_("previous copy marked replaced"), "sending": N_("sending"), "lost": N_("cut off by a restart while sending (it may be in the group), not sent again"),
}


def schedule_error(_: Translator, err: ScheduleError) -> str:
    p = err.params
    reason = p.get("reason")
    if reason == "syntax":
        got = str(p.get("got") or "")
        got = got[:40] + ("…" if len(got) > 40 else "")  # a huge word must not make the answer too long to send
        expected = _(EXPECTED.get(str(p.get("expected")), str(p.get("expected"))))
        if not got:
            return _("Word {n}: expected {expected}, but the command ends there.").format(n=p["position"], expected=expected)
        return _("Word {n} ({got}): expected {expected}.").format(n=p["position"], got=escape(got), expected=expected)
    texts = {
        "too_often": _("That is more often than every {minutes} minutes; schedules may not run that often.").format(
            minutes=int(MIN_INTERVAL.total_seconds() // 60)),
        "past": _("That time is already past in the group's timezone."),
        "never": _("That cron expression matches no date (such as 31 February), so it would never run."),
        "no_content": _("Nothing to announce: write the campaign's text after its length, such as campaign 2x 1h "
                        "Double points hour.") if p.get("action") == "campaign" else
        _("Nothing to post: write the text after post, or reply to a photo."),
        "unknown_id": _("No schedule #{id} in this group; /schedules lists them.").format(id=p.get("id")),
        "quote": _("A quote is not closed: put a cron expression in \"…\"."),
        "bad_id": _("A schedule is named by its number, such as /pause 3."),
        "replace_too_rare": _("replace deletes the previous copy, and Telegram lets a bot delete a message only within "
                              "48 hours; this schedule's runs are up to {hours} hours apart. Leave out replace.").format(
            hours=p.get("hours")),
        "replace_unused": _("replace deletes the previous copy of a post or a leaderboard; a {action} has none to delete. "
                            "Leave out replace.").format(action=_(ACTIONS.get(str(p.get("action")), str(p.get("action"))))),
        "from_once": _("from chooses the first run of a schedule that repeats; a schedule that runs once runs at its "
                       "own date and time. Leave out from."),
        "once_done": _("Schedule #{id} ran once and is done; to post it again, make a new one: "
                       "/schedule once DATE TIME post …").format(id=p.get("id")),
        "no_topics": _("The topic list is empty: add topics first (/topics add Your favourite tea, and why?), or "
                       "write the topic after topic."),
        "not_forum": _("This group has no topics (a forum supergroup has them), so there is no topic to post in. "
                       "Leave out topic:N."),
        "replace_once": _("replace deletes the previous copy, and a schedule that runs once has none. Leave out replace."),
        "pin_unused": _("pin pins a post, a quiz, a poll or a topic of the week; a {action} is not pinned. "
                        "Leave out pin.").format(action=_(ACTIONS.get(str(p.get("action")), str(p.get("action"))))),
        "caption_too_long": _("A photo's caption is at most {limit} characters; this one has {length}.").format(
            limit=p.get("limit"), length=p.get("length")),
    }
    return texts.get(str(reason), _("That schedule didn't work."))


OPTION_SHOWN = ("pin", "replace", "multi")


def describe(_: Translator, s: Schedule) -> str:
    where = " · " + _("topic {id}").format(id=s.options["topic"]) if s.options.get("topic") else ""
    return f"{s.kind} {escape(s.spec)} · {_(ACTIONS.get(s.action, s.action))}{where}"


def _chosen_start(_: Translator, s: Schedule) -> str:
    """The chosen first run ("from 2026-12-10 09:00"; a date alone without the 00:00) while the schedule has not run
    yet: the saved line, /schedules and /schedule show say it in the same words."""
    if not s.options.get("from") or s.runs:
        return ""
    return _("from {when}").format(when=str(s.options["from"]).removesuffix(" 00:00"))


def _with_options(_: Translator, s: Schedule) -> str:
    """describe() and what else was chosen: pin, replace, multi (the keywords, glossed in Chinese) and a chosen first
    run (`from`) while it has not run yet — the saved line and /schedules say what the schedule will do."""
    parts = [_.listed(_.option(o) for o in OPTION_SHOWN if s.options.get(o)), _chosen_start(_, s)]
    text = describe(_, s)
    for part in filter(None, parts):  # no space after a full-width bracket ("pin（置顶）· 2026-12-03 起")
        text += ("· " if text.endswith("）") else " · ") + part
    return text


def created(_: Translator, s: Schedule) -> str:
    return _("Schedule #{id} saved: {what}. Next run: {next} ({tz}).").format(
        id=s.id, what=_with_options(_, s), next=local_text(s.next_run, s.tz), tz=escape(s.tz))


def _state(_: Translator, s: Schedule) -> str:
    if not s.enabled:
        return _("done") if s.done else _("paused")
    return _("next {when}").format(when=local_text(s.next_run, s.tz))


# A line of /schedules (Chinese: "——", as /topics lists).
LISTED = N_("#{id} {what} — {state}")


def listing(_: Translator, rows: Sequence[Schedule], tz: str) -> str:
    if not rows:
        return _("No schedules yet. Example: /schedule daily 21:00 post Good night!")
    lines = [_("<b>Schedules</b> (group time, {tz})").format(tz=escape(tz))]
    for s in rows:
        lines.append(_(LISTED).format(id=s.id, what=_with_options(_, s), state=_state(_, s)))
    return "\n".join(lines)


def _preview(text: str) -> str:
    plain = re.sub(r"<[^>]+>", "", text)
    return escape(plain[:80] + ("…" if len(plain) > 80 else ""), quote=False)


def show(_: Translator, s: Schedule) -> str:
    lines = [_("<b>Schedule #{id}</b>: {what}").format(id=s.id, what=describe(_, s)), _state(_, s)]
    if start := _chosen_start(_, s):
        lines.append(start)
    if s.last_run is not None:
        lines.append(_.ngettext("Last run: {when}; {n} run so far.", "Last run: {when}; {n} runs so far.", s.runs).format(
            when=local_text(s.last_run, s.tz), n=s.runs))
    if s.action in ("quiz", "poll", "topic") and (s.options.get("minutes") or s.options.get("points") is not None or s.options.get("first")):
        parts = []
        if s.options.get("minutes"):
            parts.append(_("open {minutes} min").format(minutes=s.options["minutes"]))
        if s.options.get("points") is not None:
            n = s.options["points"]
            parts.append((_("+{n} XP") if s.action == "topic" else _.ngettext("+{n} point", "+{n} points", n)).format(n=n))
        if s.options.get("first"):
            parts.append(_("the first {n} right answers pay").format(n=s.options["first"]))
        lines.append(_(", ").join(parts))
    if s.action == "campaign":
        lines.append(_("×{multiplier} for {minutes} min").format(multiplier=s.options.get("multiplier") or "2",
                                                                 minutes=int(s.options.get("minutes") or 60)))
    options = [o for o in OPTION_SHOWN if s.options.get(o)]
    if options:
        lines.append(_("Options: {options}").format(options=_.listed(_.option(o) for o in options)))
    texts = s.content.get("texts") or []
    if s.content.get("photo"):
        lines.append(_("A photo with its caption."))
    if len(texts) > 1:
        lines.append(_("Rotates through {n} texts.").format(n=len(texts)))
    if texts and texts[0]:
        lines.append(_preview(texts[0]))
    if s.content.get("buttons"):
        lines.append(_("Buttons: {labels}").format(labels=", ".join(escape(b[0]) for b in s.content["buttons"])))
    missed = _("a missed run runs once late (within the grace window)") if s.missed == "late" else _("a missed run is skipped")
    lines.append(missed)
    return "\n".join(lines)


def missed_set(_: Translator, s: Schedule) -> str:
    if s.missed == "skip":
        return _("Schedule #{id}: a run missed while Sticky was down is now skipped (and logged).").format(id=s.id)
    return _("Schedule #{id}: a run missed while Sticky was down now runs once, late, within {minutes} minutes.").format(
        id=s.id, minutes=s.grace_seconds // 60)


def removed(_: Translator, schedule_id: int) -> str:
    return _("Schedule #{id} removed.").format(id=schedule_id)


def paused(_: Translator, s: Schedule) -> str:
    return _("Schedule #{id} paused. /resume {id} starts it again.").format(id=s.id)


def resumed(_: Translator, s: Schedule) -> str:
    return _("Schedule #{id} resumed. Next run: {next}.").format(id=s.id, next=local_text(s.next_run, s.tz))


def ran(_: Translator, s: Schedule, outcome: str) -> str:
    return _("Schedule #{id} ran now: {outcome}.").format(id=s.id, outcome=_(OUTCOMES.get(outcome, outcome)))


def reminder(_: Translator, people: Sequence[tuple[int, str]]) -> str:
    """Mentions that notify: a link to each person (an @username is a plain mention)."""
    mentions = _.listed(who if who.startswith("@") else f'<a href="tg://user?id={uid}">{name(who)}</a>' for uid, who in people)
    return _("Not checked in today yet: {names} — /checkin").format(names=mentions)


def reminder_nobody(_: Translator) -> str:
    return _("Everyone has checked in today. 🎉")


def campaign_started(_: Translator, title: str, multiplier: str, ends, tz: str) -> str:
    return _("{title}\nCheck-ins and chat XP pay ×{m} until {ends}.").format(title=title, m=escape(multiplier), ends=local_text(ends, tz))


def campaign_ended(_: Translator, title: str) -> str:
    plain = re.sub(r"<[^>]+>", "", title).split("\n")[0][:80].rstrip(".!。！ ")
    return _("The campaign is over: {title}. Thanks for taking part!").format(title=escape(plain, quote=False))


def member_day(_: Translator) -> str:
    return _("🎉 Member day! Double points for every check-in today.")


# Why something was not sent, as the outbox and the runs record it (English, in the database): shown in the group's
# language. A Telegram error text is shown as Telegram gave it.
DETAILS = {
    "mentions opt-out": N_("mentions opt-out"),
    "quiet hours": N_("quiet hours"),
    "private opt-out": N_("private opt-out"),
    "never started the bot": N_("never started the bot"),
    "this week's report went out already": N_("this week's report went out already"),
    "the topic list is empty": N_("the topic list is empty"),
    "a survey is still open": N_("a survey is still open"),
    "its start was not announced": N_("its start was not announced"),
    "quiet hours outlast it": N_("quiet hours outlast it (its window ends first)"),
    "its moment passed": N_("its moment passed while it was held"),
    "its window is over": N_("its window was over before this late run (the bot was down)"),
    "no right to restrict members": N_("no right to restrict members"),
    "Telegram did not answer": N_("Telegram did not answer"),
    "no answer: it may be in the group": N_("Telegram did not answer: it may be in the group all the same"),
    "no answer: a copy may be left in the group": N_(
        "Telegram did not answer: a copy may be left in the group, which replace cannot delete (remove it by hand)"),
    COPY_EDITED: N_("the previous copy was over 48 hours old, which Telegram no longer lets a bot delete: "
                    "it now says it was replaced, with a link to the new one"),
    COPY_LEFT: N_("the previous copy was over 48 hours old, which Telegram no longer lets a bot delete, and it "
                  "could not be edited either: remove it by hand"),
}
_UNTIL = re.compile(r"^quiet hours, until (\S+)$")
_CAP = re.compile(r"^(daily|weekly) cap (\d+)$")
_HELD = re.compile(r"^held copy: schedule #(\d+) (removed|paused)$")  # storage.schedules.held_dropped


def _detail(_: Translator, detail: str, tz: str) -> str:
    if detail in DETAILS:
        return _(DETAILS[detail])
    if m := _UNTIL.match(detail):
        try:
            return _("quiet hours, until {when}").format(when=local_text(datetime.fromisoformat(m.group(1)), tz))
        except ValueError:
            return escape(detail)
    if m := _CAP.match(detail):
        return (_("daily cap {n}") if m.group(1) == "daily" else _("weekly cap {n}")).format(n=m.group(2))
    if m := _HELD.match(detail):  # held for quiet hours, then its schedule was removed or paused: not sent
        if m.group(2) == "removed":
            return _("schedule #{id} was removed while it was held, so it was not sent").format(id=m.group(1))
        return _("schedule #{id} was paused while it was held, so it was not sent").format(id=m.group(1))
    return escape(detail)


# A /pushlog line and why it went so: "… capped — daily cap 1"; Chinese joins them with "，" (its line has a "：").
WHY = N_("{line} — {detail}")


def pushlog(_: Translator, entries: Sequence[PushEntry], tz: str) -> str:
    if not entries:
        return _("Nothing sent on Sticky's own initiative yet.")
    lines = [_("<b>Push log</b> (latest first, group time)")]
    for e in entries:
        line = _("{when} {kind}: {outcome}").format(when=local_text(e.at, tz), kind=_(PUSH_KINDS[e.kind]) if e.kind in PUSH_KINDS else escape(e.kind),
                                                     outcome=_(OUTCOMES.get(e.outcome, e.outcome)))
        lines.append(_(WHY).format(line=line, detail=_detail(_, e.detail, tz)) if e.detail else line)
    return "\n".join(lines)


def copy_replaced(_: Translator, link: str | None) -> str:
    """What a schedule's previous copy says when `replace` cannot delete it (over 48 hours old): it was edited."""
    if link is None:  # a basic group's messages have no links
        return _("This post was replaced by a newer one.")
    return _('This post was replaced by <a href="{link}">a newer one</a>.').format(link=escape(link))
