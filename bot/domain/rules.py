"""The rules engine, pure: a registry of part kinds (triggers, conditions, effects) with stable keys and typed,
validated settings; a one-line parser whose errors give the position and what was expected there; and
evaluate(event, rules, member, window, now) -> Decision(effects, trace). No Telegram, no database, no clock.

    when message or edit and has link and tier < silver then delete, reply "Links unlock at silver"
    when message and flood 6 in 10s then mute 10m
    when warns >= 3 then mute 24h
"""
from __future__ import annotations

from array import array
import functools
import operator
import re
import struct
import unicodedata
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import Any

from bot.domain.errors import UserError
from bot.domain.moderation import format_duration, parse_duration
from bot.domain.roles import Role

import re2  # google-re2: linear-time matching, so a pathological pattern or text cannot stall the bot

MAX_RULE_LENGTH = 1000
MAX_RULES = 100
EXPORT_VERSION = 1


# ---------------------------------------------------------------------------------------------- errors

class RuleError(UserError):
    code = "rule"  # params: reason in {syntax, unknown, name_taken, too_many, position}, plus position/expected/found, n


def render_hint(template: str, params: dict[str, Any], translate: Callable[[str], str] = lambda s: s) -> str:
    """A parser hint in words, in English (the exception's own message; bot/texts/rules.py renders it for a reader,
    each keyword with its meaning): `template` (translated) filled from `params`; a tuple is a choice of keywords,
    shown quoted and joined by (a translated) “or”; a list is an enumeration of keywords (the kinds a trigger,
    condition or effect may be), joined by ", ". The keywords themselves are the syntax and stay as they are."""
    sep = translate(" or ")
    values = {k: sep.join(f"“{w}”" for w in v) if isinstance(v, tuple) else ", ".join(v) if isinstance(v, list) else v
              for k, v in params.items()}
    return translate(template).format(**values) if values else translate(template)


class RuleSyntaxError(ValueError):
    """`position` is the 0-based character offset; `expected` what would have been right there, in English;
    `template` and `params` the same hint for a translation (bot/texts/rules.py PARSER_HINTS lists every template)."""

    def __init__(self, position: int, expected: str, found: str, **params: Any) -> None:
        self.template, self.params = expected, params
        expected = render_hint(expected, params)
        super().__init__(f"at {position}: expected {expected}, found {found or 'the end'}")
        self.position, self.expected, self.found = position, expected, found


