"""Join requests screened under SIGKILL, in the real `python -m bot run` process against the HTTP simulator: newcomers
ask to join a group behind approval through a member's invite link and are asked in private; the bot is killed five
times — before and after a question goes out, after an answer and before or after its approval or decline goes out,
and as two requests time out — and after the last restart every request was answered exactly once on Telegram's side
(approved after a right answer, declined after a wrong one or none; a second try is refused HIDE_REQUESTER_MISSING, as
Telegram does), none is left waiting, nobody is welcomed twice and each referral is confirmed once."""
from __future__ import annotations

import time

import pytest

from tests.e2e.test_run_process import command_answered, query, server, sim, start, wait_for  # noqa: F401 - fixtures

SHORT = 30  # the shortest captcha deadline Sticky accepts: the requests left to time out
DECIDED = ("approveChatJoinRequest", "declineChatJoinRequest")


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "data" / "sticky.db"
    (tmp_path / "config.yaml").write_text(
        "telegram:\n  poll_timeout: 1\n  rate_limit: false\n"
        f"database:\n  path: {path}\nlogging:\n  level: INFO\n"
        # A long deadline for those who answer (a slow machine must not time them out), a short one set later for
        # those who never do; no periodic sweep: what a kill leaves owed is done by the sweep at start; a referral is
        # confirmed at the first message after being let in.
        "funnel:\n  captcha_timeout_seconds: 300\n  captcha_retries: 0\n  sweep_seconds: 3600\n  late_grace_seconds: 0\n"
        "  referral:\n    stay_hours: 0\n    min_messages: 1\n"
    )
    return path


def check_of(db_path, user) -> tuple | None:
    rows = query(db_path, "SELECT id, choices, answers, status, action FROM captcha_checks WHERE user_id = ?", user.id)
    assert len(rows) <= 1, f"{user.username} has {len(rows)} checks"
    return rows[0] if rows else None


def question(sim, db_path, user) -> dict | None:
    """The latest question in the newcomer's private chat (it may have gone out twice: a kill after sending it)."""
    check = check_of(db_path, user)
    if check is None:
        return None
    asked = [m for m in sim.messages(user) if f"cap:{check[0]}:" in str(m.get("reply_markup"))]
    return asked[-1] if asked else None


def press(sim, db_path, user, good: bool) -> None:
    check_id, choices, answers, _, _ = check_of(db_path, user)
    options = choices.split("\n")
    index = options.index(answers) if good else next(i for i, c in enumerate(options) if c != answers)
    sim.press(user, question(sim, db_path, user), f"cap:{check_id}:{index}")


def hung(sim, method: str, before: int) -> bool:
    """Telegram carried out a `method` call injected with a lost answer: the bot is waiting on it."""
    return any(c.fault == "timeout" for c in sim.calls(method)[before:])


def welcomes(sim, chat) -> list[str]:
    return [m.get("text", "") for m in sim.replies(chat) if m.get("text", "").startswith("Welcome to Quiet Club")]


