"""The step-by-step /schedule: each step's question and button labels, the line a typed answer gets when it is not
what the step asks for, and the line that teaches the one-line command it amounts to."""
from __future__ import annotations

from datetime import date
from html import escape

from bot.texts import N_, Translator

ACTIONS = (("post", N_("📝 A post")), ("reminder", N_("⏰ Check-in reminder")), ("leaderboard", N_("🏆 Weekly leaderboard")),
           ("campaign", N_("🎉 Member day (double points)")), ("quiz", N_("❓ Quiz")), ("poll", N_("📊 Poll")),
           ("topic", N_("💬 Topic of the week")), ("report", N_("📈 Weekly report")), ("nps", N_("⭐ Recommend survey (NPS)")))
KINDS = (("daily", N_("Every day")), ("weekly", N_("Some days of the week")), ("once", N_("Once")),
         ("monthly", N_("Monthly on a date")), ("nth", N_("Monthly on a weekday")), ("every", N_("Every few minutes, hours or days")),
         ("cron", N_("A cron expression")))
REPORT_TO = (("admins", N_("To the admins, in private")), ("group", N_("In the group")))
DAYS = (("mon", N_("Mon")), ("tue", N_("Tue")), ("wed", N_("Wed")), ("thu", N_("Thu")), ("fri", N_("Fri")),
        ("sat", N_("Sat")), ("sun", N_("Sun")))
NTH = (("first", N_("First")), ("second", N_("Second")), ("third", N_("Third")), ("fourth", N_("Fourth")), ("last", N_("Last")))


# Each step's question, by the step's name (bot.domain.schedule_flow); the time's question names the group's zone.
QUESTIONS = {
    "action": N_("<b>New schedule.</b> What should I schedule?"),
    "kind": N_("<b>New schedule.</b> How often?"),
    "days": N_("<b>New schedule.</b> On which days? Press each day you want (✅ marks the chosen), then Next."),
    "mday": N_("<b>New schedule.</b> On which day of the month? (29, 30 and 31 run only in the months that have them)"),
    "nth": N_("<b>New schedule.</b> Which week of the month?"),
    "weekday": N_("<b>New schedule.</b> On which weekday?"),
    "multiplier": N_("<b>New schedule.</b> How many times the points during the window?"),
    "duration": N_("<b>New schedule.</b> How long does the window last?"),
    "date": N_("<b>New schedule.</b> On which day?"),
    "time": N_("<b>New schedule.</b> At what time? (group time, {tz})"),
    "interval": N_("<b>New schedule.</b> Every how long? (at least 5 minutes)"),
    "cron": N_("<b>New schedule.</b> Which cron expression? Five fields: minute hour day-of-month month day-of-week "
               "(0 or 7 is Sunday), in group time, {tz}."),
    "to": N_("<b>New schedule.</b> Where should the weekly report go?"),
    "start": N_("<b>New schedule.</b> From which day should it run? (its first run is its first time on or after it)"),
}


def question(_: Translator, step: str, tz: str = "") -> str:
    return _(QUESTIONS[step]).format(tz=escape(tz))


def cancel(_: Translator) -> str:
    return _("Cancel")


def next_step(_: Translator) -> str:
    return _("Next ▶")


def date_label(_: Translator, day: date, offset: int) -> str:
    if offset == 0:
        return _("Today")
    if offset == 1:
        return _("Tomorrow")
    return f"{_(DAYS[day.weekday()][1])} {day:%m-%d}"


def or_type(_: Translator, step: str, command: str) -> str:
    """Below a step that takes a typed answer: how to type one, and the command the answer goes into."""
    hint = {
        "time": _("Or reply to this message with another time, such as 21:30."),
        "date": _("Or reply to this message with another date, such as 2026-12-24."),
        "interval": _("Or reply to this message with another interval, such as 45m, 4h or 2d."),
        "cron": _("Reply to this message with it, such as 0 9 * * 1-5 (09:00, Monday to Friday)."),
        "start": _("Or reply to this message with a date, or a date and a time, such as 2026-12-24 or "
                   "2026-12-24 18:00."),
        "for": _("Or reply to this message with another length, such as 45m, 4h or 2d (at most 7 days)."),
        "pts": _("Or reply to this message with another number, such as 15."),
        "first": _("Or reply to this message with another number, such as 20."),
        "where": _("Or reply to this message with the topic's number or link (t.me/c/…/12: the number at the end)."),
    }[step]
    return hint + "\n" + _("So far: <code>{command}</code>").format(command=escape(command))