# ---------------------------------------------------------------------------------------------- tokens

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op><=|>=|!=|<|>|=)|(?P<comma>,)|(?P<word>[^\s,"<>=!]+))')


@dataclass(frozen=True)
class Tok:
    kind: str  # str | op | comma | word | end
    text: str
    pos: int

    @property
    def value(self) -> str:
        if self.kind == "str":
            # Only \" and \\ are escapes; any other backslash stays as typed (a regex's \s, \d, \b mean what they say).
            return re.sub(r'\\([\\"])', r"\1", self.text[1:-1])
        return self.text


def tokenize(line: str) -> list[Tok]:
    out, i = [], 0
    while i < len(line):
        if line[i:].strip() == "":
            break
        m = _TOKEN.match(line, i)
        if m is None or m.end() == i:
            start = len(line[i:]) - len(line[i:].lstrip()) + i
            raise RuleSyntaxError(start, "a word, a number or a quoted text", line[start:start + 10])
        kind = m.lastgroup
        out.append(Tok(kind, m.group(kind), m.start(kind)))
        i = m.end()
    out.append(Tok("end", "", len(line)))
    return out


class Cursor:
    def __init__(self, line: str) -> None:
        self.line = line
        self.toks = tokenize(line)
        self.i = 0

    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def peek_word(self, *words: str) -> bool:
        return self.tok.kind == "word" and self.tok.text.lower() in words

    def take(self) -> Tok:
        t = self.tok
        if t.kind != "end":
            self.i += 1
        return t

    def fail(self, expected: str, **params: Any) -> RuleSyntaxError:
        return RuleSyntaxError(self.tok.pos, expected, self.tok.text, **params)

    def word(self, *words: str, expected: str | None = None) -> str:
        if self.tok.kind == "word" and (not words or self.tok.text.lower() in words):
            return self.take().text.lower()
        raise self.fail(expected) if expected else self.fail("{choices}", choices=words)

    def text(self, expected: str = "a quoted text") -> str:
        if self.tok.kind != "str":
            raise self.fail(expected)
        return self.take().value

    def number(self, lo: int = 0, hi: int = 1_000_000, expected: str | None = None) -> int:
        t = self.tok
        if t.kind == "word" and t.text.isascii() and t.text.isdigit() and lo <= int(t.text) <= hi:
            self.take()
            return int(t.text)
        raise self.fail(expected) if expected else self.fail("a whole number from {lo} to {hi}", lo=lo, hi=hi)

    def signed(self, expected: str = "a number such as +10 or -5") -> int:
        t = self.tok
        if t.kind == "word" and re.fullmatch(r"[+-]?[0-9]{1,7}", t.text) and int(t.text) != 0:
            self.take()
            return int(t.text)
        raise self.fail(expected)

    def duration(self) -> timedelta:
        t = self.tok
        if t.kind == "word":
            try:
                value = parse_duration(t.text)
            except ValueError:
                pass
            else:
                self.take()
                return value
        raise self.fail("a duration such as 30s, 10m, 2h, 7d or 2w")

    def op(self) -> str:
        if self.tok.kind == "op":
            return self.take().text
        raise self.fail("a comparison: <, <=, >, >=, = or !=")

    def name(self, expected: str = "a name (letters, digits, _)") -> str:
        t = self.tok
        if t.kind == "word" and re.fullmatch(r"[a-z][a-z0-9_]{0,31}", t.text.lower()):
            self.take()
            return t.text.lower()
        raise self.fail(expected)


_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq, "!=": operator.ne}


def _cmp(op: str, a: float, b: float) -> bool:
    return _OPS[op](a, b)


# ---------------------------------------------------------------------------------------------- what a rule sees

@dataclass(frozen=True)
class Event:
    """What happened, as a rule sees it. `kind`: message | edit | join | checkin | referral | tier | violations | inactive."""

    kind: str
    chat_id: int
    user_id: int
    date: datetime
    message_id: int | None = None
    text: str = ""
    links: tuple[str, ...] = ()  # hosts of the links in the message (lower case; '' for a link without host)
    mentions: int = 0
    forward: bool = False
    media: str | None = None  # photo | video | audio | voice | document | animation | sticker | video_note | None
    emoji: int = 0
    from_bot: bool = False
    from_channel: bool = False
    violation: str | None = None  # violations: which counter changed
    violations: int = 0  # …and how many are active now (within the warn expiry)
    inactive_days: int = 0  # inactive: the threshold just crossed
    extras: frozenset[str] = frozenset()  # EXTRAS present in the message
    key: str = ""  # what makes this event one occurrence (ledger refs, violation keys): m<message id>, checkin:<day>…
    recent: tuple[datetime, ...] = ()  # violations: when each active one of that counter was added, oldest first
    # One of Sticky's own commands (/checkin, /me…): content rules judge its text like any message, but a rule that
    # rewards does not fire on it — the command rewards (or not) by itself, and /checkin must not pay twice.
    sticky_command: bool = False


# How a service tells the rules engine what happened (RulesService.feed): after its own commit, never raising.
RuleEvents = Callable[[Event], Awaitable[object]]


@dataclass(frozen=True)
class MemberFacts:
    role: Role = Role.MEMBER
    tier: int = 0  # index in the tier ladder
    tier_key: str = "bronze"
    days_in_group: int = 0
    messages: int = 0
    exempt: bool = False  # owner, admin, anonymous admin, the linked channel
    approved: bool = False


@dataclass(frozen=True)
class Ctx:
    """Facts the evaluation needs beside the event: tier ladder, named lists, group time offset. The lists' word
    patterns and domains are made once here (`compiled`, which a group's rules keep and hand to every message's Ctx),
    not at every check."""

    tiers: tuple[str, ...] = ("bronze", "silver", "gold", "platinum", "diamond")
    tier_perks: tuple[frozenset[str], ...] = ()
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    local_time: time | None = None
    compiled: "CompiledLists | None" = field(default=None, compare=False, repr=False)
    tz: tzinfo | None = None  # the group's time zone, for `once a day` (a calendar day there); None: UTC

    def __post_init__(self) -> None:
        if self.compiled is None:
            object.__setattr__(self, "compiled", compile_lists(self.lists))


@dataclass(frozen=True)
class CompiledLists:
    """A group's named lists as the conditions use them: per list its words' patterns and its domains."""

    patterns: dict[str, tuple[Any, ...]]  # RE2 patterns (words_patterns)
    domains: dict[str, frozenset[str]]


def compile_lists(lists: dict[str, tuple[str, ...]]) -> CompiledLists:
    return CompiledLists({name: words_patterns(tuple(items)) for name, items in lists.items()},
                         {name: frozenset(d.lower().lstrip(".") for d in items) for name, items in lists.items()})


_US = timedelta(microseconds=1)
_PAIR = struct.Struct("qq")  # one message in Window.by_member: at (us), text key; native, as memoryview.cast("q") reads


class Window:
    """Flood and duplicate windows of one chat, in memory, by the messages' own dates (a backlog delivered at once is
    not a flood). Only new messages are recorded: an edit is never counted again. Also per-rule cooldowns.

    Kept small, since every member who spoke recently has an entry: per member one bytes object of native 64-bit
    ints, timestamp, text key, timestamp, text key, … — microseconds since the epoch and the hash of the normalised
    text (0 for none), 80 B a member who said two things (64 for one; an array of them was 96: its object and its
    buffer are two allocations), replaced whole at each message; not a list of a float and an int object per message
    (about 230 B), a (timestamp, key) tuple per message (56 B more each), nor a 50-slot deque of datetimes and
    strings (about 1 KB a member) — and a member whose last message is older than `horizon` before the newest one is
    dropped now and then (no flood or duplicate condition looks further back than the group's longest window).
    The group's own last GROUP_KEPT message times (groupflood) are one flat array of floats, 8 B a message and
    trimmed in one move each GROUP_KEPT records, not a deque of float objects (32 B a message)."""

    PRUNE_EVERY = 4096  # records between two passes over the members
    GROUP_KEPT = 2000  # the group's messages groupflood counts among: the last this many

    def __init__(self, horizon: timedelta = timedelta(minutes=10), per_member: int = 50) -> None:
        self.horizon = horizon
        self.per_member = per_member
        self.by_member: dict[int, bytes] = {}  # [at (us), key, at, key, …] packed (_PAIR), oldest first
        self.group: array[float] = array("d")  # the group's message times, oldest first; the last GROUP_KEPT count
        self._newest = float("-inf")
        self._records = 0
        self.fired: dict[tuple[int, int], datetime] = {}  # (rule id, user) -> when it last fired
        # user -> (when Sticky restricted them, until when or None, "mute" | "ban"): a flood's later messages, sent
        # before that, do not mute again; a message sent after it shows the restriction was lifted.
        self.restricted: dict[int, tuple[datetime, datetime | None, str]] = {}
        # (flood rule id, user) -> when it last warned them (or added a violation): the rest of that burst, sent before
        # then, is the same flood and is not punished again (one burst, one warn — not a warn per message past N).
        self.flood_punished: dict[tuple[int, int], datetime] = {}

    @staticmethod
    def _key(text: str) -> int:
        key = normalise(text)
        return hash(key) if key else 0

    def record(self, user_id: int, date: datetime, text: str) -> None:
        at = date.timestamp()
        pair = _PAIR.pack(round(at * 1_000_000), self._key(text))  # exact: a timestamp's microseconds fit a float's 53 bits until 2255
        kept = self.by_member.get(user_id)
        if kept is None:
            self.by_member[user_id] = pair
        elif len(kept) < _PAIR.size * self.per_member:
            self.by_member[user_id] = kept + pair
        else:  # the oldest goes
            self.by_member[user_id] = kept[_PAIR.size:] + pair
        self.group.append(at)
        if len(self.group) >= 2 * self.GROUP_KEPT:
            del self.group[: -self.GROUP_KEPT]
        if at > self._newest:
            self._newest = at
        self._records += 1
        if self._records % self.PRUNE_EVERY == 0:
            self.prune()

    def prune(self) -> None:
        """Forget members whose last message is older than the horizon before the newest message recorded."""
        since = round(self._newest * 1_000_000) - self.horizon // _US
        for user_id in [u for u, kept in self.by_member.items() if _PAIR.unpack_from(kept, len(kept) - _PAIR.size)[0] < since]:
            del self.by_member[user_id]

    def count(self, user_id: int | None, date: datetime, within: timedelta) -> int:
        at = date.timestamp()
        since = at - within.total_seconds()
        if user_id is None:
            return sum(1 for d in self.group[-self.GROUP_KEPT:] if since < d <= at)
        at = round(at * 1_000_000)
        since = at - within // _US
        return sum(1 for d in memoryview(self.by_member.get(user_id, b"")).cast("q")[::2] if since < d <= at)

    def duplicates(self, user_id: int, date: datetime, text: str, within: timedelta) -> int:
        at = round(date.timestamp() * 1_000_000)
        since, key = at - within // _US, self._key(text)
        if not key:
            return 0
        kept = memoryview(self.by_member.get(user_id, b"")).cast("q")
        return sum(1 for d, t in zip(kept[::2], kept[1::2]) if since < d <= at and t == key)

    def messages(self, user_id: int) -> int:
        """How many of the member's messages are kept (at most per_member)."""
        return len(self.by_member.get(user_id, b"")) // _PAIR.size

    def forget(self, user_id: int) -> None:
        self.by_member.pop(user_id, None)

    def copy_for(self, user_id: int) -> Window:
        """A copy holding what judging `user_id` reads (their messages, the group's, their cooldowns), for /rule
        test to record into and judge against: the live window is left as it is."""
        copy = Window(self.horizon, self.per_member)
        if user_id in self.by_member:
            copy.by_member[user_id] = self.by_member[user_id]  # bytes: recording replaces it, the live one stays
        copy.group = array("d", self.group)
        copy._newest = self._newest
        copy._records = 1  # never a prune in a copy
        copy.fired = {k: v for k, v in self.fired.items() if k[1] == user_id}
        return copy


@dataclass(frozen=True)
class Counted:
    """How /rule test counted one window condition: `n` messages (by the member, or by everyone for groupflood; for
    duplicate, the same text) within `within` before the test message, counting it."""

    source: str
    key: str
    n: int
    within: timedelta


def window_counts(rules: Iterable[Rule], event: Event, window: Window) -> list[Counted]:
    """Every flood, groupflood and duplicate condition of the enabled rules, once each, counted on `window`."""
    out, seen = [], set()
    for rule in rules:
        if not rule.enabled:
            continue
        for c in rule.conditions:
            if c.key not in ("flood", "groupflood", "duplicate") or c.source in seen:
                continue
            seen.add(c.source)
            within = c.args[1]
            if c.key == "duplicate":
                n = window.duplicates(event.user_id, event.date, event.text, within)
            else:
                n = window.count(None if c.key == "groupflood" else event.user_id, event.date, within)
            out.append(Counted(c.source, c.key, n, within))
    return out


# ---------------------------------------------------------------------------------------------- text helpers

@functools.lru_cache(maxsize=4096)  # one message is normalised once however many rules look at it
def normalise(text: str) -> str:
    """Letter case, full/half width, accents and repeated spaces do not hide a word."""
    if text.isascii():  # NFKC and NFKD leave ASCII as it is, and it has no combining marks
        return " ".join(text.casefold().split())
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    stripped = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


# A word character as Python's \w knows it (letters, digits, underscore in any script), spelled for RE2, whose own
# \w is ASCII only. Words are matched by RE2 (linear time): a list word with several wildcards, "c*a*s*i*n*o", cannot
# make a long message backtrack for seconds, and a whole list is one alternation, one pass over the text.
_WORD = r"[\p{L}\p{N}_]"
# Chinese, Japanese and Korean text has no spaces between words: `赌场` is a word inside `今晚去赌场吗`. So a word
# whose end character is CJK needs no edge on that side, and a CJK character in the text is an edge for a word of
# another script (`casino` in `去casino吗`); `cat` still is not in `concatenate`.
_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\x{30FC}"  # ー (U+30FC) is of no script, but is written in katakana
_EDGE_LEFT, _EDGE_RIGHT = rf"(?:^|[^\p{{L}}\p{{N}}_]|[{_CJK}])", rf"(?:[^\p{{L}}\p{{N}}_]|[{_CJK}]|$)"
_WORDS_PER_PATTERN = 256  # RE2 keeps a compiled program within a memory budget; a longer list is several patterns


def _word_body(word: str) -> str:
    return "".join(_WORD + "*" if ch == "*" else _WORD if ch == "?" else re.escape(ch) for ch in normalise(word))


def _is_cjk(ch: str) -> bool:
    return _CJK_CHAR.fullmatch(ch) is not None


def _edged(words: Iterable[str]) -> str:
    """One alternation of whole words: each gets an edge on each side whose end character is not CJK. The words are
    grouped by the edges they need, so a list is still one pass over the text (RE2, linear time)."""
    groups: dict[tuple[bool, bool], list[str]] = {}
    for w in words:
        norm = normalise(w)
        groups.setdefault((not _is_cjk(norm[:1]), not _is_cjk(norm[-1:])), []).append(_word_body(w))
    return "|".join((_EDGE_LEFT if left else "") + "(?:" + "|".join(bodies) + ")" + (_EDGE_RIGHT if right else "")
                    for (left, right), bodies in groups.items())


def _re2(pattern: str, max_mem: int = 8 << 20):
    options = re2.Options()
    options.log_errors = False  # a bad pattern is the admin's typo, answered in the chat, not a log line
    options.max_mem = max_mem
    return re2.compile(pattern, options)


_CJK_CHAR = _re2(f"[{_CJK}]")


@functools.lru_cache(maxsize=8192)  # list words are compiled once, not per message
def word_pattern(word: str):
    """Whole-word match of a normalised word with * (any run of word characters) and ? (one character)."""
    return _re2(_edged((word,)))


@functools.lru_cache(maxsize=1024)
def words_patterns(words: tuple[str, ...]) -> tuple[Any, ...]:
    """Patterns any of which finds any of the words (whole words, as word_pattern): one per 256 words."""
    chunks = [words[i:i + _WORDS_PER_PATTERN] for i in range(0, len(words), _WORDS_PER_PATTERN)]
    return tuple(_re2(_edged(chunk), 64 << 20) for chunk in chunks)


def listed_in(text: str, items: Iterable[str]) -> list[str]:
    """The entries of a words list the text contains, in the list's order (what `words in LIST` matches)."""
    norm = normalise(text)
    return [w for w in items if word_pattern(w).search(norm)]


_SCRIPTS = {
    "cyrillic": re.compile(r"[\u0400-\u04ff]"), "arabic": re.compile(r"[\u0600-\u06ff\u0750-\u077f]"),
    "hebrew": re.compile(r"[\u0590-\u05ff]"), "rtl": re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]"),
    "cjk": re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]"), "latin": re.compile(r"[A-Za-z\u00c0-\u024f]"),
}
MEDIA = ("photo", "video", "audio", "voice", "document", "animation", "sticker", "video_note", "any")
# What a message may carry besides text and files (Event.extras): a poll, a contact, a location (or venue), a game,
# or a message sent through an inline bot (via_bot).
EXTRAS = ("poll", "contact", "location", "game", "inline")


