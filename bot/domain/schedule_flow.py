"""The step-by-step /schedule's choices (pure): which step comes next for the choices so far, the one-line command
they amount to, and the choices read back from a prompt's command. The handler (handlers/schedule_flow.py) asks
the questions and keeps the choices in buttons and prompts."""
from __future__ import annotations

from bot.domain import schedules as dom

# What each kind asks for, in order, before the action's own words; `nth` is `monthly first sat`.
WHEN = {"once": ("date", "time"), "daily": ("time",), "weekly": ("days", "time"), "monthly": ("mday", "time"),
        "nth": ("nth", "weekday", "time"), "every": ("interval",), "cron": ("cron",)}
ARGS = {"campaign": ("multiplier", "duration"), "report": ("to",)}
WITH_CONTENT = ("post", "campaign", "quiz", "poll", "topic")
ACTIONS = ("post", "reminder", "leaderboard", "campaign", "quiz", "poll", "topic", "report", "nps")
# The topic of the week's content is optional: this last choice takes the next topic from the group's list.
FROM_LIST = "list"
# What a placeholder in a prompt's one-line command stands for (the typed answer replaces it).
PLACEHOLDERS = {"time": "TIME", "date": "DATE", "interval": "INTERVAL", "cron": "CRON"}
TYPED = tuple(PLACEHOLDERS)  # the steps that take a typed answer
_PLACEHOLDER_WORDS = {word: step for step, word in PLACEHOLDERS.items()}


def step_of(state: list[str]) -> str | None:
    """What the flow asks next for these choices (None: nothing, make it); ValueError if they make no sense (old or
    forged buttons)."""
    if not state:
        return "action"
    if state[0] not in ACTIONS:
        raise ValueError(state)
    if len(state) == 1:
        return "kind"
    action, kind, *rest = state
    if kind not in WHEN:
        raise ValueError(state)
    steps = WHEN[kind] + ARGS.get(action, ())
    if kind == "weekly" and rest and rest[0].startswith("@"):  # days being picked
        return "days"
    if action == "topic" and rest[len(steps):] == [FROM_LIST]:
        return None
    if len(rest) > len(steps):
        raise ValueError(state)
    if len(rest) < len(steps):
        return steps[len(rest)]
    return "content" if action in WITH_CONTENT else None


def command_words(state: list[str], placeholders: bool = False) -> list[str]:
    """The one-line /schedule words for these choices; `placeholders`: the parts still to come named (TIME…)."""
    action, kind, *rest = state
    when = WHEN[kind]
    picked = rest[:len(when)]
    if kind == "cron" and picked:  # kept with _ for its spaces (a button's data is split at spaces)
        picked = [cron_of(picked[0])]
    if placeholders:
        picked += [PLACEHOLDERS.get(step, step.upper()) for step in when[len(picked):]]
    return ["monthly" if kind == "nth" else kind, *picked, action, *[w for w in rest[len(when):] if w != FROM_LIST]]


def command_line(state: list[str], placeholders: bool = False) -> str:
    """The one-line /schedule command as shown (a cron expression in quotes, as the one-line syntax takes it)."""
    return "/schedule " + " ".join(f'"{w}"' if " " in w else w for w in command_words(state, placeholders))


def cron_in_state(expr: str) -> str:
    """A cron expression as one choice: its spaces as _ (no cron field has one)."""
    return "_".join(expr.split())


def cron_of(choice: str) -> str:
    return choice.replace("_", " ")


def state_of(words: list[str]) -> list[str]:
    """command_words() read back (a prompt's command, split by split_words: a cron expression is one word): the
    choices, without the placeholders still to fill."""
    kind = words[0]
    if kind == "monthly" and len(words) > 1 and words[1] in dom.NTH:
        kind = "nth"
    n = len(WHEN[kind])
    when, action, args = words[1:1 + n], words[1 + n], words[2 + n:]
    if kind == "cron":
        when = [cron_in_state(w) if w not in _PLACEHOLDER_WORDS else w for w in when]
    return [action, kind, *[w for w in when if w not in _PLACEHOLDER_WORDS], *args]


def legacy(data: str) -> list[str]:
    """Buttons made before the flow covered every kind (sch:a:post, sch:t:post:daily:-:09:00…) still work."""
    step, *parts = data.split(":")
    if step == "t" and len(parts) == 5:
        return [parts[0], parts[1], *([parts[2]] if parts[2] != "-" else []), ":".join(parts[3:5])]
    return parts if step in ("a", "k", "d") else [data]
