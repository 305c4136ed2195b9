"""`python -m bot console`: a simulated Telegram in the terminal — a group, private chats with Sticky, buttons,
joins and leaves, and a clock that runs Sticky's timed work when it moves. `help` lists the verbs."""
from __future__ import annotations

import asyncio
import logging
import re
import tempfile
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TextIO

from bot.clock import FixedClock
from bot.config import Config
from bot.playground import Playground
from bot.sim.state import ADMIN_RIGHTS

NAME = r"\w{1,32}"  # letters of any script, digits, _: alice, 小明
USERNAME = re.compile(r"[A-Za-z0-9_]+")  # what a Telegram username may hold; 小明 has none (reach them by reply)
SAY = re.compile(rf"^\s*(?P<who>{NAME})\s*(?:->\s*(?P<to>{NAME})\s*)?:\s?(?P<text>.*)$")
DM = re.compile(rf"^\s*(?P<who>{NAME})\s+dm\s*:\s?(?P<text>.*)$")
PRESS = re.compile(rf"^\s*(?P<who>{NAME})\s+press\s+(?P<label>.+?)\s*$")
JOIN = re.compile(rf"^\s*join\s+(?P<who>{NAME})(?:\s+via\s+(?P<link>\S+))?\s*$")
MEMBER_VERB = re.compile(rf"^\s*(?P<verb>leave|promote|demote)\s+(?P<who>{NAME})(?P<rights>(?:\s+[a-z_]+)*)\s*$")
WAIT = re.compile(r"^\s*wait\s+(?P<span>(?:\d+\s*[smhd]\s*)+)$")
SPAN = re.compile(r"(\d+)\s*([smhd])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
LONGEST_WAIT = timedelta(days=366)
BOT_RIGHTS = " ".join(r.removeprefix("can_") for r in ADMIN_RIGHTS if r != "can_manage_chat")

HELP = """Console verbs (Sticky answers as it would in Telegram):
  alice: hello                   alice writes in the group (any new name joins first)
  bob -> alice: /give 5 thanks   bob replies to alice's last message (bob -> sticky: Sticky's last one)
  alice dm: /start               alice writes to Sticky in private; its private messages show as [alice ⇄ Sticky]
  alice press Confirm            alice presses the button whose label contains "Confirm" on the latest message that has one
                                 (a link button to Sticky opens her private chat and sends /start, as Telegram does)
  join dave [via LINK]           dave joins (through an invite link Sticky gave; a link to Sticky opens his
                                 private chat and sends /start with its code)
  leave dave                     dave leaves the group
  promote bob / demote bob       the owner makes bob (a member) a Telegram admin, or takes it back
  demote sticky                  the owner takes Sticky's admin rights (see what it says without them)
  promote sticky [RIGHT …]       gives them back: the usual ones, or only those named (delete_messages,
                                 restrict_members, invite_users, pin_messages, …)
  wait 10m                       the clock moves (s, m, h, d; 1h30m): captcha timeouts, referral confirmations,
                                 deletions and schedules due on the way run at their own time
  help                           this list;  quit  ends
A name is letters of any script, digits or _ (alice, 小明); one that is not a Telegram username (小明) has none,
so others reach that person by reply (bob -> 小明: /me), not by @.
`owner` owns the group "Console Group"; `admin` is its Telegram admin; Sticky is @{bot} (/foo@{bot} addresses it)."""


def span_seconds(text: str) -> int:
    """The span in seconds, as an int: no timedelta, so a typo of many digits cannot overflow."""
    return sum(int(n) * int(timedelta(**{UNITS[u]: 1}).total_seconds()) for n, u in SPAN.findall(text))


def parse_span(text: str) -> timedelta:
    return sum((timedelta(**{UNITS[u]: int(n)}) for n, u in SPAN.findall(text)), timedelta())


def verb_hint(line: str) -> str | None:
    """What a console verb typed without its argument, or with a wrong one, needs (`wait soon`, `join`, `alice
    press`): a line saying its form, rather than the general "write name: text"."""
    words = line.split()
    if not words:
        return None
    verb = words[0].lower()
    if verb == "wait":
        return "wait takes a span: s, m, h, d, combined (wait 10s, wait 10m, wait 1h30m, wait 2d)"
    if verb == "join":
        return "join takes a name: join dave, or join dave via LINK (an invite link Sticky gave)"
    if verb in ("leave", "promote", "demote"):
        return f"{verb} takes a name: {verb} bob" + (" (or sticky)" if verb != "leave" else "")
    if len(words) >= 2 and words[1].lower() == "press":
        return f"press takes a button's label, or part of it: {words[0]} press Confirm"
    who, colon, _text = line.partition(":")  # `name: text` with something else where a name goes: say what a name is
    names = [n.strip() for n in re.sub(r"\s+dm\s*$", "", who).split("->")] if colon and who.strip() else []
    if wrong := next((n for n in names if not re.fullmatch(NAME, n)), None):
        return f"a name is letters of any script, digits or _, up to 32 (alice, 小明, mary_jane): “{wrong}” is not one"
    return None


class Screen:
    """Prints chats as they grow: new entries, and the final text of messages edited since they were shown — from
    several chats at once in the order things happened (a command typed in private, then what it did in the group,
    then the answer in private)."""

    def __init__(self, pg: Playground, out: TextIO) -> None:
        self.pg, self.out = pg, out
        self.seen: dict[object, dict[object, str]] = {}

    def show(self, chat, prefix: str = "") -> None:
        self.show_all([(chat, prefix)])

    def show_all(self, chats: list[tuple[object, str]]) -> None:
        changes = []
        for place, (chat, prefix) in enumerate(chats):
            seen = self.seen.setdefault(getattr(chat, "id", chat), {})
            for key, text, created, changed in self.pg.sim.transcript_changes(chat):
                if seen.get(key) == text:
                    continue
                # A new entry stands where it was created (with its final text); an edit or deletion of one already
                # shown, where that change happened — after the press or the leave that caused it.
                at = changed if key in seen and changed else created
                changes.append((at, place, key, text, prefix, seen))
        for _at, _place, key, text, prefix, seen in sorted(changes, key=lambda c: (c[0], c[1])):
            mark = "✎ " if key in seen and not text.endswith("[deleted]") else ""  # a deletion says so itself
            seen[key] = text
            print(prefix + mark + text.replace("\n", "\n" + prefix + "  "), file=self.out)
        self.out.flush()


async def _read_line(stdin: TextIO) -> str:
    """One line of input, read off the event loop: Sticky keeps running while a person types."""
    return await asyncio.to_thread(stdin.readline)


def log_to_file(name: str = "console") -> Path:
    """Library messages (APScheduler, PTB, warnings) go to a file, never into the chat transcript."""
    path = Path(tempfile.gettempdir()) / f"sticky-{name}-{datetime.now():%Y%m%d-%H%M%S}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    warnings.simplefilter("default")
    return path


async def run_console(config: Config, stdin: TextIO, stdout: TextIO, start: datetime | None = None) -> int:
    interactive = stdin.isatty()
    log_path = log_to_file()
    start = start or datetime.now(timezone.utc).replace(second=0, microsecond=0)
    with tempfile.TemporaryDirectory(prefix="sticky-console-") as tmp:
        async with Playground(Path(tmp) / "console.db", config, FixedClock(start), drive_jobs=True) as pg:
            # The clock first: every line after it happens at a simulated time, starting with the group's setup.
            print(f"· the simulated clock starts at {pg.clock.now():%Y-%m-%d %H:%M} UTC; `wait 10m` moves it. `help` lists the verbs.",
                  file=stdout)
            session = Session(pg, stdout)
            await session.open()
            if interactive:
                print(HELP.format(bot=pg.sim.bot.username), file=stdout)
            while True:
                if interactive:
                    stdout.write("> ")
                    stdout.flush()
                line = await _read_line(stdin)
                if not line or line.strip() in ("quit", "exit"):
                    break
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                await session.handle(line)
    print(f"· library messages were written to {log_path}", file=stdout)
    return 0


class Session:
    def __init__(self, pg: Playground, out: TextIO) -> None:
        self.pg, self.out, self.sim = pg, out, pg.sim
        self.screen = Screen(pg, out)
        self.last: dict[str, dict] = {}  # each name's last group message, for `bob -> alice:`
        self.private: set[str] = set()  # names with a private chat open

    async def open(self) -> None:
        sim = self.sim
        self.owner = sim.user("owner")
        self.group = sim.create_group("Console Group", owner=self.owner)
        sim.add_bot(self.group, by=self.owner)
        admin = sim.user("admin")
        sim.join(self.group, admin)
        sim.promote(self.group, admin, by=self.owner, can_restrict_members=True, can_delete_messages=True)
        await self.pg.settle()
        self.screen.show(self.group)

    def note(self, text: str) -> None:
        print(f"· {text}", file=self.out)

    def refresh(self) -> None:
        self.screen.show_all([(self.group, "")] + [(self._user(name), f"[{name} ⇄ Sticky] ") for name in sorted(self.private)])

    async def handle(self, line: str) -> None:
        try:
            await self._handle(line)
        except Exception as exc:  # what Telegram's app would refuse (a muted member typing, a banned one joining…)
            self.note(f"not possible: {exc}")
        await self.pg.settle()
        self.refresh()

    def _user(self, name: str):
        """The person a console name stands for: `alice` has the username alice; a name Telegram's usernames cannot
        hold (小明) is an account without one, as in Telegram, named 小明."""
        return self.sim.user(name, with_username=bool(USERNAME.fullmatch(name)))

    def _is_sticky(self, name: str | None) -> bool:
        return name is not None and name.lower() in ("sticky", (self.sim.bot.username or "").lower())

    def _reply_target(self, name: str) -> dict | None:
        """The last group message of `name` (`sticky`: Sticky's own), still there, or None."""
        if self._is_sticky(name):
            mine = [m for m in self.sim.messages(self.group) if m.get("from", {}).get("id") == self.sim.bot.id]
            return max(mine, key=lambda m: (m["date"], m["message_id"]), default=None)
        last = self.last.get(name)
        return None if last is None or self.sim.message(self.group, last["message_id"]) is None else last

    async def _handle(self, line: str) -> None:
        sim, group = self.sim, self.group
        who = next((m["who"] for pattern in (DM, PRESS, JOIN, MEMBER_VERB, SAY) if (m := pattern.match(line))), None)
        if line.strip() == "help":
            print(HELP.format(bot=self.sim.bot.username), file=self.out)
        elif self._is_sticky(who) and (m := MEMBER_VERB.match(line)) and m["verb"] != "leave":
            self._bot_rights(m["verb"], m["rights"].split())
        elif (m := MEMBER_VERB.match(line)) and m["rights"].strip():
            self.note("rights are named for Sticky only (promote sticky delete_messages …); promote bob gives the usual ones")
        elif self._is_sticky(who) and not WAIT.match(line):
            self.note("Sticky is the bot and answers by itself: write as a person (alice: hello)")
        elif m := WAIT.match(line):
            if span_seconds(m["span"]) > LONGEST_WAIT.total_seconds():
                self.note("wait moves the clock by at most 366 days (1h30m, 2d…)")
                return
            if span_seconds(m["span"]) == 0:
                self.note("wait 0 moves nothing: give a span, such as wait 10s or wait 1h30m")
                return
            before = self.pg.clock.now()

            def step(job) -> None:
                self.refresh()

            await self.pg.wait(parse_span(m["span"]), on_step=step)
            self.refresh()
            after = self.pg.clock.now()
            minute = "%Y-%m-%d %H:%M"
            shown = minute if f"{before:{minute}}" != f"{after:{minute}}" else minute + ":%S"  # `wait 10s` shows it moved
            self.note(f"the clock moved {before:{shown}} → {after:{shown}} UTC")
        elif m := JOIN.match(line):
            name = m["who"].lower()
            if not (m["link"] and self._start_via(name, self._user(name), m["link"])):  # /invite's "through me" link
                sim.join(group, self._user(name), link=m["link"])
        elif m := MEMBER_VERB.match(line):
            user = self._user(m["who"].lower())
            if m["verb"] == "leave":
                sim.leave(group, user)
            elif m["verb"] == "promote":
                if not self._is_member(user):  # Telegram promotes members only; joining him here would screen him
                    self.note(f"{m['who'].lower()} isn't in {group.title}: nothing changed (`join {m['who'].lower()}` first, then promote)")
                    return
                sim.promote(group, user, by=self.owner, can_restrict_members=True, can_delete_messages=True, can_invite_users=True)
            else:
                sim.demote(group, user, by=self.owner)
        elif m := DM.match(line):
            name = m["who"].lower()
            self.private.add(name)
            sim.send(self._user(name), m["text"])
        elif m := PRESS.match(line):
            self._press(m["who"].lower(), m["label"])
        elif m := SAY.match(line):
            name = m["who"].lower()
            reply_to = self._reply_target(m["to"].lower()) if m["to"] else None
            if m["to"] and reply_to is None:
                self.note(f"{m['to'].lower()} has no message in {group.title} to reply to: nothing was sent")
                return
            user = self._user(name)
            if not self._is_member(user):
                # Joining comes first, handled before the line is typed: a person sees the check (screening on)
                # before they can write, and Telegram then refuses what they type until they pass it.
                sim.join(group, user)
                await self.pg.settle()
                self.refresh()
            self.last[name] = sim.send(user, m["text"], group, reply_to=reply_to)
        elif hint := verb_hint(line):
            self.note(hint)
        else:
            print("? write `name: text`, or `help` for every verb", file=self.out)

    def _bot_rights(self, verb: str, named: list[str]) -> None:
        """The owner changes Sticky's admin rights in the group's settings, as in the app: Telegram tells Sticky
        (my_chat_member) and answers its next getChatMember with them."""
        if verb == "demote":
            self.sim.demote(self.group, self.sim.bot, by=self.owner)
            return
        named = [r.removeprefix("can_") for r in named]  # as the Bot API names them, or without can_
        unknown = [r for r in named if f"can_{r}" not in ADMIN_RIGHTS]
        if unknown:
            self.note(f"no such admin right: {', '.join(unknown)} (known: {BOT_RIGHTS})")
            return
        # An administrator can always manage the chat; every other right is on only when named.
        rights = {r: r == "can_manage_chat" or r.removeprefix("can_") in named for r in ADMIN_RIGHTS} if named else {}
        self.sim.promote(self.group, self.sim.bot, by=self.owner, **rights)

    def _is_member(self, user) -> bool:
        member = self.sim.member(self.group, user)  # a restricted member who left is "restricted", is_member false
        return member["status"] not in ("left", "kicked") and member.get("is_member", True)

    def _press(self, name: str, label: str) -> None:
        user = self._user(name)
        chats = [self.group] + ([user] if name in self.private else [])
        wanted = label.casefold().strip("“”\"'")
        # The latest message first: the clock only moves with `wait`, so many share a date; ids break the tie.
        for message in sorted((m for c in chats for m in self.sim.messages(c)), key=lambda m: (m["date"], m["message_id"]), reverse=True):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if wanted not in button["text"].casefold():
                        continue
                    if "callback_data" in button:
                        self.sim.press(user, message, button["callback_data"])
                        return
                    if "url" in button:
                        self._open(name, user, button)
                        return
        self.note(f"no button labelled {label!r} for {name}")

    def _start_via(self, name: str, user, url: str) -> bool:
        """A deep link to Sticky (t.me/Bot or t.me/Bot?start=PAYLOAD), pressed or followed by `join NAME via`:
        Telegram opens the private chat, and Start sends `/start PAYLOAD`. False for any other address."""
        bot = re.escape(self.sim.bot.username or "")
        m = re.fullmatch(rf"https://t\.me/{bot}(?:\?start=(?P<payload>[A-Za-z0-9_-]+))?", url, re.IGNORECASE)
        if m is None:
            return False
        self.private.add(name)
        self.sim.send(user, f"/start {m['payload']}" if m["payload"] else "/start")
        return True

    def _open(self, name: str, user, button: dict) -> None:
        """A link button: Telegram opens the URL. A deep link to Sticky opens its private chat, where Start sends
        `/start PAYLOAD`; an invite link of the group joins it; any other address is outside Telegram."""
        url = button["url"]
        self.note(f"{name} opened the link '{button['text']}'")
        if self._start_via(name, user, url):
            return
        if re.fullmatch(r"https://t\.me/\+\S+", url):
            self.sim.join(self.group, user, link=url)
        else:
            self.note(f"{url} is outside Telegram: nothing happens here")
