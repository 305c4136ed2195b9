"""The step-by-step /schedule: each step's question and button labels, and the line that teaches the one-line
command it amounts to."""
from __future__ import annotations

from datetime import date
from html import escape

from bot.texts import N_, Translator

ACTIONS = (("post", N_("📝 A post")), ("reminder", N_("⏰ Check-in reminder")), ("leaderboard", N_("🏆 Weekly leaderboard")))
KINDS = (("daily", N_("Every day")), ("weekly", N_("Once a week")), ("once", N_("Once")))
DAYS = (("mon", N_("Mon")), ("tue", N_("Tue")), ("wed", N_("Wed")), ("thu", N_("Thu")), ("fri", N_("Fri")),
        ("sat", N_("Sat")), ("sun", N_("Sun")))


def cancel(_: Translator) -> str:
    return _("Cancel")


def start(_: Translator) -> str:
    return _("<b>New schedule.</b> What should I schedule?")


def how_often(_: Translator) -> str:
    return _("<b>New schedule.</b> How often?")


def which_day(_: Translator) -> str:
    return _("<b>New schedule.</b> On which day?")


def date_label(_: Translator, day: date, offset: int) -> str:
    if offset == 0:
        return _("Today")
    if offset == 1:
        return _("Tomorrow")
    return f"{_(DAYS[day.weekday()][1])} {day:%m-%d}"


def what_time(_: Translator, tz: str) -> str:
    return _("<b>New schedule.</b> At what time? (group time, {tz})").format(tz=escape(tz))


def write_content(_: Translator, command: str) -> str:
    return _("<b>Last step:</b> reply to this message with the text to post (your formatting is kept), or with a"
             " photo and its caption.\nNext time it fits in one line: <code>{command}</code> YOUR TEXT").format(
        command=escape(command))


def one_line(_: Translator, command: str) -> str:
    return _("In one line: <code>{command}</code>").format(command=escape(command))


def used(_: Translator, schedule_id: int) -> str:
    return _("Done: this became schedule #{id}.").format(id=schedule_id)


def cancelled(_: Translator) -> str:
    return _("Cancelled: nothing was scheduled.")


def admins_only(_: Translator) -> str:
    return _("Only admins can make schedules.")
