"""Copera markdown: escaping of untrusted text, safe links, and the one renderer for messages.

Everything a sender controls passes through these helpers before it reaches a channel, so a
payload cannot inject links with dangerous schemes, break out of a code block, forge headings or
list items, or mention a whole channel. Formatters build with these; they never concatenate raw
payload text into markdown themselves.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import urlsplit

MAX_MESSAGE = 10_000

# Characters that start markup anywhere in a line. `_` is handled separately: CommonMark ignores it
# inside words, and escaping it there would mangle identifiers like `snake_case_names`. Brackets
# only form links as `](`, `][` or a `]:` definition, so only such a `]` is escaped: "[Alerting]"
# stays readable and still cannot become a link.
_INLINE_SPECIAL = re.compile(r"([\\`*<>~|]|\](?=[(\[:]))")
_UNDERSCORE_AT_EDGE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
# Markup that only counts at the start of a line: headings, quotes, list items, rules. The indent
# never spans a line break: `\s*` there would rescan every following blank line from each line
# start, quadratic in a run of blank lines (a payload of 20 KB of newlines took seconds).
_LINE_START = re.compile(r"^([^\S\n]*)([#>+=-]|\d+(?=[.)](?:[ \t]|$)))", re.MULTILINE)
# Channel-wide mentions. A mention is found wherever the text *reads* as `@everyone`, `@here`,
# `@channel` or `@all` once markup and invisible characters are set aside, entity references
# decoded and compatibility forms folded (NFKC): `@*everyone*`, `＠` + `everyone` from two payload
# fields, `@\u2063here`, `&#64;everyone`, `@ｅｖｅｒｙｏｎｅ`. The word must not run on into an ASCII
# letter, digit or `_` (`@allison` stays a user's mention; `@everyoneé` is still a broadcast for a
# parser that only knows ASCII). Slack's `<!here>` broadcasts are the same with `<!` in front.
_MENTION_CANDIDATE = re.compile(r"[@\ufe6b\uff20<\ufe64\uff1c&]")
_MENTION_WORDS = ("everyone", "channel", "here", "all")
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]")
_ENTITY_REF = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Markup that can stand between `@` and the word without being shown: emphasis, code spans,
# strikethrough, backslash escapes, link brackets.
_UNSHOWN_MARKUP = frozenset("*_`~\\[]")
# Characters a renderer draws as nothing: format characters (joiners, invisible operators, tags…)
# and the combining ones that only select a glyph variant (CGJ, Mongolian and other variation
# selectors). A zero-width space is not among them: it is the break `defuse` inserts.
_GLYPH_SELECTORS = re.compile(r"[\u034f\u180b-\u180d\u180f\ufe00-\ufe0f\U000e0100-\U000e01ef]")
# An `&` that would start an entity reference: `&#64;everyone` renders as "@everyone".
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_SAFE_SCHEMES = {"http", "https", "mailto"}
# Control characters (line breaks other than \n are normalised first), bidi overrides, isolates
# and marks, and invisible characters that only serve to disguise text: zero-width space, word
# joiner and the invisible operators (U+2060–U+2064), the deprecated format controls
# (U+206A–U+206F), BOM, soft hyphen, the combining grapheme joiner, the Mongolian vowel separator
# and free variation selectors (U+180B–U+180F), and tag characters (U+E0000–U+E007F; the flags of
# England, Scotland and Wales lose their tags and show as a black flag). ZWJ/ZWNJ and the emoji
# variation selectors (U+FE0E/U+FE0F) stay: emoji sequences and several scripts need them.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
    r"\u200b\u2060-\u2064\u206a-\u206f\ufeff\u00ad\u034f\u180b-\u180f\U000e0000-\U000e007f]"
)
# The emoji that start the relay's own status lines (`bot.message.EMOJI`, digests). Payload text
# that starts a line with one of them is shown with the emoji in code, so it cannot pass for one.
STATUS_EMOJI = ("🚨", "🔴", "🟠", "🔵", "✅", "📦")
_STATUS_START = re.compile(r"^((?:[^\S\n]|[\u200c\u200d])*)(" + "|".join(STATUS_EMOJI) + r")(\ufe0f?)",
                           re.MULTILINE)

ZWSP = "\u200b"


def clean(value) -> str:
    """Returns `value` as a string without control, bidi or invisible characters; every line break
    becomes `\\n` (CommonMark also ends a line at a lone `\\r`)."""
    if value is None:
        return ""
    return _CONTROL.sub("", str(value).replace("\r\n", "\n").replace("\r", "\n"))


def defuse(s: str) -> str:
    """Makes channel-wide mentions inert, keeping the text: a zero-width space goes right after the
    `@` (or the `!` of `<!`). Runs on every escaped piece and again on the final text of every post
    (`bot.copera_client`), because pieces that are harmless alone can meet there. Idempotent:
    a mention already broken by a zero-width space is left alone."""
    out: list[str] = []
    done = 0
    for m in _MENTION_CANDIDATE.finditer(s):
        if m.start() < done:
            continue
        shown, past = _shown_at(s, m.start())
        if _cannot_start_mention(s, past):
            continue
        start = unicodedata.normalize("NFKC", shown)
        if start not in ("@", "<"):
            continue
        cut = _broadcast_break(s, past, bang=start == "<")
        if cut is not None:
            out += [s[done:cut], ZWSP]
            done = cut
    return "".join(out) + s[done:] if out else s


# The quick test before the full reading: the first character after a run of markup that could
# start a mention word (or the `!` of `<!`). Anything non-ASCII, an entity, a link's `]` or a code
# span's padding space gets the full reading.
_MARKUP_RUN = re.compile(r"[*_`~\\\[\]]*")
_MAY_START_WORD = frozenset("eEcChHaA!&")


def _cannot_start_mention(s: str, i: int) -> bool:
    end = _MARKUP_RUN.match(s, i).end()
    if end >= len(s):
        return True
    c = s[end]
    if not c.isascii() or c in _MAY_START_WORD or "]" in s[i:end]:
        return False
    return not (c == " " and end > i and s[end - 1] == "`")


def _shown_at(s: str, i: int) -> tuple[str, int]:
    """What a renderer shows for the text at `i` (an entity reference decoded), and where it ends."""
    if s[i] == "&":
        m = _ENTITY_REF.match(s, i)
        if m:
            return html.unescape(m.group()), m.end()
    return s[i], i + 1


def _invisible(c: str) -> bool:
    return (unicodedata.category(c) == "Cf" and c != ZWSP) or _GLYPH_SELECTORS.match(c) is not None


def _past_link_target(s: str, j: int) -> int:
    """Past the `(destination "title")` or `[label]` that follows a link text's `]` at `j - 1`: a
    renderer shows neither, so `[@](https://…)**everyone**` reads "@everyone"."""
    if s.startswith("(", j):
        depth = 0
        for k in range(j, len(s)):
            depth += {"(": 1, ")": -1}.get(s[k], 0)
            if depth == 0:
                return k + 1
    elif s.startswith("[", j):
        end = s.find("]", j)
        if end != -1:
            return end + 1
    return j


def _broadcast_break(s: str, start: int, bang: bool) -> int | None:
    """Where a zero-width space breaks the mention that the text from `start` (just after its `@`
    or `<`) reads as, or None if it reads as none."""
    shown: list[tuple[str, int]] = []  # (NFKC-folded shown text, index just past it in `s`)
    size = 0
    j = start
    previous = ""
    while j < len(s) and size <= len("everyone") + 1:
        raw, after_backtick = s[j], previous == "`"
        previous = raw
        c, j = _shown_at(s, j)
        if c == ZWSP:
            break
        if raw == "]":
            j = _past_link_target(s, j)
        # A code span drops one space of padding after its opening backticks: "`` here` ``" shows "here`".
        if raw in _UNSHOWN_MARKUP or all(map(_invisible, c)) or (raw == " " and after_backtick):
            continue
        folded = unicodedata.normalize("NFKC", c).lower()
        shown.append((folded, j))
        size += len(folded)
        # Most `@`s are not followed by a mention word: stop as soon as the reading cannot become one
        # (a run of markup specials after every `@` made this scan the bulk of escaping's time).
        so_far = "".join(f for f, _ in shown)
        if bang:
            if not so_far.startswith("!"):
                return None
            so_far = so_far[1:]
        if not any(word.startswith(so_far[:len(word)]) for word in _MENTION_WORDS):
            return None
    cut = start
    if bang:
        if not shown or shown[0][0] != "!":
            return None
        cut = shown.pop(0)[1]
    reading = "".join(folded for folded, _ in shown)
    for word in _MENTION_WORDS:
        if not reading.startswith(word):
            continue
        if not _ASCII_WORD.match(reading, len(word)):
            return cut
        # Read with markup set aside the word runs on (`@all*x*` reads "allx"); a parser that
        # reads the source sees it end at the `*`, so that is a mention too.
        end = 0
        for folded, past in shown:
            end += len(folded)
            if end >= len(word):
                runs_on = past < len(s) and _ASCII_WORD.match(unicodedata.normalize("NFKC", _shown_at(s, past)[0]))
                if end == len(word) and not runs_on:
                    return cut
                break
    return None


def text(value, limit: int | None = None) -> str:
    """Escapes untrusted text so that it renders literally, keeping its line breaks."""
    s = clean(value)
    if limit is not None:
        s = shorten(s, limit)
    return _escape_block_start(_escape_inline(s))


def _escape_block_start(s: str) -> str:
    """Escapes what only counts at the start of a line (or of a list item's content): headings,
    quotes, list markers, rules, and the status emoji the relay starts its own messages with."""
    s = _LINE_START.sub(_escape_line_start, s)
    return _STATUS_START.sub(lambda m: f"{m.group(1)}`{m.group(2)}{m.group(3)}`", s)


def _escape_inline(s: str) -> str:
    s = _INLINE_SPECIAL.sub(r"\\\1", s)
    s = _UNDERSCORE_AT_EDGE.sub(r"\\_", s)
    s = _ENTITY.sub(r"\\&", s)
    return defuse(s)


def _escape_line_start(m: re.Match) -> str:
    # CommonMark ignores a backslash before a digit, so "1." is escaped as "1\." instead.
    marker = m.group(2)
    if marker[0].isdigit():
        return m.group(1) + marker + "\\"
    return m.group(1) + "\\" + marker


def inline(value, limit: int | None = 300) -> str:
    """Escapes untrusted text for use inside one line (titles, list items, labels)."""
    return text(" ".join(clean(value).split()), limit)


def shorten(value, limit: int) -> str:
    """Cuts plain text to at most `limit` characters, marking the cut with an ellipsis."""
    s = clean(value)
    return s if len(s) <= limit else s[: max(0, limit - 1)].rstrip() + "…"


def first_line(value, limit: int = 120) -> str:
    """The first non-empty line of a (commit) message, shortened; plain text, not escaped."""
    for line in clean(value).splitlines():
        if line.strip():
            return shorten(line.strip(), limit)
    return ""


def safe_url(url) -> str | None:
    """Returns the URL if it is an absolute http(s)/mailto link, else None."""
    if not isinstance(url, str):
        return None
    url = clean(url).strip()
    if not url or len(url) > 2000 or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _SAFE_SCHEMES:
        return None
    if parts.scheme.lower() != "mailto" and not parts.netloc:
        return None
    return (url.replace("\\", "%5C").replace("(", "%28").replace(")", "%29").replace("<", "%3C")
            .replace(">", "%3E"))


def link(label, url, limit: int = 200) -> str:
    """A markdown link with an escaped label; only the label if the URL is missing or unsafe."""
    # A label sits inside brackets, never at the start of a line: only inline markup matters.
    shown = _escape_inline(shorten(" ".join(clean(label).split()), limit))
    if not _balanced(shown):
        shown = re.sub(r"(?<!\\)([\[\]])", r"\\\1", shown)
    shown = shown or "link"
    target = safe_url(url)
    # Without a link the label stands on its own, possibly first in a line or list item.
    return f"[{shown}]({target})" if target else _escape_block_start(shown)


def _balanced(s: str) -> bool:
    """Whether unescaped brackets pair up, as CommonMark requires inside a link label."""
    depth = 0
    for m in re.finditer(r"(?<!\\)[\[\]]", s):
        depth += 1 if m.group() == "[" else -1
        if depth < 0:
            return False
    return depth == 0


def code(value, limit: int = 200) -> str:
    """Inline code; a backtick run inside the value gets a longer fence, so it cannot break out."""
    s = " ".join(clean(value).split())
    s = shorten(s, limit)
    if not s:
        return ""
    longest = max((len(r) for r in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{defuse(s)}{pad}{fence}"


def bold(value, limit: int | None = 300) -> str:
    s = inline(value, limit)
    return f"**{s}**" if s else ""


def italic(value, limit: int | None = 300) -> str:
    s = inline(value, limit)
    return f"*{s}*" if s else ""


def quote(value, limit: int = 1000, max_lines: int = 15) -> str:
    """A blockquote of untrusted multi-line text, cut to `max_lines` lines and `limit` characters."""
    lines = shorten(clean(value).strip(), limit).splitlines()
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], "…"]
    return "\n".join("> " + text(line) if line.strip() else ">" for line in lines)


def fenced(value, lang: str = "", limit: int = 3000) -> str:
    """A fenced code block whose fence is longer than any backtick run inside, cut to `limit`."""
    s = defuse(clean(value).rstrip("\n"))
    if len(s) > limit:
        s = s[:limit].rstrip("\n") + "\n…"
    longest = max((len(r) for r in re.findall(r"`{3,}", s)), default=0)
    fence = "`" * max(3, longest + 1)
    lang = re.sub(r"[^A-Za-z0-9_+-]", "", lang or "")
    return f"{fence}{lang}\n{s}\n{fence}"


def bullets(items: list[str], limit: int = 10, total: int | None = None, noun: str = "more") -> str:
    """A bulleted list of already-safe markdown items, capped with "and N more"."""
    total = len(items) if total is None else max(total, len(items))
    shown = items[:limit]
    lines = [f"- {item}" for item in shown]
    if total > len(shown):
        lines.append(f"- … and {total - len(shown)} {noun}")
    return "\n".join(lines)


def fields(pairs) -> str:
    """`**Label:** value` lines for the (label, safe-markdown value) pairs whose value is set."""
    return "\n".join(f"**{label}:** {value}" for label, value in pairs if value not in (None, ""))


def fit(blocks: list[str], limit: int = MAX_MESSAGE) -> str:
    """Joins markdown blocks with blank lines, dropping whole trailing blocks to stay within `limit`.

    Blocks are cut only at block boundaries, so a code fence or a link is never split; a single
    block that is too long on its own is cut at a line boundary, reclosing a fence it opened.
    """
    note_room = 60
    out: list[str] = []
    used = 0
    for i, block in enumerate(b for b in blocks if b):
        cost = len(block) + (2 if out else 0)
        if used + cost <= limit:
            out.append(block)
            used += cost
            continue
        remaining = [b for b in blocks[i:] if b]
        room = limit - used - (2 if out else 0) - note_room
        if room > 200:
            out.append(_cut_block(block, room))
        out.append(f"*… message shortened ({len(remaining)} more section(s) left out)*")
        break
    return "\n\n".join(out)[:limit]


_FENCE_LINE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")


def _cut_block(block: str, room: int) -> str:
    """The lines of `block` that fit in `room`; a code fence open at the cut (wherever in the block
    it started) is closed after an ellipsis, so the cut never swallows what follows."""
    lines = block.split("\n")
    longest_fence = max((len(m.group(1)) for m in map(_FENCE_LINE.fullmatch, lines) if m), default=0)
    budget = room - (longest_fence + 3 if longest_fence else 0)
    kept: list[str] = []
    size = 0
    fence = None
    for line in lines:
        if size + len(line) + 1 > budget:
            break
        kept.append(line)
        size += len(line) + 1
        m = _FENCE_LINE.fullmatch(line)
        if m:
            run, rest = m.groups()
            if fence is None and not (run[0] == "`" and "`" in rest):
                fence = run
            elif fence and run[0] == fence[0] and len(run) >= len(fence) and not rest.strip():
                fence = None
    if fence and len(kept) < len(lines):
        kept += ["…", fence]
    return "\n".join(kept)
