"""Rose's shortcuts are rules underneath: /setflood and /setfloodmode edit the default antiflood rule, /lock TYPE is
a rule lock_TYPE (message of that type → delete), /locks reads them back. Every bad input gets a clear answer."""
from __future__ import annotations

from datetime import timedelta

from tests.helpers import say


def deleted(pg, message) -> bool:
    return pg.sim.message(message["chat"]["id"], message["message_id"]) is None


async def flood(pg, user, chat, n: int) -> None:
    for i in range(n):
        pg.sim.send(user, f"msg {i}", chat)
    await pg.settle()


async def test_setflood_edits_the_antiflood_rule(pg, group):
    g = group
    assert await say(pg, g.admin, "/setflood", g.chat) == "Antiflood: 6 messages in 10s from one member → mute for 10m."
    assert await say(pg, g.admin, "/setflood 3 in 30s", g.chat) == "Antiflood: 3 messages in 30s from one member → mute for 10m."
    listed = await say(pg, g.admin, "/rule list", g.chat)
    assert "antiflood [on] when message and flood 3 in 30s then mute 10m" in listed
    assert listed.count(" and flood ") == 1                                  # one flood mechanism: the same rule, edited
    pg.clock.advance(minutes=1)
    await flood(pg, g.alice, g.chat, 3)
    assert pg.sim.member(g.chat, g.alice)["status"] == "restricted"
    assert await say(pg, g.admin, "/setfloodmode ban 1d", g.chat) == "Antiflood: 3 messages in 30s from one member → ban for 1d."
    assert await say(pg, g.admin, "/setfloodmode tmute 2h", g.chat) == "Antiflood: 3 messages in 30s from one member → mute for 2h."
    assert await say(pg, g.admin, "/setfloodmode warn", g.chat) == 'Antiflood: 3 messages in 30s from one member → warn.'
    pg.clock.advance(minutes=1)
    await flood(pg, g.bob, g.chat, 3)
    assert len(await pg.services.moderation.warns(g.chat.id, g.bob.id)) == 1
    assert await say(pg, g.admin, "/setfloodmode del", g.chat) == "Antiflood: 3 messages in 30s from one member → delete the message."
    assert await say(pg, g.admin, "/setflood 5", g.chat) == "Antiflood: 5 messages in 30s from one member → delete the message."
    assert await say(pg, g.admin, "/setflood off", g.chat) == "Antiflood is off (the rule antiflood, switched off). /setflood N turns it on."
    pg.clock.advance(minutes=1)
    await flood(pg, g.carol, g.chat, 8)
    assert pg.sim.member(g.chat, g.carol)["status"] == "member"
    assert (await say(pg, g.admin, "/setflood 4", g.chat)).startswith("Antiflood: 4 messages in 30s")


async def test_setflood_makes_the_rule_again_if_it_was_deleted(pg, group):
    g = group
    assert await say(pg, g.admin, "/rule del antiflood", g.chat) == "Rule antiflood deleted."
    assert (await say(pg, g.admin, "/setflood", g.chat)).startswith("This group has no antiflood rule. /setflood N makes one.")
    assert await say(pg, g.admin, "/setfloodmode kick", g.chat) == "Antiflood: 6 messages in 10s from one member → kick."
    assert (await say(pg, g.admin, "/rule show 1", g.chat)).startswith("1. antiflood [on]\nwhen message and flood 6 in 10s then kick")


async def test_bad_flood_input_gets_a_clear_answer(pg, group):
    g = group
    for text, said in [
        ("/setflood 1", "Give a number of messages from 2 to 1000, optionally “in 10s” (a window up to 10m), or off. You wrote: “1”."),
        ("/setflood many", "Give a number of messages from 2 to 1000, optionally “in 10s” (a window up to 10m), or off. You wrote: “many”."),
        ("/setflood 5 in", "The flood window is a duration up to 10m, such as 10s or 1m. You wrote: “”."),
        ("/setflood 5 in 1h", "The flood window is a duration up to 10m, such as 10s or 1m. You wrote: “1h”."),
        ("/setflood 5 in soon", "The flood window is a duration up to 10m, such as 10s or 1m. You wrote: “soon”."),
        ("/setfloodmode", "Flood modes: mute, ban, kick, warn, del (mute and ban may take a duration, such as mute 10m)."),
        ("/setfloodmode explode", "Flood modes: mute, ban, kick, warn, del (mute and ban may take a duration, such as mute 10m). You wrote: “explode”."),
        ("/setfloodmode kick 1h", "Only mute and ban take a duration; kick does not."),
        ("/setfloodmode tban", "tban needs a duration, such as tban 1h."),
        ("/setfloodmode mute soon", "“soon” is not a duration; use 30s, 10m, 2h, 7d or 2w."),
    ]:
        assert await say(pg, g.admin, text, g.chat) == said, text
    assert "flood 6 in 10s then mute 10m" in await say(pg, g.admin, "/rule list", g.chat)   # nothing changed


