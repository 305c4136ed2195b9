"""Help that teaches (issue 13): /help grouped by purpose, /help COMMAND with usage, a real example and who may
use it (in the group's language), a pointer for unknown commands and plain text in private, and silence in a
group for commands that are not addressed to Sticky."""
from __future__ import annotations

from tests.helpers import help_messages, say


async def test_help_groups_commands_by_what_they_are_for(pg, group):
    text = "\n\n".join(await help_messages(pg, group.admin, group.chat))
    lines = text.splitlines()
    assert lines[0] == "Commands for you (Admin):"
    sections = [l for l in lines if l and not l.startswith("/") and l != lines[0]]
    assert sections[:3] == ["Getting started", "Check-in and points", "Friends and invites"]
    assert "Members (admins)" in sections
    assert lines.index("/checkin — Daily check-in: points, XP and your streak") > lines.index("Check-in and points")
    assert lines.index("/give — Give a member points (with a reason)") > lines.index("Members (admins)")
    assert lines[-1] == "/help COMMAND shows how to use one, with an example."
    member = (await say(pg, group.alice, "/help", group.chat)).splitlines()
    assert "Members (admins)" not in member and "Check-in and points" in member


async def test_help_too_long_for_one_message_comes_in_several_split_between_topics_each_within_telegrams_limit(pg, group):
    from bot.texts.core import _shown_length, help_parts
    from bot.texts import translator
    from bot.domain.roles import Role

    messages = await help_messages(pg, group.owner, group.chat)
    commands = [line.split(" — ", 1)[0] for m in messages for line in m.splitlines() if line.startswith("/") and " — " in line]
    assert len(commands) == len(set(commands)) and "/rules_import" in commands and "/topics" in commands
    assert all(len(m.encode("utf-16-le")) // 2 <= 4096 for m in messages)
    assert messages[0].startswith("Commands for you (Owner):")
    assert all(not m.splitlines()[0].startswith("/") for m in messages)  # each part starts at a topic's title
    # the splitting itself, with a small limit: every topic whole, nothing lost, nothing repeated
    parts = help_parts(translator("en"), [("checkin", Role.MEMBER), ("give", Role.ADMIN), ("shop", Role.MEMBER)], Role.ADMIN,
                       True, limit=150)
    assert len(parts) > 1 and all(_shown_length(p) <= 150 for p in parts)
    assert "\n\n".join(parts).count("/give") == 1 and "<b>Shop</b>\n/shop" in "\n\n".join(parts)


async def test_help_command_gives_usage_a_real_example_and_who_may_use_it(pg, group):
    assert (await say(pg, group.alice, "/help give", group.chat)).splitlines() == [
        "/give — Give a member points (with a reason)",
        "Usage: /give @username|id|(reply) AMOUNT REASON",
        "Example: /give @alice 20 wrote the tea guide",
        "Who: Admin and above, in a group, or in a private chat with me once connected to it (/connect).",
    ]
    assert (await say(pg, group.alice, "/help /checkin", group.chat)).splitlines()[2:] == [
        "Example: /checkin", "Who: everyone, in a group."]   # it needs the group: no private chat
    assert (await say(pg, group.alice, "/help me", group.chat)).splitlines()[-2:] == [
        "Example: /me", "Who: everyone, in a group, or in a private chat with me (for your group)."]
    # A member's example is one they may use: "/me @alice" is refused to them (only admins look others up).
    pg.clock.advance(seconds=10)
    assert (await say(pg, group.alice, "/help invites", group.chat)).splitlines()[2] == "Example: /invites"
    assert (await say(pg, group.alice, "/help warns", group.chat)).splitlines()[2] == "Example: /warns"
    assert (await say(pg, group.admin, "/help warns", group.chat)).splitlines()[2] == "Example: /warns @bob"
    assert (await say(pg, group.admin, "/help me", group.chat)).splitlines()[2] == "Example: /me @alice"
    assert (await say(pg, group.admin, "/help history", group.chat)).splitlines()[2] == "Example: /history @alice"
    assert (await say(pg, group.alice, "/help del", group.chat)).splitlines()[-1] == "Who: Admin and above, in a group."
    # Every part /additem takes is in its usage, the make-up card's too (it was missing).
    pg.clock.advance(seconds=10)
    assert (await say(pg, group.alice, "/help additem", group.chat)).splitlines()[1] == (
        "Usage: /additem NAME | COST [| stock N|unlimited] [| limit N] [| tier KEY] [| makeup card] [| description]")
    pg.clock.advance(seconds=10)  # a member reads between commands (seven in ten seconds are a flood)
    # /help takes one command: a wrong call shows that it takes one, not a bare "/help".
    assert await say(pg, group.alice, "/help give me", group.chat) == "Usage: /help [COMMAND]"
    assert await say(pg, group.alice, "/help nosuch", group.chat) == "I don't know /nosuch. /help lists what I can do."
    await say(pg, group.owner, "/lang zh", group.chat)
    zh = (await say(pg, group.alice, "/help give", group.chat)).splitlines()
    assert zh[0].startswith("/give — ") and zh[1].startswith("用法：/give") and zh[2].startswith("示例：")
    assert zh[3] == "谁可以用：管理员及以上，在群里，或连接该群后在与我的私聊中（/connect）。"
    assert await say(pg, group.alice, "/help give me", group.chat) == "用法：/help [命令名]"
    pg.clock.advance(seconds=10)
    assert (await say(pg, group.alice, "/help badges", group.chat)).splitlines()[2] == "示例：/badges"
    pg.clock.advance(seconds=10)
    assert (await say(pg, group.alice, "/help additem", group.chat)).splitlines()[1] == (
        "用法：/additem 名称 | 价格 [| 库存 N|不限] [| 限购 N] [| 等级 KEY] [| 补签卡] [| 描述]")


async def test_unknown_commands_get_a_pointer_in_private_and_when_addressed_but_quiet_otherwise(pg, group):
    alice = group.alice
    pg.sim.send(alice, "/start")
    await pg.settle()
    assert await say(pg, alice, "/frobnicate") == "I don't know /frobnicate. /help lists what I can do."
    assert await say(pg, alice, "what can you do?") == "I answer commands. /help lists them; /help COMMAND shows one with an example."
    assert await say(pg, alice, "/frobnicate", group.chat) == ""                       # maybe another bot's
    assert await say(pg, alice, "/frobnicate@OtherBot", group.chat) == ""
    assert await say(pg, alice, "/frobnicate@StickyTestBot", group.chat) == "I don't know /frobnicate. /help lists what I can do."
    assert (await say(pg, alice, "/me@StickyTestBot", group.chat)).startswith("Alice — Member")


async def test_a_members_help_has_no_heading_saying_admins(pg, group):
    """/locks and /blocklist are open to members: the headings they see them under must not say the commands are
    for admins."""
    lines = "\n\n".join(await help_messages(pg, group.alice, group.chat)).splitlines()
    headings = [l for l in lines[1:] if l and not l.startswith("/")][:-1]  # the closing hint apart
    assert headings and not [h for h in headings if "admins" in h.lower()], headings
    for command in ("/locks", "/blocklist"):
        assert any(l.startswith(command + " — ") for l in lines), command


async def test_the_admin_tools_are_listed_to_admins_only_and_help_connect_says_who(pg, group):
    """/connect and /disconnect are for a group's admins (Telegram is asked when they run): a member's /help, in the
    group or in private, does not list them; an admin's does, there and in private; /help connect still explains
    it to anyone, saying who it is for — en and zh."""
    def listed(messages):
        return {l.split(" — ")[0] for m in messages for l in m.splitlines() if " — " in l}

    pg.sim.send(group.alice, "/start")
    pg.sim.send(group.admin, "/start")
    await pg.settle()
    assert not {"/connect", "/disconnect"} & listed(await help_messages(pg, group.alice, group.chat))
    assert not {"/connect", "/disconnect"} & listed(await help_messages(pg, group.alice))
    assert {"/connect", "/disconnect"} <= listed(await help_messages(pg, group.admin, group.chat))
    assert {"/connect", "/disconnect"} <= listed(await help_messages(pg, group.admin))
    assert (await say(pg, group.alice, "/help connect")).splitlines()[-1] == (
        "Who: a group's admins, in a private chat with me, or in the group itself.")
    assert (await say(pg, group.alice, "/help disconnect", group.chat)).splitlines()[-1] == (
        "Who: a group's admins, in a private chat with me, or in the group itself.")
    await say(pg, group.owner, "/lang zh", group.chat)
    assert (await say(pg, group.alice, "/help connect", group.chat)).splitlines()[-1] == "谁可以用：群管理员，在与我的私聊中，或在该群里。"


async def test_help_in_private_lists_the_personal_commands_that_answer_there(pg, group):
    """/me, /history, /badges, /warns, /invite and /invites typed in private answer for your group (README), but
    /help in private listed none of them: a member reading it would not know they work there."""
    alice = group.alice
    pg.sim.send(alice, "/start")
    await pg.settle()
    shown = "\n".join(await help_messages(pg, alice))
    for command in ("/me", "/history", "/badges", "/warns", "/invite", "/invites"):
        assert f"\n{command} — " in shown, command
    assert "\n/checkin — " not in shown and "\n/give — " not in shown   # these need the group itself


async def test_the_private_greeting_says_what_sticky_does_now_and_what_works_in_private(pg, group):
    """The private /start said only "members can check in, earn points and more" (issue 13, item 9): it names what
    exists, as the group's greeting does, and what the private chat itself is for — in English and Chinese."""
    hello = await say(pg, group.alice, "/start")
    for part in ("moderation", "scheduled posts", "stats", "/me", "/connect", "/help"):
        assert part in hello, part
    zh = await say(pg, pg.sim.user("lin", language_code="zh"), "/start")
    for part in ("群管理", "定时发布", "统计", "/me", "/connect", "/help"):
        assert part in zh, part


async def test_the_private_greeting_asks_to_add_sticky_only_of_someone_in_none_of_its_groups(pg, group):
    """A member of a Sticky group who opened the private chat was told "Add me to your group and make me an admin
    to start", as if Sticky were not there (found walking issue 13): she hears it is in her group already; someone
    in no group of Sticky's still hears how to start — in English and Chinese."""
    await say(pg, group.alice, "hello", group.chat)
    member = await say(pg, group.alice, "/start")
    assert "I'm in your group already: /checkin and the rest work there." in member
    assert "Add me to your group" not in member
    stranger = await say(pg, pg.sim.user("sam"), "/start")
    assert "Add me to your group and make me an admin to start." in stranger
    assert "in your group already" not in stranger
    lin = pg.sim.user("lin", language_code="zh")
    assert "把我加进你的群并设为管理员即可开始。" in await say(pg, lin, "/start")
    pg.sim.join(group.chat, lin)
    await say(pg, lin, "大家好", group.chat)
    zh = await say(pg, lin, "/start")
    assert "我已经在你的群里了：/checkin 等命令请在群里使用。" in zh and "把我加进" not in zh


async def test_private_chat_follows_any_chinese_telegram_language(pg, group):
    """Telegram sends zh-hans, zh-CN, zh-TW…: each gets the Chinese private chat; en-GB and an unknown code English."""
    for code in ("zh-hans", "zh-CN", "zh-TW", "zh"):
        assert "群管理" in await say(pg, pg.sim.user(f"u{code.replace('-', '')}", language_code=code), "/start"), code
    for code in ("en-GB", "xx"):
        assert (await say(pg, pg.sim.user(f"u{code.replace('-', '')}", language_code=code), "/start")).startswith("Hi! I'm Sticky."), code


async def test_every_command_that_takes_words_shows_a_real_example_that_works_in_english_and_chinese(pg, group):
    """/help warn said "Example: /warn" — a usage error, no example at all — and so did /mute, /ban, /feedback, /me and
    some forty more (found walking issue 13, item 3: "a real example"). Every command whose usage takes words after
    it has an example that uses them, and each example, typed as shown (a reply where it says so), is understood:
    never answered with the command's usage, never "Something went wrong" — in English and in Chinese."""
    from bot.texts import translator
    from bot.texts.commands import EXAMPLES, usage
    from bot.texts.core import internal_error
    from handlers.base import spec_of

    g = group
    specs = [spec_of(c) for c in pg.app.bot_data.commands]
    en = translator("en")
    bare = [s.name for s in specs if usage(en, s.name) != f"/{s.name}" and s.name not in EXAMPLES]
    assert bare == []
    for language in ("en", "zh"):
        _ = translator(language)
        await say(pg, g.owner, f"/lang {language}", g.chat)
        for spec in specs:
            if spec.name not in EXAMPLES or spec.name in ("lang", "season", "nps"):
                continue  # /lang would switch the language under the loop; /season and /nps post questions
            pg.clock.advance(minutes=1)
            typed = _(EXAMPLES[spec.name])
            text, _sep, how = typed.partition(" (sent as a reply") if language == "en" else typed.partition("（回复")
            reply_to = pg.sim.send(g.carol, "a message to point at", g.chat) if how else None
            await pg.settle()
            private = spec.where == "private" or spec.name in ("connect", "disconnect")
            answer = await say(pg, g.owner, text.strip(), None if private else g.chat, reply_to=reply_to)
            usage_line = _("Usage: {usage}").format(usage=usage(_, spec.name))
            assert answer != usage_line and not answer.startswith(usage_line), (language, typed, answer)
            assert internal_error(_) not in answer, (language, typed, answer)
