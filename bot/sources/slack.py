"""`slack`: Slack incoming-webhook compatibility, for tools that can only notify Slack.

Accepts what those tools send to a Slack incoming webhook, as JSON or as a form `payload=` field:
`text` in Slack's mrkdwn, Block Kit `blocks` and legacy `attachments`. Slack's markup is converted
piece by piece: every run of text is escaped, links go through `md.link` (so unsafe schemes are
dropped) and `<!here>`-style broadcasts become plain text that mentions nobody.
"""

import re
from typing import ClassVar

from marshmallow import ValidationError, fields, validates_schema

from bot import markdown as md
from bot.message import Message, rank
from bot.sources.base import Event, Lenient, Source

TITLE_LIMIT = 120
COLORS = {"danger": "error", "warning": "warning", "good": "success"}

_FENCE = re.compile(r"```(.*?)```", re.DOTALL)
# One inline construct of mrkdwn. Emphasis markers only count at word edges, as in Slack, so
# `snake_case` and `2*3*4` stay text; an emphasised run cannot contain its own marker, which also
# bounds how deeply the conversion recurses.
_SPAN = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|<(?P<angle>[^<>\n]+)>"
    r"|(?<![\w*])\*(?P<bold>[^*\s](?:[^*\n]*[^*\s])?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<italic>[^_\s](?:[^_\n]*[^_\s])?)_(?![\w_])"
    r"|(?<![\w~])~(?P<strike>[^~\s](?:[^~\n]*[^~\s])?)~(?![\w~])"
)
# A `<…>` that is a link rather than a mention or broadcast.
_LINK = re.compile(r"<(?![!@#])")
_BROADCASTS = {"here", "channel", "everyone"}


class FieldSchema(Lenient):
    title = fields.Str(allow_none=True)
    value = fields.Str(allow_none=True)


class AttachmentSchema(Lenient):
    fallback = fields.Str(allow_none=True)
    color = fields.Str(allow_none=True)
    pretext = fields.Str(allow_none=True)
    author_name = fields.Str(allow_none=True)
    author_link = fields.Str(allow_none=True)
    title = fields.Str(allow_none=True)
    title_link = fields.Str(allow_none=True)
    text = fields.Str(allow_none=True)
    field_list = fields.List(fields.Nested(FieldSchema), allow_none=True, data_key="fields")
    image_url = fields.Str(allow_none=True)
    blocks = fields.List(fields.Dict(), allow_none=True)
    footer = fields.Str(allow_none=True)


class SlackSchema(Lenient):
    text = fields.Str(allow_none=True)
    blocks = fields.List(fields.Dict(), allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), allow_none=True)
    username = fields.Str(allow_none=True)
    channel = fields.Str(allow_none=True)

    @validates_schema
    def has_message_fields(self, data, **kwargs):
        if not {"text", "blocks", "attachments"} & set(data):
            raise ValidationError("a Slack message has text, blocks or attachments")


# -- mrkdwn ------------------------------------------------------------------------------------
MAX_MRKDWN = 2 * md.MAX_MESSAGE
def _unescape(value: str) -> str:
    """Slack escapes these three characters in message text."""
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _escaped(value: str, line_start: bool = False) -> str:
    """Escaped text. Text that continues a line is escaped as such: line-start markup (`1.`, `#`)
    means nothing there. An `@` that ends a run gets a zero-width space, so markup that follows
    (`@*everyone*`) cannot complete a channel-wide mention."""
    # A leading "." stands for the text before it on the line; it is itself never escaped.
    s = md.text(value) if line_start else md.text("." + value)[1:]
    return s + md.ZWSP if s.endswith("@") else s


def _angle(content: str, line_start: bool) -> str:
    target, _, label = _unescape(content).partition("|")
    if target.startswith("!"):
        word = target[1:].split("^")[0]
        return _escaped("@" + word if word in _BROADCASTS else label or word, line_start)
    if target.startswith(("@", "#")):
        return _escaped(target[0] + label.lstrip("@#") if label else target, line_start)
    return md.link(label or target, target)


