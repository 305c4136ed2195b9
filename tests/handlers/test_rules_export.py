"""/rules_export gives the owner a file to keep; /rules_import reads it back with the rules' own parser, says what
would change (a dry run) and applies it all at once on the owner's confirmation — or nothing at all."""
from __future__ import annotations

import yaml

from tests.helpers import say


async def export(pg, g) -> dict:
    """The owner's export, in private; returned as the owner forwarded it to the group (to reply /rules_import)."""
    await say(pg, g.owner, "/start")
    assert await say(pg, g.owner, "/rules_export", g.chat) == (
        "I sent you the rules file in private (it holds the blocklist's words, so it is not posted here).")
    sent = pg.sim.replies(g.owner)[-1]
    assert sent["document"]["file_name"].endswith(".yaml")
    assert sent["caption"].splitlines()[1].startswith("Keep this file.")
    assert not any(m.get("document") for m in pg.sim.replies(g.chat))
    forwarded = pg.sim.forward(g.owner, sent, g.chat)
    await pg.settle()
    return forwarded


async def test_export_is_the_owners_and_goes_in_private(pg, group):
    """The file holds the blocklist's words: an admin is refused, and an owner who never started Sticky in private
    is told so with a button to open the chat — nothing is posted in the group."""
    g = group
    await say(pg, g.admin, '/addblocklist "secret word"', g.chat)
    assert await say(pg, g.admin, "/rules_export", g.chat) == "Only Owner and above can use this command."
    said = await say(pg, g.owner, "/rules_export", g.chat)
    assert said == ("The rules file goes to you in private (it holds the blocklist's words), but I cannot write to "
                    "you there yet: open a chat with me, press Start, then send /rules_export again.")
    [[button]] = pg.sim.replies(g.chat)[-1]["reply_markup"]["inline_keyboard"]
    assert button["url"] == "https://t.me/StickyTestBot?start=rules"
    assert not any(m.get("document") or "secret word" in m.get("text", "") for m in pg.sim.replies(g.chat))
    sent = await export(pg, g)
    assert b"secret word" in pg.sim.download(sent["document"]["file_id"])


