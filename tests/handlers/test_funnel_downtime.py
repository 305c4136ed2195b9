"""Answers that wait in Telegram's queue while the bot is down: an answer given in time counts however late it is
handled (a message by its own date, a button press while its check is still open after the restart), and a real
timeout removes the newcomer with the timeout text."""
from __future__ import annotations

from tests.handlers.funnel_helpers import can_send, newcomer, prompt_message, right, run_job, screening_on
from tests.helpers import say


async def sweep_at_start(pg) -> None:
    """The sweep runs first=0 at start, before the backlog of updates is handled (no settle here)."""
    [job] = pg.app.job_queue.get_jobs_by_name("funnel:sweep")
    await job.run(pg.app)


async def question_group(pg, g):
    await say(pg, g.admin, "/setcaptcha What do we drink here? | tea", g.chat)
    await screening_on(pg, g, "question")
    dave, check = await newcomer(pg, g.chat)
    assert "What do we drink" in await say(pg, dave, f"/start cap_{check.id}")
    return dave, check


async def test_a_typed_answer_sent_in_time_but_handled_after_the_deadline_passes(pg, group):
    dave, check = await question_group(pg, group)
    pg.clock.advance(seconds=100)
    pg.sim.send(dave, "tea")  # sent at 100 s of 120 ...
    pg.clock.advance(seconds=200)  # ... and the bot was down until 300 s
    await pg.restart()
    await sweep_at_start(pg)
    assert (await pg.services.funnel.repo.check(check.id)).status == "pending"
    await pg.settle()
    assert pg.sim.replies(dave)[-1]["text"] == "Correct! Welcome to Tea Lovers."
    assert (await pg.services.funnel.repo.check(check.id)).status == "passed"
    assert can_send(pg, group.chat, dave)
    assert not [c for c in pg.sim.calls("banChatMember") if c.params["user_id"] == dave.id]


async def test_a_button_pressed_in_time_while_the_bot_was_down_passes(pg, group):
    await screening_on(pg, group)
    dave, check = await newcomer(pg, group.chat)
    pg.clock.advance(seconds=90)
    pg.sim.press(dave, prompt_message(pg, group.chat, check), right(check))  # in time; the bot is down
    pg.clock.advance(minutes=10)
    await pg.restart()
    await sweep_at_start(pg)  # expired during the downtime: kept open for the grace, not removed
    assert pg.sim.member(group.chat, dave)["status"] == "restricted"
    assert pg.app.job_queue.get_jobs_by_name(f"captcha:{group.chat.id}:{dave.id}")
    await pg.settle()
    assert (await pg.services.funnel.repo.check(check.id)).status == "passed"
    assert can_send(pg, group.chat, dave)


async def test_a_button_pressed_after_the_deadline_while_the_bot_was_down_passes_within_the_grace(pg, group):
    """What README says Sticky cannot tell apart: a press has no time of its own, so one made after the deadline
    while the bot was down counts as one made in time, for late_grace_seconds after the restart (on purpose)."""
    await screening_on(pg, group)
    dave, check = await newcomer(pg, group.chat)
    pg.clock.advance(minutes=5)
    pg.sim.press(dave, prompt_message(pg, group.chat, check), right(check))  # 3 minutes after the deadline; down
    pg.clock.advance(minutes=5)
    await pg.restart()
    await sweep_at_start(pg)
    await pg.settle()
    assert (await pg.services.funnel.repo.check(check.id)).status == "passed"
    assert can_send(pg, group.chat, dave)


async def test_an_unanswered_check_that_expired_during_downtime_is_removed_after_the_grace(pg, group):
    await screening_on(pg, group)
    dave, check = await newcomer(pg, group.chat)
    pg.clock.advance(minutes=10)
    await pg.restart()
    await run_job(pg, "funnel:sweep")
    assert pg.sim.member(group.chat, dave)["status"] == "restricted"
    pg.clock.advance(seconds=71)  # late_grace_seconds after the start, plus the slack
    await run_job(pg, f"captcha:{group.chat.id}:{dave.id}")
    assert pg.sim.member(group.chat, dave)["status"] == "left"
    assert (await pg.services.funnel.repo.check(check.id)).status == "timeout"


async def test_a_typed_answer_sent_after_the_deadline_removes_with_the_timeout_text(pg, group):
    dave, check = await question_group(pg, group)
    pg.clock.advance(seconds=121)  # 1 s late: the slack only delays closing, a late answer is still late
    assert await say(pg, dave, "tea") == "Time is up: I could not let you into Tea Lovers."
    assert pg.sim.member(group.chat, dave)["status"] == "left"
    assert (await pg.services.funnel.repo.check(check.id)).status == "timeout"


async def test_a_wrong_typed_answer_still_gets_the_failure_text(pg, group):
    dave, check = await question_group(pg, group)
    assert "Not quite" in await say(pg, dave, "coffee")
    assert await say(pg, dave, "juice") == "That was not right, so I could not let you into Tea Lovers."
    assert (await pg.services.funnel.repo.check(check.id)).status == "failed"


async def test_an_answer_sent_just_before_the_deadline_and_received_just_after_passes_while_running(pg, group):
    """The timeout job waits a few seconds past the deadline for answers in flight; the answer's own date decides."""
    dave, check = await question_group(pg, group)
    pg.clock.advance(seconds=119)
    pg.sim.send(dave, "tea")  # sent 1 s before the deadline ...
    pg.clock.advance(seconds=2)  # ... and the timeout job fires before it is handled, 1 s after the deadline
    [job] = pg.app.job_queue.get_jobs_by_name(f"captcha:{group.chat.id}:{dave.id}")
    await job.run(pg.app)
    assert pg.sim.member(group.chat, dave)["status"] == "restricted"
    await pg.settle()
    assert pg.sim.replies(dave)[-1]["text"] == "Correct! Welcome to Tea Lovers."
    assert (await pg.services.funnel.repo.check(check.id)).status == "passed"
    assert can_send(pg, group.chat, dave)


async def test_the_timeout_job_is_armed_a_little_after_the_deadline_and_then_removes(pg, group):
    from bot.services.funnel import EXPIRY_SLACK

    dave, check = await question_group(pg, group)
    [job] = pg.app.job_queue.get_jobs_by_name(f"captcha:{group.chat.id}:{dave.id}")
    assert job.data == check.id
    pg.clock.advance(seconds=120)
    await job.run(pg.app)  # at the deadline: answers may still be on their way
    await pg.settle()
    assert pg.sim.member(group.chat, dave)["status"] == "restricted"
    pg.clock.advance(seconds=EXPIRY_SLACK.total_seconds())
    await run_job(pg, f"captcha:{group.chat.id}:{dave.id}")
    assert pg.sim.member(group.chat, dave)["status"] == "left"
    assert (await pg.services.funnel.repo.check(check.id)).status == "timeout"