def compile_regex(pattern: str) -> Callable[[str], bool]:
    """RE2 refuses what it cannot run in linear time (backreferences, lookaround): that is a ValueError here."""
    try:
        compiled = _re2(pattern)
    except Exception as exc:  # re2.error
        raise ValueError(str(exc)) from None
    return lambda text: compiled.search(text) is not None


# ---------------------------------------------------------------------------------------------- the registry

@dataclass(frozen=True)
class Part:
    """One parsed trigger / condition / effect: its registered kind and its typed settings."""

    key: str
    args: tuple[Any, ...] = ()
    negate: bool = False
    test: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    source: str = ""  # the canonical spelling (export, /rule show, round trip)

    def __str__(self) -> str:
        return ("not " if self.negate else "") + self.source


@dataclass(frozen=True)
class Kind:
    key: str
    role: str  # trigger | condition | effect
    syntax: str  # for help and errors
    parse: Callable[[Cursor], Part]
    content: bool = False  # a content condition (approved members are exempt)


REGISTRY: dict[str, Kind] = {}


def _kind(key: str, role: str, syntax: str, content: bool = False):
    def register(fn: Callable[[Cursor], Part]) -> Callable[[Cursor], Part]:
        REGISTRY[f"{role}:{key}"] = Kind(key, role, syntax, fn, content)
        return fn

    return register


def _q(text: str) -> str:
    """Quoted so that Tok.value gives `text` back: a backslash is doubled only before a backslash, a quote or the
    end (where it would read as an escape), so a regex such as buy\\s+now is shown as typed."""
    return '"' + re.sub(r'\\(?=[\\"]|$)', r"\\\\", text).replace('"', '\\"') + '"'


# triggers ----------------------------------------------------------------------------------------------------

for _simple, _syntax in (("message", "message"), ("edit", "edit"), ("join", "join"), ("checkin", "checkin"),
                         ("referral", "referral"), ("tier", "tier"), ("command", "command (a member's command)")):
    def _make(key: str) -> Callable[[Cursor], Part]:
        def parse(c: Cursor) -> Part:
            c.word(key)
            return Part(key, source=key)

        return parse

    _kind(_simple, "trigger", _syntax)(_make(_simple))


@_kind("violations", "trigger", "violations NAME >= N [within 1d]  (warns >= N is violations warn >= N)")
def _t_violations(c: Cursor) -> Part:
    if c.word("violations", "warns") == "warns":
        name = "warn"
    else:
        name = c.name("a violation name such as warn or spam")
    if c.tok.kind != "op" or c.tok.text not in (">=", "="):
        raise c.fail("{choices}", choices=(">=", "="))
    op = c.take().text
    n = c.number(1, 1000)
    within = None
    if c.peek_word("within"):
        c.take()
        within = c.duration()
    source = f"warns {op} {n}" if name == "warn" else f"violations {name} {op} {n}"
    if within is not None:
        source += f" within {format_duration(within)}"
    return Part("violations", (name, op, n, within), source=source)


@_kind("inactive", "trigger", "inactive N days")
def _t_inactive(c: Cursor) -> Part:
    c.word("inactive")
    n = c.number(1, 3650)
    c.word("days", "day")
    return Part("inactive", (n,), source=f"inactive {n} days")


# conditions --------------------------------------------------------------------------------------------------

def _cond_has(c: Cursor) -> Part:
    c.word("has")
    what = c.word("link", "forward", "sticker", "media", *EXTRAS)
    if what == "media":
        kind = c.word(*MEDIA) if c.peek_word(*MEDIA) else "any"
        return Part("media", (kind,), source=f"has media {kind}" if kind != "any" else "has media")
    return Part(what, (), source=f"has {what}")


_kind("has", "condition", "has link | has forward | has sticker | has media [photo|video|…] | has poll|contact|location|game|inline",
      content=True)(_cond_has)


@_kind("words", "condition", 'words "w1" "w*" …  |  words in LIST', content=True)
def _cond_words(c: Cursor) -> Part:
    c.word("words", "word")
    if c.peek_word("in"):
        c.take()
        name = c.name("a list name")
        return Part("words", (None, name), source=f"words in {name}")
    words = [c.text('a quoted word such as "spam" or "in list"')]
    while c.tok.kind == "str":
        words.append(c.take().value)
    if any(not normalise(w) for w in words):
        raise RuleSyntaxError(c.tok.pos, "a word that is not empty", "")
    patterns = words_patterns(tuple(words))
    return Part("words", (tuple(words), None, patterns), source="words " + " ".join(_q(w) for w in words))


