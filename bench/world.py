"""The benchmark's world: G supergroups with the bot as admin on the simulated Telegram, M members each, and a
deterministic stream of updates in the issue's mix.

Joins and leaves are made by the simulator itself (its chat_member update and its "X joined/left" service
message). Chat messages and commands from the 100,000 members are cloned from a message the simulator made, with
the sender, chat, id and text changed (texts get their entities as the simulator gives them): the shape is exactly
Telegram's, and the simulator does not have to hold 100,000 members and every message they ever sent, which would
otherwise be most of the memory the benchmark measures.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.sim import FakeTelegram
from bot.sim.html import auto_entities
from bot.sim.state import SimChat, SimUser

# Members of the benchmark's groups get ids far above the simulator's own (which start at 1001).
FIRST_MEMBER_ID = 50_000_000
OTHER_COMMANDS = ("/me", "/top", "/levels", "/history", "/badges", "/earn")
CHAT_TEXTS = (
    "good morning everyone, the tea is ready", "has anyone tried the new oolong from the market?",
    "I think the meeting is at seven tonight", "thanks for sharing, that was really helpful",
    "see you all tomorrow at the usual place", "does anyone know a good recipe for milk tea?",
)

KINDS = ("chat", "checkin", "command", "join/leave")


@dataclass
class World:
    sim: FakeTelegram
    groups: list[SimChat]
    members_per_group: int
    _chat_api: dict[int, dict[str, Any]] = field(default_factory=dict)
    _next_message_id: dict[int, int] = field(default_factory=dict)
    _next_update_id: int = 500_000_000
    _joined: list[tuple[SimChat, SimUser]] = field(default_factory=list)
    _fresh: int = 0

    @classmethod
    def build(cls, sim: FakeTelegram, groups: int, members_per_group: int) -> World:
        """The groups, each with an owner and the bot as administrator (their my_chat_member updates and
        service messages are left in the simulator's queue for the caller to hand to the bot, or drop)."""
        owner = sim.user("bench_owner")
        made = []
        for i in range(groups):
            chat = sim.create_group(f"Bench club {i}", owner=owner)
            sim.add_bot(chat, by=owner)
            made.append(chat)
        world = cls(sim, made, members_per_group)
        # One real message per group gives the exact chat object Telegram puts in its messages.
        speaker = sim.user("bench_template")
        for chat in made:
            sim.join(chat, speaker)
            data = sim.send(speaker, "template", chat)
            world._chat_api[chat.id] = data["chat"]
            world._next_message_id[chat.id] = data["message_id"] + 1_000_000
        return world

    @property
    def members(self) -> int:
        return len(self.groups) * self.members_per_group

    def member(self, group_index: int, n: int) -> dict[str, Any]:
        user_id = FIRST_MEMBER_ID + group_index * self.members_per_group + n
        return SimUser(id=user_id, first_name=f"Member{user_id}", username=f"m{user_id}", language_code="en").to_api()

    def _update(self, payload: dict[str, Any], kind: str = "message") -> dict[str, Any]:
        self._next_update_id += 1
        return {"update_id": self._next_update_id, kind: payload}

    def message(self, group_index: int, n: int, text: str, date: int) -> dict[str, Any]:
        chat = self.groups[group_index]
        message_id = self._next_message_id[chat.id]
        self._next_message_id[chat.id] = message_id + 1
        data: dict[str, Any] = {
            "message_id": message_id, "from": self.member(group_index, n), "date": date,
            "chat": self._chat_api[chat.id], "text": text,
        }
        entities = auto_entities(text)
        if entities:
            data["entities"] = entities
        return self._update(data)

    def join_or_leave(self, rng: random.Random) -> list[dict[str, Any]]:
        """A newcomer joins a random group, or (half the time, when there is one) an earlier newcomer leaves:
        the simulator's own updates (chat_member and the service message), renumbered into the stream."""
        if self._joined and rng.random() < 0.5:
            chat, user = self._joined.pop(rng.randrange(len(self._joined)))
            self.sim.leave(chat, user)
        else:
            chat = rng.choice(self.groups)
            self._fresh += 1
            user = self.sim.user(f"bench_newcomer_{self._fresh}")
            self.sim.join(chat, user)
            self._joined.append((chat, user))
        out = []
        for update in self.sim.take_updates():
            update.pop("update_id")
            kind, payload = next(iter(update.items()))
            out.append(self._update(payload, kind))
        return out

    def mix(self, count: int, seed: int, date: int) -> list[tuple[str, dict[str, Any]]]:
        """`count` updates (kind, update) in the issue's mix: 90 % chat, 5 % /checkin, 3 % other commands,
        2 % joins/leaves (each join or leave is two updates), from members picked at random."""
        rng = random.Random(seed)
        out: list[tuple[str, dict[str, Any]]] = []
        texts = 0
        while len(out) < count:
            roll = rng.random()
            g, n = rng.randrange(len(self.groups)), rng.randrange(self.members_per_group)
            if roll < 0.90:
                texts += 1
                out.append(("chat", self.message(g, n, f"{CHAT_TEXTS[texts % len(CHAT_TEXTS)]} ({texts})", date)))
            elif roll < 0.95:
                out.append(("checkin", self.message(g, n, "/checkin", date)))
            elif roll < 0.98:
                out.append(("command", self.message(g, n, rng.choice(OTHER_COMMANDS), date)))
            else:
                out.extend(("join/leave", u) for u in self.join_or_leave(rng))
        return out[:count]

    def everyone_chats(self, seed: int, date: int) -> Iterator[dict[str, Any]]:
        """One chat message from every member, in an order mixing the groups."""
        rng = random.Random(seed)
        order = list(range(self.members))
        rng.shuffle(order)
        for i, k in enumerate(order):
            g, n = divmod(k, self.members_per_group)
            yield self.message(g, n, f"{CHAT_TEXTS[i % len(CHAT_TEXTS)]} ({i})", date)
