"""What the simulator answers must itself be valid Bot API: every object it returns or queues is checked
against api.json (required fields present, types right, no fields the spec does not define)."""
from __future__ import annotations

from datetime import timedelta

from bot.sim import FakeTelegram
from bot.sim.spec import load_spec

from .conftest import ok

SPEC = load_spec()


def assert_valid(types: str | list[str], value: object) -> None:
    problems = SPEC.check(types, value)
    assert problems == [], problems


def test_the_checker_catches_broken_objects() -> None:
    user = {"id": 1, "is_bot": False, "first_name": "A"}
    assert SPEC.check("User", user) == []
    assert SPEC.check("User", {"id": 1, "is_bot": False}) == ["result: User lacks required field 'first_name'"]
    assert SPEC.check("User", {**user, "is_bot": "no"}) == ["result.is_bot: expected Boolean, got 'no'"]
    assert SPEC.check("User", {**user, "nickname": "x"}) == ["result: User has no field 'nickname'"]
    member = {"status": "restricted", "user": user, "until_date": 0}
    assert any("can_send_messages" in p for p in SPEC.check("ChatMember", member))
    assert SPEC.check("Array of BotCommand", [{"command": "a", "description": "b"}]) == []


def test_returned_objects_conform(sim: FakeTelegram, clock, group, alice, bob, carol) -> None:
    returns = lambda method: SPEC.returns(method)  # noqa: E731
    checked = {
        "getMe": ok(sim, "getMe"),
        "getChat": ok(sim, "getChat", chat_id=group.id),
        "getChatAdministrators": ok(sim, "getChatAdministrators", chat_id=group.id),
        "getWebhookInfo": ok(sim, "getWebhookInfo"),
        "createChatInviteLink": ok(sim, "createChatInviteLink", chat_id=group.id, name="n",
                                   creates_join_request=True,
                                   expire_date=int((clock.now() + timedelta(days=1)).timestamp())),
        "sendMessage": ok(sim, "sendMessage", chat_id=group.id, text="<b>x</b> @bob", parse_mode="HTML",
                          reply_markup={"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}),
        "sendPoll": ok(sim, "sendPoll", chat_id=group.id, question="Q", options=[{"text": "a"}, {"text": "b"}],
                       type="quiz", correct_option_ids=[1]),
    }
    sim.send(bob, "/start")
    checked["forwardMessage"] = ok(sim, "forwardMessage", chat_id=bob.id, from_chat_id=group.id,
                                   message_id=checked["sendMessage"]["message_id"])
    ok(sim, "setMyCommands", commands=[{"command": "a", "description": "b"}])
    checked["getMyCommands"] = ok(sim, "getMyCommands")
    for method, result in checked.items():
        assert_valid(returns(method), result)
    # A ChatMember of every status.
    sim.join(group, carol)
    sim.promote(group, carol, by=alice)
    ok(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id, permissions={"can_send_messages": False})
    zoe, yan, dave = sim.user("zoe"), sim.user("yan"), sim.user("dave")
    sim.join(group, dave)
    ok(sim, "banChatMember", chat_id=group.id, user_id=zoe.id)
    statuses = set()
    for person in (alice, carol, bob, zoe, yan, dave, sim.bot):
        member = ok(sim, "getChatMember", chat_id=group.id, user_id=person.id)
        assert_valid("ChatMember", member)
        statuses.add(member["status"])
    assert statuses == {"creator", "administrator", "member", "restricted", "kicked", "left"}


def test_every_queued_update_conforms(sim: FakeTelegram, group, alice, bob, carol) -> None:
    sim.take_updates(allowed_updates=["message", "edited_message", "callback_query", "my_chat_member",
                                      "chat_member", "chat_join_request", "poll", "poll_answer"])
    link = ok(sim, "createChatInviteLink", chat_id=group.id, creates_join_request=True)["invite_link"]
    sim.join(group, carol, link=link)
    ok(sim, "approveChatJoinRequest", chat_id=group.id, user_id=carol.id)
    message = sim.send(bob, "hi @alice", chat=group)
    sim.edit(bob, message, "hi all")
    keyboard = ok(sim, "sendMessage", chat_id=group.id, text="?",
                  reply_markup={"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]})
    sim.press(bob, keyboard, "a")
    poll = ok(sim, "sendPoll", chat_id=group.id, question="Q", options=[{"text": "a"}, {"text": "b"}],
              is_anonymous=False)
    sim.vote(bob, poll, [1])
    sim.leave(group, carol)
    sim.send(bob, "dm")
    sim.block(bob)
    sim.remove_bot(group, by=alice)
    updates = sim.take_updates()
    seen = {next(k for k in u if k != "update_id") for u in updates}
    assert seen == {"message", "edited_message", "callback_query", "my_chat_member", "chat_member",
                    "chat_join_request", "poll", "poll_answer"}
    for update in updates:
        assert_valid("Update", update)
