"""/roles, /setrole and /unsetrole through the real Application: the pyramid, every way to name a member,
the audit trail, and one clear line for every refusal."""
from __future__ import annotations

from bot.texts import translator
from tests.helpers import assert_one_line_refusals, say

REFUSED_NOT_ADMIN = "Only Admin and above can use this command."
SETROLE_USAGE = "Usage: /setrole @username|id|(reply) activator|spreader [reason]"
UNSETROLE_USAGE = "Usage: /unsetrole @username|id|(reply) activator|spreader"
NOT_ASSIGNABLE = "Only activator and spreader can be given; owner and admin follow Telegram."
NO_TARGET = "Whom do you mean? Reply to their message, or give @username or their numeric id."


async def audit(pg, chat) -> list[tuple]:
    """The community-role part of the audit (Telegram's promotions are there too, with change promoted/demoted)."""
    rows = await pg.services.db.fetchall(
        "SELECT actor_id, target_id, change, role, reason FROM role_audit"
        " WHERE chat_id = ? AND change IN ('set', 'unset') ORDER BY id", (chat.id,)
    )
    return [tuple(r) for r in rows]


async def community_role(pg, chat, user) -> str | None:
    return await pg.services.db.fetchval(
        "SELECT community_role FROM members WHERE chat_id = ? AND user_id = ?", (chat.id, user.id)
    )


async def test_roles_shows_the_pyramid_with_names_duties_and_counts(pg, group):
    assert await say(pg, group.alice, "/roles", group.chat) == (
        "Roles in Tea Lovers\n"
        "Owner (1) — leads the group\n  Owner\n"
        "Admin (1) — rewards and moderates\n  Admin\n"
        "Activator (0) — keeps the mood up\n  —\n"
        "Spreader (0) — brings news and new people\n  —\n"
        "Member (3) — takes part\n  Alice, Bob, Carol"
    )
    await say(pg, group.owner, "/setrole @alice activator", group.chat)
    await say(pg, group.owner, "/setrole @bob spreader", group.chat)
    text = await say(pg, group.carol, "/roles", group.chat)
    assert "Activator (1) — keeps the mood up\n  Alice\n" in text
    assert "Spreader (1) — brings news and new people\n  Bob\n" in text
    assert text.endswith("Member (1) — takes part\n  Carol")


async def test_a_long_role_list_names_the_first_fifteen_and_counts_the_rest(pg, group):
    for i in range(20):
        pg.sim.join(group.chat, pg.sim.user(f"guest{i:02d}"))
    await pg.settle()
    members = (await say(pg, group.alice, "/roles", group.chat)).split("Member (23) — takes part\n  ")[1]
    assert len(members.split(" and ")[0].split(", ")) == 15 and members.endswith(" and 8 more")


async def test_roles_pyramid_leaves_out_bots_and_people_who_left(pg, group):
    pg.sim.leave(group.chat, group.carol)
    await pg.settle()
    text = await say(pg, group.alice, "/roles", group.chat)
    assert text.endswith("Member (2) — takes part\n  Alice, Bob")
    assert "Sticky" not in text.split("\n", 1)[1]  # the bot itself is an admin in Telegram, not in the pyramid


async def test_setrole_by_reply_stores_the_reason_in_the_audit(pg, group):
    message = pg.sim.send(group.alice, "I run the Friday quiz", group.chat)
    await pg.settle()
    answer = await say(pg, group.owner, "/setrole activator runs the Friday quiz", group.chat, reply_to=message)
    assert answer == "Alice is now Activator."
    assert await community_role(pg, group.chat, group.alice) == "activator"
    assert await audit(pg, group.chat) == [(group.owner.id, group.alice.id, "set", "activator", "runs the Friday quiz")]
    # The answer replies to the command, so the group sees who asked.
    reply = pg.sim.replies(group.chat)[-1]
    assert reply["reply_to_message"]["from"]["id"] == group.owner.id


async def test_setrole_by_username_any_case_by_a_telegram_admin(pg, group):
    assert await say(pg, group.admin, "/setrole @BOB spreader", group.chat) == "Bob is now Spreader."
    assert await community_role(pg, group.chat, group.bob) == "spreader"
    assert await audit(pg, group.chat) == [(group.admin.id, group.bob.id, "set", "spreader", None)]


async def test_setrole_by_numeric_id(pg, group):
    assert await say(pg, group.owner, f"/setrole {group.carol.id} spreader brings friends", group.chat) == "Carol is now Spreader."
    assert await audit(pg, group.chat) == [(group.owner.id, group.carol.id, "set", "spreader", "brings friends")]


