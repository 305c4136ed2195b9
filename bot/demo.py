"""`make demo`: a short scripted group life, played by the real Application against the simulated Telegram, printed as a chat."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TextIO

from bot.config import Config
from bot.console import Screen
from bot.playground import Playground


def _button(message: dict, prefix: str) -> str:
    """The callback data of the first inline button whose data starts with prefix (what a person would tap)."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return next(b["callback_data"] for row in rows for b in row if b.get("callback_data", "").startswith(prefix))


class Script:
    """Plays lines through the playground and prints the chat as it grows."""

    def __init__(self, pg: Playground, group, out: TextIO) -> None:
        self.pg, self.group, self.out = pg, group, out
        self.screen = Screen(pg, out)  # new entries, presses, and an edited message's final text (✎)
        self.private: list = []  # people who opened a private chat with Sticky, in that order

    def show(self) -> None:
        """The group and each private chat as they grew, in the order things happened — private lines marked
        [name ⇄ Sticky] as in the console."""
        self.screen.show_all([(self.group, "  ")] + [(user, f"  [{user.username} ⇄ Sticky] ") for user in self.private])

    async def step(self, caption: str | None = None) -> None:
        await self.pg.settle()
        if caption:
            print(f"\n── {caption}", file=self.out)
        self.show()

    async def say(self, user, text: str, reply_to=None) -> dict:
        message = self.pg.sim.send(user, text, self.group, reply_to=reply_to)
        await self.step()
        return message

    async def dm(self, user, text: str) -> dict:
        """`user` writes to Sticky in private; from then on their private chat is printed as it grows."""
        if user not in self.private:
            self.private.append(user)
        message = self.pg.sim.send(user, text)
        await self.step()
        return message

    async def press(self, user, message: dict, data: str) -> None:
        self.pg.sim.press(user, message, data)
        await self.step()


def _save_chart(sim, group, folder: Path, out: TextIO) -> None:
    """The /stats chart the transcript shows as [photo], written where a person can open it."""
    photo = next(m for m in reversed(sim.replies(group)) if "photo" in m)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "stats-chart.png"
    path.write_bytes(sim.download(photo["photo"][-1]["file_id"]))
    print(f"  · the chart above is in {path}", file=out)


async def _run_job(pg: Playground, name: str) -> None:
    """What a repeating job does every few seconds in a real run (the schedules tick, the counters' flush)."""
    [job] = pg.app.job_queue.get_jobs_by_name(name)
    await job.run(pg.app)


async def _tick(pg: Playground) -> None:
    await _run_job(pg, "schedules:tick")


