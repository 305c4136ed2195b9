"""The refusals a group bot meets in real life, with Telegram's wording: access, rights, targets that can't be
touched, messages that can't be found, edited or deleted, limits, callback queries and command menus."""
from __future__ import annotations

import pytest

from bot.clock import FixedClock
from bot.sim import FakeTelegram, SimChat, SimError, SimUser

from .conftest import ok, refused


def ts(clock: FixedClock, **delta: float) -> int:
    from datetime import timedelta

    return int((clock.now() + timedelta(**delta)).timestamp())


# ---------------------------------------------------------------- access


def test_chat_not_found(sim: FakeTelegram) -> None:
    assert refused(sim, "sendMessage", chat_id=-1009999, text="x") == (400, "Bad Request: chat not found")
    assert refused(sim, "getChat", chat_id="not-a-chat") == (400, "Bad Request: chat not found")
    assert refused(sim, "getChat", chat_id="@nosuchgroup") == (400, "Bad Request: chat not found")


def test_bot_removed_from_the_group_gets_403_kicked(sim, group: SimChat, alice: SimUser) -> None:
    sim.remove_bot(group, by=alice)
    assert refused(sim, "sendMessage", chat_id=group.id, text="x") == (
        403, "Forbidden: bot was kicked from the supergroup chat")
    assert refused(sim, "getChatMemberCount", chat_id=group.id)[0] == 403


def test_bot_that_left_is_not_a_member(sim, group: SimChat) -> None:
    assert ok(sim, "leaveChat", chat_id=group.id) is True
    assert refused(sim, "sendMessage", chat_id=group.id, text="x") == (
        403, "Forbidden: bot is not a member of the supergroup chat")


def test_bot_cannot_initiate_a_private_conversation(sim, bob: SimUser) -> None:
    assert refused(sim, "sendMessage", chat_id=bob.id, text="hi") == (
        403, "Forbidden: bot can't initiate conversation with a user")
    sim.send(bob, "/start")
    assert ok(sim, "sendMessage", chat_id=bob.id, text="hi")["chat"]["type"] == "private"


def test_blocked_bot(sim, bob: SimUser) -> None:
    sim.send(bob, "/start")
    sim.block(bob)
    assert refused(sim, "sendMessage", chat_id=bob.id, text="hi") == (403, "Forbidden: bot was blocked by the user")
    sim.unblock(bob)
    assert ok(sim, "sendMessage", chat_id=bob.id, text="hi")


def test_join_request_opens_a_five_minute_window_for_a_dm(sim, clock, alice, carol) -> None:
    chat = sim.create_group("Gated", owner=alice, join_by_request=True)
    sim.add_bot(chat, by=alice)
    assert sim.join(chat, carol) == "requested"
    assert ok(sim, "sendMessage", chat_id=carol.id, text="Please answer: 2+2?")
    clock.advance(minutes=6)
    assert refused(sim, "sendMessage", chat_id=carol.id, text="still there?")[0] == 403


def test_leave_chat_in_private_is_refused(sim, bob) -> None:
    sim.send(bob, "hi")
    assert refused(sim, "leaveChat", chat_id=bob.id) == (
        400, "Bad Request: chat member status can't be changed in private chats")


# ---------------------------------------------------------------- restricting and banning


def test_restricting_needs_the_right(sim, alice, bob) -> None:
    chat = sim.create_group("NoRights", owner=alice)
    sim.add_bot(chat, by=alice, can_restrict_members=False)
    sim.join(chat, bob)
    for method in ("restrictChatMember", "banChatMember"):
        params = {"permissions": {"can_send_messages": False}} if method == "restrictChatMember" else {}
        assert refused(sim, method, chat_id=chat.id, user_id=bob.id, **params) == (
            400, "Bad Request: not enough rights to restrict/unrestrict chat member")
    assert refused(sim, "setChatPermissions", chat_id=chat.id, permissions={"can_send_messages": False}) == (
        400, "Bad Request: not enough rights to change chat permissions")