async def test_setrole_by_the_id_of_someone_only_telegram_knows(pg, group):
    """Dave joined while the bot missed the update and never wrote: Telegram (getChatMember) still knows him."""
    dave = pg.sim.user("dave")
    pg.sim.join(group.chat, dave)
    pg.sim.take_updates()  # the bot never hears of the join
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM members WHERE user_id = ?", (dave.id,)) == 0

    assert await say(pg, group.owner, f"/setrole {dave.id} spreader", group.chat) == "Dave is now Spreader."
    asked = [c for c in pg.sim.calls("getChatMember") if c.params.get("user_id") == dave.id]
    assert asked and asked[-1].ok
    assert await community_role(pg, group.chat, dave) == "spreader"
    assert "Spreader (1) — brings news and new people\n  Dave" in await say(pg, group.alice, "/roles", group.chat)


async def test_unsetrole_by_reply_username_and_id(pg, group):
    for who in ("@alice", "@bob", "@carol"):
        await say(pg, group.owner, f"/setrole {who} activator", group.chat)
    message = pg.sim.send(group.alice, "thanks!", group.chat)
    await pg.settle()
    assert await say(pg, group.owner, "/unsetrole activator", group.chat, reply_to=message) == "Alice is no longer Activator."
    assert await say(pg, group.admin, "/unsetrole @bob activator", group.chat) == "Bob is no longer Activator."
    assert await say(pg, group.owner, f"/unsetrole {group.carol.id} activator", group.chat) == "Carol is no longer Activator."
    for user in (group.alice, group.bob, group.carol):
        assert await community_role(pg, group.chat, user) is None
    unsets = [row for row in await audit(pg, group.chat) if row[2] == "unset"]
    assert unsets == [
        (group.owner.id, group.alice.id, "unset", "activator", None),
        (group.admin.id, group.bob.id, "unset", "activator", None),
        (group.owner.id, group.carol.id, "unset", "activator", None),
    ]
    assert "Activator (0)" in await say(pg, group.alice, "/roles", group.chat)


async def test_a_reply_argument_naming_someone_else_wins_over_the_reply(pg, group):
    message = pg.sim.send(group.alice, "hello", group.chat)
    await pg.settle()
    assert await say(pg, group.owner, "/setrole @bob spreader", group.chat, reply_to=message) == "Bob is now Spreader."
    assert await community_role(pg, group.chat, group.alice) is None


REFUSALS = [
    ("/setrole activator", NO_TARGET),
    ("/unsetrole spreader", NO_TARGET),
    ("/setrole @nobody activator", "I haven't seen @nobody in this group yet. They need to write something first, or use their numeric id."),
    ("/setrole 99999 activator", "No member with id 99999 in this group."),
    ("/setrole 99999999999999999999999 activator", "No member with id 99999999999999999999999 in this group."),
    ("/setrole -5 activator", "No member with id -5 in this group."),
    ("/setrole @owner activator", "Nobody changes the owner's role."),
    ("/unsetrole @owner activator", "Nobody changes the owner's role."),
    ("/setrole @admin spreader", "Admins get their role from Telegram; demote them in Telegram first."),
    ("/setrole @StickyTestBot spreader", "That is a bot; community roles are for people."),
    ("/unsetrole @bob spreader", "Bob is not Spreader."),
    ("/setrole @alice king", SETROLE_USAGE),
    ("/setrole @alice admin", NOT_ASSIGNABLE),
    ("/setrole @alice Owner", NOT_ASSIGNABLE),
    ("/setrole @alice member", NOT_ASSIGNABLE),
    ("/unsetrole @admin admin", NOT_ASSIGNABLE),
    ("/setrole @nobody admin", NOT_ASSIGNABLE),  # the role is wrong whoever it is for
    ("/setrole @alice", SETROLE_USAGE),
    ("/setrole", SETROLE_USAGE),
    ("/setrole ² activator", SETROLE_USAGE),
    ("/unsetrole @alice", UNSETROLE_USAGE),
    ("/unsetrole @alice activator extra", UNSETROLE_USAGE),
]


async def test_refusals_are_one_clear_line_and_change_nothing(pg, group):
    # One group for the whole table (each refusal must leave it as it was, so they cannot disturb each other).
    async def roles_and_audit():
        count = await pg.services.db.fetchval("SELECT COUNT(*) FROM members WHERE community_role IS NOT NULL")
        return count, await audit(pg, group.chat)

    assert await roles_and_audit() == (0, [])
    await assert_one_line_refusals(pg, group.owner, group.chat, REFUSALS, roles_and_audit)


