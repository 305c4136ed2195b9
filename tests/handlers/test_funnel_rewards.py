"""What a referral pays and takes back: the clawback takes the referral points, XP and the newcomer's welcome bonus
(badges and the spreader role stay), milestones earn their badge, and the texts say what is really paid."""
from __future__ import annotations

from tests.handlers.funnel_helpers import (
    confirmed_invitee, ledger, link_of, newcomer, passed_left_and_back, pending, press, referrals, screening_on,
    stay_and_speak,
)
from tests.helpers import say


async def test_clawback_takes_back_points_xp_and_the_welcome_bonus_but_not_the_badge(pg, group):
    dave = await confirmed_invitee(pg, group, group.alice)
    wallets = pg.services.points.ledger
    alice_before = await wallets.wallet(group.chat.id, group.alice.id)
    assert (await wallets.wallet(group.chat.id, dave.id)).points == 5
    pg.clock.advance(days=1)
    pg.sim.leave(group.chat, dave)
    await pg.settle()
    assert (await referrals(pg, group.chat))[0]["status"] == "clawed_back"
    alice = await wallets.wallet(group.chat.id, group.alice.id)
    assert (alice.points, alice.xp) == (alice_before.points - 20, alice_before.xp - 20)
    assert sorted((r["currency"], r["amount"]) for r in await ledger(pg, group.chat, group.alice, "referral_clawback")) == [
        ("points", -20), ("xp", -20)]
    assert [r["amount"] for r in await ledger(pg, group.chat, dave, "referral_clawback")] == [-5]
    assert (await wallets.wallet(group.chat.id, dave.id)).points == 0
    assert [b for b, _ in await pg.services.points.repo.badges(group.chat.id, group.alice.id)] == ["first_referral"]
    assert await wallets.mismatches() == []
    # The same leave delivered again takes nothing twice.
    await pg.services.funnel.member_left(group.chat.id, dave.id, pg.clock.now())
    assert len(await ledger(pg, group.chat, group.alice, "referral_clawback")) == 2


async def test_clawback_never_makes_a_debt_of_points_already_spent(pg, group):
    dave = await confirmed_invitee(pg, group, group.alice)
    held = (await pg.services.points.ledger.wallet(group.chat.id, group.alice.id)).points
    await say_take(pg, group, group.alice, held - 7)  # she spent all but 7
    pg.sim.leave(group.chat, dave)
    await pg.settle()
    [points] = [r for r in await ledger(pg, group.chat, group.alice, "referral_clawback") if r["currency"] == "points"]
    assert points["amount"] == -7
    assert (await pg.services.points.ledger.wallet(group.chat.id, group.alice.id)).points == 0


async def say_take(pg, g, user, amount):
    text = await say(pg, g.owner, f"/take @{user.username} {amount} spent in the shop", g.chat)
    assert str(amount) in text, text


async def test_invite_never_hands_out_a_revoked_link(pg, group):
    pg.sim.send(group.alice, "/start")  # links go to her private chat
    await pg.settle()
    first = await link_of(pg, group, group.alice)
    code = pg.sim.replies(group.alice)[-1]["text"].split("start=ref_")[1].split()[0]
    await pg.app.bot.revoke_chat_invite_link(group.chat.id, first)  # an admin revokes it (through the API)
    await pg.settle()
    await say(pg, group.alice, "/invite", group.chat)
    text = pg.sim.replies(group.alice)[-1]["text"]
    live = [l["invite_link"] for l in pg.sim.invite_links(group.chat) if not l["is_revoked"] and l.get("name", "").endswith(f"#{group.alice.id}")]
    assert len(live) == 1 and live[0] != first and live[0] in text and first not in text
    assert len(pg.sim.calls("createChatInviteLink")) == 2
    await say(pg, group.alice, "/invite", group.chat)  # and the new one is reused
    assert len(pg.sim.calls("createChatInviteLink")) == 2
    # Her old deep link stands for her: it now leads to the live link.
    dave = pg.sim.user("dave")
    assert await say(pg, dave, f"/start ref_{code}") == f"You were invited to Tea Lovers. Join here: {live[0]}"
    pg.sim.join(group.chat, dave, link=live[0])
    await pg.settle()
    [ref] = await referrals(pg, group.chat)
    assert (ref["inviter_id"], ref["status"]) == (group.alice.id, "pending")


