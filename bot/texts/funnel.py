"""Replies of the join funnel: captcha prompts and outcomes, welcomes, invite links, referral counts and rewards."""
from __future__ import annotations

from html import escape

from bot.domain import funnel as fd
from bot.texts import N_, Translator
from bot.texts.core import name, right_name

REASONS = {
    fd.SELF_INVITE: N_("invited themselves"),
    fd.RETURNING: N_("had been in the group before"),
    fd.BOT_ACCOUNT: N_("bot account"),
    fd.LEFT: N_("left before being confirmed"),
    fd.FAILED_SCREENING: N_("did not pass the check"),
    fd.INVITER_BANNED: N_("inviter is banned"),
    fd.NOT_ADMITTED: N_("join request closed before approval"),
}


def reason_name(_: Translator, reason: str) -> str:
    return _(REASONS[reason]) if reason in REASONS else reason


def prompt(_: Translator, mode: str, who: str, group: str, question: str, seconds: int, private: bool) -> str:
    who, group, question = name(who), name(group), escape(question, quote=False)
    if mode == "math":
        task = _("press the answer to {question}").format(question=f"<b>{question}</b>")
    elif mode == "question":
        if not private:
            return _("{name}, welcome to {group}! Before you can write, answer the group's question in a private chat with me "
                     "(button below) within {seconds} seconds.").format(name=who, group=group, seconds=seconds)
        return _("Question from {group}: <b>{question}</b>\nReply here with your answer within {seconds} seconds.").format(
            group=group, question=question, seconds=seconds)
    else:
        task = _("press {emoji}").format(emoji=question)
    if private:
        return _("You asked to join {group}. To be let in, {task} within {seconds} seconds.").format(group=group, task=task, seconds=seconds)
    return _("{name}, welcome to {group}! Before you can write, {task} within {seconds} seconds.").format(
        name=who, group=group, task=task, seconds=seconds)


def screening_right_missing(_: Translator) -> str:
    return _("I could not restrict, let in or remove a newcomer here: screening needs my “{right}” admin right. I will "
             "finish what is owed once I have it.").format(right=right_name(_, "can_restrict_members"))


def answer_privately(_: Translator) -> str:
    return _("Answer privately")


def retry(_: Translator, left: int) -> str:
    return _.ngettext("Not quite. {n} more try.", "Not quite. {n} more tries.", left + 1).format(n=left + 1)


def not_yours(_: Translator) -> str:
    return _("This check is not for you.")


def check_over(_: Translator) -> str:
    return _("This check is over.")


def default_welcome(_: Translator) -> str:
    return _("Welcome to {group}, {name}! Say hello to everyone.")


def welcome(_: Translator, template: str, who: str, group: str, rules: str) -> str:
    """The group's welcome, whatever the rules hold: {rules} shows them, or — while there are none — points to /rules
    (clearing the rules never turns a custom welcome back into the built-in one)."""
    text = template or default_welcome(_)
    shown = escape(rules, quote=False) if rules.strip() else "/rules"
    try:
        return text.format(name=name(who), group=name(group), rules=shown)
    except (KeyError, IndexError, ValueError):  # a template stored before validation existed
        return default_welcome(_).format(name=name(who), group=name(group))


def passed_private(_: Translator, group: str) -> str:
    return _("Correct! Welcome to {group}.").format(group=name(group))


def failed_private(_: Translator, group: str) -> str:
    return _("That was not right, so I could not let you into {group}.").format(group=name(group))


def request_unreachable(_: Translator, who: str, group: str) -> str:
    """To a group's admins: a join request Sticky cannot screen, left to them."""
    return _("{who} asked to join {group}, but Telegram no longer lets me write to them, so I could not ask them the "
             "screening question. Their request waits for you in the group's join requests; whoever you approve is "
             "screened in the group.").format(who=name(who), group=name(group))


def timeout_private(_: Translator, group: str) -> str:
    return _("Time is up: I could not let you into {group}.").format(group=name(group))


def no_check(_: Translator) -> str:
    return _("There is no question waiting for you.")


def reward(_: Translator, points: int, xp: int) -> str:
    """'+20 points, +20 XP' (only what is paid)."""
    parts = ([_("+{n} points").format(n=points)] if points else []) + ([_("+{n} XP").format(n=xp)] if xp else [])
    return _(", ").join(parts)


