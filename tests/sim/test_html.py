"""The HTML parse mode on its own: what Telegram accepts, how text and entities come out, what it refuses."""
from __future__ import annotations

import pytest

from bot.sim.html import EntityParseError, auto_entities, entity_text, finish_entities, parse_html, trim


def parsed(html: str) -> tuple[str, list[dict]]:
    text, entities = parse_html(html, lambda user_id: {"id": user_id, "is_bot": False, "first_name": "U"})
    return text, finish_entities(entities)


def test_all_supported_tags() -> None:
    text, entities = parsed(
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>"
        '<tg-spoiler>p</tg-spoiler><span class="tg-spoiler">q</span><code>c</code><pre>r</pre>'
        '<blockquote>x</blockquote><blockquote expandable>y</blockquote><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
        '<a href="tg://user?id=42">m</a>')
    assert text == "bsieunskdpqcrxy👍m"
    assert [e["type"] for e in entities] == [
        "bold", "bold", "italic", "italic", "underline", "underline", "strikethrough", "strikethrough",
        "strikethrough", "spoiler", "spoiler", "code", "pre", "blockquote", "expandable_blockquote",
        "custom_emoji", "text_mention"]
    assert entities[-1]["user"]["id"] == 42 and entities[-2]["custom_emoji_id"] == "5368324170671202286"


def test_pre_with_language_and_entities_decoded() -> None:
    text, entities = parsed('<pre><code class="language-python">x = 1 &lt; 2 &amp;&amp; &quot;&#65;&#x42;&quot;</code></pre>')
    assert text == 'x = 1 < 2 && "AB"'
    assert entities == [{"type": "pre", "offset": 0, "length": len(text), "language": "python"}]


def test_nesting_and_case_insensitive_tags() -> None:
    text, entities = parsed("<B>bold <I>both</I></B>")
    assert text == "bold both"
    assert entities == [{"type": "bold", "offset": 0, "length": 9}, {"type": "italic", "offset": 5, "length": 4}]


def test_links_telegram_would_drop_stay_plain_text() -> None:
    assert parsed('<a href="javascript:alert(1)">x</a>') == ("x", [])
    assert parsed('<a href="example.com">x</a>')[1][0]["url"] == "http://example.com"


def test_lone_ampersand_before_a_space_is_fine() -> None:
    assert parsed("Tom & Jerry")[0] == "Tom & Jerry"


@pytest.mark.parametrize("bad", ["<b", "<b>x</b", "<a href=\"x>y</a>", "&nbsp;", "&#;", "<tg-emoji emoji-id=\"x\">y</tg-emoji>"])
def test_refused(bad: str) -> None:
    with pytest.raises(EntityParseError):
        parse_html(bad)


def test_trim_shifts_and_clips_entities() -> None:
    text, entities = trim("  hi there  ", [{"type": "bold", "offset": 0, "length": 6}])
    assert text == "hi there"
    assert entities == [{"type": "bold", "offset": 0, "length": 4}]


def test_auto_entities() -> None:
    found = auto_entities("/start@StickyTestBot hi @bob_42 #news https://t.me/x a@b.io")
    assert [e["type"] for e in found] == ["bot_command", "mention", "hashtag", "url", "email"]


def test_bare_domains_are_links_as_telegram_marks_them() -> None:
    text = "😀 a.com, t.me/joinchat/x and www.example.org/path. sub.example.co.uk/x?y=1 (see b.net/x)"
    found = auto_entities(text)
    assert [(e["type"], entity_text(text, e)) for e in found] == [
        ("url", "a.com"), ("url", "t.me/joinchat/x"), ("url", "www.example.org/path"),
        ("url", "sub.example.co.uk/x?y=1"), ("url", "b.net/x"),
    ]
    assert found[0]["offset"] == 3  # the emoji is two UTF-16 code units


def test_words_with_dots_that_are_not_domains_stay_text() -> None:
    assert auto_entities("file.txt report.docx v1.2.3 x.community") == []
    text = "mail a@b.io or @example.com"
    assert [(e["type"], entity_text(text, e)) for e in auto_entities(text)] == [("email", "a@b.io"), ("mention", "@example")]


def test_trailing_punctuation_is_not_part_of_a_link() -> None:
    text = "https://t.me/x. and example.com!"
    assert [entity_text(text, e) for e in auto_entities(text)] == ["https://t.me/x", "example.com"]


def test_idn_punycode_and_ipv4_links_are_marked_as_tdlib_marks_them() -> None:
    text = "see пример.рф/путь, xn--e1afmkfd.xn--p1ai and http://1.2.3.4/x or 10.0.0.1:8080/a. 例子.中国 too"
    found = auto_entities(text)
    assert [(e["type"], entity_text(text, e)) for e in found] == [
        ("url", "пример.рф/путь"), ("url", "xn--e1afmkfd.xn--p1ai"), ("url", "http://1.2.3.4/x"),
        ("url", "10.0.0.1:8080/a"), ("url", "例子.中国"),
    ]


def test_a_latin_domain_written_straight_after_chinese_is_still_a_link() -> None:
    text = "看看example.com吧"
    assert [(e["type"], entity_text(text, e)) for e in auto_entities(text)] == [("url", "example.com")]


def test_numbers_and_words_that_only_look_like_addresses_stay_text() -> None:
    assert auto_entities("v1.2.3 and 1.2.3.4.5 and 300.1.1.1 and 3.14 and т.е. привет.мир x.xn--") == []
