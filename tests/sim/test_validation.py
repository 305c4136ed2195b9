"""Every request is checked against api.json before anything happens: unknown methods, bad tokens, missing
and mistyped parameters - down into nested objects - get Telegram's kind of 4xx answer."""
from __future__ import annotations

import json

from bot.sim import FakeTelegram

from .conftest import api, ok, refused


def test_unknown_method_is_404_not_found(sim: FakeTelegram) -> None:
    status, body = api(sim, "sendMessagee", chat_id=1, text="x")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})


def test_wrong_token_is_401(sim: FakeTelegram) -> None:
    status, body = api(sim, "getMe", token="123456:WRONG")
    assert (status, body["description"]) == (401, "Unauthorized")


def test_method_names_are_case_insensitive_like_telegram(sim: FakeTelegram) -> None:
    assert ok(sim, "GETME")["username"] == "StickyTestBot"
    assert sim.calls()[-1].method == "getMe"


def test_missing_required_parameters(sim: FakeTelegram, group) -> None:
    assert refused(sim, "sendMessage", text="hi") == (400, "Bad Request: chat_id is empty")
    assert refused(sim, "sendMessage", chat_id=group.id) == (400, "Bad Request: message text is empty")
    assert refused(sim, "sendMessage", chat_id=group.id, text="") == (400, "Bad Request: message text is empty")
    assert refused(sim, "banChatMember", chat_id=group.id) == (400, "Bad Request: invalid user_id specified")
    assert refused(sim, "setMyCommands") == (400, 'Bad Request: parameter "commands" is required')


def test_scalar_of_the_wrong_type(sim: FakeTelegram, group, bob) -> None:
    assert refused(sim, "getUpdates", limit="ten") == (400, 'Bad Request: field "limit" must be of type Integer')
    assert refused(sim, "banChatMember", chat_id=group.id, user_id=bob.id, revoke_messages="yes") == (
        400, 'Bad Request: field "revoke_messages" must be of type Boolean')


def test_unparseable_json_object(sim: FakeTelegram, group) -> None:
    assert refused(sim, "sendMessage", chat_id=group.id, text="x", reply_markup="{not json") == (
        400, "Bad Request: can't parse reply keyboard markup JSON object")


def test_nested_object_field_of_the_wrong_type(sim: FakeTelegram, group) -> None:
    markup = {"inline_keyboard": [[{"text": 5, "callback_data": "x"}]]}
    assert refused(sim, "sendMessage", chat_id=group.id, text="x", reply_markup=markup) == (
        400, 'Bad Request: can\'t parse InlineKeyboardButton: Field "text" must be of type String')


def test_nested_required_field_missing(sim: FakeTelegram, group) -> None:
    assert refused(sim, "sendMessage", chat_id=group.id, text="x", reply_parameters={"quote": "a"}) == (
        400, 'Bad Request: can\'t parse ReplyParameters: Can\'t find field "message_id"')
    assert refused(sim, "setMyCommands", commands=[{"command": "start"}]) == (
        400, 'Bad Request: can\'t parse BotCommand: Can\'t find field "description"')


def test_array_where_an_object_is_expected_and_vice_versa(sim: FakeTelegram, group, bob) -> None:
    assert refused(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id, permissions=[True]) == (
        400, "Bad Request: can't parse ChatPermissions: ChatPermissions must be an Object")
    assert refused(sim, "sendMessage", chat_id=group.id, text="x", reply_markup={"inline_keyboard": {"a": 1}}) == (
        400, 'Bad Request: can\'t parse InlineKeyboardMarkup: Field "inline_keyboard" must be of type Array')


def test_boolean_inside_json_must_be_a_json_boolean(sim: FakeTelegram, group, bob) -> None:
    assert refused(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id,
                   permissions={"can_send_messages": "false"}) == (
        400, 'Bad Request: can\'t parse ChatPermissions: Field "can_send_messages" must be of type Boolean')


def test_union_types_are_validated_against_the_subtype_named_by_type(sim: FakeTelegram, group) -> None:
    commands = [{"command": "start", "description": "Start"}]
    assert refused(sim, "setMyCommands", commands=commands, scope={"type": "everyone"}) == (
        400, "Bad Request: can't parse BotCommandScope: Unsupported type specified")
    assert refused(sim, "setMyCommands", commands=commands, scope={"type": "chat"}) == (
        400, 'Bad Request: can\'t parse BotCommandScopeChat: Can\'t find field "chat_id"')
    assert refused(sim, "setMyCommands", commands=commands, scope={"type": "chat_member", "chat_id": group.id}) == (
        400, 'Bad Request: can\'t parse BotCommandScopeChatMember: Can\'t find field "user_id"')
    assert ok(sim, "setMyCommands", commands=commands, scope={"type": "chat", "chat_id": group.id}) is True


def test_input_media_subtypes_are_checked_by_type(sim: FakeTelegram) -> None:
    status, description = refused(sim, "editMessageMedia", chat_id=1, message_id=1,
                                  media={"type": "photo"})
    assert (status, description) == (400, 'Bad Request: can\'t parse InputMediaPhoto: Can\'t find field "media"')


def test_unknown_parameters_are_ignored_as_telegram_does(sim: FakeTelegram, group) -> None:
    message = ok(sim, "sendMessage", chat_id=group.id, text="hi", colour="blue")
    assert message["text"] == "hi"
    assert "colour" not in sim.calls("sendMessage")[-1].params


def test_valid_but_unmodelled_methods_are_refused_not_faked(sim: FakeTelegram, group) -> None:
    assert refused(sim, "setChatTitle", chat_id=group.id, title="New") == (
        400, "Bad Request: method not supported by the simulator")
    # ...after validation, so a broken call to an unmodelled method still gets the validation error.
    assert refused(sim, "setChatTitle", chat_id=group.id) == (400, 'Bad Request: parameter "title" is required')


def test_calls_are_logged_with_decoded_parameters(sim: FakeTelegram, group) -> None:
    sent = ok(sim, "sendMessage", chat_id=group.id, text="hi",
              reply_markup={"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]})
    call = sim.calls("sendMessage")[-1]
    assert call.ok and call.params["chat_id"] == group.id
    assert call.params["reply_markup"] == {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}
    assert call.result == sent
    refused(sim, "sendMessage", chat_id=group.id)
    failed = sim.calls("sendMessage")[-1]
    assert (failed.ok, failed.error_code, failed.description) == (False, 400, "Bad Request: message text is empty")


def test_json_values_reach_the_core_as_json_text(sim: FakeTelegram, group) -> None:
    status, body = sim.handle(sim.token, "sendMessage", {"chat_id": str(group.id), "text": "x",
                                                         "link_preview_options": json.dumps({"is_disabled": True})})
    assert status == 200 and json.loads(body)["result"]["link_preview_options"] == {"is_disabled": True}
