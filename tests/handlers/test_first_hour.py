"""What a newcomer hits in the first hour (issue 13): points go to people only, who may give themselves points,
one meaning of rank, looking members up, make-up cards in the shop, and the replies that said the wrong thing."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from tests.helpers import say

BOT = "@StickyTestBot"


def last(pg, chat) -> dict:
    return pg.sim.replies(chat)[-1]


async def points_of(pg, chat, user) -> int:
    return (await pg.services.points.ledger.wallet(chat.id, user.id)).points


# --- points go to people ------------------------------------------------------------------------------------


async def test_points_go_to_people_only_by_username_or_by_reply_and_the_bot_never_tops_the_board(pg, group):
    g = group
    refusal = "That is a bot; points go to people only."
    assert await say(pg, g.admin, f"/give {BOT} 10 thanks", g.chat) == refusal
    assert await say(pg, g.admin, f"/give {pg.sim.bot.id} 10 thanks", g.chat) == refusal
    greeting = pg.sim.replies(g.chat)[0]
    assert await say(pg, g.admin, "/give 10 thanks", g.chat, reply_to=greeting) == refusal
    assert await say(pg, g.admin, "/take 10 oops", g.chat, reply_to=greeting) == refusal
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM ledger WHERE user_id = ?", (pg.sim.bot.id,)) == 0
    assert "Sticky" not in await say(pg, g.alice, "/top all", g.chat)
    # Community roles keep their own words.
    assert await say(pg, g.owner, "/setrole spreader", g.chat, reply_to=greeting) == "That is a bot; community roles are for people."


async def test_only_the_owner_may_give_themselves_points_and_it_is_audited(pg, group):
    g = group
    refusal = "You can't give points to yourself; only the owner can (and it is recorded with the reason)."
    assert await say(pg, g.admin, "/give @admin 500 me", g.chat) == refusal
    assert await say(pg, g.admin, f"/give {g.admin.id} 500 me", g.chat) == refusal
    mine = pg.sim.send(g.admin, "my message", g.chat)
    await pg.settle()
    assert await say(pg, g.admin, "/give 500 me", g.chat, reply_to=mine) == refusal
    assert await points_of(pg, g.chat, g.admin) == 0
    assert await say(pg, g.owner, "/give @owner 5 prize for the quiz I ran", g.chat) == "Owner got +5 points (balance 5)."
    row = await pg.services.db.fetchone("SELECT actor_id, note FROM ledger WHERE user_id = ?", (g.owner.id,))
    assert (row["actor_id"], row["note"]) == (g.owner.id, "prize for the quiz I ran")


async def test_a_take_lowers_the_leaderboard_as_the_readme_says(pg, group):
    g = group
    await say(pg, g.admin, "/give @alice 100 typo: meant bob", g.chat)
    await say(pg, g.admin, "/give @bob 40 help", g.chat)
    await say(pg, g.admin, "/take @alice 100 correction", g.chat)
    top = await say(pg, g.carol, "/top", g.chat)
    assert "Alice" not in top and "🥇 Bob — 40" in top


async def test_the_rank_in_me_is_the_place_on_the_default_board_and_says_which(pg, group):
    g = group
    await say(pg, g.admin, "/give @alice 100 launch", g.chat)   # points, no XP
    await say(pg, g.bob, "/checkin", g.chat)                     # 15 points and 10 XP
    assert "Rank: #1 on /top (points, this season)" in await say(pg, g.alice, "/me", g.chat)
    assert "Rank: #2 on /top (points, this season)" in await say(pg, g.bob, "/me", g.chat)
    assert "Rank" not in await say(pg, g.carol, "/me", g.chat)


async def test_english_counts_agree_in_number(pg, group):
    g = group
    assert await say(pg, g.admin, "/give @alice 1 thanks", g.chat) == "Alice got +1 point (balance 1)."
    assert await say(pg, g.admin, "/take @alice 1 oops", g.chat) == "Alice lost 1 point (balance 0)."
    assert "+1 point: given by an admin — thanks" in await say(pg, g.alice, "/history", g.chat)
    assert await say(pg, g.alice, "/optout", g.chat) == "Done: no more private messages or mentions from me."
    # The warn limit of one is one warn, and what happens at it is said as a sentence ("Eve gets mute for 1h" was not).
    assert await say(pg, g.owner, "/setwarnlimit 1", g.chat) == "Warn limit: 1. At 1 warn the warn mode applies."
    assert (await say(pg, g.admin, "/warn @bob spam", g.chat)).endswith("That is the warn limit: Bob is banned, and the warns start again.")
    await say(pg, g.owner, "/setwarnmode tmute 1h", g.chat)
    assert (await say(pg, g.admin, "/warn @carol spam", g.chat)).endswith("That is the warn limit: Carol is muted for 1h, and the warns start again.")
    await say(pg, g.owner, "/setwarnmode kick", g.chat)
    pg.clock.advance(minutes=1)
    assert (await say(pg, g.admin, "/warn @alice spam", g.chat)).endswith(
        "That is the warn limit: Alice is removed from the group, and the warns start again.")
    await say(pg, g.owner, "/setwarnlimit 3", g.chat)
    await say(pg, g.owner, "/lang zh", g.chat)
    assert await say(pg, g.owner, "/setwarnlimit 1", g.chat) == "警告上限：1。达到 1 次警告即按处罚方式处理。"
    await say(pg, g.owner, "/setwarnmode tban 2d", g.chat)
    assert (await say(pg, g.admin, "/warn @carol 刷屏", g.chat)).endswith("已达警告上限：Carol 被封禁 2d，警告重新计数。")


# --- looking people up -----------------------------------------------------------------------------------------


async def test_invites_by_reply_shows_that_member_to_an_admin(pg, group):
    g = group
    said = pg.sim.send(g.alice, "hello all", g.chat)
    await pg.settle()
    answer = await say(pg, g.admin, "/invites", g.chat, reply_to=said)
    assert "Alice" in answer.splitlines()[0]


# --- the shop's make-up card -------------------------------------------------------------------------------------


async def test_a_makeup_card_is_labelled_in_the_shop_and_takes_no_codes(pg, group):
    g = group
    added = await say(pg, g.admin, "/additem Make-up card | 20 | makeup card", g.chat)
    item_id = int(re.match(r"Added #(\d+) ", added).group(1))
    # Adding it says what it is for: /makeup uses it (it pointed to /addcodes, which refuses a make-up card).
    assert added.endswith("It is on sale in /shop; whoever buys it, their next /makeup uses it instead of points.")
    assert "/addcodes" not in added
    await say(pg, g.alice, "/shop", g.chat)
    shelf = last(pg, g.chat)["text"]
    line = next(l for l in shelf.splitlines() if f"#{item_id}" in l)
    assert line.endswith("🎟 a make-up card for /makeup")
    answer = await say(pg, g.admin, f"/addcodes {item_id} ABC-1 ABC-2", g.chat)
    assert answer.splitlines()[0] == f"Item #{item_id} is a make-up card: /makeup uses it, so it takes no codes."
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM shop_codes") == 0
    await say(pg, g.owner, "/lang zh", g.chat)
    added = await say(pg, g.admin, "/additem 补签卡 | 20 | 补签卡", g.chat)
    assert added.endswith("。可在 /shop 兑换；兑换者下次 /makeup 会用它代替积分。") and "/addcodes" not in added, added
    assert "/addcodes" in await say(pg, g.admin, "/additem 茶杯 | 30", g.chat)  # any other item can deliver codes


async def test_edititem_active_with_a_wrong_word_names_the_valid_ones(pg, group):
    g = group
    await say(pg, g.admin, "/additem Mug | 100", g.chat)
    assert await say(pg, g.admin, "/edititem 1 active maybe", g.chat) == "active must be on or off (you wrote maybe)."


# --- settings' words --------------------------------------------------------------------------------------------


async def test_rules_back_to_an_empty_default_says_empty(pg, group):
    g = group
    await say(pg, g.admin, "/set rules https://example.org/rules", g.chat)
    assert await say(pg, g.admin, "/set rules default", g.chat) == "rules is back to the default (empty)."
    settings = await say(pg, g.admin, "/settings", g.chat)
    assert "• rules = (empty) (default)" in settings.splitlines()


async def test_overlong_rules_are_refused_in_their_own_words(pg, group):
    g = group
    answer = await say(pg, g.admin, "/set rules " + "r" * 5000, g.chat)
    assert answer == "rules must be a link or text of 1 to 1000 characters (this one has 5000)."


# --- make-up ------------------------------------------------------------------------------------------------------


async def test_a_second_makeup_after_a_repair_says_nothing_is_left(pg, group):
    g = group
    await say(pg, g.alice, "/checkin", g.chat)              # 2 March
    pg.clock.advance(days=10)
    await say(pg, g.alice, "/checkin", g.chat)              # 12 March: a new streak
    pg.clock.advance(days=2)                                # 13 March missed
    await say(pg, g.admin, "/give @alice 100 fund", g.chat)
    assert (await say(pg, g.alice, "/makeup", g.chat)).startswith("🩹 Made up 2026-03-13")
    assert await say(pg, g.alice, "/makeup", g.chat) == "There is no missed day to make up: your streak is whole."


async def test_a_makeup_on_the_first_day_says_the_streak_is_whole_not_that_there_is_no_checkin(pg, group):
    """/makeup after a member's first /checkin said "You have no check-in yet…" (the check-ins before today were
    counted, not today's): a streak of one is whole. Someone who never checked in still hears the other line."""
    g = group
    await say(pg, g.admin, "/give @alice 100 fund", g.chat)
    assert await say(pg, g.bob, "/makeup", g.chat) == (
        "You have no check-in yet, so there is no streak to repair. Start one with /checkin.")
    await say(pg, g.alice, "/checkin", g.chat)
    assert await say(pg, g.alice, "/makeup", g.chat) == "There is no missed day to make up: your streak is whole."
    await say(pg, g.owner, "/lang zh", g.chat)
    assert await say(pg, g.alice, "/makeup", g.chat) == "没有可补签的日子：你的连签是完整的。"


