"""Copera markdown: escaping of untrusted text, safe links, and the one renderer for messages.

Everything a sender controls passes through these helpers before it reaches a channel, so a
payload cannot inject links with dangerous schemes, break out of a code block, forge headings or
list items, or mention a whole channel. Formatters build with these; they never concatenate raw
payload text into markdown themselves.
"""

from __future__ import annotations

import re
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
# A channel-wide mention, also when a joiner is slipped between `@` and the word or the `@` is
# the fullwidth form; and Slack's `<!here>` broadcasts (text escapes `<`, code does not).
_MENTION = re.compile(r"([@\uff20])[\u200c\u200d]*(everyone|channel|here|all)\b", re.IGNORECASE)
_BROADCAST = re.compile(r"<!(?=(?:everyone|channel|here)\b)", re.IGNORECASE)
# An `&` that would start an entity reference: `&#64;everyone` renders as "@everyone".
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_SAFE_SCHEMES = {"http", "https", "mailto"}
# Control characters (line breaks other than \n are normalised first), bidi overrides, isolates
# and marks, and invisible characters that only serve to disguise text (zero-width space, word
# joiner, BOM, soft hyphen). ZWJ/ZWNJ stay: emoji sequences and several scripts need them.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
    r"\u200b\u2060\ufeff\u00ad\u180e]"
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
    """Makes channel-wide mentions inert (a zero-width space after `@` or `<!`), keeping the text."""
    s = _MENTION.sub(lambda m: "@" + ZWSP + m.group(2), s)
    return _BROADCAST.sub("<!" + ZWSP, s)


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
