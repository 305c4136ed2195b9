"""A burst of 1,000 messages in one group, through the real Application on the simulator: the default antiflood rule
mutes once (the rest of the burst was sent before the mute took effect), nothing is counted twice, the ledger equals
the wallets, the rules engine writes nothing for the messages after the mute, and another group is answered."""
from __future__ import annotations

from tests.helpers import make_group, say

BURST = 1000


async def test_a_burst_of_1000_messages_mutes_once_counts_once_and_stalls_no_other_group(pg):
    g = await make_group(pg)
    other = await make_group(pg, "Quiet Corner")
    s = pg.services
    pg.clock.advance(minutes=1)  # the group's hellos are out of the flood window
    await s.activity.flush()
    await s.points.flush_chat_xp()
    before = await s.activity.repo.messages(g.chat.id, g.alice.id)
    transactions = s.db.holds.count
    for i in range(BURST):
        pg.sim.send(g.alice, f"flood {i}", g.chat)
    pg.sim.send(other.bob, "/checkin", other.chat)
    await pg.settle()

    restricts = [c for c in pg.sim.calls() if c.method == "restrictChatMember" and c.params.get("user_id") == g.alice.id]
    assert len(restricts) == 1
    assert pg.sim.member(g.chat, g.alice)["status"] == "restricted"
    assert [e.action for e in await s.moderation.modlog(g.chat.id)] == ["mute"]
    # The quiet group's member was answered in the same settle.
    assert "checked in" in pg.sim.replies(other.chat)[-1]["text"].lower()

    # The rules engine wrote once (the mute); the rest of the pipeline batches (inbox marks, sightings).
    assert s.db.holds.count - transactions < BURST / 10

    await s.activity.flush()
    await s.points.flush_chat_xp()
    assert await s.activity.repo.messages(g.chat.id, g.alice.id) == before + BURST
    chat_xp = await s.db.fetchall("SELECT COUNT(*) FROM ledger WHERE chat_id = ? AND user_id = ? AND reason = 'chat'",
                                  (g.chat.id, g.alice.id))
    assert chat_xp[0][0] <= 2  # one award per cooldown: the hello before, and one for the whole burst
    assert await s.points.ledger.mismatches() == []

    # Once the mute is lifted, she can write, and a new flood is muted again.
    await say(pg, g.admin, "/unmute @alice", g.chat)
    pg.clock.advance(minutes=1)
    for i in range(6):
        pg.sim.send(g.alice, f"again {i}", g.chat)
    await pg.settle()
    assert [e.action for e in await s.moderation.modlog(g.chat.id)][:3] == ["mute", "unmute", "mute"]
