"""/help, /settings, /set and /lang through the real Application, and how the bot tidies up after itself
(transient replies deleted by a job, command messages deleted when delete_commands is on)."""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone

import pytest

from bot.domain.roles import Role
from bot.domain.settings import SETTINGS
from bot.texts import translator
from bot.texts.commands import description
from bot.texts.core import role_name
from handlers.base import spec_of
from tests.helpers import assert_one_line_refusals, help_of, say

TZ_HINT = "timezone must be a place name such as Asia/Shanghai, Europe/Berlin or UTC."
SET_USAGE = "Usage: /set KEY VALUE|default — see /settings for the keys"


def plain(text: str) -> str:
    """What a Telegram user sees of an HTML reply."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def specs(pg):
    return [spec_of(c) for c in pg.app.bot_data.commands]


def listed(help_text: str) -> set[str]:
    return {line.split(" ", 1)[0][1:] for line in help_text.splitlines() if line.startswith("/")}


async def stored_settings(pg, chat) -> dict[str, str]:
    rows = await pg.services.db.fetchall("SELECT key, value FROM group_settings WHERE chat_id = ?", (chat.id,))
    return {r["key"]: r["value"] for r in rows}


# ---------------------------------------------------------------- /help


async def test_help_lists_exactly_what_each_role_may_use(pg, group):
    member_help = await help_of(pg, group.alice, group.chat)
    admin_help = await help_of(pg, group.admin, group.chat)  # may come in several messages
    assert member_help.startswith("Commands for you (Member):")
    assert admin_help.startswith("Commands for you (Admin):")
    assert listed(member_help) == {s.name for s in specs(pg) if s.usable(Role.MEMBER, True) and not s.admin_tool}
    assert listed(admin_help) == {s.name for s in specs(pg) if s.usable(Role.ADMIN, True)}
    admin_only = {s.name for s in specs(pg) if s.role == Role.ADMIN and s.where != "private"}
    assert {"setrole", "unsetrole", "settings", "set", "lang"} <= admin_only
    assert admin_only <= listed(admin_help)
    assert not admin_only & listed(member_help)
    _ = translator("en")
    for name in listed(admin_help):
        assert f"/{name} — {description(_, name)}" in admin_help.splitlines()


async def test_help_names_the_community_role_and_the_owner(pg, group):
    await say(pg, group.owner, "/setrole @bob spreader", group.chat)
    assert (await say(pg, group.bob, "/help", group.chat)).startswith("Commands for you (Spreader):")
    before = len(pg.sim.replies(group.chat))
    await say(pg, group.owner, "/help", group.chat)  # the owner's is long: it may come in several messages
    assert pg.sim.replies(group.chat)[before]["text"].startswith("Commands for you (Owner):")


async def test_help_speaks_the_groups_language(pg, group):
    await say(pg, group.owner, "/lang zh", group.chat)
    zh = translator("zh")
    text = await say(pg, group.alice, "/help", group.chat)
    header = plain(zh("<b>Commands for you</b> ({role}):").format(role=role_name(zh, Role.MEMBER)))
    assert header != "Commands for you (Member):"
    assert text.splitlines()[0] == header
    for name in listed(text):
        assert f"/{name} — {description(zh, name)}" in text.splitlines()
    assert re.search(r"[\u4e00-\u9fff]", description(zh, "roles"))


async def test_help_in_private_chat_lists_private_commands_and_points_to_groups(pg, group):
    text = await say(pg, group.alice, "/help")
    # The private commands, and the personal group commands that answer here for your group (/me, /invite…).
    assert listed(text) == {s.name for s in specs(pg) if not s.admin_tool and (s.usable(Role.MEMBER, False) or (
        s.where == "group" and s.remote and s.personal and s.usable(Role.MEMBER, True)))}
    assert "roles" not in listed(text)
    # Alice is in a group Sticky knows: the rest is there, not "add me to one" (said to a member of one).
    assert text.splitlines()[-1] == "The other commands work in your group; type them there."
    stranger = pg.sim.user("stranger")
    assert (await say(pg, stranger, "/help")).splitlines()[-1] == "Most commands work in a group; add me to one."
    await say(pg, group.alice, "/language zh")
    assert (await say(pg, group.alice, "/help")).splitlines()[-1] == "其他命令在你的群里使用；请在群里输入。"
    await say(pg, stranger, "/language zh")
    assert (await say(pg, stranger, "/help")).splitlines()[-1] == "大多数命令需要在群里使用；请把我加进一个群。"


async def test_start_in_private_chat_introduces_the_bot(pg, group):
    text = await say(pg, group.alice, "/start")
    assert text.startswith("Hi! I'm Sticky.")
    assert await pg.services.db.fetchval("SELECT started_at IS NOT NULL FROM users WHERE user_id = ?", (group.alice.id,)) == 1


# ---------------------------------------------------------------- /settings and /set


async def test_settings_shows_every_key_with_its_default(pg, group):
    text = await say(pg, group.owner, "/settings", group.chat)
    lines = text.splitlines()
    assert lines[0] == "Group settings (change with /set KEY VALUE; /set KEY default puts one back):"
    for expected in ("• delete_commands = off (default)", "• language = en (default)",
                     "• timezone = UTC (default)", "• transient_seconds = 60 (default)"):
        assert expected in lines
    keys = [line.split(" ", 2)[1] for line in lines[1:]]
    assert keys == sorted([*SETTINGS, "link_gate"])  # link_gate: the rule links, shown under the name people know
    assert all(line.endswith("(default)") for line in lines[1:])


async def test_set_timezone_is_stored_shown_and_kept_across_restarts(pg, group):
    assert await say(pg, group.owner, "/set timezone Asia/Shanghai", group.chat) == "timezone is now Asia/Shanghai."
    assert await stored_settings(pg, group.chat) == {"timezone": "Asia/Shanghai"}
    updated_by = await pg.services.db.fetchval("SELECT updated_by FROM group_settings WHERE chat_id = ?", (group.chat.id,))
    assert updated_by == group.owner.id
    assert (await pg.services.groups.settings(group.chat.id)).timezone == "Asia/Shanghai"
    await pg.restart()
    lines = (await say(pg, group.admin, "/settings", group.chat)).splitlines()
    assert "• timezone = Asia/Shanghai" in lines  # no "(default)" mark any more
    assert "• language = en (default)" in lines


async def test_set_timezone_in_any_letter_case_stores_the_canonical_name(pg, group):
    assert await say(pg, group.owner, "/set timezone asia/shanghai", group.chat) == "timezone is now Asia/Shanghai."
    assert await stored_settings(pg, group.chat) == {"timezone": "Asia/Shanghai"}
    assert await say(pg, group.owner, "/set timezone AMERICA/NEW_YORK", group.chat) == "timezone is now America/New_York."
    assert (await pg.services.groups.settings(group.chat.id)).timezone == "America/New_York"
    assert await say(pg, group.owner, "/set timezone america", group.chat) == TZ_HINT  # a folder, whatever the case
    assert await say(pg, group.owner, "/set timezone est", group.chat) == TZ_HINT


async def test_set_accepts_on_off_and_numbers(pg, group):
    assert await say(pg, group.admin, "/set transient_seconds 120", group.chat) == "transient_seconds is now 120."
    assert await say(pg, group.admin, "/set delete_commands off", group.chat) == "delete_commands is now off."
    assert await stored_settings(pg, group.chat) == {"transient_seconds": "120", "delete_commands": "off"}


async def test_set_key_default_puts_the_config_default_back(pg, group):
    chat = group.chat
    await say(pg, group.owner, "/set timezone Asia/Shanghai", chat)
    await say(pg, group.owner, "/set transient_seconds 120", chat)
    assert await say(pg, group.admin, "/set timezone default", chat) == "timezone is back to the default, UTC."
    assert await stored_settings(pg, chat) == {"transient_seconds": "120"}  # the row is gone, the other stays
    assert (await pg.services.groups.settings(chat.id)).timezone == "UTC"
    lines = (await say(pg, group.admin, "/settings", chat)).splitlines()
    assert "• timezone = UTC (default)" in lines and "• transient_seconds = 120" in lines
    # A setting that was never changed: the same answer, nothing stored.
    assert await say(pg, group.admin, "/set delete_commands DEFAULT", chat) == "delete_commands is back to the default, off."
    await pg.restart()  # nothing stored overrides the default any more
    assert (await pg.services.groups.settings(chat.id)).timezone == "UTC"
    assert await say(pg, group.admin, "/set nosuchkey default", chat) == (
        f"Unknown setting nosuchkey. Settings: {', '.join(sorted(SETTINGS))}"
    )


async def test_language_default_switches_back_and_answers_in_it(pg, group):
    await say(pg, group.owner, "/lang zh", group.chat)
    assert await say(pg, group.owner, "/set timezone default", group.chat) == "timezone 已恢复为默认值 UTC。"
    assert await say(pg, group.owner, "/set language 默认", group.chat) == "language is back to the default, en."
    assert await stored_settings(pg, group.chat) == {}
    assert (await say(pg, group.alice, "/roles", group.chat)).startswith("Roles in Tea Lovers")


BAD_SETS = [
    ("/set timezone Mars/Base", TZ_HINT),
    ("/set timezone America", TZ_HINT),  # a tzdata folder, not a zone
    ("/set timezone EST", TZ_HINT),
    ("/set language fr", "language must be en or zh."),
    ("/set delete_commands maybe", "delete_commands must be on or off."),
    ("/set transient_seconds 99999999", "transient_seconds must be a whole number from 0 to 86400."),
    ("/set transient_seconds soon", "transient_seconds must be a whole number from 0 to 86400."),
    ("/set", SET_USAGE),
    ("/set timezone", SET_USAGE),
]


async def test_bad_set_gets_one_clear_line_and_stores_nothing(pg, group):
    assert await stored_settings(pg, group.chat) == {}
    await assert_one_line_refusals(pg, group.owner, group.chat, BAD_SETS, lambda: stored_settings(pg, group.chat))


BAD_WELCOMES = [
    ("hi {nme}", "welcome: unknown placeholder {nme}; use {name}, {group}, {rules}.",
     "welcome：未知的占位符 {nme}；可用的有 {name}、{group}、{rules}。"),
    ("hi {0}", "welcome: unknown placeholder {0}; use {name}, {group}, {rules}.",
     "welcome：未知的占位符 {0}；可用的有 {name}、{group}、{rules}。"),
    ("hi {name.__class__}", "welcome: unknown placeholder {name.__class__}; use {name}, {group}, {rules}.",
     "welcome：未知的占位符 {name.__class__}；可用的有 {name}、{group}、{rules}。"),
    ("hi {name", "welcome: a { or } without its pair; placeholders are written {name}, {group}, {rules}.",
     "welcome：有未配对的 { 或 }；占位符的写法是 {name}、{group}、{rules}。"),
    ("x" * 1001, "welcome must be text of 1 to 1000 characters; it may use {name}, {group}, {rules}.",
     "welcome 必须是 1 到 1000 个字符的文字，可以使用 {name}、{group}、{rules}。"),
]


async def test_a_bad_welcome_says_what_is_wrong_in_both_languages(pg, group):
    for value, english, _chinese in BAD_WELCOMES:
        assert await say(pg, group.owner, f"/set welcome {value}", group.chat) == english, value
    await say(pg, group.owner, "/lang zh", group.chat)
    for value, _english, chinese in BAD_WELCOMES:
        assert await say(pg, group.owner, f"/set welcome {value}", group.chat) == chinese, value
    assert await stored_settings(pg, group.chat) == {"language": "zh"}  # no welcome was stored
    assert await say(pg, group.owner, "/set welcome Hi {name}, welcome to {group}!", group.chat) == (
        "welcome 已设为 Hi {name}, welcome to {group}!"
    )


async def test_a_welcome_keeps_its_line_breaks(pg, group):
    welcome = "Hi {name}!\n\nWelcome to {group}.\nSay hello."
    assert await say(pg, group.owner, f"/set welcome {welcome}", group.chat) == f"welcome is now {welcome}"  # its own full stop ends the line
    assert await stored_settings(pg, group.chat) == {"welcome": welcome}


async def test_unknown_setting_names_the_real_keys(pg, group):
    answer = await say(pg, group.owner, "/set nosuchkey x", group.chat)
    assert answer == f"Unknown setting nosuchkey. Settings: {', '.join(sorted(SETTINGS))}"
    # Whatever the user typed is shown as text, never as markup.
    assert await say(pg, group.owner, "/set <b>x</b>&amp; 1", group.chat) == (
        f"Unknown setting <b>x</b>&amp;. Settings: {', '.join(sorted(SETTINGS))}"
    )
    assert await stored_settings(pg, group.chat) == {}


async def test_members_cannot_see_or_change_settings(pg, group):
    assert await say(pg, group.alice, "/settings", group.chat) == "Only Admin and above can use this command."
    assert await say(pg, group.alice, "/set timezone Asia/Shanghai", group.chat) == "Only Admin and above can use this command."
    assert await say(pg, group.alice, "/lang zh", group.chat) == "Only Admin and above can use this command."
    assert await stored_settings(pg, group.chat) == {}


# ---------------------------------------------------------------- /lang


async def test_lang_zh_switches_every_reply_to_chinese_and_back(pg, group):
    zh = translator("zh")
    answer = await say(pg, group.owner, "/lang zh", group.chat)
    assert answer == zh("I'll speak English in this group from now on.")
    assert re.search(r"[\u4e00-\u9fff]", answer)
    assert await stored_settings(pg, group.chat) == {"language": "zh"}

    roles = await say(pg, group.alice, "/roles", group.chat)
    assert roles.splitlines()[0] == plain(zh("<b>Roles in {title}</b>").format(title="Tea Lovers"))
    assert zh("Owner") in roles
    refusal = await say(pg, group.alice, "/setrole @bob spreader", group.chat)
    assert refusal == zh("Only {role} and above can use this command.").format(role=zh("Admin"))
    assert refusal != "Only Admin and above can use this command."

    assert await say(pg, group.owner, "/lang en", group.chat) == "I'll speak English in this group from now on."
    assert (await say(pg, group.alice, "/roles", group.chat)).startswith("Roles in Tea Lovers")


async def test_set_language_is_the_same_as_lang(pg, group):
    zh = translator("zh")
    answer = await say(pg, group.owner, "/set language 中文", group.chat)
    assert answer == zh("{key} is now {value}.").format(key="language", value="zh")
    assert (await pg.services.groups.settings(group.chat.id)).language == "zh"


@pytest.mark.parametrize(
    ("command", "expected"),
    [("/lang fr", "language must be en or zh."), ("/lang", "Usage: /lang en|zh"), ("/lang en zh", "Usage: /lang en|zh")],
)
async def test_bad_lang_is_refused_and_the_language_stays(pg, group, command, expected):
    assert await say(pg, group.owner, command, group.chat) == expected
    assert (await pg.services.groups.settings(group.chat.id)).language == "en"
    assert (await say(pg, group.alice, "/roles", group.chat)).startswith("Roles in Tea Lovers")


# ---------------------------------------------------------------- tidying up


def delete_jobs(pg, chat):
    return [j for j in pg.app.job_queue.jobs() if j.name and j.name.startswith(f"delete:{chat.id}:")]


async def test_transient_error_replies_are_deleted_by_the_scheduled_job(pg, group):
    answer = await say(pg, group.alice, "/setrole @bob spreader", group.chat)
    assert answer == "Only Admin and above can use this command."
    refusal = pg.sim.replies(group.chat)[-1]
    jobs = delete_jobs(pg, group.chat)
    assert [j.name for j in jobs] == [f"delete:{group.chat.id}:{refusal['message_id']}"]
    # Scheduled transient_seconds (60 by default) from now, on the job queue's real clock.
    delay = (jobs[0].next_t - datetime.now(timezone.utc)).total_seconds()
    assert 50 < delay <= 60

    await jobs[0].run(pg.app)
    assert refusal["message_id"] not in [m["message_id"] for m in pg.sim.replies(group.chat)]
    assert refusal["message_id"] in [m["message_id"] for m in pg.sim.deleted(group.chat)]
    ok = pg.sim.calls("deleteMessage")[-1]
    assert ok.ok and ok.params == {"chat_id": group.chat.id, "message_id": refusal["message_id"]}


async def test_deleting_a_reply_that_is_already_gone_is_quiet(pg, group):
    await say(pg, group.alice, "/setrole @bob spreader", group.chat)
    refusal = pg.sim.replies(group.chat)[-1]
    job = delete_jobs(pg, group.chat)[0]
    await pg.app.bot.delete_message(group.chat.id, refusal["message_id"])  # tidied away by other means first
    await job.run(pg.app)  # Telegram answers 400, nobody hears about it
    assert pg.sim.calls("deleteMessage")[-1].ok is False
    calls = len(pg.sim.calls("deleteMessage"))
    await job.run(pg.app)  # the durable row is done: a second run does not try again
    assert len(pg.sim.calls("deleteMessage")) == calls
    await pg.settle()
    texts = [m.get("text", "") for m in pg.sim.replies(group.chat)]
    assert not any(t.startswith("Something went wrong") for t in texts)


async def test_successful_answers_stay_and_transient_seconds_0_keeps_errors(pg, group):
    await say(pg, group.owner, "/setrole @alice activator", group.chat)
    assert delete_jobs(pg, group.chat) == []
    await say(pg, group.owner, "/set transient_seconds 0", group.chat)
    await say(pg, group.bob, "/setrole @carol spreader", group.chat)
    assert delete_jobs(pg, group.chat) == []


async def test_delete_commands_on_removes_the_command_message_and_keeps_the_answer(pg, group):
    assert await say(pg, group.owner, "/set delete_commands on", group.chat) == "delete_commands is now on."
    command = pg.sim.send(group.alice, "/roles", group.chat)
    chatter = pg.sim.send(group.alice, "nice to see everyone", group.chat)
    await pg.settle()
    deleted = [m["message_id"] for m in pg.sim.deleted(group.chat)]
    assert command["message_id"] in deleted
    assert chatter["message_id"] not in deleted  # only commands are tidied away
    answer = pg.sim.replies(group.chat)[-1]
    assert answer["text"].startswith("Roles in Tea Lovers")
    assert answer["reply_to_message"]["message_id"] == command["message_id"]


async def test_delete_commands_off_keeps_command_messages(pg, group):
    command = pg.sim.send(group.alice, "/roles", group.chat)
    await pg.settle()
    assert command["message_id"] not in [m["message_id"] for m in pg.sim.deleted(group.chat)]
    assert pg.sim.calls("deleteMessage") == []
