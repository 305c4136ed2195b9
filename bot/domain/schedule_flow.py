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
# What a placeholder in a prompt's one-line command stands for (the typed answer replaces it). `first N`'s is the N
# after `first`.
PLACEHOLDERS = {"time": "TIME", "date": "DATE", "interval": "INTERVAL", "cron": "CRON", "start": "FIRST",
                "for": "DURATION", "pts": "+POINTS", "first": "N", "where": "topic:N"}
# After the when and the action's own choices, a summary to check before saving; its buttons toggle these options,
# open a screen for each value chosen there (CHOSEN: the first run `from`, a window's length `for`, what taking part
# pays `pts`, how many right answers pay `first`, the forum topic `where`), and OK saves it (or asks for the
# content). In the choices they are NAME=VALUE words after the positional ones.
OK, START = "ok", "from="
OPTION_WORDS = (*dom.OPTIONS, "multi")  # pin, replace, multi (a poll's several answers)
_OPTION_FOR = {**dom.OPTIONS_FOR, "multi": ("poll",)}
CHOSEN = ("from", "for", "pts", "first", "where")
WINDOW = {"quiz": ("for", "pts", "first"), "poll": ("for", "pts"), "topic": ("for", "pts")}


def is_extra(word: str) -> bool:
    return word in OPTION_WORDS or word == OK or word == FROM_LIST or word.partition("=")[0] in CHOSEN and "=" in word


def extras_of(state: list[str]) -> list[str]:
    return [w for w in state[2:] if is_extra(w)]


def chosen_of(state: list[str]) -> dict[str, str]:
    """The summary's values chosen so far: {"for": "2h", "pts": "20", "from": "2026-12-10_09:00"…}."""
    return dict(w.split("=", 1) for w in extras_of(state) if "=" in w)


def choose(state: list[str], name: str, value: str | None) -> list[str]:
    """The choices with `name` set to value (None: back to its default)."""
    kept = [w for w in state if not (is_extra(w) and w.partition("=")[0] == name and "=" in w)]
    return kept if value is None else [*kept, f"{name}={value}"]


def options_for(action: str, kind: str) -> list[str]:
    """The summary's toggles that mean something here (pin only what is posted; replace not for a single run; multi
    for a poll)."""
    return [o for o in OPTION_WORDS if action in _OPTION_FOR[o] and not (o == "replace" and kind == "once")]


def values_for(action: str, forum: bool) -> list[str]:
    """The summary's values to choose here besides the first run: a window's for the activities that have one, and
    in a forum supergroup the topic to post in (not for the weekly report, which goes to the admins or the group)."""
    return [*WINDOW.get(action, ()), *(["where"] if forum and action != "report" else [])]


TYPED = tuple(PLACEHOLDERS)  # the steps that take a typed answer
_PLACEHOLDER_WORDS = {word: step for step, word in PLACEHOLDERS.items() if step not in CHOSEN}


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
    extras = [w for w in rest if is_extra(w)]
    rest = [w for w in rest if not is_extra(w)]
    steps = WHEN[kind] + ARGS.get(action, ())
    if kind == "weekly" and rest and rest[0].startswith("@"):  # days being picked
        return "days"
    if len(rest) > len(steps):
        raise ValueError(state)
    if len(rest) < len(steps):
        if extras:
            raise ValueError(state)
        return steps[len(rest)]
    if OK not in extras:
        return "summary"
    if action == "topic" and FROM_LIST in extras:
        return None
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
    extras = [w for w in rest if is_extra(w)]
    rest = [w for w in rest if not is_extra(w)]
    chosen = chosen_of(state)
    asked = lambda name: placeholders == name  # noqa: E731  (the value being asked shows its placeholder)
    start = chosen.get("from")
    first = ["from", *start.split("_")] if start else (["from", PLACEHOLDERS["start"]] if asked("start") else [])
    window = [chosen["for"]] if "for" in chosen else [PLACEHOLDERS["for"]] if asked("for") else []
    window += ["+" + chosen["pts"]] if "pts" in chosen else [PLACEHOLDERS["pts"]] if asked("pts") else []
    window += ["first", chosen["first"]] if "first" in chosen else ["first", PLACEHOLDERS["first"]] if asked("first") else []
    window += ["multi"] if "multi" in extras else []
    options = [o for o in dom.OPTIONS if o in extras]
    where = ["topic:" + chosen["where"]] if "where" in chosen else [PLACEHOLDERS["where"]] if asked("where") else []
    return ["monthly" if kind == "nth" else kind, *picked, *first, action, *rest[len(when):], *window, *options, *where]


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
    when, rest = words[1:1 + n], words[1 + n:]
    if kind == "cron":
        when = [cron_in_state(w) if w not in _PLACEHOLDER_WORDS else w for w in when]
    start = []
    if rest and rest[0] == "from":  # from DATE [TIME], or from FIRST (the first run being asked)
        taken = [w for w in rest[1:3] if w == PLACEHOLDERS["start"] or dom.looks_like_start(w)]
        if taken and taken != [PLACEHOLDERS["start"]]:
            start = [START + "_".join(taken)]
        rest = rest[1 + len(taken):]
    action, args = rest[0], rest[1:]
    positional, chosen, options = [], [], []
    i = 0
    while i < len(args):
        word = args[i]
        if word in OPTION_WORDS:
            options.append(word)
        elif word == PLACEHOLDERS["where"] or word in (PLACEHOLDERS["for"], PLACEHOLDERS["pts"]):
            pass  # the value being asked
        elif word.lower().startswith("topic:"):
            chosen.append("where=" + word[len("topic:"):].lower())
        elif action in WINDOW and word == "first" and i + 1 < len(args):
            if args[i + 1] != PLACEHOLDERS["first"]:
                chosen.append("first=" + args[i + 1])
            i += 1
        elif action in WINDOW and (name := dom.window_word(word)) is not None:
            chosen.append(f"{name}={word.lower().removeprefix('+')}")
        else:
            positional.append(word)
        i += 1
    return [action, kind, *[w for w in when if w not in _PLACEHOLDER_WORDS], *positional, *start, *chosen, *options]


def asked_in(words: list[str]) -> str | None:
    """Which of the summary's values a prompt's command asks for (its placeholder is there): "start", "for"…"""
    for name in ("start", "for", "pts", "where"):
        if PLACEHOLDERS[name] in words:
            return name
    if any(w == "first" and n == PLACEHOLDERS["first"] for w, n in zip(words, words[1:])):
        return "first"
    return None


def legacy(data: str) -> list[str]:
    """Buttons made before the flow covered every kind (sch:a:post, sch:t:post:daily:-:09:00…) still work."""
    step, *parts = data.split(":")
    if step == "t" and len(parts) == 5:
        return [parts[0], parts[1], *([parts[2]] if parts[2] != "-" else []), ":".join(parts[3:5])]
    return parts if step in ("a", "k", "d") else [data]