async def test_admins_look_members_up_by_username_id_or_reply_and_members_see_only_themselves(pg, group):
    g = group
    await say(pg, g.admin, "/give @alice 30 wiki", g.chat)
    await say(pg, g.alice, "/checkin", g.chat)
    said = pg.sim.send(g.alice, "hello", g.chat)
    await pg.settle()
    me = await say(pg, g.admin, "/me @alice", g.chat)
    assert me.splitlines()[0] == "Alice — Member" and "Points: 45" in me
    assert (await say(pg, g.admin, "/me", g.chat, reply_to=said)).splitlines()[0] == "Alice — Member"
    assert (await say(pg, g.admin, f"/history {g.alice.id}", g.chat)).splitlines()[0] == "Last changes for Alice"
    assert "Alice" in (await say(pg, g.admin, "/badges", g.chat, reply_to=said)).splitlines()[0]
    assert "Alice" in (await say(pg, g.admin, "/invites @alice", g.chat)).splitlines()[0]
    # A member: themselves only, with one line saying so; naming themselves is fine.
    for command in ("me", "history", "badges", "invites", "warns"):
        pg.clock.advance(seconds=10)  # a member reads between commands (seven in ten seconds are a flood)
        assert await say(pg, g.bob, f"/{command} @alice", g.chat) == f"Only admins can look up others; /{command} alone shows yours."
        assert await say(pg, g.bob, f"/{command}", g.chat, reply_to=said) == f"Only admins can look up others; /{command} alone shows yours."
    assert (await say(pg, g.bob, "/me @bob", g.chat)).splitlines()[0] == "Bob — Member"
    # A reply to Sticky's own message is no lookup.
    assert (await say(pg, g.bob, "/me", g.chat, reply_to=pg.sim.replies(g.chat)[0])).splitlines()[0] == "Bob — Member"
    assert await say(pg, g.admin, "/me @alice @bob", g.chat) == "Usage: /me [@username|id|(reply)] (others: admins only)"


