"""Night mode through the real Application on the simulator: at the group's chosen hours members cannot post
(admins can), in the morning the permissions the group had come back exactly; a restart in the night still
reopens it, a restart in the morning (or a downtime over the whole night) never leaves it closed; an admin's
change during the night is kept; every bad input gets one line; English and Chinese."""
import json
from datetime import datetime, timezone

from bot.sim import SimError
from tests.helpers import assert_one_line_refusals, make_group, say

UTC = timezone.utc
SHANGHAI_2300 = datetime(2026, 12, 1, 15, 0, 3, tzinfo=UTC)  # 23:00 on Dec 1 in Shanghai
SHANGHAI_0700 = datetime(2026, 12, 1, 23, 0, 3, tzinfo=UTC)  # 07:00 on Dec 2


async def night_tick(pg):
    [job] = pg.app.job_queue.get_jobs_by_name("nightmode:tick")
    await job.run(pg.app)
    await pg.settle()


def permissions(pg, chat) -> dict:
    """The group's permissions as getChat shows them."""
    status, body = pg.sim.handle(pg.sim.token, "getChat", {"chat_id": str(chat.id)})
    assert status == 200
    return json.loads(body)["result"]["permissions"]


def can_post(pg, user, chat) -> bool:
    try:
        pg.sim.send(user, "still up?", chat)
    except SimError:
        return False
    return True


async def night_group(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))  # 20:00 in Shanghai
    await say(pg, group.owner, "/set timezone Asia/Shanghai", group.chat)
    # The group's own choice, to be restored exactly: no polls, no invites by members.
    return pg.sim.set_permissions(group.chat, by=group.owner, can_send_polls=False, can_invite_users=False)


async def test_the_group_is_read_only_at_night_and_opens_exactly_as_it_was(pg, group):
    before = await night_group(pg, group)
    assert await say(pg, group.owner, "/nightmode 23:00-07:00", group.chat) == (
        "Night mode on: from 23:00 to 07:00 (Asia/Shanghai) members can read but not post; admins can.")
    assert await say(pg, group.admin, "/nightmode", group.chat) == (
        "Night mode: 23:00-07:00 (Asia/Shanghai). The group is open; it closes at 23:00.")
    pg.clock.set(SHANGHAI_2300)
    await night_tick(pg)
    assert pg.sim.replies(group.chat)[-1]["text"] == "🌙 Night mode: the group is read-only until 07:00. Good night!"
    assert not can_post(pg, group.alice, group.chat)
    assert can_post(pg, group.admin, group.chat) and can_post(pg, group.owner, group.chat)
    shut = permissions(pg, group.chat)
    assert not any(shut[p] for p in ("can_send_messages", "can_send_photos", "can_send_other_messages"))
    await night_tick(pg)
    assert len(pg.sim.calls("setChatPermissions")) == 1  # a second look in the night does nothing
    pg.clock.set(SHANGHAI_0700)
    await night_tick(pg)
    assert pg.sim.replies(group.chat)[-1]["text"] == "☀️ Good morning! Night mode is over: everyone can post again."
    assert permissions(pg, group.chat) == before
    assert can_post(pg, group.alice, group.chat)
    assert all(c.ok and c.params["use_independent_chat_permissions"] for c in pg.sim.calls("setChatPermissions"))


