"""The transcript is the chat as a person reads it; the demo prints it verbatim, so its format is pinned here."""
from __future__ import annotations

from datetime import timedelta

from bot.sim import FakeTelegram

from .conftest import ok

KEYBOARD = {"inline_keyboard": [[{"text": "✅ Yes", "callback_data": "yes"}, {"text": "❌ No", "callback_data": "no"}]]}


def test_a_whole_scene(sim: FakeTelegram, clock, group, alice, bob, carol) -> None:
    hello = sim.send(alice, "hello", chat=group)
    welcome = ok(sim, "sendMessage", chat_id=group.id, text="Welcome!", reply_markup=KEYBOARD,
                 reply_parameters={"message_id": hello["message_id"]})
    query = sim.press(alice, welcome, "yes")
    ok(sim, "answerCallbackQuery", callback_query_id=query, text="Saved")
    ok(sim, "editMessageText", chat_id=group.id, message_id=welcome["message_id"], text="Welcome, alice!")
    spam = sim.send(bob, "cheap pills", chat=group)
    ok(sim, "deleteMessage", chat_id=group.id, message_id=spam["message_id"])
    until = int((clock.now() + timedelta(minutes=5)).timestamp())
    ok(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id, permissions={"can_send_messages": False},
       until_date=until)
    link = ok(sim, "createChatInviteLink", chat_id=group.id, name="ref-alice")["invite_link"]
    sim.join(group, carol, link=link)
    sim.promote(group, carol, by=alice)
    sim.leave(group, bob)
    poll = ok(sim, "sendPoll", chat_id=group.id, question="Pizza?", options=[{"text": "Yes"}, {"text": "No"}],
              is_anonymous=False)
    sim.vote(carol, poll, [0])

    assert sim.transcript(group) == [
        "· alice added Sticky as admin",
        "· bob joined",
        "alice: hello",
        "Sticky → alice: Welcome, alice! (edited)",
        "· alice pressed '✅ Yes'",
        "· alice sees a notice: 'Saved'",
        "bob: cheap pills [deleted]",
        "· Sticky deleted a message from bob",
        "· Sticky restricted bob (until 09:05)",
        "· carol joined via link 'ref-alice'",
        "· alice promoted carol",
        "· bob left",
        "Sticky: [poll] Pizza? — Yes (1) / No (0)",
        "· carol voted 'Yes'",
    ]


def test_buttons_follow_the_current_keyboard(sim, group) -> None:
    sent = ok(sim, "sendMessage", chat_id=group.id, text="Pick", reply_markup=KEYBOARD)
    assert sim.transcript(group)[-2:] == ["Sticky: Pick", "[buttons: ✅ Yes | ❌ No]"]
    ok(sim, "editMessageReplyMarkup", chat_id=group.id, message_id=sent["message_id"],
       reply_markup={"inline_keyboard": [[{"text": "Done", "callback_data": "done"}], [{"text": "Undo", "callback_data": "u"}]]})
    assert sim.transcript(group)[-1] == "[buttons: Done / Undo]"


def test_private_chat_and_anonymous_admin(sim, group, alice, bob) -> None:
    sim.send(bob, "/start")
    ok(sim, "sendMessage", chat_id=bob.id, text="Hi Bob")
    assert sim.transcript(bob) == ["bob: /start", "Sticky: Hi Bob"]
    sim.promote(group, bob, by=alice, is_anonymous=True)
    sim.send(bob, "rules apply", chat=group, as_chat=True)
    assert sim.transcript(group)[-1] == "Club: rules apply"  # people see the group, not bob


def test_multi_line_messages_stay_one_entry(sim, group) -> None:
    ok(sim, "sendMessage", chat_id=group.id, text="Roles:\nOwner\nMember")
    assert sim.transcript(group)[-1] == "Sticky: Roles:\nOwner\nMember"


def test_moderation_lines(sim, clock, group, bob) -> None:
    ok(sim, "banChatMember", chat_id=group.id, user_id=bob.id,
       until_date=int((clock.now() + timedelta(days=2)).timestamp()))
    ok(sim, "unbanChatMember", chat_id=group.id, user_id=bob.id, only_if_banned=True)
    assert sim.transcript(group)[-2:] == ["· Sticky banned bob (until 2026-03-04 09:00)", "· Sticky unbanned bob"]


def test_an_answer_names_whom_it_answers_but_not_its_own_sender(sim: FakeTelegram, group, alice) -> None:
    shelf = ok(sim, "sendMessage", chat_id=group.id, text="Shelf")
    ok(sim, "sendMessage", chat_id=group.id, text="Buy it?", reply_parameters={"message_id": shelf["message_id"]})
    question = sim.send(alice, "and me?", chat=group, reply_to=shelf)
    ok(sim, "sendMessage", chat_id=group.id, text="Yes", reply_parameters={"message_id": question["message_id"]})
    assert sim.transcript(group)[-4:] == ["Sticky: Shelf", "Sticky: Buy it?", "alice → Sticky: and me?", "Sticky → alice: Yes"]
