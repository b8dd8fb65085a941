"""Channel-wide mentions assembled from pieces: however payload text is cut up, escaped piece by
piece and put back together (Slack rich_text elements, template fields, digests), the text that
reaches Copera never holds a live `@everyone`, `@here`, `@channel`, `@all` or `<!here>`.

The judge is a reference checker written independently of `bot.markdown.defuse`, which reads a
message the two ways a chat server might:
- as source: emphasis, code, strikethrough, escape and link-bracket markers and the characters a
  renderer draws as nothing are dropped, then the text is NFKC-folded;
- as rendered: a CommonMark parser's text (entities decoded, escapes applied), with the same
  invisible characters dropped and the same folding.
Either reading holding `@word` or `<!word>` not followed by an ASCII word character is a live
mention. A zero-width space is not dropped: Unicode's word-break rules (UAX #29, WB4) ignore
format characters inside a word but treat U+200B as a break, and it is the break the relay inserts.
"""

from __future__ import annotations

import random
import re
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot import markdown as md
from tests.conftest import CHANNEL

ZWSP = "\u200b"
LIVE = re.compile(r"(?:@|<!)(everyone|here|channel|all)(?![A-Za-z0-9_])", re.IGNORECASE)
MARKERS = set("*_`~\\[]")
# Combining characters that only select a glyph (CGJ, Mongolian and other variation selectors).
SELECTORS = {0x034F, 0x180B, 0x180C, 0x180D, 0x180F, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)}
PARSER = MarkdownIt("commonmark")


def _drawn_as_nothing(c: str) -> bool:
    return (unicodedata.category(c) == "Cf" and c != ZWSP) or ord(c) in SELECTORS


def _fold(text: str, drop_markers: bool) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if not _drawn_as_nothing(c) and not (drop_markers and c in MARKERS))


def _rendered(markdown: str) -> str:
    parts = []
    for block in PARSER.parse(markdown):
        for token in block.children or []:
            if token.type in ("text", "code_inline"):
                parts.append(token.content)
            elif token.type in ("softbreak", "hardbreak"):
                parts.append("\n")
        if block.type in ("fence", "code_block"):
            parts.append(block.content)
        parts.append("\n")
    return "".join(parts)


def live_mentions(markdown: str) -> list[str]:
    """Every live channel-wide mention in `markdown`, in either reading."""
    return LIVE.findall(_fold(markdown, drop_markers=True)) + LIVE.findall(_fold(_rendered(markdown), False))


def test_the_checker_sees_what_it_must():
    for live in ("@everyone", "＠*everyone*", "@\u200dhere", "@\u2063here", "﹫**channel**", "@`all`", "\\@here",
                 "@ever**yone**", "@everyoneé", "@\U000e0041all", "\\<!here>", "&#64;everyone", "@ｈｅｒｅ"):
        assert live_mentions(live), live
    for inert in ("@\u200beveryone", "@allison", "@here_x", "<!\u200bhere>", "@ everyone", "`&#64;everyone`"):
        assert not live_mentions(inert), inert


# -- pieces escaped one by one, then put together -----------------------------------------------------

FRAGMENTS = ["@", "＠", "﹫", "<", "!", "<!", "everyone", "every", "one", "ev", "eryone", "here", "he", "re",
             "channel", "chan", "nel", "all", "a", "l", "*", "**", "_", "`", "\\", "~", "[", "]",
             "\u200d", "\u200c", "\u200b", "\u2063", "\u034f", "\u180b", "\U000e0041", "é", "x", "E", "H", " ",
             "&", "#64;", "&#64;", "&commat;", "ｅ", "ｈｅｒｅ"]
LINK = "https://example.com/x"
HELPERS = {
    "text": md.text, "inline": md.inline, "code": md.code, "bold": md.bold, "italic": md.italic,
    "link": lambda v: md.link(v, LINK), "link label only": lambda v: md.link(v, None), "quote": md.quote,
}
fragment = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=5).map("".join)
pieces = st.lists(st.tuples(st.sampled_from(sorted(HELPERS)), fragment), min_size=1, max_size=8)


def assemble(parts: list[tuple[str, str]]) -> str:
    return "".join(HELPERS[helper](value) for helper, value in parts)