@_kind("regex", "condition", 'regex "pattern"', content=True)
def _cond_regex(c: Cursor) -> Part:
    c.word("regex")
    pos = c.tok.pos
    pattern = c.text('a quoted pattern such as "buy\\s+now"')
    try:
        matcher = compile_regex(pattern)
    except ValueError:
        raise RuleSyntaxError(pos, "a valid regular expression", pattern[:20]) from None
    return Part("regex", (pattern, matcher), source=f"regex {_q(pattern)}")


@_kind("domain", "condition", "domain in LIST", content=True)
def _cond_domain(c: Cursor) -> Part:
    c.word("domain")
    c.word("in")
    name = c.name("a list name")
    return Part("domain", (name,), source=f"domain in {name}")


def _numeric(key: str, syntax: str, lo: int, hi: int, suffix: str = "", content: bool = True):
    @_kind(key, "condition", syntax, content=content)
    def parse(c: Cursor) -> Part:
        c.word(key)
        op = c.op()
        t = c.tok
        text = t.text.rstrip("%") if suffix == "%" and t.kind == "word" else t.text
        if not (t.kind == "word" and text.isascii() and text.isdigit() and lo <= int(text) <= hi):
            raise c.fail("a whole number from {lo} to {hi}{suffix}", lo=lo, hi=hi, suffix=suffix)
        c.take()
        return Part(key, (op, int(text)), source=f"{key} {op} {int(text)}{suffix}")

    return parse


_numeric("mentions", "mentions >= N", 0, 1000)
_numeric("length", "length >= N (characters)", 0, 100_000)
_numeric("caps", "caps >= 70% (share of capital letters)", 0, 100, "%")
_numeric("emoji", "emoji >= N", 0, 10_000)
_numeric("days", "days < D (days in the group)", 0, 100_000, content=False)
_numeric("messages", "messages < N (messages in the group)", 0, 10_000_000, content=False)


@_kind("script", "condition", "script cyrillic|arabic|hebrew|rtl|cjk|latin", content=True)
def _cond_script(c: Cursor) -> Part:
    c.word("script")
    name = c.word(*_SCRIPTS)
    return Part("script", (name,), source=f"script {name}")


@_kind("duplicate", "condition", "duplicate N in 1m (the same text N times)", content=True)
def _cond_duplicate(c: Cursor) -> Part:
    c.word("duplicate")
    n = c.number(2, 100)
    c.word("in", "within")
    d = c.duration()
    return Part("duplicate", (n, d), source=f"duplicate {n} in {format_duration(d)}")


@_kind("flood", "condition", "flood N in 10s (one member)  |  groupflood N in 10s (everyone)")
def _cond_flood(c: Cursor) -> Part:
    key = c.word("flood", "groupflood")
    n = c.number(2, 1000)
    c.word("in", "within")
    d = c.duration()
    if d > timedelta(minutes=10):
        raise RuleSyntaxError(c.toks[c.i - 1].pos, "a window of at most {d}", format_duration(d), d="10m")
    return Part(key, (n, d), source=f"{key} {n} in {format_duration(d)}")


REGISTRY["condition:groupflood"] = Kind("groupflood", "condition", "groupflood N in 10s", _cond_flood)


@_kind("tier", "condition", "tier < silver")
def _cond_tier(c: Cursor) -> Part:
    c.word("tier")
    op = c.op()
    key = c.name("a tier key such as silver")
    return Part("tier", (op, key), source=f"tier {op} {key}")


@_kind("lacks", "condition", "lacks PERK (a tier perk such as post_links)")
def _cond_lacks(c: Cursor) -> Part:
    c.word("lacks")
    perk = c.name("a tier perk such as post_links")
    return Part("lacks", (perk,), source=f"lacks {perk}")


@_kind("role", "condition", "role < spreader  |  role in activator,spreader  |  role not in …")
def _cond_role(c: Cursor) -> Part:
    c.word("role")
    if c.peek_word("in", "not"):
        neg = c.take().text.lower() == "not"
        if neg:
            c.word("in")
        roles = [_role(c)]
        while c.tok.kind == "comma" and c.toks[c.i + 1].kind == "word" and c.toks[c.i + 1].text.lower() in _ROLES:
            c.take()
            roles.append(_role(c))
        return Part("rolein", (frozenset(roles), neg), source=f"role {'not in' if neg else 'in'} " + ",".join(r.key for r in sorted(roles)))
    op = c.op()
    role = _role(c)
    return Part("role", (op, role), source=f"role {op} {role.key}")


_ROLES = {r.key: r for r in Role}


def _role(c: Cursor) -> Role:
    return _ROLES[c.word(*_ROLES)]


@_kind("time", "condition", "time 22:00-06:00 (group time)")
def _cond_time(c: Cursor) -> Part:
    c.word("time")
    t = c.tok
    m = re.fullmatch(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])", t.text if t.kind == "word" else "")
    if m is None:
        raise c.fail("a time window such as 22:00-06:00")
    c.take()
    start, end = time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4]))
    return Part("time", (start, end), source=f"time {t.text}")


@_kind("from", "condition", "from bot | from channel")
def _cond_from(c: Cursor) -> Part:
    c.word("from")
    what = c.word("bot", "channel")
    return Part("from", (what,), source=f"from {what}")


# effects -----------------------------------------------------------------------------------------------------

def _simple_effect(key: str, syntax: str):
    @_kind(key, "effect", syntax)
    def parse(c: Cursor) -> Part:
        c.word(key)
        return Part(key, source=key)

    return parse


_simple_effect("delete", "delete")
_simple_effect("kick", "kick")
_simple_effect("notify", "notify (admins / the log channel)")
_simple_effect("explain", "explain (say which tier unlocks what was refused)")


@_kind("reply", "effect", 'reply "text" [for 30s]')
def _e_reply(c: Cursor) -> Part:
    c.word("reply")
    text = c.text('a quoted text such as "No links here"')
    if not text.strip() or len(text) > 500:
        raise RuleSyntaxError(c.toks[c.i - 1].pos, "a text of 1 to {n} characters", text[:10], n=500)
    seconds = None
    if c.peek_word("for"):
        c.take()
        seconds = c.duration()
    return Part("reply", (text, seconds), source=f"reply {_q(text)}" + (f" for {format_duration(seconds)}" if seconds else ""))


@_kind("warn", "effect", 'warn ["reason"]')
def _e_warn(c: Cursor) -> Part:
    c.word("warn")
    reason = c.take().value if c.tok.kind == "str" else None
    return Part("warn", (reason,), source="warn" + (f" {_q(reason)}" if reason else ""))


@_kind("violation", "effect", "violation NAME  |  reset NAME")
def _e_violation(c: Cursor) -> Part:
    key = c.word("violation", "reset")
    name = c.name("a violation name")
    if key == "violation" and name == "warn":  # the warns' own counter: a warn, escalating as every warn does
        return Part("warn", (None,), source="warn")
    return Part(key, (name,), source=f"{key} {name}")


REGISTRY["effect:reset"] = Kind("reset", "effect", "reset NAME", _e_violation)


def _timed(key: str):
    @_kind(key, "effect", f"{key} [DURATION|forever]")
    def parse(c: Cursor) -> Part:
        c.word(key)
        if c.peek_word("forever"):
            c.take()
            return Part(key, (None,), source=f"{key} forever")
        if c.tok.kind == "word" and c.tok.text[:1].isdigit():
            d = c.duration()
            return Part(key, (d,), source=f"{key} {format_duration(d)}")
        return Part(key, (None,), source=key)

    return parse


_timed("mute")
_timed("ban")


@_kind("points", "effect", "points +N | points -N | xp +N")
def _e_points(c: Cursor) -> Part:
    key = c.word("points", "xp")
    n = c.signed()
    if key == "xp" and n < 0:
        raise RuleSyntaxError(c.toks[c.i - 1].pos, "a positive XP amount (XP is never taken)", str(n))
    return Part(key, (n,), source=f"{key} {n:+d}")


