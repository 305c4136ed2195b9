"""Community roles and who may do what to whom: pure rules, no Telegram."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from bot.domain.errors import NotAllowedError, RoleChangeError


class Role(IntEnum):
    """Ordered: a higher role includes every right of the lower ones."""

    MEMBER = 0
    SPREADER = 1
    ACTIVATOR = 2
    ADMIN = 3
    OWNER = 4

    @property
    def key(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        return cls[text.strip().upper()]


# Roles an admin hands out; owner/admin follow Telegram and are never assigned here.
ASSIGNABLE = (Role.ACTIVATOR, Role.SPREADER)


def role_from(tg_role: str | None, community_role: str | None) -> Role:
    """Telegram's word wins: an owner or admin is that, whatever community role they also hold."""
    if tg_role == "owner":
        return Role.OWNER
    if tg_role == "admin":
        return Role.ADMIN
    if community_role:
        return Role.parse(community_role)
    return Role.MEMBER


def tg_role_from_status(status: str) -> str | None:
    return {"creator": "owner", "administrator": "admin"}.get(status)


@dataclass(frozen=True)
class Actor:
    """Who sent this update, as far as the group is concerned. Computed once per update."""

    user_id: int
    chat_id: int
    role: Role
    anonymous_admin: bool = False
    channel: bool = False  # a channel speaking (a member writing "as" their channel, a linked channel): never a person
    bot: bool = False  # another bot (Telegram's bot-to-bot mode lets its commands through): never a person


def require(actor_role: Role, needed: Role) -> None:
    if actor_role < needed:
        raise NotAllowedError(needed=needed)


def can_act_on(actor: Role, target: Role) -> bool:
    """Admins act only on those strictly below them: an admin cannot touch the owner or another admin."""
    return actor >= Role.ADMIN and actor > target


def check_role_change(actor: Role, target: Role, target_is_bot: bool, new_role: Role, setting: bool, current: Role) -> None:
    """Raise RoleChangeError/NotAllowedError unless `actor` may set (or unset) `new_role` on the target."""
    require(actor, Role.ADMIN)
    if new_role not in ASSIGNABLE:
        raise RoleChangeError(reason="not_assignable", role=new_role)
    if target_is_bot:
        raise RoleChangeError(reason="is_bot", role=new_role)
    if target == Role.OWNER:
        raise RoleChangeError(reason="owner", role=new_role)
    if target == Role.ADMIN:
        raise RoleChangeError(reason="telegram_admin", role=new_role)
    if setting and current == new_role:
        raise RoleChangeError(reason="same", role=new_role)
    if not setting and current != new_role:
        raise RoleChangeError(reason="not_set", role=new_role)
