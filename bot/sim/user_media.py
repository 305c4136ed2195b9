"""Files and what people send besides text. getFile and the download link (20 MB at most, valid an hour) for any
file the bot received or sent. What people send: photos, videos, GIFs, files, voice, music, stickers, video notes, polls,
contacts, locations and venues, messages through an inline bot (games among them) and forwards — shaped as the
Bot API delivers them (api.json), and refused as a Telegram client refuses them when the chat's or the member's
permissions do not allow that kind (a restricted member, or a group that turned photos off)."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .errors import SimError, bad_request
from .html import auto_entities
from .media import photo_sizes, png
from .world import locked

if TYPE_CHECKING:
    from .core import FakeTelegram
    from .state import ChatState, Member, SimChat, SimUser

# Which ChatPermissions flag lets a member send each kind (ChatPermissions' descriptions in api.json): text, contacts,
# locations and venues are "messages"; animations, games, stickers and inline bots are "other messages".
PERMISSION_OF = {
    "text": "can_send_messages", "contact": "can_send_messages", "location": "can_send_messages",
    "venue": "can_send_messages", "photo": "can_send_photos", "video": "can_send_videos",
    "video_note": "can_send_video_notes", "audio": "can_send_audios", "voice": "can_send_voice_notes",
    "document": "can_send_documents", "poll": "can_send_polls", "sticker": "can_send_other_messages",
    "animation": "can_send_other_messages", "game": "can_send_other_messages",
}
KINDS = tuple(k for k in PERMISSION_OF if k != "text")
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile: "bots can download files of up to 20MB in size"
LINK_SECONDS = 3600  # "the link will be valid for at least 1 hour"
# Where Telegram's file paths put each kind (getFile's file_path).
_FOLDERS = {"photo": "photos", "document": "documents", "video": "videos", "animation": "animations", "audio": "music",
            "voice": "voice", "sticker": "stickers", "video_note": "video_notes"}
_NAMES = {"video": "video.mp4", "animation": "animation.mp4", "audio": "audio.mp3", "voice": "voice.oga",
          "sticker": "sticker.webp", "video_note": "video_note.mp4"}
_CAPTIONED = {"photo", "video", "animation", "audio", "voice", "document"}
_MIME = {"video": "video/mp4", "animation": "video/mp4", "audio": "audio/mpeg", "voice": "audio/ogg"}


def kind_of(data: dict[str, Any]) -> str:
    """The kind of a message's content, for the permission it needs (an animation carries `document` too)."""
    for kind in ("animation", "game", "venue", *KINDS):
        if kind in data:
            return kind
    return "text"