REGISTRY["effect:xp"] = Kind("xp", "effect", "xp +N", _e_points)


@_kind("badge", "effect", "badge KEY")
def _e_badge(c: Cursor) -> Part:
    c.word("badge")
    key = c.name("a badge key")
    return Part("badge", (key,), source=f"badge {key}")


@_kind("give", "effect", "give ROLE | take ROLE (activator or spreader)")
def _e_role(c: Cursor) -> Part:
    key = c.word("give", "take")
    role = c.word("activator", "spreader")
    return Part(key, (role,), source=f"{key} {role}")


REGISTRY["effect:take"] = Kind("take", "effect", "take ROLE", _e_role)


# The effects Sticky carries out with its own Telegram rights: an admin who writes or switches on a rule with one needs
# that right too (the action kinds of ADMIN_NEEDS), as for the command that does it by hand.
RIGHTFUL_EFFECTS = ("delete", "warn", "mute", "ban", "kick")


def effect_rights(effects: Iterable[Part]) -> tuple[str, ...]:
    """The action kinds among these effects that take a Telegram right (RIGHTFUL_EFFECTS), each once, in that order."""
    keys = {"warn" if e.key == "reset" and e.args == ("warn",) else e.key for e in effects}  # reset warn: /resetwarns
    return tuple(k for k in RIGHTFUL_EFFECTS if k in keys)


def kinds(role: str) -> dict[str, Kind]:
    return {k.key: k for k in REGISTRY.values() if k.role == role}


def help_syntax() -> dict[str, list[str]]:
    """Per role, each kind's syntax for /rule help, in registry order; a kind whose syntax another one's already
    shows (groupflood in flood's, reset in violation's, xp, take) is not listed twice."""
    out: dict[str, list[str]] = {}
    for role in ("trigger", "condition", "effect"):
        shown = [k.syntax for k in REGISTRY.values() if k.role == role]
        out[role] = [s for s in shown if not any(s != o and s in o for o in shown)]
    return out


# ---------------------------------------------------------------------------------------------- rules

@dataclass(frozen=True)
class Rule:
    triggers: tuple[Part, ...]
    conditions: tuple[Part, ...]
    effects: tuple[Part, ...]
    name: str = ""
    id: int = 0
    enabled: bool = True
    cooldown: timedelta | None = None
    continue_after: bool = False
    # `once a day` (or `cooldown day`): once per member and calendar day in the group's time zone — an activator's
    # first message of the day earns, at 23:00 and again at 09:00 the next day, which a rolling `cooldown 1d` does not.
    daily: bool = False

    @property
    def cools_down(self) -> bool:
        return bool(self.cooldown) or self.daily

    @property
    def cooldown_reach(self) -> timedelta:
        """How long after firing its fire time can still stop it: the cooldown, or for `once a day` the rest of the
        event's calendar day in any time zone (two days cover every zone)."""
        return timedelta(days=2) if self.daily else (self.cooldown or timedelta(0))

    @property
    def cooldown_source(self) -> str:
        """`, once a day`, `, cooldown 1d` or nothing: the rule's cooldown as the source spells it."""
        if self.daily:
            return ", once a day"
        return f", cooldown {format_duration(self.cooldown)}" if self.cooldown else ""

    @property
    def source(self) -> str:
        line = "when " + " or ".join(map(str, self.triggers))
        if self.conditions:
            line += " and " + " and ".join(map(str, self.conditions))
        line += " then " + ", ".join(map(str, self.effects))
        line += self.cooldown_source
        if self.continue_after:
            line += ", continue"
        return line


_ALIASES = {"warns": "violations", "groupflood": "flood", "xp": "points", "reset": "violation", "take": "give",
            "word": "words"}


def _starts(c: Cursor, role: str) -> bool:
    """Whether the word at the cursor begins a part of that role (`not` begins a condition)."""
    if c.tok.kind != "word":
        return False
    word = c.tok.text.lower()
    table = kinds(role)
    return (role == "condition" and word == "not") or word in table or _ALIASES.get(word, "") in table


def _part(c: Cursor, role: str) -> Part:
    negate = False
    if role == "condition" and c.peek_word("not"):
        c.take()
        negate = True
    t = c.tok
    word = t.text.lower() if t.kind == "word" else ""
    table = kinds(role)
    kind = table.get(word) or table.get(_ALIASES.get(word, ""))
    if kind is None:
        template = {"trigger": "a trigger: {names}", "condition": "a condition: {names}", "effect": "an effect: {names}"}[role]
        names = {"trigger": {"warns", *table}, "condition": set(table), "effect": {"xp", "reset", "take", *table}}[role]
        raise c.fail(template, names=sorted(names), role=role)
    part = kind.parse(c)
    return Part(part.key, part.args, negate, None, part.source)


TOO_LONG = "a rule of at most {n} characters"  # the hint of a rule too long: said as a whole (bot/texts/rules.py)


def parse_rule(line: str, name: str = "") -> Rule:
    """One line → Rule. Raises RuleSyntaxError with the position and what was expected there."""
    if len(line) > MAX_RULE_LENGTH:
        raise RuleSyntaxError(MAX_RULE_LENGTH, TOO_LONG, "more", n=MAX_RULE_LENGTH)
    c = Cursor(line)
    c.word("when")
    triggers = [_part(c, "trigger")]
    while c.peek_word("or"):
        c.take()
        triggers.append(_part(c, "trigger"))
    conditions = []
    # `and` before the first condition may be left out, as one says it: "when message has link and tier < silver
    # then …" (the source always writes it).
    if not c.peek_word("and", "then") and _starts(c, "condition"):
        conditions.append(_part(c, "condition"))
    while c.peek_word("and"):
        c.take()
        conditions.append(_part(c, "condition"))
    if not c.peek_word("then"):
        raise c.fail("“and” and a condition, “or” and a trigger, or “then”")
    c.take()
    effects, cooldown, daily, cont = [], None, False, False
    while True:
        if c.peek_word("cooldown", "once") and effects:
            if cooldown is not None or daily:
                raise c.fail("an effect (this rule has its cooldown already)")
            if c.take().text.lower() == "once":
                if not (c.peek_word("a") and c.toks[c.i + 1].kind == "word" and c.toks[c.i + 1].text.lower() == "day"):
                    raise c.fail("{choices}", choices=("a day",))
                c.take()
                c.take()
                daily = True
            elif c.peek_word("day"):  # `cooldown day`: the same as `once a day`
                c.take()
                daily = True
            else:
                cooldown = c.duration()
        elif c.peek_word("continue") and effects:
            if cont:
                raise c.fail("an effect (this rule says continue already)")
            c.take()
            cont = True
        else:
            effects.append(_part(c, "effect"))
        if c.tok.kind == "comma":
            c.take()
            continue
        if c.tok.kind != "end":
            raise c.fail("“,” and another effect, or the end of the rule")
        break
    return Rule(tuple(triggers), tuple(conditions), tuple(effects), name, cooldown=cooldown, continue_after=cont,
                daily=daily)


# ---------------------------------------------------------------------------------------------- evaluation

@dataclass(frozen=True)
class Fired:
    rule: Rule
    effect: Part


@dataclass(frozen=True)
class TraceLine:
    rule: Rule
    fired: bool
    why: str  # "off" (the rule is switched off), "trigger", "exempt", "approved", "cooldown", "command" (a reward rule and a command: command_reward), the failing condition's source, or "" when it fired


@dataclass(frozen=True)
class Decision:
    """What fired, and per rule in order why (`steps`: (rule, None) when it fired, else (rule, the reason
    code or the failing condition)). The trace's lines are made from the steps when someone asks (/rule test), not
    for every message judged."""

    effects: tuple[Fired, ...]
    steps: tuple[tuple[Rule, "Part | str | None"], ...]

    @property
    def trace(self) -> tuple[TraceLine, ...]:
        return tuple(TraceLine(rule, why is None, "" if why is None else str(why)) for rule, why in self.steps)

    @property
    def fired(self) -> list[Rule]:
        return [rule for rule, why in self.steps if why is None]


