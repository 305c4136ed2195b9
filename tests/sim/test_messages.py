"""Messages as Telegram keeps them: ids, replies, entities, keyboards, edits, deletions, callback queries,
polls, files, pins and forwards - and the updates people's actions produce."""
from __future__ import annotations

import struct
import zlib

import pytest

from bot.sim import FakeTelegram, SimError
from bot.sim.spec import UploadedFile

from .conftest import kinds, ok, refused, wire

KEYBOARD = {"inline_keyboard": [[{"text": "✅ Yes", "callback_data": "yes"}, {"text": "❌ No", "callback_data": "no"}]]}


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_message_ids_per_chat_and_honest_fields(sim: FakeTelegram, group, alice, bob) -> None:
    first = sim.send(bob, "hello", chat=group)
    reply = ok(sim, "sendMessage", chat_id=group.id, text="Welcome!", reply_parameters={"message_id": first["message_id"]})
    assert reply["message_id"] == first["message_id"] + 1
    assert reply["from"]["id"] == sim.bot.id and reply["from"]["is_bot"] is True
    assert reply["chat"] == {"id": group.id, "type": "supergroup", "title": "Club"}
    assert reply["date"] == int(sim.clock.now().timestamp())
    assert reply["reply_to_message"]["message_id"] == first["message_id"]
    nested = sim.send(alice, "ok", chat=group, reply_to=reply)
    assert "reply_to_message" not in nested["reply_to_message"]  # one level only, as in Telegram
    private = sim.send(bob, "hi bot")
    assert private["message_id"] == 1 and private["chat"]["type"] == "private"


def test_commands_get_a_bot_command_entity(sim, group, bob) -> None:
    for text, length in [("/points", 7), ("/points@StickyTestBot", 21), ("/points@OtherBot extra", 16)]:
        message = sim.send(bob, text, chat=group)
        assert message["entities"][0] == {"type": "bot_command", "offset": 0, "length": length}


def test_html_entities_use_utf16_offsets(sim, group) -> None:
    sent = ok(sim, "sendMessage", chat_id=group.id, text="😀 <b>bold</b> &lt;tag&gt; <a href='https://x.org'>x</a>",
              parse_mode="HTML")
    assert sent["text"] == "😀 bold <tag> x"
    assert sent["entities"] == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "text_link", "offset": 14, "length": 1, "url": "https://x.org"},
    ]


def test_telegram_marks_up_links_and_mentions_in_bot_messages_too(sim, group) -> None:
    sent = ok(sim, "sendMessage", chat_id=group.id, text="Ask @alice or see https://t.me/x")
    assert [e["type"] for e in sent["entities"]] == ["mention", "url"]


def test_user_edits_emit_edited_message(sim, group, bob) -> None:
    original = sim.send(bob, "helo", chat=group)
    sim.take_updates()
    edited = sim.edit(bob, original, "hello")
    [update] = sim.take_updates()
    assert update["edited_message"]["text"] == "hello" and "edit_date" in edited
    with pytest.raises(SimError):
        sim.edit(sim.user("alice"), original, "hijack")


def test_editing_text_without_markup_removes_the_keyboard(sim, group) -> None:
    sent = ok(sim, "sendMessage", chat_id=group.id, text="Vote?", reply_markup=KEYBOARD)
    kept = ok(sim, "editMessageText", chat_id=group.id, message_id=sent["message_id"], text="Vote now?",
              reply_markup=KEYBOARD)
    assert kept["reply_markup"] == KEYBOARD
    gone = ok(sim, "editMessageText", chat_id=group.id, message_id=sent["message_id"], text="Closed")
    assert "reply_markup" not in gone and gone["edit_date"] >= sent["date"]
    back = ok(sim, "editMessageReplyMarkup", chat_id=group.id, message_id=sent["message_id"], reply_markup=KEYBOARD)
    assert back["reply_markup"] == KEYBOARD
    assert refused(sim, "editMessageReplyMarkup", chat_id=group.id, message_id=sent["message_id"],
                   reply_markup=KEYBOARD)[1].startswith("Bad Request: message is not modified")


