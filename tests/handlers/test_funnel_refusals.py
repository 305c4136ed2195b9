"""Telegram's refusals of the member calls screening and moderation make (getChatMember, restrictChatMember,
banChatMember, unbanChatMember), in Telegram's words: the bot removed from the group (403), its "Ban users" right
taken away ("not enough rights to restrict/unrestrict chat member"), an account Telegram does not resolve ("user not
found", PARTICIPANT_ID_INVALID). One clear outcome each: no crash and no "Something went wrong"; a missing right is
said to the group once and what screening owes is done once the right is back, so nobody stays restricted or banned
by accident; a refusal about the member is final (not retried forever)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.texts import translator
from bot.texts.core import internal_error
from bot.texts.funnel import screening_right_missing
from bot.texts.rules import missing_right
from tests.handlers.funnel_helpers import can_send, newcomer, press, prompt_message, run_job, screening_on, time_out
from tests.helpers import make_group, say

INTERNAL = internal_error(translator("en"))
MISSING = screening_right_missing(translator("en"))


def texts(pg, chat) -> list[str]:
    return [m.get("text", "") for m in pg.sim.replies(chat)]


async def owed(pg, check) -> str | None:
    return (await pg.services.funnel.repo.check(check.id)).action


async def sweep_later(pg) -> None:
    pg.clock.advance(seconds=61)
    await run_job(pg, "funnel:sweep")


async def bot_may_ban(pg, g, allowed: bool) -> None:
    """The owner gives the bot its "Ban users" right, or takes it (Telegram tells the bot: my_chat_member)."""
    pg.sim.promote(g.chat, pg.sim.bot, by=g.owner, can_restrict_members=allowed)
    await pg.settle()


def welcomes(pg, g, who: str) -> int:
    return sum(1 for t in texts(pg, g.chat) if t.startswith(f"Welcome to {g.chat.title}, {who}"))


async def test_a_right_answer_the_bot_cannot_lift_is_lifted_once_it_has_its_right_back(pg, group):
    g = group
    await screening_on(pg, g)
    dave, check = await newcomer(pg, g.chat)
    await bot_may_ban(pg, g, False)
    await press(pg, g.chat, dave, check)
    assert (await pg.services.funnel.repo.check(check.id)).status == "passed"
    assert not can_send(pg, g.chat, dave) and await owed(pg, check) == "pass"  # not lifted yet, and owed
    assert texts(pg, g.chat).count(MISSING) == 1 and INTERNAL not in texts(pg, g.chat)
    await sweep_later(pg)
    assert await owed(pg, check) == "pass" and texts(pg, g.chat).count(MISSING) == 1  # said once, not every minute
    await bot_may_ban(pg, g, True)
    await sweep_later(pg)
    assert can_send(pg, g.chat, dave) and await owed(pg, check) is None
    assert welcomes(pg, g, "Dave") == 1
    await sweep_later(pg)
    assert welcomes(pg, g, "Dave") == 1


async def test_a_timed_out_newcomer_the_bot_cannot_remove_is_removed_not_left_banned_once_it_can(pg, group):
    g = group
    await screening_on(pg, g)
    dave, check = await newcomer(pg, g.chat)
    await bot_may_ban(pg, g, False)
    await time_out(pg, g.chat, dave)
    assert pg.sim.member(g.chat, dave)["status"] == "restricted" and await owed(pg, check) == "remove"
    assert texts(pg, g.chat).count(MISSING) == 1
    await bot_may_ban(pg, g, True)
    await sweep_later(pg)
    assert pg.sim.member(g.chat, dave)["status"] == "left" and await owed(pg, check) is None


@pytest.mark.parametrize("why", ["no_rights", "kicked"])
async def test_an_unban_refused_after_the_removal_does_not_leave_them_banned(pg, group, why):
    g = group
    await screening_on(pg, g)
    dave, check = await newcomer(pg, g.chat)
    pg.sim.refuse("unbanChatMember", why)
    await time_out(pg, g.chat, dave)
    assert pg.sim.member(g.chat, dave)["status"] == "kicked" and await owed(pg, check) == "remove"
    await sweep_later(pg)
    assert pg.sim.member(g.chat, dave)["status"] == "left" and await owed(pg, check) is None
    assert INTERNAL not in texts(pg, g.chat)


async def test_a_newcomer_the_bot_cannot_restrict_is_restricted_once_it_can_and_posts_nothing_meanwhile(pg, group):
    g = group
    await screening_on(pg, g)
    await bot_may_ban(pg, g, False)
    dave, check = await newcomer(pg, g.chat)
    assert check is not None and await owed(pg, check) == "restrict"
    assert prompt_message(pg, g.chat, check) and texts(pg, g.chat).count(MISSING) == 1
    spam = pg.sim.send(dave, "cheap followers here", g.chat)
    await pg.settle()
    assert pg.sim.message(g.chat, spam["message_id"]) is None  # deleted while the restriction is owed
    await bot_may_ban(pg, g, True)
    await sweep_later(pg)
    assert not can_send(pg, g.chat, dave) and await owed(pg, check) is None
    await press(pg, g.chat, dave, check)
    assert can_send(pg, g.chat, dave) and welcomes(pg, g, "Dave") == 1


@pytest.mark.parametrize("why", ["user_not_found", "participant_invalid"])
async def test_a_newcomer_telegram_will_not_look_up_is_screened_as_if_present(pg, group, why):
    g = group
    await screening_on(pg, g)
    pg.sim.refuse("getChatMember", why)
    dave, check = await newcomer(pg, g.chat)
    assert check is not None and not can_send(pg, g.chat, dave) and prompt_message(pg, g.chat, check)
    await press(pg, g.chat, dave, check)
    assert can_send(pg, g.chat, dave) and INTERNAL not in texts(pg, g.chat)


@pytest.mark.parametrize("why", ["user_not_found", "participant_invalid"])
async def test_a_lift_refused_about_the_member_is_final_not_retried_forever(pg, group, why):
    g = group
    await screening_on(pg, g)
    dave, check = await newcomer(pg, g.chat)
    pg.sim.refuse("getChatMember", why)
    pg.sim.refuse("restrictChatMember", why)
    await press(pg, g.chat, dave, check)
    assert await owed(pg, check) is None and welcomes(pg, g, "Dave") == 1
    tries = len(pg.sim.calls("restrictChatMember"))
    await sweep_later(pg)
    assert len(pg.sim.calls("restrictChatMember")) == tries
    assert MISSING not in texts(pg, g.chat) and INTERNAL not in texts(pg, g.chat)


async def test_a_join_the_bot_cannot_look_up_because_it_was_removed_is_left_alone(pg, group):
    g = group
    await screening_on(pg, g)
    pg.sim.refuse("getChatMember", "kicked")
    dave, check = await newcomer(pg, g.chat)
    assert check is None and INTERNAL not in texts(pg, g.chat)


MODERATION = [("/mute @bob 10m", "restrictChatMember"), ("/ban @bob", "banChatMember"), ("/unban @bob", "unbanChatMember")]


@pytest.mark.parametrize("why", ["kicked", "no_rights", "user_not_found", "participant_invalid"])
@pytest.mark.parametrize("command,method", MODERATION)
async def test_a_moderation_command_telegram_refuses_gets_one_clear_line(pg, group, command, method, why):
    g = group
    if command.startswith("/unban"):
        await say(pg, g.admin, "/ban @bob", g.chat)
    before = len(pg.sim.replies(g.chat))
    pg.sim.refuse(method, why)
    await say(pg, g.admin, command, g.chat)
    done = {"/mute": "Bob is muted until 2026-03-02 09:10.", "/ban": "Bob is banned forever.",
            "/unban": "Bob is unbanned and may join again."}[command.split()[0]]
    _ = translator("en")
    note = {"kicked": "\n(I could not do it: Telegram says I am no longer in this group.)",
            "no_rights": "\n" + missing_right(_, "can_restrict_members")}.get(why, "")
    # What was decided, and what Telegram made of it: the bot is not in the group, a right to give, or nothing more
    # to do for an account Telegram does not know.
    assert texts(pg, g.chat)[before:] == [done + note]


def _last(pg, chat) -> str:
    return texts(pg, chat)[-1]


@pytest.mark.parametrize("why", ["admin", "owner"])
@pytest.mark.parametrize("command,method", MODERATION[:2])
async def test_a_mute_or_ban_telegram_refuses_because_the_member_is_an_admin_says_so_not_a_missing_right(
        pg, group, command, method, why):
    # Sticky still holds Bob as a member (a promotion it never saw); Telegram knows better and refuses in its words.
    g = group
    pg.sim.refuse(method, why)
    await say(pg, g.admin, command, g.chat)
    _ = translator("en")
    reply = _last(pg, g.chat)
    assert reply.endswith("\n(I could not do it: Telegram does not let me act on Bob, an admin here.)")
    assert missing_right(_, "can_restrict_members") not in reply and INTERNAL not in texts(pg, g.chat)
    # The bot's own rights were not doubted: the next action on a member goes ahead without asking again.
    asked = len(pg.sim.calls("getChatMember"))
    await say(pg, g.admin, "/mute @carol 10m", g.chat)
    assert pg.sim.member(g.chat, g.carol)["status"] == "restricted"
    assert len(pg.sim.calls("getChatMember")) - asked <= 1


@pytest.mark.parametrize("command", ["/mute @bob 10m", "/ban @bob"])
async def test_a_member_telegram_says_is_an_admin_is_stored_as_one_after_the_refusal(pg, group, command):
    # Bob was promoted in Telegram and Sticky never heard of it (the update was lost); its admin list is fresh, so
    # nothing would ask Telegram again for a while. Telegram's refusal says what Bob is: Sticky takes its admin list.
    g = group
    pg.sim.promote(g.chat, g.bob, by=g.owner)
    pg.sim.take_updates()
    stored = "SELECT tg_role FROM members WHERE chat_id = ? AND user_id = ?"
    assert await pg.services.db.fetchval(stored, (g.chat.id, g.bob.id)) is None
    await say(pg, g.admin, command, g.chat)
    assert _last(pg, g.chat).endswith("\n(I could not do it: Telegram does not let me act on Bob, an admin here.)")
    assert await pg.services.db.fetchval(stored, (g.chat.id, g.bob.id)) == "admin"
    # At once, not after the admin list's cache runs out: Bob may use an admin command.
    assert await say(pg, g.bob, "/setrole @carol spreader", g.chat) == "Carol is now Spreader."


async def test_a_refusal_whose_admin_list_cannot_be_fetched_is_still_told(pg, group):
    g = group
    pg.sim.promote(g.chat, g.bob, by=g.owner)
    pg.sim.take_updates()
    pg.sim.network_error("getChatAdministrators", times=5)
    await say(pg, g.admin, "/mute @bob 10m", g.chat)
    assert _last(pg, g.chat).endswith("\n(I could not do it: Telegram does not let me act on Bob, an admin here.)")
    assert INTERNAL not in texts(pg, g.chat)


@pytest.mark.parametrize("why", ["kicked", "no_rights", "admin"])
@pytest.mark.parametrize("command,method", MODERATION)
async def test_a_refused_moderation_command_is_told_in_chinese_in_a_chinese_group(pg, group, command, method, why):
    g = group
    await say(pg, g.owner, "/lang zh", g.chat)
    if command.startswith("/unban"):
        await say(pg, g.admin, "/ban @bob", g.chat)
    if why == "admin" and method == "unbanChatMember":
        return  # a banned account is no admin: Telegram has nothing to say about it here
    pg.sim.refuse(method, why)
    await say(pg, g.admin, command, g.chat)
    note = _last(pg, g.chat).split("\n")[-1]
    assert note == {"kicked": "（未能执行：Telegram 说我已不在这个群组里。）",
                    "no_rights": "（未能执行：我需要“封禁用户”管理权限。）",
                    "admin": "（未能执行：Bob 是这里的管理员，Telegram 不允许我对其操作。）"}[why]


@pytest.mark.parametrize("why", ["kicked", "no_rights", "network", "flood"])
async def test_a_kick_whose_unban_telegram_refuses_or_never_gets_leaves_nobody_banned_for_good(pg, group, why):
    g = group
    {"network": lambda: pg.sim.network_error("unbanChatMember", times=3),
     "flood": lambda: pg.sim.flood("unbanChatMember", retry_after=30)}.get(why, lambda: pg.sim.refuse("unbanChatMember", why))()
    back = (pg.clock.now() + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M")
    await say(pg, g.admin, "/kick @bob", g.chat)
    assert texts(pg, g.chat)[-1] == f"Bob was removed; they may join again from {back}."  # not "at once"
    assert pg.sim.member(g.chat, g.bob)["status"] == "kicked"  # the removal held; its lifting did not
    pg.clock.advance(minutes=5)
    assert pg.sim.member(g.chat, g.bob)["status"] == "left"  # Telegram ended the ban by itself: they may come back
    assert INTERNAL not in texts(pg, g.chat)


async def test_a_kick_lets_them_come_back_at_once(pg, group):
    g = group
    await say(pg, g.admin, "/kick @bob", g.chat)
    assert texts(pg, g.chat)[-1] == "Bob was removed; they may join again."
    assert pg.sim.member(g.chat, g.bob)["status"] == "left"
    assert pg.sim.calls("banChatMember")[-1].params.get("until_date")  # a ban that ends by itself, never forever


@pytest.mark.parametrize("why", ["kicked", "not_member"])
async def test_an_admin_in_private_learns_the_bot_is_no_longer_in_the_group_it_moderates(pg, why):
    # The bot was removed and Sticky has not heard of it yet (its my_chat_member is still on the way): the admin,
    # connected from private, is told why the mute did not happen — the group itself no longer reaches the bot.
    g = await make_group(pg)
    pg.sim.send(g.admin, "/start")
    await pg.settle()
    assert (await say(pg, g.admin, "/connect tea lovers")).startswith("Connected to Tea Lovers.")
    pg.sim.refuse("restrictChatMember", why)
    assert await say(pg, g.admin, "/mute @bob 10m") == (
        "[Tea Lovers]\nBob is muted until 2026-03-02 09:10.\n(I could not do it: Telegram says I am no longer in this group.)")
    await say(pg, g.owner, "/lang zh", g.chat)
    pg.sim.refuse("banChatMember", why)
    assert (await say(pg, g.admin, "/ban @bob")).endswith("\n（未能执行：Telegram 说我已不在这个群组里。）")


class _Ahead:
    """Telegram's clock, some minutes ahead of the bot's (a server clock running behind)."""

    def __init__(self, base, minutes: int) -> None:
        self.base, self.lead = base, timedelta(minutes=minutes)

    def now(self):
        return self.base.now() + self.lead


@pytest.mark.parametrize("lead", [5, 30])
async def test_until_dates_count_from_telegrams_clock_when_ours_is_behind(pg, group, lead):
    """Telegram reads an until_date under 30 s after its own now as forever. With the bot's clock `lead` minutes
    behind Telegram's, a kick whose unban fails and a 2-minute mute still end when they should: until_date counts
    from Telegram's now, which the updates' own dates show (counted from our clock they would be forever)."""
    g = group
    pg.sim.clock = _Ahead(pg.clock, lead)
    telegram = pg.sim.clock
    pg.sim.refuse("unbanChatMember", "kicked")
    await say(pg, g.admin, "/kick @bob", g.chat)
    ban = pg.sim.calls("banChatMember")[-1].params["until_date"]
    assert ban == int((telegram.now() + timedelta(minutes=5)).timestamp())
    assert pg.sim.member(g.chat, g.bob)["status"] == "kicked"
    await say(pg, g.admin, "/mute @carol 2m", g.chat)
    assert pg.sim.member(g.chat, g.carol)["until_date"] == int((telegram.now() + timedelta(minutes=2)).timestamp())
    pg.clock.advance(minutes=2)
    assert pg.sim.member(g.chat, g.carol)["status"] == "member"   # the mute ended: it was not forever
    pg.clock.advance(minutes=3)
    assert pg.sim.member(g.chat, g.bob)["status"] == "left"       # nor was the kick's ban


async def test_a_10_minute_mute_lasts_10_minutes_when_our_clock_is_ahead_of_telegrams(pg, group):
    """With the bot's clock 5 minutes ahead of Telegram's, until_date was counted from ours: a 10-minute mute lasted
    15 minutes on Telegram, a 1-hour ban 65. An update's date only says Telegram is at least that far along (it may
    come late), but each answer to Sticky's calls is dated by Telegram: that measures the lead from both sides, so
    the next restriction ends when it should, and its reply says when in Telegram's time; a late update does not
    make one end early."""
    g = group
    pg.sim.clock = _Ahead(pg.clock, -5)
    telegram = pg.sim.clock
    await say(pg, g.alice, "/rules", g.chat)  # Sticky answers: its message's date shows Telegram 5 minutes behind
    # An update that comes late (a backlog after downtime) looks like a clock far further behind: it is only a
    # lower bound on Telegram's time, and must not make the mute end early.
    pg.services.moderation.actions.observe(telegram.now() - timedelta(hours=2))
    muted = await say(pg, g.admin, "/mute @bob 10m", g.chat)
    assert muted == "Bob is muted until 2026-03-02 09:05."  # Telegram's 08:55 + 10 minutes (ours says 09:00)
    assert pg.sim.calls("restrictChatMember")[-1].params["until_date"] == int((telegram.now() + timedelta(minutes=10)).timestamp())
    await say(pg, g.admin, "/ban @carol 1h", g.chat)
    assert pg.sim.calls("banChatMember")[-1].params["until_date"] == int((telegram.now() + timedelta(hours=1)).timestamp())
    pg.clock.advance(minutes=9)
    assert pg.sim.member(g.chat, g.bob)["status"] == "restricted"
    pg.clock.advance(minutes=1)
    assert pg.sim.member(g.chat, g.bob)["status"] == "member"   # 10 minutes on Telegram's clock, not 15
    pg.clock.advance(minutes=50)
    assert pg.sim.member(g.chat, g.carol)["status"] == "left"   # the ban ended after an hour, not 65 minutes


@pytest.mark.parametrize("how", ["command", "antiflood"])
async def test_the_first_mute_after_a_restart_counts_from_telegrams_clock(pg, group, how):
    """After a restart Sticky had measured nothing yet: the first mute, before any message of its own came back
    dated, was counted from our clock 5 minutes ahead and lasted 15 minutes. Every answer carries Telegram's time
    (the HTTP Date header), getMe's as the bot starts among them, so the first restriction is right already."""
    g = group
    pg.sim.clock = _Ahead(pg.clock, -5)
    telegram = pg.sim.clock
    await pg.restart()
    if how == "command":
        pg.sim.send(g.admin, "/mute @bob 10m", g.chat)
    else:
        pg.clock.advance(minutes=1)  # the group's first hellos are out of the flood window
        for i in range(6):
            pg.sim.send(g.bob, f"msg {i}", g.chat)
    await pg.settle()
    assert pg.sim.calls("restrictChatMember")[-1].params["until_date"] == int((telegram.now() + timedelta(minutes=10)).timestamp())
    pg.clock.advance(minutes=9, seconds=50)
    assert pg.sim.member(g.chat, g.bob)["status"] == "restricted"
    pg.clock.advance(seconds=10)
    assert pg.sim.member(g.chat, g.bob)["status"] == "member"  # 10 minutes on Telegram's clock, not 15