def _triggered(rule: Rule, event: Event) -> bool:
    for t in rule.triggers:
        # A command is a message too: content and flood rules judge it (else "/x <spam>" would pass them all).
        if t.key != event.kind and not (t.key == "message" and event.kind == "command"):
            continue
        if t.key == "violations":
            name, op, n, within = t.args
            if name != event.violation:
                continue
            count = event.violations if within is None else sum(1 for at in event.recent if at > event.date - within)
            if count == n if op == "=" else count >= n:
                return True
        elif t.key == "inactive":
            if t.args[0] == event.inactive_days:  # the sweep sends one event per threshold a member just crossed
                return True
        else:
            return True
    return False


def inactivity_thresholds(rules: Iterable[Rule]) -> tuple[int, ...]:
    """The N of every enabled `inactive N days` trigger, each once, smallest first."""
    return tuple(sorted({t.args[0] for r in rules if r.enabled for t in r.triggers if t.key == "inactive"}))


def window_horizon(rules: Iterable[Rule]) -> timedelta:
    """How far back a chat's Window must remember: the longest flood or duplicate window of any rule, enabled or not
    (one switched on later finds its history), and never less than the longest flood window allowed."""
    return max([FLOOD_MAX_WINDOW, *(c.args[1] for r in rules for c in r.conditions if c.key in ("flood", "groupflood", "duplicate"))])


def violation_windows(rules: Iterable[Rule]) -> dict[str, timedelta | None]:
    """Per violation name an enabled rule escalates on: the longest `within` it looks back (None: the warn expiry)."""
    out: dict[str, timedelta | None] = {}
    for r in rules:
        if not r.enabled:
            continue
        for t in r.triggers:
            if t.key == "violations":
                name, _op, _n, within = t.args
                if name in out and (out[name] is None or within is None):
                    out[name] = None
                else:
                    out[name] = within if name not in out else max(out[name], within)
    return out


