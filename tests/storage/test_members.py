"""Members and groups in storage: status changes recorded once per update, admins replaced from Telegram's list."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from storage.groups import GroupRepo
from storage.members import AGAIN, RECORDED, MemberRepo, UserInfo
from storage.roles import RoleRepo

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
ALICE = UserInfo(1001, "Alice", "alice")


async def test_group_removed_keeps_data_and_comes_back(db):
    groups = GroupRepo(db)
    await groups.register(-1, "Tea", "supergroup", 7, NOW)
    await groups.set_setting(-1, "language", "zh", 7, NOW)
    await groups.deactivate(-1, NOW)
    assert (await groups.get(-1)).active is False
    await groups.register(-1, "Tea 2", "supergroup", 7, NOW)
    group = await groups.get(-1)
    assert group.active and group.title == "Tea 2" and group.removed_at is None
    assert await groups.settings(-1) == {"language": "zh"}


async def test_the_same_update_is_recorded_once(db):
    await GroupRepo(db).register(-1, "Tea", "supergroup", None, NOW)
    members = MemberRepo(db)
    assert await members.record_status(-1, ALICE, "member", None, NOW, event="join", update_id=42) == RECORDED
    # The same update handled again (its first handling cut short by a crash): said so, and nothing written twice.
    later = NOW + timedelta(minutes=5)
    assert await members.record_status(-1, ALICE, "member", None, later, event="join", update_id=42) == AGAIN
    assert await db.fetchval("SELECT COUNT(*) FROM member_events") == 1
    assert (await members.get(-1, 1001)).joined_at == NOW


async def test_leave_then_rejoin_clears_left_at(db):
    await GroupRepo(db).register(-1, "Tea", "supergroup", None, NOW)
    members = MemberRepo(db)
    await members.record_status(-1, ALICE, "member", None, NOW, event="join", update_id=1)
    await members.record_status(-1, ALICE, "left", None, NOW, event="leave", update_id=2)
    assert not (await members.get(-1, 1001)).present
    await members.record_status(-1, ALICE, "member", None, NOW, event="join", update_id=3)
    member = await members.get(-1, 1001)
    assert member.present and member.left_at is None


async def test_replace_admins_demotes_those_no_longer_listed(db):
    await GroupRepo(db).register(-1, "Tea", "supergroup", None, NOW)
    members = MemberRepo(db)
    bob = UserInfo(1002, "Bob", "bob")
    await members.replace_admins(-1, [(ALICE, "owner"), (bob, "admin")], NOW)
    await members.replace_admins(-1, [(ALICE, "owner")], NOW)
    assert (await members.get(-1, 1002)).tg_role is None
    assert (await members.get(-1, 1002)).status == "member"
    assert (await members.get(-1, 1001)).tg_role == "owner"


async def test_username_moves_to_its_newest_holder(db):
    await GroupRepo(db).register(-1, "Tea", "supergroup", None, NOW)
    members = MemberRepo(db)
    await members.seen(-1, ALICE, NOW)
    await members.seen(-1, UserInfo(1005, "New Alice", "alice"), NOW)
    assert (await members.by_username(-1, "@ALICE")).user.user_id == 1005


async def test_role_change_and_audit_are_one_transaction(db):
    await GroupRepo(db).register(-1, "Tea", "supergroup", None, NOW)
    await MemberRepo(db).seen(-1, ALICE, NOW)
    roles = RoleRepo(db)
    assert await roles.set_community_role(-1, 1001, "activator", "set", "activator", 7, "warm", NOW)
    assert not await roles.set_community_role(-1, 1001, "activator", "set", "activator", 7, "again", NOW)
    history = await roles.history(-1)
    assert [(h.change, h.role, h.actor_id, h.reason) for h in history] == [("set", "activator", 7, "warm")]