def not_typed(_: Translator, step: str) -> str:
    """A typed answer that is not what the step asks for; the step is asked again below it."""
    return {
        "time": _("That is not a time: type it as hours:minutes in 24-hour form, such as 21:30 or 08:05."),
        "date": _("That is not a date: type it as year-month-day, such as 2026-12-24."),
        "interval": _("That is not an interval: type a number and m (minutes), h (hours) or d (days), such as 45m, "
                      "4h or 2d."),
        "cron": _("That is not a cron expression: five fields, minute hour day-of-month month day-of-week, such as "
                  "0 9 * * 1-5."),
        "start": _("That is not a date, or a date and a time: type it as 2026-12-24 or 2026-12-24 18:00."),
        "for": _("That is not a length: type a number and m (minutes), h (hours) or d (days), such as 45m, 4h or 2d, "
                 "at most 7 days."),
        "pts": _("That is not a number of points: type a whole number, such as 15."),
        "first": _("That is not a number of right answers: type a whole number from 1 to 1000, such as 20."),
        "where": _("That is not a forum topic: type its number (the number at the end of its link, t.me/c/…/12)."),
    }[step]


def try_again(_: Translator) -> str:
    return _("Try again:")


def write_content(_: Translator, command: str, action: str = "post") -> str:
    ask = {
        "post": _("<b>Last step:</b> reply to this message with the text to post (your formatting is kept), or with a"
                  " photo and its caption."),
        "campaign": _("<b>Last step:</b> reply to this message with the announcement (your formatting is kept), such"
                      " as Member day: double points all day!"),
        "quiz": _("<b>Last step:</b> reply to this message with the question on the first line, then one answer per"
                  " line, the right one starting with *."),
        "poll": _("<b>Last step:</b> reply to this message with the question on the first line, then one answer per"
                  " line."),
        "topic": _("<b>Last step:</b> reply to this message with the topic (your formatting is kept), or press the "
                   "button to take the next one from the group's list (/topics)."),
    }[action]
    return ask + "\n" + _("Next time it fits in one line: <code>{command}</code> YOUR TEXT").format(command=escape(command))


def one_line(_: Translator, command: str) -> str:
    return _("In one line: <code>{command}</code>").format(command=escape(command))


def used(_: Translator, schedule_id: int) -> str:
    return _("Done: this became schedule #{id}.").format(id=schedule_id)


def cancelled(_: Translator) -> str:
    return _("Cancelled: nothing was scheduled.")


def out_of_date(_: Translator) -> str:
    return _("These buttons are out of date; start again with /schedule.")


def admins_only(_: Translator) -> str:
    return _("Only admins can make schedules.")


def from_list(_: Translator) -> str:
    return _("📋 Next topic from the list")


def too_long_for_buttons(_: Translator, command: str) -> str:
    return _("That cron expression is too long for the buttons; use the one-line command instead: "
             "<code>{command}</code> …").format(command=escape(command))


def summary(_: Translator, command: str, first: str, tz: str) -> str:
    """The step-by-step /schedule's choices to check before saving."""
    return _("<b>New schedule: check it before saving.</b>\n<code>{command}</code>\nFirst run: {first} ({tz}).\n"
             "Nothing is saved before you press the last button.").format(command=escape(command), first=first, tz=escape(tz))


def option_toggle(_: Translator, option: str, on: bool) -> str:
    label = {"pin": _("📌 Pin each post (silently)"), "replace": _("♻️ Delete the previous copy"),
             "multi": _("🔢 Several answers allowed")}[option]
    return ("✅ " if on else "☐ ") + label


