"""Shared staging for the join-funnel tests: screening on, a newcomer joining (with their pending check), answering the
check, a timeout, a quiet club behind join requests, personal invite links and referral rows."""
from __future__ import annotations

from tests.helpers import say

TIMEOUT_SECONDS = 131  # the 120 s deadline, plus the slack for answers in flight


async def screening_on(pg, g, mode: str = "button") -> None:
    await say(pg, g.admin, "/set screening on", g.chat)
    if mode != "button":
        await say(pg, g.admin, f"/set captcha_mode {mode}", g.chat)


async def pending(pg, chat, user):
    return await pg.services.funnel.repo.pending_check(chat.id, user.id)


def prompt_message(pg, chat_or_user, check):
    return next(m for m in pg.sim.messages(chat_or_user) if m["message_id"] == check.prompt_message_id)


def right(check) -> str:
    return f"cap:{check.id}:{check.choices.index(check.answers[0])}"


def wrong(check) -> str:
    return f"cap:{check.id}:{next(i for i, c in enumerate(check.choices) if c != check.answers[0])}"


def can_send(pg, chat, user) -> bool:
    m = pg.sim.member(chat, user)
    return m["status"] in ("member", "administrator", "creator") or (m["status"] == "restricted" and m["can_send_messages"])


async def run_job(pg, name):
    jobs = pg.app.job_queue.get_jobs_by_name(name)
    assert jobs, f"no job {name}"
    await jobs[0].run(pg.app)
    await pg.settle()


async def join(pg, chat, name: str = "dave", link: str | None = None):
    """A new user joins (through `link` if given) and the bot handles it."""
    user = pg.sim.user(name)
    pg.sim.join(chat, user, link=link)
    await pg.settle()
    return user


async def newcomer(pg, chat, name: str = "dave", link: str | None = None):
    """A new user joins; returns them and their pending check (None when nobody screens them)."""
    user = await join(pg, chat, name, link)
    return user, await pending(pg, chat, user)


async def press(pg, where, user, check, good: bool = True) -> None:
    """`user` presses the right (or a wrong) button of `check`'s prompt, shown in `where` (the group or their chat)."""
    pg.sim.press(user, prompt_message(pg, where, check), right(check) if good else wrong(check))
    await pg.settle()


async def time_out(pg, chat, user) -> None:
    """The check's deadline passes unanswered and its timeout job runs."""
    pg.clock.advance(seconds=TIMEOUT_SECONDS)
    await run_job(pg, f"captcha:{chat.id}:{user.id}")


async def quiet_club(pg):
    """A group behind join requests, with screening on."""
    owner = pg.sim.user("owner")
    chat = pg.sim.create_group("Quiet Club", owner=owner, join_by_request=True)
    pg.sim.add_bot(chat, by=owner)
    await pg.settle()
    await say(pg, owner, "/set screening on", chat)
    return chat


async def member_with_link(pg, chat, name="alice"):
    """A member of the quiet club (let in after passing) with her personal join-request link and deep-link code."""
    alice, check = await newcomer(pg, chat, name)
    await press(pg, alice, alice, check)
    text = await say(pg, alice, "/invite", chat)
    code = text.split("start=ref_")[1].split()[0]
    [link] = [l for l in pg.sim.invite_links(chat) if l.get("name", "").endswith(f"#{alice.id}")]
    return alice, link["invite_link"], code


async def link_of(pg, g, user) -> str:
    await say(pg, user, "/invite", g.chat)
    return next(l["invite_link"] for l in pg.sim.invite_links(g.chat) if l.get("name", "").endswith(f"#{user.id}"))


async def referrals(pg, chat):
    return await pg.services.db.fetchall("SELECT * FROM referrals WHERE chat_id = ? ORDER BY id", (chat.id,))


async def ledger(pg, chat, user, reason=None):
    rows = await pg.services.db.fetchall("SELECT * FROM ledger WHERE chat_id = ? AND user_id = ? ORDER BY id", (chat.id, user.id))
    return [r for r in rows if reason is None or r["reason"] == reason]


async def stay_and_speak(pg, g, user, hours=24):
    pg.clock.advance(hours=hours)
    pg.sim.send(user, "hello everyone", g.chat)
    await pg.settle()


async def confirmed_invitee(pg, g, inviter, name="dave"):
    """Someone joins through `inviter`'s personal link, stays 24 h and speaks: the referral is confirmed."""
    url = await link_of(pg, g, inviter)
    user = await join(pg, g.chat, name, link=url)
    await stay_and_speak(pg, g, user)
    return user


async def passed_left_and_back(pg, g, hours):
    """With screening on, Dave joins, passes his check, leaves and comes back `hours` later; returns him and that check."""
    await screening_on(pg, g)
    dave, check = await newcomer(pg, g.chat)
    await press(pg, g.chat, dave, check)
    pg.sim.leave(g.chat, dave)
    pg.clock.advance(hours=hours)
    pg.sim.join(g.chat, dave)
    await pg.settle()
    return dave, check
