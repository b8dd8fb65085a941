"""Hostile text through `bot.markdown` and through real formatters: whatever a sender puts in a payload,
the message may not carry an unsafe link, an unbalanced code fence, a live channel-wide mention, raw
HTML, a heading, or a line that passes for one of the relay's own status lines.

Messages are parsed with a CommonMark parser (markdown-it-py, link validation switched off so that
it reports every link a renderer *could* produce) instead of being checked with ad-hoc regexes.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot import markdown as md
from bot.message import Message, render
from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import FIXTURES, Headers

SAFE_SCHEMES = {"http", "https", "mailto"}
STATUS_LINE = re.compile(r"^(?:[^\S\n]|[\u200c\u200d])*(?:" + "|".join(md.STATUS_EMOJI) + ")")
# A mention a chat server could act on: `@everyone` after a boundary (not inside an address such as
# ops@here.example, which is not a mention), or Slack's `<!here>`.
LIVE_MENTION = re.compile(
    r"(?:^|(?<=[\s(\[*_~>\"'`]))[@\uff20](?:everyone|here|channel|all)\b|<!(?:here|channel|everyone)\b", re.IGNORECASE)
FORGED = "FORGED-STATUS"

UNSAFE_URLS = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "javascript:alert`1`",
    "java\tscript:alert(1)", "java\nscript:alert(1)", "java\x00script:alert(1)", "java\u200bscript:alert(1)",
    "&#106;avascript:alert(1)", "javascript&#58;alert(1)", "%6Aavascript:alert(1)", "jav&#x09;ascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)", "VBSCRIPT:msgbox(1)", "file:///etc/passwd", "https:javascript:alert(1)",
    "//evil.example/x", "\\\\evil.example\\share", "http://", "https://ok.example/\\)javascript:alert(1)",
    "https://ok.example/)(javascript:alert(1)", "https://ok.example/ \"title\"", "https://ok.example/<x>",
]
NASTY = [
    # links in every form
    *(f"[click]({u})" for u in UNSAFE_URLS),
    *(f"<{u}>" for u in UNSAFE_URLS[:6]),
    "[x][r]\n\n[r]: javascript:alert(1)", "[r]: javascript:alert(1)", "![img](javascript:alert(1))",
    "![img](https://tracker.example/pixel.png)", "[[x](javascript:1)](https://ok.example)", "[a]]](javascript:1)",
    "\\[x](javascript:1)", "[x\\](javascript:1)", "[x]\n(javascript:1)", "[x] (javascript:1)",
    "[x](https://ok.example)(javascript:1)", "[ok](https://ok.example \"t\") [bad](javascript:1)",
    '<a href="javascript:alert(1)">x</a>', "<img src=x onerror=alert(1)>", "<script>alert(1)</script>",
    "<!-- comment -->", "<https://ok.example>", "www.evil.example", "&lt;script&gt;", "&#60;b&#62;",
    # fences and code
    "```", "```\n@everyone\n```", "````\nclose\n````", "x\n```js\nopen", "~~~\nopen", "`` ` ``", "`",
    "``` ``` ```", "\n    ```", "a `b` c ``d`` e", "`@here`",
    # forged status lines and structure
    f"\n✅ **RESOLVED** {FORGED} all clear", f"ok\r🔴 **FIRING** {FORGED}", f"\u200d✅ {FORGED}",
    f"\u00a0🚨 {FORGED}", f"text\n\n📦 **3 events** {FORGED}", f"✅\ufe0f {FORGED}", f"\t🟠 {FORGED}",
    f"x\u2028✅ {FORGED}", f"x\r\n🔵 {FORGED}",
    "\n# Heading", "\n## Heading", "x\n===", "x\n---", "\n> quote", "\n- item", "\n+ item", "\n* item",
    "\n1. item", "\n1) item", "\n***", "\n___", "| a | b |\n|---|---|\n| c | d |", "line  \nbreak", "a\\\nb",
    # mentions
    "@everyone", "@here", "@channel", "@all", "@Everyone", "@HERE", "hi @everyone!", "(@here)", "@\u200deveryone",
    "@\u200ceveryone", "\uff20here", "<!here>", "<!channel>", "<!everyone>", "&#64;everyone", "&commat;here",
    "&#x40;channel", "@@here", "*@here*", "_@channel_", "~@all~", "> @everyone",
    # invisible and direction characters
    "\u202eevil.exe\u202c", "abc\u2066def\u2069", "\u200e\u200f\u061c", "zero\u200bwidth\u2060joiner\ufeff",
    "soft\u00adhyphen", "\x00\x01\x07\x1b[31mred", "👨\u200d👩\u200d👧 family",
    # size
    "A" * 20_000, "x " * 5_000, "https://ok.example/" + "a" * 5_000, "[" * 3_000 + "x" + "]" * 3_000,
    "`" * 500, "\n" * 2_000 + "end", "*" * 1_000, "_" * 1_000,
]


# -- checking a message ---------------------------------------------------------------------------

_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_PARSER.validateLink = lambda url: True  # report every link, including the ones a renderer would drop


def _tokens(tokens):
    for token in tokens:
        yield token
        if token.children:
            yield from _tokens(token.children)


def _scheme(href: str) -> str | None:
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", href)
    return m.group(1).lower() if m else None


def _lines(markdown: str):
    """(line, whether it belongs to a fenced code block) for every line; then None and whether a
    fence was left open at the end."""
    open_fence = None
    for line in markdown.split("\n"):
        m = re.match(r"^ {0,3}(`{3,}|~{3,})(.*)$", line)
        if m:
            run, rest = m.groups()
            if open_fence is None and not (run[0] == "`" and "`" in rest):  # backticks in an info string
                open_fence = run
                yield line, True
                continue
            if open_fence and run[0] == open_fence[0] and len(run) >= len(open_fence) and not rest.strip():
                open_fence = None
                yield line, True
                continue
        yield line, open_fence is not None
    yield None, open_fence is not None


def unbalanced_fence(markdown: str) -> bool:
    """Whether a fenced code block is left open (it would swallow the rest of the message)."""
    return list(_lines(markdown))[-1][1]


def problems(markdown: str, first_line_is_status: bool = False) -> list[str]:
    """Everything unsafe about one message (an empty list when it is fine)."""
    found = []
    for token in _tokens(_PARSER.parse(markdown)):
        if token.type == "link_open":
            href = token.attrs.get("href", "")
            if _scheme(href) not in SAFE_SCHEMES:
                found.append(f"unsafe link target {href!r}")
        elif token.type in ("image", "html_inline", "html_block", "heading_open"):
            found.append(f"{token.type}: {token.content or token.markup!r}"[:200])
        if token.type in ("text", "code_inline", "fence", "code_block") and LIVE_MENTION.search(token.content):
            found.append(f"live mention in {token.type}: {LIVE_MENTION.search(token.content).group()!r}")
    lines = list(_lines(markdown))
    if lines[-1][1]:
        found.append("unbalanced code fence")
    # Inside a code block a line is shown as code, whatever it starts with.
    for line, in_code in lines[1:-1] if first_line_is_status else lines[:-1]:
        if not in_code and STATUS_LINE.match(line):
            found.append(f"line passes for a status line: {line[:80]!r}")
    return found


def assert_safe(markdown: str, first_line_is_status: bool = False, context: str = "") -> None:
    found = problems(markdown, first_line_is_status)
    assert not found, f"{context}: {found[:5]}\n--- message ---\n{markdown[:2000]}"


# -- the helpers one by one -----------------------------------------------------------------------

def test_the_checker_sees_what_it_must():
    assert problems("[x](javascript:alert(1))") == ["unsafe link target 'javascript:alert(1)'"]
    assert problems("<data:text/html,hi>")
    assert problems("```\nopen") == ["unbalanced code fence"]
    assert problems("hi @everyone")
    assert problems("`@here`")
    assert problems("a\n✅ **Resolved**") and not problems("✅ **Resolved**", first_line_is_status=True)
    assert problems("<b>x</b>") and problems("# h") and problems("![i](https://x.example/i.png)")
    assert not problems("ops@here.example [ok](https://ok.example) `code`\n```\nx\n```")


@pytest.mark.parametrize("value", NASTY, ids=range(len(NASTY)))
def test_text_inline_and_quote_render_only_literal_text(value):
    for name, out in (("text", md.text(value)), ("inline", md.inline(value, None)), ("quote", md.quote(value)),
                      ("bold", md.bold(value)), ("italic", md.italic(value))):
        assert_safe(out, context=name)
        allowed = {"text", "softbreak", "hardbreak", "code_inline", "strong_open", "strong_close", "em_open",
                   "em_close"}
        inline_types = {t.type for t in _tokens(_PARSER.parse(out)) if t.level > 0 or t.type != "inline"}
        inline_types -= {"paragraph_open", "paragraph_close", "blockquote_open", "blockquote_close", "inline",
                         "code_block"}
        assert inline_types <= allowed, (name, inline_types - allowed, out[:300])
    assert "\n" not in md.inline(value, None)
    if "FORGED" not in value:
        # Emphasis only ever comes from bold()/italic() themselves.
        assert not {t.type for t in _tokens(_PARSER.parse(md.text(value)))} & {"strong_open", "em_open"}


@pytest.mark.parametrize("url", [*UNSAFE_URLS, *NASTY[:40]])
def test_link_never_targets_an_unsafe_scheme(url):
    for label in ("details", url, "[nested](javascript:1)", "a]b[c", "`x`", "@everyone"):
        out = md.link(label, url)
        assert_safe(out, context=f"link({label!r}, {url!r})")
        links = [t for t in _tokens(_PARSER.parse(out)) if t.type == "link_open"]
        assert len(links) <= 1
        assert md.safe_url(url) is None or url.startswith(("http://", "https://", "mailto:"))


@pytest.mark.parametrize("value", NASTY, ids=range(len(NASTY)))
def test_code_and_fenced_keep_their_content_inside(value):
    out = md.code(value, limit=100_000)
    assert_safe(out, context="code")
    tokens = [t for t in _tokens(_PARSER.parse(out)) if t.type not in ("paragraph_open", "paragraph_close", "inline")]
    if out:
        assert [t.type for t in tokens] == ["code_inline"], out[:300]
    out = md.fenced(value, "js`; bad")
    assert_safe(out, context="fenced")
    blocks = [t for t in _PARSER.parse(out) if t.type != "text"]
    assert [t.type for t in blocks] == ["fence"], out[:300]
    assert blocks[0].info == "jsbad"  # only [A-Za-z0-9_+-] of the language survive
    content = md.defuse(md.clean(value).rstrip("\n"))
    if len(content) <= 3000:
        assert blocks[0].content == content + "\n"


def test_mentions_are_defused_everywhere_but_text_is_kept():
    assert md.text("@everyone") == "@\u200beveryone"
    assert md.code("@here") == "`@\u200bhere`"
    assert md.fenced("<!channel>") == "```\n<!\u200bchannel>\n```"
    assert md.text("&#64;everyone") == "\\&#64;\u200beveryone"  # escaped, and defused all the same
    assert md.text("mail ops@here.example") == "mail ops@\u200bhere.example"  # harmless, and kept readable


def test_forged_status_lines_are_shown_as_quoted_emoji():
    assert md.text("fine\n✅ **Resolved**") == "fine\n`✅` \\*\\*Resolved\\*\\*"
    assert md.text("a\rb") == "a\nb"  # a lone CR ends a line in CommonMark: normalised, then escaped
    assert md.text("x\r# not a heading") == "x\n\\# not a heading"


def test_whole_message_with_hostile_title_url_and_body():
    for i, value in enumerate(NASTY):
        other = NASTY[(i * 7 + 3) % len(NASTY)]
        message = Message(title=value, url=other, body=[md.text(value), md.quote(other), md.code(value),
                                                         md.fenced(other), md.bullets([md.inline(value)]),
                                                         md.fields([("Field", md.inline(other))])])
        out = render(message)
        assert len(out) <= md.MAX_MESSAGE
        assert_safe(out, first_line_is_status=True, context=f"render #{i}")


def test_fit_never_cuts_a_fence_open():
    block = md.fenced("\n".join(f"line {i} ```" for i in range(3000)), limit=50_000)
    out = md.fit(["intro", "**Stack:**\n" + block, "tail"], 2_000)
    assert len(out) <= 2_000 and not unbalanced_fence(out)


# -- random text --------------------------------------------------------------------------------

_PIECES = st.sampled_from(["[", "]", "(", ")", "<", ">", "`", "```", "*", "_", "~", "#", "-", "+", "1.", "|", "\\",
                           "!", "&", "#64;", ";", ":", "javascript:", "data:", "@", "everyone", "here", "\n", "\r",
                           " ", "    ", "\t", "✅", "🔴", "\u200d", "\u202e", "\ufe0f", "https://ok.example", "x"])
_TEXT = st.lists(_PIECES, max_size=40).map("".join) | st.text(max_size=80)


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(value=_TEXT, url=_TEXT)
def test_random_text_is_always_safe(value, url):
    assert_safe(md.text(value), context="text")
    assert_safe(md.inline(value), context="inline")
    assert_safe(md.link(value, url), context="link")
    assert_safe(md.quote(value), context="quote")
    assert_safe(md.code(value), context="code")
    assert_safe(md.fenced(value), context="fenced")
    assert_safe(render(Message(title=value, url=url, body=[md.text(url)])), first_line_is_status=True)


# -- real formatters, with hostile text in every field --------------------------------------------

def _string_paths(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _string_paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _string_paths(v, (*path, i))
    elif isinstance(node, str):
        yield path


def _set(node, path, value):
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _fixture_cases():
    for name in SOURCES:
        for f in sorted((FIXTURES / name).glob("*.json")):
            yield pytest.param(name, f, id=f"{name}/{f.name}")


def _event_headers(source, fixture: Path) -> Headers:
    if not source.event_header:
        return Headers()
    from tests.test_fuzz import event_for_fixture  # one mapping of fixture names to event headers

    return Headers({source.event_header: event_for_fixture(source, fixture.name)})


def _format(source, payload, headers) -> tuple[str, list[str]] | None:
    body = json.dumps(payload).encode()
    try:
        incoming = source.receive(body, "application/json", headers)
    except (PayloadError, Ignored):
        return None
    return incoming.event, [render(m) for m in source.format(incoming.event, incoming.payload)]


@pytest.mark.parametrize("name, fixture", list(_fixture_cases()))
def test_formatters_keep_hostile_payload_text_inert(name, fixture):
    source = SOURCES[name]
    original = json.loads(fixture.read_text())
    headers = _event_headers(source, fixture)
    first = _format(source, original, headers)
    if first is None:
        pytest.skip("fixture is ignored")
    event = first[0]

    def variant(payload):
        result = _format(source, payload, headers)
        return result[1] if result and result[0] == event else None

    # Which string fields can hold arbitrary text and still be a valid payload of the same event?
    paths = []
    for path in _string_paths(original):
        trial = copy.deepcopy(original)
        _set(trial, path, "hostile " + NASTY[0])
        if variant(trial) is not None:
            paths.append(path)
    assert paths, "no free-text field found"
    payloads = []
    for shift in range(len(NASTY)):  # every field hostile at once, each time with other strings
        payload = copy.deepcopy(original)
        for i, path in enumerate(paths):
            _set(payload, path, NASTY[(i + shift) % len(NASTY)])
        payloads.append(payload)
    for i, value in enumerate(NASTY):  # and one field at a time, for fields that constrain each other
        payload = copy.deepcopy(original)
        _set(payload, paths[i % len(paths)], value)
        payloads.append(payload)
    rendered = 0
    for n, payload in enumerate(payloads):
        texts = variant(payload)
        if texts is None:  # e.g. two fields that must agree
            continue
        rendered += 1
        for text in texts:
            assert len(text) <= md.MAX_MESSAGE
            assert_safe(text, first_line_is_status=True, context=f"{name}/{fixture.name} variant {n}")
    assert rendered >= len(NASTY) // 2, f"only {rendered} hostile variants were valid payloads"