def test_pressing_a_button(sim, group, bob, carol) -> None:
    sent = ok(sim, "sendMessage", chat_id=group.id, text="Vote?", reply_markup=KEYBOARD)
    sim.take_updates()
    query_id = sim.press(bob, sent, "yes")
    [update] = sim.take_updates()
    query = update["callback_query"]
    assert query["id"] == query_id and query["data"] == "yes" and query["from"]["id"] == bob.id
    assert query["message"]["message_id"] == sent["message_id"] and query["chat_instance"]
    with pytest.raises(SimError, match="no button"):
        sim.press(bob, sent, "maybe")
    with pytest.raises(SimError):
        sim.press(carol, sent, "yes")  # carol is not in the group and can't see the message
    ok(sim, "editMessageText", chat_id=group.id, message_id=sent["message_id"], text="Closed")
    with pytest.raises(SimError):
        sim.press(bob, sent, "yes")  # the keyboard is gone


def test_deleting(sim, group, bob) -> None:
    spam = sim.send(bob, "spam", chat=group)
    assert ok(sim, "deleteMessage", chat_id=group.id, message_id=spam["message_id"]) is True
    assert spam["message_id"] not in [m["message_id"] for m in sim.messages(group)]
    assert [m["text"] for m in sim.deleted(group)] == ["spam"]
    bot_message = ok(sim, "sendMessage", chat_id=group.id, text="mine")
    assert sim.replies(group) == [bot_message]


def test_polls_and_votes(sim, group, bob) -> None:
    poll_message = ok(sim, "sendPoll", chat_id=group.id, question="Pizza?",
                      options=[{"text": "Yes"}, {"text": "No"}], is_anonymous=False)
    poll = poll_message["poll"]
    assert [o["text"] for o in poll["options"]] == ["Yes", "No"] and poll["total_voter_count"] == 0
    sim.take_updates()
    sim.vote(bob, poll_message, [0])
    updates = sim.take_updates()
    assert kinds(updates) == ["poll_answer", "poll"]
    assert updates[0]["poll_answer"]["option_ids"] == [0] and updates[0]["poll_answer"]["user"]["id"] == bob.id
    assert updates[1]["poll"]["options"][0]["voter_count"] == 1
    with pytest.raises(SimError):
        sim.vote(bob, poll_message, [0, 1])  # single-answer poll
    stopped = ok(sim, "stopPoll", chat_id=group.id, message_id=poll_message["message_id"])
    assert stopped["is_closed"] is True
    assert refused(sim, "stopPoll", chat_id=group.id, message_id=poll_message["message_id"]) == (
        400, "Bad Request: poll has already been closed")
    with pytest.raises(SimError):
        sim.vote(bob, poll_message, [1])
    assert refused(sim, "sendPoll", chat_id=group.id, question="?", options=[]) == (
        400, "Bad Request: poll must have at least 1 option")
    assert ok(sim, "sendPoll", chat_id=group.id, question="?", options=[{"text": "only"}])  # api.json: 1-12 options


def test_an_anonymous_poll_sends_no_poll_answer_but_its_new_state(sim, group, bob) -> None:
    poll_message = ok(sim, "sendPoll", chat_id=group.id, question="Tea?", options=[{"text": "Yes"}, {"text": "No"}])
    assert poll_message["poll"]["is_anonymous"] is True  # the default
    sim.take_updates()
    sim.vote(bob, poll_message, [1])
    updates = sim.take_updates()
    assert kinds(updates) == ["poll"] and updates[0]["poll"]["options"][1]["voter_count"] == 1
    assert sim.transcript(group)[-1].endswith("someone voted (anonymous poll)")  # nobody sees who voted