def span(_: Translator, word: str) -> str:
    """A length as the one-line syntax writes it (90m, 3h, 2d), read out."""
    n, unit = int(word[:-1]), word[-1]
    return {"m": _.ngettext("{n} minute", "{n} minutes", n), "h": _.ngettext("{n} hour", "{n} hours", n),
            "d": _.ngettext("{n} day", "{n} days", n)}[unit].format(n=n)


def pay_label(_: Translator, action: str, points: str) -> str:
    n = int(points)
    return (_("+{n} XP") if action == "topic" else _.ngettext("+{n} point", "+{n} points", n)).format(n=n)


def winners_label(_: Translator, n: str) -> str:
    return _("Only the first right answer") if int(n) == 1 else _("Only the first {n} right answers").format(n=n)


def where_label(_: Translator, where: str, name: str | None = None) -> str:
    """A topic a button offers: the one the flow runs in, General, or one Sticky has seen (by its name)."""
    if where == "here":
        return _("This topic")
    if where == "general":
        return _("The General topic")
    return name if name else _("Topic {id}").format(id=where)


def _value(_: Translator, name: str, action: str, value: str) -> str:
    if name == "for":
        return span(_, value)
    if name == "pts":
        return pay_label(_, action, value)
    if name == "first":
        return _("Every right answer") if value == "all" else winners_label(_, value)
    return where_label(_, value)


def value_button(_: Translator, name: str, action: str, value: str, default: bool, name_of_topic: str | None = None) -> str:
    """A summary button showing a value to choose (the default until it is changed): "⏱ Open for 1 hour (default)";
    a forum topic by its name when Sticky has seen it (`name_of_topic`)."""
    shown = _value(_, name, action, value)
    if name == "for":
        label = _("⏱ Open for {value}").format(value=shown)
    elif name == "pts":
        label = (_("🎁 Each right answer: {value}") if action == "quiz" else _("🎁 Each voter: {value}") if action == "poll"
                 else _("🎁 A member's first reply: {value}")).format(value=shown)
    elif name == "first":
        label = "🥇 " + shown
    elif value in ("here", "general"):
        label = _("🧵 Posts in this topic") if value == "here" else _("🧵 Posts in the General topic")
    elif name_of_topic:
        label = _("🧵 Posts in the topic “{name}”").format(name=name_of_topic)
    else:
        label = _("🧵 Posts in topic {id}").format(id=escape(value))
    return _("{label} (default)").format(label=label) if default else label


def default_button(_: Translator, name: str, action: str, value: str) -> str:
    return _("{label} (default)").format(label=_value(_, name, action, value))


def value_question(_: Translator, name: str, action: str) -> str:
    return {
        "for": _("<b>New schedule.</b> How long does it stay open?") if action != "topic" else
        _("<b>New schedule.</b> For how long do replies to the topic count?"),
        "pts": _("<b>New schedule.</b> How many points does each right answer earn?") if action == "quiz" else
        _("<b>New schedule.</b> How many points does each voter earn?") if action == "poll" else
        _("<b>New schedule.</b> How much XP does a member's first reply earn?"),
        "first": _("<b>New schedule.</b> Which right answers are paid?"),
        "where": _("<b>New schedule.</b> In which forum topic should it post?"),
    }[name]


def first_run_button(_: Translator) -> str:
    return _("📅 Choose the first run")


def as_soon_as_due(_: Translator) -> str:
    return _("As soon as it is due")


def save(_: Translator, content_next: bool) -> str:
    return _("Next: the content ▶") if content_next else _("✅ Save")


def summary_replied(_: Translator, content_next: bool) -> str:
    """A reply to the summary: nothing is taken from it (the content, if any, is asked for after its last button)."""
    if content_next:
        return _("Nothing was saved: the summary does not take the content. Press “{button}” on it, then reply to the "
                 "prompt that follows.").format(button=escape(save(_, True)))
    return _("Nothing was saved: a reply to the summary is not used. Press “{button}” on it to save the "
             "schedule.").format(button=escape(save(_, False)))
