"""Admin from private chat (issue 13): /connect lists the groups Telegram says you administer and connects with one
tap (or by name, or from the group); admin commands typed in private then act on that group through the one
command router, with the sender's rights asked of Telegram at every command; /disconnect. Personal commands in
private ask which group (or use the only one)."""
from __future__ import annotations

import pytest

from bot.domain.errors import ConnectError
from tests.helpers import help_of, make_group, say


async def warns_of(pg, chat, user) -> int:
    return await pg.services.db.fetchval(
        "SELECT COUNT(*) FROM violations WHERE chat_id = ? AND user_id = ? AND removed_at IS NULL", (chat.id, user.id))


def buttons(message) -> list[tuple[str, str]]:
    return [(b["text"], b.get("callback_data", b.get("url"))) for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def two_groups(pg):
    g = await make_group(pg)
    other = pg.sim.create_group("Coffee Club", owner=pg.sim.user("barista"))
    pg.sim.add_bot(other, by=pg.sim.user("barista"))
    pg.sim.join(other, g.admin)  # a plain member there
    pg.sim.send(g.admin, "hello coffee", other)
    pg.sim.send(g.admin, "/start")
    await pg.settle()
    return g, other


async def test_connect_lists_only_groups_telegram_says_you_administer_and_one_tap_connects(pg):
    g, _other = await two_groups(pg)
    before = len(pg.sim.calls("getChatMember"))
    assert await say(pg, g.admin, "/connect") == (
        "Which group do you want to manage from here? Only the groups where Telegram says you are an admin are listed.")
    question = pg.sim.replies(g.admin)[-1]
    assert buttons(question) == [("Tea Lovers", f"conn:{g.chat.id}")]        # not Coffee Club, where admin is a member
    assert len(pg.sim.calls("getChatMember")) - before == 2                    # asked about each group, not assumed
    pg.sim.press(g.admin, question, f"conn:{g.chat.id}")
    await pg.settle()
    assert pg.sim.replies(g.admin)[-1]["text"].startswith("Connected to Tea Lovers. Admin commands you send me here now act on it")
    in_group = len(pg.sim.replies(g.chat))
    answer = await say(pg, g.admin, "/warn @alice spam links")
    assert answer.splitlines()[0] == "[Tea Lovers]"
    assert "Alice" in answer.splitlines()[1]
    assert await warns_of(pg, g.chat, g.alice) == 1
    assert len(pg.sim.replies(g.chat)) == in_group                             # the answer came here, not into the group
    # A button that acts on the chat it is pressed in (remove warn) is not offered where it cannot work.
    assert "reply_markup" not in pg.sim.replies(g.admin)[-1]


async def test_every_command_asks_telegram_again_and_losing_admin_ends_the_connection_at_once(pg):
    g, _other = await two_groups(pg)
    assert (await say(pg, g.admin, "/connect tea lovers")).startswith("Connected to Tea Lovers.")
    assert (await say(pg, g.admin, "/set welcome Hi {name}!")).splitlines()[0] == "[Tea Lovers]"
    # The owner demotes the admin; Sticky never hears of it (a lost update): its own list still says admin.
    pg.sim.demote(g.chat, g.admin, by=g.owner)
    await pg.settle()
    async with pg.services.db.transaction() as tx:
        await tx.execute("UPDATE members SET tg_role = 'admin' WHERE chat_id = ? AND user_id = ?", (g.chat.id, g.admin.id))
    assert await say(pg, g.admin, "/warn @alice spam") == (
        "You are no longer an admin of Tea Lovers, so this private chat no longer manages it (disconnected).")
    assert await warns_of(pg, g.chat, g.alice) == 0
    # Admin of none of Sticky's groups now (Telegram's answer was stored): told so, not offered /connect.
    assert await say(pg, g.admin, "/warn @alice spam") == "Only Admin and above can use this command."
    assert await say(pg, g.admin, "/connect Tea Lovers") == (
        "Telegram says you are not an admin of Tea Lovers, so you can't manage it from here.")


async def test_connect_refusals_each_get_one_clear_line(pg):
    g, other = await two_groups(pg)
    assert await say(pg, g.admin, "/connect Coffee Club") == (
        "Telegram says you are not an admin of Coffee Club, so you can't manage it from here.")
    assert await say(pg, g.admin, "/connect Tea House") == (
        "You are in no group of mine called Tea House. /connect alone lists the groups you manage.")
    assert await say(pg, g.admin, "/connect -100123") == (   # a number is an id, not a title
        "You are in no group of mine with id -100123. /connect alone lists the groups you manage.")
    pg.sim.send(g.alice, "/start")
    await pg.settle()
    assert await say(pg, g.alice, "/connect") == (
        "You are not an admin in any group I'm in. Add me to your group, make me an admin, then /connect here.")
    assert await say(pg, g.alice, "/settings") == "Only Admin and above can use this command."  # a member cannot /connect
    assert await say(pg, g.alice, "/connect", g.chat) == (
        "Telegram says you are not an admin of Tea Lovers, so you can't manage it from here.")
    assert await say(pg, g.admin, "/disconnect") == "You are not connected to any group. /connect picks one."
    # a member, who cannot connect, is not pointed to /connect (nor in Chinese)
    assert await say(pg, g.alice, "/disconnect") == (
        "You are not connected to any group: connecting is how a group's admins manage it from this chat.")
    await say(pg, g.alice, "/language zh")
    assert await say(pg, g.alice, "/disconnect") == "你没有连接任何群组：连接是群管理员在这里管理群组的方式。"


async def test_connect_from_the_group_then_manage_it_in_private_and_disconnect(pg):
    g, _other = await two_groups(pg)
    answer = await say(pg, g.admin, "/connect", g.chat)
    assert answer.startswith("Admin: your private chat with me now manages Tea Lovers.")
    settings = await say(pg, g.admin, "/settings")
    assert settings.splitlines()[:2] == ["[Tea Lovers]", "Group settings (change with /set KEY VALUE; /set KEY default puts one back):"]
    # Commands that work on the group's own messages say where to send them.
    assert await say(pg, g.admin, "/del") == "/del works only in the group itself: send it there."
    assert await say(pg, g.admin, "/disconnect") == "Disconnected: this private chat no longer manages Tea Lovers."
    assert (await say(pg, g.admin, "/settings")).startswith("/settings acts on a group")


async def test_a_connected_private_chat_speaks_the_groups_language_unless_you_chose_one(pg):
    """One rule for everything Sticky says in a private chat that manages a group: the reader's /language choice,
    else the group's — /help and the answers to the commands run there alike (the admin's app is in English)."""
    g, _other = await two_groups(pg)
    await say(pg, g.owner, "/lang zh", g.chat)
    assert (await help_of(pg, g.admin)).startswith("Commands")  # not connected: their app's language
    assert (await say(pg, g.admin, "/connect Tea Lovers")).startswith("已连接到 Tea Lovers。")
    answer = await say(pg, g.admin, "/warn @alice 刷屏")
    assert answer.splitlines()[0] == "【Tea Lovers】"
    assert "警告" in answer
    helped = await help_of(pg, g.admin)
    assert "你正在这里管理 Tea Lovers" in helped and "Commands" not in helped
    assert (await say(pg, g.admin, "/help warn")).startswith("/warn")
    assert "用法" in await say(pg, g.admin, "/help warn")
    assert await say(pg, g.admin, "/language") == (
        "我在这里和你说中文（跟随你在这里管理的群组 Tea Lovers）。\n"
        "更改：发送 /language en 或 /language zh，或点下面的按钮。群组的语言由群管理员设置（/lang）。")
    assert await say(pg, g.admin, "/disconnect") == "Disconnected: this private chat no longer manages Tea Lovers."
    assert (await help_of(pg, g.admin)).startswith("Commands")
    # Their own choice wins over the group's, for /help and the answers alike.
    await say(pg, g.admin, "/connect Tea Lovers")
    await say(pg, g.admin, "/language en")
    assert "You manage Tea Lovers from here" in await help_of(pg, g.admin)
    assert (await say(pg, g.admin, "/warn @alice spam")).splitlines()[0] == "[Tea Lovers]"


async def test_connect_texts_in_chinese(pg):
    g, _other = await two_groups(pg)
    zh = pg.sim.user("xiaoming", language_code="zh-hans")
    pg.sim.send(zh, "/start")
    await pg.settle()
    assert await say(pg, zh, "/connect") == "你不是我所在任何群组的管理员。先把我加入你的群组并设为管理员，再在这里发送 /connect。"
    assert await say(pg, zh, "/warn @alice") == "只有管理员及以上才能使用此命令。"  # an admin nowhere: /connect cannot help
    # A which-group button whose question was forgotten.
    for chat in (g.chat, _other):
        pg.sim.join(chat, zh)
    await pg.settle()
    assert await say(pg, zh, "/me @alice with a few more words than fit into a single button") == (
        "/me @alice with a few more words than fit into a single button：哪个群组？")
    question = pg.sim.replies(zh)[-1]
    pg.clock.advance(days=8)
    pg.sim.press(zh, question, buttons(question)[0][1])
    await pg.settle()
    assert pg.sim.calls("answerCallbackQuery")[-1].params.get("text") == "这个问题已过期：请重新发送命令。"


# --- the private chat knows your groups ------------------------------------------------------------------------------


async def test_personal_commands_in_private_use_the_only_group_or_ask_which(pg):
    g = await make_group(pg)
    pg.sim.send(g.alice, "/start")
    await pg.settle()
    await say(pg, g.alice, "/checkin", g.chat)
    me = await say(pg, g.alice, "/me")
    assert me.splitlines()[0] == "[Tea Lovers]" and me.splitlines()[1].startswith("Alice — Member")
    assert "+10 points: daily check-in" in await say(pg, g.alice, "/history")
    # A second group: now Sticky asks which.
    other = pg.sim.create_group("Coffee Club", owner=pg.sim.user("barista"))
    pg.sim.add_bot(other, by=pg.sim.user("barista"))
    pg.sim.join(other, g.alice)
    await pg.settle()
    assert await say(pg, g.alice, "/history") == "/history: which group?"
    question = pg.sim.replies(g.alice)[-1]
    assert buttons(question) == [("Coffee Club", f"pick:history:{other.id}"), ("Tea Lovers", f"pick:history:{g.chat.id}")]
    pg.sim.press(g.alice, question, f"pick:history:{other.id}")
    await pg.settle()
    coffee = pg.sim.replies(g.alice)[-1]["text"]
    assert coffee.splitlines()[0] == "[Coffee Club]" and "daily check-in" not in coffee
    pg.sim.press(g.alice, question, f"pick:history:{g.chat.id}")
    await pg.settle()
    assert "+10 points: daily check-in" in pg.sim.replies(g.alice)[-1]["text"]


async def test_invite_in_private_gives_the_link_of_the_group_picked(pg):
    g = await make_group(pg)
    pg.sim.send(g.bob, "/start")
    await pg.settle()
    answer = await say(pg, g.bob, "/invite")
    assert answer.splitlines()[0] == "[Tea Lovers]" and "https://t.me/+" in answer
    link = await pg.services.db.fetchval("SELECT chat_id FROM invite_links WHERE user_id = ?", (g.bob.id,))
    assert link == g.chat.id


async def test_a_personal_command_in_private_for_someone_in_no_group_says_so(pg):
    stranger = pg.sim.user("stranger")
    pg.sim.send(stranger, "/start")
    await pg.settle()
    assert await say(pg, stranger, "/me") == "You are in no group of mine yet; /me works once you have joined one."
    # A picked group they have since left is refused at the press.
    g = await make_group(pg)
    other = pg.sim.create_group("Coffee Club", owner=pg.sim.user("barista"))
    pg.sim.add_bot(other, by=pg.sim.user("barista"))
    pg.sim.join(other, g.carol)
    pg.sim.send(g.carol, "/start")
    await pg.settle()
    assert await say(pg, g.carol, "/me") == "/me: which group?"
    question = pg.sim.replies(g.carol)[-1]
    pg.sim.leave(other, g.carol)
    await pg.settle()
    pg.sim.press(g.carol, question, f"pick:me:{other.id}")
    await pg.settle()
    answered = [c for c in pg.sim.calls("answerCallbackQuery")][-1]
    assert answered.params.get("text") == "Telegram says you are not in Coffee Club."


async def test_stats_from_private_send_the_chart_to_private_and_nothing_into_the_group(pg):
    g, _other = await two_groups(pg)
    await say(pg, g.alice, "/checkin", g.chat)
    await say(pg, g.admin, "/connect Tea Lovers")
    in_group = len(pg.sim.replies(g.chat))
    await say(pg, g.admin, "/stats")
    photos = [c for c in pg.sim.calls("sendPhoto") if c.ok]
    assert [c.params["chat_id"] for c in photos] == [g.admin.id]
    assert len(pg.sim.replies(g.chat)) == in_group


async def test_help_in_private_while_connected_lists_the_groups_admin_commands(pg):
    g, _other = await two_groups(pg)
    before = (await say(pg, g.admin, "/help")).splitlines()
    assert "/warn — Warn a member (the warn limit applies)" not in before
    await say(pg, g.admin, "/connect Tea Lovers")
    lines = (await say(pg, g.admin, "/help")).splitlines()
    assert lines[0] == "Commands for you (Admin):"
    assert "/warn — Warn a member (the warn limit applies)" in lines and "/connect — Manage a group from this private chat" in lines
    assert not any(l.startswith("/purge ") for l in lines)                    # works only in the group itself
    assert lines[-1] == "You manage Tea Lovers from here (/connect): the admin commands above act on it; /disconnect stops it."


async def test_a_command_that_only_posts_in_the_group_says_it_was_done(pg):
    g, _other = await two_groups(pg)
    await say(pg, g.admin, "/connect Tea Lovers")
    assert (await say(pg, g.admin, "/nps")).splitlines() == ["[Tea Lovers]", "/nps done."]
    survey = pg.sim.replies(g.chat)[-1]
    assert survey["text"].startswith("How likely are you to recommend Tea Lovers")


async def test_when_telegram_cannot_say_the_rights_nothing_is_done(pg):
    """Fail closed: a network error on the rights check is not taken for a yes; the connection stays for later."""
    g, _other = await two_groups(pg)
    await say(pg, g.admin, "/connect Tea Lovers")
    pg.sim.network_error("getChatMember")
    assert await say(pg, g.admin, "/warn @alice spam") == (
        "I couldn't check your rights in Tea Lovers with Telegram just now; nothing was done. Please try again.")
    assert await warns_of(pg, g.chat, g.alice) == 0
    assert (await say(pg, g.admin, "/warn @alice spam")).splitlines()[0] == "[Tea Lovers]"   # Telegram answers again
    assert await warns_of(pg, g.chat, g.alice) == 1


async def test_a_connection_survives_a_restart(pg):
    g, _other = await two_groups(pg)
    await say(pg, g.admin, "/connect Tea Lovers")
    await pg.restart()
    assert (await say(pg, g.admin, "/settings")).splitlines()[0] == "[Tea Lovers]"


# --- a picked group keeps the command's arguments ----------------------------------------------------------------------


async def admin_in_two_groups(pg):
    """The admin of Tea Lovers, also a member of Coffee Club, not connected: a personal command asks which group."""
    g, other = await two_groups(pg)
    await say(pg, g.alice, "/checkin", g.chat)
    await say(pg, g.admin, "/give @alice 7 tea photos", g.chat)
    return g, other


async def test_a_picked_group_runs_the_command_with_its_arguments(pg):
    g, other = await admin_in_two_groups(pg)
    assert await say(pg, g.admin, "/history @alice") == "/history @alice: which group?"
    question = pg.sim.replies(g.admin)[-1]
    assert buttons(question) == [("Coffee Club", f"pick:history:{other.id}:@alice"), ("Tea Lovers", f"pick:history:{g.chat.id}:@alice")]
    pg.sim.press(g.admin, question, f"pick:history:{g.chat.id}:@alice")
    await pg.settle()
    answer = pg.sim.replies(g.admin)[-1]["text"]
    # Alice's history, as /history @alice in the group shows it — not the admin's own.
    in_group = await say(pg, g.admin, "/history @alice", g.chat)
    assert answer.splitlines() == ["[Tea Lovers]", *in_group.splitlines()]
    assert "+7 points" in answer and "daily check-in" in answer
    # A member naming someone else gets the same line as in the group.
    pg.sim.send(g.alice, "/start")
    pg.sim.join(other, g.alice)
    await pg.settle()
    assert await say(pg, g.alice, "/invites @bob") == "/invites @bob: which group?"
    pg.sim.press(g.alice, pg.sim.replies(g.alice)[-1], f"pick:invites:{g.chat.id}:@bob")
    await pg.settle()
    assert pg.sim.replies(g.alice)[-1]["text"].splitlines() == ["[Tea Lovers]", await say(pg, g.alice, "/invites @bob", g.chat)]


async def test_arguments_too_long_for_a_button_are_kept_server_side_across_a_restart(pg):
    g, other = await admin_in_two_groups(pg)
    typed = "/history @alice and everything she did since the very first day of the group"
    assert await say(pg, g.admin, typed) == "/history @alice and everything she did since the very first day of…: which group?"
    question = pg.sim.replies(g.admin)[-1]
    datas = [d for _label, d in buttons(question)]
    assert all(len(d.encode()) <= 64 for d in datas) and all(d.startswith("pick#") for d in datas)
    await pg.restart()
    tea = next(d for label, d in buttons(question) if label == "Tea Lovers")
    pg.sim.press(g.admin, question, tea)
    await pg.settle()
    # The command ran with every argument it was typed with: exactly what it answers in the group.
    assert pg.sim.replies(g.admin)[-1]["text"].splitlines() == ["[Tea Lovers]", *(await say(pg, g.admin, typed, g.chat)).splitlines()]
    # A question kept past its time is forgotten: the tap says so and the dead buttons go.
    pg.clock.advance(days=8)
    assert await say(pg, g.admin, "/me @alice with a few more words than fit into a single button") == (
        "/me @alice with a few more words than fit into a single button: which group?")
    pg.sim.press(g.admin, question, tea)
    await pg.settle()
    answered = pg.sim.calls("answerCallbackQuery")[-1]
    assert answered.params.get("text") == "That question has expired: send the command again."
    assert pg.sim.message(g.admin, question["message_id"])["text"] == "That question has expired: send the command again."


async def test_a_kept_question_is_only_its_askers(pg):
    g, other = await admin_in_two_groups(pg)
    pg.sim.send(g.alice, "/start")
    pg.sim.join(other, g.alice)
    await pg.settle()
    await say(pg, g.admin, "/history @alice and everything she did since the very first day of the group")
    admins = [d for _label, d in buttons(pg.sim.replies(g.admin)[-1])][0]
    await say(pg, g.alice, "/me @bob with a few more words than fit into a single button, surely")
    question = pg.sim.replies(g.alice)[-1]
    # Alice's own buttons carry her own key; the admin's key, in her chat, would name nothing of hers.
    assert all(d.startswith("pick#") for _label, d in buttons(question)) and admins not in [d for _l, d in buttons(question)]
    key = admins.split(":")[0].removeprefix("pick#")
    assert await pg.services.connections.asked(g.admin.id, int(key))
    with pytest.raises(ConnectError):
        await pg.services.connections.asked(g.alice.id, int(key))


async def test_help_in_private_names_no_role_and_the_real_one_once_connected(pg):
    """An owner's /help in private said "Commands for you (Member):" — in private, acting on no group, nobody has
    a role; connected to a group, the header names the role there."""
    g, _other = await two_groups(pg)
    pg.sim.send(g.owner, "/start")
    await pg.settle()
    for who in (g.owner, g.admin, g.alice):
        first = (await say(pg, who, "/help")).splitlines()[0]
        assert first == "Commands for you:", who
    await say(pg, g.owner, "/connect Tea Lovers")
    assert (await say(pg, g.owner, "/help")).splitlines()[0] == "Commands for you (Owner):"
    zh = pg.sim.user("chen", language_code="zh")
    pg.sim.send(zh, "/start")
    await pg.settle()
    assert (await say(pg, zh, "/help")).splitlines()[0] == "你可用的命令："


async def test_the_owner_imports_rules_from_private_chat_with_its_apply_button(pg):
    """/rules_import typed in private on the connected group showed its dry run without Apply and Cancel, so an import
    from there could not be applied. Now the buttons come, and pressed in private they act on the connected group,
    the owner's role there asked of Telegram; after /disconnect a press is refused and nothing changes."""
    g, _other = await two_groups(pg)
    await say(pg, g.owner, "/connect", g.chat)
    source = "/rules_import sticky_rules: 1\nrules:\n  - {name: nolinks, rule: when message and has link then delete}"
    preview = (await say(pg, g.owner, source)).splitlines()
    assert preview[0] == "[Tea Lovers]" and preview[1].startswith("Dry run of the import"), preview
    question = pg.sim.replies(g.owner)[-1]
    labels = [b["text"] for row in question["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["✅ Apply", "✖️ Cancel"]
    pg.sim.press(g.owner, question, question["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    await pg.settle()
    done = next(m for m in pg.sim.replies(g.owner) if m["message_id"] == question["message_id"])["text"]
    assert done.startswith("Imported"), done
    assert [r.name for r in await pg.services.rules.rows(g.chat.id)] == ["nolinks"]
    # Disconnected, a press of another dry run's Apply in private acts on nothing.
    await say(pg, g.owner, source.replace("nolinks", "nolinks2"))
    second = pg.sim.replies(g.owner)[-1]
    await say(pg, g.owner, "/disconnect")
    pg.sim.press(g.owner, second, second["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    await pg.settle()
    assert pg.sim.calls("answerCallbackQuery")[-1].params.get("show_alert") is True
    assert [r.name for r in await pg.services.rules.rows(g.chat.id)] == ["nolinks"]