def test_a_quiz_names_its_correct_options_and_its_answer_is_final(sim, group, alice, bob) -> None:
    def quiz(**extra):
        return dict(chat_id=group.id, question="2+2?", options=[{"text": "3"}, {"text": "4"}, {"text": "5"}],
                    type="quiz", is_anonymous=False, **extra)

    for bad in ([], [3], [1, 1], [2, 1]):  # none, out of range, not monotonically increasing
        assert refused(sim, "sendPoll", **quiz(correct_option_ids=bad) if bad else quiz()) == (
            400, "Bad Request: wrong correct option ids specified for the quiz")
    assert refused(sim, "sendPoll", **quiz(correct_option_ids=[1], allow_adding_options=True)) == (
        400, "Bad Request: adding options is not supported for anonymous polls and quizzes")
    message = ok(sim, "sendPoll", **quiz(correct_option_ids=[1]))
    assert message["poll"]["correct_option_ids"] == [1] and message["poll"]["allows_revoting"] is False
    sim.take_updates()
    sim.vote(bob, message, [0])
    with pytest.raises(SimError, match="does not allow changing"):
        sim.vote(bob, message, [1])
    with pytest.raises(SimError, match="does not allow changing"):
        sim.vote(bob, message, [])  # not even taken back
    with pytest.raises(SimError, match="no vote to retract"):
        sim.vote(alice, message, [])
    answers = [u["poll_answer"] for u in sim.take_updates() if "poll_answer" in u]
    assert [(a["user"]["id"], a["option_ids"]) for a in answers] == [(bob.id, [0])]
    forwarded = ok(sim, "forwardMessage", chat_id=group.id, from_chat_id=group.id, message_id=message["message_id"])
    assert "correct_option_ids" not in forwarded["poll"]  # an open quiz's answer is not shown in a forwarded copy


def test_votes_in_a_persons_poll_are_counted_but_the_bot_hears_nothing_of_them(sim, group, alice, bob) -> None:
    theirs = sim.send_media(alice, "poll", group, question="Tea?", options=["Yes", "No"], is_anonymous=False)
    sim.take_updates()
    sim.vote(bob, theirs, [0])
    assert sim.take_updates() == []  # "Bots receive new votes only in polls that were sent by the bot itself"
    assert sim.message(group, theirs["message_id"])["poll"]["options"][0]["voter_count"] == 1


def test_a_regular_polls_vote_can_change_and_each_change_is_a_poll_answer(sim, group, bob) -> None:
    message = ok(sim, "sendPoll", chat_id=group.id, question="Tea?", options=[{"text": "Yes"}, {"text": "No"}],
                 is_anonymous=False)
    sim.take_updates()
    sim.vote(bob, message, [0])
    sim.vote(bob, message, [])
    sim.vote(bob, message, [1])
    answers = [u["poll_answer"]["option_ids"] for u in sim.take_updates() if "poll_answer" in u]
    assert answers == [[0], [], [1]]


def test_a_poll_with_an_open_period_closes_by_itself_and_then_refuses_votes(sim, group, alice, bob) -> None:
    base = dict(chat_id=group.id, question="Tea?", options=[{"text": "Yes"}, {"text": "No"}], is_anonymous=False)
    now = int(sim.clock.now().timestamp())
    for extra, error in (
        ({"open_period": 4}, "poll open period is invalid"),
        ({"open_period": 2628001}, "poll open period is invalid"),
        ({"close_date": now + 2}, "poll close date is invalid"),
        ({"open_period": 60, "close_date": now + 60}, "open_period and close_date can't be used together"),
    ):
        assert refused(sim, "sendPoll", **base, **extra) == (400, f"Bad Request: {error}")
    timed = ok(sim, "sendPoll", **base, open_period=60)
    dated = ok(sim, "sendPoll", **base, close_date=now + 120)
    sim.take_updates()
    sim.clock.advance(seconds=59)
    sim.vote(bob, timed, [0])
    sim.clock.advance(seconds=1)
    with pytest.raises(SimError, match="closed"):
        sim.vote(alice, timed, [0])
    sim.vote(alice, dated, [1])
    updates = sim.take_updates()
    closed = [u["poll"] for u in updates if "poll" in u and u["poll"]["is_closed"]]
    assert [p["id"] for p in closed] == [timed["poll"]["id"]] and closed[0]["total_voter_count"] == 1
    assert refused(sim, "stopPoll", chat_id=group.id, message_id=timed["message_id"]) == (
        400, "Bad Request: poll has already been closed")
    sim.clock.advance(seconds=60)
    assert ok(sim, "getUpdates", timeout=0)[-1]["poll"]["id"] == dated["poll"]["id"]  # closed at its close_date