async def test_a_welcome_with_rules_shows_them_after_the_check(pg, group):
    """The welcome and the rules are independent (tests/handlers/test_welcome.py): a welcome with {rules} shows
    the rules once set, and keeps its own text when they are cleared."""
    await screening_on(pg, group)
    assert (await say(pg, group.admin, "/set welcome Hi {name}, read {rules}", group.chat)).splitlines()[0] == "welcome is now Hi {name}, read {rules}."
    assert await say(pg, group.admin, "/set rules https://example.org/rules", group.chat) == "rules is now https://example.org/rules."
    for name, expected in (("dave", "Hi Dave, read https://example.org/rules"), ("erin", "Hi Erin, read /rules")):
        user, check = await newcomer(pg, group.chat, name)
        await press(pg, group.chat, user, check)
        assert pg.sim.replies(group.chat)[-1]["text"] == expected
        await say(pg, group.admin, "/set rules default", group.chat)  # rules gone: never "read " with nothing after it


async def test_question_mode_without_a_question_warns_and_falls_back_to_buttons(pg, group):
    text = await say(pg, group.admin, "/set captcha_mode question", group.chat)
    assert text.splitlines() == ["captcha_mode is now question.",
                                 "Note: the group has no question yet, so newcomers get the button check until an admin sets one "
                                 "with /setcaptcha QUESTION | ANSWER; ANSWER"]
    await screening_on(pg, group)
    dave, check = await newcomer(pg, group.chat)
    assert check.mode == "button" and len(check.choices) == 6
    await say(pg, group.admin, "/setcaptcha Tea or coffee? | tea", group.chat)
    assert await say(pg, group.admin, "/set captcha_mode question", group.chat) == "captcha_mode is now question."


async def test_invite_text_names_only_what_the_group_asks_and_the_xp(pg, group):
    text = await say(pg, group.alice, "/invite", group.chat)
    assert "For each friend who joins, stays 24 hours, sends 1 message: +20 points, +20 XP." in text
    await say(pg, group.admin, "/set screening on", group.chat)
    text = await say(pg, group.alice, "/invite", group.chat)
    assert "For each friend who joins, passes the check, stays 24 hours, sends 1 message: +20 points, +20 XP." in text


async def test_the_inviter_is_told_the_points_xp_and_badge(pg, group):
    pg.sim.send(group.alice, "/start")
    await pg.settle()
    await confirmed_invitee(pg, group, group.alice)
    assert pg.sim.replies(group.alice)[-1]["text"].splitlines() == [
        "🎉 Dave joined Tea Lovers through you and stayed: +20 points, +20 XP.", "🏅 New badge: First referral"]


def test_config_refuses_a_milestone_without_its_badge_and_a_rules_welcome_without_rules():
    import pytest
    from pydantic import ValidationError

    from bot.config import Config, FunnelConfig, ReferralConfig

    with pytest.raises(ValidationError, match=r"milestones \[5\]"):
        Config(funnel=FunnelConfig(referral=ReferralConfig(milestones={5: 50})))
    with pytest.raises(ValidationError, match="rules_url is empty"):
        Config(funnel=FunnelConfig(welcome="Read {rules}"))
    assert Config(funnel=FunnelConfig(welcome="Read {rules}", rules_url="https://x.org")).funnel.rules_url


async def test_funnel_numbers_count_people_and_narrow_at_each_step(pg, group):
    url = await link_of(pg, group, group.alice)
    dave, erin, fay = (pg.sim.user(n) for n in ("dave", "erin", "fay"))
    for user in (dave, erin, fay):
        pg.sim.join(group.chat, user, link=url)
    await pg.settle()
    pg.clock.advance(hours=24)
    for user in (dave, fay):  # erin never says a word: her referral stays pending
        pg.sim.send(user, "hello", group.chat)
    await pg.settle()
    pg.clock.advance(days=2)
    pg.sim.leave(group.chat, dave)  # gone on day 3 ...
    await pg.settle()
    pg.clock.advance(days=1)
    pg.sim.join(group.chat, dave, link=url)  # ... and back on day 4 through the same link: still one person
    await pg.settle()
    pg.clock.advance(days=4)
    pg.sim.leave(group.chat, fay)  # gone on day 8: she was there on day 7
    await pg.settle()
    pg.clock.advance(days=1)
    n = await pg.services.funnel.numbers(group.chat.id)
    assert (n.links_created, n.joined, n.screened, n.confirmed, n.retained_7d) == (1, 3, 3, 2, 1)
    assert "still here after 7 days: 1" in await say(pg, group.admin, "/funnel", group.chat)