def test_the_bot_as_a_plain_member_cannot_restrict(sim, alice, bob) -> None:
    chat = sim.create_group("Plain", owner=alice)
    sim.add_bot(chat, by=alice, admin=False)
    sim.join(chat, bob)
    assert refused(sim, "banChatMember", chat_id=chat.id, user_id=bob.id)[1] == (
        "Bad Request: not enough rights to restrict/unrestrict chat member")


def test_owner_cannot_be_restricted_or_banned(sim, group, alice) -> None:
    assert refused(sim, "restrictChatMember", chat_id=group.id, user_id=alice.id,
                   permissions={"can_send_messages": False}) == (400, "Bad Request: can't remove chat owner")
    assert refused(sim, "banChatMember", chat_id=group.id, user_id=alice.id) == (
        400, "Bad Request: can't remove chat owner")


def test_admin_promoted_by_someone_else_is_untouchable(sim, group, alice, bob) -> None:
    sim.promote(group, bob, by=alice)
    assert refused(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id,
                   permissions={"can_send_messages": False}) == (400, "Bad Request: user is an administrator of the chat")
    assert refused(sim, "banChatMember", chat_id=group.id, user_id=bob.id) == (
        400, "Bad Request: user is an administrator of the chat")


def test_admin_promoted_by_the_bot_can_be_restricted(sim, alice, bob) -> None:
    chat = sim.create_group("Delegated", owner=alice)
    sim.add_bot(chat, by=alice, can_promote_members=True)
    sim.join(chat, bob)
    assert ok(sim, "promoteChatMember", chat_id=chat.id, user_id=bob.id, can_delete_messages=True)
    assert sim.member(chat, bob)["can_be_edited"] is True
    assert ok(sim, "restrictChatMember", chat_id=chat.id, user_id=bob.id, permissions={"can_send_messages": False})
    assert sim.member(chat, bob)["status"] == "restricted"


def test_restrict_is_for_supergroups_only(sim, alice, bob) -> None:
    chat = sim.create_group("Basic", owner=alice, supergroup=False)
    sim.add_bot(chat, by=alice)
    sim.join(chat, bob)
    assert refused(sim, "restrictChatMember", chat_id=chat.id, user_id=bob.id, permissions={}) == (
        400, "Bad Request: method is available only for supergroups")
    assert refused(sim, "unbanChatMember", chat_id=chat.id, user_id=bob.id) == (
        400, "Bad Request: method is available for supergroup and channel chats only")


def test_unknown_user(sim, group) -> None:
    assert refused(sim, "banChatMember", chat_id=group.id, user_id=424242) == (400, "Bad Request: user not found")
    assert refused(sim, "getChatMember", chat_id=group.id, user_id=-5) == (400, "Bad Request: invalid user_id specified")


@pytest.mark.parametrize(
    ("offset", "kept"),
    [({"hours": -1}, False), ({"seconds": 20}, False), ({"days": 400}, False), ({"hours": 1}, True),
     ({"days": 365}, True)],
)
def test_until_date_outside_30s_to_366d_means_forever(sim, clock, group, bob, offset, kept) -> None:
    until = ts(clock, **offset)
    ok(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id,
       permissions={"can_send_messages": False}, until_date=until)
    assert sim.member(group, bob)["until_date"] == (until if kept else 0)


def test_setting_the_same_chat_permissions_again_is_not_modified(sim, group) -> None:
    permissions = {"can_send_messages": True, "can_invite_users": True}
    ok(sim, "setChatPermissions", chat_id=group.id, permissions=permissions)
    assert refused(sim, "setChatPermissions", chat_id=group.id, permissions=permissions) == (
        400, "Bad Request: CHAT_NOT_MODIFIED")


# ---------------------------------------------------------------- promoting


