"""Use-cases for groups: registration when the bot is added, removal, and per-group settings over config defaults."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from collections.abc import Awaitable, Callable
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.domain.errors import MissingRightError, UserError
from bot.domain.settings import FEATURE_RIGHTS, SETTINGS, is_default_word, parse_setting, rights_needed, setting_spec
from storage.groups import Group, GroupRepo


# How often a forum topic's latest message is written down (seen_at, the order the topic picker offers them in).
TOPIC_REWRITE = timedelta(hours=1)


@dataclass(frozen=True)
class GroupSettings:
    """Effective settings of one group: config defaults overridden by what admins set."""

    values: dict[str, Any]
    overridden: frozenset[str]

    def __getattr__(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise AttributeError(key) from None


def config_default(config: Config, dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


class GroupService:
    def __init__(
        self, repo: GroupRepo, config: Config, clock: Clock,
        bot_rights: Callable[[int], Awaitable[dict[str, bool]]] | None = None,
    ) -> None:
        self.repo = repo
        self.config = config
        self.clock = clock
        # The bot's Telegram rights in a group (the actions port's cached read): what a setting needs is checked against it.
        self.bot_rights = bot_rights
        # Settings are read on every command; cache them and drop the entry on change.
        self._settings: dict[int, GroupSettings] = {}
        self._known: set[int] = set()
        # The forum topics written down this run: [name as stored (None: none seen yet), when last written, when last
        # seen]. A message in a topic already written costs a lookup, not a write (one an hour keeps seen_at current).
        self._topics: dict[tuple[int, int], list] = {}
        # Features that own a setting may look at a new value with the group's other state (e.g. the funnel: a
        # welcome with {rules} needs rules). A guard raises a UserError to refuse; a note returns one to add to the reply.
        self.guards: dict[str, list[Callable[[int, Any], Awaitable[None]]]] = {}
        self.notes_for: dict[str, list[Callable[[int, Any], Awaitable[UserError | None]]]] = {}
        # What follows from a new value, written in the setting's own transaction (tx, chat id, the value in effect).
        self.on_change: dict[str, list[Callable[[Any, int, Any], Awaitable[None]]]] = {}

    async def group(self, chat_id: int) -> Group | None:
        """The group as stored (title, type, whether Sticky still serves it)."""
        return await self.repo.get(chat_id)

    async def active(self) -> list[Group]:
        """The groups Sticky serves now."""
        return await self.repo.active()

    async def bot_added(self, chat_id: int, title: str, type_: str, by: int | None) -> None:
        await self.repo.register(chat_id, title, type_, by, self.clock.now())
        self._known.add(chat_id)

    async def bot_removed(self, chat_id: int) -> None:
        await self.repo.deactivate(chat_id, self.clock.now())

    async def migrated(self, old_id: int, new_id: int, title: str) -> bool:
        """A basic group became a supergroup with a new id: move its data (once). True if this call moved it;
        either way the supergroup is registered afterwards."""
        moved = await self.repo.migrate_chat(old_id, new_id, self.clock.now())
        for chat_id in (old_id, new_id):
            self._settings.pop(chat_id, None)
        if not moved:  # a group we never knew, or already moved: make sure the supergroup is known
            self._known.discard(new_id)
            await self.ensure(new_id, title, "supergroup")
        self._known.add(new_id)
        return moved

    def known(self, chat_id: int) -> bool:
        """Registered here (its row exists), as far as this process knows."""
        return chat_id in self._known

    async def ensure(self, chat_id: int, title: str, type_: str) -> bool:
        """First time we hear from a group (the 'added' event was missed): register it. True if new."""
        if chat_id in self._known:
            return False
        new = await self.repo.ensure(chat_id, title, type_, self.clock.now())
        self._known.add(chat_id)
        return new

    async def topic_seen(self, chat_id: int, thread_id: int, name: str | None, renamed: bool = False) -> None:
        """A message in a forum topic (its name when the update shows it): remembered, since the Bot API has no way
        to list a forum's topics — the step-by-step /schedule offers the ones seen, by name, latest first.
        `renamed`: the name is the message's own (the topic's creation or renaming), which replaces the one known;
        a name from the creation message it replies to is the name at creation, kept only if none is known (every
        message in a topic carries it: it must not undo a rename, after a restart either)."""
        key, now = (chat_id, thread_id), self.clock.now()
        known = self._topics.get(key)
        if known is not None:
            known[2] = now
            if (known[0] == name or name is None or (known[0] is not None and not renamed)) and now - known[1] < TOPIC_REWRITE:
                return
        stored = await self.repo.topic_seen(chat_id, thread_id, name, renamed, now)
        self._topics[key] = [stored, now, now]

    async def forum_topics(self, chat_id: int) -> list[tuple[int, str | None]]:
        """The forum topics seen in the group, (thread id, name or None), the one with the latest message first
        (as this run saw them; else as last written, to the hour), then by age."""
        def latest(thread_id: int, written: datetime) -> datetime:
            known = self._topics.get((chat_id, thread_id))
            return written if known is None else max(written, known[2])

        rows = await self.repo.forum_topics(chat_id)
        return [(t, n) for t, n, _ in sorted(rows, key=lambda r: (-latest(r[0], r[2]).timestamp(), r[0]))]

    async def settings(self, chat_id: int) -> GroupSettings:
        cached = self._settings.get(chat_id)
        if cached is not None:
            return cached
        stored = await self.repo.settings(chat_id)
        values = {}
        for key, spec in SETTINGS.items():
            if key in stored:
                try:
                    values[key] = spec.from_text(stored[key])
                    continue
                except ValueError:
                    pass  # a value an older version allowed; fall back to the default
            values[key] = config_default(self.config, spec.config_attr)
        result = GroupSettings(values, frozenset(k for k in stored if k in SETTINGS))
        self._settings[chat_id] = result
        return result

    async def set(self, chat_id: int, key: str, text: str, actor_id: int | None) -> tuple[str, Any, bool]:
        """Validate and store one setting; `default` forgets the group's value so the config default applies
        again. Returns (key, value now in effect, whether it was put back to the default). Raises SettingError."""
        if is_default_word(text):
            spec = setting_spec(key)
            default = config_default(self.config, spec.config_attr)
            await self.repo.delete_setting(chat_id, spec.key, self._then(chat_id, spec.key, default))
            self._settings.pop(chat_id, None)
            return spec.key, (await self.settings(chat_id)).values[spec.key], True
        spec, value = parse_setting(key, text)
        for guard in self.guards.get(spec.key, ()):
            await guard(chat_id, value)
        await self.repo.set_setting(chat_id, spec.key, spec.to_text(value), actor_id, self.clock.now(),
                                    self._then(chat_id, spec.key, value))
        self._settings.pop(chat_id, None)
        return spec.key, value, False

    def _then(self, chat_id: int, key: str, value: Any):
        hooks = self.on_change.get(key, ())
        if not hooks:
            return None

        async def then(tx) -> None:
            for hook in hooks:
                await hook(tx, chat_id, value)
        return then

    async def notes(self, chat_id: int, key: str, value: Any) -> list[UserError]:
        """What the admin should know about a value just set (it is stored all the same)."""
        found = [await note(chat_id, value) for note in self.notes_for.get(key, ())]
        found += [MissingRightError(key=key, right=r) for r in await self.lacking(chat_id, key, value)]
        return [n for n in found if n is not None]

    async def feature_notes(self, chat_id: int, feature: str) -> list[UserError]:
        """What the admin should know about a feature without a setting just asked for (a pinned scheduled post):
        the right it needs that the bot lacks in the group, as /set notes a setting's."""
        right = FEATURE_RIGHTS[feature]
        if self.bot_rights is None or (await self.bot_rights(chat_id)).get(right, True):
            return []
        return [MissingRightError(feature=feature, right=right)]

    async def lacking(self, chat_id: int, key: str, value: Any) -> list[str]:
        """The rights `key` = `value` needs that the bot does not have in the group (none when they cannot be read)."""
        needed = rights_needed(key, value)
        if not needed or self.bot_rights is None:
            return []
        have = await self.bot_rights(chat_id)
        return [r for r in needed if not have.get(r, True)]  # a right the read did not cover counts as there

    async def unworkable(self, chat_id: int) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
        """For /settings: each setting whose value cannot work for a missing right, and each feature without a
        setting (invite links, pinned posts) that a missing right stops."""
        if self.bot_rights is None:
            return {}, []
        current = await self.settings(chat_id)
        lacking = {k: found for k, v in current.values.items() if (found := await self.lacking(chat_id, k, v))}
        have = await self.bot_rights(chat_id)
        features = [(f, r) for f, r in FEATURE_RIGHTS.items() if not have.get(r, True)]
        return lacking, features

    async def display_settings(self, chat_id: int) -> dict[str, tuple[str, bool]]:
        current = await self.settings(chat_id)
        return {k: (SETTINGS[k].to_text(v), k in current.overridden) for k, v in current.values.items()}
