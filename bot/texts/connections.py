"""Replies for managing a group from private chat (/connect, /disconnect) and for "which group?" in private."""
from __future__ import annotations

from html import escape

from bot.domain.errors import ConnectError
from bot.texts import Translator
from bot.texts.core import name


def connect_error(_: Translator, err: ConnectError) -> str:
    p = err.params
    title = name(str(p.get("title", "")))
    command = escape(str(p.get("command", "")))
    texts = {
        "not_admin": _("Telegram says you are not an admin of {title}, so you can't manage it from here.").format(title=title),
        "not_member": _("Telegram says you are not in {title}.").format(title=title),
        "unknown_group": (
            _("You are in no group of mine with id {name}. /connect alone lists the groups you manage.")
            if str(p.get("name", "")).lstrip("-").isascii() and str(p.get("name", "")).lstrip("-").isdigit() else
            _("You are in no group of mine called {name}. /connect alone lists the groups you manage.")).format(
            name=escape(str(p.get("name", "")))),
        "lost": _("You are no longer an admin of {title}, so this private chat no longer manages it (disconnected).").format(title=title),
        "unverified": _("I couldn't check your rights in {title} with Telegram just now; nothing was done. Please try again.").format(title=title),
        "not_connected": _("/{command} acts on a group: send it there, or pick a group to manage from here with /connect.").format(command=command),
        "no_groups": _("You are not an admin in any group I'm in. Add me to your group, make me an admin, then /connect here."),
        "no_member_groups": _("You are in no group of mine yet; /{command} works once you have joined one.").format(command=command),
        "in_group": _("/{command} works only in the group itself: send it there.").format(command=command),
        "bot_gone": _("I am no longer in {title}.").format(title=title),
        "expired": _("That question has expired: send the command again."),
    }
    return texts.get(p.get("reason"), texts["not_connected"])


def choose_group(_: Translator, current: str | None) -> str:
    head = _("Which group do you want to manage from here? Only the groups where Telegram says you are an admin are listed.")
    if current is not None:
        head = _("You manage {title} from here now.").format(title=name(current)) + "\n" + head
    return head


def connected(_: Translator, title: str) -> str:
    return _("Connected to {title}. Admin commands you send me here now act on it, with your rights there checked with Telegram each time. /disconnect stops it.").format(title=name(title))


def connected_from_group(_: Translator, who: str, title: str) -> str:
    return _("{who}: your private chat with me now manages {title}. Admin commands you send me there act here; /disconnect stops it.").format(
        who=name(who), title=name(title))


def disconnected(_: Translator, title: str) -> str:
    return _("Disconnected: this private chat no longer manages {title}.").format(title=name(title))


def not_connected(_: Translator, admin: bool = True) -> str:
    """/disconnect with no connection: to an admin of a Sticky group, how to make one; to anyone else, what it is for."""
    if admin:
        return _("You are not connected to any group. /connect picks one.")
    return _("You are not connected to any group: connecting is how a group's admins manage it from this chat.")


def acting_on(_: Translator, title: str) -> str:
    """The first line of every reply to a command run from private chat on a group: which group it acted on."""
    return _("[{title}]").format(title=name(title))


def which_group(_: Translator, command: str) -> str:
    return _("/{command}: which group?").format(command=escape(command))


def picked(_: Translator, command: str, title: str) -> str:
    return _("/{command} in {title}:").format(command=escape(command), title=name(title))


def help_connected(_: Translator, title: str) -> str:
    return _("You manage {title} from here (/connect): the admin commands above act on it; /disconnect stops it.").format(title=name(title))


def done_there(_: Translator, command: str) -> str:
    """A command run from private chat that answered nothing here (it posted in the group): say it was done."""
    return _("/{command} done.").format(command=escape(command))