async def test_export_then_import_puts_the_rules_back_exactly(pg, group):
    g = group
    await say(pg, g.admin, '/addblocklist ("buy now", spam)', g.chat)
    await say(pg, g.admin, "/lock sticker", g.chat)
    await say(pg, g.admin, "/setflood 4 in 20s", g.chat)
    sent = await export(pg, g)
    kept = pg.sim.download(sent["document"]["file_id"])
    data = yaml.safe_load(kept)
    assert data["sticky_rules"] == 1 and data["lists"] == {"blocklist": ["buy now", "spam"]}
    assert [r["name"] for r in data["rules"]][:2] == ["lock_sticker", "antiflood"]
    before = await say(pg, g.admin, "/rule list", g.chat)

    # Things change after the export…
    await say(pg, g.admin, "/unlock sticker", g.chat)
    await say(pg, g.admin, "/rule add when message and caps >= 90% then delete", g.chat)
    await say(pg, g.admin, "/rule off blocklist", g.chat)
    await say(pg, g.admin, "/rmblocklist spam", g.chat)
    # …and the owner replies /rules_import to the file they kept.
    preview = await say(pg, g.owner, "/rules_import", g.chat, reply_to=sent)
    assert preview.splitlines()[0] == "Dry run of the import — nothing is changed yet. It would:"
    assert "➕ add lock_sticker: when message and has sticker then delete, continue" in preview
    assert "➖ delete rule6" in preview
    assert "▶️ switch blocklist on" in preview
    assert "📋 list blocklist: 1 added or changed, 0 removed" in preview
    assert await say(pg, g.admin, "/rule list", g.chat) != before           # a dry run changes nothing
    question = pg.sim.replies(g.chat)[-2]
    pg.sim.press(g.admin, question, question["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    await pg.settle()
    assert pg.sim.calls("answerCallbackQuery")[-1].params.get("text") == "Only the group's owner can confirm an import."
    pg.sim.press(g.owner, question, question["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    await pg.settle()
    assert pg.sim.message(g.chat, question["message_id"])["text"] == (
        "Imported: the group's rules are now the file's (1 added, 1 deleted, 1 changed).")
    assert await say(pg, g.admin, "/rule list", g.chat) == before
    assert await say(pg, g.admin, "/blocklist", g.chat) == "blocklist:\n• buy now\n• spam"
    sticker = pg.sim.send_media(g.alice, "sticker", g.chat)
    await pg.settle()
    assert pg.sim.message(g.chat, sticker["message_id"]) is None            # the imported lock is in force at once
    again = await say(pg, g.owner, "/rules_import", g.chat, reply_to=sent)
    assert again == "Nothing would change: this group's rules and lists are already exactly these."


async def test_import_from_text_and_a_stale_or_cancelled_confirmation(pg, group):
    g = group
    line = "when message and has link then delete"
    text = f"sticky_rules: 1\nrules:\n  - name: nolinks\n    rule: {line}\n"
    preview = await say(pg, g.owner, f"/rules_import {text}", g.chat)
    assert "➕ add nolinks: when message and has link then delete" in preview and "➖ delete antiflood" in preview
    question = pg.sim.replies(g.chat)[-1]
    await say(pg, g.admin, "/rule off antiflood", g.chat)                    # the rules move on meanwhile
    pg.sim.press(g.owner, question, question["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    await pg.settle()
    assert pg.sim.message(g.chat, question["message_id"])["text"].startswith("The rules changed since this dry run")
    assert "nolinks" not in await say(pg, g.admin, "/rule list", g.chat)
    pasted = pg.sim.send(g.owner, text, g.chat)                               # the text pasted as a message
    await say(pg, g.owner, "/rules_import", g.chat, reply_to=pasted)
    question = pg.sim.replies(g.chat)[-1]
    pg.sim.press(g.owner, question, question["reply_markup"]["inline_keyboard"][0][1]["callback_data"])
    await pg.settle()
    assert pg.sim.message(g.chat, question["message_id"])["text"] == "Import cancelled; nothing was changed."
    assert "nolinks" not in await say(pg, g.admin, "/rule list", g.chat)


async def test_bad_imports_are_refused_whole_with_the_reason(pg, group):
    g = group
    before = await say(pg, g.admin, "/rule list", g.chat)
    cases = [
        ("", "Reply /rules_import to a file from /rules_export (or to its text), or put the text after the command."),
        ("sticky_rules: 2\nrules: []", "Nothing was imported: the file is version 2, from a newer Sticky; this one reads up to version 1. Update Sticky first."),
        ("rules: []", "Nothing was imported: that is not a rules export from /rules_export (at sticky_rules)."),
        ("sticky_rules: 1\nrules: [{name: a, rule: when message then delete}]\nextra: 1",
         "Nothing was imported: that is not a rules export from /rules_export (at extra)."),
        ("sticky_rules: 1\nrules:\n  - {name: ok, rule: when message then delete}\n  - {name: bad, rule: when message and flood 6 then mute}",
         "Nothing was imported: rules #2 (bad) does not parse.\nRule syntax, at character 26: expected “in” or “within”, found “then”.\nwhen message and flood 6 👉then mute"),
        ("sticky_rules: 1\nrules:\n  - {name: a, rule: when message then delete}\n  - {name: a, rule: when edit then delete}",
         "Nothing was imported: two rules are named a."),
        ("sticky_rules: 1\nrules:\n  - {name: Bad Name, rule: when message then delete}",
         "Nothing was imported: “Bad Name” at rules #1 is not a name (lower-case letters, digits, _)."),
        ("sticky_rules: 1\nlists: {blocklist: [\"" + "x" * 101 + "\"]}",
         "Nothing was imported: list blocklist must be at most 1000 words of at most 100 characters."),
        ("sticky_rules: [1\n", "Nothing was imported: that is not readable YAML (line 1: expected ',' or ']', but got '<stream end>')."),
        ("a: &x [1]\nb: *x", "Nothing was imported: that is not readable YAML (line 2: aliases (*name) are not allowed here)."),
    ]
    for text, said in cases:
        assert await say(pg, g.owner, f"/rules_import {text}".strip(), g.chat) == said, text
    huge = pg.sim.send_media(g.owner, "document", g.chat, content=b"x" * 200_000, file_name="big.yaml")
    assert await say(pg, g.owner, "/rules_import", g.chat, reply_to=huge) == (
        "Nothing was imported: that is too big for a rules export (at most 100000 bytes).")
    binary = pg.sim.send_media(g.owner, "document", g.chat, content=b"\xff\xfe\x00bad", file_name="r.yaml")
    assert await say(pg, g.owner, "/rules_import", g.chat, reply_to=binary) == "Nothing was imported: that file is not UTF-8 text."
    assert await say(pg, g.admin, "/rule list", g.chat) == before
    assert await say(pg, g.admin, "/rules_import sticky_rules: 1", g.chat) == "Only Owner and above can use this command."


async def test_export_and_import_in_chinese(pg, group):
    from tests.test_zh_typography import faults

    g = group
    await say(pg, g.owner, "/lang zh", g.chat)
    await say(pg, g.owner, "/start")
    await say(pg, g.owner, "/rules_export", g.chat)
    caption = pg.sim.replies(g.owner)[-1]["caption"]
    preview = await say(pg, g.owner, "/rules_import sticky_rules: 1\nrules: []", g.chat)
    refused = await say(pg, g.owner, "/rules_import sticky_rules: 9", g.chat)
    for text in (caption, preview, refused):
        assert faults(text) == [] and "Nothing" not in text and "Keep this file" not in text, text


async def test_a_pending_import_survives_a_restart_and_an_expired_one_says_so(pg, group):
    g = group
    text = "sticky_rules: 1\nrules:\n  - name: nolinks\n    rule: when message and has link then delete\n"
    await say(pg, g.owner, "/rules_import sticky_rules: 1\nrules: []", g.chat)
    rival = pg.sim.replies(g.chat)[-1]                                        # a second dry run, never applied
    await say(pg, g.owner, f"/rules_import {text}", g.chat)
    question = pg.sim.replies(g.chat)[-1]
    apply = question["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await pg.restart()                                                        # the dry run is in the database
    pg.clock.advance(minutes=14)
    pg.sim.press(g.owner, question, apply)
    await pg.settle()
    assert pg.sim.message(g.chat, question["message_id"])["text"] == (
        "Imported: the group's rules are now the file's (1 added, 5 deleted, 0 changed).")
    assert [r.name for r in await pg.services.rules.rows(g.chat.id)] == ["nolinks"]
    pg.sim.press(g.owner, rival, rival["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    await pg.settle()                                                         # an import applied ends the others
    assert pg.sim.calls("answerCallbackQuery")[-1].params.get("text") == (
        "This import is no longer waiting: it was applied or cancelled already. Run /rules_import again to import the file.")

    await say(pg, g.owner, "/lang zh", g.chat)
    other = "sticky_rules: 1\nrules:\n  - name: nocaps\n    rule: when message and caps >= 90% then delete\n"
    await say(pg, g.owner, f"/rules_import {other}", g.chat)
    late = pg.sim.replies(g.chat)[-1]
    await pg.restart()
    pg.clock.advance(minutes=15)                                              # Apply works 15 minutes
    pg.sim.press(g.owner, late, late["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    await pg.settle()
    assert pg.sim.message(g.chat, late["message_id"])["text"] == (
        "这次导入已过期：预演后 15 分钟内才能应用。请重新发送 /rules_import 查看最新变化。")
    assert [r.name for r in await pg.services.rules.rows(g.chat.id)] == ["nolinks"]  # nothing imported
