"""Replies of the foundation: errors, roles, help, settings, group lifecycle."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape, unescape

from bot.domain.errors import (
    AnonymousAdminError, BotActorError, ChannelActorError, GroupOnlyError, MissingRightError, LookupNotAllowedError, NotAllowedError, PrivateOnlyError, RoleChangeError, SettingError, TargetError, UsageError, UserError,
)
from bot.domain.roles import Role
from bot.texts import N_, Translator
from bot.texts.commands import MORE, TOPICS, description, example, topic_of, usage

ROLE_NAMES = {
    Role.OWNER: N_("Owner"),
    Role.ADMIN: N_("Admin"),
    Role.ACTIVATOR: N_("Activator"),
    Role.SPREADER: N_("Spreader"),
    Role.MEMBER: N_("Member"),
}

# Telegram's admin rights, named as the group's admin settings in the app name them.
RIGHTS = {
    "can_delete_messages": N_("Delete messages"),
    "can_restrict_members": N_("Ban users"),
    "can_invite_users": N_("Invite users via link"),
    "can_pin_messages": N_("Pin messages"),
}

# What a feature without a setting of its own does, for /settings' list of what the bot's missing rights stop.
FEATURES = {
    "invite_links": N_("personal invite links (/invite)"),
    "pinned_posts": N_("pinned scheduled posts (/schedule … pin)"),
    "rule_actions": N_("the rules' actions (/rule list)"),
}

ROLE_DUTIES = {
    Role.OWNER: N_("leads the group"),
    Role.ADMIN: N_("rewards and moderates"),
    Role.ACTIVATOR: N_("keeps the mood up"),
    Role.SPREADER: N_("brings news and new people"),
    Role.MEMBER: N_("takes part"),
}


def role_name(_: Translator, role: Role) -> str:
    return _(ROLE_NAMES[role])


def name(display: str) -> str:
    """Names come from users: always escaped, because replies are HTML."""
    return escape(display, quote=False)


def error(_: Translator, err: UserError, command: str | None = None) -> str:
    p = err.params
    if isinstance(err, UsageError):
        # A subcommand's usage the error names ("schedule show") before the command's whole one.
        return _("Usage: {usage}").format(usage=escape(usage(_, str(p.get("command") or command or ""))))
    if isinstance(err, NotAllowedError):
        return _("Only {role} and above can use this command.").format(role=role_name(_, p["needed"]))
    if isinstance(err, GroupOnlyError) and p.get("in_a_group"):
        return _("/{command} works in your group: send it there.").format(command=escape(str(p.get("command", command or ""))))
    if isinstance(err, GroupOnlyError):
        return _("This command works in a group. Add me to your group and use it there.")
    if isinstance(err, AnonymousAdminError):
        return _("You are writing as the group; switch to your own account for this.")
    if isinstance(err, ChannelActorError):
        return _("You are writing as a channel; switch to your own account for this.")
    if isinstance(err, BotActorError):
        return _("This command is for people; bots take no part.")
    if isinstance(err, LookupNotAllowedError):
        return _("Only admins can look up others; /{command} alone shows yours.").format(command=escape(str(p.get("command", command or ""))))
    if isinstance(err, PrivateOnlyError) and command == "language":
        return language_in_group(_)
    if isinstance(err, PrivateOnlyError):
        return _("This command works in a private chat with me.")
    if isinstance(err, TargetError):
        reason = p.get("reason")
        who = name(str(p.get("name", "")))
        texts = {
            "no_target": _("Whom do you mean? Reply to their message, or give @username or their numeric id."),
            "reply_to_bot": {
                "give": _("That is a bot; points go to people only."), "take": _("That is a bot; points go to people only."),
                "setrole": _("That is a bot; community roles are for people."),
                "unsetrole": _("That is a bot; community roles are for people."),
            }.get(command or "", _("That message is from a bot; reply to a person's message.")),
            "reply_to_channel": _("That message was sent as a chat, not by a person."),
            "reply_to_anonymous": _("That message was sent by an anonymous admin, as the group; admins don't act on admins."),
            "reply_to_linked": _("That is a post of this group's linked channel, forwarded automatically; its posts are exempt."),
            "unknown_username": _("I haven't seen {who} in this group yet. They need to write something first, or use their numeric id.").format(who=who),
            "unknown_id": _("No member with id {who} in this group.").format(who=who),
            "not_member": _("{who} is not in this group.").format(who=who),
        }
        return texts.get(reason, texts["no_target"])
    if isinstance(err, RoleChangeError):
        role = role_name(_, p["role"]) if isinstance(p.get("role"), Role) else ""
        texts = {
            "owner": _("Nobody changes the owner's role."),
            "telegram_admin": _("Admins get their role from Telegram; demote them in Telegram first."),
            "same": _("{who} is already {role}.").format(who=name(str(p.get("name", ""))), role=role),
            "not_set": _("{who} is not {role}.").format(who=name(str(p.get("name", ""))), role=role),
            "not_assignable": _("Only activator and spreader can be given; owner and admin follow Telegram."),
            "is_bot": _("That is a bot; community roles are for people."),
        }
        return texts[p["reason"]]
    if isinstance(err, MissingRightError):
        if p.get("feature") in FEATURES:  # a feature without a setting (a pinned scheduled post)
            return _("Note: {feature} need the “{right}” admin right, which I don't have here, so they can't work until an admin gives it to me.").format(
                feature=_(FEATURES[str(p["feature"])]), right=right_name(_, str(p["right"])))
        return _("Note: {key} needs the “{right}” admin right, which I don't have here, so it can't work until an admin gives it to me.").format(
            key=escape(str(p["key"])), right=right_name(_, str(p["right"])))
    if isinstance(err, SettingError):
        if p["reason"] == "unknown_key":
            return _("Unknown setting {key}. Settings: {keys}").format(key=escape(str(p["key"])), keys=_.listed(p["keys"]))
        return bad_setting_value(_, str(p["key"]), str(p.get("kind")), p.get("bounds"), str(p.get("detail", "")))
    return _("That didn't work.")


def bad_setting_value(_: Translator, key: str, kind: str, bounds: tuple[int, int] | None, detail: str = "") -> str:
    if kind == "text" and key == "rules":
        length = detail.removeprefix("length:")
        return _("{key} must be a link or text of 1 to 1000 characters (this one has {n}).").format(key=escape(key), n=length or 0)
    if kind == "text":
        placeholders = _.listed(("{name}", "{group}", "{rules}"))
        if detail.startswith("placeholder:"):
            return _("{key}: unknown placeholder {placeholder}; use {placeholders}.").format(
                key=escape(key), placeholder=escape("{" + detail.removeprefix("placeholder:") + "}"), placeholders=placeholders,
            )
        if detail in ("braces", "placeholders"):
            return _("{key}: a {{ or }} without its pair; placeholders are written {placeholders}.").format(
                key=escape(key), placeholders=placeholders,
            )
        return _("{key} must be text of 1 to 1000 characters; it may use {placeholders}.").format(
            key=escape(key), placeholders=placeholders,
        )
    hints = {
        "language": _.options(("en", "zh")),
        "timezone": _("a place name such as Asia/Shanghai, Europe/Berlin or UTC"),
        "bool": _.options(("on", "off")),
        "hours": _("a span of local time such as 22:00-08:00, or off"),
        "int": _("a whole number from {lo} to {hi}").format(lo=bounds[0], hi=bounds[1]) if bounds else _("a whole number"),
    }
    if kind.startswith("choice:"):
        hints[kind] = _.options(kind.removeprefix("choice:").split(","))
    return _("{key} must be {hint}.").format(key=escape(key), hint=hints.get(kind, kind))


def confirm_buttons(_: Translator) -> tuple[str, str]:
    """The labels of every yes/no confirmation (shop purchase, new season…)."""
    return _("✅ Confirm"), _("❌ Cancel")


def internal_error(_: Translator) -> str:
    return _("Something went wrong on my side; the admins can find it in the log. Please try again later.")


def bot_added(_: Translator, title: str, is_admin: bool) -> str:
    text = _("Hello, {title}! I'm Sticky: roles, daily check-in and points, a points shop, invite rewards with newcomer screening, moderation, scheduled posts, loyalty and stats for this group. Type /help to see what I can do.").format(title=name(title))
    if not is_admin:
        text += "\n" + _("Please make me an admin (delete messages, restrict and invite members) so I can do my job.")
    return text


def start_private(_: Translator, in_a_group: bool = False) -> str:
    """The private greeting. To someone Sticky already knows in one of its groups it says so instead of asking
    them to add it to a group (a member reading "add me to your group" would think Sticky is not there yet)."""
    if in_a_group:
        return _("Hi! I'm Sticky. I run Telegram groups: roles, daily check-in and points, a points shop, invite rewards with newcomer screening, moderation, scheduled posts, loyalty and stats. I'm in your group already: /checkin and the rest work there. Here in private, /me, /history and /invite answer for your group, and admins can /connect to manage one from here. Type /help for commands.")
    return _("Hi! I'm Sticky. I run Telegram groups: roles, daily check-in and points, a points shop, invite rewards with newcomer screening, moderation, scheduled posts, loyalty and stats. Add me to your group and make me an admin to start. Here in private, /me, /history and /invite answer for your group, and admins can /connect to manage one from here. Type /help for commands.")


MESSAGE_LIMIT = 4096  # Telegram's, in UTF-16 code units of the text after its HTML is parsed


def _shown_length(html_text: str) -> int:
    return len(unescape(re.sub(r"<[^>]+>", "", html_text)).encode("utf-16-le")) // 2


def help_parts(_: Translator, commands: Sequence[tuple[str, Role]], role: Role | None, in_group: bool,
               limit: int = MESSAGE_LIMIT, in_a_group: bool = False) -> list[str]:
    """The commands this role may use here, grouped by what they are for (TOPICS order, then "More"); as several
    messages, split between topics, when one would be longer than Telegram takes. `role` None: a private chat
    that acts on no group, where nobody has a role (an admin there is no "Member")."""
    order = [title for title, _names in TOPICS] + [MORE]
    by_topic: dict[str, list[str]] = {}
    for command, _needed in commands:
        by_topic.setdefault(topic_of(command), []).append(command)
    head = _("<b>Commands for you</b>:") if role is None else _("<b>Commands for you</b> ({role}):").format(role=role_name(_, role))
    blocks = [[head]]
    for title in order:
        if title in by_topic:
            blocks.append([f"<b>{escape(_(title))}</b>"] + [f"/{command} — {escape(description(_, command))}"
                                                             for command in by_topic[title]])
    tail = [_("/help COMMAND shows how to use one, with an example.")]
    if not in_group:  # `in_a_group`: Sticky knows them in a group already (they need not add it to one)
        tail.append(_("The other commands work in your group; type them there.") if in_a_group
                    else _("Most commands work in a group; add me to one."))
    blocks[-1] = blocks[-1] + [""] + tail  # the closing hint stays with the last topic, never alone
    parts: list[str] = []
    for block in blocks:
        text = "\n".join(block)
        if parts and _shown_length(parts[-1] + "\n\n" + text) <= limit:
            parts[-1] += "\n\n" + text
        else:
            parts.append(text)
    return parts


def command_help(_: Translator, name: str, needed: Role, where: str, remote: str | None = None, admin_tool: bool = False,
                 reader: Role = Role.ADMIN) -> str:
    """/help COMMAND: what it does, its usage, a real example, and who may use it where. `remote`: how a group
    command also works typed in private chat — "personal" (for the sender's group), "connected" (/connect).
    `admin_tool`: for the admins of a group, wherever it is typed (/connect). `reader`: who asks — a member's
    example is one they may use."""
    place = {"group": _("in a group"), "private": _("in a private chat with me"), "any": _("in a group or in private")}[where]
    if where == "group" and remote == "personal":
        place = _("in a group, or in a private chat with me (for your group)")
    elif where == "group" and remote == "connected":
        place = _("in a group, or in a private chat with me once connected to it (/connect)")
    elif where == "any" and admin_tool:
        place = _("in a private chat with me, or in the group itself")
    if admin_tool:
        who = _("a group's admins")
    else:
        who = _("everyone") if needed <= Role.MEMBER else _("{role} and above").format(role=role_name(_, needed))
    return "\n".join([
        f"<b>/{escape(name)}</b> — {escape(description(_, name))}",
        _("Usage: {usage}").format(usage=escape(usage(_, name))),
        _("Example: {example}").format(example=escape(example(_, name, admin=reader >= Role.ADMIN))),
        _("Who: {who}, {place}.").format(who=who, place=place),
    ])


def unknown_command(_: Translator, name: str) -> str:
    return _("I don't know /{name}. /help lists what I can do.").format(name=escape(name))


def private_pointer(_: Translator) -> str:
    return _("I answer commands. /help lists them; /help COMMAND shows one with an example.")


def roles_pyramid(_: Translator, title: str, by_role: Mapping[Role, Sequence[str]], limit: int = 15) -> str:
    lines = [_("<b>Roles in {title}</b>").format(title=name(title))]
    for role in sorted(Role, reverse=True):
        names = list(by_role.get(role, ()))
        head = _("{role} ({n}) — {duty}").format(role=role_name(_, role), n=len(names), duty=_(ROLE_DUTIES[role]))
        shown = _.listed(name(n) for n in names[:limit]) or "—"
        more = len(names) - limit
        if more > 0:
            shown = _.joined(shown, _.ngettext("and {n} more", "and {n} more", more).format(n=more))
        lines.append(f"{head}\n  {shown}")
    return "\n".join(lines)


def role_set(_: Translator, who: str, role: Role) -> str:
    return _("{who} is now {role}.").format(who=name(who), role=role_name(_, role))


def role_unset(_: Translator, who: str, role: Role) -> str:
    return _("{who} is no longer {role}.").format(who=name(who), role=role_name(_, role))


def me(_: Translator, who: str, role: Role) -> str:
    return _("{who}: {role}").format(who=name(who), role=role_name(_, role))


def right_name(_: Translator, right: str) -> str:
    return _(RIGHTS[right]) if right in RIGHTS else right


def settings_list(
    _: Translator, values: Mapping[str, tuple[str, bool]], lacking: Mapping[str, Sequence[str]] | None = None,
    features: Sequence[tuple[str, str]] = (),
) -> str:
    """The settings; ⚠️ marks one that cannot work because the bot lacks a right it needs, and the features without a
    setting that the bot's missing rights stop are named at the end."""
    lacking = lacking or {}
    lines = [_("<b>Group settings</b> (change with /set KEY VALUE; /set KEY default puts one back):")]
    for key, (value, overridden) in sorted(values.items()):
        line = "• {key} = {value}" if overridden else _("• {key} = {value} (default)")
        line = line.format(key=escape(key), value=shown_value(_, value))
        if lacking.get(key):
            # A mark after the value, not a clause: spaced in both languages ("= on ⚠️ …", "= 开 ⚠️ …").
            line += " " + _("⚠️ can't work: I lack {rights}").format(
                rights=_(", ").join(f"“{right_name(_, r)}”" for r in lacking[key]))
        lines.append(line)
    for feature, right in features:
        lines.append(_("⚠️ {feature} can't work: I lack “{right}”.").format(feature=_(FEATURES[feature]), right=right_name(_, right)))
    if lacking or features:
        lines.append(_("Give me these rights in the group's admin settings."))
    return "\n".join(lines)


SENTENCE_ENDS = (".", "!", "?", "…", "。", "！", "？")


def shown_value(_: Translator, value: str) -> str:
    return escape(value) if value else _("(empty)")


def setting_changed(_: Translator, key: str, value: str) -> str:
    if value.rstrip().endswith(SENTENCE_ENDS):  # "rules is now Be kind." — not "Be kind.."
        return _("{key} is now {value}").format(key=escape(key), value=escape(value))
    return _("{key} is now {value}.").format(key=escape(key), value=escape(value))


def setting_reset(_: Translator, key: str, value: str) -> str:
    if not value:
        return _("{key} is back to the default (empty).").format(key=escape(key))
    return _("{key} is back to the default, {value}.").format(key=escape(key), value=escape(value))


def language_changed(_: Translator) -> str:
    return _("I'll speak English in this group from now on.")


LANGUAGE_NAMES = {"en": "English", "zh": "中文"}  # the buttons: each in itself, so a reader finds theirs
SPOKEN = {"en": N_("English"), "zh": N_("Chinese")}  # in a sentence, in the sentence's language


def language_current(_: Translator, lang: str, chosen: bool, managed: str | None = None) -> str:
    """Bare /language in private: the language this chat is in now, and why (`managed`: the group this chat manages,
    whose language it speaks while nothing was chosen)."""
    if chosen:
        why = _("you chose it")
    elif managed is not None:
        why = _("the language of {title}, the group you manage from here").format(title=name(managed))
    else:
        why = _("from your Telegram app")
    return "\n".join([
        _("I speak {language} with you here ({why}).").format(language=_(SPOKEN[lang]), why=why),
        _("Change it: /language en or /language zh, or press a button. A group's language is its admins' (/lang)."),
    ])


def language_chosen(_: Translator, lang: str) -> str:
    return _("From now on I speak {language} with you in private. A group keeps its own language.").format(
        language=_(SPOKEN[lang]))


def language_usage(_: Translator) -> str:
    """A bad /language argument: said in both languages, since the reader may not read the one they are in."""
    from bot.texts import translator
    other = translator("zh" if _.lang == "en" else "en")
    line = N_("Choose en or zh: /language en or /language zh.")
    return _(line) + "\n" + other(line)


def language_in_group(_: Translator) -> str:
    return _("Your own language is set in private with me (/language). This group's language is set by its admins: /lang.")
