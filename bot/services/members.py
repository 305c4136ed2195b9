"""Use-cases for members: who they are, what Telegram says their status is, who sent a command and whom it names."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from bot.clock import Clock
from bot.domain.errors import TargetError
from bot.domain.roles import Actor, Role, role_from, tg_role_from_status
from bot.domain.rules import Event as RuleEvent, RuleEvents
from bot.ports import TelegramPort
from bot.services.inbox import WithBatch
from storage.groups import GroupRepo
from storage.members import Member, MemberRepo, UserInfo
from storage.roles import RoleRepo, tg_change

log = logging.getLogger(__name__)

PRESENT = ("member", "administrator", "creator", "restricted")
# Telegram user ids fit in 52 bits; anything outside names nobody (and would overflow SQLite's INTEGER).
MAX_USER_ID = 2**52
_USER_ID = re.compile(r"-?[0-9]+")


def user_id_arg(arg: str) -> int | None:
    """A command argument that is a numeric user id (ASCII digits only: int() refuses '²'), else None."""
    return int(arg) if _USER_ID.fullmatch(arg) else None


_MISSING = object()
_BITS = 2**60 - 1  # an int below 2**60 is 32 bytes; a member_key (about 2**94) or a hash (2**63) is 48


def _seen_key(chat_id: int, user_id: int) -> int:
    """Where MemberService._seen keeps a (chat, user): a 60-bit digest, not the exact member_key (two 32-byte ints an
    entry instead of two of 48: at 100,000 members that is 3 MB, twice over while both generations are full). Two
    members sharing one only costs a write: the other's entry does not match their name's digest (a 2**-60 chance)."""
    return hash((chat_id, user_id)) & _BITS


def _digest(info: UserInfo) -> int:
    """What MemberService._seen keeps of what was stored (names, username, language)."""
    return hash(info) & _BITS


class _Lru:
    """Bounded, what was written or read longest ago goes first: two generations of plain dicts, the newer taking
    every write (and a read hit in the older), the older dropped whole once the newer holds half the bound. So at
    most `size` keys, each kept for at least size/2 writes after its last use, and no per-key link node (an
    OrderedDict's costs about 50 bytes a key; evicting a plain dict's first key one by one walks over every key
    deleted before it, 200 us an eviction once 100,000 went)."""

    __slots__ = ("size", "_new", "_old", "_halved")

    def __init__(self, size: int) -> None:
        self.size = size
        self._new: dict = {}
        self._old: dict = {}
        self._halved = 0  # below this many keys the older is copied into a dict of its size

    def get(self, key, default=None):
        value = self._new.get(key, _MISSING)
        if value is _MISSING:
            value = self._old.pop(key, _MISSING)
            if value is _MISSING:
                return default
            if len(self._old) < self._halved:
                # A dict never shrinks as keys leave it: the older's table stayed as big as when it was the newer
                # while the newer grew one as big (both 5 MB when 100,000 members chatted again). Copied each time
                # half its keys moved: copying all of them twice at most over its life.
                self._old = dict(self._old)
                self._halved = len(self._old) // 2
            self._keep(key, value)
        return value

    def __contains__(self, key) -> bool:
        return key in self._new or key in self._old

    def __getitem__(self, key):
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __len__(self) -> int:
        return len(self._new) + len(self._old)

    def put(self, key, value) -> None:
        self._old.pop(key, None)
        self._keep(key, value)

    def pop(self, key, default=None):
        value = self._new.pop(key, _MISSING)
        old = self._old.pop(key, _MISSING)
        value = old if value is _MISSING else value
        return default if value is _MISSING else value

    def _keep(self, key, value) -> None:
        self._new[key] = value
        if len(self._new) >= max(1, self.size // 2):
            self._old, self._new = self._new, {}
            self._halved = len(self._old) // 2


def _sighting(message: Any) -> tuple[int, UserInfo, datetime] | None:
    """(chat, sender, date) of a message (as Telegram sent it) that the middleware takes as its sender's sighting:
    in a group, from a person (not a bot, not as a chat), not 'X left' nor a move to a supergroup. None otherwise,
    and for anything not shaped as Telegram shapes it."""
    if not isinstance(message, dict):
        return None
    chat, sender, date = message.get("chat"), message.get("from"), message.get("date")
    if not (isinstance(chat, dict) and chat.get("type") in ("group", "supergroup") and isinstance(chat.get("id"), int)
            and isinstance(sender, dict) and isinstance(sender.get("id"), int) and isinstance(sender.get("first_name"), str)
            and isinstance(date, int) and not sender.get("is_bot")):
        return None
    if any(k in message for k in ("sender_chat", "left_chat_member", "migrate_to_chat_id", "migrate_from_chat_id")):
        return None
    username, last_name, language = sender.get("username"), sender.get("last_name"), sender.get("language_code")
    if not all(v is None or isinstance(v, str) for v in (username, last_name, language)):
        return None
    user = UserInfo(sender["id"], sender["first_name"], username, last_name, False, language)
    return chat["id"], user, datetime.fromtimestamp(date, timezone.utc)


def _channel_sighting(message: Any) -> tuple[int, UserInfo] | None:
    """(group, the channel) of a group message sent on behalf of a channel, as Telegram sent it: the channel's
    title and @username, remembered so a command can name it (/warn -100…, /ban @channel) before it was moderated.
    None otherwise (an anonymous admin writes as the group itself: no channel)."""
    if not isinstance(message, dict):
        return None
    chat, sender = message.get("chat"), message.get("sender_chat")
    if not (isinstance(chat, dict) and chat.get("type") in ("group", "supergroup") and isinstance(chat.get("id"), int)
            and isinstance(sender, dict) and sender.get("type") == "channel" and isinstance(sender.get("id"), int)
            and sender["id"] != chat["id"] and isinstance(sender.get("title"), str)):
        return None
    username = sender.get("username")
    if not (username is None or isinstance(username, str)):
        return None
    return chat["id"], UserInfo(sender["id"], sender["title"], username)


class MemberService:
    def __init__(
        self, members: MemberRepo, groups: GroupRepo, roles: RoleRepo, port: TelegramPort, clock: Clock,
        admin_cache: timedelta,
    ) -> None:
        self.members = members
        self.groups = groups
        self.roles = roles
        self.port = port
        self.clock = clock
        self.admin_cache = admin_cache
        self.rule_events: RuleEvents | None = None  # the rules engine hears joins (bot/app.py sets it)
        self.changed: Callable[[int, int | None], None] | None = None  # a status or admin flag changed (None: anyone's)
        # Who we already stored with which name: a message from a known member costs no write. What is kept is the
        # hash of what was stored (names, username, language), not the UserInfo and its strings: one int a member,
        # under a digest of (chat, user) (_seen_key).
        self._seen: _Lru = _Lru(200_000)
        self._languages: _Lru = _Lru(50_000)  # user id -> the private language they chose (None: none)
        # Whether a group is registered (its row exists): a sighting that comes with a received batch needs it.
        self.registered: Callable[[int], bool] = lambda chat_id: False  # bot/app.py sets it
        # chat -> (read at, Telegram's owner/admins there): whether a message's sender is one (is_admin) costs no read.
        # Read once per group, kept in step with every change of a member's Telegram role recorded here, and read
        # again after `admin_cache` as a backstop (as the admin list itself is).
        self._admins: _Lru = _Lru(20_000)
        self._admin_changes = 0  # changes noted: a read of a group's admins across one is used, not kept

    def with_batch(self, updates: list[dict[str, Any]]) -> WithBatch | None:
        """Who wrote a received batch's messages, stored in the transaction that records the batch (InboxService.add_with_batch)
        for those not stored yet: seen() then finds them stored, and their update waits for no write of its own (a
        member's first message, or the first after a restart, was a write to wait for: 90 % of P1's updates). The
        rows seen() writes, for the messages the middleware takes as sightings (_sighting), taken when the message
        arrives instead of in its turn. A change of the member that is handled before the message (a leave, a join:
        status_changed) forgets the sighting, so the message's own turn writes it again, after that change, as
        before."""
        sightings: list[tuple[int, int, int, tuple]] = []
        channels: list[tuple[int, int, int, UserInfo]] = []  # channels posting: their names
        now = self.clock.now()
        for update in updates:
            seen = _sighting(update.get("message"))
            if seen is None:
                posted = _channel_sighting(update.get("message"))
                if posted is not None:
                    chat_id, channel = posted
                    key, stored = _seen_key(chat_id, channel.user_id), _digest(channel)
                    if self._seen.get(key) != stored and self.registered(chat_id):
                        channels.append((update["update_id"], key, stored, channel))
                continue
            chat_id, user, said_at = seen
            key, stored = _seen_key(chat_id, user.user_id), _digest(user)
            if self._seen.get(key) == stored or not self.registered(chat_id):
                continue
            sightings.append((update["update_id"], key, stored, (chat_id, user, now, said_at)))
        if not sightings and not channels:
            return None

        def write(conn, known: set[int]) -> None:
            self.members.seen_in(conn, [row for update_id, _, _, row in sightings if update_id not in known])
            self.members.remember_in(conn, [info for update_id, _, _, info in channels if update_id not in known], now)

        def written(known: set[int]) -> None:
            for update_id, key, stored, _ in (*sightings, *channels):
                if update_id not in known:  # a repeat is not handled again: its sighting is not taken either
                    self._seen.put(key, stored)

        return WithBatch(write, written)

    # Reads for handlers, one name each (handlers call services, services call storage).

    async def role_in(self, chat_id: int, user_id: int) -> Role:
        """`user_id`'s role in the group as stored (a member when Sticky has not seen them there)."""
        member = await self.members.get(chat_id, user_id)
        return Role.MEMBER if member is None else role_from(member.tg_role, member.community_role)

    async def member(self, chat_id: int, user_id: int) -> Member | None:
        """`user_id` in the group as stored (status, roles), or None if Sticky never saw them there."""
        return await self.members.get(chat_id, user_id)

    async def user(self, user_id: int) -> UserInfo | None:
        """Who `user_id` is (name, @username) as last seen, in any group."""
        return await self.members.user(user_id)

    async def users(self, user_ids: list[int]) -> dict[int, UserInfo]:
        """Who each of these is, as last seen (the ones Sticky knows)."""
        return await self.members.users(user_ids)

    async def admins(self, chat_id: int) -> list[int]:
        """The group's owner and admins as Telegram last listed them (people only), owner first."""
        return await self.members.admins(chat_id)

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        """Whether `user_id` is the group's owner or one of its admins (Telegram's, as stored) now: from memory, so
        a message's sender is judged with no read (the heat-map of /stats leaves admins' messages out)."""
        now = self.clock.now()
        known = self._admins.get(chat_id)
        if known is None or now - known[0] >= self.admin_cache:
            changes = self._admin_changes
            ids = set(await self.members.admins(chat_id))
            if self._admin_changes == changes:
                self._admins.put(chat_id, (now, ids))
            return user_id in ids
        return user_id in known[1]

    def _admin_changed(self, chat_id: int, user: UserInfo | None, tg_role: str | None) -> None:
        """A member's Telegram role was recorded (`user` None: the whole admin list was read again)."""
        self._admin_changes += 1
        known = self._admins.get(chat_id)
        if known is None:
            return
        if user is None:
            self._admins.pop(chat_id)
        elif tg_role is not None and not user.is_bot:
            known[1].add(user.user_id)
        else:
            known[1].discard(user.user_id)

    async def present(self, chat_id: int) -> list[Member]:
        """The group's members who are in it now, as stored."""
        return await self.members.present(chat_id)

    async def has_started(self, user_id: int) -> bool:
        """Whether `user_id` started Sticky in private (so it may write to them there)."""
        return await self.members.has_started(user_id)

    async def seen(self, chat_id: int, user: UserInfo, said_at: datetime | None = None) -> None:
        key, stored = _seen_key(chat_id, user.user_id), _digest(user)
        if self._seen.get(key) == stored:
            return
        await self.members.seen(chat_id, user, self.clock.now(), said_at)
        self._seen.put(key, stored)

    async def channel_seen(self, chat_id: int, channel: UserInfo) -> None:
        """A channel posted in the group: its title and @username remembered (a write only when they are new to this
        process or changed; a received batch wrote them already, with_batch)."""
        key, stored = _seen_key(chat_id, channel.user_id), _digest(channel)
        if self._seen.get(key) == stored:
            return
        await self.members.remember(channel, self.clock.now())
        self._seen.put(key, stored)

    async def language(self, user_id: int) -> str | None:
        """The language `user_id` chose for their private chat (/language); None: their Telegram app's is followed.
        Kept in memory once read (a private chat's id is its user's: keyed by chat, as all in-memory state)."""
        if user_id in self._languages:
            return self._languages[user_id]
        chosen = await self.members.language(user_id)
        self._languages.put(user_id, chosen)
        return chosen

    async def set_language(self, user_id: int, language: str | None) -> None:
        await self.members.set_language(user_id, language, self.clock.now())
        self._languages.put(user_id, language)

    async def started(self, user: UserInfo) -> None:
        key, stored = _seen_key(0, user.user_id), _digest(user)
        if self._seen.get(key) == stored:
            return
        await self.members.mark_started(user, self.clock.now())
        self._seen.put(key, stored)

    async def status_changed(
        self, chat_id: int, user: UserInfo, old_status: str, new_status: str, actor_id: int | None,
        invite_link: str | None = None, update_id: int | None = None,
    ) -> str | None:
        """Record a chat_member change. Returns the event ('join', 'leave', 'removed') or None; None too for a repeat."""
        was, now_in = old_status in PRESENT, new_status in PRESENT
        event = "join" if now_in and not was else ("removed" if new_status == "kicked" else "leave") if was and not now_in else None
        old_tg, new_tg = tg_role_from_status(old_status), tg_role_from_status(new_status)
        # A promotion delivered again (Telegram resends what was unconfirmed at a restart) is already stored:
        # audit a change once, not once per delivery.
        stored = await self.members.get(chat_id, user.user_id)
        already = stored is not None and stored.tg_role == new_tg
        # Recorded again by the same update: its handling was cut short (a crash) after the record and before the
        # update was marked handled, so the rules may not have heard of the join. They hear it now; what they write
        # for one join is keyed by its update (join:{update_id}), so a join they did hear changes nothing twice.
        fresh = await self.members.record_status(
            chat_id, user, new_status, new_tg, self.clock.now(), event=event, invite_link=invite_link, update_id=update_id,
        ) is not None
        self._seen.pop(_seen_key(chat_id, user.user_id), None)
        self._admin_changed(chat_id, user, new_tg)
        if self.changed is not None:
            self.changed(chat_id, user.user_id)
        change = tg_change(old_tg, new_tg)
        if fresh and change is not None and not already:
            await self.roles.audit(chat_id, *change, actor_id, user.user_id, "telegram", self.clock.now())
        if fresh and event == "join" and self.rule_events is not None and not user.is_bot:
            now = self.clock.now()
            await self.rule_events(RuleEvent("join", chat_id, user.user_id, now, key=f"join:{update_id or now.isoformat()}"))
        return event if fresh else None

    async def own_status(self, chat_id: int, bot: UserInfo, status: str) -> None:
        """Sticky's own status in the group as its my_chat_member update says, stored even when the admin list cannot
        be read just then: whether Telegram tells it of joins there (hears_joins) follows it in the updates' order."""
        await self.members.record_status(chat_id, bot, status, tg_role_from_status(status), self.clock.now())

    async def hears_joins(self, chat_id: int, bot_id: int) -> bool:
        """Whether Telegram tells Sticky of this group's joins and leaves (chat_member updates): only where Sticky is an
        admin. Elsewhere the service messages ("X joined", "X left") are all it hears of them."""
        me = await self.members.get(chat_id, bot_id)
        return me is not None and me.tg_role is not None

    async def refresh_admins(self, chat_id: int) -> list[tuple[int, str, str]]:
        """Telegram's admin list replaces ours; returns the (user_id, change, role) it revealed, each audited."""
        admins = await self.port.administrators(chat_id)
        changes = await self.members.replace_admins(chat_id, admins, self.clock.now())
        self._admin_changed(chat_id, None, None)
        if self.changed is not None:
            self.changed(chat_id, None)
        for user_id, change, role in changes:
            self._seen.pop(_seen_key(chat_id, user_id), None)
            log.info("admin list of %s: %s %s %s (missed update)", chat_id, user_id, change, role)
        return changes

    async def refresh_admins_if_stale(self, chat_id: int) -> None:
        group = await self.groups.get(chat_id)
        if group is None:
            return
        stale = group.admins_refreshed_at is None or self.clock.now() - group.admins_refreshed_at > self.admin_cache
        if stale:
            try:
                await self.refresh_admins(chat_id)
            except Exception:  # Telegram unreachable: keep working from what we stored
                log.warning("could not refresh admins of %s", chat_id, exc_info=True)

    async def actor(self, chat_id: int, chat_type: str, user: UserInfo | None, sender_chat_id: int | None, privileged: bool) -> Actor:
        """Who is acting here. `privileged` (an admin-only command) refreshes a stale admin list first."""
        if chat_type == "private" or user is None:
            return Actor(user.user_id if user else 0, chat_id, Role.MEMBER)
        if sender_chat_id == chat_id:
            # Sent as the group itself: only an anonymous admin can do that.
            return Actor(chat_id, chat_id, Role.ADMIN, anonymous_admin=True)
        if sender_chat_id is not None:
            return Actor(sender_chat_id, chat_id, Role.MEMBER, channel=True)  # a linked channel or another chat speaking
        if privileged:
            await self.refresh_admins_if_stale(chat_id)
        member = await self.members.get(chat_id, user.user_id)
        role = Role.MEMBER if member is None else role_from(member.tg_role, member.community_role)
        return Actor(user.user_id, chat_id, role, bot=user.is_bot)

    async def target(
        self, chat_id: int, reply_user: UserInfo | None, reply_from_chat: bool, arg: str | None, present: bool = True,
        bots: bool = False, channels: bool = False,
    ) -> Member:
        """The member a command names: the replied-to person (or, with `bots`, bot), @username, or numeric id.
        With `channels`, an @username no member has may be a channel's that Sticky saw post. Raises TargetError."""
        if reply_user is not None and not arg:
            if reply_from_chat:
                raise TargetError(reason="reply_to_channel")
            if reply_user.is_bot and not bots:
                raise TargetError(reason="reply_to_bot")
            # An old message proves they were here once, not that they still are: never mark them present from it.
            member = await self.members.get(chat_id, reply_user.user_id)
            if member is None:
                member = await self._from_telegram(chat_id, reply_user.user_id, str(reply_user.user_id))
        elif not arg:
            if reply_from_chat:
                raise TargetError(reason="reply_to_channel")
            raise TargetError(reason="no_target")
        elif arg.startswith("@"):
            member = await self.members.by_username(chat_id, arg)
            if member is None and channels:
                channel = await self.members.channel_by_username(arg)
                if channel is not None:  # no member of the group: no member row, as channel_target
                    return Member(chat_id, channel, "member", None, None, self.clock.now(), None, None, None)
            if member is None:
                raise TargetError(reason="unknown_username", name=arg)
        elif (user_id := user_id_arg(arg)) is not None:
            if not 0 < user_id < MAX_USER_ID:  # no such account: don't ask Telegram (or SQLite) about it
                raise TargetError(reason="unknown_id", name=arg)
            member = await self.members.get(chat_id, user_id)
            if member is None:
                member = await self._from_telegram(chat_id, user_id, arg)
        else:
            raise TargetError(reason="no_target")
        if present and not member.present:
            raise TargetError(reason="not_member", name=member.user.display)
        return member

    async def channel_target(self, chat_id: int, sender_chat_id: int, title: str, username: str | None) -> Member:
        """A channel that members write on behalf of, as the one a moderation command names (by reply to its message):
        its own id (negative: a chat's), its title for a name (remembered, for /modlog and the log channel). It is no
        member of the group: no member row is written."""
        info = await self.remember_channel(sender_chat_id, title, username)
        return Member(chat_id, info, "member", None, None, self.clock.now(), None, None, None)

    async def channel_by_id(self, chat_id: int, sender_chat_id: int) -> Member:
        """A channel a moderation command names by its id (one whose messages are gone: /unban -100…), by the title
        remembered when it posted or was moderated, else by the id."""
        info = await self.members.user(sender_chat_id) or UserInfo(sender_chat_id, str(sender_chat_id))
        return Member(chat_id, info, "member", None, None, self.clock.now(), None, None, None)

    async def remember_channel(self, sender_chat_id: int, title: str, username: str | None) -> UserInfo:
        """A moderated channel's name, kept with the names of people (users) so the audit log can say it."""
        info = UserInfo(sender_chat_id, title, username)
        await self.members.remember(info, self.clock.now())
        return info

    async def _from_telegram(self, chat_id: int, user_id: int, shown: str) -> Member:
        """Not seen yet: ask Telegram, which knows everyone in the group, and remember the answer."""
        found = await self.port.member(chat_id, user_id)
        if found is None:
            raise TargetError(reason="unknown_id", name=shown)
        user, status = found
        await self.members.record_status(chat_id, user, status, tg_role_from_status(status), self.clock.now())
        self._admin_changed(chat_id, user, tg_role_from_status(status))
        member = await self.members.get(chat_id, user_id)
        assert member is not None
        return member
