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
    "checkin": N_("Daily check-in: points, XP and your streak"),
    "makeup": N_("Repair a missed check-in day for points"),
    "history": N_("Your last 20 point changes, with reasons"),
    "levels": N_("Tiers, their XP thresholds and perks"),
    "earn": N_("Every way to earn points here"),
    "badges": N_("Your badges and those still to earn"),
    "top": N_("Leaderboards"),
    "give": N_("Give a member points (with a reason)"),
    "take": N_("Take points from a member (with a reason)"),
    "season": N_("Archive standings and start a new season"),
    "optout": N_("Stop private messages or mentions from Sticky"),
    "optin": N_("Allow private messages or mentions again"),
    "invite": N_("Your personal invite link"),
    "invites": N_("Whom you invited: joined, pending, confirmed, left"),
    "setcaptcha": N_("Set the group's own join question and answers"),
    "funnel": N_("Join funnel: links, joins, screened, confirmed, retained"),
    "shop": N_("The points shop: what you can buy here"),
    "orders": N_("Your shop orders; admins: /orders pending"),
    "additem": N_("Put an item on sale in the shop"),
    "edititem": N_("Change a shop item"),
    "delitem": N_("Take a shop item off the shelf"),
    "addcodes": N_("Add digital codes to a shop item"),
    "fulfil": N_("Mark a shop order as delivered"),
    "reject": N_("Reject a shop order and refund it"),
    "stats": N_("Group stats: members, DAU/WAU/MAU, stickiness, chart"),
    "retention": N_("Weekly joiner cohorts and churn"),
    "loyalty": N_("Loyalty pyramid and who moved; one member explained"),
    "nps": N_("Ask the group the recommend question (NPS)"),
    "export": N_("Members, ledger, referrals, daily stats as CSV, in private"),
}

USAGE: dict[str, str] = {
    "setrole": N_("/setrole @username|id|(reply) activator|spreader [reason]"),
    "unsetrole": N_("/unsetrole @username|id|(reply) activator|spreader"),
    "set": N_("/set KEY VALUE|default — see /settings for the keys"),
    "lang": N_("/lang en|zh"),
    "top": N_("/top [points|xp|checkin|streak|invites] [week|month|season|all]"),
    "give": N_("/give @username|id|(reply) AMOUNT REASON"),
    "take": N_("/take @username|id|(reply) AMOUNT REASON"),
    "optout": N_("/optout [private|mentions|all]"),
    "optin": N_("/optin [private|mentions|all]"),
    "invites": N_("/invites [@username|id|(reply)] (others: admins only)"),
    "me": N_("/me [@username|id|(reply)] (others: admins only)"),
    "history": N_("/history [@username|id|(reply)] (others: admins only)"),
    "badges": N_("/badges [@username|id|(reply)] (others: admins only)"),
    "setcaptcha": N_("/setcaptcha QUESTION | ANSWER; ANSWER"),
    "funnel": N_("/funnel"),
    "orders": N_("/orders [pending]"),
    "additem": N_("/additem NAME | COST [| stock N|unlimited] [| limit N] [| tier KEY] [| description]"),
    "edititem": N_("/edititem ID name|cost|stock|limit|tier|description|active VALUE"),
    "delitem": N_("/delitem ID"),
    "addcodes": N_("/addcodes ID CODE [CODE …]"),
    "fulfil": N_("/fulfil ORDER_ID"),
    "stats": N_("/stats [7d|30d|90d]"),
    "retention": N_("/retention [all]"),
    "loyalty": N_("/loyalty [@username|id|(reply)]"),
    "nps": N_("/nps [close]"),
    "export": N_("/export"),
    "reject": N_("/reject ORDER_ID [reason]"),
}


def description(_: Translator, name: str) -> str:
    return _(DESCRIPTIONS[name])


def usage(_: Translator, name: str) -> str:
    return _(USAGE[name]) if name in USAGE else "/" + name
