"""Telegram's text formatting: the HTML parse_mode (after tdlib's parse_html), the entities clients attach to
what people type, and the trimming every message text goes through. Offsets are UTF-16 code units."""
from __future__ import annotations

import re
from typing import Any, Callable

# Tags Telegram's HTML parse mode accepts; anything else is "Unsupported start tag".
_TAGS = {
    "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
    "tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote",
}
_SIMPLE = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACE = " \t\n\r\f\v"


class EntityParseError(Exception):
    """Becomes "Bad Request: can't parse entities: <message>"."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    # tdlib reports positions as UTF-8 byte offsets into the original text.
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, i: int) -> tuple[str, int] | None:
    """Decode the character reference starting at text[i] == '&'; returns (char, next index) or None."""
    j = i + 1
    if j < len(text) and text[j] == "#":
        j += 1
        hexadecimal = j < len(text) and text[j] in "xX"
        if hexadecimal:
            j += 1
        start = j
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        while j < len(text) and text[j] in digits:
            j += 1
        if j == start or j >= len(text) or text[j] != ";":
            return None
        code = int(text[start:j], 16 if hexadecimal else 10)
        if code == 0 or code >= 0x110000 or 0xD800 <= code <= 0xDFFF:
            return None
        return chr(code), j + 1
    start = j
    while j < len(text) and text[j].isascii() and text[j].isalpha():
        j += 1
    name = text[start:j]
    if name in _NAMED_ENTITIES and j < len(text) and text[j] == ";":
        return _NAMED_ENTITIES[name], j + 1
    return None


def _checked_url(url: str) -> str | None:
    """The URL a text_link gets, or None when Telegram would drop the link (tdlib's get_checked_link)."""
    url = url.strip()
    if not url or any(c in url for c in _SPACE):
        return None
    scheme, sep, rest = url.partition("://")
    if sep:
        return url if scheme.lower() in ("http", "https", "tg", "ton") and rest else None
    if url.lower().startswith(("tg:", "mailto:")):
        return url
    # A bare domain ("example.com/x") becomes an http link.
    host = url.split("/", 1)[0]
    if re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?", host):
        return "http://" + url
    return None


def parse_html(
    text: str, resolve_user: Callable[[int], dict[str, Any] | None] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into (plain text, entities), raising EntityParseError like the real server.

    One deliberate strictness beyond tdlib, as our brief asks: an '&' followed by letters or '#' that does
    not form a supported entity ("&nbsp;", "&amp" without ';') is an error. Telegram would pass it through
    literally, which is exactly the unescaped-user-input bug we want the tests to catch; a lone '&' before
    a space or digit stays legal, as it is in Telegram.
    """
    out: list[str] = []
    utf16 = 0
    entities: list[dict[str, Any]] = []
    # Stack of open tags: (tag name, argument, utf16 offset at open, index into `out` at open)
    stack: list[tuple[str, str, int, int]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                ch, i = decoded
                out.append(ch)
                utf16 += utf16_len(ch)
                continue
            nxt = text[i + 1] if i + 1 < n else ""
            if nxt == "#" or (nxt.isascii() and nxt.isalpha()):
                end = i + 1
                while end < n and (text[end].isalnum() or text[end] == "#"):
                    end += 1
                raise EntityParseError(
                    f'Can\'t decode HTML entity "{text[i:end]}" at byte offset {_byte_offset(text, i)}: '
                    "only &lt; &gt; &amp; &quot; and numeric references ending in ';' are supported"
                )
            out.append(c)
            utf16 += 1
            i += 1
            continue
        if c != "<":
            out.append(c)
            utf16 += utf16_len(c)
            i += 1
            continue

        begin = i
        i += 1
        if i < n and text[i] == "/":
            # End tag.
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            i += 1
            start = i
            while i < n and text[i] not in _SPACE and text[i] != ">":
                i += 1
            end_name = text[start:i].lower()
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n or text[i] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            i += 1
            tag, arg, offset, out_index = stack.pop()
            if end_name and end_name != tag:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {_byte_offset(text, begin)}, '
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            length = utf16 - offset
            if length > 0:
                entity = _make_entity(tag, arg, offset, length, "".join(out[out_index:]), resolve_user)
                if entity is not None:
                    _merge_pre_code(entities, entity)
            continue

        # Start tag.
        start = i
        while i < n and text[i] not in _SPACE and text[i] != ">":
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        tag = text[start:i].lower()
        if tag not in _TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
        arg = ""
        expandable = False
        while True:
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n:
                raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
            if text[i] == ">":
                i += 1
                break
            attr_start = i
            while i < n and text[i] not in _SPACE and text[i] not in "=>":
                i += 1
            attr = text[attr_start:i].lower()
            if not attr:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n or text[i] != "=":
                if tag == "blockquote" and attr == "expandable":
                    expandable = True  # the one valueless attribute Telegram knows
                    continue
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n:
                raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
            if text[i] in "'\"":
                quote = text[i]
                i += 1
                value_chars: list[str] = []
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded = _decode_entity(text, i)
                        if decoded is not None:
                            value_chars.append(decoded[0])
                            i = decoded[1]
                            continue
                    value_chars.append(text[i])
                    i += 1
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                i += 1
                value = "".join(value_chars)
            else:
                token_start = i
                while i < n and (text[i].isalnum() or text[i] in ".-"):
                    i += 1
                value = text[token_start:i].lower()
                if i < n and text[i] not in _SPACE and text[i] != ">":
                    raise EntityParseError(
                        f"Unexpected end of name token at byte offset {_byte_offset(text, token_start)}")
            if tag == "a" and attr == "href":
                arg = value
            elif tag == "code" and attr == "class" and value.startswith("language-"):
                arg = value[len("language-"):]
            elif tag == "span" and attr == "class" and value.startswith("tg-"):
                arg = value[len("tg-"):]
            elif tag == "tg-emoji" and attr == "emoji-id":
                arg = value
            elif tag == "pre" and attr == "language":
                arg = value
        if tag == "span" and arg != "spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}')
        if tag == "blockquote" and expandable:
            arg = "expandable"
        stack.append((tag, arg, utf16, len(out)))

    if stack:
        raise EntityParseError(f"Can't find end tag corresponding to start tag {stack[-1][0]}")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _make_entity(
    tag: str, arg: str, offset: int, length: int, inner: str,
    resolve_user: Callable[[int], dict[str, Any] | None] | None,
) -> dict[str, Any] | None:
    base = {"offset": offset, "length": length}
    if tag in _SIMPLE:
        return {"type": _SIMPLE[tag], **base}
    if tag == "span":
        return {"type": "spoiler", **base}
    if tag == "blockquote":
        return {"type": "expandable_blockquote" if arg == "expandable" else "blockquote", **base}
    if tag == "code":
        return {"type": "code", **base, "_language": arg} if arg else {"type": "code", **base}
    if tag == "pre":
        return {"type": "pre", **base, "language": arg} if arg else {"type": "pre", **base}
    if tag == "tg-emoji":
        if not arg.isdigit() or int(arg) == 0:
            raise EntityParseError("Invalid custom emoji identifier specified")
        return {"type": "custom_emoji", **base, "custom_emoji_id": arg}
    # <a>: tg://user?id= mentions a user; anything else must be a link Telegram accepts, or is dropped.
    url = arg or inner
    mention = re.fullmatch(r"tg://user\?id=(\d+)", url.strip())
    if mention:
        user = resolve_user(int(mention.group(1))) if resolve_user else None
        return {"type": "text_mention", **base, "user": user} if user else None
    checked = _checked_url(url)
    return {"type": "text_link", **base, "url": checked} if checked else None


def _merge_pre_code(entities: list[dict[str, Any]], entity: dict[str, Any]) -> None:
    """<pre><code class="language-x">…</code></pre> is one pre entity with a language, as in tdlib."""
    language = entity.pop("_language", None)
    if entities and entity["type"] == "pre" and entities[-1]["type"] == "code":
        last = entities[-1]
        if (last["offset"], last["length"]) == (entity["offset"], entity["length"]) and last.get("_language"):
            entities[-1] = {**entity, "language": last["_language"]}
            return
    entities.append(entity)
    # A code entity keeps its language only until a surrounding <pre> claims it.
    if language:
        entity["_language"] = language


def finish_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop parse-time bookkeeping so the entities are plain MessageEntity objects."""
    return [{k: v for k, v in e.items() if not k.startswith("_")} for e in entities]


def trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram strips leading and trailing whitespace from message texts and clips entities to match."""
    stripped_left = text.lstrip()
    head = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip()
    total = utf16_len(result)
    fixed = []
    for e in entities:
        start = max(e["offset"] - head, 0)
        end = min(e["offset"] + e["length"] - head, total)
        if end > start:
            fixed.append({**e, "offset": start, "length": end - start})
    return result, fixed


# What a Telegram client marks up in what a person types.
_AUTO = re.compile(
    r"(?P<bot_command>(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?)"
    r"|(?P<email>(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
    r"|(?P<mention>(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}\b)"
    r"|(?P<url>\bhttps?://[^\s<>\"]+"
    # A bare domain (example.com, t.me/joinchat/x, www.example.org/path): its last label must be a real top-level
    # domain (checked below), so file.txt stays plain text.
    r"|(?<![A-Za-z0-9@.\-/:_])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?P<tld>[A-Za-z]{2,24})"
    r"(?![A-Za-z0-9_-])(?::\d{1,5})?(?:[/?#][^\s<>\"]*)?"
    # Labels may be in any script (an IDN such as пример.рф, as tdlib finds them), and the top-level domain may be
    # punycode (xn--p1ai). An IPv4 address (1.2.3.4, with a port or path) is a link too, each number 0-255.
    r"|(?<![\w@.\-/:])(?:[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?\.)+(?P<idn>[^\W\d_]{2,24}|[Xx][Nn]--[A-Za-z0-9-]{2,59})"
    r"(?![\w-])(?::\d{1,5})?(?:[/?#][^\s<>\"]*)?"
    r"|(?<![\w@.\-/:])(?P<ipv4>(?:\d{1,3}\.){3}\d{1,3})(?![\w-]|\.\d)(?::\d{1,5})?(?:[/?#][^\s<>\"]*)?)"
    r"|(?P<hashtag>(?<![\w#])#[^\W\d][\w]*)"
)

# Top-level domains a bare domain may end in (tdlib checks against IANA's list): the usual generic ones and every
# country code.
_TLDS = frozenset("""
com net org info biz edu gov mil int name pro mobi app dev io ai xyz online site top club shop store tech blog news
live link click space website world today life email cloud page fun art wiki one design agency digital network asia
tel travel jobs museum aero coop cat post xxx global media group team zone chat social games video music
ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo br bs bt bw by bz ca cc cd cf
cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg er es et eu fi fj fk fm fo fr ga gd ge gf gg
gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in iq ir is it je jm jo jp ke kg kh ki km kn kp
kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc
ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si
sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz va vc ve vg
vi vn vu wf ws ye yt za zm zw
""".split())

# Internationalised top-level domains in their own script (tdlib knows them too; punycode ones are checked by form).
_IDN_TLDS = frozenset("""
рф рус москва дети сайт онлайн орг ком бел укр қаз срб мкд мон бг ею ελ ευ 中国 中國 公司 网络 网址 在线 香港 台湾 台灣
新加坡 澳門 한국 みんな コム 佛山 广东 移动 手机 游戏 商城 中文网 भारत امارات السعودية مصر ایران ישראל ไทย
""".split())


def _tld_ok(tld: str) -> bool:
    low = tld.lower()
    if low.startswith("xn--"):
        return len(low) > 5 and not low.endswith("-")
    return low in _TLDS or low in _IDN_TLDS


_CLOSING = {")": "(", "]": "[", "}": "{"}


def _link_end(link: str) -> int:
    """Where a link ends: Telegram leaves out trailing punctuation and a closing bracket that opens nowhere in it."""
    end = len(link)
    while end:
        ch = link[end - 1]
        if ch in ".,:;!?'\"":
            end -= 1
        elif ch in _CLOSING and link[:end].count(_CLOSING[ch]) < link[:end].count(ch):
            end -= 1
        else:
            break
    return end


def auto_entities(text: str) -> list[dict[str, Any]]:
    entities = []
    at = 0
    while (match := _AUTO.search(text, at)) is not None:
        kind = match.lastgroup
        value = match.group()
        tld = match.group("tld") or match.group("idn")
        ipv4 = match.group("ipv4")
        if kind == "url" and ((tld and not _tld_ok(tld)) or (ipv4 and any(int(n) > 255 for n in ipv4.split(".")))):
            at = match.start() + 1  # not a link from here: what starts further in may still be one (看看example.com)
            continue
        at = match.end()
        if kind == "url":
            value = value[: _link_end(value)]
        offset = utf16_len(text[: match.start()])
        entities.append({"type": kind, "offset": offset, "length": utf16_len(value)})
    return entities


# Entities inside which Telegram does not look for links, mentions or commands.
_OPAQUE = {"code", "pre", "text_link", "text_mention", "custom_emoji", "url", "email", "mention",
           "hashtag", "bot_command", "cashtag", "phone_number", "date_time"}


def with_auto_entities(text: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Telegram also marks up links, mentions, hashtags and commands in what bots send; add those that do
    not overlap an entity that already claims the text."""
    taken = [(e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] in _OPAQUE]
    found = [
        e for e in auto_entities(text)
        if not any(e["offset"] < end and start < e["offset"] + e["length"] for start, end in taken)
    ]
    return sorted(entities + found, key=lambda e: (e["offset"], -e["length"]))


def entity_text(text: str, entity: dict[str, Any]) -> str:
    """The part of `text` an entity covers (offsets are UTF-16)."""
    encoded = text.encode("utf-16-le")
    start, end = entity["offset"] * 2, (entity["offset"] + entity["length"]) * 2
    return encoded[start:end].decode("utf-16-le", errors="replace")
