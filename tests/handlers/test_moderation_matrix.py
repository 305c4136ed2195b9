"""Who may moderate whom, with real targets: /warn /unwarn /resetwarns /mute /unmute /ban /unban /kick sent by a
member, an admin without the right to restrict members, an admin, the anonymous admin and the owner, at a member,
the owner, another admin, themselves and Sticky. A refusal is one clear line and nothing reaches Telegram (no
restriction, ban or unban call), nothing is written (warns, the audit log); what is allowed is done."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.handlers.test_permissions import refusal
from bot.domain.roles import Role
from tests.helpers import make_group

TELEGRAM_ACTIONS = ("restrictChatMember", "banChatMember", "unbanChatMember")
COMMANDS = ("warn", "unwarn", "resetwarns", "mute", "unmute", "ban", "unban", "kick")

ONLY_ADMINS = refusal(Role.ADMIN)
NEEDS_RIGHT = "You need the “Ban users” admin right in this group for that."
OWNER = "Nobody acts on the group's owner."
ADMIN = "Admins don't act on admins."
TELEGRAM_ADMIN = "Telegram doesn't let me act on an admin; demote them in Telegram first."
SELF = "You can't do that to yourself."
STICKY = "I won't do that to myself."

# (who sends, whom they name) -> the one line every command answers; a pair not listed is allowed (SUCCESS below).
REFUSED = {
    **{("member", t): ONLY_ADMINS for t in ("member", "owner", "admin", "self", "sticky")},
    **{("weak admin", t): NEEDS_RIGHT for t in ("member", "owner", "admin", "self", "sticky")},
    ("admin", "owner"): OWNER, ("admin", "admin"): ADMIN, ("admin", "self"): SELF, ("admin", "sticky"): STICKY,
    ("anonymous admin", "owner"): OWNER, ("anonymous admin", "admin"): ADMIN, ("anonymous admin", "sticky"): STICKY,
    ("owner", "admin"): TELEGRAM_ADMIN, ("owner", "self"): SELF, ("owner", "sticky"): STICKY,
}
# Allowed, on a member, in this order (each undo has something to undo): what Sticky answers ({until}: Telegram's
# until_date, in the group's time), Alice's status after, and for how long.
SUCCESS = [
    ("/warn @alice spam", "Alice has been warned (1/5).\nReason: spam", "member", None),
    ("/unwarn @alice", "One warn of Alice removed.", "member", None),
    ("/warn @alice", "Alice has been warned (1/5).", "member", None),
    ("/resetwarns @alice", "Alice's 1 warn was cleared.", "member", None),
    ("/mute @alice 1h", "Alice is muted until {until}.", "restricted", timedelta(hours=1)),
    ("/unmute @alice", "Alice may write again.", "member", None),
    ("/kick @alice", "Alice was removed; they may join again.", "left", None),
    ("/ban @alice 1d", "Alice is banned until {until}.", "kicked", timedelta(days=1)),
    ("/unban @alice", "Alice is unbanned and may join again.", "left", None),
]
SENDERS = ("member", "weak admin", "admin", "anonymous admin", "owner")


async def world(pg):
    """The group of make_group (the owner, an admin with the rights to restrict and delete, Alice, Bob, Carol), plus
    Dave, a member; Eve, an admin with every usual right but restricting members; Bob, an anonymous admin."""
    g = await make_group(pg)
    sim = pg.sim
    dave, eve = sim.user("dave"), sim.user("eve")
    for user in (dave, eve):
        sim.join(g.chat, user)
        sim.send(user, "hello", g.chat)
    sim.promote(g.chat, eve, by=g.owner, can_restrict_members=False)
    sim.promote(g.chat, g.bob, by=g.owner, is_anonymous=True)
    await pg.settle()
    return g, dave, eve


def sender(g, dave, eve, kind):
    """(user, as_chat, the admin who is not them, themselves as a command names them)."""
    return {
        "member": (dave, False, "@admin", "@dave"),
        "weak admin": (eve, False, "@admin", "@eve"),
        "admin": (g.admin, False, "@eve", "@admin"),
        "anonymous admin": (g.bob, True, "@admin", None),  # writing as the group: no one to name
        "owner": (g.owner, False, "@admin", "@owner"),
    }[kind]


async def said(pg, g, user, text, as_chat):
    before = len(pg.sim.replies(g.chat))
    pg.clock.advance(seconds=3)  # a person types a command every few seconds, not a flood
    pg.sim.send(user, text, g.chat, as_chat=as_chat)
    await pg.settle()
    return [m.get("text", "") for m in pg.sim.replies(g.chat)[before:]]


async def untouched(pg, g):
    """What a refused command must not change: Telegram actions made, warns, the audit log, the targets' status."""
    calls = [(c.method, c.params.get("user_id")) for c in pg.sim.calls() if c.method in TELEGRAM_ACTIONS]
    warns = {u: len(await pg.services.moderation.warns(g.chat.id, u.id)) for u in (g.alice, g.owner, g.admin)}
    log = await pg.services.moderation.modlog(g.chat.id)
    status = {u.username: pg.sim.member(g.chat, u)["status"] for u in (g.alice, g.owner, g.admin)}
    return calls, warns, len(log), status