@settings(max_examples=1500, deadline=None)
@given(pieces)
@example([("bold", "@"), ("code", "here`")])  # a code span's padding space is not shown
def test_escaped_pieces_put_together_never_mention_a_whole_channel(parts):
    joined = assemble(parts)
    final = md.defuse(joined)
    assert not live_mentions(final), (parts, final)
    # Defusing only inserts zero-width spaces, and a second pass changes nothing.
    assert final.replace(ZWSP, "") == joined.replace(ZWSP, "")
    assert md.defuse(final) == final


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["allison", "here_is", "channels", "everyones", "all9", "x", " "]), max_size=4))
def test_a_word_that_only_starts_like_a_keyword_is_left_alone(words):
    text = "@" + "".join(words)
    if not live_mentions(text):
        assert md.defuse(text) == text


def test_the_old_piecewise_defusing_lets_these_through():
    """The cases from the report, for the record: each piece alone is harmless."""
    for parts in ([("text", "＠"), ("text", "everyone")], [("text", "@\u200d"), ("text", "here")],
                  [("text", "＠"), ("bold", "everyone")], [("code", "@"), ("code", "here")],
                  [("text", "﹫"), ("link", "channel")]):
        joined = assemble(parts)
        assert live_mentions(joined), parts
        assert not live_mentions(md.defuse(joined)), parts


def test_invisible_characters_named_in_security_md_are_removed():
    for c in ("\u2061", "\u2062", "\u2063", "\u2064", "\u034f", "\u180b", "\u180c", "\u180d", "\u180e", "\u180f",
              "\U000e0001", "\U000e0041", "\U000e007f", "\u200b", "\u2060", "\ufeff", "\u00ad"):
        assert md.clean(f"a{c}b") == "ab", hex(ord(c))
    for kept in ("\u200d", "\u200c", "\ufe0f", "\ufe0e"):
        assert md.clean(f"a{kept}b") == f"a{kept}b", hex(ord(kept))


# -- end to end: a templated route and a digest through the Copera stand-in -----------------------------

SECRET = "s3cret-for-mention-tests-0123"
BEARER = {"Authorization": f"Bearer {SECRET}"}
TEMPLATE = "{{ payload.a }}{{ payload.b }}{{ payload.c | bold }}{{ payload.d | code }} #{{ payload.n }}"


def _hostile_payloads(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    known = [("＠", "everyone", "", ""), ("@\u200d", "here", "", ""), ("＠", "", "everyone", ""),
             ("@", "", "", "all"), ("\\", "<!", "", "here"), ("@ever", "", "yone", "")]
    rows = known + [tuple("".join(rng.choices(FRAGMENTS, k=rng.randint(0, 4))) for _ in range(4))
                    for _ in range(count - len(known))]
    return [{"message": "m", "a": a, "b": b, "c": c, "d": d, "n": i} for i, (a, b, c, d) in enumerate(rows)]


def test_templated_route_and_digest_never_deliver_a_live_mention(make_relay, copera):
    relay = make_relay({"t": {"source": "generic", "channel": CHANNEL, "secret": SECRET, "template": TEMPLATE}})
    payloads = _hostile_payloads(60, seed=20261128)
    for payload in payloads:
        assert relay.post("t", payload, BEARER).status_code == 202
    relay.work()
    texts = copera.texts(CHANNEL)
    delivered = "\n".join(texts)
    assert all(f"#{p['n']}" in delivered for p in payloads)
    assert any(t.startswith("📦") for t in texts), "the burst should have gone out as a digest"
    for text in texts:
        assert not live_mentions(text), text
    # Not vacuous: without the zero-width spaces the relay inserted, the same posts would mention.
    assert live_mentions(delivered.replace(ZWSP, ""))


def test_one_message_at_the_length_limit_stays_within_it_when_defused(make_relay, copera):
    from bot.copera_client import final_text

    text = ("＠" + md.text("everyone") + "\n") * (md.MAX_MESSAGE // 10) + "x" * (md.MAX_MESSAGE % 10)
    assert len(text) == md.MAX_MESSAGE
    final = final_text(text)
    assert len(final) <= md.MAX_MESSAGE and not live_mentions(final)
