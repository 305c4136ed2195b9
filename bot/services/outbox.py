"""The outbox: the one way Sticky sends a message on its own initiative (scheduled posts, reminders, announcements,
tier-ups, expiry notices). It applies the group's daily and weekly caps, its quiet hours (held to their end or
dropped, per kind), members' opt-outs of mentions and private messages, and logs what happened to each message
(/pushlog). Telegram's flood limits are PTB's rate limiter's job, below the port."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.domain import outbox as dom
from bot.ports import OutboxPort, SendError
from bot.services.groups import GroupService
from storage.outbox import OutboxRepo, PushEntry
from storage.points import PointsRepo
from storage.members import MemberRepo
from storage.schedules import ScheduleRepo

log = logging.getLogger(__name__)

CAPPED_KINDS = [k for k, p in dom.POLICIES.items() if p.capped]
# /pushlog's detail for a send Telegram never answered (bot/texts/schedules.DETAILS shows it in the group's language).
NO_ANSWER = "no answer: it may be in the group"
NO_ANSWER_COPY = "no answer: a copy may be left in the group"

# A feature's write once its post is out: hook(tx, the post's value for it, message id, now), in the transaction
# that records the 'sent'; what it returns is the Pushed's `after[name]`.
AfterSent = Callable[[Any, Any, "int | None", datetime], Awaitable[Any]]


@dataclass
class Run:
    """A claimed run (a schedule's slot, or deferred work) the outbox is working for: its first step — the first
    row in the push log — marks it as begun in the same transaction, so a crash after it is never repeated and a
    crash before it provably sent nothing."""

    kind: str  # schedule | deferred
    id: int
    begun: bool = False


_RUN: ContextVar[Run | None] = ContextVar("outbox_run", default=None)


@dataclass(frozen=True)
class Pushed:
    outcome: str  # sent | capped | deferred | dropped | suppressed | failed
    message_id: int | None = None
    poll_id: str | None = None  # a native poll: Telegram's id for it (poll answers name it)
    after: dict[str, Any] = field(default_factory=dict)  # what each after-sent hook returned (Outbox.after_sent)

    @property
    def sent(self) -> bool:
        return self.outcome == "sent"


class Outbox:
    def __init__(self, repo: OutboxRepo, deferred: ScheduleRepo, groups: GroupService, points: PointsRepo, members: MemberRepo,
                 port: OutboxPort, clock: Clock) -> None:
        self.repo = repo
        self.deferred = deferred
        self.groups = groups
        self.points = points
        self.members = members
        self.port = port
        self.clock = clock
        # What a sent post also records, by name (bot/app.py registers them): a post's `after` names them with a value
        # each, kept in the payload of a post quiet hours hold, and each runs in the transaction of the 'sent'.
        self.after_sent: dict[str, AfterSent] = {}

    @staticmethod
    @contextmanager
    def on_behalf(kind: str, run_id: int) -> Iterator[Run]:
        """What the outbox writes meanwhile (in this task) is a step of this claimed run."""
        run = Run(kind, run_id)
        token = _RUN.set(run)
        try:
            yield run
        finally:
            _RUN.reset(token)

    @staticmethod
    def begin() -> tuple[str, int] | None:
        """The claimed run this task works for, if its first step is still to come: the caller writes
        storage.schedules.settle_in in the transaction of that step (the outbox's push-log row, or a feature's own
        first write, such as a campaign's window)."""
        run = _RUN.get()
        if run is None or run.begun:
            return None
        run.begun = True
        return run.kind, run.id

    async def _write(self, chat_id: int, kind: str, outcome: str, detail: str | None, also=None) -> int:
        settles = self.begin()
        try:
            return await self.repo.log(chat_id, kind, outcome, detail, self.clock.now(), settles, also)
        except Exception:
            if settles is not None:  # nothing was written: the run's first step is still to come
                _RUN.get().begun = False
            raise

    async def _log(self, chat_id: int, kind: str, outcome: str, detail: str | None = None) -> Pushed:
        await self._write(chat_id, kind, outcome, detail)
        if outcome != "sent":
            log.info("push %s in %s: %s (%s)", kind, chat_id, outcome, detail)
        return Pushed(outcome)

    async def _sending(self, chat_id: int, kind: str, send, opens=None, after: dict[str, Any] | None = None) -> Pushed:
        """The send itself: its row is written first ('sending'), so a crash while Telegram has it is shown as
        'lost' after the restart instead of vanishing, and never sent a second time. `opens`: a feature's row written
        with the 'sending' row; what it returns is handed to send(). `after`: the after-sent hooks to run with the
        'sent', each with its value."""
        opened = []

        async def first(tx) -> None:
            opened.append(await opens(tx))

        row_id = await self._write(chat_id, kind, "sending", None, first if opens is not None else None)
        try:
            got = await send(*opened)
        except SendError as exc:
            detail = str(exc)[:200]
            if exc.unsure:  # it may be in the group: never sent again, and said so — for a schedule's post, that its
                # copy has no id to delete (replace goes on from the last copy it knows; the next one is tracked)
                detail = NO_ANSWER_COPY if (after or {}).get("schedule") is not None else NO_ANSWER
                log.warning("push %s in %s: no answer from Telegram (%s); it may be in the group under an unknown id",
                            kind, chat_id, exc)
            await self.repo.finish(row_id, "failed", detail)
            log.info("push %s in %s: failed (%s)", kind, chat_id, exc)
            return Pushed("failed")
        message_id, *poll = got if isinstance(got, tuple) else (got,)
        now, results = self.clock.now(), {}

        async def hooks(tx) -> None:
            for name, value in after.items():
                results[name] = await self.after_sent[name](tx, value, message_id, now)

        await self.repo.finish(row_id, "sent", None, hooks if after else None)
        return Pushed("sent", message_id, *poll, after=results)

    def after_of(self, payload: dict) -> dict[str, Any]:
        """A held post's after-sent hooks and their values, from its payload."""
        return {name: payload[name] for name in self.after_sent if payload.get(name) is not None}

    async def recover(self) -> int:
        """At start: sends a crash cut off become 'lost' in /pushlog (they may be in the group: not sent again)."""
        lost = await self.repo.recover()
        if lost:
            log.warning("%s bot-initiated messages were cut off by a restart while sending; logged as lost", lost)
        return lost

    async def named_in(self, chat_id: int, text: str) -> list[int]:
        """The members a text names (mentions by link, @usernames of the group's members): post() checks them on
        every group message, so that an admin's own text (a post, a campaign's title, a topic) follows the opt-outs
        like Sticky's."""
        ids, usernames = dom.mentioned(text)
        for username in usernames:
            member = await self.members.by_username(chat_id, username)
            if member is not None:
                ids.add(member.user.user_id)
        return sorted(ids)

    async def mentionable(self, user_ids: Iterable[int]) -> list[int]:
        """The members among these who may be named or mentioned (not opted out of mentions)."""
        return [u for u in user_ids if "mentions" not in await self.points.optouts(u)]

    async def post(self, chat_id: int, kind: str, text: str, *, photo: str | None = None, buttons: list[list[str]] | None = None,
                   pin: bool = False, names: Iterable[int] = (), held: bool = False,
                   choices: list[list[list[str]]] | None = None, topic: int | None = None,
                   opens=None, after: dict[str, Any] | None = None,
                   until: datetime | None = None) -> Pushed:
        """A message to a group. If a member it names or mentions opted out of mentions, it is not sent: those its
        text mentions (named_in: @usernames, mentions by link — an admin's own words in a post, a campaign's start
        and end, a topic) and `names`, those it names otherwise (by first name; callers filter long lists with
        mentionable() first). `held`: it waited out quiet hours already.
        `choices`: rows of [label, callback data] buttons (an answer to press), instead of URL `buttons`.
        `topic`: the forum topic to post in (None: General, or the chat itself). `after`: after-sent hooks by name
        (Outbox.after_sent), each with its value — such as {"schedule": id}: the copy is recorded against the schedule
        — run with the 'sent', now or when a held copy goes out. `opens`: a row of the feature's own that the message's buttons name (an NPS survey), written in the same
        transaction as the send's first push-log row — opens(tx) returns the `choices` — so a crash leaves both or
        neither, and nothing of it is written when the message is not sent (capped; quiet hours: it cannot wait).
        `until`: the moment after which it means nothing (a campaign's start, once its window is over): quiet hours
        that last past it drop it rather than hold it, and a held copy whose moment passed meanwhile (a downtime) is
        dropped, not posted late."""
        now = self.clock.now()
        if held and until is not None and now >= until:
            return await self._log(chat_id, kind, "dropped", "its moment passed")
        names = sorted(set(names) | set(await self.named_in(chat_id, text)))  # checked again when a held copy goes
        if names and len(await self.mentionable(names)) < len(names):
            return await self._log(chat_id, kind, "suppressed", "mentions opt-out")
        payload = {"kind": kind, "text": text, "photo": photo, "buttons": buttons, "pin": pin, "names": names}
        if choices:
            payload["choices"] = choices
        if topic is not None:
            payload["topic"] = topic
        after = {name: value for name, value in (after or {}).items() if value is not None}
        unknown = set(after) - set(self.after_sent)
        if unknown:
            raise ValueError(f"no after-sent hook {sorted(unknown)}")
        payload.update(after)
        if until is not None:
            payload["until"] = until.isoformat()
        refused = await self._discipline(chat_id, kind, held, None if opens is not None else payload, until)
        if refused is not None:
            return refused
        return await self._sending(chat_id, kind, lambda *opened: self.port.send(
            chat_id, text, photo=photo, buttons=buttons, pin=pin, choices=opened[0] if opened else choices, topic=topic),
            opens, after)

    async def _discipline(self, chat_id: int, kind: str, held: bool, payload: dict | None,
                          until: datetime | None = None) -> Pushed | None:
        """Quiet hours and caps: None when the message may go now; otherwise what became of it. `payload`: how to
        send it later if quiet hours hold it (None: it cannot wait, it is dropped); `until`: it cannot wait past that."""
        settings = await self.groups.settings(chat_id)
        now = self.clock.now()
        policy = dom.policy(kind)
        end = None if held else dom.quiet_end(settings.quiet_hours, now, settings.timezone)
        if end is not None:
            if policy.quiet == "drop" or payload is None:
                return await self._log(chat_id, kind, "dropped", "quiet hours")
            if until is not None and end >= until:
                return await self._log(chat_id, kind, "dropped", "quiet hours outlast it")
            await self.deferred.defer(chat_id, "post", payload, end, now)
            return await self._log(chat_id, kind, "deferred", f"quiet hours, until {end.isoformat()}")
        if policy.capped:
            day, week = dom.day_and_week_start(now, settings.timezone)
            today, this_week = await self.repo.sent_since(chat_id, day, week, CAPPED_KINDS)
            if settings.push_daily_cap and today >= settings.push_daily_cap:
                return await self._log(chat_id, kind, "capped", f"daily cap {settings.push_daily_cap}")
            if settings.push_weekly_cap and this_week >= settings.push_weekly_cap:
                return await self._log(chat_id, kind, "capped", f"weekly cap {settings.push_weekly_cap}")
        return None

    async def poll(self, chat_id: int, kind: str, question: str, options: list[str], *, correct: int | None = None,
                   multiple: bool = False, pin: bool = False) -> Pushed:
        """A native poll (a quiz when `correct` names the right option), not anonymous so answers reach Sticky.
        The same caps and quiet hours as a post; a poll has a window, so quiet hours drop it rather than move it."""
        refused = await self._discipline(chat_id, kind, False, None)
        if refused is not None:
            return refused
        return await self._sending(chat_id, kind, lambda: self.port.send_poll(
            chat_id, question, options, correct=correct, multiple=multiple, pin=pin))

    async def stop_poll(self, chat_id: int, message_id: int) -> int | None:
        """Close a poll Sticky sent; how many voted, or None when Telegram would not (already closed, deleted)."""
        return await self.port.stop_poll(chat_id, message_id)

    async def private(self, user_id: int, text: str, *, chat_id: int | None = None, kind: str = "private") -> Pushed:
        """A private message, only to someone who started the bot and did not opt out of private messages.
        Logged under the group it is about (chat_id), if any."""
        where = chat_id if chat_id is not None else user_id
        if "private" in await self.points.optouts(user_id):
            return await self._log(where, kind, "suppressed", "private opt-out")
        if not await self.members.has_started(user_id):
            return await self._log(where, kind, "suppressed", "never started the bot")
        return await self._sending(where, kind, lambda: self.port.send(user_id, text))

    async def to_log(self, chat_id: int, log_chat_id: int, text: str) -> Pushed:
        """A group's moderation record, to its log chat: never capped or held for quiet hours (it is a record, not a
        push to members). Only a failure is written to the group's push log: a busy day's log would crowd it out."""
        try:
            message_id = await self.port.send(log_chat_id, text)
        except SendError as exc:
            return await self._log(chat_id, "modlog", "failed", str(exc)[:200])
        return Pushed("sent", message_id)

    async def delete(self, chat_id: int, message_id: int) -> bool:
        return await self.port.delete(chat_id, message_id)

    async def log(self, chat_id: int, kind: str, outcome: str, detail: str | None = None) -> None:
        """For what never reached the outbox's send (a schedule slot missed in downtime and skipped)."""
        await self._log(chat_id, kind, outcome, detail)

    async def recent(self, chat_id: int, limit: int = 20) -> list[PushEntry]:
        return await self.repo.recent(chat_id, limit)