async def test_locks_delete_that_kind_from_members(pg, group):
    g = group
    assert await say(pg, g.admin, "/lock sticker gif", g.chat) == (
        "Locked: sticker (stickers), gif (GIFs). /locks shows every lock; /rule list shows them as rules lock_….")
    sticker = pg.sim.send_media(g.alice, "sticker", g.chat)
    gif = pg.sim.send_media(g.alice, "animation", g.chat)
    photo = pg.sim.send_media(g.alice, "photo", g.chat)
    own = pg.sim.send_media(g.admin, "sticker", g.chat)                 # admins are exempt
    await pg.settle()
    assert deleted(pg, sticker) and deleted(pg, gif)
    assert not deleted(pg, photo) and not deleted(pg, own)
    assert await say(pg, g.admin, "/lock sticker", g.chat) == "Already locked: sticker (stickers)."
    locks = await say(pg, g.alice, "/locks", g.chat)                    # anyone may see what is locked
    assert "🔒 sticker — stickers" in locks and "🔒 gif — GIFs" in locks and "🔓 photo — photos" in locks
    listed = await say(pg, g.admin, "/rule list", g.chat)
    assert listed.splitlines()[1].startswith("1. lock_sticker [on] when message and has sticker then delete, continue")
    assert await say(pg, g.admin, "/unlock sticker url", g.chat) == "Unlocked: sticker (stickers)."
    later = pg.sim.send_media(g.alice, "sticker", g.chat)
    await pg.settle()
    assert not deleted(pg, later)
    assert await say(pg, g.admin, "/unlock url", g.chat) == "Not locked: url (links)."


async def test_every_lock_type_deletes_its_kind_and_nothing_else(pg, group):
    g = group
    bot = pg.sim.user("gamebot", is_bot=True)
    sends = {
        "url": lambda: pg.sim.send(g.alice, "see https://example.com", g.chat),
        "forward": lambda: pg.sim.forward(g.alice, pg.sim.send(g.bob, "news", g.chat), g.chat),
        "sticker": lambda: pg.sim.send_media(g.alice, "sticker", g.chat),
        "photo": lambda: pg.sim.send_media(g.alice, "photo", g.chat),
        "video": lambda: pg.sim.send_media(g.alice, "video", g.chat),
        "videonote": lambda: pg.sim.send_media(g.alice, "video_note", g.chat),
        "document": lambda: pg.sim.send_media(g.alice, "document", g.chat),
        "voice": lambda: pg.sim.send_media(g.alice, "voice", g.chat),
        "audio": lambda: pg.sim.send_media(g.alice, "audio", g.chat),
        "gif": lambda: pg.sim.send_media(g.alice, "animation", g.chat),
        "poll": lambda: pg.sim.send_media(g.alice, "poll", g.chat),
        "contact": lambda: pg.sim.send_media(g.alice, "contact", g.chat),
        "location": lambda: pg.sim.send_media(g.alice, "venue", g.chat),
        "game": lambda: pg.sim.send_media(g.alice, "game", g.chat, via_bot=bot),
        "inline": lambda: pg.sim.send_media(g.alice, "location", g.chat, via_bot=bot),
        "rtl": lambda: pg.sim.send(g.alice, "שלום לכולם", g.chat),
        "command": lambda: pg.sim.send(g.alice, "/start@OtherBot", g.chat),  # Sticky's own are not locked
    }
    from bot.domain.rules import LOCKS
    assert set(sends) == set(LOCKS)
    for kind, send in sends.items():
        assert (await say(pg, g.admin, f"/lock {kind}", g.chat)).startswith("Locked:"), kind
        pg.clock.advance(minutes=1)
        hit = send()
        plain = pg.sim.send(g.alice, "just words", g.chat)
        await pg.settle()
        assert deleted(pg, hit), kind
        assert not deleted(pg, plain), kind
        assert (await say(pg, g.admin, f"/unlock {kind}", g.chat)).startswith("Unlocked:"), kind
    assert await pg.services.moderation.warns(g.chat.id, g.alice.id) == []


