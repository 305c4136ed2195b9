"""`python -m bot console`: an interactive simulated group. Type `name: text`; `name -> other: text` replies to other's last message."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TextIO

from bot.config import Config
from bot.playground import Playground

LINE = re.compile(r"^\s*(?P<who>[A-Za-z0-9_]{1,32})\s*(?:->\s*(?P<to>[A-Za-z0-9_]{1,32})\s*)?:\s?(?P<text>.*)$")
WAIT = re.compile(r"^\s*wait\s+(?P<n>\d+)\s*(?P<unit>[smhd])\s*$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

HELP = """Type as anyone: `alice: hello`, `owner: /setrole @alice activator`.
`owner` owns the group, `admin` is its Telegram admin; any other name joins on first use.
`bob -> alice: /setrole activator` replies to alice's last message. `wait 2h` moves the clock. `quit` ends."""


async def run_console(config: Config, stdin: TextIO, stdout: TextIO) -> int:
    interactive = stdin.isatty()
    with tempfile.TemporaryDirectory(prefix="sticky-console-") as tmp:
        async with Playground(Path(tmp) / "console.db", config) as pg:
            sim = pg.sim
            owner = sim.user("owner")
            group = sim.create_group("Console Group", owner=owner)
            sim.add_bot(group, by=owner)
            admin = sim.user("admin")
            sim.join(group, admin)
            sim.promote(group, admin, by=owner, can_restrict_members=True, can_delete_messages=True)
            await pg.settle()
            shown = len(sim.transcript(group))
            if interactive:
                print(HELP, file=stdout)
            last: dict[str, dict] = {}
            while True:
                if interactive:
                    stdout.write("> ")
                    stdout.flush()
                line = stdin.readline()
                if not line or line.strip() in ("quit", "exit"):
                    break
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                if m := WAIT.match(line):
                    pg.clock.advance(**{UNITS[m["unit"]]: int(m["n"])})
                    print(f"· the clock is now {pg.clock.now():%Y-%m-%d %H:%M} UTC", file=stdout)
                    continue
                m = LINE.match(line)
                if m is None:
                    print("? write `name: text` (or `help`)" if line.strip() != "help" else HELP, file=stdout)
                    continue
                name = m["who"].lower()
                user = sim.user(name)
                if sim.member(group, user)["status"] in ("left", "kicked"):
                    try:
                        sim.join(group, user)
                    except Exception as exc:  # banned users cannot come back: say so, as Telegram would
                        print(f"· {name} cannot join: {exc}", file=stdout)
                        continue
                reply_to = last.get(m["to"].lower()) if m["to"] else None
                try:
                    last[name] = sim.send(user, m["text"], group, reply_to=reply_to)
                except Exception as exc:  # e.g. a muted member: Telegram's app would not let them type
                    print(f"· {name} cannot send: {exc}", file=stdout)
                    continue
                await pg.settle()
                lines = sim.transcript(group)
                for out_line in lines[shown:]:
                    print(out_line, file=stdout)
                shown = len(lines)
                stdout.flush()
    return 0