def _spans(value: str, inline: bool, line_start: bool) -> str:
    if inline:
        value = value.replace("\n", " ")
    out, pos = [], 0

    def at_start(i: int) -> bool:
        return line_start if i == 0 else value[i - 1] == "\n"

    for m in _SPAN.finditer(value):
        out.append(_escaped(_unescape(value[pos : m.start()]), at_start(pos)))
        if m["code"] is not None:
            out.append(md.code(_unescape(m["code"])))
        elif m["angle"] is not None:
            out.append(_angle(m["angle"], at_start(m.start())))
        else:
            inner = _spans(m["bold"] or m["italic"] or m["strike"], inline, line_start=False)
            marker = "**" if m["bold"] else "*" if m["italic"] else ""
            out.append(f"{marker}{inner}{marker}" if inner.strip() else inner)
        pos = m.end()
    out.append(_escaped(_unescape(value[pos:]), at_start(pos)))
    return "".join(out)


def _mrkdwn(value, inline: bool = False) -> str:
    """Slack mrkdwn as Copera markdown; `inline` keeps it on one line (list items, fields)."""
    # A Copera message holds 10,000 characters: converting more of a huge text only costs time.
    value = value[:MAX_MRKDWN] if isinstance(value, str) else ""
    parts, pos = [], 0
    # The start of the value counts as a line start even inline: the result is stripped, and may
    # be shown as a block of its own (a footer), where `# x` or `✅ x` would be markup again.
    for m in _FENCE.finditer(value):
        parts.append(_spans(value[pos : m.start()], inline, line_start=not inline or pos == 0))
        code = _unescape(m.group(1)).strip("\n")
        parts.append(md.code(code) if inline else f"\n{md.fenced(code)}\n")
        pos = m.end()
    parts.append(_spans(value[pos:], inline, line_start=not inline or pos == 0))
    return "".join(parts).strip()


def _plain_span(m: re.Match) -> str:
    if m["angle"] is not None:
        target, _, label = m["angle"].partition("|")
        if target.startswith("!"):
            word = target[1:].split("^")[0]
            return "@" + word if word in _BROADCASTS else label or word
        if target.startswith(("@", "#")):
            return target[0] + label.lstrip("@#") if label else target
        return label or target
    return _plain(m["code"] or m["bold"] or m["italic"] or m["strike"] or "")


def _plain(value: str) -> str:
    """mrkdwn as plain text (for titles, which the renderer escapes)."""
    return _unescape(_SPAN.sub(_plain_span, _FENCE.sub(lambda m: m.group(1), value)))


def _lead(value: str) -> tuple[str, str]:
    """A title made of the first line of `value`, and the mrkdwn still to show below it. A first
    line with a link, a code block or too much text for a title is shown in full as well."""
    head, _, rest = value.strip().partition("\n")
    title = " ".join(_plain(head).split())
    if _LINK.search(head) or "```" in head or len(title) > TITLE_LIMIT:
        return md.first_line(_plain(value), TITLE_LIMIT), value
    return title, rest