async def test_a_weekly_tie_goes_to_who_got_there_first_and_says_so(pg, group):
    from bot.context import BotContext
    from handlers import points as hp

    g = group
    at = lambda d, hh=10: datetime(2026, 3, d, hh, 0, tzinfo=timezone.utc)  # noqa: E731  (2 March is a Monday)
    pg.clock.set(at(3))
    await say(pg, g.admin, f"/give {g.carol.id} 40 quiz", g.chat)   # Carol (the higher id) gets there first
    pg.clock.set(at(4))
    await say(pg, g.admin, "/give @alice 40 quiz", g.chat)
    pg.clock.set(at(9))
    before = len(pg.sim.replies(g.chat))
    await hp.job_weekly(BotContext(pg.app))
    text = pg.sim.replies(g.chat)[before]["text"]
    assert text.splitlines()[:2] == [
        "🏆 Top earner of last week: Carol, with 40 points.",
        "Tied with Alice; Carol got there first.",
    ]
    tops = await pg.services.db.fetchall("SELECT user_id FROM weekly_tops WHERE chat_id = ?", (g.chat.id,))
    assert [r["user_id"] for r in tops] == [g.carol.id]


async def test_a_command_by_reply_to_a_bot_says_so_in_its_own_words(pg, group):
    """/warn, /mute, /report… by reply to Sticky's message said "community roles are for people" (the /setrole
    refusal): each names what is wrong, and only /setrole and /unsetrole speak of roles."""
    g = group
    greeting = pg.sim.replies(g.chat)[0]
    refusal = "That message is from a bot; reply to a person's message."
    for user, command in [(g.admin, "/warn spam"), (g.admin, "/mute 10m"), (g.admin, "/ban"), (g.admin, "/approve"),
                          (g.admin, "/warns"), (g.alice, "/report spam")]:
        assert await say(pg, user, command, g.chat, reply_to=greeting) == refusal, command
    assert await say(pg, g.owner, "/unsetrole spreader", g.chat, reply_to=greeting) == "That is a bot; community roles are for people."
    await say(pg, g.owner, "/lang zh", g.chat)
    assert await say(pg, g.admin, "/warn spam", g.chat, reply_to=greeting) == "那条消息来自机器人；请回复真人的消息。"