def test_photo_and_document_uploads(sim, group) -> None:
    status, body = sim.handle(sim.token, "sendPhoto", wire({"chat_id": group.id, "caption": "<b>Sunset</b>",
                                                           "parse_mode": "HTML"}),
                              {"photo": UploadedFile("sunset.png", png(2000, 1000), "image/png")})
    import json

    photo_message = json.loads(body)["result"]
    assert status == 200 and photo_message["caption"] == "Sunset"
    largest = photo_message["photo"][-1]
    assert (largest["width"], largest["height"]) == (2000, 1000)
    assert photo_message["photo"][0]["width"] == 90
    again = ok(sim, "sendPhoto", chat_id=group.id, photo=largest["file_id"])  # file_ids can be reused
    assert again["photo"][-1]["file_unique_id"] == largest["file_unique_id"]
    status, body = sim.handle(sim.token, "sendDocument", wire({"chat_id": group.id}),
                              {"document": UploadedFile("rules.pdf", b"%PDF-1.4 ...", None)})
    document = json.loads(body)["result"]["document"]
    assert (document["file_name"], document["mime_type"], document["file_size"]) == ("rules.pdf", "application/pdf", 12)
    assert sim.download(document["file_id"]) == b"%PDF-1.4 ..."                    # what the recipient opens
    assert sim.download(largest["file_id"]) == png(2000, 1000)
    with pytest.raises(SimError):
        sim.download("no-such-file")
    assert refused(sim, "sendPhoto", chat_id=group.id, photo=document["file_id"]) == (
        400, "Bad Request: can't use file of type Document as Photo")
    assert refused(sim, "sendDocument", chat_id=group.id, document=document["file_id"], caption="x" * 1025) == (
        400, "Bad Request: message caption is too long")


def test_pins(sim, group) -> None:
    sent = ok(sim, "sendMessage", chat_id=group.id, text="Rules: be nice")
    assert ok(sim, "pinChatMessage", chat_id=group.id, message_id=sent["message_id"]) is True
    assert ok(sim, "getChat", chat_id=group.id)["pinned_message"]["text"] == "Rules: be nice"
    assert ok(sim, "unpinChatMessage", chat_id=group.id) is True
    assert "pinned_message" not in ok(sim, "getChat", chat_id=group.id)
    assert refused(sim, "pinChatMessage", chat_id=group.id, message_id=999) == (400, "Bad Request: message to pin not found")


def test_forward(sim, group, bob) -> None:
    original = sim.send(bob, "great idea", chat=group)
    sim.send(bob, "/start")
    forwarded = ok(sim, "forwardMessage", chat_id=bob.id, from_chat_id=group.id, message_id=original["message_id"])
    assert forwarded["text"] == "great idea"
    assert forwarded["forward_origin"] == {"type": "user", "date": original["date"], "sender_user": original["from"]}


def test_commands_per_scope_and_language(sim, group) -> None:
    english = [{"command": "points", "description": "Your points"}]
    german = [{"command": "points", "description": "Deine Punkte"}]
    admins = {"type": "chat_administrators", "chat_id": group.id}
    ok(sim, "setMyCommands", commands=english)
    ok(sim, "setMyCommands", commands=german, language_code="de")
    ok(sim, "setMyCommands", commands=english + [{"command": "ban", "description": "Ban"}], scope=admins)
    assert ok(sim, "getMyCommands") == english
    assert ok(sim, "getMyCommands", language_code="de") == german
    assert len(ok(sim, "getMyCommands", scope=admins)) == 2
    assert ok(sim, "getMyCommands", scope={"type": "all_private_chats"}) == []
    ok(sim, "deleteMyCommands", language_code="de")
    assert ok(sim, "getMyCommands", language_code="de") == []
    assert sim.commands() == english


def test_formatting_a_user_applies_comes_with_the_entities_telegram_detects(sim, group, bob) -> None:
    msg = sim.send(bob, "/note hello world", group, entities=[{"type": "bold", "offset": 6, "length": 5}])
    assert msg["entities"] == [{"type": "bot_command", "offset": 0, "length": 5}, {"type": "bold", "offset": 6, "length": 5}]