def test_promotion_rules(sim, alice, bob, group) -> None:
    assert refused(sim, "promoteChatMember", chat_id=group.id, user_id=bob.id, can_pin_messages=True) == (
        400, "Bad Request: not enough rights")
    chat = sim.create_group("Promo", owner=alice)
    sim.add_bot(chat, by=alice, can_promote_members=True, can_manage_video_chats=False)
    sim.join(chat, bob)
    assert refused(sim, "promoteChatMember", chat_id=chat.id, user_id=bob.id, can_manage_video_chats=True) == (
        400, "Bad Request: RIGHT_FORBIDDEN")
    assert refused(sim, "promoteChatMember", chat_id=chat.id, user_id=sim.bot.id, can_pin_messages=True) == (
        400, "Bad Request: can't promote self")
    assert refused(sim, "promoteChatMember", chat_id=chat.id, user_id=alice.id, can_pin_messages=True) == (
        400, "Bad Request: can't demote chat creator")


# ---------------------------------------------------------------- messages


def test_message_to_be_replied_not_found(sim, group) -> None:
    assert refused(sim, "sendMessage", chat_id=group.id, text="x", reply_parameters={"message_id": 999}) == (
        400, "Bad Request: message to be replied not found")
    sent = ok(sim, "sendMessage", chat_id=group.id, text="x",
              reply_parameters={"message_id": 999, "allow_sending_without_reply": True})
    assert "reply_to_message" not in sent


def test_delete_refusals(sim, clock, group, alice, bob) -> None:
    assert refused(sim, "deleteMessage", chat_id=group.id, message_id=999) == (
        400, "Bad Request: message to delete not found")
    own = ok(sim, "sendMessage", chat_id=group.id, text="mine")
    theirs = sim.send(bob, "spam", chat=group)
    clock.advance(hours=48)
    assert refused(sim, "deleteMessage", chat_id=group.id, message_id=own["message_id"]) == (
        400, "Bad Request: message can't be deleted")
    assert refused(sim, "deleteMessage", chat_id=group.id, message_id=theirs["message_id"])[1] == (
        "Bad Request: message can't be deleted")


def test_others_messages_need_can_delete_messages(sim, alice, bob) -> None:
    chat = sim.create_group("NoDelete", owner=alice)
    sim.add_bot(chat, by=alice, can_delete_messages=False)
    sim.join(chat, bob)
    theirs = sim.send(bob, "hello", chat=chat)
    mine = ok(sim, "sendMessage", chat_id=chat.id, text="mine")
    assert refused(sim, "deleteMessage", chat_id=chat.id, message_id=theirs["message_id"]) == (
        400, "Bad Request: message can't be deleted")
    assert ok(sim, "deleteMessage", chat_id=chat.id, message_id=mine["message_id"]) is True
    assert refused(sim, "deleteMessage", chat_id=chat.id, message_id=mine["message_id"]) == (
        400, "Bad Request: message to delete not found")
    # deleteMessages skips missing ids but fails as a whole on one it may not delete.
    assert refused(sim, "deleteMessages", chat_id=chat.id, message_ids=[theirs["message_id"], 999])[1] == (
        "Bad Request: message can't be deleted")
    assert ok(sim, "deleteMessages", chat_id=chat.id, message_ids=[998, 999]) is True


def test_edit_refusals(sim, group, bob) -> None:
    sent = ok(sim, "sendMessage", chat_id=group.id, text="Hello")
    assert refused(sim, "editMessageText", chat_id=group.id, message_id=sent["message_id"], text="Hello")[1] == (
        "Bad Request: message is not modified: specified new message content and reply markup are exactly the "
        "same as a current content and reply markup of the message")
    theirs = sim.send(bob, "mine", chat=group)
    assert refused(sim, "editMessageText", chat_id=group.id, message_id=theirs["message_id"], text="x") == (
        400, "Bad Request: message can't be edited")
    assert refused(sim, "editMessageText", chat_id=group.id, message_id=999, text="x") == (
        400, "Bad Request: message to edit not found")