@pytest.mark.parametrize("kind", SENDERS)
async def test_who_may_moderate_whom(pg, kind):
    g, dave, eve = await world(pg)
    user, as_chat, other_admin, me = sender(g, dave, eve, kind)
    await pg.services.moderation.warn(g.chat.id, g.alice.id, g.owner.id, "earlier", "setup")  # something to undo
    names = {"member": "@alice", "owner": "@owner", "admin": other_admin, "self": me, "sticky": f"{pg.sim.bot.id}"}
    for target, name in names.items():
        expected = REFUSED.get((kind, target))
        if expected is None or name is None:
            continue
        for command in COMMANDS:
            before = await untouched(pg, g)
            assert await said(pg, g, user, f"/{command} {name}", as_chat) == [expected], (kind, command, target)
            assert await untouched(pg, g) == before, f"/{command} {name} by {kind}: refused, yet something changed"
    if all((kind, t) in REFUSED for t in names):
        return
    await pg.services.moderation.reset_warns(g.chat.id, g.alice.id, g.owner.id)
    for command, answer, status, duration in SUCCESS:
        text = await said(pg, g, user, command, as_chat)
        member = pg.sim.member(g.chat, g.alice)
        if duration is not None:
            until = pg.clock.now() + duration
            assert member["until_date"] == int(until.timestamp()), (kind, command)
            answer = answer.format(until=until.strftime("%Y-%m-%d %H:%M"))  # the group's time is UTC
        assert text == [answer], (kind, command)
        assert member["status"] == status, (kind, command)


async def test_an_admin_is_judged_by_the_rights_telegram_gives_them_now(pg):
    """A right given or taken in the Telegram app counts at once, with no update Sticky could have missed: Eve is
    refused, given the right she mutes, and after it is taken again she is refused."""
    g, _dave, eve = await world(pg)
    assert await said(pg, g, eve, "/mute @alice 1h", False) == [NEEDS_RIGHT]
    pg.sim.promote(g.chat, eve, by=g.owner, can_restrict_members=True)
    assert await said(pg, g, eve, "/mute @alice 1h", False) == ["Alice is muted until 2026-03-02 10:00."]
    pg.sim.promote(g.chat, eve, by=g.owner, can_restrict_members=False)
    assert await said(pg, g, eve, "/unmute @alice", False) == [NEEDS_RIGHT]
    assert pg.sim.member(g.chat, g.alice)["status"] == "restricted"
    assert [e.action for e in await pg.services.moderation.modlog(g.chat.id)] == ["mute"]
    await said(pg, g, g.owner, "/set language zh", False)
    assert await said(pg, g, eve, "/unmute @alice", False) == ["你需要本群的“封禁用户”管理权限才能这样做。"]


async def test_deleting_for_an_admin_takes_their_right_to_delete(pg):
    g, _dave, eve = await world(pg)
    pg.sim.promote(g.chat, eve, by=g.owner, can_restrict_members=True, can_delete_messages=False)
    junk = pg.sim.send(g.alice, "junk", g.chat)
    await pg.settle()
    before = len(pg.sim.replies(g.chat))
    pg.sim.send(eve, "/del", g.chat, reply_to=junk)
    await pg.settle()
    assert [m["text"] for m in pg.sim.replies(g.chat)[before:]] == [
        "You need the “Delete messages” admin right in this group for that."]
    assert "junk" in [m.get("text") for m in pg.sim.messages(g.chat)]
    assert pg.sim.calls("deleteMessage") == [] and pg.sim.calls("deleteMessages") == []


async def test_an_admin_whose_rights_telegram_does_not_tell_is_refused(pg):
    """Telegram not answering the rights question is no licence: the admin is told to try again, nothing is done."""
    g, _dave, _eve = await world(pg)
    pg.sim.network_error("getChatMember")
    assert await said(pg, g, g.admin, "/ban @alice", False) == [
        "Telegram did not tell me your admin rights just now; try again in a moment."]
    assert pg.sim.member(g.chat, g.alice)["status"] == "member" and pg.sim.calls("banChatMember") == []
    pg.sim.clear_faults()
    assert await said(pg, g, g.admin, "/ban @alice", False) == ["Alice is banned forever."]