async def test_an_inviter_banned_before_the_join_and_an_invitee_removed_by_an_admin_are_never_counted(pg, group):
    alice_url, bob_url = await link_of(pg, group, group.alice), await link_of(pg, group, group.bob)
    await pg.app.bot.ban_chat_member(group.chat.id, group.alice.id)  # banned before anyone used her link
    await pg.settle()
    dave, erin = pg.sim.user("dave"), pg.sim.user("erin")
    pg.sim.join(group.chat, dave, link=alice_url)
    pg.sim.join(group.chat, erin, link=bob_url)
    await pg.settle()
    pg.sim.send(erin, "hi", group.chat)
    await pg.settle()
    await pg.app.bot.ban_chat_member(group.chat.id, erin.id)  # an admin removes her before she is confirmed
    await pg.app.bot.unban_chat_member(group.chat.id, erin.id, only_if_banned=True)
    await pg.settle()
    await stay_and_speak(pg, group, dave)
    rows = {r["invitee_id"]: (r["status"], r["reason"]) for r in await referrals(pg, group.chat)}
    assert rows == {dave.id: ("rejected", "inviter_banned"), erin.id: ("rejected", "left")}
    for user in (group.alice, group.bob):
        assert await ledger(pg, group.chat, user, "referral") == []


async def test_returning_members_are_asked_again_when_skip_returning_is_off(tmp_path, clock):
    from bot.config import Config, FunnelConfig
    from bot.playground import Playground
    from tests.helpers import make_group

    async with Playground(tmp_path / "s.db", config=Config(funnel=FunnelConfig(skip_returning=False)), clock=clock) as pg:
        g = await make_group(pg)
        dave, check = await passed_left_and_back(pg, g, hours=2)
        again = await pending(pg, g.chat, dave)
        assert again is not None and again.id != check.id


async def test_clawback_takes_back_what_referral_rules_awarded_once(pg, group):
    """A rule on the `referral` trigger paid the inviter points and XP; when the referral is clawed back those go too,
    each reversal naming the award it undoes — and only those: a rule award for something else stays."""
    g = group
    await say(pg, g.admin, "/rule add when referral then points +25, xp +7", g.chat)
    await say(pg, g.admin, '/rule add when message and words "thanks" then points +3', g.chat)
    pg.sim.send(g.alice, "thanks all", g.chat)
    await pg.settle()
    dave = await confirmed_invitee(pg, g, g.alice)
    wallets = pg.services.points.ledger
    before = await wallets.wallet(g.chat.id, g.alice.id)
    [rule_id] = [r.id for r in await pg.services.rules.rows(g.chat.id) if "referral" in r.source]
    [ref_id] = [r["id"] for r in await referrals(pg, g.chat)]
    pg.clock.advance(days=1)
    pg.sim.leave(g.chat, dave)
    await pg.settle()
    after = await wallets.wallet(g.chat.id, g.alice.id)
    assert (before.points - after.points, before.xp - after.xp) == (20 + 25, 20 + 7)  # the referral's own, the rule's
    rows = await ledger(pg, g.chat, g.alice, "referral_clawback")
    reversed_rule = {(r["currency"], r["amount"], r["ref"]) for r in rows if ":rule:" in r["ref"]}
    assert reversed_rule == {
        ("points", -25, f"referral_clawback:{g.chat.id}:{ref_id}:rule:{rule_id}:referral:{ref_id}"),
        ("xp", -7, f"referral_clawback:{g.chat.id}:{ref_id}:rule:{rule_id}:referral:{ref_id}")}
    assert await wallets.mismatches() == []
    # Delivered again, or run again by hand: nothing is taken twice.
    await pg.services.funnel.member_left(g.chat.id, dave.id, pg.clock.now())
    await pg.services.funnel._claw_back((await pg.services.funnel.repo.referral(ref_id)), pg.clock.now())
    assert len(await ledger(pg, g.chat, g.alice, "referral_clawback")) == len(rows) == 4
    assert await wallets.wallet(g.chat.id, g.alice.id) == after
