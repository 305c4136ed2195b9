"""Replies of /export."""
from __future__ import annotations

from bot.texts import Translator
from bot.texts.core import name


def caption(_: Translator, group: str, part: int = 1, parts: int = 1) -> str:
    if parts == 1:
        return _("Export of {group}: members, ledger, referrals and daily stats (CSV, UTF-8).").format(group=name(group))
    return _("Export of {group}, part {part} of {parts}: members, ledger, referrals and daily stats (CSV, UTF-8). "
             "A table too long for one part goes on in the next under the same name.").format(
        group=name(group), part=part, parts=parts)


def sent(_: Translator, counts: dict[str, int], parts: int = 1) -> str:
    members, ledger = counts.get("members.csv", 0), counts.get("ledger.csv", 0)
    referrals, days = counts.get("referrals.csv", 0), counts.get("daily_stats.csv", 0)
    numbers = dict(members=_.ngettext("{n} member", "{n} members", members).format(n=members),
                   ledger=_.ngettext("{n} ledger row", "{n} ledger rows", ledger).format(n=ledger),
                   referrals=_.ngettext("{n} referral", "{n} referrals", referrals).format(n=referrals),
                   days=_.ngettext("{n} day", "{n} days", days).format(n=days))
    if parts == 1:
        return _("I sent you the export in private: {members}, {ledger}, {referrals}, {days}.").format(**numbers)
    return _("I sent you the export in private in {parts} files (Telegram takes 50 MB at most in one): {members}, "
             "{ledger}, {referrals}, {days}.").format(parts=parts, **numbers)


def cut_off(_: Translator, sent: int, parts: int) -> str:
    return _("I sent you only {sent} of the export's {parts} files: Telegram refused the next. Send /export again "
             "for the whole.").format(sent=sent, parts=parts)


def no_answer(_: Translator, part: int, parts: int) -> str:
    """Telegram did not answer the send of file `part`: it may have arrived."""
    if parts == 1:
        return _("Telegram did not answer while I sent you the export, so it may have arrived anyway: look in our "
                 "private chat, and send /export again if it is not there.")
    return _("Telegram did not answer while I sent you file {part} of the export's {parts}, so it may have arrived "
             "anyway: look in our private chat, and send /export again if a file is missing.").format(part=part, parts=parts)


def wait(_: Translator, sent: int, parts: int) -> str:
    """Telegram asked for a wait longer than is waited out while answering a command."""
    if not sent:
        return _("Telegram asked me to wait before sending you the export: send /export again in a few minutes.")
    return _("Telegram asked me to wait before sending you the rest of the export ({sent} of {parts} files went): "
             "send /export again in a few minutes.").format(sent=sent, parts=parts)


def cannot_send(_: Translator) -> str:
    return _("I cannot write to you in private yet: open a chat with me, press Start, then send /export again.")
