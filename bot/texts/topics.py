"""Replies about the topic of the week: the admin's topic list, the topic post, and its closing with the best replies."""
from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

from bot.domain.schedules import local_text
from bot.domain.topics import TopicError
from bot.texts import Translator
from bot.texts.core import name
from storage.topics import Topic


def topic_error(_: Translator, err: TopicError) -> str:
    p = err.params
    texts = {
        "empty": _("Write the topic after add, such as /topics add Your favourite tea, and why?"),
        "too_long": _("A topic is at most {n} characters.").format(n=p.get("limit")),
        "unknown_id": _("No topic #{id} on this group's list; /topics shows it.").format(id=p.get("id")),
        "bad_id": _("A topic is named by its number, such as /topics del 2."),
    }
    return texts.get(str(p.get("reason")), _("That topic didn't work."))


def added(_: Translator, topic_id: int, waiting: int) -> str:
    return _.ngettext("Topic #{id} added; {n} topic on the list.", "Topic #{id} added; {n} topics on the list.", waiting).format(
        id=topic_id, n=waiting)


def removed(_: Translator, topic_id: int) -> str:
    return _("Topic #{id} removed from the list.").format(id=topic_id)


def listing(_: Translator, topics: Sequence[Topic]) -> str:
    if not topics:
        return _("No topics on the list yet. /topics add TEXT adds one; /schedule weekly mon 09:00 topic posts the next each week.")
    lines = [_("<b>Topics</b> (the least used goes next)")]
    for t in topics:
        used = _.ngettext("used {n} time", "used {n} times", t.used).format(n=t.used) if t.used else _("not used yet")
        lines.append(_("#{id} {topic} — {used}").format(id=t.id, topic=_plain(t.text, 80), used=used))
    return "\n".join(lines)


def _plain(text: str, limit: int) -> str:
    plain = re.sub(r"<[^>]+>", "", text).split("\n")[0]
    return escape(plain[:limit] + ("…" if len(plain) > limit else ""), quote=False)


def post(_: Translator, text: str, ends, tz: str, xp: int) -> str:
    lines = [_("💬 <b>Topic of the week</b>"), text, ""]
    if xp:
        lines.append(_("Reply to this message until {ends}: your first reply earns +{xp} XP, and the best replies are "
                       "highlighted.").format(ends=local_text(ends, tz), xp=xp))
    else:
        lines.append(_("Reply to this message until {ends}: the best replies are highlighted.").format(ends=local_text(ends, tz)))
    return "\n".join(lines)


def closed(_: Translator, title: str, replied: int, best: Sequence[tuple[str | None, int, str | None]], points: int) -> str:
    """best: (name or None when the member opted out of mentions, replies it got, link to it or None)."""
    lines = [_("💬 The topic is closed: {title}").format(title=_plain(title, 80))]
    if not replied:
        lines.append(_("Nobody replied this time."))
        return "\n".join(lines)
    lines.append(_.ngettext("{n} member replied.", "{n} members replied.", replied).format(n=replied))
    if best:
        lines.append(_("Best replies (most replies from others):"))
        for i, (who, count, link) in enumerate(best, 1):
            person = name(who) if who else _("a member")
            replies = _.ngettext("{n} reply", "{n} replies", count).format(n=count)
            shown = f'<a href="{link}">{replies}</a>' if link else replies
            lines.append(_("{place}. {who} — {replies}").format(place=i, who=person, replies=shown))
        if points:
            lines.append(_.ngettext("+{n} point each.", "+{n} points each.", points).format(n=points))
    return "\n".join(lines)
