"""Replies of the feedback box: /feedback, /suggestions, /feedbacks, /fb accept|reject, and the author's notice."""
from __future__ import annotations

from collections.abc import Sequence
from html import escape

from bot.domain.badges import BadgeRule
from bot.domain.feedback import FeedbackError
from bot.texts import N_, Translator
from bot.texts.core import name

STATUS = {"open": N_("open"), "accepted": N_("accepted"), "rejected": N_("rejected")}


def _short(text: str, n: int = 120) -> str:
    return escape(text[:n] + ("…" if len(text) > n else ""), quote=False)


def feedback_error(_: Translator, err: FeedbackError) -> str:
    p = err.params
    texts = {
        "empty": _("Write your suggestion after the command: /feedback More tea tastings, please!"),
        "too_long": _("A suggestion may be at most {limit} characters.").format(limit=p.get("limit")),
        "unknown_id": _("No suggestion #{id} in this group; /feedbacks lists them.").format(id=p.get("id")),
        "decided": _("Suggestion #{id} is already {status}.").format(id=p.get("id"), status=_(STATUS.get(str(p.get("status")), "")) ),
        "bad_points": _("Points must be a whole number from 0 to {limit}.").format(limit=p.get("limit")),
        "bad_id": _("A suggestion is named by its number, such as /fb accept 3."),
        "own": _("That is your own suggestion; others vote on it."),
    }
    return texts.get(str(p.get("reason")), _("That didn't work."))


def saved(_: Translator, feedback_id: int) -> str:
    return _("Thank you! Suggestion #{id} is in the feedback box; admins will look at it.").format(id=feedback_id)


def suggestions(_: Translator, rows: Sequence[tuple[int, str, int, str | None]]) -> str:
    """rows: (id, text, votes, author name or None)."""
    if not rows:
        return _("No open suggestions. Make one: /feedback YOUR IDEA")
    lines = [_("<b>Suggestions</b> — 👍 the ones you like (one vote each)")]
    for fid, text, votes, author in rows:
        by = f" — {name(author)}" if author else ""
        lines.append(f"#{fid} {_short(text)}{by} · 👍 {votes}")
    return "\n".join(lines)


def vote_counted(_: Translator) -> str:
    return _("Thanks for your vote!")


def vote_already(_: Translator) -> str:
    return _("You already voted for this one.")


def admin_list(_: Translator, rows: Sequence[tuple[int, str, int, str, str]], which: str) -> str:
    """rows: (id, text, votes, status, author name)."""
    if not rows:
        return _("No open suggestions.") if which == "open" else _("No suggestions yet.")
    lines = [_("<b>Feedback box</b> ({which})").format(which=_("open") if which == "open" else _("all"))]
    for fid, text, votes, status, author in rows:
        lines.append(_("#{id} [{status}] {author}: {text} · 👍 {votes}").format(
            id=fid, status=_(STATUS.get(status, status)), author=name(author), text=_short(text), votes=votes))
    return "\n".join(lines)


def accepted(_: Translator, fid: int, author: str, points: int) -> str:
    if points:
        return _.ngettext("Suggestion #{id} accepted: {who} gets {n} point.", "Suggestion #{id} accepted: {who} gets {n} points.",
                          points).format(id=fid, who=name(author), n=points)
    return _("Suggestion #{id} accepted.").format(id=fid)


def rejected(_: Translator, fid: int) -> str:
    return _("Suggestion #{id} rejected.").format(id=fid)


def author_accepted(_: Translator, who: str, group: str, text: str, points: int, badges: Sequence[BadgeRule]) -> str:
    from bot.texts.points import badge_name

    line = _("{who}, your suggestion in {group} was accepted: “{text}”").format(who=name(who), group=escape(group), text=_short(text, 60))
    if points:
        line += "\n" + _.ngettext("+{n} point for it.", "+{n} points for it.", points).format(n=points)
    for b in badges:
        line += "\n" + _("New badge: {badge}").format(badge=badge_name(_, b.key))
    return line


def author_rejected(_: Translator, who: str, group: str, text: str, reason: str | None) -> str:
    line = _("{who}, your suggestion in {group} was not taken up: “{text}”").format(who=name(who), group=escape(group), text=_short(text, 60))
    if reason:
        line += "\n" + _("Reason: {reason}").format(reason=escape(reason, quote=False))
    return line
