"""Topics of the week as use-cases: the admin's list, a topic posted for a schedule run, replies to it (XP once per
member, judged by the reply's own time against the window) and the closing that rewards and names the best replies.

Open topics are kept in memory per group (loaded once from the database, then kept current), so a group message
that replies to something costs a dictionary lookup unless it answers an open topic or one of its replies."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import ActivitiesConfig
from bot.domain.points import Currency, Reason, ledger_key
from bot.domain.topics import Reply, TopicError, best_replies, check_text
from storage.db import Database, from_iso, iso
from storage.inbox import Along
from storage.ledger import post, post_in
from storage.schedules import Schedule
from storage.topics import Topic, TopicPost, TopicRepo


@dataclass
class _Open:
    post: TopicPost
    replies: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Closed:
    post: TopicPost
    replied: int  # members who replied
    best: list[Reply]


class TopicService:
    def __init__(self, db: Database, repo: TopicRepo, clock: Clock, config: ActivitiesConfig, along: Along) -> None:
        self.db = db
        self.repo = repo
        self.clock = clock
        self.config = config
        self._open: dict[int, list[_Open]] = {}
        # A reply is written with its message's handled mark (whichever commit of its handling writes it).
        self.along = along
        along.kind("topic_reply", _reply_in)
        along.kind("topic_reply_to", _reply_to_in)

    # ---------------------------------------------------------------- the list

    async def add(self, chat_id: int, by: int | None, text: str) -> int:
        return await self.repo.add(chat_id, check_text(text), by, self.clock.now())

    async def list(self, chat_id: int) -> list[Topic]:
        return await self.repo.of_chat(chat_id)

    async def remove(self, chat_id: int, topic_id: int) -> None:
        if not await self.repo.delete(chat_id, topic_id, self.clock.now()):
            raise TopicError(reason="unknown_id", id=topic_id)

    async def next_topic(self, chat_id: int) -> Topic | None:
        return await self.repo.take_next(chat_id, self.clock.now())

    # ---------------------------------------------------------------- a topic of the week

    def window(self, schedule: Schedule) -> tuple[int, int]:
        """(minutes open, XP for a reply): the schedule's own words first, then the configured defaults."""
        xp = schedule.options.get("points")
        return int(schedule.options.get("minutes") or self.config.topic_minutes), int(self.config.topic_xp if xp is None else xp)

    async def open(self, schedule: Schedule, text: str) -> TopicPost:
        """The topic's row and its closing (deferred topic_close), before it is posted."""
        now = self.clock.now()
        minutes, xp = self.window(schedule)
        return await self.repo.open(schedule.chat_id, schedule.id, text, xp, self.config.topic_best_points, now,
                                    now + timedelta(minutes=minutes))

    async def posted(self, topic: TopicPost, message_id: int) -> None:
        await self.repo.posted(topic.id, message_id)
        if topic.chat_id in self._open:
            self._open[topic.chat_id].append(_Open(replace(topic, message_id=message_id)))

    async def not_posted(self, topic: TopicPost) -> None:
        await self.repo.close(topic.id, self.clock.now())

    async def _topics(self, chat_id: int) -> list[_Open]:
        found = self._open.get(chat_id)
        if found is None:
            found = self._open[chat_id] = [_Open(p, ids) for p, ids in await self.repo.open_posts(chat_id)]
        return found

    async def reply(self, chat_id: int, user_id: int, message_id: int, reply_to: int, at: datetime,
                    update_id: int | None = None, held: bool = False) -> int | None:
        """A group message replying to `reply_to`, sent at `at`. A reply to an open topic (within its window) is
        recorded and pays the topic's XP on the member's first reply; a reply to one of those replies counts for
        it. `held` (an update the inbox is handling): that is decided now and written with the update's handled mark
        (storage.inbox.Along), and the XP paid is written_xp(update_id) once written. Otherwise it is written at once
        and the XP paid returned (None: none)."""
        for t in await self._topics(chat_id):
            if at > t.post.closes_at:
                continue
            if reply_to == t.post.message_id:
                t.replies.add(message_id)
                data = {"post": t.post.id, "chat": chat_id, "user": user_id, "message": message_id, "at": iso(at),
                        "xp": t.post.xp, "now": iso(self.clock.now())}
                await self.along.hold(update_id, "topic_reply", data, held)
                return None if held else self.written_xp(update_id)
            if reply_to in t.replies:
                await self.along.hold(update_id, "topic_reply_to", {"post": t.post.id, "message": reply_to, "user": user_id}, held)
                return None
        return None

    def written_xp(self, update_id: int | None) -> int | None:
        """The XP a reply held for this update paid, once written (asked once)."""
        return self.along.result(update_id, "topic_reply")

    async def close(self, post_id: int) -> Closed | None:
        """The window is over: claimed once, the best replies decided and paid in the same transaction."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            closed = await TopicRepo.close_in(tx, post_id, now)
            if closed is None:
                return None
            replies = await TopicRepo.replies_in(tx, post_id)
            best = best_replies(replies, self.config.topic_best)
            if closed.best_points:
                for r in best:
                    await post(tx, closed.chat_id, r.user_id, closed.best_points, Currency.POINTS, Reason.TOPIC_BEST,
                               ledger_key(Reason.TOPIC_BEST, closed.chat_id, r.user_id, post_id), now, note=f"#{post_id}")
        if closed.chat_id in self._open:
            self._open[closed.chat_id] = [t for t in self._open[closed.chat_id] if t.post.id != post_id]
        if closed.message_id is None:  # never posted: nothing to say
            return None
        return Closed(closed, len({r.user_id for r in replies}), best)


def _reply_in(conn, update_id: int, d: dict) -> int | None:
    """On the writer's thread, in the commit marking the reply's update: recorded once, the topic's XP on the
    member's first reply (the XP paid, or None)."""
    recorded, first = TopicRepo.add_reply_in(conn, d["post"], d["message"], d["user"], from_iso(d["at"]))
    if recorded and first and d["xp"] > 0 and post_in(
            conn, d["chat"], d["user"], d["xp"], Currency.XP, Reason.TOPIC, ledger_key(Reason.TOPIC, d["chat"], d["user"], d["post"]),
            from_iso(d["now"]), note=f"#{d['post']}"):
        return d["xp"]
    return None


def _reply_to_in(conn, update_id: int, d: dict) -> None:
    TopicRepo.replied_to_in(conn, d["post"], d["message"], d["user"])