def test_join_requests_cut_by_sigkill_are_each_answered_once(sim, start, db_path):  # noqa: F811
    bot = start()
    owner, alice = sim.user("owner"), sim.user("alice")
    chat = sim.create_group("Quiet Club", owner=owner, join_by_request=True)
    sim.add_bot(chat, by=owner)
    sim.join(chat, alice, link=sim.create_invite_link(chat, by=owner))  # an owner's link that needs no approval
    sim.send(alice, "/start")  # her confirmations come to her privately
    wait_for(lambda: sim.replies(alice), "the answer to Alice's /start", bot)
    command_answered(sim, bot, owner, "/set screening on", chat)
    command_answered(sim, bot, alice, "/invite", chat)
    [url] = [l["invite_link"] for l in sim.invite_links(chat) if l.get("name", "").endswith(f"#{alice.id}")]
    began, greeted = time.monotonic(), len(welcomes(sim, chat))  # Alice's
    unsent, unanswered, offline = sim.user("unsent"), sim.user("unanswered"), sim.user("offline")
    fail_before, fail_after = sim.user("failbefore"), sim.user("failafter")
    passing, failing = [unsent, unanswered, offline], [fail_before, fail_after]

    # Kill 1: one question never reached Telegram, the next one went out and its answer was lost.
    sim.lost_answer_hold = 15.0
    mark = len(sim.calls("sendMessage"))
    sim.network_error("sendMessage")
    sim.timeout_after_send("sendMessage")
    for person in (unsent, unanswered, fail_before, fail_after):
        assert sim.join(chat, person, link=url) == "requested"
    wait_for(lambda: hung(sim, "sendMessage", mark), "the second question under way", bot)
    bot.kill()
    sim.clear_faults()
    assert question(sim, db_path, unsent) is None and question(sim, db_path, unanswered) is not None
    assert sim.join(chat, offline, link=url) == "requested"  # asks while the bot is down
    bot = start()
    wait_for(lambda: all(question(sim, db_path, p) for p in passing + failing), "a question to everyone who asked", bot)

    # Kill 2: a right answer whose approval has not gone out (its "correct" note hangs), and one whose approval
    # Telegram carried out without answering.
    mark = len(sim.calls("editMessageText"))
    sim.timeout_after_send("editMessageText")
    press(sim, db_path, unsent, good=True)
    wait_for(lambda: hung(sim, "editMessageText", mark), "the first note under way", bot)
    mark = len(sim.calls("approveChatJoinRequest"))
    sim.timeout_after_send("approveChatJoinRequest")
    press(sim, db_path, unanswered, good=True)
    wait_for(lambda: hung(sim, "approveChatJoinRequest", mark), "the approval under way", bot)
    # Their join, which Telegram reports at once, is welcomed meanwhile (the group's updates do not wait for a private
    # chat's): killed after it, not in the instant between its handled mark and its message.
    wait_for(lambda: any(unanswered.first_name in w for w in welcomes(sim, chat)), "the approved one welcomed", bot)
    bot.kill()
    sim.clear_faults()

    # Kill 3: a wrong answer that came while the bot was down; its note hangs before its decline.
    press(sim, db_path, fail_before, good=False)
    mark = len(sim.calls("editMessageText"))
    sim.timeout_after_send("editMessageText")
    bot = start()
    wait_for(lambda: hung(sim, "editMessageText", mark), "the wrong answer's note under way", bot)
    let_in = passing[:2]
    wait_for(lambda: all(sim.member(chat, p)["status"] == "member" for p in let_in)
             and all(any(p.first_name in w for w in welcomes(sim, chat)) for p in let_in), "the first two let in", bot)
    bot.kill()
    sim.clear_faults()

    # Kill 4: a right answer that came while the bot was down; then a wrong answer whose decline Telegram carried out
    # without answering.
    press(sim, db_path, offline, good=True)
    bot = start()
    wait_for(lambda: fail_before.id not in sim.join_requests(chat) and sim.member(chat, offline)["status"] == "member"
             and any(offline.first_name in w for w in welcomes(sim, chat)), "the first wrong answer declined, Offline in", bot)
    mark = len(sim.calls("declineChatJoinRequest"))
    sim.timeout_after_send("declineChatJoinRequest")
    press(sim, db_path, fail_after, good=False)
    wait_for(lambda: hung(sim, "declineChatJoinRequest", mark), "the decline under way", bot)
    bot.kill()
    sim.clear_faults()

    # Kill 5: two requests left unanswered time out; one's note hangs before its decline, the other's decline hangs.
    bot = start()
    command_answered(sim, bot, owner, f"/set captcha_timeout {SHORT}", chat)
    silent = [sim.user("silent1"), sim.user("silent2")]
    for person in silent:
        assert sim.join(chat, person, link=url) == "requested"
    asked = time.monotonic()
    wait_for(lambda: all(question(sim, db_path, p) for p in silent), "the silent ones asked", bot)
    for person in passing:  # meanwhile those let in say hello: their referrals are confirmed
        sim.send(person, f"hello from {person.first_name}", chat)
    wait_for(lambda: len(query(db_path, "SELECT 1 FROM referrals WHERE status = 'confirmed'")) == len(passing),
             "the referrals confirmed", bot)
    marks = len(sim.calls("editMessageText")), len(sim.calls("declineChatJoinRequest"))
    sim.timeout_after_send("editMessageText")
    sim.timeout_after_send("declineChatJoinRequest")
    time.sleep(max(0.0, asked + SHORT - time.monotonic()))
    wait_for(lambda: hung(sim, "editMessageText", marks[0]) and hung(sim, "declineChatJoinRequest", marks[1]),
             "both timeouts under way", bot, timeout=30.0)
    bot.kill()
    sim.clear_faults()
    bot = start()

    newcomers = passing + failing + silent
    settled = lambda: all((c := check_of(db_path, p)) and c[3] != "pending" and c[4] is None for p in newcomers)  # noqa: E731
    wait_for(lambda: settled() and not sim.join_requests(chat), "every request decided and answered", bot, timeout=20.0)
    assert [check_of(db_path, p)[3] for p in newcomers] == ["passed"] * 3 + ["failed"] * 2 + ["timeout"] * 2
    status = {p.username: sim.member(chat, p)["status"] for p in newcomers}
    assert status == {**{p.username: "member" for p in passing}, **{p.username: "left" for p in failing + silent}}
    for person in newcomers:  # carried out once (answered or not); every try after it refused as Telegram refuses it
        calls = [c for m in DECIDED for c in sim.calls(m) if c.params.get("user_id") in (person.id, str(person.id))]
        done = [c.method for c in calls if c.ok]
        assert done == ["approveChatJoinRequest" if person in passing else "declineChatJoinRequest"], (person.username, done)
        assert all(c.description == "Bad Request: HIDE_REQUESTER_MISSING" for c in calls if not c.ok)
    said = welcomes(sim, chat)[greeted:]
    assert len(said) == len(passing), said  # nobody welcomed twice (not even under another name)
    assert all(sum(p.first_name in w for w in said) == 1 for p in passing), said

    referrals = dict(query(db_path, "SELECT invitee_id, status FROM referrals WHERE inviter_id = ?", alice.id))
    assert referrals == {**{p.id: "confirmed" for p in passing}, **{p.id: "rejected" for p in failing + silent}}
    paid = query(db_path, "SELECT user_id, currency, COUNT(*) FROM ledger WHERE reason IN ('referral', 'welcome_bonus')"
                 " GROUP BY user_id, currency")
    assert sorted(paid) == sorted([(alice.id, "points", 3), (alice.id, "xp", 3)] + [(p.id, "points", 1) for p in passing])
    told = [m.get("text", "") for m in sim.replies(alice) if "through you and stayed" in m.get("text", "")]
    assert len(told) == len(passing) and all(sum(p.first_name in t for t in told) == 1 for p in passing), told
    assert bot.stop() == 0
    print(f"join requests under five kills: {time.monotonic() - began:.1f} s after the first requests")
