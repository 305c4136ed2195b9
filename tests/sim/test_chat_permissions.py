"""The group's default permissions (setChatPermissions, getChat) as Telegram enforces them on what members send:
a read-only group refuses members' messages but not administrators' or the owner's; a member restricted on top
gets the stricter of both; use_independent_chat_permissions decides whether one permission implies others, so a
restore of what getChat showed is exact only with it; people change permissions in the app only with the right."""
from __future__ import annotations

import pytest

from bot.sim import FakeTelegram, SimError
from bot.sim.state import PERMISSIONS

from .conftest import ok

SENDING = ("can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
           "can_send_video_notes", "can_send_voice_notes", "can_send_polls", "can_send_other_messages",
           "can_add_web_page_previews")


def shown(sim, group) -> dict[str, bool]:
    return ok(sim, "getChat", chat_id=group.id)["permissions"]


def test_a_read_only_group_refuses_members_but_not_admins_or_the_owner(sim: FakeTelegram, group, alice, bob, carol) -> None:
    sim.join(group, carol)
    sim.promote(group, carol, by=alice)
    before = shown(sim, group)
    read_only = {**before, **{p: False for p in SENDING}}
    assert ok(sim, "setChatPermissions", chat_id=group.id, permissions=read_only, use_independent_chat_permissions=True)
    assert shown(sim, group) == read_only
    with pytest.raises(SimError, match="members can't send messages"):
        sim.send(bob, "anyone up?", group)
    sim.send(alice, "the owner still can", group)
    sim.send(carol, "and so can an admin", group)
    assert ok(sim, "setChatPermissions", chat_id=group.id, permissions=before, use_independent_chat_permissions=True)
    assert shown(sim, group) == before
    sim.send(bob, "good morning", group)


def test_a_restricted_member_gets_the_stricter_of_the_two(sim, group, bob) -> None:
    ok(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id, use_independent_chat_permissions=True,
       permissions={p: True for p in PERMISSIONS})  # every permission: plain membership again
    ok(sim, "restrictChatMember", chat_id=group.id, user_id=bob.id, use_independent_chat_permissions=True,
       permissions={"can_send_messages": True})
    ok(sim, "setChatPermissions", chat_id=group.id, permissions={"can_send_messages": False},
       use_independent_chat_permissions=True)
    with pytest.raises(SimError):
        sim.send(bob, "my own permission says yes", group)


def test_only_independent_permissions_restore_exactly(sim, group) -> None:
    wanted = {p: False for p in PERMISSIONS} | {"can_send_other_messages": True, "can_invite_users": True}
    ok(sim, "setChatPermissions", chat_id=group.id, permissions=wanted)
    implied = shown(sim, group)
    assert implied["can_send_messages"] and implied["can_send_photos"]  # stickers imply text and media
    ok(sim, "setChatPermissions", chat_id=group.id, permissions=wanted, use_independent_chat_permissions=True)
    assert shown(sim, group) == wanted


def test_people_change_permissions_in_the_app_only_with_the_right(sim, group, alice, bob, carol) -> None:
    sim.join(group, carol)
    sim.promote(group, carol, by=alice, can_restrict_members=False)
    with pytest.raises(SimError):
        sim.set_permissions(group, by=carol, can_send_polls=False)
    with pytest.raises(SimError):
        sim.set_permissions(group, by=bob, can_send_polls=False)
    sim.take_updates()
    after = sim.set_permissions(group, by=alice, can_send_polls=False)
    assert after["can_send_polls"] is False and after["can_send_messages"] is True
    assert shown(sim, group) == after
    assert sim.take_updates() == []  # Telegram tells the bot nothing about it
