"""The step-by-step /schedule's choices (pure): which step comes next for the choices so far, the one-line command
they amount to, and the choices read back from a prompt's command. The handler (handlers/schedule_flow.py) asks
the questions and keeps the choices in buttons and prompts."""
from __future__ import annotations

from bot.domain import schedules as dom

# What each kind asks for, in order, before the action's own words; `nth` is `monthly first sat`.
WHEN = {"once": ("date", "time"), "daily": ("time",), "weekly": ("days", "time"), "monthly": ("mday", "time"),
        "nth": ("nth", "weekday", "time"), "every": ("interval",)}
ARGS = {"campaign": ("multiplier", "duration")}
WITH_CONTENT = ("post", "campaign", "quiz", "poll")
ACTIONS = ("post", "reminder", "leaderboard", "campaign", "quiz", "poll")
# What a placeholder in a prompt's one-line command stands for (the typed answer replaces it).
PLACEHOLDERS = {"time": "TIME", "date": "DATE", "interval": "INTERVAL"}
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
    if placeholders:
        picked += [PLACEHOLDERS.get(step, step.upper()) for step in when[len(picked):]]
    return ["monthly" if kind == "nth" else kind, *picked, action, *rest[len(when):]]


def state_of(words: list[str]) -> list[str]:
    """command_words() read back (a prompt's command): the choices, without the placeholders still to fill."""
    kind = words[0]
    if kind == "monthly" and len(words) > 1 and words[1] in dom.NTH:
        kind = "nth"
    n = len(WHEN[kind])
    when, action, args = words[1:1 + n], words[1 + n], words[2 + n:]
    return [action, kind, *[w for w in when if w not in _PLACEHOLDER_WORDS], *args]


def legacy(data: str) -> list[str]:
    """Buttons made before the flow covered every kind (sch:a:post, sch:t:post:daily:-:09:00…) still work."""
    step, *parts = data.split(":")
    if step == "t" and len(parts) == 5:
        return [parts[0], parts[1], *([parts[2]] if parts[2] != "-" else []), ":".join(parts[3:5])]
    return parts if step in ("a", "k", "d") else [data]
