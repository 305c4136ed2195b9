"""The join funnel in the real `python -m bot run` process: a pending captcha and a pending referral confirmation
both survive SIGKILL; what happened while the bot was down (a button press, the newcomer's first message) is
handled after the restart, once."""
from __future__ import annotations

import signal

import pytest

from tests.e2e.test_run_process import command_answered, make_group, query, server, sim, start, wait_for  # noqa: F401 - fixtures


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "data" / "sticky.db"
    (tmp_path / "config.yaml").write_text(
        "telegram:\n  poll_timeout: 1\n"
        f"database:\n  path: {path}\n"
        "funnel:\n  referral:\n    stay_hours: 0\n    min_messages: 1\n"  # confirmed at the first message after passing
    )
    return path


def test_a_pending_captcha_and_a_pending_referral_survive_sigkill(sim, start, db_path):  # noqa: F811
    first = start()
    chat, owner, admin, alice, bob = make_group(sim)
    command_answered(sim, first, owner, "/set screening on", chat)
    command_answered(sim, first, alice, "/invite", chat)
    [url] = [l["invite_link"] for l in sim.invite_links(chat) if l.get("name", "").endswith(f"#{alice.id}")]
    dave = sim.user("dave")
    sim.join(chat, dave, link=url)
    check = wait_for(lambda: query(db_path, "SELECT id, choices, answers FROM captcha_checks WHERE user_id = ? AND status = 'pending'"
                                   " AND prompt_message_id IS NOT NULL", dave.id), "Dave's check", first)
    check_id, choices, answers = check[0]
    first.kill()
    assert first.proc.returncode == -signal.SIGKILL

    # While the bot is down Dave presses the right button.
    prompt = next(m for m in sim.messages(chat) if m.get("reply_markup") and f"cap:{check_id}:" in str(m["reply_markup"]))
    sim.press(dave, prompt, f"cap:{check_id}:{choices.split(chr(10)).index(answers)}")
    second = start()
    wait_for(lambda: sim.member(chat, dave)["status"] == "member", "Dave let in after the restart", second)
    assert query(db_path, "SELECT status FROM captcha_checks WHERE id = ?", check_id) == [("passed",)]
    assert query(db_path, "SELECT status FROM referrals WHERE invitee_id = ?", dave.id) == [("pending",)]
    second.kill()

    # Down again: Dave's first message waits in Telegram's queue and confirms the referral after the restart.
    sim.send(dave, "hello everyone", chat)
    third = start()
    wait_for(lambda: query(db_path, "SELECT 1 FROM referrals WHERE invitee_id = ? AND status = 'confirmed'", dave.id),
             "the referral confirmed", third)
    polls = len(sim.calls("getUpdates"))
    wait_for(lambda: len(sim.calls("getUpdates")) >= polls + 1, "one more poll", third)
    assert query(db_path, "SELECT currency, amount FROM ledger WHERE user_id = ? AND reason = 'referral' ORDER BY currency", alice.id) == [
        ("points", 20), ("xp", 20)]
    assert third.stop() == 0


def test_a_join_killed_before_its_check_opens_is_screened_after_the_restart(sim, start, db_path):  # noqa: F811
    """SIGKILL while Sticky asks Telegram where the newcomer is (their member row and referral committed, their check
    not opened yet): the restart handles the join again — restricted and prompted once, the referral still pending."""
    first = start()
    chat, owner, _admin, alice, _bob = make_group(sim)
    command_answered(sim, first, owner, "/set screening on", chat)
    command_answered(sim, first, alice, "/invite", chat)
    [url] = [l["invite_link"] for l in sim.invite_links(chat) if l.get("name", "").endswith(f"#{alice.id}")]
    dave = sim.user("dave")
    sim.lost_answer_hold = 15.0  # the lookup's answer never comes: the bot waits on it while it is killed
    sim.timeout_after_send("getChatMember")
    sim.join(chat, dave, link=url)
    wait_for(lambda: [c for c in sim.calls("getChatMember") if c.fault == "timeout"], "the newcomer's lookup", first)
    first.kill()
    assert query(db_path, "SELECT status, screened_at FROM referrals WHERE invitee_id = ?", dave.id) == [("pending", None)]
    assert query(db_path, "SELECT id FROM captcha_checks WHERE user_id = ?", dave.id) == []

    second = start()
    wait_for(lambda: sim.member(chat, dave)["status"] == "restricted", "Dave restricted after the restart", second)
    check = wait_for(lambda: query(db_path, "SELECT id FROM captcha_checks WHERE user_id = ? AND prompt_message_id IS NOT NULL",
                                   dave.id), "Dave's prompt", second)
    polls = len(sim.calls("getUpdates"))
    wait_for(lambda: len(sim.calls("getUpdates")) >= polls + 2, "two more polls", second)
    assert len(check) == 1 and len(query(db_path, "SELECT id FROM captcha_checks WHERE user_id = ?", dave.id)) == 1
    assert len([m for m in sim.messages(chat) if f"cap:{check[0][0]}:" in str(m.get("reply_markup"))]) == 1
    assert query(db_path, "SELECT status FROM referrals WHERE invitee_id = ?", dave.id) == [("pending",)]
    assert second.stop() == 0