class UserMediaMixin:
    # ------------------------------------------------------------------ files

    def api_getFile(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        record = self._files.get(p["file_id"])
        if record is None:
            raise bad_request("invalid file_id")
        if record["size"] > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        api = record["api"]
        entry = next((s for s in api if s["file_id"] == p["file_id"]), api[-1]) if isinstance(api, list) else api
        name = record.get("filename") or ""
        extension = name[name.rfind("."):] if "." in name else (".jpg" if record["kind"] == "photo" else "")
        path = f"{_FOLDERS.get(record['kind'], 'documents')}/file_{len(self._file_paths)}{extension}"
        self._file_paths[path] = (record, self.clock.now().timestamp() + LINK_SECONDS)
        return {"file_id": p["file_id"], "file_unique_id": entry["file_unique_id"],
                "file_size": entry.get("file_size", record["size"]), "file_path": path}

    def download_file(self: FakeTelegram, token: str, path: str) -> tuple[int, bytes]:
        """GET https://api.telegram.org/file/bot<token>/<file_path>: the bytes, or 404 for a wrong token, an
        unknown path or an expired link."""
        with self._lock:
            found = self._file_paths.get(path) if token == self.token else None
            if found is None or found[1] < self.clock.now().timestamp():
                return 404, b'{"ok":false,"error_code":404,"description":"Not Found"}'
            return 200, found[0]["content"]

    # ------------------------------------------------------------------ what people send
    def _file_ids(self: FakeTelegram, prefix: str) -> dict[str, str]:
        return {"file_id": prefix + self._random_token(56), "file_unique_id": "AgAD" + self._random_token(12)}

    def _check_user_may_send(self: FakeTelegram, state: ChatState, user: SimUser, member: Member, kind: str,
                             via_bot: bool = False) -> None:
        """A client offers nothing the member may not send: admins may send anything; everyone else needs the
        chat's permission, and a restricted member their own as well. Inline bots are "other messages"."""
        self._check_user_may_write(state, user, member)
        if member.status in ("creator", "administrator"):
            return
        for permission in {PERMISSION_OF[kind], *(["can_send_other_messages"] if via_bot else [])}:
            allowed = bool(state.permissions.get(permission))
            if member.status == "restricted":
                allowed = allowed and bool((member.permissions or {}).get(permission))
            if not allowed:
                raise SimError(f"{user.display} may not send {kind.replace('_', ' ')}s in {state.title}"
                               + (" through an inline bot" if via_bot and PERMISSION_OF[kind] != permission else ""))

    def _media_content(self: FakeTelegram, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        """The content fields a message of this kind carries, as the Bot API sends them to bots. Every file in it is
        kept, as Telegram keeps every file a person sends: the bot may fetch it (getFile) by its file_id."""
        content = self._media_fields(kind, fields)
        media = content.get(kind)
        if kind in _NAMES and isinstance(media, dict):
            size = media.get("file_size", 12_345)
            self._files[media["file_id"]] = {"kind": kind, "size": size, "filename": media.get("file_name", _NAMES[kind]),
                                             "content": bytes(size) if size <= DOWNLOAD_LIMIT else b"", "api": media}
        return content

    def _media_fields(self: FakeTelegram, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        f = dict(fields)
        size = int(f.pop("file_size", 12_345))
        if kind == "photo":
            width, height = f.pop("width", 1280), f.pop("height", 960)
            sizes = [{**self._file_ids("AgACAgIAAxkBAAI"), "file_size": max(1, size * w * h // max(width * height, 1)),
                      "width": w, "height": h} for w, h in photo_sizes(width, height)]
            sizes[-1]["file_size"] = size
            # Kept like an upload: the bot may send it again by any of its file_ids, or fetch it (getFile).
            record = {"kind": "photo", "size": size, "filename": "photo.png", "content": png(width, height), "api": sizes}
            for entry in sizes:
                self._files[entry["file_id"]] = record
            return {"photo": sizes}
        if kind in ("video", "animation"):
            media = {**self._file_ids("BAACAgIAAxkBAAI" if kind == "video" else "CgACAgIAAxkBAAI"),
                     "width": f.pop("width", 640), "height": f.pop("height", 360), "duration": f.pop("duration", 5),
                     "mime_type": _MIME[kind], "file_size": size}
            if kind == "animation":
                media["file_name"] = f.pop("file_name", "animation.gif.mp4")
                # Message.animation: "for backward compatibility, when this field is set, the document field will
                # also be set" — with the same file.
                document = {k: media[k] for k in ("file_id", "file_unique_id", "file_name", "mime_type", "file_size")}
                return {"animation": media, "document": document}
            return {"video": media}
        if kind == "audio":
            audio = {**self._file_ids("CQACAgIAAxkBAAI"), "duration": f.pop("duration", 180), "mime_type": _MIME["audio"],
                     "file_size": size}
            for key in ("performer", "title", "file_name"):
                if key in f:
                    audio[key] = f.pop(key)
            return {"audio": audio}
        if kind == "voice":
            return {"voice": {**self._file_ids("AwACAgIAAxkBAAI"), "duration": f.pop("duration", 4),
                              "mime_type": _MIME["voice"], "file_size": size}}
        if kind == "document":
            content = f.pop("content", b"%PDF-1.4 a file")
            filename = f.pop("file_name", "file.pdf")
            document = {**self._file_ids("BQACAgIAAxkBAAI"), "file_name": filename,
                        "mime_type": f.pop("mime_type", "application/octet-stream"), "file_size": len(content)}
            # Kept, so the bot can fetch it (getFile) as it can any file sent to it.
            self._files[document["file_id"]] = {"kind": "document", "size": len(content), "filename": filename,
                                                "content": content, "api": document}
            return {"document": document}
        if kind == "sticker":
            return {"sticker": {**self._file_ids("CAACAgIAAxkBAAI"), "type": "regular", "width": 512, "height": 512,
                                "is_animated": False, "is_video": False, "emoji": f.pop("emoji", "😀"),
                                "set_name": f.pop("set_name", "HotCherry"), "file_size": size}}
        if kind == "video_note":
            return {"video_note": {**self._file_ids("DQACAgIAAxkBAAI"), "length": 240, "duration": f.pop("duration", 7),
                                   "file_size": size}}
        if kind == "poll":
            options = f.pop("options", ["yes", "no"])
            if not 2 <= len(options) <= 12:
                raise SimError("a poll has 2 to 12 options")
            return {"poll": {"id": self._random_digits(19), "question": f.pop("question", "Which one?"),
                             "options": [{"persistent_id": self._random_token(8), "text": o, "voter_count": 0}
                                         for o in options],
                             "total_voter_count": 0, "is_closed": False, "is_anonymous": f.pop("is_anonymous", True),
                             "type": "regular", "allows_multiple_answers": False, "allows_revoting": True,
                             "members_only": False}}
        if kind == "contact":
            contact = {"phone_number": f.pop("phone_number", "+15550100"), "first_name": f.pop("first_name", "Sam")}
            if "user_id" in f:
                contact["user_id"] = f.pop("user_id")
            return {"contact": contact}
        if kind == "location":
            return {"location": {"latitude": f.pop("latitude", 31.2304), "longitude": f.pop("longitude", 121.4737)}}
        if kind == "venue":
            location = {"latitude": f.pop("latitude", 31.2304), "longitude": f.pop("longitude", 121.4737)}
            # Message.venue: "for backward compatibility, when this field is set, the location field will also be set".
            return {"venue": {"location": location, "title": f.pop("title", "Tea house"), "address": f.pop("address", "1 Bund Rd")},
                    "location": dict(location)}
        if kind == "game":
            return {"game": {"title": f.pop("title", "Lumberjack"), "description": f.pop("description", "Chop!"),
                             "photo": [{**self._file_ids("AgACAgIAAxkBAAI"), "file_size": size, "width": 640, "height": 360}]}}
        raise SimError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")

    @locked
    def send_media(
        self: FakeTelegram,
        user: SimUser,
        kind: str,
        chat: SimChat | int,
        caption: str | None = None,
        *,
        via_bot: SimUser | None = None,
        reply_to: int | dict[str, Any] | None = None,
        as_chat: bool = False,
        caption_entities: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """`user` sends a `kind` message (photo, video, animation, audio, voice, document, sticker, video_note, poll,
        contact, location, venue, game) in a group, optionally with a caption and through an inline bot (`via_bot`;
        games only come that way). `fields` shape the content (width, duration, question, options, content=bytes
        for a document…); `caption_entities`: formatting the user gave the caption in their app (bold…). Returns
        the Message."""
        self._known_user(user)
        if kind not in KINDS:
            raise SimError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
        if kind == "game" and via_bot is None:
            raise SimError("people can't send games themselves: a game comes through an inline bot (via_bot)")
        if via_bot is not None and not via_bot.is_bot:
            raise SimError(f"{via_bot.display} is not a bot")
        if caption is not None and kind not in _CAPTIONED:
            raise SimError(f"a {kind} has no caption")
        if fields.keys() - {"width", "height", "duration", "file_size", "performer", "title", "file_name", "content",
                            "mime_type", "emoji", "set_name", "question", "options", "is_anonymous", "phone_number",
                            "first_name", "user_id", "latitude", "longitude", "address", "description"}:
            raise SimError(f"unknown fields for a {kind}: {sorted(fields)}")
        state = self._group(chat)
        member = self._present(state, user)
        self._check_user_may_send(state, user, member, kind, via_bot is not None)
        sender, sender_chat = user, None
        if as_chat:
            if member.status not in ("creator", "administrator") or not member.is_anonymous:
                raise SimError(f"{user.display} is not an anonymous administrator of {state.title}")
            sender, sender_chat = self.anonymous_admin, self._chat_api(state)
        content = self._media_content(kind, fields)
        if caption:
            if len(caption) > 1024:
                raise SimError("a caption is at most 1024 characters")
            content["caption"] = caption
            entities = sorted([*auto_entities(caption), *copy.deepcopy(caption_entities or [])],
                              key=lambda e: (e["offset"], -e["length"]))
            if entities:
                content["caption_entities"] = entities
        elif caption_entities:
            raise SimError("caption_entities without a caption")
        if via_bot is not None:
            content["via_bot"] = via_bot.to_api()
        reply = self._driver_reply_target(state, reply_to)
        msg = self._new_message(state, sender, content, sender_chat=sender_chat, reply_to=reply, author_id=user.id)
        self._deliver(state, msg, "message")
        return copy.deepcopy(msg.data)

    @locked
    def edit_caption(self: FakeTelegram, user: SimUser, message: dict[str, Any], caption: str) -> dict[str, Any]:
        """`user` edits the caption of their own photo, video, GIF, file, voice or music message (an
        edited_message update, as for a text edit)."""
        state, msg = self._driver_message(message)
        if msg.service or msg.sender_id != user.id or msg.data.get("from", {}).get("id") == self.bot.id:
            raise SimError(f"{user.display} can only edit their own messages")
        if kind_of(msg.data) not in _CAPTIONED or "forward_origin" in msg.data:
            raise SimError("only the caption of one's own photo, video, GIF, file, voice or music message can be edited")
        if msg.data.get("caption", "") == caption:
            raise SimError("Telegram clients do not send an edit that changes nothing")
        if len(caption) > 1024:
            raise SimError("a caption is at most 1024 characters")
        self._mark_edited(msg, {"caption": caption, "caption_entities": auto_entities(caption)})
        self._deliver(state, msg, "edited_message")
        return copy.deepcopy(msg.data)

    @locked
    def forward(self: FakeTelegram, user: SimUser, message: dict[str, Any], chat: SimChat | int) -> dict[str, Any]:
        """`user` forwards a message they can see into a group: the copy carries `forward_origin` (who wrote it and
        when) and the original's content. Protected content can't be forwarded; the group's permissions for that
        kind of content apply."""
        source, msg = self._driver_message(message)
        if msg.service or msg.deleted:
            raise SimError("that message can't be forwarded")
        self._check_can_see(source, user)
        if msg.data.get("has_protected_content"):
            raise SimError("the message has protected content and can't be forwarded")
        state = self._group(chat)
        member = self._present(state, user)
        data = msg.data
        self._check_user_may_send(state, user, member, kind_of(data))
        origin = data.get("forward_origin")
        if origin is None:
            if source.type == "channel":
                origin = {"type": "channel", "date": data["date"], "chat": data["chat"], "message_id": data["message_id"]}
            elif "sender_chat" in data:
                origin = {"type": "chat", "date": data["date"], "sender_chat": data["sender_chat"]}
            else:
                origin = {"type": "user", "date": data["date"], "sender_user": data["from"]}
        skip = {"message_id", "from", "sender_chat", "date", "chat", "reply_to_message", "reply_markup", "edit_date",
                "forward_origin", "is_automatic_forward", "message_thread_id", "is_topic_message", "author_signature",
                "quote", "via_bot"}
        content = {k: copy.deepcopy(v) for k, v in data.items() if k not in skip}
        content["forward_origin"] = copy.deepcopy(origin)
        forwarded = self._new_message(state, user, content, author_id=user.id)
        self._deliver(state, forwarded, "message")
        return copy.deepcopy(forwarded.data)