async def test_a_restart_in_the_night_still_reopens_and_one_in_the_morning_never_leaves_it_closed(pg, group):
    before = await night_group(pg, group)
    await say(pg, group.owner, "/nightmode 23:00-07:00", group.chat)
    pg.clock.set(SHANGHAI_2300)
    await night_tick(pg)
    await pg.restart()  # 23:00: closed, then a restart in the night
    pg.clock.set(datetime(2026, 12, 1, 18, 0, tzinfo=UTC))  # 02:00
    await night_tick(pg)
    assert not can_post(pg, group.alice, group.chat)
    await pg.stop()  # down over the morning: back at 09:00
    pg.clock.set(datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    await pg.start()
    await night_tick(pg)
    assert permissions(pg, group.chat) == before and can_post(pg, group.alice, group.chat)
    await pg.stop()  # down over the whole next night: 22:00 to 08:00; nothing closes late in the morning
    pg.clock.set(datetime(2026, 12, 3, 0, 0, tzinfo=UTC))
    await pg.start()
    await night_tick(pg)
    assert len(pg.sim.calls("setChatPermissions")) == 2 and can_post(pg, group.alice, group.chat)


async def test_an_admins_change_during_the_night_stays_and_off_reopens_at_once(pg, group):
    await night_group(pg, group)
    await say(pg, group.owner, "/nightmode 23:00-07:00", group.chat)
    pg.clock.set(SHANGHAI_2300)
    await night_tick(pg)
    theirs = pg.sim.set_permissions(group.chat, by=group.owner, can_send_messages=True)  # "let them talk tonight"
    pg.clock.set(SHANGHAI_0700)
    await night_tick(pg)
    assert permissions(pg, group.chat) == theirs
    assert "Good morning" not in pg.sim.replies(group.chat)[-1]["text"]
    # Set during the night: closes at once; off: reopens at once.
    pg.clock.set(datetime(2026, 12, 2, 16, 0, tzinfo=UTC))  # 00:00 on Dec 3
    assert await say(pg, group.owner, "/nightmode 23:30-06:00", group.chat) == (
        "Night mode on: from 23:30 to 06:00 (Asia/Shanghai) members can read but not post; admins can."
        " Closed now, until 06:00.")
    assert not can_post(pg, group.alice, group.chat)
    assert await say(pg, group.owner, "/nightmode off", group.chat) == (
        "Night mode off. The group is open again, with the permissions it had before the night.")
    assert permissions(pg, group.chat) == theirs
    assert (await say(pg, group.owner, "/nightmode", group.chat)).startswith("Night mode is off.")


async def test_bad_night_mode_input_gets_one_line(pg, group):
    async def unchanged():
        return (await pg.services.nightmode.get(group.chat.id), permissions(pg, group.chat))

    await assert_one_line_refusals(pg, group.owner, group.chat, [
        ("/nightmode 23:00", "Night hours are HH:MM-HH:MM in group time, such as 23:00-07:00, or off."),
        ("/nightmode 25:00-07:00", "Night hours are HH:MM-HH:MM in group time, such as 23:00-07:00, or off."),
        ("/nightmode 07:00-07:00", "Night hours are HH:MM-HH:MM in group time, such as 23:00-07:00, or off."),
        ("/nightmode tonight", "Night hours are HH:MM-HH:MM in group time, such as 23:00-07:00, or off."),
    ], unchanged)
    assert await say(pg, group.alice, "/nightmode 23:00-07:00", group.chat) == "Only Admin and above can use this command."


async def test_without_the_right_to_restrict_it_says_so(pg):
    sim = pg.sim
    owner = sim.user("owner")
    chat = sim.create_group("No Rights", owner=owner)
    sim.add_bot(chat, by=owner, can_restrict_members=False)
    await pg.settle()
    assert await say(pg, owner, "/nightmode 23:00-07:00", chat) == (
        "To close the group at night I need the admin right to restrict members (Ban users).")
    assert await pg.services.nightmode.get(chat.id) is None


async def test_night_mode_in_chinese(pg, group):
    await night_group(pg, group)
    await say(pg, group.owner, "/lang zh", group.chat)
    assert await say(pg, group.owner, "/nightmode 23:00-07:00", group.chat) == (
        "夜间模式已开启：23:00 至 07:00（Asia/Shanghai）成员只能阅读，不能发言；管理员不受影响。")
    pg.clock.set(SHANGHAI_2300)
    await night_tick(pg)
    assert pg.sim.replies(group.chat)[-1]["text"] == "🌙 夜间模式：群组只读至 07:00。晚安！"
    pg.clock.set(SHANGHAI_0700)
    await night_tick(pg)
    assert pg.sim.replies(group.chat)[-1]["text"] == "☀️ 早上好！夜间模式结束，大家又可以发言了。"
    assert await say(pg, group.owner, "/nightmode 23", group.chat) == (
        "夜间时段格式为 HH:MM-HH:MM（群组时间），例如 23:00-07:00，或 off。")


async def test_an_answer_lost_on_closing_is_tried_again_and_the_morning_still_restores(pg, group):
    before = await night_group(pg, group)
    await say(pg, group.owner, "/nightmode 23:00-07:00", group.chat)
    pg.clock.set(SHANGHAI_2300)
    pg.sim.timeout_after_send("setChatPermissions")  # Telegram closed the group; the answer never came back
    await night_tick(pg)
    assert not can_post(pg, group.alice, group.chat)
    pg.clock.advance(minutes=5)
    await night_tick(pg)  # tried again: "not modified" means it holds
    assert pg.sim.replies(group.chat)[-1]["text"] == "🌙 Night mode: the group is read-only until 07:00. Good night!"
    pg.sim.network_error("setChatPermissions")  # the morning's first try never reaches Telegram
    pg.clock.set(SHANGHAI_0700)
    await night_tick(pg)
    assert not can_post(pg, group.alice, group.chat)
    pg.clock.advance(minutes=5)
    await night_tick(pg)
    assert permissions(pg, group.chat) == before and can_post(pg, group.alice, group.chat)


async def test_off_while_telegram_refuses_still_reopens_once_it_can(pg, group):
    before = await night_group(pg, group)
    await say(pg, group.owner, "/nightmode 23:00-07:00", group.chat)
    pg.clock.set(SHANGHAI_2300)
    await night_tick(pg)
    pg.sim.network_error("setChatPermissions")
    assert await say(pg, group.owner, "/nightmode off", group.chat) == (
        "Night mode off, but I could not reopen the group yet (Telegram refused); I will try again in a few minutes.")
    assert (await say(pg, group.owner, "/nightmode", group.chat)).startswith("Night mode is off.")
    pg.clock.advance(minutes=5)
    await night_tick(pg)  # still the night, but night mode is off: the group is opened, and that is the end of it
    assert permissions(pg, group.chat) == before and can_post(pg, group.alice, group.chat)
    assert await pg.services.db.fetchval("SELECT COUNT(*) FROM night_modes") == 0