async def test_setting_a_role_they_have_or_unsetting_one_they_lack(pg, group):
    await say(pg, group.owner, "/setrole @alice activator", group.chat)
    assert await say(pg, group.admin, "/setrole @alice activator", group.chat) == "Alice is already Activator."
    assert await say(pg, group.admin, "/unsetrole @alice spreader", group.chat) == "Alice is not Spreader."
    assert len(await audit(pg, group.chat)) == 1
    assert await community_role(pg, group.chat, group.alice) == "activator"


async def test_changing_from_one_community_role_to_the_other(pg, group):
    await say(pg, group.owner, "/setrole @alice activator", group.chat)
    assert await say(pg, group.owner, "/setrole @alice spreader", group.chat) == "Alice is now Spreader."
    assert await community_role(pg, group.chat, group.alice) == "spreader"


async def test_a_target_who_left_is_refused_by_name_and_by_reply(pg, group):
    old_message = pg.sim.send(group.carol, "bye all", group.chat)
    await pg.settle()
    pg.sim.leave(group.chat, group.carol)
    await pg.settle()
    assert await say(pg, group.owner, "/setrole @carol activator", group.chat) == "Carol is not in this group."
    assert await say(pg, group.owner, f"/setrole {group.carol.id} activator", group.chat) == "Carol is not in this group."
    assert await say(pg, group.owner, "/setrole activator", group.chat, reply_to=old_message) == "Carol is not in this group."
    assert await community_role(pg, group.chat, group.carol) is None
    assert "Carol" not in await say(pg, group.alice, "/roles", group.chat)


async def test_replying_to_a_bot_or_to_a_message_sent_as_the_group(pg, group):
    greeting = pg.sim.replies(group.chat)[0]
    assert await say(pg, group.owner, "/setrole activator", group.chat, reply_to=greeting) == "That is a bot; community roles are for people."
    pg.sim.promote(group.chat, group.bob, by=group.owner, is_anonymous=True)
    anonymous = pg.sim.send(group.bob, "announcement", group.chat, as_chat=True)
    await pg.settle()
    assert await say(pg, group.owner, "/setrole activator", group.chat, reply_to=anonymous) == "That message was sent as a chat, not by a person."


async def test_members_and_community_roles_may_not_assign_roles(pg, group):
    await say(pg, group.owner, "/setrole @alice activator", group.chat)
    for user in (group.alice, group.bob):
        assert await say(pg, user, "/setrole @carol spreader", group.chat) == REFUSED_NOT_ADMIN
        assert await say(pg, user, "/unsetrole @alice activator", group.chat) == REFUSED_NOT_ADMIN
    assert await community_role(pg, group.chat, group.carol) is None
    assert await community_role(pg, group.chat, group.alice) == "activator"


async def test_group_commands_in_private_chat_say_where_they_work(pg, group):
    assert await say(pg, group.alice, "/roles") == "/roles works in your group: send it there."
    # An admin command in private acts on the connected group (/connect); without one, it says how.
    assert await say(pg, group.owner, "/setrole @alice activator") == (
        "/setrole acts on a group: send it there, or pick a group to manage from here with /connect.")
    assert await community_role(pg, group.chat, group.alice) is None


async def test_roles_survive_a_restart(pg, group):
    await say(pg, group.owner, "/setrole @alice activator", group.chat)
    await pg.restart()
    assert "Activator (1) — keeps the mood up\n  Alice" in await say(pg, group.bob, "/roles", group.chat)
    assert await say(pg, group.owner, "/setrole @alice activator", group.chat) == "Alice is already Activator."


async def test_refusals_name_the_person_and_the_reason_in_chinese(pg, group):
    await say(pg, group.owner, "/setrole @alice activator", group.chat)
    await say(pg, group.owner, "/lang zh", group.chat)
    assert await say(pg, group.admin, "/setrole @alice activator", group.chat) == "Alice 已经是活跃者。"
    assert await say(pg, group.admin, "/unsetrole @bob spreader", group.chat) == "Bob 不是传播者。"
    assert await say(pg, group.admin, "/setrole @bob admin", group.chat) == translator("zh")(
        "Only activator and spreader can be given; owner and admin follow Telegram."
    )
    assert await community_role(pg, group.chat, group.bob) is None
