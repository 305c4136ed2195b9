"""What people send besides text, as the Bot API delivers it (checked against api.json), and refused where the
chat's or the member's permissions do not allow that kind — the way a Telegram client offers nothing else."""
from __future__ import annotations

import pytest

from bot.sim import FakeTelegram, SimError
from bot.sim.media import image_size
from bot.sim.spec import load_spec
from bot.sim.user_media import KINDS

from .conftest import ok, refused

SPEC = load_spec()


def test_every_kind_a_person_sends_is_a_valid_message(sim: FakeTelegram, group, bob) -> None:
    inline = sim.user("gamebot", is_bot=True)
    for kind in KINDS:
        sent = sim.send_media(bob, kind, group, via_bot=inline if kind == "game" else None)
        assert SPEC.check("Message", sent) == [], (kind, SPEC.check("Message", sent))
        assert kind in sent
    updates = sim.take_updates()
    assert [next(k for k in u if k != "update_id") for u in updates] == ["message"] * len(KINDS)
    for update in updates:
        assert SPEC.check("Update", update) == []


def test_the_compatibility_fields_telegram_adds(sim, group, bob) -> None:
    gif = sim.send_media(bob, "animation", group)
    assert gif["document"]["file_id"] == gif["animation"]["file_id"]   # an animation is also a document
    venue = sim.send_media(bob, "venue", group)
    assert venue["location"] == venue["venue"]["location"]               # a venue is also a location
    photo = sim.send_media(bob, "photo", group, "see https://example.com", width=2000, height=1000)
    assert [(s["width"], s["height"]) for s in photo["photo"]][-1] == (2000, 1000)
    assert photo["caption_entities"] == [{"type": "url", "offset": 4, "length": 19}]


def test_what_a_client_does_not_offer_is_refused(sim, group, alice, bob) -> None:
    with pytest.raises(SimError, match="games themselves"):
        sim.send_media(bob, "game", group)
    with pytest.raises(SimError, match="has no caption"):
        sim.send_media(bob, "sticker", group, "a caption")
    with pytest.raises(SimError, match="unknown kind"):
        sim.send_media(bob, "hologram", group)


def test_permissions_decide_which_kinds_a_member_may_send(sim, group, alice, bob) -> None:
    # What setChatPermissions leaves out is not allowed: here text (contacts, locations) and documents only.
    ok(sim, "setChatPermissions", chat_id=group.id, permissions={"can_send_messages": True, "can_send_documents": True})
    with pytest.raises(SimError, match="may not send photos"):
        sim.send_media(bob, "photo", group)
    with pytest.raises(SimError, match="may not send stickers"):
        sim.send_media(bob, "sticker", group)
    with pytest.raises(SimError, match="inline bot"):                     # inline bots are "other messages"
        sim.send_media(bob, "location", group, via_bot=sim.user("mapbot", is_bot=True))
    sim.send_media(bob, "contact", group)                                   # contacts are "messages"
    sim.send_media(bob, "document", group)
    sim.send_media(alice, "photo", group)                                   # the owner is not bound by them
    ok(sim, "setChatPermissions", chat_id=group.id, permissions={"can_send_messages": True, "can_send_photos": True,
                                                                 "can_send_videos": True, "can_send_other_messages": True})
    ok(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id,
       permissions={"can_send_messages": True, "can_send_videos": False}, use_independent_chat_permissions=True)
    with pytest.raises(SimError, match="may not send videos"):
        sim.send_media(bob, "video", group)


def test_a_person_forwards_what_they_can_see(sim, group, alice, bob) -> None:
    original = sim.send(alice, "great idea", group)
    forwarded = sim.forward(bob, original, group)
    assert forwarded["text"] == "great idea" and forwarded["from"]["id"] == bob.id
    assert forwarded["forward_origin"] == {"type": "user", "date": original["date"], "sender_user": original["from"]}
    assert SPEC.check("Message", forwarded) == []
    again = sim.forward(alice, forwarded, group)                            # the origin stays the first author
    assert again["forward_origin"] == forwarded["forward_origin"]
    photo = sim.send_media(alice, "photo", group, "look")
    assert sim.forward(bob, photo, group)["photo"] == photo["photo"]
    ok(sim, "setChatPermissions", chat_id=group.id, permissions={"can_send_messages": True, "can_send_photos": False})
    with pytest.raises(SimError, match="may not send photos"):
        sim.forward(bob, photo, group)
    protected = ok(sim, "sendMessage", chat_id=group.id, text="secret", protect_content=True)
    with pytest.raises(SimError, match="protected content"):
        sim.forward(bob, protected, group)


