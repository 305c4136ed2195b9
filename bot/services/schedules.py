"""Schedules and deferred work as use-cases: create from the compact syntax, list, pause, resume, remove, run now;
the tick claims due slots (next run moved on in the same transaction) and due one-shot work before anything acts."""
from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.domain import schedules as dom
from bot.domain.checkin import local_day
from bot.domain.polls import parse_question
from bot.domain.schedules import ScheduleError
from bot.services.groups import GroupService
from bot.services.outbox import Outbox, Pushed
from bot.services.rules import INACTIVITY_WORK as INACTIVITY  # the rules' daily pass: it books the next one itself
from storage.schedules import CampaignRepo, Claim, Deferred, ReminderRepo, Schedule, ScheduleRepo, announced_in, record_copy_in
from storage.topics import TopicRepo

log = logging.getLogger(__name__)


# The outbox's after-sent hooks of schedules (registered in bot/app.py), each run in the transaction of a post's 'sent'.

async def record_copy(tx, schedule_id: int, message_id: int | None, now) -> Deferred | None:
    """after={"schedule": id}: the post is the schedule's copy the next run replaces; with `replace`, the delete of
    the previous copy, claimed, for the sender to do at once (storage.schedules.record_copy_in)."""
    return None if message_id is None else await record_copy_in(tx, schedule_id, message_id, now)


async def announce_end(tx, end_id: int, _message_id: int | None, _now) -> None:
    """after={"announces": deferred id}: a campaign's start is out, so its end (that deferred row) is announced
    when it falls due — now, or when quiet hours release a held start."""
    await announced_in(tx, end_id)

CAPTION_LIMIT = 1024  # a photo's caption, in characters after entities parsing
REMINDER_BATCH = 20  # names in one reminder message
REMINDER_BATCHES = 3  # reminder messages per run at most


@dataclass(frozen=True)
class Content:
    """What a post says: rotation variants (HTML), an optional photo, URL buttons (label, url)."""

    texts: tuple[str, ...] = ()
    photo: str | None = None
    buttons: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict:
        return {"texts": list(self.texts), "photo": self.photo, "buttons": [list(b) for b in self.buttons]}


def text_for(schedule: Schedule, runs_before: int | None = None) -> str:
    """The rotation variant for this run: the schedule's texts in turn."""
    texts = schedule.content.get("texts") or [""]
    index = schedule.rotation if runs_before is None else runs_before
    return texts[index % len(texts)]