def invite_link(_: Translator, group: str, url: str, deep_link: str | None, points: int, xp: int, hours: int,
                messages: int, screening: bool) -> str:
    """The link, and what a friend must do for the reward: only the steps this group really asks for."""
    text = _("Your personal invite link to {group}:\n{url}").format(group=name(group), url=url)
    if deep_link:
        text += "\n" + _("Or through me: {url}").format(url=deep_link)
    if points or xp:
        steps = [_("joins")]
        if screening:
            steps.append(_("passes the check"))
        if hours:
            steps.append(_.ngettext("stays {n} hour", "stays {n} hours", hours).format(n=hours))
        if messages:
            steps.append(_.ngettext("sends {n} message", "sends {n} messages", messages).format(n=messages))
        text += "\n" + _("For each friend who {steps}: {reward}.").format(steps=_(", ").join(steps), reward=reward(_, points, xp))
    return text


def invite_sent_private(_: Translator, who: str) -> str:
    return _("{name}, I sent your invite link to you in a private chat.").format(name=name(who))


def invite_vanishes(_: Translator, seconds: int) -> str:
    return _("(This message disappears in {seconds} seconds. Start a private chat with me to keep your link.)").format(seconds=seconds)


def stats(_: Translator, who: str, s) -> str:
    lines = [
        _("Invites of {name}:").format(name=name(who)),
        _("joined {joined} · pending {pending} · confirmed {confirmed} · left {left} · not counted {rejected}").format(
            joined=s.joined, pending=s["pending"], confirmed=s["confirmed"], left=s.left, rejected=s.rejected),
    ]
    for reason, n in sorted(s.reasons.items()):
        if reason != fd.LEFT:
            lines.append(f"• {reason_name(_, reason)}: {n}")
    return "\n".join(lines)


def confirmed_inviter(_: Translator, who: str, group: str, points: int, xp: int) -> str:
    if not points and not xp:
        return _("🎉 {name} joined {group} through you and stayed.").format(name=name(who), group=name(group))
    return _("🎉 {name} joined {group} through you and stayed: {reward}.").format(
        name=name(who), group=name(group), reward=reward(_, points, xp))


def new_badge(_: Translator, badge: str) -> str:
    return _("🏅 New badge: {badge}").format(badge=badge)


def milestone(_: Translator, n: int, bonus: int) -> str:
    return _("Milestone: {n} friends confirmed, +{bonus} points.").format(n=n, bonus=bonus)


def spreader(_: Translator, group: str) -> str:
    return _("You are now a Spreader in {group}: thank you for bringing people.").format(group=name(group))


def question_set(_: Translator, question: str, answers: tuple[str, ...]) -> str:
    return _("The group's question is now: {question} (accepted: {answers}). Use it with /set captcha_mode question.").format(
        question=escape(question, quote=False), answers=escape(_.listed(answers), quote=False))


def deep_link_welcome(_: Translator, group: str, url: str) -> str:
    return _("You were invited to {group}. Join here: {url}").format(group=name(group), url=url)


def numbers(_: Translator, group: str, n) -> str:
    return "\n".join([
        _("Join funnel of {group}:").format(group=name(group)),
        _("invite links created: {n}").format(n=n.links_created),
        _("joined through a link: {n}").format(n=n.joined),
        _("passed screening: {n}").format(n=n.screened),
        _("confirmed: {n}").format(n=n.confirmed),
        _("still here after 7 days: {n}").format(n=n.retained_7d),
        _("all joins: {n} · checks passed: {passed} · failed: {failed}").format(
            n=n.joins_total, passed=n.checks_passed, failed=n.checks_failed),
    ])


def funnel_error(_: Translator, err: fd.FunnelError) -> str:
    reason = err.params.get("reason")
    texts = {
        "no_question": _("No question set yet. Usage: /setcaptcha QUESTION | ANSWER; ANSWER"),
        "bad_question": _("Usage: /setcaptcha QUESTION | ANSWER; ANSWER"),
        "no_link_rights": _("I need the “{right}” admin right to make invite links.").format(
            right=right_name(_, "can_invite_users")),
        "telegram_busy": _("Telegram is busy right now: send /invite again in a minute."),
        "unknown_code": _("This invite is not valid any more. Ask your friend for a new one."),
        "already_member": _("You are already in that group."),
        "no_target": _("Whom do you mean? Reply to their message, or give @username or their numeric id."),
        "rules_unset": _("Note: the welcome shows {rules}, but the group has no rules now, so it points to /rules until you set them with /setrules TEXT."),
        "question_unset": _("Note: the group has no question yet, so newcomers get the button check until an admin sets one "
                            "with /setcaptcha QUESTION | ANSWER; ANSWER"),
    }
    return texts.get(reason, texts["bad_question"])
