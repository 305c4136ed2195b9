"""Managing a group from private chat: which group a person is connected to, and what Telegram says they are there.
Every command run through a connection asks Telegram again (getChatMember): the stored admin list can lag behind a
demotion Sticky never heard of, and a connection must not outlive the right it was given for."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.domain.errors import ConnectError, NotAllowedError
from bot.domain.roles import Actor, Role, role_from, tg_role_from_status
from bot.ports import TelegramPort
from storage.connections import ConnectionRepo, GroupOf
from storage.groups import Group, GroupRepo
from storage.members import MemberRepo, UserInfo

log = logging.getLogger(__name__)

PRESENT = ("member", "administrator", "creator", "restricted")
# /connect asks Telegram about each group someone is in; past this many, the ones stored as admin come first.
MAX_CHECKED = 20
# A which-group question whose command arguments were kept server-side (too long for a button) is answered for this
# long; a later tap is told to send the command again.
QUESTION_KEPT = timedelta(days=7)


@dataclass(frozen=True)
class Remote:
    """A command typed in private chat that acts on a group: the group, and who the sender is there (per Telegram)."""

    group: Group
    actor: Actor


class ConnectionService:
    def __init__(self, repo: ConnectionRepo, groups: GroupRepo, members: MemberRepo, port: TelegramPort, clock: Clock) -> None:
        self.repo = repo
        self.groups = groups
        self.members = members
        self.port = port
        self.clock = clock

    async def _live(self, group: Group, user_id: int) -> tuple[str | None, Role]:
        """(Telegram status, role) of `user_id` in `group`, asked now and stored. ConnectError(unverified) when
        Telegram cannot say: a right is never assumed."""
        try:
            found = await self.port.member(group.chat_id, user_id)
        except Exception:  # noqa: BLE001 — timeouts, 403 (the bot was removed), 429: fail closed
            log.warning("could not check %s in %s with Telegram", user_id, group.chat_id, exc_info=True)
            raise ConnectError(reason="unverified", title=group.title) from None
        if found is None:
            return None, Role.MEMBER
        user, status = found
        tg_role = tg_role_from_status(status)
        stored = await self.members.get(group.chat_id, user_id)
        if stored is None or stored.tg_role != tg_role or stored.present != (status in PRESENT):
            await self.members.record_status(group.chat_id, user, status, tg_role, self.clock.now())
        return status, role_from(tg_role, stored.community_role if stored else None)

    async def _group(self, chat_id: int, title: str = "") -> Group:
        group = await self.groups.get(chat_id)
        if group is None or not group.active:
            raise ConnectError(reason="bot_gone", title=group.title if group else title)
        return group

    async def manageable(self, user_id: int) -> list[GroupOf]:
        """The groups Telegram says `user_id` administers, among those Sticky knows them in."""
        known = await self.repo.groups_of(user_id)
        known.sort(key=lambda g: g.tg_role is None)  # stored admins first, if there are many to ask about
        found = []
        for entry in known[:MAX_CHECKED]:
            try:
                _status, role = await self._live(await self._group(entry.chat_id), user_id)
            except ConnectError:
                continue
            if role >= Role.ADMIN:
                found.append(entry)
        return sorted(found, key=lambda g: (g.title.casefold(), g.chat_id))

    async def in_any(self, user_id: int) -> bool:
        """Whether Sticky knows `user_id` as a member of some active group (private /help says the rest is there)."""
        return bool(await self.repo.groups_of(user_id))

    async def administers_any(self, user_id: int) -> bool:
        """Sticky last saw `user_id` as an owner or admin of one of its groups (stored: nothing asked of Telegram)."""
        return any(role_from(g.tg_role, None) >= Role.ADMIN for g in await self.repo.groups_of(user_id))

    async def find(self, user_id: int, text: str) -> int:
        """The group `text` names among `user_id`'s groups: its numeric id, or its title (whole, any letter case)."""
        mine = await self.repo.groups_of(user_id)
        wanted = text.strip()
        for entry in mine:
            if str(entry.chat_id) == wanted or entry.title.casefold() == wanted.casefold():
                return entry.chat_id
        raise ConnectError(reason="unknown_group", name=wanted)

    async def connect(self, user_id: int, chat_id: int) -> Group:
        """Connect `user_id`'s private chat to the group, if Telegram says they are an admin there now."""
        group = await self._group(chat_id)
        _status, role = await self._live(group, user_id)
        if role < Role.ADMIN:
            raise ConnectError(reason="not_admin", title=group.title)
        await self.repo.connect(user_id, chat_id, self.clock.now())
        return group

    async def disconnect(self, user_id: int) -> Group | None:
        chat_id = await self.repo.get(user_id)
        if chat_id is None:
            await self.repo.disconnect(user_id)  # a connection to a group Sticky left is gone too
            return None
        await self.repo.disconnect(user_id)
        return await self.groups.get(chat_id)

    async def connected_to(self, user_id: int) -> int | None:
        """The id of the group `user_id`'s private chat manages, if any (one read: asked for every private update)."""
        return await self.repo.get(user_id)

    async def current(self, user_id: int) -> Group | None:
        chat_id = await self.repo.get(user_id)
        return None if chat_id is None else await self.groups.get(chat_id)

    async def admin(self, user_id: int, command: str, needed: Role = Role.ADMIN) -> Remote:
        """An admin command typed in private: the connected group and the sender's role there, asked of Telegram now.
        No connection: ConnectError(not_connected) — or, for someone Sticky knows as an admin of none of its groups
        (who cannot /connect), NotAllowedError as in a group. No longer an admin there: the connection ends
        (ConnectError(lost))."""
        chat_id = await self.repo.get(user_id)
        if chat_id is None:
            if not await self.administers_any(user_id):
                raise NotAllowedError(needed=needed)
            raise ConnectError(reason="not_connected", command=command)
        group = await self._group(chat_id)
        _status, role = await self._live(group, user_id)
        if role < Role.ADMIN:
            await self.repo.disconnect(user_id, chat_id)
            raise ConnectError(reason="lost", title=group.title)
        return Remote(group, Actor(user_id, chat_id, role))

    async def personal(self, user_id: int, command: str, chat_id: int | None = None) -> Remote | list[GroupOf]:
        """A personal command (/me, /history, /invite…) in private: the group it is about — the one given, the
        connected one, or the only one they are in — or, when that is not clear, the groups to choose from."""
        if chat_id is None:
            chat_id = await self.repo.get(user_id)
        if chat_id is None:
            mine = await self.repo.groups_of(user_id)
            if not mine:
                raise ConnectError(reason="no_member_groups", command=command)
            if len(mine) > 1:
                return mine
            chat_id = mine[0].chat_id
        group = await self._group(chat_id)
        status, role = await self._live(group, user_id)
        if status not in PRESENT:
            raise ConnectError(reason="not_member", title=group.title)
        return Remote(group, Actor(user_id, chat_id, role))

    async def ask(self, user_id: int, command: str, args: str) -> int:
        """Keep a which-group question's command and arguments for its buttons to name; the key."""
        now = self.clock.now()
        return await self.repo.ask(user_id, command, args, now, now - QUESTION_KEPT)

    async def asked(self, user_id: int, key: int) -> tuple[str, str]:
        """(command, arguments) of the question `key` names. ConnectError(expired): forgotten, or never `user_id`'s."""
        found = await self.repo.asked(key, user_id, self.clock.now() - QUESTION_KEPT)
        if found is None:
            raise ConnectError(reason="expired")
        return found
