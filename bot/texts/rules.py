"""Replies of moderation and the rules engine: warns, mutes, bans, reports, the audit log, rule lists and traces."""
from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from bot.domain.errors import UserError
from bot.domain.moderation import Penalty, format_duration
from bot.domain.rules import TOO_LONG, Part
from bot.texts import N_, NC_, Translator
from bot.texts.core import RIGHTS, name
from bot.texts.core import name as _person


ACTIONS = {
    "warn": N_("warned"), "unwarn": N_("warn removed"), "resetwarns": N_("warns reset"),
    "mute": N_("muted"), "unmute": N_("unmuted"), "ban": N_("banned"), "unban": N_("unbanned"), "kick": N_("kicked"),
    "delete": N_("message deleted"), "purge": N_("messages purged"), "approve": N_("approved"),
    "unapprove": N_("approval withdrawn"), "report": N_("reported"),
    "violation": N_("violation counted"), "reset": N_("violations cleared"), "notify": N_("admins notified"),
}


MAX_REASON = 100  # a reason is shown up to this long: a whole log must fit in one Telegram message


def reason_text(reason: str) -> str:
    return escape(reason if len(reason) <= MAX_REASON else reason[:MAX_REASON - 1] + "…")


def duration(_: Translator, value: timedelta | None) -> str:
    return _("forever") if value is None else format_duration(value)


