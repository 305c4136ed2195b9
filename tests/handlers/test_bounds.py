"""Input is bounded at the edge: what a refusal quotes back is shortened to fit Telegram's limits, numbers beyond
64 bits get the range's own line (never OverflowError from SQLite), and /start payloads are parsed defensively."""
from __future__ import annotations

import pytest

from tests.helpers import say

NO_CHECK = "There is no question waiting for you."
BAD_INVITE = "This invite is not valid any more. Ask your friend for a new one."


async def test_a_refusal_quotes_a_huge_text_shortened(pg, group):
    g = group
    await say(pg, g.admin, "/additem Mug | 10", g.chat)
    answer = await say(pg, g.admin, "/fulfil #" + "9" * 4000, g.chat)
    assert answer == "#" + "9" * 198 + "… is not an order id; see /orders pending."
    answer = await say(pg, g.admin, "/edititem 1 " + "Q" * 4080, g.chat)
    assert answer.startswith("Unknown field " + "Q" * 199 + "….") and len(answer) < 300


@pytest.mark.parametrize("command, expected", [
    ("/give @alice 9223372036854775808 reason", "That amount is too large (at most 100000)."),
    ("/give 99999999999999999999999 5 why", "No member with id 99999999999999999999999 in this group."),
    ("/invites 99999999999999999999999", "No member with id 99999999999999999999999 in this group."),
    ("/edititem 1 cost 99999999999999999999", "The cost must be a whole number of points from 1 to 1000000."),
    ("/set transient_seconds 99999999999999999999999", "transient_seconds must be a whole number from 0 to 86400."),
    ("/reject 9223372036854775808", "9223372036854775808 is not an order id; see /orders pending."),
])
async def test_numbers_beyond_64_bits_get_the_ranges_own_line(pg, group, command, expected):
    await say(pg, group.owner, "/additem Mug | 10", group.chat)
    assert await say(pg, group.owner, command, group.chat) == expected


@pytest.mark.parametrize("payload, expected", [
    ("cap_99999999999999999999999", NO_CHECK), ("cap_9223372036854775808", NO_CHECK), ("cap_²", NO_CHECK),
    ("cap_١٢", NO_CHECK), ("cap_", NO_CHECK), ("cap_-1", NO_CHECK), ("ref_", BAD_INVITE), ("ref_" + "x" * 60, BAD_INVITE),
    ("ref_../x", BAD_INVITE), ("ref_%00", BAD_INVITE),
])
async def test_malformed_start_payloads_get_one_clear_line(pg, group, payload, expected):
    assert await say(pg, group.alice, f"/start {payload}") == expected