def test_message_length_is_counted_after_entity_parsing(sim, group) -> None:
    assert refused(sim, "sendMessage", chat_id=group.id, text="a" * 4097) == (400, "Bad Request: message is too long")
    tagged = "<b>" + "a" * 4096 + "</b>"
    assert len(ok(sim, "sendMessage", chat_id=group.id, text=tagged, parse_mode="HTML")["text"]) == 4096
    assert refused(sim, "sendMessage", chat_id=group.id, text="   ") == (400, "Bad Request: message must be non-empty")


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<p>hi</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<b>hi", "Can't find end tag corresponding to start tag b"),
        ("<b>hi</i>", 'Unmatched end tag at byte offset 5, expected "</b>", found "</i>"'),
        ("hi</b>", "Unexpected end tag at byte offset 2"),
        ("Tom &jerry", 'Can\'t decode HTML entity "&jerry" at byte offset 4'),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_bad_html_cannot_be_parsed(sim, group, html, error) -> None:
    status, description = refused(sim, "sendMessage", chat_id=group.id, text=html, parse_mode="HTML")
    assert status == 400
    assert description.startswith(f"Bad Request: can't parse entities: {error}")


def test_parse_modes(sim, group) -> None:
    assert refused(sim, "sendMessage", chat_id=group.id, text="*x*", parse_mode="MarkdownV2") == (
        400, "Bad Request: parse_mode MarkdownV2 is not supported by the simulator")
    assert refused(sim, "sendMessage", chat_id=group.id, text="x", parse_mode="BBCode") == (
        400, "Bad Request: unsupported parse_mode")


