"""The keywords a user types as a choice (setting values, modes, kinds, schedule options), for Translator.option:
each is listed here so the catalog carries its meaning. English shows the keyword alone; Chinese shows the keyword
to type with its meaning beside it, "late（补发）". A keyword not listed is shown as it is."""
from __future__ import annotations

from bot.texts import NC_

WORDS = (
    # switches and the settings' choices (bot/domain/settings.py)
    NC_("option", "on"), NC_("option", "off"), NC_("option", "default"),
    NC_("option", "en"), NC_("option", "zh"),
    NC_("option", "fifo"), NC_("option", "decay"),
    NC_("option", "button"), NC_("option", "math"), NC_("option", "question"),
    NC_("option", "dry"),
    NC_("option", "ban"), NC_("option", "kick"), NC_("option", "mute"), NC_("option", "tmute 1h"), NC_("option", "tban 2d"),
    NC_("option", "warn"), NC_("option", "del"),
    # schedules (bot/domain/schedules.py): a missed run's policy, and a post's options
    NC_("option", "late"), NC_("option", "skip"),
    NC_("option", "pin"), NC_("option", "replace"), NC_("option", "multi"),
)
