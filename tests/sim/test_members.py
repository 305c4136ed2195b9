"""Membership as state plus the updates Telegram sends about it: joining (openly, by link, by request),
leaving, promotion, restriction, bans, and the bot's own membership."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.sim import FakeTelegram, SimError

from .conftest import kinds, ok, refused

ALL = ["message", "edited_message", "callback_query", "my_chat_member", "chat_member", "chat_join_request",
       "poll", "poll_answer"]


def until(clock, **delta) -> int:
    return int((clock.now() + timedelta(**delta)).timestamp())


def test_join_by_link_counts_and_reports_the_link(sim: FakeTelegram, group, carol) -> None:
    link = ok(sim, "createChatInviteLink", chat_id=group.id, name="ref-alice")
    assert sim.join(group, carol, link=link["invite_link"]) == "joined"
    updates = sim.take_updates(allowed_updates=ALL)
    assert kinds(updates) == ["chat_member", "message"]
    change = updates[0]["chat_member"]
    assert change["from"]["id"] == carol.id
    assert (change["old_chat_member"]["status"], change["new_chat_member"]["status"]) == ("left", "member")
    assert change["invite_link"]["invite_link"] == link["invite_link"]
    assert change["invite_link"]["name"] == "ref-alice"
    assert updates[1]["message"]["new_chat_members"][0]["id"] == carol.id
    assert sim.member(group, carol)["status"] == "member"
    [counted] = [li for li in sim.invite_links(group) if li["invite_link"] == link["invite_link"]]
    assert (counted["joined"], counted["pending"]) == (1, 0)


def test_links_of_other_admins_are_shown_elided(sim, group, alice, carol) -> None:
    url = sim.create_invite_link(group, by=alice)
    sim.join(group, carol, link=url)
    [update] = [u for u in sim.take_updates(allowed_updates=ALL) if "chat_member" in u]
    shown = update["chat_member"]["invite_link"]["invite_link"]
    assert shown.endswith("…") and shown != url and url.startswith(shown[:-1])


def test_join_request_then_approval(sim, group, carol) -> None:
    link = ok(sim, "createChatInviteLink", chat_id=group.id, name="vetted", creates_join_request=True)
    assert sim.join(group, carol, link=link["invite_link"]) == "requested"
    [update] = sim.take_updates(allowed_updates=ALL)
    request = update["chat_join_request"]
    assert request["from"]["id"] == carol.id and request["user_chat_id"] == carol.id
    assert request["invite_link"]["invite_link"] == link["invite_link"]
    assert request["invite_link"]["pending_join_request_count"] == 1
    assert sim.member(group, carol)["status"] == "left"
    with pytest.raises(SimError):
        sim.join(group, carol, link=link["invite_link"])  # already pending

    assert ok(sim, "approveChatJoinRequest", chat_id=group.id, user_id=carol.id) is True
    updates = sim.take_updates()
    assert kinds(updates) == ["chat_member", "message"]
    change = updates[0]["chat_member"]
    assert change["via_join_request"] is True
    assert change["from"]["id"] == sim.bot.id
    assert change["invite_link"]["invite_link"] == link["invite_link"]
    assert sim.member(group, carol)["status"] == "member"
    [counted] = [li for li in sim.invite_links(group) if li["name"] == "vetted"]
    assert (counted["joined"], counted["pending"]) == (1, 0)


def test_join_by_request_group_without_link_and_decline(sim, alice, carol) -> None:
    chat = sim.create_group("Gated", owner=alice, join_by_request=True)
    sim.add_bot(chat, by=alice)
    sim.take_updates(allowed_updates=ALL)
    assert sim.join(chat, carol) == "requested"
    [update] = sim.take_updates()
    assert "invite_link" not in update["chat_join_request"]
    assert ok(sim, "declineChatJoinRequest", chat_id=chat.id, user_id=carol.id) is True
    assert sim.take_updates() == []
    assert sim.member(chat, carol)["status"] == "left"


def test_join_requests_reach_only_a_bot_that_can_invite(sim, alice, carol) -> None:
    chat = sim.create_group("Gated", owner=alice, join_by_request=True)
    sim.add_bot(chat, by=alice, can_invite_users=False)
    sim.take_updates(allowed_updates=ALL)
    sim.join(chat, carol)
    assert sim.take_updates() == []


def test_leave(sim, group, bob) -> None:
    sim.take_updates(allowed_updates=ALL)
    sim.leave(group, bob)
    updates = sim.take_updates()
    assert kinds(updates) == ["chat_member", "message"]
    assert updates[0]["chat_member"]["new_chat_member"]["status"] == "left"
    assert updates[1]["message"]["left_chat_member"]["id"] == bob.id
    with pytest.raises(SimError):
        sim.leave(group, bob)


def test_promote_and_demote_by_people(sim, group, alice, bob, carol) -> None:
    sim.join(group, carol)
    sim.take_updates(allowed_updates=ALL)
    sim.promote(group, bob, by=alice, can_promote_members=True)
    [update] = sim.take_updates()
    change = update["chat_member"]
    assert change["from"]["id"] == alice.id
    assert change["new_chat_member"]["status"] == "administrator"
    assert change["new_chat_member"]["can_promote_members"] is True
    assert change["new_chat_member"]["can_be_edited"] is False  # the bot did not promote bob
    with pytest.raises(SimError):
        sim.promote(group, carol, by=carol)  # a plain member may not promote
    sim.promote(group, carol, by=bob, can_change_info=False)
    with pytest.raises(SimError):
        sim.demote(group, carol, by=sim.user("dave"))
    sim.demote(group, carol, by=bob)
    assert sim.member(group, carol)["status"] == "member"
    assert [u["chat_member"]["new_chat_member"]["status"] for u in sim.take_updates()] == ["administrator", "member"]


def test_restrict_by_the_bot_emits_chat_member_and_lifting_restores_member(sim, clock, group, bob) -> None:
    sim.take_updates(allowed_updates=ALL)
    ok(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id,
       permissions={"can_send_messages": False}, until_date=until(clock, hours=1))
    [update] = sim.take_updates()
    change = update["chat_member"]
    assert change["from"]["id"] == sim.bot.id
    assert change["new_chat_member"]["status"] == "restricted"
    assert change["new_chat_member"]["is_member"] is True
    everything = {p: True for p in ("can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos",
                                    "can_send_videos", "can_send_video_notes", "can_send_voice_notes",
                                    "can_send_polls", "can_send_other_messages", "can_add_web_page_previews",
                                    "can_react_to_messages", "can_edit_tag", "can_change_info",
                                    "can_invite_users", "can_pin_messages", "can_manage_topics")}
    ok(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id, permissions=everything)
    assert sim.member(group, bob)["status"] == "member"
    assert sim.take_updates()[0]["chat_member"]["new_chat_member"]["status"] == "member"


def test_restrictions_run_out_by_the_clock(sim, clock, group, bob) -> None:
    ok(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id,
       permissions={"can_send_messages": False}, until_date=until(clock, minutes=5))
    assert ok(sim, "getChatMember", chat_id=group.id, user_id=bob.id)["status"] == "restricted"
    clock.advance(minutes=5)
    assert ok(sim, "getChatMember", chat_id=group.id, user_id=bob.id)["status"] == "member"


def test_permission_implications_follow_the_bot_api(sim, group, bob) -> None:
    ok(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id,
       permissions={"can_send_other_messages": True})
    implied = sim.member(group, bob)
    assert implied["can_send_messages"] and implied["can_send_photos"] and implied["can_send_other_messages"]
    assert implied["can_send_polls"] is False
    ok(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id,
       permissions={"can_send_other_messages": True}, use_independent_chat_permissions=True)
    independent = sim.member(group, bob)
    assert independent["can_send_messages"] is False and independent["can_send_other_messages"] is True


def test_ban_removes_and_revokes(sim, group, bob) -> None:
    said = sim.send(bob, "buy crypto", chat=group)
    sim.take_updates(allowed_updates=ALL)
    ok(sim, "banChatMember", chat_id=group.id, user_id=bob.id, revoke_messages=True)
    assert sim.member(group, bob) == {"status": "kicked", "user": sim.user_by_id(bob.id).to_api(), "until_date": 0}
    deleted = sim.deleted(group)
    assert said["message_id"] in [m["message_id"] for m in deleted]
    assert {m["from"]["id"] for m in deleted} == {bob.id}  # everything bob sent, his join notice included
    [update] = sim.take_updates()
    assert update["chat_member"]["new_chat_member"]["status"] == "kicked"
    assert ok(sim, "getChatMemberCount", chat_id=group.id) == 2  # alice and the bot


def test_unban_semantics(sim, group, bob, carol) -> None:
    sim.join(group, carol)
    # only_if_banned on a member: nothing happens.
    ok(sim, "unbanChatMember", chat_id=group.id, user_id=carol.id, only_if_banned=True)
    assert sim.member(group, carol)["status"] == "member"
    # Without it, Telegram removes a member from the chat.
    ok(sim, "unbanChatMember", chat_id=group.id, user_id=carol.id)
    assert sim.member(group, carol)["status"] == "left"
    ok(sim, "banChatMember", chat_id=group.id, user_id=bob.id)
    ok(sim, "unbanChatMember", chat_id=group.id, user_id=bob.id, only_if_banned=True)
    assert sim.member(group, bob)["status"] == "left"
    assert sim.join(group, bob) == "joined"


def test_the_bots_own_membership(sim, alice) -> None:
    chat = sim.create_group("Fresh", owner=alice)
    sim.add_bot(chat, by=alice)
    updates = sim.take_updates()
    assert kinds(updates) == ["my_chat_member", "message"]
    change = updates[0]["my_chat_member"]
    assert (change["old_chat_member"]["status"], change["new_chat_member"]["status"]) == ("left", "administrator")
    rights = change["new_chat_member"]
    assert rights["can_restrict_members"] and rights["can_delete_messages"] and rights["can_invite_users"]
    assert rights["can_pin_messages"] and rights["can_manage_chat"] and rights["can_promote_members"] is False
    sim.remove_bot(chat, by=alice)
    [removed] = sim.take_updates()
    assert removed["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    assert sim.member(chat, sim.bot)["status"] == "kicked"


def test_chat_member_updates_need_an_admin_bot(sim, alice, bob) -> None:
    chat = sim.create_group("Plain", owner=alice)
    sim.add_bot(chat, by=alice, admin=False)
    sim.take_updates(allowed_updates=ALL)
    sim.join(chat, bob)
    assert kinds(sim.take_updates()) == ["message"]  # the service message only


def test_joins_and_leaves_reach_a_bot_that_is_not_admin_only_as_service_messages(sim, alice, bob, carol) -> None:
    """Every bot in a group gets "X joined" / "X left"; chat_member only while it is an admin, from its promotion
    (my_chat_member) to its demotion. Adding several people at once is one message naming them all."""
    chat = sim.create_group("Plain", owner=alice)
    sim.add_bot(chat, by=alice, admin=False)
    sim.take_updates(allowed_updates=ALL)
    sim.join(chat, bob)
    sim.leave(chat, bob)
    updates = sim.take_updates()
    assert kinds(updates) == ["message", "message"]
    assert updates[0]["message"]["new_chat_members"][0]["id"] == bob.id
    assert updates[1]["message"]["left_chat_member"]["id"] == bob.id
    sim.add_members(chat, [bob, carol], by=alice)
    [added] = sim.take_updates()
    assert [u["id"] for u in added["message"]["new_chat_members"]] == [bob.id, carol.id]
    assert added["message"]["from"]["id"] == alice.id

    sim.promote(chat, sim.bot, by=alice)
    sim.leave(chat, carol)
    updates = sim.take_updates()
    assert kinds(updates) == ["my_chat_member", "chat_member", "message"]
    assert updates[0]["my_chat_member"]["new_chat_member"]["status"] == "administrator"
    sim.demote(chat, sim.bot, by=alice)
    sim.join(chat, carol)
    updates = sim.take_updates()
    assert kinds(updates) == ["my_chat_member", "message"]
    assert updates[0]["my_chat_member"]["new_chat_member"]["status"] == "member"


def test_privacy_mode_for_a_bot_that_is_not_admin(sim, alice, bob) -> None:
    chat = sim.create_group("Plain", owner=alice)
    sim.add_bot(chat, by=alice, admin=False)
    sim.join(chat, bob)
    sim.take_updates(allowed_updates=ALL)
    sim.send(bob, "just chatting", chat=chat)
    sim.send(bob, "/points", chat=chat)
    sim.send(bob, "/points@StickyTestBot", chat=chat)
    sim.send(bob, "/points@OtherBot", chat=chat)
    mine = ok(sim, "sendMessage", chat_id=chat.id, text="Hi")
    sim.send(bob, "thanks", chat=chat, reply_to=mine)
    texts = [u["message"]["text"] for u in sim.take_updates()]
    assert texts == ["/points", "/points@StickyTestBot", "thanks"]
    assert ok(sim, "getMe")["can_read_all_group_messages"] is False


def test_anonymous_admin_messages(sim, group, alice, bob) -> None:
    sim.promote(group, bob, by=alice, is_anonymous=True)
    message = sim.send(bob, "/warn", chat=group, as_chat=True)
    assert message["from"]["id"] == 1087968824 and message["from"]["username"] == "GroupAnonymousBot"
    assert message["sender_chat"]["id"] == group.id


def test_reading_the_chat(sim, group, alice, bob) -> None:
    info = ok(sim, "getChat", chat_id=group.id)
    assert (info["id"], info["type"], info["title"]) == (group.id, "supergroup", "Club")
    assert info["permissions"]["can_send_messages"] is True
    admins = ok(sim, "getChatAdministrators", chat_id=group.id)
    assert {a["user"]["id"]: a["status"] for a in admins} == {alice.id: "creator", sim.bot.id: "administrator"}
    assert ok(sim, "getChatMemberCount", chat_id=group.id) == 3
    assert ok(sim, "getChatMember", chat_id=group.id, user_id=sim.user("zoe").id)["status"] == "left"
    primary = ok(sim, "exportChatInviteLink", chat_id=group.id)
    assert ok(sim, "getChat", chat_id=group.id)["invite_link"] == primary
    again = ok(sim, "exportChatInviteLink", chat_id=group.id)
    assert again != primary
    assert [li["is_revoked"] for li in sim.invite_links(group) if li["is_primary"]] == [True, False]


def test_edit_invite_link_replaces_every_setting(sim, group) -> None:
    link = ok(sim, "createChatInviteLink", chat_id=group.id, name="spring", member_limit=10)
    edited = ok(sim, "editChatInviteLink", chat_id=group.id, invite_link=link["invite_link"], name="summer")
    assert edited["name"] == "summer" and "member_limit" not in edited
    revoked = ok(sim, "revokeChatInviteLink", chat_id=group.id, invite_link=link["invite_link"])
    assert revoked["is_revoked"] is True
    assert refused(sim, "editChatInviteLink", chat_id=group.id, invite_link=link["invite_link"]) == (
        400, "Bad Request: INVITE_HASH_EXPIRED")
