"""`json`: the last resort for tools without an integration: any JSON body is posted as a code block.

The module is not called `json.py` so that it can never be mistaken for the standard library's
`json` (for example by a tool run from inside this folder).
"""

import json
from typing import ClassVar

from bot import markdown as md
from bot.message import Message
from bot.sources.base import Event, Source

# Room left for the title line and the code fence, so the block itself is cut with a visible "…"
# rather than dropped by the renderer.
BLOCK_LIMIT = md.MAX_MESSAGE - 100


def format_json(payload) -> Message:
    pretty = json.dumps(payload, indent=2, ensure_ascii=False)
    return Message(title="JSON payload", body=[md.fenced(pretty, "json", limit=BLOCK_LIMIT)])


class JsonDump(Source):
    name = "json"
    only_event = "json"
    title = "Any JSON"
    setup = (
        "Point any tool that posts JSON at https://<relay>/hooks/<route> with Authorization: Bearer <secret> "
        "(or append ?token=<secret>); the body is posted as a code block"
    )
    events: ClassVar[dict[str, Event]] = {"json": Event(format_json)}


SOURCE = JsonDump()