async def test_a_locked_command_never_runs(pg, group):
    g = group
    await say(pg, g.admin, "/lock command", g.chat)
    unknown = pg.sim.send(g.alice, "/frobnicate@StickyTestBot", g.chat)   # unlocked: "I don't know /frobnicate…"
    await pg.settle()
    assert deleted(pg, unknown)
    assert not any("frobnicate" in m.get("text", "") for m in pg.sim.replies(g.chat))
    assert (await say(pg, g.admin, "/locks", g.chat)).count("🔒") == 1      # admins' commands still run


async def test_lock_all_and_media_and_bad_types(pg, group):
    g = group
    said = await say(pg, g.admin, "/lock media", g.chat)
    assert said.startswith("Locked: photo (photos), video (videos), videonote (video notes), document (files)")
    assert (await say(pg, g.admin, "/lock all", g.chat)).startswith("Locked: url (links), forward (forwards), sticker")
    assert "🔓" not in await say(pg, g.admin, "/locks", g.chat)
    assert (await say(pg, g.admin, "/unlock all", g.chat)).startswith("Unlocked: url (links)")
    assert "🔒" not in await say(pg, g.admin, "/locks", g.chat)
    assert "lock_" not in await say(pg, g.admin, "/rule list", g.chat)
    assert (await say(pg, g.admin, "/lock", g.chat)).startswith("Which kind? One or more of: url, forward, sticker")
    assert (await say(pg, g.admin, "/lock stickerz", g.chat)).startswith("There is no lock “stickerz”. Kinds: url, forward")
    assert (await say(pg, g.admin, "/unlock", g.chat)).startswith("Which kind?")
    assert await say(pg, g.admin, "/lock bots", g.chat) == (
        "Bots added by members are removed by the join check, not by a lock: /set screening on (admins may still add bots).")
    assert await say(pg, g.alice, "/lock sticker", g.chat) == "Only Admin and above can use this command."


async def test_a_lock_in_dry_mode_only_logs(pg, group):
    g = group
    await say(pg, g.owner, "/set rules_mode dry", g.chat)
    await say(pg, g.admin, "/lock photo", g.chat)
    photo = pg.sim.send_media(g.alice, "photo", g.chat)
    await pg.settle()
    assert not deleted(pg, photo)
    [entry] = await pg.services.moderation.modlog(g.chat.id)
    assert entry.dry and entry.reason.startswith("lock_photo: delete")


async def test_a_gif_is_not_a_file_though_telegram_sends_it_as_both(pg, group):
    """An animation message carries `document` too (Bot API compatibility): locking files leaves GIFs alone."""
    g = group
    await say(pg, g.admin, "/lock document", g.chat)
    gif = pg.sim.send_media(g.alice, "animation", g.chat)
    pdf = pg.sim.send_media(g.alice, "document", g.chat)
    await pg.settle()
    assert "document" in gif and not deleted(pg, gif)
    assert deleted(pg, pdf)


async def test_the_shortcuts_answer_in_chinese_with_chinese_typography(pg, group):
    from tests.test_zh_typography import faults

    g = group
    await say(pg, g.owner, "/lang zh", g.chat)
    said = [await say(pg, g.admin, text, g.chat) for text in (
        "/setflood", "/setflood 4 in 20s", "/setfloodmode ban 1d", "/setflood 1", "/setfloodmode kick 1h", "/lock sticker gif",
        "/lock sticker", "/locks", "/unlock gif", "/lock nope", "/lock")]
    assert said[1] == "防刷屏：同一成员在 20s 内发 4 条消息 → 禁言 10m。"
    assert said[5] == "已锁定：sticker（贴纸）、gif（GIF 动图）。/locks 查看全部锁定；/rule list 里它们是规则 lock_…。"
    for text in said:
        assert faults(text) == [], text
        assert not any(word in text for word in ("Antiflood", "Locked", "Give a number", "Only mute")), text


