"""The feedback box through the real Application: suggestions, one 👍 per member, admins' accept (points with reason
feedback and the feedback_accepted badge, once) and reject, the author told privately or in the group."""
from tests.helpers import assert_one_line_refusals, say


async def ledger(pg, chat, user, reason):
    return await pg.services.db.fetchall(
        "SELECT amount, ref FROM ledger WHERE chat_id = ? AND user_id = ? AND reason = ?", (chat.id, user.id, reason))


async def test_a_suggestion_is_voted_once_per_member_and_shown_without_its_author(pg, group):
    assert await say(pg, group.alice, "/feedback More tea tastings on Fridays", group.chat) == (
        "Thank you! Suggestion #1 is in the feedback box; admins will look at it.")
    await say(pg, group.bob, "/suggestions", group.chat)
    board = pg.sim.replies(group.chat)[-1]
    assert board["text"] == "Suggestions — 👍 the ones you like (one vote each)\n#1 More tea tastings on Fridays · 👍 0"
    assert "Alice" not in board["text"]
    for who in (group.bob, group.bob, group.carol):
        pg.sim.press(who, board, "fb:vote:1")
        await pg.settle()
    pg.sim.press(group.alice, board, "fb:vote:1")  # her own: refused
    await pg.settle()
    [row] = await pg.services.feedback.list(group.chat.id, "open")
    assert row.votes == 2
    edited = next(m for m in pg.sim.messages(group.chat) if m["message_id"] == board["message_id"])
    assert edited["text"].endswith("· 👍 2")
    answers = [c.params.get("text") for c in pg.sim.calls("answerCallbackQuery")]
    assert answers == ["Thanks for your vote!", "You already voted for this one.", "Thanks for your vote!",
                       "That is your own suggestion; others vote on it."]


async def test_accepting_pays_points_with_reason_feedback_and_the_badge_once_and_tells_the_author(pg, group):
    pg.sim.send(group.alice, "/start")  # she may be written to privately
    await pg.settle()
    await say(pg, group.alice, "/feedback A weekly quiz", group.chat)
    assert await say(pg, group.admin, "/fb accept 1 50", group.chat) == "Suggestion #1 accepted: Alice gets 50 points."
    assert [tuple(r) for r in await ledger(pg, group.chat, group.alice, "feedback")] == [(50, f"feedback:{group.chat.id}:{group.alice.id}:1")]
    badges = [b for b, _ in await pg.services.points.repo.badges(group.chat.id, group.alice.id)]
    assert "feedback_accepted" in badges
    note = pg.sim.replies(group.alice)[-1]["text"]
    assert note.startswith("Alice, your suggestion in Tea Lovers was accepted: “A weekly quiz”\n+50 points for it.")
    assert "New badge: Useful feedback" in note
    assert await say(pg, group.admin, "/fb accept 1", group.chat) == "Suggestion #1 is already accepted."
    assert len(await ledger(pg, group.chat, group.alice, "feedback")) == 1


async def test_rejecting_tells_the_author_in_the_group_when_private_is_not_possible(pg, group):
    await say(pg, group.bob, "/feedback Ban all coffee", group.chat)
    await say(pg, group.owner, "/fb reject 1 we like coffee too", group.chat)
    said = [m["text"] for m in pg.sim.replies(group.chat)][-2:]
    assert said == ["Suggestion #1 rejected.", "Bob, your suggestion in Tea Lovers was not taken up: “Ban all coffee”\nReason: we like coffee too"]
    assert await say(pg, group.owner, "/feedbacks all", group.chat) == (
        "Feedback box (all)\n#1 [rejected] Bob: Ban all coffee · 👍 0")
    assert await say(pg, group.owner, "/feedbacks", group.chat) == "No open suggestions."


async def test_bad_feedback_input_gets_one_line(pg, group):
    await say(pg, group.alice, "/feedback something", group.chat)

    async def unchanged():
        return [(r.status, r.votes) for r in await pg.services.feedback.list(group.chat.id, None)]

    await assert_one_line_refusals(pg, group.owner, group.chat, [
        ("/feedback", "Write your suggestion after the command: /feedback More tea tastings, please!"),
        ("/fb accept 9", "No suggestion #9 in this group; /feedbacks lists them."),
        ("/fb accept x", "A suggestion is named by its number, such as /fb accept 3."),
        ("/fb accept 1 lots", "Points must be a whole number from 0 to 10000."),
        ("/fb maybe 1", "Usage: /fb accept N [points] | /fb reject N [reason]"),
        ("/fb", "Usage: /fb accept N [points] | /fb reject N [reason]"),
        ("/feedbacks some", "Usage: /feedbacks [open|all]"),
    ], unchanged)
    assert await say(pg, group.alice, "/fb accept 1", group.chat) == "Only Admin and above can use this command."
