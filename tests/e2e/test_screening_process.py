"""Screening under a raid, in the real `python -m bot run` process against the HTTP simulator with Telegram's flood
limits: thirty joins at once are all restricted within seconds, not after the prompts' turn in the 20-a-minute window,
and none of them can post before passing: what each got in at once, before the restriction held, is deleted."""
from __future__ import annotations

import time

import pytest

from bot.sim import SimError
from tests.e2e.test_fairness_process import db_path, started  # noqa: F401 - fixtures
from tests.e2e.test_run_process import command_answered, make_group, server, sim, wait_for  # noqa: F401 - fixtures


def test_a_burst_of_thirty_joins_is_restricted_within_seconds(sim, server, tmp_path, db_path):  # noqa: F811
    sim.enforce_flood_limits()
    bot = started(sim, server, tmp_path, "raid")
    try:
        chat, owner, _admin, _alice, _bob = make_group(sim)
        command_answered(sim, bot, owner, "/set screening on", chat)
        welcomed = lambda: [m for m in sim.replies(chat) if m.get("text", "").startswith("Welcome to Tea Lovers")]  # noqa: E731
        wait_for(lambda: len(welcomed()) == 3, "the first members' welcomes", bot)
        sent_before = len(sim.replies(chat))  # the greeting, the welcomes of the first members, the /set answer
        raiders = [sim.user(f"raider{i}") for i in range(30)]
        begun = time.time()
        posted = []
        for raider in raiders:  # each posts at once, as a raid does, before the bot can have restricted them
            sim.join(chat, raider)
            try:
                posted.append(sim.send(raider, f"buy cheap followers from {raider.username}", chat))
            except SimError:  # restricted already
                pass
        restricted = lambda: [r for r in raiders if sim.member(chat, r)["status"] == "restricted"]  # noqa: E731
        wait_for(lambda: len(restricted()) == 30, "all thirty restricted", bot, timeout=30.0)
        took = max(c.at for c in sim.calls("restrictChatMember") if c.ok) - begun
        print(f"30 joins restricted within {took:.2f} s")
        assert took < 5.0
        for raider in raiders:
            with pytest.raises(SimError):
                sim.send(raider, "buy cheap followers", chat)
        # What they got in before the restriction held is deleted: nothing of theirs stays in the group.
        assert posted, "no raider posted before being restricted: the test proves nothing"
        wait_for(lambda: all(sim.message(chat, m["message_id"]) is None for m in posted), "their posts deleted", bot)
        # Their prompts follow within the group's flood limit (what was sent before took its share of the minute's
        # twenty), and the bot never meets a 429.
        wait_for(lambda: len([m for m in sim.replies(chat) if "raider" in m.get("text", "").lower()]) >= 20 - sent_before,
                 "the first prompts", bot, timeout=15.0)
        assert [c for c in sim.calls() if c.error_code == 429] == []
    finally:
        bot.kill()