async def run_demo(config: Config, out: TextIO = sys.stdout, keep: Path | None = None) -> int:
    """Play the story; `keep`: a directory to leave the demo's database in (demo.db), to look at what happened."""
    with tempfile.TemporaryDirectory(prefix="sticky-demo-") as tmp:
        where = Path(keep) if keep is not None else Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        async with Playground(where / "demo.db", config) as pg:
            sim = pg.sim
            owner, admin = sim.user("owner", first_name="Olivia"), sim.user("admin", first_name="Adam")
            alice, bob, carol = sim.user("alice"), sim.user("bob"), sim.user("carol", language_code="zh")
            print("Sticky demo: the real bot, offline, against a simulated Telegram.", file=out)
            group = sim.create_group("Tea Lovers", owner=owner)
            script = Script(pg, group, out)
            sim.add_bot(group, by=owner)
            await script.step("Olivia creates “Tea Lovers” and adds Sticky as an admin")
            sim.join(group, admin)
            sim.promote(group, admin, by=owner, can_restrict_members=True, can_delete_messages=True)
            await script.step("Adam joins and Olivia makes him a Telegram admin")
            for user in (alice, bob, carol):
                sim.join(group, user)
            await script.step("Alice, Bob and Carol join")
            await script.say(alice, "Hello everyone! Which oolong do you like?")
            await script.say(bob, "Tieguanyin, always.")
            print("\n── Olivia gives community roles; Carol tries too", file=out)
            await script.say(owner, "/setrole @alice activator keeps the chat warm")
            await script.say(admin, "/setrole @bob spreader")
            await script.say(carol, "/setrole @bob activator")
            await script.say(owner, "/setrole @owner activator")
            print("\n── Members look around", file=out)
            await script.say(bob, "/roles")
            await script.say(carol, "/help")
            await script.say(alice, "/me")
            print("\n── Daily check-in: points, XP, streaks", file=out)
            await script.say(alice, "/checkin")
            await script.say(bob, "/checkin")
            await script.say(bob, "/checkin")
            pg.clock.advance(days=1)
            print(f"\n── Next day ({pg.clock.now():%Y-%m-%d})", file=out)
            await script.say(alice, "/checkin")
            await script.say(owner, "/give @bob 40 best tea photo of the week")
            await script.say(alice, "/me")
            await script.say(carol, "/top")
            print("\n── The points shop", file=out)
            await script.say(owner, "/additem Tea mug | 30 | stock 5 | limit 1 | A mug with the group's logo")
            await script.say(bob, "/shop")
            shelf = sim.replies(group)[-1]
            sim.press(bob, shelf, _button(shelf, "shop:buy:"))
            await script.step()
            question = sim.replies(group)[-1]
            sim.press(bob, question, _button(question, "shop:ok:"))
            await script.step()
            await script.say(owner, "/fulfil 1")

            print("\n── Moderation: a blocklist rule fires by itself, then an admin warns", file=out)
            await script.say(owner, '/addblocklist "cheap followers"')
            eve = sim.user("eve")
            sim.join(group, eve)
            await script.step()
            await script.say(eve, "Buy cheap followers at spam.example!")
            await script.say(admin, "/warn @eve ads again after the rule")
            await script.say(admin, "/warns @eve")
            await script.say(owner, "/modlog")

            print("\n── Adam manages the group from his private chat (/connect)", file=out)
            await script.dm(admin, "/start")
            await script.dm(admin, "/connect")
            choice = sim.replies(admin)[-1]
            await script.press(admin, choice, _button(choice, "conn:"))
            await script.dm(admin, "/unwarn @eve")
            await script.dm(admin, "/disconnect")

            print("\n── Rules at work: the link gate, a flood, warns escalating, and a dry run that explains itself", file=out)
            await script.say(owner, "/set link_gate on")
            await script.say(carol, "Try this shop: https://tea.example/oolong")
            finn = sim.user("finn", first_name="Finn")
            sim.join(group, finn)
            await script.step()
            for i in range(6):  # six messages within ten seconds: the default antiflood rule mutes for 10 minutes
                sim.send(finn, f"tea {i}!", group)
            await script.step()
            await script.say(owner, "/setwarnlimit 3")
            await script.say(owner, "/setwarnmode tmute 1h")
            await script.say(admin, "/warn @eve still advertising")
            await script.say(admin, "/warn @eve third time")
            await script.say(admin, "/rule test Buy cheap followers at spam.example")
            await script.say(admin, "/rule test /checkin")
            await script.say(admin, "/addblocklist casino No gambling {tmute 1h}")  # Rose's per-entry action
            gus = sim.user("gus", first_name="Gus")
            sim.join(group, gus)
            await script.step()
            await script.say(gus, "best casino in town!")
            await script.say(admin, "/blocklist")

            print("\n── A spam bot someone added: Sticky never sees its messages, so an admin bans it by reply", file=out)
            spam_bot = sim.user("cheapbot", first_name="Cheap Bot", is_bot=True)
            sim.add_member(group, spam_bot, by=carol)
            await script.step()
            spam = sim.send(spam_bot, "Followers 50% off at spam.example", group)
            await script.say(admin, "/ban spam bot", reply_to=spam)

            print("\n── Alice invites Dave; screening is on, so Dave must pass a check first", file=out)
            await script.say(owner, "/set screening on")
            await script.dm(alice, "/start")  # Alice opens a private chat with Sticky, so it may write to her
            await script.say(alice, "/invite")
            link = next(l["invite_link"] for l in sim.invite_links(group) if l.get("name", "").endswith(f"#{alice.id}"))
            dave = sim.user("dave")
            sim.join(group, dave, link=link)
            await script.step()
            check = await pg.services.funnel.repo.pending_check(group.id, dave.id)
            prompt = next(m for m in sim.messages(group) if m["message_id"] == check.prompt_message_id)
            sim.press(dave, prompt, f"cap:{check.id}:{check.choices.index(check.answers[0])}")
            await script.step()
            pg.clock.advance(hours=24)
            print(f"\n── A day later ({pg.clock.now():%Y-%m-%d %H:%M}): Dave is still here and speaks", file=out)
            await script.say(dave, "Thanks Alice, this group is great!")
            await script.say(alice, "/invites")
            print("\n── In Alice's private chat with Sticky, /me answers for her group", file=out)
            await script.dm(alice, "/me")

            print("\n── Adam builds a weekly post step by step with buttons (/schedule alone), then it runs at its time", file=out)
            await script.say(admin, "/schedule")
            flow = sim.replies(group)[-1]
            for data in ("sch:post", "sch:post weekly", "sch:post weekly @wed", "sch:post weekly wed", "sch:post weekly wed 18:00",
                         "sch:=pin", "sch:=ok"):  # what, how often, the day, Next, the time; on the summary: pin, Next
                await script.press(admin, flow, data)
                flow = sim.message(group, flow["message_id"])
            await script.say(admin, "🫖 Wednesday tasting notes: what did you brew this week?", reply_to=flow)
            [weekly] = await pg.services.schedules.list(group.id)
            pg.clock.set(weekly.next_run)
            print(f"\n── {pg.clock.now():%Y-%m-%d %H:%M}: Adam's weekly post goes out by itself, pinned", file=out)
            await _tick(pg)
            await script.step()

            print("\n── Olivia schedules a daily post and a monthly member day (kept in the database)", file=out)
            await script.say(owner, "/schedule daily 21:00 post 🍵 Tea of the day: share what is in your cup!")
            await script.say(owner, "/schedule memberday")
            [_weekly, daily, memberday] = await pg.services.schedules.list(group.id)
            pg.clock.set(daily.next_run)
            print(f"\n── {pg.clock.now():%Y-%m-%d %H:%M}: the scheduled post goes out by itself", file=out)
            await _tick(pg)
            await script.step()
            pg.clock.set(memberday.next_run)
            print(f"\n── {pg.clock.now():%Y-%m-%d %H:%M}: member day starts; Bob's check-in pays double", file=out)
            await _tick(pg)
            await script.step()
            await script.say(bob, "/checkin")
            pg.clock.advance(days=1, seconds=1)
            await _tick(pg)
            await script.step("A day later the member day ends by itself")

            print("\n── A quiz on schedule: a native Telegram quiz, points for the right answer", file=out)
            await script.say(owner, "/schedule daily 20:00 quiz 30m +15\nWhich tea is green?\nEarl Grey\n*Longjing\nAssam")
            quiz_schedule = (await pg.services.schedules.list(group.id))[-1]
            pg.clock.set(quiz_schedule.next_run)
            await _tick(pg)
            await script.step(f"{pg.clock.now():%Y-%m-%d %H:%M}: the quiz goes out; Alice and Bob answer")
            quiz = [m for m in sim.replies(group) if "poll" in m][-1]
            sim.vote(alice, quiz, [1])
            await script.step()  # each vote, then the poll as it stands after it
            sim.vote(bob, quiz, [0])
            await script.step()
            pg.clock.advance(minutes=30, seconds=1)
            await _tick(pg)
            await script.step("Half an hour later the quiz closes by itself and names who won")

            print("\n── The feedback box: Alice's suggestion is accepted and rewarded", file=out)
            await script.say(alice, "/feedback A tasting evening once a month")
            await script.say(bob, "/suggestions")
            board = sim.replies(group)[-1]
            sim.press(bob, board, _button(board, "fb:vote:"))
            await script.step()
            await script.say(owner, "/fb accept 1 30")  # Alice hears it in private

            print("\n── Olivia switches the group to Chinese: every answer is now in Chinese", file=out)
            await script.say(owner, "/lang zh")
            await script.say(carol, "/roles")
            await script.say(carol, "/checkin")
            await script.say(carol, "/me")
            await script.say(carol, "/shop")
            await script.say(carol, "试试这家店：https://tea.example/oolong")  # the link gate explains itself in Chinese
            await script.say(owner, "/schedule daily 09:00 post 🍵 早上好！今天喝什么茶？")
            morning = (await pg.services.schedules.list(group.id))[-1]
            await script.say(owner, f"/schedule missed {morning.id} sometimes")  # a slip: the keywords, with their meaning
            pg.clock.set(morning.next_run)
            print(f"\n── {pg.clock.now():%Y-%m-%d %H:%M}: the Chinese morning post goes out by itself", file=out)
            await _tick(pg)
            await script.step()
            print("\n── Alice's private chat follows her, not the group: English from her app, until she picks Chinese", file=out)
            await script.dm(alice, "/language")
            await script.press(alice, sim.replies(alice)[-1], "ulang:zh")
            await script.dm(alice, "/me")
            print("\n── Last, back in English: how sticky is the group? An NPS survey, then the stats and the loyalty ladder", file=out)
            await script.say(owner, "/lang en")
            await script.say(owner, "/nps")
            survey = sim.replies(group)[-1]
            for user, score in ((alice, 10), (bob, 9), (dave, 7), (carol, 4)):
                sim.press(user, survey, _button(survey, "nps:").rsplit(":", 1)[0] + f":{score}")
                await script.step()
            await script.say(owner, "/nps close")
            await _run_job(pg, "counters:flush")  # every few seconds in a real run: the chat counted so far
            await script.say(owner, "/stats")
            _save_chart(sim, group, Path(keep) if keep is not None else Path("demo-out"), out)
            await script.say(owner, "/loyalty")
    print("\nDemo finished: every answer above came from Sticky's real handlers.", file=out)
    return 0