# --- a group command typed in private ---------------------------------------------------------------------------


async def test_a_group_command_in_private_points_a_member_to_their_group_not_to_adding_sticky(pg, group):
    """/checkin in private told Alice, a member of Tea Lovers, to add Sticky to her group; a member's admin command
    there offered /connect, which she cannot use. Now: the command is for her group, or for its admins; someone in
    no group of Sticky's is still told to add it to one. In English and Chinese."""
    g = group
    assert await say(pg, g.alice, "/checkin") == "/checkin works in your group: send it there."
    assert await say(pg, g.alice, "/give @bob 5 thanks") == "Only Admin and above can use this command."
    stranger = pg.sim.user("zed")
    assert await say(pg, stranger, "/checkin") == "This command works in a group. Add me to your group and use it there."
    # An admin's admin command in private still says how to connect, and nothing was given.
    assert await say(pg, g.admin, "/give @bob 5 thanks") == (
        "/give acts on a group: send it there, or pick a group to manage from here with /connect.")
    assert await points_of(pg, g.chat, g.bob) == 0
    await say(pg, g.alice, "/language zh")
    assert await say(pg, g.alice, "/top") == "/top 需要在你的群里使用：请在群里发送。"
    assert await say(pg, g.alice, "/give @bob 5 谢谢") == "只有管理员及以上才能使用此命令。"


async def test_a_setting_that_ends_a_sentence_gets_no_second_full_stop(pg, group):
    g = group
    assert await say(pg, g.owner, "/set rules Be kind.", g.chat) == "rules is now Be kind."
    assert await say(pg, g.owner, "/set timezone Asia/Shanghai", g.chat) == "timezone is now Asia/Shanghai."
    await say(pg, g.owner, "/lang zh", g.chat)
    assert await say(pg, g.owner, "/set rules 友善。", g.chat) == "rules 已设为 友善。"
    assert await say(pg, g.owner, "/set rules 请友善！", g.chat) == "rules 已设为 请友善！"


# --- a rule's mute, ban or kick is said in the group ------------------------------------------------------------


