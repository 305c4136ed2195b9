"""Use-cases for community roles: give, take, and show the pyramid."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bot.clock import Clock
from bot.domain.errors import RoleChangeError
from bot.domain.roles import Actor, Role, check_role_change, role_from
from storage.members import Member, MemberRepo
from storage.roles import RoleRepo


@contextmanager
def _naming(target: Member) -> Iterator[None]:
    """A refused change names the person it was about ("Alice is already Activator.")."""
    try:
        yield
    except RoleChangeError as exc:
        exc.params.setdefault("name", target.user.display)
        raise


class RoleService:
    def __init__(self, roles: RoleRepo, members: MemberRepo, clock: Clock) -> None:
        self.roles = roles
        self.members = members
        self.clock = clock
        self.changed: Callable[[int, int], None] | None = None  # told of every change (the rules' member cache)

    async def set_role(self, actor: Actor, target: Member, role: Role, reason: str | None = None) -> None:
        current = role_from(target.tg_role, target.community_role)
        with _naming(target):
            check_role_change(actor.role, current, target.user.is_bot, role, True, current)
        await self.roles.set_community_role(
            actor.chat_id, target.user.user_id, role.key, "set", role.key, actor.user_id, reason, self.clock.now()
        )
        self._changed(actor.chat_id, target.user.user_id)

    async def unset_role(self, actor: Actor, target: Member, role: Role) -> None:
        current = role_from(target.tg_role, target.community_role)
        with _naming(target):
            check_role_change(actor.role, current, target.user.is_bot, role, False, current)
        await self.roles.set_community_role(
            actor.chat_id, target.user.user_id, None, "unset", role.key, actor.user_id, None, self.clock.now()
        )
        self._changed(actor.chat_id, target.user.user_id)

    async def grant_earned(self, chat_id: int, user_id: int, role: Role, reason: str) -> bool:
        """A rule earned the member a role (e.g. spreader after N referrals). Never lowers an admin."""
        member = await self.members.get(chat_id, user_id)
        if member is None or role_from(member.tg_role, member.community_role) >= role:
            return False
        changed = await self.roles.set_community_role(chat_id, user_id, role.key, "set", role.key, None, reason, self.clock.now())
        self._changed(chat_id, user_id)
        return changed

    def _changed(self, chat_id: int, user_id: int) -> None:
        if self.changed is not None:
            self.changed(chat_id, user_id)

    async def pyramid(self, chat_id: int) -> dict[Role, list[str]]:
        result: dict[Role, list[str]] = {role: [] for role in Role}
        for member in await self.members.present(chat_id):
            if member.user.is_bot:
                continue
            result[role_from(member.tg_role, member.community_role)].append(member.user.display)
        return result