async def test_a_link_edited_into_a_caption_is_caught_and_approved_members_are_exempt(pg, group):
    g = group
    await say(pg, g.admin, "/lock url sticker", g.chat)
    photo = pg.sim.send_media(g.alice, "photo", g.chat, "our tea")
    await pg.settle()
    assert not deleted(pg, photo)
    pg.sim.edit_caption(g.alice, photo, "our tea, buy at https://spam.example")   # the link edited in later
    await pg.settle()
    assert deleted(pg, photo)
    await say(pg, g.admin, "/approve @bob", g.chat)
    sticker = pg.sim.send_media(g.bob, "sticker", g.chat)
    await pg.settle()
    assert not deleted(pg, sticker)                                     # approved: content rules don't apply


async def test_the_command_lock_leaves_stickys_own_commands_and_approved_members_alone(pg, group):
    """/lock all (its `command` lock) deletes commands for other bots or unknown ones, not a member's /checkin or
    /report (Sticky answers them); an approved member is exempt from it as from the other content locks."""
    g = group
    await say(pg, g.admin, "/lock all", g.chat)
    checkin = pg.sim.send(g.alice, "/checkin", g.chat)
    await pg.settle()
    assert not deleted(pg, checkin)
    assert "check" in pg.sim.replies(g.chat)[-1].get("text", "").lower()
    spam = pg.sim.send(g.carol, "spam", g.chat)
    report = pg.sim.send(g.alice, "/report", g.chat, reply_to=spam)
    other = pg.sim.send(g.alice, "/start@OtherBot", g.chat)
    unknown = pg.sim.send(g.alice, "/frobnicate", g.chat)
    await pg.settle()
    assert not deleted(pg, report)
    assert deleted(pg, other) and deleted(pg, unknown)
    await say(pg, g.admin, "/approve @bob", g.chat)
    approved = pg.sim.send(g.bob, "/start@OtherBot", g.chat)
    await pg.settle()
    assert not deleted(pg, approved)


async def test_floodmode_warn_warns_once_per_burst(pg, group):
    """/setfloodmode warn: a burst of 14 quick messages (limit 5) is one flood, one warn — not a warn for each of the
    9 past the limit, which reached the warn limit and banned. The same for kick: one kick."""
    g = group
    await say(pg, g.admin, "/setflood 5", g.chat)
    assert (await say(pg, g.admin, "/setfloodmode warn", g.chat)).endswith("→ warn.")
    pg.clock.advance(minutes=1)
    for i in range(14):
        pg.sim.send(g.bob, f"fl {i}", g.chat)
    await pg.settle()
    assert len(await pg.services.moderation.warns(g.chat.id, g.bob.id)) == 1
    assert pg.sim.calls("banChatMember") == [] and pg.sim.member(g.chat, g.bob)["status"] == "member"
    pg.clock.advance(minutes=1)
    for i in range(6):                                                  # a new burst later: warned again
        pg.sim.send(g.bob, f"again {i}", g.chat)
    await pg.settle()
    assert len(await pg.services.moderation.warns(g.chat.id, g.bob.id)) == 2
    await say(pg, g.admin, "/setfloodmode kick", g.chat)
    pg.clock.advance(minutes=1)
    for i in range(14):
        pg.sim.send(g.alice, f"fl {i}", g.chat)
    await pg.settle()
    assert [c.params["user_id"] for c in pg.sim.calls("banChatMember") if c.ok] == [g.alice.id]


async def test_a_locked_link_is_not_explained_as_a_tier_perk(pg, group):
    """/lock url with the link gate on: the lock deleted the link for everyone, so "links are for Silver and above"
    (the link gate's explanation) is not posted; without the lock the gate still explains."""
    g = group
    await say(pg, g.owner, "/set link_gate on", g.chat)
    plain = pg.sim.send(g.alice, "see https://spam.example", g.chat)
    await pg.settle()
    assert deleted(pg, plain) and "Silver" in pg.sim.replies(g.chat)[-1]["text"]
    explained = len([m for m in pg.sim.replies(g.chat) if "Silver" in m.get("text", "")])
    await say(pg, g.admin, "/lock url", g.chat)
    locked = pg.sim.send(g.alice, "see https://spam.example", g.chat)
    await pg.settle()
    assert deleted(pg, locked)
    assert len([m for m in pg.sim.replies(g.chat) if "Silver" in m.get("text", "")]) == explained
