"""Methods about chats and their members: getChat*, restrict/ban/unban/promote, chat permissions, invite
links and join requests, leaveChat - each with the rights checks and the chat_member updates Telegram makes."""
from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .errors import NO_RESTRICT_RIGHTS, PARTICIPANT_ID_INVALID, TARGET_IS_ADMIN, TARGET_IS_OWNER, USER_NOT_FOUND, bad_request
from .state import ADMIN_RIGHTS, PERMISSIONS, ChatState, InviteLink, Member, SimUser

if TYPE_CHECKING:
    from .core import FakeTelegram

_MEDIA = ("can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
          "can_send_video_notes", "can_send_voice_notes")
FOREVER_BELOW = 30  # seconds: "less than 30 seconds from the current time ... restricted forever"
FOREVER_ABOVE = 366 * 24 * 3600
LINK_PREFIX = "https://t.me/+"


class MemberMethods:
    # ------------------------------------------------------------------ reading

    def api_getChat(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        state = self._resolve_chat(p["chat_id"])
        self._access(state, write=False)
        info: dict[str, Any] = {
            **self._chat_api(state),
            "accent_color_id": abs(state.id) % 7,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                k: not state.is_group
                for k in ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
                          "gifts_from_channels")
            },
        }
        if state.linked_chat_id is not None:
            info["linked_chat_id"] = state.linked_chat_id
        if state.is_group:
            info["permissions"] = dict(state.permissions)
            info["has_visible_history"] = True
            if state.join_by_request:
                info["join_by_request"] = True
            if state.description:
                info["description"] = state.description
            primary = self._bot_primary_link(state)
            if primary is not None:
                info["invite_link"] = primary.url
            if state.pinned:
                pinned = state.messages[state.pinned[-1]].data
                info["pinned_message"] = {k: copy.deepcopy(v) for k, v in pinned.items() if k != "reply_to_message"}
        return info

    def api_getChatAdministrators(self: FakeTelegram, p: dict[str, Any]) -> list[dict[str, Any]]:
        state = self._resolve_chat(p["chat_id"])
        self._access(state, write=False)
        if not state.is_group:
            raise bad_request("there are no administrators in the private chat")
        admins = []
        for user_id in list(state.members):
            member = self._member(state, user_id)
            if member.status not in ("creator", "administrator"):
                continue
            user = self._users[user_id]
            if user.is_bot and user_id != self.bot.id and not p.get("return_bots"):
                continue
            admins.append(self._member_api(state, member))
        return admins

    def api_getChatMember(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        state = self._resolve_chat(p["chat_id"])
        self._access(state, write=False)
        user = self._target_user(p["user_id"])
        if not state.is_group and state.type != "channel":  # a channel's members are looked up as a group's
            if user.id == self.bot.id:
                return self._private_member_api(state)
            if user.id != state.id:
                raise bad_request(USER_NOT_FOUND)
            return {"status": "member", "user": user.to_api()}
        return self._member_api(state, self._member(state, user.id))

    def api_getChatMemberCount(self: FakeTelegram, p: dict[str, Any]) -> int:
        state = self._resolve_chat(p["chat_id"])
        self._access(state, write=False)
        if not state.is_group:
            return 2
        return sum(1 for user_id in list(state.members) if self._member(state, user_id).present)

    # ------------------------------------------------------------------ restricting

    def _check_can_restrict(self: FakeTelegram, state: ChatState, user: SimUser) -> Member:
        """Rights and target checks shared by restrict, ban and unban; returns the target's member record."""
        if not self._bot_has_right(state, "can_restrict_members"):
            raise bad_request(NO_RESTRICT_RIGHTS)
        if user.id == self.bot.id:
            raise bad_request("can't restrict self")
        target = self._member(state, user.id)
        if target.status == "creator":
            raise bad_request(TARGET_IS_OWNER)
        if target.status == "administrator" and target.promoted_by != self.bot.id:
            raise bad_request(TARGET_IS_ADMIN)
        return target

    def _until(self: FakeTelegram, until_date: int) -> int:
        """Telegram's rule: under 30 seconds or over 366 days from now (or in the past) means forever (0)."""
        remaining = until_date - self._now()
        if until_date <= 0 or remaining < FOREVER_BELOW or remaining > FOREVER_ABOVE:
            return 0
        return until_date

    def _until_text(self: FakeTelegram, until_date: int) -> str:
        if not until_date:
            return " (forever)"
        when = datetime.fromtimestamp(until_date, tz=timezone.utc)
        same_day = when.date() == self.clock.now().astimezone(timezone.utc).date()
        return f" (until {when:%H:%M})" if same_day else f" (until {when:%Y-%m-%d %H:%M})"

    def _permissions_from(self: FakeTelegram, given: dict[str, Any], independent: bool) -> dict[str, bool]:
        """ChatPermissions as the Bot API server reads them: omitted means False, and unless independent
        permissions are asked for, some permissions imply others."""
        perms = {name: bool(given.get(name, False)) for name in PERMISSIONS}
        if not any(name in given for name in _MEDIA) and "can_send_media_messages" in given:
            for name in _MEDIA:  # the pre-6.5 single media permission
                perms[name] = bool(given["can_send_media_messages"])
            if perms["can_send_audios"] and not independent:
                perms["can_send_messages"] = True
        if not independent:
            if perms["can_send_other_messages"] or perms["can_add_web_page_previews"]:
                for name in _MEDIA:
                    perms[name] = True
                perms["can_send_messages"] = True
            if perms["can_send_polls"]:
                perms["can_send_messages"] = True
        if "can_manage_topics" not in given:
            perms["can_manage_topics"] = perms["can_pin_messages"]
        if "can_react_to_messages" not in given:
            perms["can_react_to_messages"] = perms["can_send_messages"]
        if "can_edit_tag" not in given:
            perms["can_edit_tag"] = perms["can_pin_messages"]
        return perms

    def api_restrictChatMember(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state = self._group_for(p, supergroup_only=True)
        user = self._target_user(p["user_id"])
        target = self._check_can_restrict(state, user)
        perms = self._permissions_from(p["permissions"], bool(p.get("use_independent_chat_permissions")))
        until = self._until(p.get("until_date", 0))
        is_member = target.present
        if is_member and all(perms.values()):
            # Every permission granted: tdlib turns the restriction back into plain membership.
            new = Member(user.id, "member")
            self._change_member(state, user, new, actor=self.bot)
            self._event(state, f"{self.bot.display} lifted the restrictions on {user.display}")
            return True
        new = Member(user.id, "restricted", until_date=until, is_member=is_member, permissions=perms)
        self._change_member(state, user, new, actor=self.bot)
        self._event(state, f"{self.bot.display} restricted {user.display}{self._until_text(until)}")
        return True

    def api_banChatMember(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state = self._group_for(p)
        user = self._target_user(p["user_id"])
        target = self._check_can_restrict(state, user)
        # Basic groups have no temporary bans.
        until = self._until(p.get("until_date", 0)) if state.type == "supergroup" else 0
        was_present = target.present
        self._change_member(state, user, Member(user.id, "kicked", until_date=until), actor=self.bot)
        if p.get("revoke_messages") or state.type == "group":
            for msg in state.messages.values():
                if msg.sender_id == user.id and not msg.deleted:
                    self._delete(state, msg)
        event = f"{self.bot.display} banned {user.display}{self._until_text(until)}"
        if was_present:
            self._service_message(state, self.bot, {"left_chat_member": user.to_api()}, event)
        else:
            self._event(state, event)
        return True

    def api_unbanChatMember(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state = self._chat_for(p)
        if state.type != "supergroup":
            raise bad_request("method is available for supergroup and channel chats only")
        user = self._target_user(p["user_id"])
        target = self._member(state, user.id)
        if p.get("only_if_banned") and target.status != "kicked":
            return True
        self._check_can_restrict(state, user)
        if target.status == "left":
            return True
        # Without only_if_banned Telegram removes a present member from the chat: a classic trap.
        self._change_member(state, user, Member(user.id, "left"), actor=self.bot)
        if target.present:
            self._service_message(state, self.bot, {"left_chat_member": user.to_api()},
                                  f"{self.bot.display} removed {user.display} (unban of a member)")
        else:
            self._event(state, f"{self.bot.display} unbanned {user.display}")
        return True

    def _sender_chat_for(self: FakeTelegram, p: dict[str, Any]) -> tuple[ChatState, ChatState]:
        """The chat and the sender chat of ban/unbanChatSenderChat, refused in tdlib's order: the sender chat must be
        one the bot can know, a channel-like chat (a channel or a supergroup) and not the chat itself."""
        state = self._chat_for(p)
        if state.type == "private":
            raise bad_request("chat member status can't be changed in private chats")
        sender = self._chats.get(p["sender_chat_id"])
        if sender is None or sender.migrated_to is not None:
            raise bad_request("chat not found")
        return state, sender

    def _sender_chat_restrictable(self: FakeTelegram, state, sender) -> None:
        """What ban and unban of a sender chat both refuse in a supergroup: a basic group as the sender, the group
        itself, and a bot without the right to restrict members."""
        if sender.type == "group":
            raise bad_request("can't restrict the chat")
        if sender.id == state.id:
            raise bad_request(PARTICIPANT_ID_INVALID)
        if not self._bot_has_right(state, "can_restrict_members"):
            raise bad_request(NO_RESTRICT_RIGHTS)

    def api_banChatSenderChat(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state, sender = self._sender_chat_for(p)
        if sender.type == "private":  # a private chat's id is its user's: tdlib bans the user
            return self.api_banChatMember({"chat_id": p["chat_id"], "user_id": sender.id})
        if state.type == "group":
            raise bad_request("chats can't be members of basic groups")
        self._sender_chat_restrictable(state, sender)
        state.banned_senders.add(sender.id)
        self._event(state, f"{self.bot.display} banned the channel {sender.title}: nobody may write on behalf of it")
        return True

    def api_unbanChatSenderChat(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state, sender = self._sender_chat_for(p)
        if sender.type == "private":
            return self.api_unbanChatMember({"chat_id": p["chat_id"], "user_id": sender.id})
        if state.type == "group":
            return True  # tdlib: "left" is what every chat already is in a basic group
        self._sender_chat_restrictable(state, sender)
        if sender.id in state.banned_senders:
            state.banned_senders.discard(sender.id)
            self._event(state, f"{self.bot.display} unbanned the channel {sender.title}")
        return True

    def api_setChatPermissions(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state = self._group_for(p)
        if not self._bot_has_right(state, "can_restrict_members"):
            raise bad_request("not enough rights to change chat permissions")
        perms = self._permissions_from(p["permissions"], bool(p.get("use_independent_chat_permissions")))
        if perms == state.permissions:
            raise bad_request("CHAT_NOT_MODIFIED")
        state.permissions = perms
        self._event(state, f"{self.bot.display} changed what members may do")
        return True

    # ------------------------------------------------------------------ promoting

    def api_promoteChatMember(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state = self._chat_for(p)
        if state.type != "supergroup":
            raise bad_request("method is available for supergroup and channel chats only")
        user = self._target_user(p["user_id"])
        if user.id == self.bot.id:
            raise bad_request("can't promote self")
        bot = self._bot_member(state)
        bot_rights = bot.rights or {}
        if bot.status != "creator" and not (bot.status == "administrator" and bot_rights.get("can_promote_members")):
            raise bad_request("not enough rights")
        target = self._member(state, user.id)
        if target.status == "creator":
            raise bad_request("can't demote chat creator")
        if target.status == "administrator" and target.promoted_by != self.bot.id:
            raise bad_request("CHAT_ADMIN_REQUIRED")
        if target.status == "kicked":
            raise bad_request("USER_KICKED")
        if not target.present:
            raise bad_request("USER_NOT_MUTUAL_CONTACT")
        rights = {right: bool(p.get(right, False)) for right in ADMIN_RIGHTS}
        if "can_manage_tags" not in p:
            rights["can_manage_tags"] = rights["can_pin_messages"]
        if any(rights.values()):
            rights["can_manage_chat"] = True  # implied by any other administrator privilege
        is_anonymous = bool(p.get("is_anonymous"))
        if bot.status != "creator":
            beyond = [r for r, on in rights.items() if on and not bot_rights.get(r)]
            if beyond:
                raise bad_request("RIGHT_FORBIDDEN")
        if not any(rights.values()) and not is_anonymous:
            if target.status != "administrator":
                return True
            self._change_member(state, user, Member(user.id, "member"), actor=self.bot)
            self._event(state, f"{self.bot.display} demoted {user.display}")
            return True
        new = Member(user.id, "administrator", rights=rights, is_anonymous=is_anonymous,
                     custom_title=target.custom_title, promoted_by=self.bot.id)
        self._change_member(state, user, new, actor=self.bot)
        self._event(state, f"{self.bot.display} promoted {user.display}")
        return True

    def api_setChatAdministratorCustomTitle(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state = self._chat_for(p)
        if state.type != "supergroup":
            raise bad_request("method is available only for supergroups")
        user = self._target_user(p["user_id"])
        target = self._member(state, user.id)
        if target.status == "creator":
            raise bad_request("only creator can edit their custom title")
        if target.status != "administrator":
            raise bad_request("user is not an administrator")
        if target.promoted_by != self.bot.id:
            raise bad_request("not enough rights to change custom title of the user")
        title = p["custom_title"]
        if len(title) > 16:
            raise bad_request("ADMIN_RANK_INVALID")
        if any(ord(c) > 0xFFFF or 0x2600 <= ord(c) <= 0x27BF for c in title):
            raise bad_request("ADMIN_RANK_EMOJI_NOT_ALLOWED")
        new = copy.deepcopy(target)
        new.custom_title = title or None
        self._change_member(state, user, new, actor=self.bot)
        return True

    # ------------------------------------------------------------------ invite links

    def _bot_primary_link(self: FakeTelegram, state: ChatState) -> InviteLink | None:
        return next((link for link in state.links.values()
                     if link.is_primary and not link.is_revoked and link.creator_id == self.bot.id), None)

    def _new_link_url(self: FakeTelegram) -> str:
        return LINK_PREFIX + self._random_token(16)

    def _link_settings(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        name = p.get("name")
        if name is not None and len(name) > 32:
            raise bad_request("invite link name is too long")
        expire_date = p.get("expire_date") or None
        if expire_date is not None and expire_date <= self._now():
            raise bad_request("EXPIRE_DATE_INVALID")
        member_limit = p.get("member_limit") or None
        if member_limit is not None and not 1 <= member_limit <= 99999:
            raise bad_request("USAGE_LIMIT_INVALID")
        creates = bool(p.get("creates_join_request"))
        if creates and member_limit is not None:
            raise bad_request("member limit can't be specified for links requiring administrator approval")
        return {"name": name, "expire_date": expire_date, "member_limit": member_limit, "creates_join_request": creates}

    def _manageable_link(self: FakeTelegram, state: ChatState, url: str) -> InviteLink:
        link = state.links.get(url)
        if link is None:
            raise bad_request("INVITE_HASH_INVALID")
        if link.creator_id != self.bot.id:
            raise bad_request("CHAT_ADMIN_REQUIRED")  # bots manage only the links they created
        return link

    def _check_invite_right(self: FakeTelegram, state: ChatState) -> None:
        if not self._bot_has_right(state, "can_invite_users"):
            raise bad_request("not enough rights to manage chat invite link")

    def api_createChatInviteLink(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        state = self._group_for(p)
        self._check_invite_right(state)
        link = InviteLink(url=self._new_link_url(), creator_id=self.bot.id, **self._link_settings(p))
        state.links[link.url] = link
        return self._link_api(link)

    def api_editChatInviteLink(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        state = self._group_for(p)
        self._check_invite_right(state)
        link = self._manageable_link(state, p["invite_link"])
        if link.is_primary:
            raise bad_request("can't edit primary invite link")
        if link.is_revoked:
            raise bad_request("INVITE_HASH_EXPIRED")
        # Like tdlib's editChatInviteLink, every setting is replaced: what is omitted is cleared.
        for key, value in self._link_settings(p).items():
            setattr(link, key, value)
        return self._link_api(link)

    def api_revokeChatInviteLink(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        state = self._group_for(p)
        self._check_invite_right(state)
        link = self._manageable_link(state, p["invite_link"])
        if not link.is_revoked:
            link.is_revoked = True
            if link.is_primary:  # revoking the primary link makes a new one
                replacement = InviteLink(url=self._new_link_url(), creator_id=self.bot.id, is_primary=True)
                state.links[replacement.url] = replacement
        return self._link_api(link)

    def api_exportChatInviteLink(self: FakeTelegram, p: dict[str, Any]) -> str:
        state = self._group_for(p)
        self._check_invite_right(state)
        old = self._bot_primary_link(state)
        if old is not None:
            old.is_revoked = True
        link = InviteLink(url=self._new_link_url(), creator_id=self.bot.id, is_primary=True)
        state.links[link.url] = link
        return link.url

    # ------------------------------------------------------------------ join requests

    def _take_request(self: FakeTelegram, p: dict[str, Any]) -> tuple[ChatState, SimUser, InviteLink | None]:
        state = self._group_for(p)
        user = self._target_user(p["user_id"])
        if not self._bot_has_right(state, "can_invite_users"):
            raise bad_request("CHAT_ADMIN_REQUIRED")
        request = state.requests.pop(user.id, None)
        if request is None:
            raise bad_request("HIDE_REQUESTER_MISSING")
        link = state.links.get(request.link_url) if request.link_url else None
        if link is not None:
            link.pending.discard(user.id)
        return state, user, link

    def api_approveChatJoinRequest(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state, user, link = self._take_request(p)
        self._event(state, f"{self.bot.display} approved {user.display}'s request to join")
        self._admit(state, user, link, actor=self.bot, via_request=True)
        return True

    def api_declineChatJoinRequest(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state, user, _ = self._take_request(p)
        self._event(state, f"{self.bot.display} declined {user.display}'s request to join")
        return True

    # ------------------------------------------------------------------ leaving

    def api_leaveChat(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state = self._resolve_chat(p["chat_id"])
        if not state.is_group:
            raise bad_request("chat member status can't be changed in private chats")
        self._access(state, write=False)
        self._change_member(state, self.bot, Member(self.bot.id, "left"), actor=self.bot)
        self._service_message(state, self.bot, {"left_chat_member": self.bot.to_api()},
                              f"{self.bot.display} left the group")
        return True