class ScheduleService:
    def __init__(self, repo: ScheduleRepo, groups: GroupService, outbox: Outbox, clock: Clock, grace: timedelta = dom.DEFAULT_GRACE,
                 reminders: ReminderRepo | None = None, campaigns: CampaignRepo | None = None,
                 topics: TopicRepo | None = None) -> None:
        self.repo = repo
        self.topics = topics or TopicRepo(repo.db)
        self.campaigns = campaigns or CampaignRepo(repo.db)
        self.reminders = reminders or ReminderRepo(repo.db)
        self.groups = groups
        self.outbox = outbox
        self.clock = clock
        self.grace = grace
        self._recovered = False
        groups.on_change.setdefault("timezone", []).append(self._follow_timezone)

    async def _follow_timezone(self, tx, chat_id: int, tz: str) -> None:
        """The group's timezone changed (inside that transaction): its schedules follow it, wall-clock ones keeping
        their wall times there, with next runs recomputed — never the old zone's times under the new zone's name."""
        now = self.clock.now()
        rows = []
        for row in await ScheduleRepo.of_chat_in(tx, chat_id):
            if row.tz == tz:
                continue
            first, nxt = dom.rezone(row.kind, row.spec, row.tz, tz, row.first_run, row.next_run if row.enabled else None, now)
            rows.append((row.id, tz, first, nxt if row.enabled else row.next_run))
        if rows:
            await ScheduleRepo.rezone(tx, rows)

    async def create(self, chat_id: int, actor_id: int | None, words: list[str], content: Content,
                     here: int | None = None) -> Schedule:
        """`here`: the forum topic the command was sent in: the schedule posts there unless it names another
        (`topic N`, `topic general`)."""
        spec = dom.parse(words)
        written = bool(content.texts and any(t.strip() for t in content.texts))
        if spec.action == "post" and not written and content.photo is None:
            raise ScheduleError(reason="no_content", action="post")
        if spec.action == "campaign" and not written:  # its text is the announcement's title (a photo is not posted)
            raise ScheduleError(reason="no_content", action="campaign")
        if content.photo is not None:  # Telegram refuses a caption over 1024 characters (as the reader sees them)
            longest = max((len(html.unescape(re.sub(r"<[^>]+>", "", t))) for t in content.texts), default=0)
            if longest > CAPTION_LIMIT:
                raise ScheduleError(reason="caption_too_long", length=longest, limit=CAPTION_LIMIT)
        tz, now, first, nxt = await self._runs(chat_id, spec.kind, spec.spec, spec.start)
        written = any(t.strip() for t in content.texts)
        if spec.action == "topic" and not written and not await self.topics.of_chat(chat_id):
            raise ScheduleError(reason="no_topics")  # no text and an empty list: every run would post nothing
        if spec.action in ("quiz", "poll"):  # every rotation variant must be a question Telegram takes
            for text in content.texts or ("",):
                parse_question(text, quiz=spec.action == "quiz")
        if "replace" in spec.options and spec.action in dom.REPLACEABLE:
            gap = dom.widest_gap(spec.kind, spec.spec, tz, first)
            if gap is not None and gap >= dom.DELETE_WINDOW:
                raise ScheduleError(reason="replace_too_rare", hours=int(gap.total_seconds() // 3600))
        options: dict = {o: True for o in spec.options}
        topic = here if spec.topic is None else None if spec.topic == "general" else int(spec.topic)
        if topic is not None:
            options["topic"] = topic
        if spec.start is not None:  # the chosen first run, group time (the saved line and /schedules say it)
            options["from"] = spec.start
        if spec.action == "campaign":
            options.update(multiplier=spec.multiplier, minutes=spec.minutes)
        if spec.action in dom.WINDOWED:
            options.update(minutes=spec.minutes, points=spec.points, first=spec.first)
        return await self.repo.add(chat_id, spec.kind, spec.spec, tz, first, nxt, spec.action, content.as_dict(), options,
                                   actor_id, now, grace_seconds=int(self.grace.total_seconds()))

    async def _runs(self, chat_id: int, kind: str, spec: str, start: str | None) -> tuple[str, datetime, datetime, datetime]:
        """(group timezone, now, first run, next run) of a schedule made now; ScheduleError 'past' if it has none."""
        tz = (await self.groups.settings(chat_id)).timezone
        now = self.clock.now()
        first = now
        if start is not None:  # a chosen first run: the first slot at or after it
            first = dom.local_instant(start, tz)
            if first <= now:
                raise ScheduleError(reason="past")
        nxt = dom.next_run(kind, spec, tz, first, now)
        if nxt is None:
            raise ScheduleError(reason="past")
        return tz, now, first, nxt

    async def check(self, chat_id: int, words: list[str]) -> datetime:
        """The first run of a whole command without its content, if it were made now (the step-by-step summary):
        the errors create() would give for the when and the options (a past time, replace on a rare schedule)."""
        spec = dom.parse(words)
        tz, _now, first, nxt = await self._runs(chat_id, spec.kind, spec.spec, spec.start)
        if "replace" in spec.options and spec.action in dom.REPLACEABLE:
            gap = dom.widest_gap(spec.kind, spec.spec, tz, first)
            if gap is not None and gap >= dom.DELETE_WINDOW:
                raise ScheduleError(reason="replace_too_rare", hours=int(gap.total_seconds() // 3600))
        return nxt

    async def check_when(self, chat_id: int, words: list[str]) -> datetime:
        """The first run of `KIND WHEN…` if it were made now (the step-by-step /schedule asks before the content):
        the errors create() would give for it (a past time, a bad word)."""
        kind, spec, start, _ = dom.parse_when(words)
        return (await self._runs(chat_id, kind, spec, start))[3]

    async def today(self, chat_id: int):
        """Today's date in the group's timezone."""
        return local_day(self.clock.now(), (await self.groups.settings(chat_id)).timezone)

    async def list(self, chat_id: int) -> list[Schedule]:
        return await self.repo.of_chat(chat_id)

    async def get(self, chat_id: int, schedule_id: int) -> Schedule:
        found = await self.repo.get(chat_id, schedule_id)
        if found is None:
            raise ScheduleError(reason="unknown_id", id=schedule_id)
        return found

    async def remove(self, chat_id: int, schedule_id: int) -> None:
        """Removed, with any copy of it that quiet hours hold (logged 'dropped' in /pushlog)."""
        if not await self.repo.delete(chat_id, schedule_id, self.clock.now()):
            raise ScheduleError(reason="unknown_id", id=schedule_id)

    async def pause(self, chat_id: int, schedule_id: int) -> Schedule:
        """A copy of it that quiet hours hold is dropped (logged in /pushlog): paused means nothing more is sent."""
        await self.get(chat_id, schedule_id)
        return await self.repo.set_enabled(chat_id, schedule_id, False, None, self.clock.now())

    async def resume(self, chat_id: int, schedule_id: int) -> Schedule:
        """Resuming starts from now: what fell due while paused is not made up for."""
        found = await self.get(chat_id, schedule_id)
        now = self.clock.now()
        nxt = dom.next_run(found.kind, found.spec, found.tz, found.first_run, now)
        if nxt is None:
            raise ScheduleError(reason="past")
        return await self.repo.set_enabled(chat_id, schedule_id, True, nxt)

    async def set_missed(self, chat_id: int, schedule_id: int, policy: str) -> Schedule:
        """What a run missed while Sticky was down does: 'late' runs once within the grace window, 'skip' logs it."""
        if policy not in dom.MISSED:
            raise ScheduleError(reason="syntax", position=3, expected="missed", got=policy)
        changed = await self.repo.set_missed(chat_id, schedule_id, policy)
        if changed is None:
            raise ScheduleError(reason="unknown_id", id=schedule_id)
        return changed

    async def run_now(self, chat_id: int, schedule_id: int) -> Schedule:
        """A run out of turn. A `once` that has run is done (so /schedules says): it is not run again, since it would
        post a second time and count another run while the schedule still says done."""
        found = await self.get(chat_id, schedule_id)
        if found.done:
            raise ScheduleError(reason="once_done", id=schedule_id)
        claimed = await self.repo.claim_now(chat_id, schedule_id, self.clock.now())
        if claimed is None:  # removed, or run by the tick, since it was read
            raise ScheduleError(reason="unknown_id" if await self.repo.get(chat_id, schedule_id) is None else "once_done",
                                id=schedule_id)
        return claimed

    async def due(self, batch: int = 500) -> list[Claim]:
        """Claim every due slot: each row's next run moves past now in one transaction before anything is sent, so
        a slot fires at most once even across a crash; a slot missed in downtime runs once late (within the grace
        window, policy 'late') or is skipped and logged — never a burst. Batches of `batch` rows until none is due
        (after a long downtime every schedule may be)."""
        now = self.clock.now()
        claims: list[Claim] = []
        while True:
            rows = await self.repo.due(now, batch)
            if not rows:
                break
            slots, decisions = [], {}
            for row in rows:
                d = dom.decide(row.kind, row.spec, row.tz, row.first_run, row.next_run, now, row.missed, timedelta(seconds=row.grace_seconds))
                slots.append((row, d.next_run, d.run, d.late, d.due))
                decisions[row.id] = d
            claimed = await self.repo.claim(slots, now)
            claims += [replace(c, due=decisions[c.schedule.id].due, skipped=decisions[c.schedule.id].skipped) for c in claimed]
            if len(rows) < batch or not claimed:
                break
        for c in claims:
            if c.skipped is not None:
                log.info("schedule %s in %s: slots from %s missed, skipped", c.schedule.id, c.schedule.chat_id, c.skipped)
        return claims

    async def post(self, schedule: Schedule) -> Pushed:
        """A scheduled post through the outbox: this run's rotation text (or photo), its buttons, pinned silently if
        asked; with `replace`, the delete of the previous copy comes back with it (Pushed.after["schedule"]), written with
        the record of the new copy: the caller does it at once, or the tick after a restart."""
        content, options = schedule.content, schedule.options
        text = text_for(schedule)
        return await self.outbox.post(
            schedule.chat_id, "schedule", text, photo=content.get("photo"), buttons=content.get("buttons") or None,
            pin=bool(options.get("pin")), topic=options.get("topic"), after={"schedule": schedule.id},
        )  # a member its text mentions who opted out of mentions: not sent (the outbox checks every group message)

    async def reminder_batches(self, chat_id: int) -> list[list[tuple[int, str]]]:
        """Members to remind today (group time): not checked in, not opted out of mentions; REMINDER_BATCH names
        per message, at most REMINDER_BATCHES messages (each one a capped post in the outbox)."""
        day = (await self.today(chat_id)).isoformat()
        rows = await self.reminders.not_checked_in(chat_id, day, REMINDER_BATCH * REMINDER_BATCHES)
        people = [(user_id, f"@{username}" if username else first) for user_id, first, username in rows]
        return [people[i:i + REMINDER_BATCH] for i in range(0, len(people), REMINDER_BATCH)]

    def campaign_ends(self, schedule: Schedule, slot: datetime | None = None) -> datetime:
        """When a run of the schedule's campaign ends: its slot + its length — a run late within the grace window
        (after a downtime) keeps its slot's window (a member day 00:00 for 24h started at 00:50 still ends at 24:00);
        without a slot (/runnow) it lasts its length from now."""
        start = self.clock.now() if slot is None else slot
        return start + timedelta(minutes=int(schedule.options.get("minutes") or 60))

    async def start_campaign(self, schedule: Schedule, ends: datetime, start_text: str, end_text: str) -> Pushed:
        """Open the schedule's campaign window now, until `ends` (campaign_ends; check-ins pay its multiplier
        meanwhile), announce it, and leave the end announcement as deferred work: it is made once even across a
        restart — and only if the start was announced (a capped or dropped start leaves the end unannounced too:
        nobody is told of the end of a member day they never heard of). A window over before this late run opens
        nothing and is logged (not sent)."""
        now = self.clock.now()
        # The window is its slot's (ends − length): a run late after a downtime opens it back to its slot, so a
        # check-in written at 00:10 while Sticky was down, and handled after the late run, pays like one at 00:50.
        opens = min(now, ends - timedelta(minutes=int(schedule.options.get("minutes") or 60)))
        topic = schedule.options.get("topic")
        if ends <= now:
            await self.outbox.log(schedule.chat_id, "campaign", "suppressed", "its window is over")
            return Pushed("suppressed")
        # The window and its end in one transaction, the run's first step: a crash after it never opens a second one.
        _, end_id = await self.campaigns.add(
            schedule.chat_id, schedule.id, str(schedule.options.get("multiplier") or "2"), opens, ends, text_for(schedule),
            {"kind": "campaign", "text": end_text, "topic": topic, "ends": "campaign"}, self.outbox.begin())
        # Its start means nothing once the window is over: held by quiet hours past its end, it is dropped, never late.
        return await self.outbox.post(schedule.chat_id, "campaign", start_text, topic=topic, after={"announces": end_id},
                                      until=ends)

    async def missed(self, claim: Claim) -> None:
        """One log entry for what a downtime skipped (from its oldest slot), whether or not the latest one ran."""
        slot = claim.due if claim.skipped is None else claim.skipped
        await self.outbox.log(claim.schedule.chat_id, "schedule", "missed",
                              f"#{claim.schedule.id} {dom.local_text(slot, claim.schedule.tz)}")

    async def recover(self) -> list[Claim]:
        """Once per start, before the first tick: what a crash cut off between a claim and its outcome. A send under
        way becomes 'lost' in /pushlog (it may be in the group: never sent twice). A schedule's slot whose run never
        reached the outbox provably sent nothing: it is handed back to run once now (dom.rerun_claimed), or logged
        'missed'. Deferred work claimed and not done is released to run again (deletes, closings and results are
        safe to repeat; a held post reached the outbox only if it was marked done then) — except an inactivity pass
        whose next pass is already booked."""
        if self._recovered:
            return []
        self._recovered = True
        await self.outbox.recover()
        now = self.clock.now()
        claims, left, entries = [], [], []
        for row in await self.repo.pending_runs():
            if dom.rerun_claimed(row.pending, row.next_run, row.enabled, now, row.missed, timedelta(seconds=row.grace_seconds)):
                # As claimed: this slot's rotation text and run count (the claim moved both on already).
                claims.append(Claim(replace(row, rotation=row.rotation - 1), row.pending, True, True))
                continue
            left.append(row)
            if row.enabled:  # paused since: nothing to say
                entries.append((row.chat_id, "schedule", "missed", f"#{row.id} {dom.local_text(row.pending, row.tz)}"))
        if left:
            await self.repo.not_rerun(left, entries, now)
        release, done = [], []
        for work in await self.repo.claimed_unfinished():
            if work.kind == INACTIVITY and any(o.id != work.id and o.kind == INACTIVITY
                                               for o in await self.repo.pending_deferred(work.chat_id)):
                done.append(work.id)
            else:
                release.append(work.id)
        for work_id in done:
            await self.repo.done_work(work_id, now)
        if release:
            log.warning("%s pieces of deferred work were cut off by a restart; running them again", len(release))
            await self.repo.release(release)
        return claims

    async def ran(self, schedule_id: int) -> None:
        await self.repo.ran(schedule_id)

    # ---------------------------------------------------------------- deferred one-shot work

    async def done_work(self, deferred_id: int) -> None:
        """Deferred work that succeeded or failed for good."""
        await self.repo.done_work(deferred_id, self.clock.now())

    async def retry_work(self, work: Deferred, at_least: timedelta = timedelta(0)) -> bool:
        """A transient failure: due again after a backoff; False when it has been tried enough (then it is done)."""
        delay = dom.retry_delay(work.tries, at_least)
        if delay is None:
            await self.done_work(work.id)
            return False
        await self.repo.retry_work(work.id, self.clock.now() + delay)
        return True

    async def defer(self, chat_id: int, kind: str, payload: dict, seconds: float) -> Deferred:
        now = self.clock.now()
        due = now + timedelta(seconds=seconds)
        row_id = await self.repo.defer(chat_id, kind, payload, due, now)
        return Deferred(row_id, chat_id, kind, payload, due)

    async def defer_until(self, chat_id: int, kind: str, payload: dict, due: datetime) -> int:
        return await self.repo.defer(chat_id, kind, payload, due, self.clock.now())

    async def next_due(self) -> datetime | None:
        """When a tick next has something to do: now before the first one (recover), then the earliest due slot or
        deferred work (None: nothing until something new is scheduled)."""
        return self.clock.now() if not self._recovered else await self.repo.next_due()

    async def due_work(self) -> list[Deferred]:
        return await self.repo.claim_deferred(self.clock.now())

    async def claim_work(self, deferred_id: int) -> Deferred | None:
        return await self.repo.claim_deferred_one(deferred_id, self.clock.now())
