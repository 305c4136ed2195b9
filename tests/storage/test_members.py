"""Members and groups in storage: status changes recorded once per update, admins replaced from Telegram's list."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from storage.db import iso
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


async def test_each_admin_stint_is_recorded_with_its_times_in_the_change_s_own_transaction(db):
    await GroupRepo(db).register(-1, "Tea", "supergroup", None, NOW)
    members = MemberRepo(db)
    bob, carol = UserInfo(1002, "Bob", "bob"), UserInfo(1003, "Carol", "carol")
    t = [NOW + timedelta(hours=h) for h in range(6)]

    async def stints():
        return [tuple(r) for r in await db.fetchall("SELECT user_id, since, until FROM admin_spans ORDER BY id")]

    # Sticky's first look: whoever is an admin then was one before it too, as far as anything it counts goes.
    await members.replace_admins(-1, [(ALICE, "owner")], t[0])
    await members.record_status(-1, bob, "member", None, t[0], event="join", update_id=1)
    await members.record_status(-1, bob, "administrator", "admin", t[1], update_id=2)   # promoted (chat_member)
    await members.record_status(-1, bob, "administrator", "admin", t[2], update_id=3)   # told again: no second stint
    await members.record_status(-1, bob, "member", None, t[3], update_id=4)            # demoted
    await members.record_status(-1, ALICE, "creator", "owner", t[3], update_id=5)      # no change
    await members.record_status(-1, carol, "member", None, t[0], event="join", update_id=6)
    # Carol's promotion and the owner's leaving reach Sticky only through Telegram's list: known from then on.
    await members.replace_admins(-1, [(carol, "admin")], t[4])
    assert await stints() == [(1001, None, iso(t[4])), (1002, iso(t[1]), iso(t[3])), (1003, iso(t[4]), None)]


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


def _one_at_a_time(conn, sightings):
    """The sightings written one by one, in order, as before they were batched: what a batch must leave."""
    for chat_id, user, now, said in sightings:
        conn.execute(
            "INSERT INTO users(user_id, username, first_name, last_name, is_bot, language_code, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET username = excluded.username,"
            " first_name = excluded.first_name, last_name = excluded.last_name, is_bot = excluded.is_bot,"
            " language_code = COALESCE(excluded.language_code, users.language_code), updated_at = excluded.updated_at",
            (user.user_id, user.username, user.first_name, user.last_name, int(user.is_bot), user.language_code, now))
        if user.username:
            conn.execute("UPDATE users SET username = NULL WHERE username = ? COLLATE NOCASE AND user_id != ?",
                         (user.username, user.user_id))
        conn.execute(
            "INSERT INTO members(chat_id, user_id, status, first_seen_at, last_seen_at) VALUES (?, ?, 'member', ?, ?)"
            " ON CONFLICT(chat_id, user_id) DO UPDATE SET last_seen_at = excluded.last_seen_at,"
            " status = CASE WHEN members.status IN ('left', 'kicked')"
            " AND (? IS NULL OR members.left_at IS NULL OR ? > members.left_at) THEN 'member' ELSE members.status END",
            (chat_id, user.user_id, now, now, said, said))


async def _batched(db, members, sightings):
    """Each sighting through MemberRepo.seen, all while the writer is busy: they are written as one batch."""
    import asyncio

    db.holds.reset()
    async with db.transaction():
        tasks = [asyncio.ensure_future(members.seen(chat_id, user, now, said)) for chat_id, user, now, said in sightings]
        await asyncio.sleep(0.01)
    await asyncio.gather(*tasks)
    assert db.holds.count == 2  # the busy transaction, then the whole batch in one


async def test_two_accounts_trading_usernames_in_one_batch_end_with_the_later_write(db):
    await GroupRepo(db).register(-1, "Tea", "supergroup", None, NOW)
    members = MemberRepo(db)
    bob, carol = UserInfo(1002, "Bob", "bob"), UserInfo(1003, "Carol", "carol")
    await members.seen(-1, ALICE, NOW)
    await members.seen(-1, bob, NOW)
    await members.seen(-1, carol, NOW)
    # Alice and Bob swap names; then Carol takes "Alice" (any letter case), and Alice takes it back last.
    await _batched(db, members, [(-1, UserInfo(1001, "Alice", "bob"), NOW, None), (-1, UserInfo(1002, "Bob", "alice"), NOW, None)])
    assert (await members.by_username(-1, "@bob")).user.user_id == 1001
    assert (await members.by_username(-1, "@alice")).user.user_id == 1002
    await _batched(db, members, [(-1, UserInfo(1003, "Carol", "ALICE"), NOW, None), (-1, UserInfo(1001, "Alice", "Alice"), NOW, None)])
    assert (await members.by_username(-1, "@alice")).user.user_id == 1001
    assert (await members.user(1003)).username is None  # Carol's claim lost to the later one; she gave up "carol"
    assert (await members.user(1002)).username is None  # Bob held "alice" and lost it to both claims
    assert (await members.by_username(-1, "@bob")) is None  # Alice let go of "bob" in the second batch


async def test_a_batch_of_sightings_leaves_what_writing_them_one_by_one_leaves(tmp_path):
    """Random batches (repeated users and members, names moving in any letter case, languages given or not,
    members who left before or after the message) against the same sightings written one at a time."""
    import random

    from storage.db import Database, iso

    batched, reference = Database(tmp_path / "batched.db"), Database(tmp_path / "reference.db")
    await batched.open()
    await reference.open()
    try:
        repos = {batched: MemberRepo(batched), reference: MemberRepo(reference)}
        for db in repos:
            for chat_id in (-1, -2):
                await GroupRepo(db).register(chat_id, "Tea", "supergroup", None, NOW)
        rng = random.Random(8)
        names = ["amy", "AMY", "bo", "cy", None]
        minute = 0
        for step in range(120):
            minute += 1
            at = NOW.replace(hour=10) + __import__("datetime").timedelta(minutes=minute)
            if rng.random() < 0.3:  # someone leaves (or is removed) first
                who, chat_id = rng.randrange(2000, 2006), rng.choice((-1, -2))
                status = rng.choice(("left", "kicked"))
                for db, members in repos.items():
                    await members.record_status(chat_id, UserInfo(who, f"U{who}"), status, None, at,
                                                event="leave" if status == "left" else "removed", update_id=step)
            sightings = []
            for _ in range(rng.randrange(1, 9)):
                minute += 1
                now = NOW.replace(hour=10) + __import__("datetime").timedelta(minutes=minute)
                who = rng.randrange(2000, 2006)
                user = UserInfo(who, rng.choice(("Ann", "Ben")), rng.choice(names), rng.choice((None, "X")),
                                False, rng.choice((None, "en", "zh")))
                said = rng.choice((None, "old", "new"))
                said_at = None if said is None else (now if said == "new" else NOW)
                sightings.append((rng.choice((-1, -2)), user, now, said_at))
            await _batched(batched, repos[batched], sightings)
            await reference.write(_one_at_a_time, [(c, u, iso(n), iso(s) if s else None) for c, u, n, s in sightings])
            for table in ("SELECT * FROM users ORDER BY user_id", "SELECT * FROM members ORDER BY chat_id, user_id"):
                got = [tuple(r) for r in await batched.fetchall(table)]
                want = [tuple(r) for r in await reference.fetchall(table)]
                assert got == want, (step, table, sightings)
    finally:
        await batched.close()
        await reference.close()
