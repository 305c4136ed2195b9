"""Methods about messages: sending (text, photo, document, poll, forward), editing, deleting, pinning and
answering callback queries - with Telegram's limits and refusals."""
from __future__ import annotations

import copy
import mimetypes
from typing import TYPE_CHECKING, Any

from .errors import ApiError, bad_request, unsupported
from .html import EntityParseError, finish_entities, parse_html, trim, utf16_len, with_auto_entities
from .media import image_size, photo_sizes
from .spec import UploadedFile
from .state import ChatState, Msg, PollRecord

if TYPE_CHECKING:
    from .core import FakeTelegram

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
DELETE_WINDOW = 48 * 3600
CALLBACK_ANSWER_LIMIT = 200
CALLBACK_QUERY_TTL = 15 * 60  # after that Telegram no longer accepts an answer
UPLOAD_LIMIT = 50 * 1024 * 1024
MAX_POLL_PERIOD = 2628000  # seconds: the longest open_period, and how far ahead a close_date may be
PHOTO_LIMIT = 10 * 1024 * 1024
NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message")
# The order in which the Bot API server looks for a button's action (the first one present wins).
_BUTTON_ACTIONS = ("url", "callback_data", "callback_game", "pay", "switch_inline_query",
                   "switch_inline_query_chosen_chat", "switch_inline_query_current_chat",
                   "login_url", "web_app", "copy_text")
_ENTITY_TYPES = {"mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number", "bold", "italic",
                 "underline", "strikethrough", "spoiler", "blockquote", "expandable_blockquote", "code", "pre",
                 "text_link", "text_mention", "custom_emoji", "date_time"}
_CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
                 "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note"}