async def test_a_member_muted_by_the_antiflood_rule_is_told_once_in_the_groups_language(pg, group):
    """The default antiflood rule muted six quick messages without a word: the member found they could not write.
    Now Sticky says who is muted until when and which rule did it, once for the burst (the messages sent before the
    mute do not say it again); a rule's ban says so too; a mute Telegram refused is not announced."""
    g = group
    pg.clock.advance(minutes=1)
    for i in range(8):
        pg.sim.send(g.alice, f"tea {i}", g.chat)
    await pg.settle()
    told = [m["text"] for m in pg.sim.replies(g.chat) if "Alice is muted" in m.get("text", "")]
    assert told == ["Alice is muted until 2026-03-02 09:11.\nReason: rule antiflood"], told
    await say(pg, g.owner, "/lang zh", g.chat)
    await say(pg, g.owner, "/setfloodmode ban 1d", g.chat)
    pg.clock.advance(minutes=1)
    for i in range(6):
        pg.sim.send(g.bob, f"茶 {i}", g.chat)
    await pg.settle()
    assert pg.sim.replies(g.chat)[-1]["text"] == "Bob 已被封禁，至 2026-03-03 09:02。\n理由：规则 antiflood"
    # Without the right to restrict, nothing happened, so nothing is said of it.
    pg.sim.demote(g.chat, pg.sim.bot, by=g.owner)
    pg.clock.advance(minutes=1)
    for i in range(6):
        pg.sim.send(g.carol, f"茶 {i}", g.chat)
    await pg.settle()
    assert not any("Carol 已被" in m.get("text", "") for m in pg.sim.replies(g.chat))
    assert pg.sim.member(g.chat, g.carol)["status"] == "member"


async def test_the_modlog_and_the_captcha_answers_use_chinese_punctuation_in_a_chinese_group(pg, group):
    """In a Chinese group /modlog read "Bob: 封禁 — Owner (卖粉丝)" and /setcaptcha "（可接受的答案：龙井, longjing）":
    half-width colon, brackets and comma inside Chinese text (issue 13, Chinese typography; found walking /help's
    examples). English is unchanged."""
    g = group
    await say(pg, g.admin, "/mute @bob 2h flooding", g.chat)
    assert (await say(pg, g.admin, "/modlog", g.chat)).splitlines()[1] == "03-02 09:00 Bob: muted — Admin (flooding)"
    assert await say(pg, g.admin, "/setcaptcha Which tea is green? | longjing; 龙井", g.chat) == (
        "The group's question is now: Which tea is green? (accepted: longjing, 龙井). Use it with /set captcha_mode question.")
    await say(pg, g.owner, "/lang zh", g.chat)
    await say(pg, g.admin, "/ban @carol 7d 卖粉丝", g.chat)
    log = (await say(pg, g.admin, "/modlog", g.chat)).splitlines()
    assert log[1] == "03-02 09:00 Carol：封禁 — Admin（卖粉丝）", log
    assert log[2] == "03-02 09:00 Bob：禁言 — Admin（flooding）", log
    assert await say(pg, g.admin, "/setcaptcha 哪种茶是绿茶？| 龙井；longjing", g.chat) == (
        "本群的问题已设为：哪种茶是绿茶？（可接受的答案：龙井、longjing）。用 /set captcha_mode question 启用。")


async def test_the_streak_board_with_a_period_says_it_has_none_instead_of_ignoring_it(pg, group):
    """/top streak week used to show the current streaks titled as if nothing had been asked: a streak runs up to
    today, so a period is refused in one line (both languages), and /top streak itself still answers."""
    g = group
    await say(pg, g.alice, "/checkin", g.chat)
    for period in ("week", "month", "season", "all"):
        pg.clock.advance(minutes=1)  # not a flood
        assert await say(pg, g.bob, f"/top streak {period}", g.chat) == (
            "The streak board has no period: a streak counts the days in a row up to today. Send /top streak.")
    assert (await say(pg, g.bob, "/top streak", g.chat)).splitlines()[1:] == ["🥇 Alice — 1"]
    await say(pg, g.owner, "/lang zh", g.chat)
    assert await say(pg, g.bob, "/top week streak", g.chat) == "连签榜不分时段：连签天数一直算到今天。请发送 /top streak。"