async def test_the_bot_downloads_a_file_a_person_sent_in_process_and_over_http(sim, clock, group, bob) -> None:

    from telegram import Bot
    from telegram.error import BadRequest

    from bot.sim import SimRequest

    sent = sim.send_media(bob, "document", group, content=b"sticky_rules: 1\n", file_name="rules.yaml")
    server = sim.serve_http()
    try:
        for bot in (Bot(sim.token, request=SimRequest(sim)),
                    Bot(sim.token, base_url=server.url + "/bot", base_file_url=server.url + "/file/bot")):
            async with bot:
                file = await bot.get_file(sent["document"]["file_id"])
                assert file.file_size == 16 and "/documents/file_" in file.file_path and file.file_path.endswith(".yaml")
                assert bytes(await file.download_as_bytearray()) == b"sticky_rules: 1\n"
                with pytest.raises(BadRequest, match="Invalid file_id"):
                    await bot.get_file("nonsense")
        assert SPEC.check("File", ok(sim, "getFile", file_id=sent["document"]["file_id"])) == []
        path = ok(sim, "getFile", file_id=sent["document"]["file_id"])["file_path"]
        assert sim.download_file(sim.token, path)[0] == 200
        assert sim.download_file("123:wrong", path)[0] == 404
        clock.advance(hours=2)                                   # the link is good for an hour
        assert sim.download_file(sim.token, path)[0] == 404
    finally:
        server.close()
    big = sim.send_media(bob, "document", group, content=b"x" * (20 * 1024 * 1024 + 1), file_name="big.bin")
    assert refused(sim, "getFile", file_id=big["document"]["file_id"]) == (400, "Bad Request: file is too big")


def test_a_person_edits_a_caption(sim, group, alice, bob) -> None:
    photo = sim.send_media(bob, "photo", group, "nice tea")
    sim.take_updates()
    edited = sim.edit_caption(bob, photo, "see https://example.com")
    assert edited["caption_entities"] == [{"type": "url", "offset": 4, "length": 19}] and "edit_date" in edited
    [update] = sim.take_updates()
    assert update["edited_message"]["caption"] == "see https://example.com" and SPEC.check("Update", update) == []
    assert "caption" not in sim.edit_caption(bob, edited, "")              # a caption removed is gone
    with pytest.raises(SimError, match="their own"):
        sim.edit_caption(alice, photo, "mine now")
    with pytest.raises(SimError, match="only the caption"):
        sim.edit_caption(bob, sim.send_media(bob, "sticker", group), "x")


def test_a_photo_a_person_sent_can_be_sent_again_by_file_id_and_fetched(sim, group, bob) -> None:
    """Telegram keeps what people send: the bot may post a received photo again by any of its file_ids, and the
    copy is the same photo (same sizes and ids); the caption keeps the sender's own formatting."""
    sent = sim.send_media(bob, "photo", group, "Tea at dawn", width=1600, height=1200,
                          caption_entities=[{"type": "bold", "offset": 0, "length": 3}])
    assert sent["caption_entities"] == [{"type": "bold", "offset": 0, "length": 3}]
    biggest = sent["photo"][-1]
    again = ok(sim, "sendPhoto", chat_id=group.id, photo=biggest["file_id"], caption="Again")
    assert again["photo"] == sent["photo"]
    path = ok(sim, "getFile", file_id=sent["photo"][0]["file_id"])["file_path"]
    status, content = sim.download_file(sim.token, path)
    assert status == 200 and image_size(content) == (1600, 1200)
    assert refused(sim, "sendDocument", chat_id=group.id, document=biggest["file_id"]) == (
        400, "Bad Request: can't use file of type Photo as Document")
    with pytest.raises(SimError):
        sim.send_media(bob, "photo", group, caption_entities=[{"type": "bold", "offset": 0, "length": 1}])


@pytest.mark.parametrize("kind,folder", [("video", "videos"), ("animation", "animations"), ("audio", "music"),
                                         ("voice", "voice"), ("sticker", "stickers"), ("video_note", "video_notes")])
def test_every_file_a_person_sends_can_be_fetched(sim, group, bob, kind, folder) -> None:
    """Telegram serves the bot every file people send, not only documents and photos: getFile gives a path in the
    kind's folder, and the download is the file's size; an animation's `document` is the same file."""
    sent = sim.send_media(bob, kind, group, file_size=4321)
    media = sent[kind]
    got = ok(sim, "getFile", file_id=media["file_id"])
    assert SPEC.check("File", got) == [] and got["file_size"] == 4321 and got["file_path"].startswith(folder + "/")
    status, content = sim.download_file(sim.token, got["file_path"])
    assert status == 200 and len(content) == 4321
    if kind == "animation":
        assert ok(sim, "getFile", file_id=sent["document"]["file_id"])["file_unique_id"] == media["file_unique_id"]
    big = sim.send_media(bob, kind, group, file_size=30 * 1024 * 1024)
    assert refused(sim, "getFile", file_id=big[kind]["file_id"]) == (400, "Bad Request: file is too big")
    assert refused(sim, "getFile", file_id="no-such-file") == (400, "Bad Request: invalid file_id")
