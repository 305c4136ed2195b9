"""Renders a chat the way a person scrolling it would read it: one entry per message or event (a multi-line
message keeps its line breaks), compact enough for the demo to print as is."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .state import ANONYMOUS_ADMIN_ID, CHANNEL_BOT_ID, TELEGRAM_ID, ChatState, Msg

if TYPE_CHECKING:
    from .core import FakeTelegram

PREVIEW = 60


def _sender(sim: FakeTelegram, state: ChatState, data: dict[str, Any]) -> str:
    if data.get("from", {}).get("id") in (ANONYMOUS_ADMIN_ID, CHANNEL_BOT_ID, TELEGRAM_ID) and "sender_chat" in data:
        return data["sender_chat"].get("title") or "anonymous admin"
    user = sim.user_by_id(data["from"]["id"])
    return user.display if user else data["from"].get("first_name", "?")


def _body(data: dict[str, Any]) -> str:
    if "text" in data:
        return data["text"]
    caption = data.get("caption")
    if "photo" in data:
        return "[photo]" + (f" {caption}" if caption else "")
    if "document" in data:
        name = data["document"].get("file_name")
        return (f"[document {name}]" if name else "[document]") + (f" {caption}" if caption else "")
    if "poll" in data:
        poll = data["poll"]
        options = " / ".join(f"{o['text']} ({o['voter_count']})" for o in poll["options"])
        closed = ", closed" if poll["is_closed"] else ""
        return f"[poll{closed}] {poll['question']} — {options}"
    return "[message]"


def _message_lines(sim: FakeTelegram, state: ChatState, msg: Msg) -> list[str]:
    data = msg.data
    who = _sender(sim, state, data)
    if "forward_origin" in data:
        origin = data["forward_origin"]
        source = (origin.get("sender_user", {}).get("first_name") or origin.get("sender_chat", {}).get("title")
                  or origin.get("chat", {}).get("title", "?"))
        who = f"{who} (forwarded from {source})"
    reply = data.get("reply_to_message")
    # "A → B": A answers B. A message answering the sender's own earlier one (the bot following up on its
    # shop shelf) reads as plain "A:".
    if reply is not None and _sender(sim, state, reply) != who:
        who = f"{who} → {_sender(sim, state, reply)}"
    # A multi-line message stays one entry with its line breaks; printers indent the continuation lines.
    line = f"{who}: {_body(data)}"
    if msg.edited:
        line += " (edited)"
    if msg.deleted:
        line += " [deleted]"
    lines = [line]
    keyboard = (data.get("reply_markup") or {}).get("inline_keyboard")
    if keyboard and not msg.deleted:
        rows = [" | ".join(button["text"] for button in row) for row in keyboard]
        lines.append(f"[buttons: {' / '.join(rows)}]")
    return lines


def render(sim: FakeTelegram, state: ChatState) -> list[str]:
    return [line for _key, entry, _at in entries(sim, state) for line in entry]


def entries(sim: FakeTelegram, state: ChatState) -> list[tuple[tuple[str, int], list[str], tuple[int, int]]]:
    """The transcript entry by entry, each with a stable key (a message keeps its key when it is edited or
    deleted), so a printer can show what changed since it last looked, and where it stands in the world's one
    order (created, last changed or 0), so a printer can interleave chats as things happened."""
    out: list[tuple[tuple[str, int], list[str], tuple[int, int]]] = []
    for index, (kind, value, order) in enumerate(state.timeline):
        if kind == "msg":
            msg = state.messages[value]
            out.append((("msg", value), _message_lines(sim, state, msg), (order, msg.changed_at)))
        else:
            out.append((("event", index), [f"· {value}"], (order, 0)))
    return out