async def test_a_reports_buttons_and_remove_warn_take_the_admins_rights_too(pg):
    """The one-tap actions under a report and a warn's Remove warn act as the commands do: Eve, without the right to
    restrict members, is told so in an alert, and nothing happens."""
    g, dave, eve = await world(pg)
    spam = pg.sim.send(g.carol, "cheap pills", g.chat)
    await pg.settle()
    pg.sim.send(g.alice, "/report", g.chat, reply_to=spam)
    await pg.settle()
    report = pg.sim.replies(g.chat)[-1]
    buttons = {b["callback_data"].split(":")[1]: b["callback_data"] for row in report["reply_markup"]["inline_keyboard"] for b in row}
    pg.sim.send(g.admin, "/warn @dave", g.chat)
    await pg.settle()
    warn = pg.sim.replies(g.chat)[-1]
    before = await untouched(pg, g)
    for message, data in [(report, buttons["warn"]), (report, buttons["mute"]), (report, buttons["ban"]),
                          (warn, warn["reply_markup"]["inline_keyboard"][0][0]["callback_data"])]:
        pg.sim.press(eve, message, data)
        await pg.settle()
        answered = pg.sim.calls("answerCallbackQuery")[-1].params
        assert answered.get("text") == NEEDS_RIGHT and answered.get("show_alert") is True, data
    assert await untouched(pg, g) == before
    assert await pg.services.moderation.warns(g.chat.id, g.carol.id) == []
    assert len(await pg.services.moderation.warns(g.chat.id, dave.id)) == 1
    assert pg.sim.member(g.chat, g.carol)["status"] == "member"


async def test_rules_that_act_for_an_admin_take_the_rights_they_act_with(pg):
    """A rule carries out its effects with Sticky's rights, so the commands that write or switch one on ask the admin
    for the same right as the effect by hand: Eve, who may delete but not restrict, locks stickers (a delete) but
    cannot add a rule that bans, make flood ban, tag a blocklist entry {ban}, add words to a blocklist rule that
    warns, or switch such a rule back on, nor make the rules live (/set rules_mode on) or set what warns bring
    (/setwarnmode, /setwarnlimit); nothing is written. Without the right to delete she can neither lock nor
    turn on the link gate (it deletes). Given the right, each is done; the owner needs nothing asked."""
    g, _dave, eve = await world(pg)
    assert (await said(pg, g, eve, "/lock sticker", False))[0].startswith("Locked: sticker")
    await said(pg, g, g.owner, "/unlock sticker", False)
    before = [(r.name, r.source, r.enabled) for r in await pg.services.rules.rows(g.chat.id)]
    assert await said(pg, g, eve, "/setfloodmode ban", False) == [NEEDS_RIGHT]
    await said(pg, g, g.owner, "/rule off antiflood", False)
    before = [(r.name, r.source, r.enabled) for r in await pg.services.rules.rows(g.chat.id)]
    for command in ("/rule add when message and words \"casino\" then ban", "/setflood 5", "/addblocklist casino {ban}",
                    "/addblocklist casino", "/rule on antiflood", "/rule add when message and words \"x\" then violation warn",
                    "/rule add when message and words \"sorry\" then reset warn"):
        assert await said(pg, g, eve, command, False) == [NEEDS_RIGHT], command
    assert [(r.name, r.source, r.enabled) for r in await pg.services.rules.rows(g.chat.id)] == before
    assert await pg.services.rules.blocklist(g.chat.id) == []
    # The settings that decide what the rules and warns do with Sticky's rights take the same right.
    await said(pg, g, g.owner, "/set rules_mode dry", False)
    settings = await pg.services.groups.settings(g.chat.id)
    for command in ("/set rules_mode on", "/setwarnmode ban", "/setwarnlimit 1", "/set warn_mode ban", "/set warn_limit 1"):
        assert await said(pg, g, eve, command, False) == [NEEDS_RIGHT], command
    assert await pg.services.groups.settings(g.chat.id) == settings
    assert (await said(pg, g, eve, "/set rules_mode dry", False)) == ["rules_mode is now dry."]  # it acts on nobody
    pg.sim.promote(g.chat, eve, by=g.owner, can_restrict_members=False, can_delete_messages=False)
    for command in ("/lock photo", "/set link_gate on"):
        assert await said(pg, g, eve, command, False) == [
            "You need the “Delete messages” admin right in this group for that."], command
    assert "photo" not in await pg.services.rules.locks(g.chat.id)
    assert not next(r for r in await pg.services.rules.rows(g.chat.id) if r.name == "links").enabled
    pg.sim.promote(g.chat, eve, by=g.owner, can_restrict_members=True, can_delete_messages=True)
    assert (await said(pg, g, eve, "/setfloodmode ban", False))[0].startswith("Antiflood")
    assert await said(pg, g, eve, "/addblocklist casino {ban}", False) == ["1 entry in blocklist added or updated.\nAction: {ban}"]
    assert await pg.services.rules.blocklist(g.chat.id) == [("casino", None, "{ban}")]
    assert (await said(pg, g, g.owner, "/rule add when message and words \"poker\" then ban", False))[0].startswith("Rule")
    assert (await said(pg, g, eve, "/rule add when message and words \"dice\" then ban", False))[0].startswith("Rule")