def test_button_refusals(sim, group) -> None:
    def send(button: dict) -> tuple[int, str]:
        return refused(sim, "sendMessage", chat_id=group.id, text="x", reply_markup={"inline_keyboard": [[button]]})

    assert send({"text": "x", "callback_data": "d" * 65}) == (400, "Bad Request: BUTTON_DATA_INVALID")
    assert send({"text": "x", "callback_data": "é" * 33}) == (400, "Bad Request: BUTTON_DATA_INVALID")  # bytes
    assert send({"text": "x"}) == (
        400, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    assert send({"text": "x", "url": "javascript:alert(1)"}) == (400, "Bad Request: BUTTON_URL_INVALID")
    assert ok(sim, "sendMessage", chat_id=group.id, text="x",
              reply_markup={"inline_keyboard": [[{"text": "x", "callback_data": "é" * 32}]]})


def test_callback_query_answers(sim, clock, group, bob) -> None:
    sent = ok(sim, "sendMessage", chat_id=group.id, text="Vote",
              reply_markup={"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]})
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    assert refused(sim, "answerCallbackQuery", callback_query_id="123") == (400, too_old)
    first = sim.press(bob, sent, "yes")
    assert ok(sim, "answerCallbackQuery", callback_query_id=first, text="Thanks") is True
    assert refused(sim, "answerCallbackQuery", callback_query_id=first) == (400, too_old)
    late = sim.press(bob, sent, "yes")
    clock.advance(minutes=16)
    assert refused(sim, "answerCallbackQuery", callback_query_id=late) == (400, too_old)


@pytest.mark.parametrize(
    ("command", "error"),
    [({"command": "Start", "description": "x"}, "BOT_COMMAND_INVALID"),
     ({"command": "a" * 33, "description": "x"}, "BOT_COMMAND_INVALID"),
     ({"command": "my-cmd", "description": "x"}, "BOT_COMMAND_INVALID"),
     ({"command": "ok", "description": ""}, "BOT_COMMAND_DESCRIPTION_INVALID"),
     ({"command": "ok", "description": "d" * 257}, "BOT_COMMAND_DESCRIPTION_INVALID")],
)
def test_invalid_commands(sim, command, error) -> None:
    assert refused(sim, "setMyCommands", commands=[command]) == (400, f"Bad Request: {error}")


def test_join_request_approval_without_a_request(sim, group, carol) -> None:
    assert refused(sim, "approveChatJoinRequest", chat_id=group.id, user_id=carol.id) == (
        400, "Bad Request: HIDE_REQUESTER_MISSING")
    assert refused(sim, "declineChatJoinRequest", chat_id=group.id, user_id=carol.id) == (
        400, "Bad Request: HIDE_REQUESTER_MISSING")


def test_invite_link_refusals(sim, clock, group, alice) -> None:
    assert refused(sim, "createChatInviteLink", chat_id=group.id, member_limit=5, creates_join_request=True) == (
        400, "Bad Request: member limit can't be specified for links requiring administrator approval")
    assert refused(sim, "createChatInviteLink", chat_id=group.id, expire_date=ts(clock, hours=-1)) == (
        400, "Bad Request: EXPIRE_DATE_INVALID")
    theirs = sim.create_invite_link(group, by=alice, name="alice's")
    assert refused(sim, "revokeChatInviteLink", chat_id=group.id, invite_link=theirs) == (
        400, "Bad Request: CHAT_ADMIN_REQUIRED")
    chat = sim.create_group("NoInvite", owner=alice)
    sim.add_bot(chat, by=alice, can_invite_users=False)
    assert refused(sim, "createChatInviteLink", chat_id=chat.id) == (
        400, "Bad Request: not enough rights to manage chat invite link")


def test_files_by_url_and_non_images(sim, group) -> None:
    from bot.sim.spec import UploadedFile

    assert refused(sim, "sendPhoto", chat_id=group.id, photo="https://example.com/cat.jpg") == (
        400, "Bad Request: sending files by URL is not supported by the simulator")
    assert refused(sim, "sendPhoto", chat_id=group.id, photo="no-such-file-id") == (
        400, "Bad Request: wrong file identifier/HTTP URL specified")
    status, body = sim.handle(sim.token, "sendPhoto", {"chat_id": str(group.id)},
                              {"photo": UploadedFile("x.jpg", b"not an image", "image/jpeg")})
    assert (status, b"IMAGE_PROCESS_FAILED" in body) == (400, True)


def test_getupdates_conflicts_with_a_webhook(sim) -> None:
    assert refused(sim, "setWebhook", url="http://example.com/hook") == (
        400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    assert ok(sim, "setWebhook", url="https://example.com/hook") is True
    status, description = refused(sim, "getUpdates")
    assert status == 409 and description.startswith("Conflict: can't use getUpdates method while webhook is active")
    assert ok(sim, "getWebhookInfo")["url"] == "https://example.com/hook"
    assert ok(sim, "deleteWebhook") is True
    assert ok(sim, "getUpdates") == []


# ---------------------------------------------------------------- what people can't do (SimError)


def test_people_refusals(sim, clock, group, alice, bob, carol) -> None:
    with pytest.raises(SimError):
        sim.send(carol, "let me in", chat=group)  # not a member
    ok(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id, permissions={"can_send_messages": False},
       until_date=ts(clock, hours=1))
    with pytest.raises(SimError):
        sim.send(bob, "muted?", chat=group)
    clock.advance(hours=1, seconds=1)
    assert sim.send(bob, "free again", chat=group)["text"] == "free again"
    with pytest.raises(SimError):
        sim.send(alice, "anon", chat=group, as_chat=True)  # alice is not an anonymous admin
    ok(sim, "banChatMember", chat_id=group.id, user_id=bob.id)
    with pytest.raises(SimError):
        sim.join(group, bob)
    with pytest.raises(SimError):
        sim.promote(group, carol, by=alice)  # not in the group


def test_links_people_cannot_use(sim, clock, group, alice, bob, carol) -> None:
    dave = sim.user("dave")
    limited = ok(sim, "createChatInviteLink", chat_id=group.id, member_limit=1)["invite_link"]
    expiring = ok(sim, "createChatInviteLink", chat_id=group.id, expire_date=ts(clock, hours=1))["invite_link"]
    revoked = ok(sim, "createChatInviteLink", chat_id=group.id)["invite_link"]
    ok(sim, "revokeChatInviteLink", chat_id=group.id, invite_link=revoked)
    assert sim.join(group, carol, link=limited) == "joined"
    with pytest.raises(SimError, match="member limit"):
        sim.join(group, dave, link=limited)
    with pytest.raises(SimError, match="revoked"):
        sim.join(group, dave, link=revoked)
    clock.advance(hours=2)
    with pytest.raises(SimError, match="expired"):
        sim.join(group, dave, link=expiring)
    with pytest.raises(SimError, match="no such invite link"):
        sim.join(group, dave, link="https://t.me/+nope")
