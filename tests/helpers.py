"""Small helpers for handler tests: a ready group, and reading what the bot said."""
from __future__ import annotations

from dataclasses import dataclass

from bot.playground import Playground


@dataclass
class G:
    chat: object
    owner: object
    admin: object
    alice: object
    bob: object
    carol: object


async def make_group(pg: Playground, title: str = "Tea Lovers") -> G:
    sim = pg.sim
    owner, admin = sim.user("owner"), sim.user("admin")
    chat = sim.create_group(title, owner=owner)
    sim.add_bot(chat, by=owner)
    sim.join(chat, admin)
    sim.promote(chat, admin, by=owner, can_restrict_members=True, can_delete_messages=True)
    g = G(chat, owner, admin, sim.user("alice"), sim.user("bob"), sim.user("carol"))
    for user in (g.alice, g.bob, g.carol):
        sim.join(chat, user)
        sim.send(user, f"hi, I'm {user.username}" if hasattr(user, "username") else "hi", chat)
    await pg.settle()
    return g


async def say(pg: Playground, user, text: str, chat=None, reply_to=None) -> str:
    """Send a message, let the bot handle everything, return the bot's last reply text in that chat ('' if none new)."""
    before = len(pg.sim.replies(chat if chat is not None else user))
    pg.sim.send(user, text, chat, reply_to=reply_to)
    await pg.settle()
    replies = pg.sim.replies(chat if chat is not None else user)
    return replies[-1].get("text", "") if len(replies) > before else ""


async def help_messages(pg: Playground, user, chat=None, as_chat: bool = False) -> list[str]:
    """Every message one /help was answered with (a long list comes in several, split between topics)."""
    where = chat if chat is not None else user
    before = len(pg.sim.replies(where))
    pg.sim.send(user, "/help", chat, as_chat=as_chat)
    await pg.settle()
    return [m.get("text", "") for m in pg.sim.replies(where)[before:]]


async def help_of(pg: Playground, user, chat=None, as_chat: bool = False) -> str:
    """One /help's answer as one text, however many messages it came in."""
    return "\n\n".join(await help_messages(pg, user, chat, as_chat))


async def assert_one_line_refusals(pg: Playground, user, chat, table, unchanged) -> None:
    """Each (command, expected reply) in `table`, sent by `user`: exactly that one line, and `await unchanged()`
    (what the command must not touch) reads the same as before the first."""
    before = await unchanged()
    for command, expected in table:
        answer = await say(pg, user, command, chat)
        assert answer == expected, command
        assert "\n" not in answer
        assert await unchanged() == before, command


async def tick(pg: Playground) -> None:
    """One run of the schedules tick (due deferred work, then due slots), then everything it caused delivered."""
    [job] = pg.app.job_queue.get_jobs_by_name("schedules:tick")
    await job.run(pg.app)
    await pg.settle()
