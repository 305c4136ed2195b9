"""What each command does and how to call it: used by /help, the command menus and usage replies."""
from __future__ import annotations

from bot.texts import N_, Translator

DESCRIPTIONS: dict[str, str] = {
    "start": N_("Start talking to Sticky"),
    "help": N_("Commands you can use here"),
    "roles": N_("The group's roles, from owner to member"),
    "me": N_("Your role and standing in this group"),
    "setrole": N_("Give a member a community role"),
    "unsetrole": N_("Take a community role away"),
    "settings": N_("Show this group's settings"),
    "set": N_("Change one group setting"),
    "lang": N_("Choose the group's language"),
}

USAGE: dict[str, str] = {
    "setrole": N_("/setrole @username|id|(reply) activator|spreader [reason]"),
    "unsetrole": N_("/unsetrole @username|id|(reply) activator|spreader"),
    "set": N_("/set KEY VALUE — see /settings for the keys"),
    "lang": N_("/lang en|zh"),
}


def description(_: Translator, name: str) -> str:
    return _(DESCRIPTIONS[name])


def usage(_: Translator, name: str) -> str:
    return _(USAGE[name]) if name in USAGE else "/" + name