class MessageMethods:
    # ------------------------------------------------------------------ building blocks

    def _formatted(
        self: FakeTelegram,
        text: str,
        parse_mode: str | None,
        entities: list[dict[str, Any]] | None,
        *,
        limit: int,
        too_long: str,
    ) -> tuple[str, list[dict[str, Any]]]:
        """Parse entities, trim as Telegram does, and enforce the length limit (counted after parsing)."""
        if parse_mode is not None and parse_mode.lower() != "none":
            mode = parse_mode.lower()
            if mode == "html":
                try:
                    text, parsed = parse_html(text, self._user_api)
                except EntityParseError as exc:
                    raise bad_request(f"can't parse entities: {exc}") from None
                parsed = finish_entities(parsed)
            elif mode in ("markdown", "markdownv2"):
                raise unsupported(f"parse_mode {parse_mode} is")
            else:
                raise bad_request("unsupported parse_mode")
        else:
            parsed = self._explicit_entities(entities or [])
        text, parsed = trim(text, parsed)
        if len(text) > limit:
            raise bad_request(too_long)
        return text, with_auto_entities(text, parsed)

    def _explicit_entities(self: FakeTelegram, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Entities passed as JSON: unknown types are skipped, as the Bot API server skips them."""
        kept = []
        for entity in entities:
            kind = entity["type"]
            if kind not in _ENTITY_TYPES:
                continue
            if kind == "text_link" and not entity.get("url"):
                raise bad_request('can\'t parse MessageEntity: Can\'t find field "url"')
            if kind == "text_mention":
                user = self._user_api(int((entity.get("user") or {}).get("id", 0)))
                if user is None:
                    raise bad_request("can't parse MessageEntity: USER_ID_INVALID")
                entity = {**entity, "user": user}
            if kind == "custom_emoji" and not entity.get("custom_emoji_id"):
                raise bad_request('can\'t parse MessageEntity: Can\'t find field "custom_emoji_id"')
            kept.append(dict(entity))
        return sorted(kept, key=lambda e: (e["offset"], -e["length"]))

    def _inline_markup(self: FakeTelegram, markup: dict[str, Any] | None, state: ChatState) -> dict[str, Any] | None:
        """The inline keyboard as the message will carry it; other keyboards are accepted but not stored
        (Message.reply_markup only ever holds an inline keyboard)."""
        if not markup or "inline_keyboard" not in markup:
            return None
        rows = []
        for row in markup["inline_keyboard"]:
            new_row = []
            for button in row:
                action = next((k for k in _BUTTON_ACTIONS
                               if button.get(k) is not None and button.get(k) != ""), None)
                if action is None:
                    raise bad_request("can't parse inline keyboard button: "
                                      "Text buttons are unallowed in the inline keyboard")
                if action == "callback_data" and len(button["callback_data"].encode("utf-8")) > 64:
                    raise bad_request("BUTTON_DATA_INVALID")
                if action == "url" and not button["url"].lower().startswith(("http://", "https://", "tg://")):
                    raise bad_request("BUTTON_URL_INVALID")
                if action == "web_app" and state.type != "private":
                    raise bad_request("BUTTON_TYPE_INVALID")
                if action in ("callback_game", "pay"):
                    raise bad_request("BUTTON_TYPE_INVALID")  # only for games and invoices
                if action == "login_url":
                    raise unsupported("login URL buttons are")
                kept = {"text": button["text"], action: button[action]}
                for extra in ("style", "icon_custom_emoji_id"):
                    if button.get(extra) is not None:
                        kept[extra] = button[extra]
                new_row.append(kept)
            if new_row:
                rows.append(new_row)
        return {"inline_keyboard": rows} if rows else None

    def _reply_for(self: FakeTelegram, state: ChatState, p: dict[str, Any]) -> tuple[Msg | None, dict[str, Any] | None]:
        rp = p.get("reply_parameters")
        if not rp:
            return None, None
        if "chat_id" in rp and self._resolve_chat(rp["chat_id"]) is not state:
            raise unsupported("replies to messages in other chats are")
        target = state.messages.get(rp["message_id"])
        if target is None or target.deleted:
            if rp.get("allow_sending_without_reply"):
                return None, None
            raise bad_request("message to be replied not found")
        quote = None
        if rp.get("quote"):
            source = target.data.get("text") or target.data.get("caption") or ""
            position = source.find(rp["quote"])
            if position < 0:
                raise bad_request("QUOTE_TEXT_INVALID")
            quote = {"text": rp["quote"], "position": utf16_len(source[:position]), "is_manual": True}
        return target, quote

    def _check_bot_may_send(self: FakeTelegram, state: ChatState, permission: str, what: str) -> None:
        if state.type == "channel":
            bot = self._bot_member(state)
            if bot.status != "administrator" or not (bot.rights or {}).get("can_post_messages"):
                raise bad_request("need administrator rights in the channel chat")
            return
        if not state.is_group:
            return
        bot = self._bot_member(state)
        if bot.status in ("creator", "administrator"):
            return
        allowed = bool(state.permissions.get(permission))
        if bot.status == "restricted":
            allowed = allowed and bool((bot.permissions or {}).get(permission))
        if not allowed:
            raise bad_request(f"not enough rights to send {what} to the chat")

    def _send(
        self: FakeTelegram, state: ChatState, p: dict[str, Any], content: dict[str, Any], permission: str, what: str
    ) -> dict[str, Any]:
        self._reject_unmodelled(p)
        markup = self._inline_markup(p.get("reply_markup"), state)
        reply, quote = self._reply_for(state, p)
        thread = self._thread_for(state, p, reply)
        self._check_bot_may_send(state, permission, what)
        reply = self._in_topic(state, thread, content, reply)
        if quote:
            content["quote"] = quote
        if p.get("protect_content"):
            content["has_protected_content"] = True
        if markup:
            content["reply_markup"] = markup
        msg = self._new_message(state, self.bot, content, reply_to=reply)
        return copy.deepcopy(msg.data)

    def _caption(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        if "caption" not in p:
            return {}
        caption, entities = self._formatted(
            p["caption"], p.get("parse_mode"), p.get("caption_entities"),
            limit=CAPTION_LIMIT, too_long="message caption is too long",
        )
        content: dict[str, Any] = {}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content

    def _stored_file(self: FakeTelegram, value: UploadedFile | str, kind: str) -> dict[str, Any]:
        """Register an upload (or find a file_id sent before) the way Telegram stores files."""
        if isinstance(value, str):
            if value.lower().startswith(("http://", "https://")):
                raise unsupported("sending files by URL is")
            record = self._files.get(value)
            if record is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            if record["kind"] != kind:
                raise bad_request(f"can't use file of type {record['kind'].title()} as {kind.title()}")
            return record
        if value.size == 0:
            raise bad_request("file must be non-empty")
        if value.size > UPLOAD_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        # The bytes are kept: whoever receives the message can download the file (sim.download).
        record: dict[str, Any] = {"kind": kind, "size": value.size, "filename": value.filename, "content": value.content}
        if kind == "photo":
            dimensions = image_size(value.content)
            if dimensions is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            if value.size > PHOTO_LIMIT:
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
            width, height = dimensions
            sizes = []
            for w, h in photo_sizes(width, height):
                share = (w * h) / max(width * height, 1)
                sizes.append({
                    "file_id": "AgACAgIAAxkBAAI" + self._random_token(56),
                    "file_unique_id": "AQAD" + self._random_token(12),
                    "file_size": max(1, int(value.size * share)),
                    "width": w,
                    "height": h,
                })
            sizes[-1]["file_size"] = value.size
            record["api"] = sizes
            for size in sizes:
                self._files[size["file_id"]] = record
        else:
            mime = value.mime_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(value.filename)[0] or "application/octet-stream"
            document = {
                "file_id": "BQACAgIAAxkBAAI" + self._random_token(56),
                "file_unique_id": "AgAD" + self._random_token(12),
                "file_name": value.filename,
                "mime_type": mime,
                "file_size": value.size,
            }
            record["api"] = document
            self._files[document["file_id"]] = record
        return record

    # ------------------------------------------------------------------ sending

    def api_sendMessage(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        # The real server parses the text before it even looks at the chat.
        text, entities = self._formatted(p["text"], p.get("parse_mode"), p.get("entities"),
                                         limit=MESSAGE_LIMIT, too_long="message is too long")
        if not text:
            raise bad_request("message must be non-empty")
        state = self._chat_for(p)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        if p.get("link_preview_options"):
            content["link_preview_options"] = p["link_preview_options"]
        return self._send(state, p, content, "can_send_messages", "text messages")

    def api_sendPhoto(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        state = self._chat_for(p)
        record = self._stored_file(p["photo"], "photo")
        content: dict[str, Any] = {"photo": copy.deepcopy(record["api"]), **self._caption(p)}
        if p.get("has_spoiler"):
            content["has_media_spoiler"] = True
        if p.get("show_caption_above_media"):
            content["show_caption_above_media"] = True
        return self._send(state, p, content, "can_send_photos", "photos")

    def api_sendDocument(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        state = self._chat_for(p)
        if "thumbnail" in p:
            raise unsupported("document thumbnails are")
        record = self._stored_file(p["document"], "document")
        content = {"document": copy.deepcopy(record["api"]), **self._caption(p)}
        return self._send(state, p, content, "can_send_documents", "documents")

    def api_sendChatAction(self: FakeTelegram, p: dict[str, Any]) -> bool:
        self._reject_unmodelled(p)
        if p["action"] not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._thread_for(self._chat_for(p), p, None)
        return True

    def api_sendPoll(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        state = self._chat_for(p)
        if any(k in p for k in ("media", "explanation_media")) or any("media" in o for o in p["options"]):
            raise unsupported("poll media is")
        question, question_entities = self._formatted(
            p["question"], p.get("question_parse_mode"), p.get("question_entities"),
            limit=300, too_long="poll question length must not exceed 300")
        if not question:
            raise bad_request("poll question must be non-empty")
        if not p["options"]:  # api.json: "a JSON-serialized list of 1-12 answer options"
            raise bad_request("poll must have at least 1 option")
        if len(p["options"]) > 12:
            raise bad_request("poll can't have more than 12 options")
        options = []
        for option in p["options"]:
            text, entities = self._formatted(option["text"], option.get("text_parse_mode"),
                                             option.get("text_entities"), limit=100,
                                             too_long="poll options length must not exceed 100")
            if not text:
                raise bad_request("poll options must be non-empty")
            entry: dict[str, Any] = {"persistent_id": self._random_token(8), "text": text, "voter_count": 0}
            if entities:
                entry["text_entities"] = entities
            options.append(entry)
        kind = p.get("type", "regular")
        if kind not in ("regular", "quiz"):
            raise bad_request("poll type is invalid")
        anonymous = p.get("is_anonymous", True)
        if p.get("allow_adding_options") and (anonymous or kind == "quiz"):
            raise bad_request("adding options is not supported for anonymous polls and quizzes")
        closes_at = self._poll_closes_at(p)
        poll: dict[str, Any] = {
            "id": self._random_digits(19),
            "question": question,
            "options": options,
            "total_voter_count": 0,
            "is_closed": bool(p.get("is_closed")),
            "is_anonymous": anonymous,
            "type": kind,
            "allows_multiple_answers": bool(p.get("allows_multiple_answers")),
            "allows_revoting": p.get("allows_revoting", kind == "regular"),
            "members_only": bool(p.get("members_only")),
        }
        if question_entities:
            poll["question_entities"] = question_entities
        if kind == "quiz":
            correct = p.get("correct_option_ids")
            # "monotonically increasing 0-based identifiers", each naming an option
            if (not correct or any(not 0 <= i < len(options) for i in correct)
                    or any(a >= b for a, b in zip(correct, correct[1:]))):
                raise bad_request("wrong correct option ids specified for the quiz")
            poll["correct_option_ids"] = list(correct)
            if "explanation" in p:
                explanation, explanation_entities = self._formatted(
                    p["explanation"], p.get("explanation_parse_mode"), p.get("explanation_entities"),
                    limit=200, too_long="explanation is too long")
                poll["explanation"] = explanation
                if explanation_entities:
                    poll["explanation_entities"] = explanation_entities
        for field in ("open_period", "close_date"):
            if field in p:
                poll[field] = p[field]
        message = self._send(state, p, {"poll": poll}, "can_send_polls", "polls")
        self._polls[poll["id"]] = PollRecord(
            id=poll["id"], chat_id=state.id, message_id=message["message_id"],
            is_anonymous=poll["is_anonymous"], allows_multiple_answers=poll["allows_multiple_answers"],
            closes_at=None if poll["is_closed"] else closes_at,
        )
        return message

    def _poll_closes_at(self: FakeTelegram, p: dict[str, Any]) -> int | None:
        """open_period (seconds after sending) or close_date (a unix time), 5-2628000 s ahead; not both."""
        if "open_period" in p and "close_date" in p:
            raise bad_request("open_period and close_date can't be used together")
        now = self._now()
        if "open_period" in p:
            if not 5 <= p["open_period"] <= MAX_POLL_PERIOD:
                raise bad_request("poll open period is invalid")
            return now + p["open_period"]
        if "close_date" in p:
            if not 5 <= p["close_date"] - now <= MAX_POLL_PERIOD:
                raise bad_request("poll close date is invalid")
            return p["close_date"]
        return None

    def _close_due_polls(self: FakeTelegram) -> None:
        """Telegram closes a poll with an open_period or close_date by itself when its time is up, and tells the bot
        that sent it (a poll update). Done lazily, whenever anyone next touches the simulator."""
        now = self._now()
        for record in self._polls.values():
            if record.closes_at is None or record.closes_at > now:
                continue
            record.closes_at = None
            state = self._chats[record.chat_id]
            msg = state.messages.get(record.message_id)
            if msg is None or msg.deleted or msg.data["poll"]["is_closed"]:
                continue
            poll = msg.data["poll"]
            poll["is_closed"] = True
            self._event(state, f"the poll '{poll['question']}' closed: its time was up")
            msg.changed_at = self.next_order()
            self._emit("poll", copy.deepcopy(poll))

    def api_stopPoll(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        self._reject_unmodelled(p)
        state = self._chat_for(p)
        msg = state.messages.get(p["message_id"])
        if msg is None or msg.deleted or "poll" not in msg.data or msg.sender_id != self.bot.id:
            raise bad_request("message with poll to stop not found")
        poll = msg.data["poll"]
        if poll["is_closed"]:
            raise bad_request("poll has already been closed")
        markup = self._inline_markup(p.get("reply_markup"), state)
        poll["is_closed"] = True
        self._polls[poll["id"]].closes_at = None
        if markup:
            msg.data["reply_markup"] = markup
        self._event(state, f"{self.bot.display} closed the poll '{poll['question']}'")
        msg.changed_at = self.next_order()
        self._emit("poll", copy.deepcopy(poll))
        return copy.deepcopy(poll)

    def api_forwardMessage(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        self._reject_unmodelled(p)
        state = self._chat_for(p)
        source = self._resolve_chat(p["from_chat_id"])
        self._access(source, write=False)
        msg = source.messages.get(p["message_id"])
        if msg is None or msg.deleted or msg.service:
            raise bad_request("message to forward not found")
        if msg.data.get("has_protected_content"):
            raise bad_request("message can't be forwarded")
        data = msg.data
        if "sender_chat" in data:
            origin = {"type": "chat", "date": data["date"], "sender_chat": data["sender_chat"]}
        else:
            origin = {"type": "user", "date": data["date"], "sender_user": data["from"]}
        content = {k: copy.deepcopy(v) for k, v in data.items()
                   if k in ("text", "entities", "photo", "document", "caption", "caption_entities", "poll")}
        if "poll" in content and not content["poll"]["is_closed"]:
            # A quiz's answer shows only while "closed or sent (not forwarded) by the bot".
            content["poll"].pop("correct_option_ids", None)
        content["forward_origin"] = origin
        permission, what = (("can_send_photos", "photos") if "photo" in content else
                            ("can_send_documents", "documents") if "document" in content else
                            ("can_send_polls", "polls") if "poll" in content else
                            ("can_send_messages", "text messages"))
        thread = self._thread_for(state, p, None)
        self._check_bot_may_send(state, permission, what)
        reply = self._in_topic(state, thread, content, None)
        return copy.deepcopy(self._new_message(state, self.bot, content, reply_to=reply).data)

    # ------------------------------------------------------------------ editing

    def _editable(self: FakeTelegram, p: dict[str, Any]) -> tuple[ChatState, Msg]:
        if "inline_message_id" in p:
            raise unsupported("inline messages are")
        if "chat_id" not in p:
            raise bad_request("chat_id is empty")
        if "message_id" not in p:
            raise bad_request("message identifier is not specified")
        self._reject_unmodelled(p)
        state = self._chat_for(p)
        msg = state.messages.get(p["message_id"])
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        if msg.sender_id != self.bot.id or msg.service or "forward_origin" in msg.data:
            raise bad_request("message can't be edited")
        return state, msg

    def _apply_edit(
        self: FakeTelegram, msg: Msg, changes: dict[str, Any], markup: dict[str, Any] | None
    ) -> dict[str, Any]:
        before = {k: msg.data.get(k) for k in changes}
        if before == changes and msg.data.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED)
        # An edit without reply_markup removes the inline keyboard, as in Telegram.
        self._mark_edited(msg, {**changes, "reply_markup": markup})
        return copy.deepcopy(msg.data)

    def api_editMessageText(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        if "text" not in p:
            raise bad_request("message text is empty")
        text, entities = self._formatted(p["text"], p.get("parse_mode"), p.get("entities"),
                                         limit=MESSAGE_LIMIT, too_long="message is too long")
        if not text:
            raise bad_request("message must be non-empty")
        state, msg = self._editable(p)
        if "text" not in msg.data:
            raise bad_request("there is no text in the message to edit")
        markup = self._inline_markup(p.get("reply_markup"), state)
        return self._apply_edit(msg, {"text": text, "entities": entities or None}, markup)

    def api_editMessageCaption(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        state, msg = self._editable(p)
        if not any(k in msg.data for k in ("photo", "document")):
            raise bad_request("there is no caption in the message to edit")
        content = self._caption({**p, "caption": p.get("caption", "")})
        markup = self._inline_markup(p.get("reply_markup"), state)
        changes = {"caption": content.get("caption"), "caption_entities": content.get("caption_entities")}
        return self._apply_edit(msg, changes, markup)

    def api_editMessageReplyMarkup(self: FakeTelegram, p: dict[str, Any]) -> dict[str, Any]:
        state, msg = self._editable(p)
        return self._apply_edit(msg, {}, self._inline_markup(p.get("reply_markup"), state))

    # ------------------------------------------------------------------ deleting

    def _deletable(self: FakeTelegram, state: ChatState, msg: Msg) -> bool:
        if self._now() - msg.data["date"] >= DELETE_WINDOW:
            return False
        if state.type == "private" or msg.sender_id == self.bot.id:
            return True
        bot = self._bot_member(state)
        if bot.status == "creator":
            return True
        if bot.status != "administrator":
            return False
        # Any admin may delete in a basic group; a supergroup needs the right.
        return state.type == "group" or bool((bot.rights or {}).get("can_delete_messages"))

    def _delete(self: FakeTelegram, state: ChatState, msg: Msg) -> None:
        msg.deleted = True
        msg.changed_at = self.next_order()
        if msg.data["message_id"] in state.pinned:
            state.pinned.remove(msg.data["message_id"])
        if msg.sender_id == self.bot.id:
            self._event(state, f"{self.bot.display} deleted its message")
        else:
            # Name the sender people saw: an anonymous admin stays anonymous.
            sender = msg.data.get("sender_chat", {}).get("title") or self._users[msg.sender_id].display
            self._event(state, f"{self.bot.display} deleted a message from {sender}")

    def api_deleteMessage(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state = self._chat_for(p, write=False)
        msg = state.messages.get(p["message_id"])
        if msg is None or msg.deleted:
            raise bad_request("message to delete not found")
        if not self._deletable(state, msg):
            raise bad_request("message can't be deleted")
        self._delete(state, msg)
        return True

    def api_deleteMessages(self: FakeTelegram, p: dict[str, Any]) -> bool:
        ids = p["message_ids"]
        if not ids:
            raise bad_request("message identifiers are not specified")
        if len(ids) > 100:
            raise bad_request("too many message identifiers specified")
        state = self._chat_for(p, write=False)
        # Missing messages are skipped; one that may not be deleted fails the whole request.
        found = [m for m in (state.messages.get(i) for i in dict.fromkeys(ids)) if m is not None and not m.deleted]
        if any(not self._deletable(state, m) for m in found):
            raise bad_request("message can't be deleted")
        for msg in found:
            self._delete(state, msg)
        return True

    # ------------------------------------------------------------------ callback queries and pins

    def api_answerCallbackQuery(self: FakeTelegram, p: dict[str, Any]) -> bool:
        record = self._callbacks.get(p["callback_query_id"])
        if record is None or record.answered or self._now() - record.created > CALLBACK_QUERY_TTL:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = p.get("text", "")
        if len(text) > CALLBACK_ANSWER_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        if "url" in p and not p["url"].startswith(("https://t.me/", "tg://", "t.me/")):
            raise bad_request("URL_INVALID")
        record.answered = True
        if text:
            state = self._chats[record.chat_id]
            how = "an alert" if p.get("show_alert") else "a notice"
            self._event(state, f"{self._users[record.user_id].display} sees {how}: '{text}'")
        return True

    def _check_may_pin(self: FakeTelegram, state: ChatState) -> None:
        if not state.is_group:
            return
        bot = self._bot_member(state)
        if bot.status == "creator" or (bot.status == "administrator" and (bot.rights or {}).get("can_pin_messages")):
            return
        if bot.status in ("member", "restricted") and state.permissions.get("can_pin_messages") and (
                bot.status == "member" or (bot.permissions or {}).get("can_pin_messages")):
            return
        raise bad_request("not enough rights to manage pinned messages in the chat")

    def api_pinChatMessage(self: FakeTelegram, p: dict[str, Any]) -> bool:
        self._reject_unmodelled(p)
        state = self._chat_for(p)
        self._check_may_pin(state)
        msg = state.messages.get(p["message_id"])
        if msg is None or msg.deleted or msg.service:
            raise bad_request("message to pin not found")
        message_id = msg.data["message_id"]
        if message_id in state.pinned:
            state.pinned.remove(message_id)
        state.pinned.append(message_id)
        pinned = {k: copy.deepcopy(v) for k, v in msg.data.items() if k != "reply_to_message"}
        preview = (msg.data.get("text") or msg.data.get("caption") or "a message")[:40]
        self._service_message(state, self.bot, {"pinned_message": pinned},
                              f"{self.bot.display} pinned '{preview}'")
        return True

    def api_unpinChatMessage(self: FakeTelegram, p: dict[str, Any]) -> bool:
        self._reject_unmodelled(p)
        state = self._chat_for(p)
        self._check_may_pin(state)
        if "message_id" in p:
            msg = state.messages.get(p["message_id"])
            if msg is None or msg.deleted:
                raise bad_request("message to unpin not found")
            message_id = p["message_id"]
        elif state.pinned:
            message_id = state.pinned[-1]
        else:
            return True
        if message_id in state.pinned:
            state.pinned.remove(message_id)
            self._event(state, f"{self.bot.display} unpinned a message")
        return True

    def api_unpinAllChatMessages(self: FakeTelegram, p: dict[str, Any]) -> bool:
        state = self._chat_for(p)
        self._check_may_pin(state)
        if state.pinned:
            state.pinned.clear()
            self._event(state, f"{self.bot.display} unpinned all messages")
        return True