async def test_the_date_header_of_a_real_http_answer_measures_telegrams_clock():
    """The production request backend (httpx) hears the Date header of each answer, here from the simulator's HTTP
    server, whose clock is 5 minutes behind ours; a call in flight at the same time does not take another's date."""
    import asyncio

    from telegram.request import RequestData

    from bot.clock import FixedClock
    from bot.receiving import AnsweredRequest, dated_httpx_request
    from bot.services.actions import Actions
    from bot.sim import FakeTelegram
    from bot.sim.transport import SimServer

    ours = FixedClock()
    sim = FakeTelegram(clock=_Ahead(ours, -5))
    actions = Actions(None, ours)
    heard: list[float] = []
    request = AnsweredRequest(dated_httpx_request(connection_pool_size=4))
    request.dated = lambda: heard.append  # what each call hears
    await request.initialize()
    try:
        with SimServer(sim) as server:
            calls = [request.do_request(f"{server.url}/bot{sim.token}/getMe", "POST", RequestData()) for _ in range(3)]
            assert all(code == 200 for code, _ in await asyncio.gather(*calls))
            request.dated = actions.asking
            await request.do_request(f"{server.url}/bot{sim.token}/getMe", "POST", RequestData())
    finally:
        await request.shutdown()
    assert heard == [int(sim.clock.now().timestamp())] * 3
    assert abs(actions.telegram_now() - sim.clock.now()) <= timedelta(seconds=1)