# -- Block Kit ---------------------------------------------------------------------------------
def _dicts(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _str(value) -> str:
    return value if isinstance(value, str) else ""


def _text_object(obj, inline: bool = False) -> str:
    """A Block Kit text object: `plain_text` is taken literally, `mrkdwn` converted."""
    if not isinstance(obj, dict):
        return ""
    if obj.get("type") == "plain_text":
        return md.inline(_str(obj.get("text")), None) if inline else md.text(_str(obj.get("text")))
    return _mrkdwn(obj.get("text"), inline)


def _plain_of(obj) -> str:
    if not isinstance(obj, dict):
        return ""
    text = _str(obj.get("text"))
    return text if obj.get("type") == "plain_text" else _plain(text)


def _element_link(element: dict) -> str:
    """An image or a URL button as a link; other interactive elements have nothing to show."""
    if element.get("type") == "image":
        return md.link(_str(element.get("alt_text")) or "image", element.get("image_url"))
    if element.get("type") == "button" and md.safe_url(element.get("url")):
        return md.link(_plain_of(element.get("text")) or "link", element.get("url"))
    return ""


def _styled(element: dict, line_start: bool) -> str:
    """One `text` element of a rich_text section, with its bold/italic/code style."""
    raw = _str(element.get("text"))
    style = element.get("style") if isinstance(element.get("style"), dict) else {}
    if style.get("code"):
        return md.code(raw)
    core = raw.strip()
    emphasised = style.get("bold") or style.get("italic")
    s = _escaped(core, line_start and not emphasised)
    if s and style.get("bold"):
        s = f"**{s}**"
    if s and style.get("italic"):
        s = f"*{s}*"
    return raw[: len(raw) - len(raw.lstrip())] + s + raw[len(raw.rstrip()) :] if core else raw


def _rich_inline(elements) -> str:
    out: list[str] = []
    for el in _dicts(elements):
        kind = el.get("type")
        line_start = not out or out[-1].endswith("\n")
        if kind == "text":
            out.append(_styled(el, line_start))
        elif kind == "link":
            out.append(md.link(_str(el.get("text")) or _str(el.get("url")), el.get("url")))
        elif kind == "broadcast":
            out.append(_escaped("@" + _str(el.get("range")), line_start))
        elif kind in ("user", "usergroup"):
            out.append(_escaped("@" + _str(el.get("user_id") or el.get("usergroup_id")), line_start))
        elif kind == "channel":
            out.append(_escaped("#" + _str(el.get("channel_id")), line_start))
        elif kind == "emoji":
            out.append(_escaped(f":{_str(el.get('name'))}:", line_start))
        elif kind == "date":
            out.append(_escaped(_str(el.get("fallback")), line_start))
    return "".join(out).strip()


def _rich_plain(elements) -> str:
    return "".join(_str(el.get("text")) or _str(el.get("url")) for el in _dicts(elements))


def _rich_text(block: dict) -> list[str]:
    out = []
    for el in _dicts(block.get("elements")):
        kind = el.get("type")
        if kind == "rich_text_section":
            out.append(_rich_inline(el.get("elements")))
        elif kind == "rich_text_list":
            items = [_rich_inline(s.get("elements")).replace("\n", " ") for s in _dicts(el.get("elements"))]
            out.append(md.bullets([i for i in items if i]))
        elif kind == "rich_text_preformatted":
            out.append(md.fenced(_rich_plain(el.get("elements"))))
        elif kind == "rich_text_quote":
            out.append(md.quote(_rich_plain(el.get("elements"))))
    return out


def _block(block: dict) -> list[str]:
    kind = block.get("type")
    if kind == "section":
        items = [_text_object(f, inline=True) for f in _dicts(block.get("fields"))]
        accessory = block.get("accessory")
        return [
            _text_object(block.get("text")),
            md.bullets([i for i in items if i]),
            _element_link(accessory) if isinstance(accessory, dict) else "",
        ]
    if kind == "header":
        return [md.bold(_plain_of(block.get("text")))]
    if kind == "context":
        parts = (_element_link(e) or _text_object(e) for e in _dicts(block.get("elements")))
        return ["\n".join(filter(None, parts))]
    if kind == "divider":
        return ["---"]
    if kind == "image":
        label = _plain_of(block.get("title")) or _str(block.get("alt_text")) or "image"
        return [md.link(label, block.get("image_url"))]
    if kind == "actions":
        return [" · ".join(filter(None, (_element_link(e) for e in _dicts(block.get("elements")))))]
    if kind == "rich_text":
        return _rich_text(block)
    return []


def _blocks(blocks: list[dict]) -> list[str]:
    return [part for block in blocks for part in _block(block) if part]


# -- attachments -------------------------------------------------------------------------------
def _field(field: dict) -> str:
    title = " ".join(_str(field.get("title")).split())
    value = _mrkdwn(field.get("value"), inline=True)
    if title and value:
        return md.fields([(md.inline(title), value)])
    return md.bold(title) if title else value


def _attachment(att: dict, show_title: bool) -> list[str]:
    title = _str(att.get("title"))
    heading = md.link(title, att.get("title_link")) if att.get("title_link") else md.bold(title)
    return [
        _mrkdwn(att.get("pretext")),
        md.link(_str(att.get("author_name")), att.get("author_link")) if att.get("author_name") else "",
        heading if show_title and title else "",
        _mrkdwn(att.get("text")),
        "\n".join(filter(None, (_field(f) for f in att.get("fields") or []))),
        md.link("image", att.get("image_url")) if att.get("image_url") else "",
        *_blocks(_dicts(att.get("blocks"))),
        _mrkdwn(att.get("footer"), inline=True),
    ]


# -- the message -------------------------------------------------------------------------------
def _title_from_first_section(blocks: list[dict]) -> tuple[str, list[dict]]:
    """Uses the first line of a leading section as the title, leaving the rest of it in place."""
    first = blocks[0]
    if first.get("type") != "section" or not isinstance(first.get("text"), dict):
        return "", blocks
    title, rest = _lead(_str(first["text"].get("text")))
    return title, [{**first, "text": {**first["text"], "text": rest}}, *blocks[1:]]


def format_message(p: dict) -> Message:
    text = p.get("text") or ""
    blocks = _dicts(p.get("blocks"))
    attachments = p.get("attachments") or []
    title, url, body = "", None, []
    if blocks and blocks[0].get("type") == "header":
        title, blocks = _plain_of(blocks[0].get("text")), blocks[1:]
    if blocks:
        # With blocks, Slack shows only the blocks; `text` is the notification fallback.
        title = title or md.first_line(_plain(text), TITLE_LIMIT)
        if not title:
            title, blocks = _title_from_first_section(blocks)
        body += _blocks(blocks)
    elif text.strip():
        if not title:
            title, text = _lead(text)
        body.append(_mrkdwn(text))
    for att in attachments:
        use_title = not title and bool(att.get("title"))
        if use_title:
            title, url = att["title"], att.get("title_link")
        body += _attachment(att, show_title=not use_title)
    if not title:
        title = next((md.first_line(_plain(a["fallback"]), TITLE_LIMIT) for a in attachments if a.get("fallback")), "")
    colors = [COLORS.get((a.get("color") or "").lower(), "info") for a in attachments]
    sender = " · ".join(filter(None, (p.get("username"), p.get("channel"))))
    return Message(
        title=title or "Slack message",
        url=url,
        severity=min(colors, key=rank, default="info"),
        body=[b for b in (*body, md.italic(sender)) if b],
        labels={"channel": p["channel"]} if p.get("channel") else {},
    )


def _has_content(p: dict) -> bool:
    pieces = ("title", "text", "pretext", "fallback", "fields", "image_url", "blocks", "footer", "author_name")
    return bool(
        (p.get("text") or "").strip()
        or _dicts(p.get("blocks"))
        or any(att.get(k) for att in p.get("attachments") or [] for k in pieces)
    )


class Slack(Source):
    name = "slack"
    only_event = "message"
    title = "Slack-compatible webhook"
    setup = "Paste https://<relay>/hooks/<route>?token=<secret> wherever the tool asks for a Slack incoming-webhook URL"
    schema = SlackSchema
    events: ClassVar[dict[str, Event]] = {"message": Event(format_message)}

    def ignore_reason(self, event, payload):
        return None if _has_content(payload) else "the message has no text, blocks or attachments"


SOURCE = Slack()
