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

# The rules parser's keywords (bot/domain/rules.py), shown with their meaning where a syntax error lists what was
# expected (bot/texts/rules.py parser_hint): the kinds of trigger, condition and effect, and the words within a part.
RULE_KINDS = (
    NC_("rule trigger", "message"), NC_("rule trigger", "edit"), NC_("rule trigger", "join"),
    NC_("rule trigger", "checkin"), NC_("rule trigger", "referral"), NC_("rule trigger", "tier"),
    NC_("rule trigger", "command"), NC_("rule trigger", "violations"), NC_("rule trigger", "warns"),
    NC_("rule trigger", "inactive"),
    NC_("rule condition", "has"), NC_("rule condition", "words"), NC_("rule condition", "regex"),
    NC_("rule condition", "domain"), NC_("rule condition", "mentions"), NC_("rule condition", "length"),
    NC_("rule condition", "caps"), NC_("rule condition", "emoji"), NC_("rule condition", "days"),
    NC_("rule condition", "messages"), NC_("rule condition", "script"), NC_("rule condition", "duplicate"),
    NC_("rule condition", "flood"), NC_("rule condition", "groupflood"), NC_("rule condition", "tier"),
    NC_("rule condition", "lacks"), NC_("rule condition", "role"), NC_("rule condition", "time"),
    NC_("rule condition", "from"),
    NC_("rule effect", "delete"), NC_("rule effect", "kick"), NC_("rule effect", "notify"),
    NC_("rule effect", "explain"), NC_("rule effect", "reply"), NC_("rule effect", "warn"),
    NC_("rule effect", "violation"), NC_("rule effect", "reset"), NC_("rule effect", "mute"),
    NC_("rule effect", "ban"), NC_("rule effect", "points"), NC_("rule effect", "xp"), NC_("rule effect", "badge"),
    NC_("rule effect", "give"), NC_("rule effect", "take"),
)
RULE_WORDS = (
    NC_("rule word", "when"), NC_("rule word", "in"), NC_("rule word", "within"), NC_("rule word", "days"),
    NC_("rule word", "day"), NC_("rule word", "a day"),  # `once a day`
    NC_("rule word", "link"), NC_("rule word", "forward"), NC_("rule word", "sticker"), NC_("rule word", "media"),
    NC_("rule word", "poll"), NC_("rule word", "contact"), NC_("rule word", "location"), NC_("rule word", "game"),
    NC_("rule word", "inline"),
    NC_("rule word", "photo"), NC_("rule word", "video"), NC_("rule word", "audio"), NC_("rule word", "voice"),
    NC_("rule word", "document"), NC_("rule word", "animation"), NC_("rule word", "video_note"),
    NC_("rule word", "cyrillic"), NC_("rule word", "arabic"), NC_("rule word", "hebrew"), NC_("rule word", "rtl"),
    NC_("rule word", "cjk"), NC_("rule word", "latin"),
    NC_("rule word", "bot"), NC_("rule word", "channel"),
    NC_("rule word", "member"), NC_("rule word", "spreader"), NC_("rule word", "activator"),
    NC_("rule word", "admin"), NC_("rule word", "owner"),
)
# /lock's kinds besides LOCK_NAMES (bot/texts/rules.py): the two that stand for several.
LOCK_GROUPS = (NC_("option", "media"), NC_("option", "all"))