def until(_: Translator, when: datetime | None, tz: str) -> str:
    if when is None:
        return _("forever")
    return _("until {when}").format(when=when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M"))


def penalty(_: Translator, p: Penalty) -> str:
    if p.kind == "kick":
        return _("kick")
    if p.kind == "mute":
        return _("mute for {d}").format(d=duration(_, p.duration)) if p.duration else _("mute")
    return _("ban for {d}").format(d=duration(_, p.duration)) if p.duration else _("ban")


def penalised(_: Translator, who: str, p: Penalty) -> str:
    """What happens to ``who`` as a clause ("Eve is muted for 1h"), for sentences that say it of a member;
    penalty() is the bare noun a setting shows ("mute for 1h")."""
    if p.kind == "kick":
        return _("{who} is removed from the group").format(who=name(who))
    if p.kind == "mute":
        if p.duration:
            return _("{who} is muted for {d}").format(who=name(who), d=duration(_, p.duration))
        return _("{who} is muted").format(who=name(who))
    if p.duration:
        return _("{who} is banned for {d}").format(who=name(who), d=duration(_, p.duration))
    return _("{who} is banned").format(who=name(who))


def moderation_error(_: Translator, err: UserError) -> str:
    p = err.params
    if err.code == "logchat":
        return log_error(_, str(p.get("reason")), str(p.get("where", "")))
    if err.code == "rights":
        return _("I need the “{right}” admin right for that. Give it to me in the group's admin settings.").format(
            right=_(RIGHTS.get(str(p.get("right")), str(p.get("right")))))
    if p.get("reason") == "admin_right":
        return _("You need the “{right}” admin right in this group for that.").format(
            right=_(RIGHTS.get(str(p.get("right")), str(p.get("right")))))
    if p.get("reason") == "bad_duration":
        return _("“{value}” is not a duration; use 30s, 10m, 2h, 7d or 2w.").format(value=escape(str(p.get("value", ""))[:40]))
    texts = {
        "owner": _("Nobody acts on the group's owner."),
        "admin": _("Admins don't act on admins."),
        "telegram_admin": _("Telegram doesn't let me act on an admin; demote them in Telegram first."),
        "self": _("You can't do that to yourself."),
        "bot": _("I won't do that to myself."),
        "no_reply": _("Reply to the message you mean."),
        "not_warned": _("They have no warns."),
        "already_approved": _("They are approved already."),
        "not_approved": _("They are not approved."),
        "not_muted": _("They are not muted; nothing to undo."),
        "not_banned": _("They are not banned; nothing to undo."),
        "channel_mute": _("Telegram can't mute a channel: it is not a member of the group. Use /ban to stop anyone posting on behalf of it here (/unban lets it back)."),
        "channel_kick": _("Telegram can't kick a channel: it is not a member of the group. Use /ban to stop anyone posting on behalf of it here (/unban lets it back)."),
        "channel_timed": _("Telegram bans a channel until it is unbanned, never for a set time: send /ban without a duration, and /unban when it may post again."),
        "report_admin": _("Admins can't be reported."),
        "report_wait": _("You reported something a moment ago; admins have it. Try again in a few minutes."),
        "gone": _("That message is gone already."),
        "stale": _("That is done already, or no longer possible."),
        "admin_rights_unknown": _("Telegram did not tell me your admin rights just now; try again in a moment."),
    }
    return texts.get(str(p.get("reason")), _("That didn't work."))


def missing_right(_: Translator, right: str | None) -> str:
    return _("(I could not do it: I need the “{right}” admin right.)").format(right=_(RIGHTS.get(right or "", right or "")))


def target_protected(_: Translator, who: str) -> str:
    """Telegram refused because the member is an admin or the owner there (promoted where Sticky did not see)."""
    return _("(I could not do it: Telegram does not let me act on {who}, an admin here.)").format(who=name(who))


def bot_not_member(_: Translator) -> str:
    """Telegram refused with 403: the bot was removed from the group (a removal Sticky has not heard of yet)."""
    return _("(I could not do it: Telegram says I am no longer in this group.)")


def action_failed(_: Translator) -> str:
    return _("(Telegram did not accept that; it is in the log.)")


def warned(_: Translator, who: str, count: int, limit: int, reason: str | None) -> str:
    text = _("{who} has been warned ({count}/{limit}).").format(who=name(who), count=count, limit=limit)
    if reason:
        text += "\n" + _("Reason: {reason}").format(reason=reason_text(reason))
    return text


def warn_penalty(_: Translator, who: str, p: Penalty, reset: bool) -> str:
    if reset:
        return _("That is the warn limit: {penalised}, and the warns start again.").format(penalised=penalised(_, who, p))
    return _("{penalised} for reaching this many warns.").format(penalised=penalised(_, who, p))


def remove_warn_button(_: Translator) -> str:
    return _("Remove warn (admins)")


def warn_removed(_: Translator, who: str) -> str:
    return _("One warn of {who} removed.").format(who=name(who))


def warns_reset(_: Translator, who: str, n: int) -> str:
    return _.ngettext("{who}'s {n} warn was cleared.", "{who}'s {n} warns were cleared.", n).format(who=name(who), n=n)


def warns_list(_: Translator, who: str, reasons: list[str | None], limit: int) -> str:
    if not reasons:
        return _("{who} has no warns.").format(who=name(who))
    head = _("{who} has {count}/{limit} warns:").format(who=name(who), count=len(reasons), limit=limit)
    return "\n".join([head] + [f"{i}. {reason_text(r) if r else _('(no reason)')}" for i, r in enumerate(reasons, 1)])


def acted(_: Translator, kind: str, who: str, when: datetime | None, tz: str, reason: str | None,
          channel: bool = False) -> str:
    """`channel`: the target is a channel members write on behalf of (banned as a sender chat)."""
    texts = {
        "mute": _("{who} is muted {until}."),
        "ban": _("{who} is banned {until}."),
        "kick": _("{who} was removed; they may join again."),
        "unmute": _("{who} may write again."),
        "unban": _("{who} is unbanned and may join again."),
    }
    if channel and kind == "unban":
        text = _("{who} is unbanned: members may post on behalf of it here again.").format(who=name(who))
    elif kind == "kick" and when is not None:  # the unban did not go through: Telegram lets them back when the ban ends
        text = _("{who} was removed; they may join again from {when}.").format(
            who=name(who), when=when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M"))
    else:
        text = texts[kind].format(who=name(who), until=until(_, when, tz))
    if reason:
        text += "\n" + _("Reason: {reason}").format(reason=reason_text(reason))
    return text


def purged(_: Translator, n: int) -> str:
    return _.ngettext("Deleted {n} message.", "Deleted {n} messages.", n).format(n=n)


def warn_limit_set(_: Translator, limit: int) -> str:
    return _.ngettext("Warn limit: {n}. At {n} warn the warn mode applies.", "Warn limit: {n}. At {n} warns the warn mode applies.",
                      limit).format(n=limit)


def warn_mode_set(_: Translator, p: Penalty) -> str:
    return _("At the warn limit members now get: {penalty}.").format(penalty=penalty(_, p))


def modlog(_: Translator, rows: list[tuple[datetime, str, str, str, str | None, bool]], tz: str) -> str:
    """rows: (at, action, target, actor, reason, dry)."""
    if not rows:
        return _("Nothing in the moderation log yet.")
    lines = [_("Moderation log (newest first):")]
    for at, action, target, actor, reason, dry in rows:
        line = _("{when} {target}: {action} — {actor}").format(
            when=f"{at.astimezone(ZoneInfo(tz)):%m-%d %H:%M}", target=name(target), action=_(ACTIONS.get(action, action)),
            actor=name(actor))
        if reason:  # in Chinese a full-width colon and brackets: "Bob：封禁 — Owner（卖粉丝）"
            line = _("{line} ({reason})").format(line=line, reason=reason_text(reason))
        if dry:
            line = _.joined(line, _("[dry run]"))
        if sum(len(x) + 1 for x in lines) + len(line) > 3500:  # one Telegram message holds 4096 characters
            break
        lines.append(line)
    return "\n".join(lines)


def by_rule(_: Translator, rule: str) -> str:
    return _("rule {rule}").format(rule=escape(rule))


def rule_acted(_: Translator, who: str, rule: str, outcome, tz: str) -> str:
    """A rule's own mute, ban or kick, said in the chat as an admin's would be, with the rule as the reason."""
    return acted(_, outcome.action.kind, who, outcome.until, tz, by_rule(_, rule))


def rules_text(_: Translator, text: str) -> str:
    if not text:
        return _("This group has no rules written down yet. Admins: /setrules TEXT")
    return _("The rules of this group:") + "\n" + escape(text)


def rules_set(_: Translator) -> str:
    return _("The group's rules are saved; /rules shows them.")


def approved(_: Translator, who: str, yes: bool) -> str:
    if yes:
        return _("{who} is approved: content rules no longer apply to them (flood still does).").format(who=name(who))
    return _("{who} is no longer approved.").format(who=name(who))


def report_sent(_: Translator, reporter: str, who: str) -> str:
    return _("{reporter} reported {who} to the admins.").format(reporter=name(reporter), who=name(who))


def report_notice(_: Translator, group: str, reporter: str, who: str, reason: str | None, link: str | None) -> str:
    """A private notice to an admin: a member reported someone's message."""
    text = _("🚩 {group}: {reporter} reported {who}.").format(group=escape(group), reporter=name(reporter), who=name(who))
    if reason:
        text += "\n" + _("Reason: {reason}").format(reason=reason_text(reason))
    if link:
        text += "\n" + f'<a href="{escape(link)}">{escape(link)}</a>'
    return text


def report_buttons(_: Translator) -> dict[str, str]:
    return {"del": _("🗑 Delete"), "warn": _("⚠️ Warn"), "mute": _("🔇 Mute 1h"), "ban": _("⛔ Ban"), "ok": _("✔️ Dismiss")}


def report_done(_: Translator, admin: str, action: str, who: str) -> str:
    labels = {
        "del": _("message deleted"), "warn": _("warned"), "mute": _("muted for 1h"), "ban": _("banned"), "ok": _("dismissed"),
    }
    return _("Report handled by {admin}: {who} — {what}.").format(admin=name(admin), who=name(who), what=labels[action])


def admins_only(_: Translator) -> str:
    return _("Only admins can use these buttons.")


# --- the rules engine ---------------------------------------------------------------------------------------

# What the rule parser (bot/domain/rules.py) says was expected, in words; the keywords inside are the syntax and
# stay as typed. tests/domain/test_rules_domain.py checks that every hint the parser can give is listed here.
PARSER_HINTS = (
    N_(" or "),
    N_("a word, a number or a quoted text"), N_("a quoted text"), N_("a whole number from {lo} to {hi}"),
    N_("a whole number from {lo} to {hi}{suffix}"), N_("a number such as +10 or -5"),
    N_("a duration such as 30s, 10m, 2h, 7d or 2w"), N_("a comparison: <, <=, >, >=, = or !="),
    N_("a name (letters, digits, _)"), N_("a violation name such as warn or spam"), N_("a violation name"),
    N_('a quoted word such as "spam" or "in list"'), N_("a word that is not empty"),
    N_('a quoted pattern such as "buy\\s+now"'), N_("a valid regular expression"), N_("a list name"),
    N_("a window of at most {d}"), N_("a tier key such as silver"), N_("a tier perk such as post_links"),
    N_("a time window such as 22:00-06:00"), N_('a quoted text such as "No links here"'),
    N_("a text of 1 to {n} characters"), N_("a positive XP amount (XP is never taken)"), N_("a badge key"),
    N_("a trigger: {names}"), N_("a condition: {names}"), N_("an effect: {names}"),
    N_("a rule of at most {n} characters"), N_("“and” and a condition, “or” and a trigger, or “then”"),
    N_("“,” and another effect, or the end of the rule"),
    N_("an effect (this rule has its cooldown already)"), N_("an effect (this rule says continue already)"),
)


# Every part kind's syntax as /rule help shows it (bot/domain/rules.py REGISTRY: the same registry parses them);
# tests/handlers/test_rules.py checks that every kind /rule help lists is here, so each has its translation.
KIND_SYNTAX = (
    NC_("rule syntax", 'message'),
    NC_("rule syntax", 'edit'),
    NC_("rule syntax", 'join'),
    NC_("rule syntax", 'checkin'),
    NC_("rule syntax", 'referral'),
    NC_("rule syntax", 'tier'),
    NC_("rule syntax", "command (a member's command)"),
    NC_("rule syntax", 'violations NAME >= N [within 1d]  (warns >= N is violations warn >= N)'),
    NC_("rule syntax", 'inactive N days'),
    NC_("rule syntax", 'has link | has forward | has sticker | has media [photo|video|…] | has poll|contact|location|game|inline'),
    NC_("rule syntax", 'words "w1" "w*" …  |  words in LIST'),
    NC_("rule syntax", 'regex "pattern"'),
    NC_("rule syntax", 'domain in LIST'),
    NC_("rule syntax", 'mentions >= N'),
    NC_("rule syntax", 'length >= N (characters)'),
    NC_("rule syntax", 'caps >= 70% (share of capital letters)'),
    NC_("rule syntax", 'emoji >= N'),
    NC_("rule syntax", 'days < D (days in the group)'),
    NC_("rule syntax", 'messages < N (messages in the group)'),
    NC_("rule syntax", 'script cyrillic|arabic|hebrew|rtl|cjk|latin'),
    NC_("rule syntax", 'duplicate N in 1m (the same text N times)'),
    NC_("rule syntax", 'flood N in 10s (one member)  |  groupflood N in 10s (everyone)'),
    NC_("rule syntax", 'tier < silver'),
    NC_("rule syntax", 'lacks PERK (a tier perk such as post_links)'),
    NC_("rule syntax", 'role < spreader  |  role in activator,spreader  |  role not in …'),
    NC_("rule syntax", 'time 22:00-06:00 (group time)'),
    NC_("rule syntax", 'from bot | from channel'),
    NC_("rule syntax", 'delete'),
    NC_("rule syntax", 'kick'),
    NC_("rule syntax", 'notify (admins / the log channel)'),
    NC_("rule syntax", 'explain (say which tier unlocks what was refused)'),
    NC_("rule syntax", 'reply "text" [for 30s]'),
    NC_("rule syntax", 'warn ["reason"]'),
    NC_("rule syntax", 'violation NAME  |  reset NAME'),
    NC_("rule syntax", 'mute [DURATION|forever]'),
    NC_("rule syntax", 'ban [DURATION|forever]'),
    NC_("rule syntax", 'points +N | points -N | xp +N'),
    NC_("rule syntax", 'badge KEY'),
    NC_("rule syntax", 'give ROLE | take ROLE (activator or spreader)'),
)


def rule_help(_: Translator, parts: dict[str, list[str]]) -> str:
    """/rule help: the line's shape and every trigger, condition and effect, from the registry."""
    heads = {"trigger": _("Triggers (any one suffices):"), "condition": _("Conditions (all must hold; “not” in front negates):"),
             "effect": _("Effects (in the order written):")}
    out = [_("A rule is one line: when TRIGGER [or TRIGGER…] [and CONDITION…] then EFFECT[, EFFECT…][, cooldown 1d | once a day][, continue]")]
    for role in ("trigger", "condition", "effect"):
        out.append("")
        out.append(heads[role])
        out.extend("• " + escape(_.pgettext("rule syntax", syntax)) for syntax in parts[role])
    out.append("")
    out.append(escape(_("OP is one of < <= > >= = !=; durations 30s 10m 2h 7d 2w. Example:")))
    out.append(escape('/rule add when message and has link and tier < silver then delete, reply "Links unlock at silver"'))
    return "\n".join(out)


def parser_hint(_: Translator, template: str, params: dict) -> str:
    """What the rules parser expected, for a reader (bot/domain/rules.py render_hint gives the raw English): a choice
    of keywords (a tuple) as "“in” or “within”" — in Chinese each keyword with its meaning, "in（在……之内）或 within
    （……）" — and the kinds a trigger, condition or effect may be (a list) as an enumeration, "checkin（签到）、…"."""
    role = params.get("role")
    values = {}
    for key, value in params.items():
        if isinstance(value, tuple):
            values[key] = _.options(value, context="rule word", quoted=True)
        elif isinstance(value, list):
            values[key] = _.listed(_.option(w, f"rule {role}") for w in value)
        else:
            values[key] = value
    return _(template).format(**values) if values else _(template)


SYNTAX_ERROR = N_("Rule syntax, at character {pos}: expected {expected}, found “{found}”.")
NC_("keyword first", "Rule syntax, at character {pos}: expected {expected}, found “{found}”.")


def rule_error(_: Translator, err: UserError) -> str:
    p = err.params
    reason = p.get("reason")
    if err.code == "flood":
        return flood_error(_, str(reason), str(p.get("value", "")))
    if err.code == "lock":
        return lock_error(_, str(reason), str(p.get("value", "")))
    if err.code == "blocklist":
        return blocklist_error(_, str(reason), str(p.get("value", "")), str(p.get("tag", "")))
    if err.code == "import":
        return import_error(_, err)
    if reason == "syntax" and p.get("template") == TOO_LONG:
        # Nothing at a position is wrong: the whole rule is too long (it said 'found “more”' and pointed at nothing).
        return _("A rule is at most {n} characters; this one has {length}.").format(
            n=dict(p.get("hint") or {}).get("n"), length=p.get("length"))
    if reason == "syntax":
        line, pos = str(p.get("line", "")), int(p.get("position", 0))
        shown = escape(line[max(0, pos - 30):pos]) + "👉" + escape(line[pos:pos + 30])
        found = escape(str(p.get("found") or "")) or _("the end")
        template = p.get("template")
        expected = parser_hint(_, str(template), dict(p.get("hint") or {})) if template else str(p.get("expected"))
        # A hint that starts with a keyword (a choice) stands apart from the Chinese before it: "应为 in（…）".
        said = (_.pgettext("keyword first", SYNTAX_ERROR) if template == "{choices}" and expected[:1].isascii() and expected[:1].isalnum() else _(SYNTAX_ERROR))
        return said.format(
            pos=pos + 1, expected=escape(expected), found=found) + "\n" + shown
    texts = {
        "unknown": _("No rule {ref}; /rule list shows them.").format(ref=escape(str(p.get("ref", "")))),
        "name_taken": _("A rule named {name} exists already.").format(name=escape(str(p.get("name", "")))),
        "too_many": _("A group has at most {n} rules.").format(n=p.get("n")),
        "too_many_action": _.joined(
            _("Each blocklist action has a rule of its own, and {tag} has none yet: this group has {n} of {n} rules, "
              "so there is no room for it.").format(tag=escape(str(p.get("tag", ""))), n=p.get("n")),
            (_("Remove a rule (/rule list, then /rule del N), leave the tag off (the blocklist's own action), or use "
               "an action that has its rule already: {tags}.").format(tags=escape(str(p.get("tags"))))
             if p.get("tags") else
             _("Remove a rule (/rule list, then /rule del N), or leave the tag off (the blocklist's own action)."))),
        "position": _("Positions go from 1 to {n}.").format(n=p.get("n")),
    }
    return texts.get(str(reason), _("That didn't work."))


def rule_list(_: Translator, rows, mode: str) -> str:
    if not rows:
        return _("No rules. Add one: /rule add when message and has link then delete")
    head = _("Rules, in order (the first that fires stops the rest unless it says continue):")
    if mode != "on":
        head = _.joined(head, _("[dry run: nothing is done]") if mode == "dry" else _("[rules are off]"))
    lines = [head]
    for i, row in enumerate(rows, 1):
        state = _("on") if row.enabled else _("off")
        lines.append(f"{i}. <b>{escape(row.name)}</b> [{state}] <code>{escape(row.source)}</code>")
    return "\n".join(lines)


def warn_ladder(_: Translator, steps, limit: int, mode: Penalty, days: int) -> str:
    """The warn escalation, one line under /rule list: steps below the limit, then the limit's mode."""
    parts = [_("at {n}, {penalty}").format(n=n, penalty=penalty(_, p)) for n, p in steps]
    parts.append(_("at {n} (the limit), {penalty} and the warns start again").format(n=limit, penalty=penalty(_, mode)))
    expiry = (_.ngettext("Warns count for {n} day.", "Warns count for {n} days.", days).format(n=days) if days
              else _("Warns never expire."))
    return _.joined(_.joined(_("Warns: {steps}.").format(steps=_("; ").join(parts)), expiry), "/setwarnlimit, /setwarnmode")


def rule_show(_: Translator, n: int, row) -> str:
    state = _("on") if row.enabled else _("off")
    return f"{n}. <b>{escape(row.name)}</b> [{state}]\n<code>{escape(row.source)}</code>"


def rule_added(_: Translator, n: int, name: str) -> str:
    return _("Rule {n} ({name}) added.").format(n=n, name=escape(name))


def rule_switched(_: Translator, name: str, on: bool) -> str:
    return (_("Rule {name} is on.") if on else _("Rule {name} is off.")).format(name=escape(name))


def rule_deleted(_: Translator, name: str) -> str:
    return _("Rule {name} deleted.").format(name=escape(name))


def rule_moved(_: Translator, name: str, position: int) -> str:
    return _("Rule {name} is now number {n}.").format(name=escape(name), n=position)


def rule_trace(_: Translator, decision, mode: str = "on", counted=(), who: str | None = None) -> str:
    lines = [_("Dry run for a typical member:") if who is None else _("Dry run for {name}:").format(name=_person(who))]
    for t in decision.trace:
        name = escape(t.rule.name)
        if t.why == "off":
            lines.append("· " + _("{name}: off (/rule on {name} switches it on)").format(name=name))
        elif t.fired:
            lines.append("✅ " + _("{name} fires: {effects}").format(name=name, effects=escape(", ".join(map(str, t.rule.effects)))))
        elif t.why == "trigger":
            lines.append("· " + _("{name}: listens to something else").format(name=name))
        elif t.why == "stopped":
            lines.append("· " + _("{name}: not reached (an earlier rule fired)").format(name=name))
        elif t.why == "cooldown":
            lines.append("· " + _("{name}: cooling down").format(name=name))
        elif t.why == "command":
            lines.append("· " + _("{name}: not for commands (a rule that rewards pays for taking part, not for a command; a rule on the command trigger may)").format(name=name))
        elif t.why in ("exempt", "approved"):
            lines.append("· " + _("{name}: this member is exempt").format(name=name))
        else:
            lines.append("· " + _("{name}: not fired, because this does not hold: {condition}").format(name=name, condition=escape(t.why)))
    if counted:
        lines.append(_("How it counted (on a copy of the live window, which stays as it was):"))
    for c in counted:
        within = escape(format_duration(c.within))
        if c.key == "groupflood":
            said = _.ngettext("{n} message in the group in the last {within}, counting this one",
                              "{n} messages in the group in the last {within}, counting this one", c.n)
        elif c.key == "duplicate":
            said = _.ngettext("{n} message with this text in the last {within}, counting this one",
                              "{n} messages with this text in the last {within}, counting this one", c.n)
        else:
            said = _.ngettext("{n} message in the last {within}, counting this one",
                              "{n} messages in the last {within}, counting this one", c.n)
        lines.append(f"· {escape(c.source)}: " + said.format(n=c.n, within=within))
    if not any(t.fired for t in decision.trace):
        lines.append(_("Nothing would happen."))
    if mode == "dry":
        lines.append(_("rules_mode is dry here: rules only write to /modlog what they would do."))
    elif mode == "off":
        lines.append(_("rules_mode is off here: no rule runs (/set rules_mode on)."))
    return "\n".join(lines)


def forward_refused(_: Translator, who: str, tier: str, needed: str) -> str:
    return _("↪️ {who}, forwards are for {needed} and above here; you are {tier}.").format(who=name(who), needed=needed, tier=tier)


def list_changed(_: Translator, added: int, removed: int, listname: str, reason: str | None = None,
                 action: str | None = None) -> str:
    if removed:
        return _.ngettext("Removed {n} entry from {list}.", "Removed {n} entries from {list}.", removed).format(n=removed, list=escape(listname))
    text = _.ngettext("{n} entry in {list} added or updated.", "{n} entries in {list} added or updated.", added).format(n=added, list=escape(listname))
    text += "\n" + _("Reason: {reason}").format(reason=reason_text(reason)) if reason else ""
    return text + ("\n" + _("Action: {action}").format(action=escape(action)) if action else "")


BLOCKLIST_TAGS = "{del} {warn} {kick} {mute} {tmute 1h} {ban} {tban 2d}"


def blocklist_error(_: Translator, reason: str, value: str, tag: str) -> str:
    if reason == "paren":
        return _("A “(” or a quote is not closed: {value}").format(value=escape(value))
    if reason == "long":
        return _("An entry can be at most 100 characters: {value}…").format(value=escape(value))
    if reason == "action_unknown":
        return _("{tag} is not a blocklist action. Use one of: {tags}").format(tag=escape(value), tags=BLOCKLIST_TAGS)
    if reason == "action_duration":
        return _("“{value}” in {tag} is not a duration: use 30s, 10m, 2h, 7d or 2w, e.g. {{tmute 1h}}.").format(
            value=escape(value), tag=escape(tag))
    if reason == "action_needs_duration":
        return _("{tag} needs a duration, e.g. {{tmute 1h}} or {{tban 2d}}.").format(tag=escape(value))
    if reason == "action_no_duration":
        return _("{tag} takes no duration (only mute and ban do, e.g. {{tmute 1h}}).").format(tag=escape(value))
    if reason == "action_two":
        return _("One action per entry: {tag} is a second one.").format(tag=escape(value))
    if reason == "action_first":
        return _("{tag} goes after what is blocked: /addblocklist casino No gambling {tag}").format(tag=escape(value))
    return _('Usage: /addblocklist "word or phrase" [reason], or several at once: /addblocklist (word, "a phrase") [reason]')


def list_items(_: Translator, listname: str, items) -> str:
    """Entries (entry, reason) or, for the blocklist, (entry, reason, its {action} tag or None)."""
    if not items:
        return _("{list} is empty.").format(list=escape(listname))
    lines = []
    for item, note, *tag in items:
        shown = f"• {escape(item)}" + (f" {escape(tag[0])}" if tag and tag[0] else "")
        lines.append(shown + (f" — {reason_text(note)}" if note else ""))
    return escape(listname) + ":\n" + "\n".join(lines)


TRIGGERS = {
    "message": N_("a message"), "edit": N_("an edited message"), "join": N_("joining"), "checkin": N_("a check-in"),
    "referral": N_("a confirmed referral"), "tier": N_("a new tier"), "violations": N_("repeated violations"),
    "inactive": N_("inactivity"),
}


def rule_notice(_: Translator, group: str, who: str, rules: list[str], trigger: str, link: str | None, verdict) -> str:
    """A private notice to an admin: which rule fired in which group, for whom, on what, and what it did."""
    text = _("🔔 {group}: rule {rules} fired for {who} on {what}.").format(
        group=escape(group), rules=", ".join(escape(r) for r in rules), who=name(who), what=_(TRIGGERS.get(trigger, trigger)))
    done = []
    if verdict.deleted:
        done.append(_("message deleted"))
    for outcome in verdict.outcomes:
        if outcome.ok and outcome.action.kind in ("mute", "ban", "kick"):
            done.append(_(ACTIONS[outcome.action.kind]))
    if verdict.warns:
        done.append(_(ACTIONS["warn"]))
    if done:
        text += "\n" + _("Done: {what}").format(what=_(", ").join(done))
    if link:
        text += "\n" + f'<a href="{escape(link)}">{escape(link)}</a>'
    return text


def rule_warned(_: Translator, who: str, result) -> str:
    text = warned(_, who, result.count, result.limit, None)
    if result.penalty is not None:
        text += "\n" + warn_penalty(_, who, result.penalty, result.reset)
    return text


def link_gate_rule(_: Translator, rule: str) -> str:
    return _("The link gate is the rule {rule} of the rules engine: /rule show {rule}.").format(rule=escape(rule))


# --- Rose's shortcuts: antiflood and locks (rules underneath) ---------------------------------------------------

FLOOD_USAGE = N_("/setflood N [in 10s] | off — then /setfloodmode mute|ban|kick|warn|del [DURATION]")


def flood_state(_: Translator, state) -> str:
    """state: (on, n, window, effects) or None."""
    if state is None:
        return _("This group has no antiflood rule. /setflood N makes one.") + "\n" + _(FLOOD_USAGE)
    on, n, window, effects = state
    if not on:
        return _("Antiflood is off (the rule antiflood, switched off). /setflood N turns it on.")
    return _("Antiflood: {n} messages in {window} from one member → {effects}.").format(
        n=n, window=format_duration(window), effects=_(", ").join(flood_effect(_, e) for e in effects))


def flood_effect(_: Translator, effect: Part) -> str:
    """One effect of the antiflood rule in words, in the group's language (the rule keeps the rules language)."""
    if effect.key in ("mute", "ban", "kick"):
        return penalty(_, Penalty(effect.key, effect.args[0] if effect.args else None))
    words = {"warn": _("warn"), "delete": _("delete the message")}
    return words.get(effect.key) or escape(str(effect))


def flood_error(_: Translator, reason: str, value: str) -> str:
    shown = escape(value[:40])
    texts = {
        "number": _("Give a number of messages from 2 to 1000, optionally “in 10s” (a window up to 10m), or off. You wrote: “{value}”."),
        "window": _("The flood window is a duration up to 10m, such as 10s or 1m. You wrote: “{value}”."),
        "mode": _("Flood modes: {modes} (mute and ban may take a duration, such as mute 10m). You wrote: “{value}”."),
        "mode_none": _("Flood modes: {modes} (mute and ban may take a duration, such as mute 10m)."),
        "duration": _("Only mute and ban take a duration; {value} does not."),
        "needs_duration": _("{value} needs a duration, such as {value} 1h."),
        "bad_duration": _("“{value}” is not a duration; use 30s, 10m, 2h, 7d or 2w."),
    }
    if reason == "mode" and not value.strip():
        reason = "mode_none"  # a bare /setfloodmode: the choices, no "you wrote"
    modes = _.listed(_.option(m) for m in ("mute", "ban", "kick", "warn", "del"))
    return texts.get(reason, texts["number"]).format(value=shown, modes=modes)


LOCK_NAMES = {
    "url": N_("links"), "forward": N_("forwards"), "sticker": N_("stickers"), "photo": N_("photos"), "video": N_("videos"),
    "videonote": N_("video notes"), "document": N_("files"), "voice": N_("voice messages"), "audio": N_("music"),
    "gif": N_("GIFs"), "poll": N_("polls"), "contact": N_("contacts"), "location": N_("locations"), "game": N_("games"),
    "inline": N_("messages via inline bots"), "rtl": N_("right-to-left text"), "command": N_("commands"),
}


def _lock_list(_: Translator, types) -> str:
    return _.listed(_("{type} ({name})").format(type=t, name=_(LOCK_NAMES[t])) for t in types)


def locks(_: Translator, locked: set[str], all_types) -> str:
    lines = [_("Locks (a locked kind of message from a member is deleted; admins and approved members are exempt):")]
    for t in all_types:
        lines.append(("🔒 " if t in locked else "🔓 ") + f"{t} — {_(LOCK_NAMES[t])}")
    return "\n".join(lines)


def locked(_: Translator, new: list[str], asked: list[str]) -> str:
    if not new:
        return _("Already locked: {types}.").format(types=_lock_list(_, asked))
    return _("Locked: {types}. /locks shows every lock; /rule list shows them as rules lock_….").format(types=_lock_list(_, new))


def unlocked(_: Translator, gone: list[str], asked: list[str]) -> str:
    if not gone:
        return _("Not locked: {types}.").format(types=_lock_list(_, asked))
    return _("Unlocked: {types}.").format(types=_lock_list(_, gone))


def lock_error(_: Translator, reason: str, value: str) -> str:
    from bot.domain.rules import LOCK_ALIASES, LOCKS

    # Each kind with its meaning in Chinese (as /locks names them), "url（链接）、forward（转发）…".
    types = _.listed([*(_.gloss(t, _(LOCK_NAMES[t])) for t in LOCKS),
                      *(_.option(a) for a in sorted(a for a in LOCK_ALIASES if a in ("media", "all")))])
    if reason == "none":
        return _("Which kind? One or more of: {types}.").format(types=types)
    if reason == "bots":
        return _("Bots added by members are removed by the join check, not by a lock: /set screening on (admins may still add bots).")
    return _("There is no lock “{value}”. Kinds: {types}.").format(value=escape(value[:40]), types=types)


# --- export and import ------------------------------------------------------------------------------------------

def exported(_: Translator, title: str, rules: int, lists: int) -> str:
    return (_.ngettext("{n} rule", "{n} rules", rules).format(n=rules) + _(", ")
            + _.ngettext("{n} list", "{n} lists", lists).format(n=lists) + " — " + escape(title) + "\n"
            + _("Keep this file. To put these rules back (or copy them to another group), forward it to the group and reply /rules_import to it there."))


def export_sent(_: Translator) -> str:
    return _("I sent you the rules file in private (it holds the blocklist's words, so it is not posted here).")


def export_needs_private(_: Translator) -> str:
    return _("The rules file goes to you in private (it holds the blocklist's words), but I cannot write to you there yet: open a chat with me, press Start, then send /rules_export again.")


def open_private(_: Translator) -> str:
    return _("Open a chat with me")


def import_preview(_: Translator, d) -> str:
    if d.empty:
        return _("Nothing would change: this group's rules and lists are already exactly these.")
    lines = [_("Dry run of the import — nothing is changed yet. It would:")]
    lines += ["➕ " + _("add {name}: {line}").format(name=escape(n), line=f"<code>{escape(line)}</code>") for n, line in d.added]
    lines += ["➖ " + _("delete {name}").format(name=escape(n)) for n in d.removed]
    lines += ["✏️ " + _("change {name} to: {line}").format(name=escape(n), line=f"<code>{escape(line)}</code>") for n, line in d.changed]
    lines += [("▶️ " + _("switch {name} on") if on else "⏸ " + _("switch {name} off")).format(name=escape(n)) for n, on in d.switched]
    if d.reordered:
        lines.append("↕️ " + _("put the rules in the file's order"))
    lines += ["📋 " + _("list {list}: {plus} added or changed, {minus} removed").format(list=escape(n), plus=plus, minus=minus)
              for n, plus, minus in d.lists]
    lines.append(_("Apply makes the group's rules exactly the file's, all at once. The buttons are for the owner and work for 15 minutes."))
    return "\n".join(lines)


def import_buttons(_: Translator) -> tuple[str, str]:
    return _("✅ Apply"), _("✖️ Cancel")


def import_done(_: Translator, d) -> str:
    return _("Imported: the group's rules are now the file's ({added} added, {removed} deleted, {changed} changed).").format(
        added=len(d.added), removed=len(d.removed), changed=len(d.changed) + len(d.switched))


def import_cancelled(_: Translator) -> str:
    return _("Import cancelled; nothing was changed.")


def owner_only_button(_: Translator) -> str:
    return _("Only the group's owner can confirm an import.")


def _import_where(_: Translator, p: dict) -> str:
    """Where in the export a problem is: its path ("rules #3"), and the rule's name there when it has one."""
    where = escape(str(p.get("where", "")))
    if p.get("rule") is None:
        return where
    return _("{where} ({rule})").format(where=where, rule=escape(str(p["rule"])))


def import_error(_: Translator, err: UserError) -> str:
    p = err.params
    reason = str(p.get("reason"))
    if reason == "rule":
        syntax = rule_error(_, UserError(reason="syntax", position=p.get("position"), expected=p.get("expected"),
                                         found=p.get("found"), line=p.get("line"), length=p.get("length"), template=p.get("template"),
                                         hint=p.get("hint")))
        return _("Nothing was imported: {where} does not parse.").format(where=_import_where(_, p)) + "\n" + syntax
    texts = {
        "none": _("Reply /rules_import to a file from /rules_export (or to its text), or put the text after the command."),
        "size": _("Nothing was imported: that is too big for a rules export (at most {n} bytes).").format(n=p.get("n")),
        "encoding": _("Nothing was imported: that file is not UTF-8 text."),
        "yaml": _("Nothing was imported: that is not readable YAML (line {line}: {problem}).").format(
            line=p.get("line"), problem=escape(str(p.get("problem", "")))),
        "shape": _("Nothing was imported: that is not a rules export from /rules_export (at {where}).").format(
            where=_import_where(_, p)),
        "version": _("Nothing was imported: the file is version {version}, from a newer Sticky; this one reads up to version {supported}. Update Sticky first.").format(
            version=p.get("version"), supported=p.get("supported")),
        "name": _("Nothing was imported: “{name}” at {where} is not a name (lower-case letters, digits, _).").format(
            name=escape(str(p.get("name", ""))), where=escape(str(p.get("where", "")))),
        "duplicate": _("Nothing was imported: two rules are named {name}.").format(name=escape(str(p.get("name", "")))),
        "too_many": _("Nothing was imported: a group has at most {n} rules.").format(n=p.get("n")),
        "list": _("Nothing was imported: list {where} must be at most {n} words of at most 100 characters.").format(
            where=escape(str(p.get("where", ""))), n=p.get("n")),
        "download": _("I could not fetch that file from Telegram; try again in a moment."),
        "expired": _("This import expired: Apply works for {minutes} minutes after its dry run. Run /rules_import again to see the changes anew.").format(
            minutes=p.get("minutes", 15)),
        "gone": _("This import is no longer waiting: it was applied or cancelled already. Run /rules_import again to import the file."),
        "stale": _("The rules changed since this dry run; nothing was imported. Run /rules_import again to see the changes anew."),
    }
    return texts.get(reason, _("That didn't work."))


# --- the log chat ----------------------------------------------------------------------------------------------

HASHTAGS = {"warn": "#WARN", "unwarn": "#UNWARN", "resetwarns": "#RESETWARNS", "mute": "#MUTE", "unmute": "#UNMUTE",
            "ban": "#BAN", "unban": "#UNBAN", "kick": "#KICK", "delete": "#DELETE", "purge": "#PURGE",
            "approve": "#APPROVE", "unapprove": "#UNAPPROVE", "report": "#REPORT", "rule": "#RULE #DRYRUN"}


def log_entry(_: Translator, group: str, action: str, target: str | None, actor: str | None, rule: bool,
              reason: str | None, when: datetime | None, tz: str, link: str | None) -> str:
    """One moderation action as the log chat shows it: hashtags first (searchable), then who, why and where."""
    tags = HASHTAGS.get(action, "#" + action.upper())
    if rule and "#RULE" not in tags:
        tags += " #RULE"
    lines = [tags, f"<b>{escape(group)}</b>"]
    if target:
        lines.append(_("Member: {who}").format(who=escape(target)))
    lines.append(_("By: {who}").format(who=escape(actor)) if actor else _("By: Sticky's rules"))
    if action in ("mute", "ban"):
        lines.append(_("Until: {when}").format(when=when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")) if when
                     else _("Until: forever"))
    if reason:
        lines.append(_("Reason: {reason}").format(reason=reason_text(reason)))
    if link:
        lines.append(_("Message: {link}").format(link=link))
    return "\n".join(lines)


def log_set(_: Translator, where: str) -> str:
    return _("From now on every moderation action and rule firing here is posted to {where}, with hashtags (#WARN #MUTE #BAN #RULE …).").format(
        where=escape(where))


def log_hello(_: Translator, group: str) -> str:
    return _("📋 This chat is now the moderation log of {group}.").format(group=escape(group))


def log_unset(_: Translator, had: bool) -> str:
    return _("No more posts to the log chat; /modlog still has everything.") if had else _("This group has no log chat.")


def log_help(_: Translator, chat_id: int) -> str:
    return (_("To post this group's moderation to a log channel or group: add me there as an admin who may post, then send /setlog @channel (or its ID) here.")
            + "\n" + _("If this chat is meant to be the log of another group, send /setlog {id} in that group.").format(id=chat_id))


def log_channel_help(_: Translator, chat_id: int) -> str:
    return _("To make this channel a group's moderation log: forward this message to that group (as its admin), or send /setlog {id} there.").format(
        id=chat_id)


def log_refused(_: Translator, where: str) -> str:
    return _("⚠️ Owner: I could not post to the log chat {where}. The actions stand and /modlog has them all. Make me an admin there who may post messages, or /setlog again. (I say this once, until it works again.)").format(
        where=escape(where))


def log_error(_: Translator, reason: str, where: str) -> str:
    texts = {
        "not_found": _("I can't find {where}. Add me to that channel or group first, then give its @username or ID."),
        "cant_post": _("I can't post in {where}. Make me an admin there who may post messages, then /setlog again."),
        "self": _("A group can't be its own log; give another channel or group."),
        "private": _("{where} is a person, not a channel or group."),
        "not_admin": _("You are not an admin of {where}: only a channel or group you administer can be this group's log."),
        "not_rights_group": _("You are an admin of {where}, but without the right to change its info or to add admins: only its owner, or an admin with one of those rights, can make it this group's log."),
        "not_rights_channel": _("You are an admin of {where}, but without the right to post there: only its owner, or an admin who may post messages, can make it this group's log."),
        "muted": _("I can't post in {where}: members may not send messages there, or I am restricted. Let me write there (or make me an admin), then /setlog again."),
        "anonymous": _("As an anonymous admin I can't tell whether {where} is yours: send /setlog as yourself (not anonymously)."),
    }
    return texts[reason].format(where=escape(where))