@functools.lru_cache(maxsize=256)  # one message's text, however many caps rules look at it
def _caps(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    return 100 * sum(ch.isupper() for ch in letters) / len(letters) if len(letters) >= 5 else 0


def _c_words(a, event, member, window, ctx, now) -> bool:
    norm = normalise(event.text)
    patterns = ctx.compiled.patterns.get(a[1], ()) if a[1] is not None else a[2]  # a named list, or the rule's words
    return any(p.search(norm) for p in patterns)


def _c_domain(a, event, member, window, ctx, now) -> bool:
    listed = ctx.compiled.domains.get(a[0], ())
    return any(h == d or h.endswith("." + d) for h in event.links for d in listed)


def _c_tier(a, event, member, window, ctx, now) -> bool:
    target = ctx.tiers.index(a[1]) if a[1] in ctx.tiers else len(ctx.tiers)
    return _cmp(a[0], member.tier, target)


def _c_lacks(a, event, member, window, ctx, now) -> bool:
    perks = ctx.tier_perks[member.tier] if member.tier < len(ctx.tier_perks) else frozenset()
    return a[0] not in perks and any(a[0] in p for p in ctx.tier_perks)  # a perk nobody can earn gates nothing


def _c_time(a, event, member, window, ctx, now) -> bool:
    local = ctx.local_time or now.time()
    start, end = a
    return start <= local < end if start <= end else (local >= start or local < end)


def _extra(key: str):
    return lambda a, event, member, window, ctx, now: key in event.extras


# A condition's check by its key (one look-up, not a walk down every kind before it); an unknown kind never matches
# (a newer export read by older code is refused before this).
_CHECKS: dict[str, Callable[..., bool]] = {
    "link": lambda a, event, member, window, ctx, now: bool(event.links),
    "forward": lambda a, event, member, window, ctx, now: event.forward,
    "sticker": lambda a, event, member, window, ctx, now: event.media == "sticker",
    "media": lambda a, event, member, window, ctx, now: event.media is not None and (a[0] == "any" or event.media == a[0]),
    **{k: _extra(k) for k in EXTRAS},
    "words": _c_words,
    "regex": lambda a, event, member, window, ctx, now: a[1](event.text),
    "domain": _c_domain,
    "caps": lambda a, event, member, window, ctx, now: _cmp(a[0], _caps(event.text), a[1]),
    "mentions": lambda a, event, member, window, ctx, now: _cmp(a[0], event.mentions, a[1]),
    "length": lambda a, event, member, window, ctx, now: _cmp(a[0], len(event.text), a[1]),
    "emoji": lambda a, event, member, window, ctx, now: _cmp(a[0], event.emoji, a[1]),
    "days": lambda a, event, member, window, ctx, now: _cmp(a[0], member.days_in_group, a[1]),
    "messages": lambda a, event, member, window, ctx, now: _cmp(a[0], member.messages, a[1]),
    "script": lambda a, event, member, window, ctx, now: _SCRIPTS[a[0]].search(event.text) is not None,
    "duplicate": lambda a, event, member, window, ctx, now: window.duplicates(event.user_id, event.date, event.text, a[1]) >= a[0],
    "flood": lambda a, event, member, window, ctx, now: window.count(event.user_id, event.date, a[1]) >= a[0],
    "groupflood": lambda a, event, member, window, ctx, now: window.count(None, event.date, a[1]) >= a[0],
    "tier": _c_tier,
    "lacks": _c_lacks,
    "role": lambda a, event, member, window, ctx, now: _cmp(a[0], member.role, a[1]),
    "rolein": lambda a, event, member, window, ctx, now: (member.role in a[0]) != a[1],
    "time": _c_time,
    "from": lambda a, event, member, window, ctx, now: event.from_bot if a[0] == "bot" else event.from_channel,
}


def _holds(part: Part, event: Event, member: MemberFacts, window: Window, ctx: Ctx, now: datetime) -> bool:
    check = _CHECKS.get(part.key)
    result = check(part.args, event, member, window, ctx, now) if check is not None else False
    return result != part.negate


def _names_roles(rule: Rule) -> bool:
    """A rule that names a role at or above admin applies to them ("unless a rule says otherwise")."""
    for c in rule.conditions:
        if c.key == "rolein" and not c.args[1] and any(r >= Role.ADMIN for r in c.args[0]):
            return True
        if c.key == "role" and c.args[0] in (">=", "=", ">") and c.args[1] >= Role.ADMIN:
            return True
    return False


def rewards(rule: Rule) -> bool:
    """A rule that gives something (points +N, XP, a badge, a role): it does not fire on a command (command_reward)."""
    return any(e.key in ("xp", "badge", "give") or (e.key == "points" and e.args[0] > 0) for e in rule.effects)


def command_reward(rule: Rule, event: Event) -> bool:
    """A rule that rewards, and a command (Sticky's own, or for another bot) that only its `message` trigger heard:
    it does not fire. Commands are messages to moderation (content, locks, flood, duplicates judge them, as Rose's
    antiflood and YAGPDB's automod judge every message) but no command earns a reward — a command talks to a bot,
    not to the group (chat XP skips commands too), /checkin rewards by itself, and "/start@AnyBot" must not farm the
    activator's daily XP. A rule that names the `command` trigger itself rewards commands: it says so."""
    return ((event.sticky_command or event.kind == "command") and rewards(rule)
            and not any(t.key == "command" for t in rule.triggers))


def cooling(rule: Rule, event: Event, window: Window, ctx: Ctx) -> bool:
    """The rule fired for this member too recently to fire again: within its cooldown, by the events' own dates, or
    — `once a day` — on this calendar day of the group's time zone (or a later one: a late message of yesterday
    earns nothing once today's has)."""
    last = window.fired.get((rule.id, event.user_id))
    if last is None:
        return False
    if rule.daily:
        tz = ctx.tz or timezone.utc
        return event.date.astimezone(tz).date() <= last.astimezone(tz).date()
    return bool(rule.cooldown) and event.date - last < rule.cooldown


def evaluate(event: Event, rules: Iterable[Rule], member: MemberFacts, window: Window, now: datetime,
             ctx: Ctx | None = None) -> Decision:
    """Rules in order; the first that fires stops the rest unless it says `continue`. The trace says, for every
    rule, whether it fired or why not (Decision.trace, made from the steps recorded here)."""
    ctx = ctx or Ctx()
    effects: list[Fired] = []
    trace: list[tuple[Rule, Part | str | None]] = []
    stopped = False
    for rule in rules:
        if not rule.enabled:
            trace.append((rule, "off"))  # /rule test names every rule, and why it did nothing
            continue
        if stopped:
            trace.append((rule, "stopped"))
            continue
        if not _triggered(rule, event):
            trace.append((rule, "trigger"))
            continue
        if member.exempt and event.kind in ("message", "edit", "command") and not _names_roles(rule):
            trace.append((rule, "exempt"))
            continue
        # Approved members pass content rules (the command lock included: a command is content) but not flood.
        if member.approved and (any(REGISTRY.get(f"condition:{c.key}", Kind("", "", "", None, True)).content
                                    for c in rule.conditions if c.key not in ("flood", "groupflood"))
                                or (event.kind == "command" and all(t.key == "command" for t in rule.triggers))) \
                and not any(c.key in ("flood", "groupflood") for c in rule.conditions):
            trace.append((rule, "approved"))
            continue
        if command_reward(rule, event):
            trace.append((rule, "command"))
            continue
        failed = None
        for c in rule.conditions:
            if not _holds(c, event, member, window, ctx, now):
                failed = c
                break
        if failed is not None:
            trace.append((rule, failed))
            continue
        if cooling(rule, event, window, ctx):
            trace.append((rule, "cooldown"))
            continue
        trace.append((rule, None))
        effects.extend(Fired(rule, e) for e in rule.effects)
        stopped = not rule.continue_after
    return Decision(tuple(effects), tuple(trace))


# The conditions that look at the member (MemberFacts); every other one looks only at the event, the window and the
# group's clock. Of those, the role conditions need only the member's role.
MEMBER_CONDITIONS = frozenset({"days", "messages", "tier", "lacks", "role", "rolein"})
ROLE_CONDITIONS = frozenset({"role", "rolein"})
_BEYOND_ROLE = MEMBER_CONDITIONS - ROLE_CONDITIONS
_NOBODY = MemberFacts()
_AS_ROLE = {role: MemberFacts(role=role) for role in Role}


def may_fire(event: Event, rules: Iterable[Rule], window: Window, now: datetime, ctx: Ctx | None = None,
             role: Role | None = None) -> bool:
    """Whether some rule could fire on this event for some member: evaluate with the member unknown (a condition on
    the member taken as holding, nobody exempt or approved, nothing stopped). False: evaluate fires nothing on it,
    whoever the member is, so the member need not be read. With the member's `role` known (the group's role map),
    the role conditions are judged with it: False then means nothing fires for any member of that role."""
    ctx = ctx or Ctx()
    unknown, member = (MEMBER_CONDITIONS, _NOBODY) if role is None else (_BEYOND_ROLE, _AS_ROLE[role])
    for rule in rules:
        if not rule.enabled or not _triggered(rule, event) or command_reward(rule, event):
            continue
        if not all(c.key in unknown or _holds(c, event, member, window, ctx, now) for c in rule.conditions):
            continue
        if cooling(rule, event, window, ctx):
            continue
        return True
    return False


def needs_message_text(rules: Iterable[Rule]) -> bool:
    """Whether any enabled rule can fire on a message or an edit (a group without one costs nothing per message)."""
    return any(r.enabled and any(t.key in ("message", "edit") for t in r.triggers) for r in rules)


# ---------------------------------------------------------------------------------------------- Rose's shortcuts

# /setflood and /setfloodmode edit the default rule of this name (one flood mechanism: the engine's).
FLOOD_RULE = "antiflood"
FLOOD_DEFAULT = (6, timedelta(seconds=10), "mute 10m")
FLOOD_MAX_WINDOW = timedelta(minutes=10)


class FloodError(RuleError):
    code = "flood"  # params: reason in {number, window, mode, duration, needs_duration}, plus value


def parse_flood_mode(words: list[str]) -> str:
    """Rose's /setfloodmode: mute|ban|kick|warn|del [DURATION] (and tmute/tban DURATION) -> the rule's effects."""
    if not words or len(words) > 2:
        raise FloodError(reason="mode", value=" ".join(words))
    mode = words[0].lower()
    if mode not in ("mute", "ban", "kick", "warn", "del", "delete", "tmute", "tban"):
        raise FloodError(reason="mode", value=words[0])
    duration = None
    if len(words) == 2:
        if mode not in ("mute", "ban", "tmute", "tban"):
            raise FloodError(reason="duration", value=mode)
        try:
            duration = parse_duration(words[1])
        except ValueError:
            raise FloodError(reason="bad_duration", value=words[1]) from None
    elif mode in ("tmute", "tban"):
        raise FloodError(reason="needs_duration", value=mode)
    mode = {"tmute": "mute", "tban": "ban", "delete": "del"}.get(mode, mode)
    if mode in ("mute", "ban"):
        return f"{mode} {format_duration(duration)}" if duration else f"{mode} forever"
    return {"kick": "kick", "warn": 'warn "flood"', "del": "delete"}[mode]


def parse_flood_limit(words: list[str]) -> tuple[int, timedelta | None] | None:
    """/setflood N [in S] | off: (N, window or None to keep it), or None for off. S: 10s, 1m… or plain seconds."""
    if len(words) == 1 and words[0].lower() in ("off", "no", "0", "关"):
        return None
    if not words or len(words) > 3 or not (words[0].isascii() and words[0].isdigit()):
        raise FloodError(reason="number", value=" ".join(words))
    n = int(words[0])
    if not 2 <= n <= 1000:
        raise FloodError(reason="number", value=words[0])
    rest = words[1:]
    if rest and rest[0].lower() in ("in", "within"):
        rest = rest[1:]
        if not rest:
            raise FloodError(reason="window", value="")
    if len(rest) > 1:
        raise FloodError(reason="number", value=" ".join(words))
    if not rest:
        return n, None
    text = rest[0] + ("s" if rest[0].isascii() and rest[0].isdigit() else "")
    try:
        window = parse_duration(text)
    except ValueError:
        raise FloodError(reason="window", value=rest[0]) from None
    if window > FLOOD_MAX_WINDOW:
        raise FloodError(reason="window", value=rest[0])
    return n, window


def flood_of(rule: Rule | None) -> tuple[int, timedelta, tuple[Part, ...]] | None:
    """(N, window, effects) of an antiflood rule, None if it has no flood condition."""
    if rule is None:
        return None
    flood = next((c for c in rule.conditions if c.key == "flood" and not c.negate), None)
    if flood is None:
        return None
    return flood.args[0], flood.args[1], rule.effects


def flood_line(current: Rule | None, n: int | None = None, window: timedelta | None = None, effects: str | None = None) -> str:
    """The antiflood rule after /setflood or /setfloodmode: what is not given is kept from the current rule (or the
    default); the rule's other conditions, cooldown and `continue` stay as the admin wrote them."""
    found = flood_of(current)
    old_n, old_window, old_effects = (*found[:2], ", ".join(map(str, found[2]))) if found else FLOOD_DEFAULT
    triggers = " or ".join(map(str, current.triggers)) if current else "message"
    others = [str(c) for c in current.conditions if c.key != "flood"] if current else []
    conditions = [f"flood {n or old_n} in {format_duration(window or old_window)}", *others]
    line = f"when {triggers} and " + " and ".join(conditions) + " then " + (effects or old_effects)
    if current is not None:
        line += current.cooldown_source
    if current is not None and current.continue_after:
        line += ", continue"
    return parse_rule(line).source  # validated, in its canonical spelling


# /lock TYPE: a lock is the rule lock_TYPE, "a message of that type → delete". Placed first with `continue`, so a
# locked message is deleted and still counts toward flood (and other rules still see it).
LOCKS: dict[str, str] = {
    "url": "when message or edit and has link then delete, continue",
    "forward": "when message and has forward then delete, continue",
    "sticker": "when message and has sticker then delete, continue",
    "photo": "when message or edit and has media photo then delete, continue",
    "video": "when message or edit and has media video then delete, continue",
    "videonote": "when message and has media video_note then delete, continue",
    "document": "when message or edit and has media document then delete, continue",
    "voice": "when message and has media voice then delete, continue",
    "audio": "when message or edit and has media audio then delete, continue",
    "gif": "when message or edit and has media animation then delete, continue",
    "poll": "when message and has poll then delete, continue",
    "contact": "when message and has contact then delete, continue",
    "location": "when message or edit and has location then delete, continue",
    "game": "when message and has game then delete, continue",
    "inline": "when message and has inline then delete, continue",
    "rtl": "when message or edit and script rtl then delete, continue",
    "command": "when command then delete, continue",
}
LOCK_ALIASES: dict[str, tuple[str, ...]] = {
    "link": ("url",), "links": ("url",), "urls": ("url",), "forwards": ("forward",), "stickers": ("sticker",),
    "photos": ("photo",), "videos": ("video",), "video_note": ("videonote",), "documents": ("document",),
    "files": ("document",), "audios": ("audio",), "animation": ("gif",), "gifs": ("gif",), "polls": ("poll",),
    "contacts": ("contact",), "locations": ("location",), "games": ("game",), "via_bot": ("inline",),
    "commands": ("command",), "media": ("photo", "video", "videonote", "document", "voice", "audio", "gif"),
    "all": tuple(LOCKS),
}
LOCK_PREFIX = "lock_"


class LockError(RuleError):
    code = "lock"  # params: reason in {unknown, none, bots}, value


def lock_types(words: list[str]) -> list[str]:
    """The lock types named (aliases and `all` expanded, in LOCKS order). Raises LockError for an unknown word."""
    if not words:
        raise LockError(reason="none", value="")
    wanted: set[str] = set()
    for word in words:
        key = word.lower().strip(",")
        if key in ("bot", "bots"):  # one mechanism: the join check already removes bots members add
            raise LockError(reason="bots", value=word)
        if key in LOCKS:
            wanted.add(key)
        elif key in LOCK_ALIASES:
            wanted.update(LOCK_ALIASES[key])
        else:
            raise LockError(reason="unknown", value=word)
    return [t for t in LOCKS if t in wanted]


# /addblocklist: Rose's grammar. The first thing is what to block — a word, a "quoted phrase", or a list in
# parentheses, (hi, hey, "good morning") — and the rest is the reason, kept as the entry's note.
BLOCKLIST_RULE = "blocklist"


class BlocklistError(RuleError):
    code = "blocklist"  # params: reason in {none, paren, action, long}, value


def _unquote(item: str) -> str:
    item = item.strip()
    return item[1:-1].strip() if len(item) >= 2 and item[0] == item[-1] == '"' else item


def _take_entries(text: str) -> tuple[list[str], str]:
    """The entries at the start of `text` (a word, a "quoted phrase" or a (list, of, them)) and what follows."""
    if text[0] == "(":
        end = text.find(")")
        if end < 0:
            raise BlocklistError(reason="paren", value=text[:40])
        items = [_unquote(i) for i in re.findall(r'"[^"]*"|[^,]+', text[1:end])]
        rest = text[end + 1:]
    elif text[0] == '"':
        end = text.find('"', 1)
        if end < 0:
            raise BlocklistError(reason="paren", value=text[:40])
        items, rest = [text[1:end].strip()], text[end + 1:]
    else:
        first, _sep, rest = text.partition(" ")
        items = [first]
    items = [i for i in (" ".join(i.split()) for i in items) if i]
    if too_long := next((i for i in items if len(i) > 100), None):
        raise BlocklistError(reason="long", value=too_long[:40])
    return items, rest.strip()


@dataclass(frozen=True)
class BlockAction:
    """Rose's per-entry action tag, {tmute 1h}: `tag` as shown in /blocklist, `name` the rule and list its entries
    live in (the blocklist is rules underneath: one rule per action, each with its own list), `effects` that rule's."""

    tag: str
    name: str
    effects: str


BLOCKLIST_TAGS = "{del} {warn} {kick} {mute} {tmute 1h} {ban} {tban 2d}"


def block_action(inner: str) -> BlockAction:
    """The words inside one {…} tag -> its action. Raises BlocklistError (reason action_unknown, action_duration,
    action_needs_duration or action_no_duration, value the tag or the bad duration)."""
    words = inner.lower().split()
    tag = "{" + " ".join(words) + "}"
    mode = words[0] if words else ""
    mode = "del" if mode == "delete" else mode
    if mode not in ("del", "warn", "kick", "mute", "ban", "tmute", "tban") or len(words) > 2:
        raise BlocklistError(reason="action_unknown", value=tag[:40], tags=BLOCKLIST_TAGS)
    if len(words) == 2 and mode in ("del", "warn", "kick"):
        raise BlocklistError(reason="action_no_duration", value=tag[:40])
    if len(words) == 1 and mode in ("tmute", "tban"):
        raise BlocklistError(reason="action_needs_duration", value=tag[:40])
    duration = None
    if len(words) == 2:
        try:
            duration = format_duration(parse_duration(words[1]))
        except ValueError:
            raise BlocklistError(reason="action_duration", value=words[1][:40], tag=tag[:40]) from None
    base = mode.removeprefix("t")
    if base in ("del", "warn", "kick"):
        effects = {"del": "delete", "warn": 'delete, warn "blocklist"', "kick": "delete, kick"}[base]
        return BlockAction("{" + base + "}", f"{BLOCKLIST_RULE}_{base}", effects)
    if duration is None:
        return BlockAction("{" + base + "}", f"{BLOCKLIST_RULE}_{base}", f"delete, {base} forever")
    return BlockAction("{t" + base + " " + duration + "}", f"{BLOCKLIST_RULE}_t{base}_{duration}", f"delete, {base} {duration}")


def is_blocklist(name: str) -> bool:
    """The default blocklist or one of its per-action lists (blocklist_tmute_1h…)."""
    return name == BLOCKLIST_RULE or name.startswith(BLOCKLIST_RULE + "_")


def block_tag(name: str) -> str | None:
    """The {tag} of a per-action blocklist list (blocklist_tmute_1h -> {tmute 1h}); None for the blocklist itself."""
    if name == BLOCKLIST_RULE:
        return None
    return "{" + name.removeprefix(BLOCKLIST_RULE + "_").replace("_", " ", 1) + "}"


def block_action_line(action: BlockAction) -> str:
    return f"when message or edit and words in {action.name} then {action.effects}"


def blocklist_args(text: str, reason_allowed: bool = True) -> tuple[list[str], str | None, BlockAction | None]:
    """(the entries, the reason or None, the {action} tag or None: the blocklist rule's own action). Raises
    BlocklistError for nothing given, an unclosed "(" or '"', an entry over 100 characters, a tag that is no
    action (or two tags), or a tag before the entries. Without `reason_allowed` (/rmblocklist) everything given is entries."""
    text = text.strip()
    if not text:
        raise BlocklistError(reason="none", value="")
    if reason_allowed and text.startswith("{") and "}" in text:  # a tag typed first would be blocked as a word
        raise BlocklistError(reason="action_first", value=" ".join(text[:text.index("}") + 1].split())[:40])
    items, rest = _take_entries(text)
    if not reason_allowed:
        while rest:
            more, rest = _take_entries(rest)
            items.extend(more)
        rest = ""
    if not items:
        raise BlocklistError(reason="none", value="")
    tags = re.findall(r"\{([^}]*)\}", rest)
    if len(tags) > 1:
        raise BlocklistError(reason="action_two", value=("{" + tags[1] + "}")[:40])
    action = block_action(tags[0]) if tags else None
    reason = " ".join(re.sub(r"\{[^}]*\}", " ", rest).split()) or None
    return items, reason, action
