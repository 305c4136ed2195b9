"""Replies of /export."""
from __future__ import annotations

from bot.texts import Translator
from bot.texts.core import name


def caption(_: Translator, group: str) -> str:
    return _("Export of {group}: members, ledger, referrals and daily stats (CSV, UTF-8).").format(group=name(group))


def sent(_: Translator, counts: dict[str, int]) -> str:
    return _("I sent you the export in private: {members} members, {ledger} ledger rows, {referrals} referrals, "
             "{days} days.").format(members=counts.get("members.csv", 0), ledger=counts.get("ledger.csv", 0),
                                    referrals=counts.get("referrals.csv", 0), days=counts.get("daily_stats.csv", 0))


def cannot_send(_: Translator) -> str:
    return _("I cannot write to you in private yet: open a chat with me, press Start, then send /export again.")