async def test_a_30_second_mute_is_sent_with_room_to_arrive(pg, group):
    """A 30 s mute sent as exactly 30 s would reach Telegram a moment later as under 30 s — forever. It goes out
    as 40 s (SEND_MARGIN), so it is temporary however long the request takes."""
    g = group
    await say(pg, g.admin, "/mute @bob 30s", g.chat)
    sent = pg.sim.calls("restrictChatMember")[-1].params["until_date"]
    assert sent == int(pg.clock.now().timestamp()) + 40
    pg.clock.advance(seconds=41)
    assert pg.sim.member(g.chat, g.bob)["status"] == "member"


async def test_a_kick_by_the_daily_inactivity_pass_after_a_quiet_while_still_counts_from_telegrams_clock(pg, group):
    """The lead of Telegram's clock is learned from the updates' dates. The inactivity pass kicks by a job, after
    days in which the group said nothing: its kick's 5-minute ban must still count from Telegram's now (the lead
    kept until an update measures it afresh), not from our clock 5 minutes behind — Telegram reads a ban under
    30 s after its now as for good, so the member could never come back."""
    from tests.handlers.funnel_helpers import run_job
    from tests.handlers.test_rule_effects import add

    g = group
    pg.sim.clock = _Ahead(pg.clock, 5)
    await say(pg, g.admin, "/mute @bob 2m", g.chat)                # an update: the lead is seen
    await add(pg, g, "when inactive 7 days then kick")
    pg.sim.refuse("unbanChatMember", "kicked")                     # the kick's unban fails: its ban's end must hold
    pg.clock.advance(days=8)
    await run_job(pg, "schedules:tick")
    until = pg.sim.calls("banChatMember")[-1].params["until_date"]
    assert until >= int(pg.sim.clock.now().timestamp()) + 30
    kicked = pg.sim.calls("banChatMember")[-1].params["user_id"]
    pg.clock.advance(minutes=6)
    member = next(u for u in (g.alice, g.bob, g.carol) if u.id == kicked)
    assert pg.sim.member(g.chat, member)["status"] == "left"        # the ban ended: they may come back
