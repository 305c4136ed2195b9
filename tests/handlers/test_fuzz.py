"""Random arguments to every registered command, by a member and by an admin, through the real Application:
whatever people type, the bot answers without an unhandled exception and never sends Telegram a request it refuses
(for instance HTML it can't parse). One playground per test function; the hypothesis examples share it."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sim import SimError
from bot.texts import LANGUAGES, translator
from bot.texts.core import internal_error
from handlers.base import spec_of
from tests.helpers import make_group

INTERNAL_ERRORS = {internal_error(translator(lang)) for lang in LANGUAGES}

# Words the commands know, so that random arguments also reach the code behind a valid first word.
TOKENS = [
    "@alice", "@bob", "@owner", "@admin", "@nobody", "@", "activator", "spreader", "owner", "admin", "member",
    "timezone", "language", "delete_commands", "transient_seconds", "Asia/Shanghai", "America", "Mars/Base",
    "zh", "en", "on", "off", "0", "1", "-1", "10", "99999999999999999999999", "1003", "1004", "²", "١٢",
    "<b>", "</b>", "&", "&amp;", "<a href='x'>", "|", "all", "points", "stock", "unlimited", "\n", "🎉", "名字",
]
# Numbers just past what a 64-bit column holds, and far past it (SQLite refuses them with OverflowError).
HUGE_NUMBERS = ["9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
                "9" * 19, "9" * 40, "1e309", "0x7fffffffffffffffff", "#9999999999999999999", "１２３"]
WORDS = st.one_of(st.sampled_from(TOKENS + HUGE_NUMBERS), st.text(min_size=1, max_size=20))
# Texts near and past Telegram's 4096-character message limit, quoted back by a refusal or a confirmation.
HUGE_TEXTS = st.builds(lambda word, n: ((word + " ") * n)[:3900], st.sampled_from(["x", "名字", "<b>", "&amp;", "🎉", "a|b"]), st.integers(700, 1400))
ARGUMENTS = st.one_of(
    st.text(max_size=300),  # any unicode, including control characters and very long words
    st.lists(WORDS, max_size=8).map(" ".join),
    st.lists(WORDS, min_size=10, max_size=40).map(" ".join).map(lambda s: s[:300]),
    HUGE_TEXTS,
    st.tuples(st.sampled_from(TOKENS[:6] + ["1", ""]), st.sampled_from(HUGE_NUMBERS)).map(" ".join),
)
# /start payloads as a deep link may carry them: a member's code, a check's id, and everything malformed.
PAYLOADS = st.one_of(
    st.sampled_from(["ref_", "cap_", "cap_0", "cap_-1", "cap_²", "cap_١٢", "cap_" + "9" * 30, "cap_9223372036854775808",
                     "ref_" + "A" * 64, "ref_../../x", "ref_ref_", "cap_1_2", "REF_x", "ref_%00", "cap_ 1"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=64).map(lambda t: "ref_" + t),
    st.text(max_size=64).map(lambda t: "cap_" + t),
)
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class Bench:
    """The group and the people typing. Checked after every example (errors) and once at the end (every call)."""

    def __init__(self, pg, g) -> None:
        self.pg, self.g = pg, g
        self.member = g.alice
        self.spare = 0
        self.errors: list[BaseException] = []
        self.names = [spec_of(c).name for c in pg.app.bot_data.commands]
        assert {"setrole", "unsetrole", "set", "lang", "roles", "help"} <= set(self.names)

    async def send(self, user, text: str, chat, reply_to=None) -> None:
        try:
            self.pg.sim.send(user, text, chat, reply_to=reply_to)
        except SimError:
            # A feature may have muted or banned the member (a fuzzed /mute @alice…): someone new types instead.
            if user is self.g.owner or chat is None:
                raise
            self.spare += 1
            self.member = self.pg.sim.user(f"spare{self.spare}")
            self.pg.sim.join(chat, self.member)
            await self.pg.settle()
            try:
                self.pg.sim.send(self.member, text, chat)
            except SimError:
                return  # newcomers are read-only here (a fuzzed /set screening on): nothing to send this time
        await self.pg.settle()
        assert not self.errors, f"{text!r}: unhandled {self.errors[0]!r}"


    async def reply_target(self):
        """A message to reply to, from bob — or, once a fuzzed /ban or /mute by reply removed him, from someone new."""
        try:
            return self.pg.sim.send(self.g.bob, "something to reply to", self.g.chat)
        except SimError:
            self.spare += 1
            author = self.pg.sim.user(f"spare{self.spare}")
            self.pg.sim.join(self.g.chat, author)
            await self.pg.settle()
            return self.pg.sim.send(author, "something to reply to", self.g.chat)


@pytest.fixture
async def bench(pg):
    g = await make_group(pg)
    bench = Bench(pg, g)

    async def spy(update, context) -> None:
        bench.errors.append(context.error)

    pg.app.add_error_handler(spy)
    yield bench
    # Once, after all examples (reading every call on every example would be quadratic).
    sim = pg.sim
    for place in (g.chat, g.alice, g.owner):
        said = {m.get("text", "") for m in sim.replies(place)}
        assert not INTERNAL_ERRORS & said, "the bot reported an internal error"
    # Looking a numeric id up may find nobody (a member; /setlog's chat); any other refused call (can't parse
    # entities…) is our bug.
    refused = [(c.method, c.error_code, c.description) for c in sim.calls()
               if not c.ok and c.method not in ("getChatMember", "getChat")]
    assert refused == []
    assert bench.errors == []


@settings(FUZZ, max_examples=40)
@given(argument=ARGUMENTS, admin=st.booleans(), as_reply=st.booleans())
async def test_random_arguments_to_every_command_in_a_group(bench, argument, admin, as_reply):
    g = bench.g
    target = await bench.reply_target() if as_reply else None
    for name in bench.names:
        if target is not None and bench.pg.sim.message(g.chat, target["message_id"]) is None:
            target = await bench.reply_target()  # a fuzzed /del or /purge by reply took it away
        await bench.send(g.owner if admin else bench.member, f"/{name} {argument}", g.chat, reply_to=target)


@settings(FUZZ, max_examples=10)
@given(argument=ARGUMENTS, admin=st.booleans())
async def test_random_arguments_to_every_command_in_private(bench, argument, admin):
    for name in bench.names:
        await bench.send(bench.g.owner if admin else bench.g.alice, f"/{name} {argument}", None)


@settings(FUZZ, max_examples=40)
@given(payload=PAYLOADS)
async def test_malformed_start_payloads(bench, payload):
    await bench.send(bench.g.alice, f"/start {payload}", None)
    said = bench.pg.sim.replies(bench.g.alice)
    assert said and said[-1].get("text")  # every /start gets an answer


EDGE_ARGUMENTS = [
    "x" * 4000, "名字" * 1500, ("<b>&amp; " * 500).strip(), "@" + "a" * 3000, "#" + "9" * 3000, "9" * 3000,
    "1 " + "y" * 4000, "@alice " + "z" * 4000, "@alice 10 " + "why " * 900, "1 name " + "v" * 4000,
    "9223372036854775808", "-9223372036854775809", "@alice 9223372036854775808 reason", "1 cost 99999999999999999999",
    "timezone " + "A" * 3000, "welcome " + "{name} " * 600, "What? | " + "a; " * 1200,
]


@pytest.mark.parametrize("admin", [False, True])
async def test_huge_texts_and_numbers_past_64_bits_to_every_command(bench, admin):
    """Deterministic shapes at the edge (hypothesis may not draw them): every one answered without an internal error,
    and every reply within Telegram's limits (the fixture fails on a call Telegram would refuse as too long)."""
    g = bench.g
    for argument in EDGE_ARGUMENTS:
        for name in bench.names:
            await bench.send(g.owner if admin else bench.member, f"/{name} {argument}"[:4000], g.chat)
