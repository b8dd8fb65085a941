"""`standard-webhooks`: any sender that follows the Standard Webhooks spec (standardwebhooks.com).

Svix and the services built on it (Clerk, Resend, Brex, …) and a growing list of others sign every
delivery the same way: `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64>` over
`{id}.{timestamp}.{body}`, see `bot.auth.StandardWebhooks`. Their bodies share one envelope,
`{"type": "invoice.paid", "timestamp": "…", "data": {…}}`, and nothing more in common, so every
event type is accepted (route `events:` patterns such as `invoice.*` still filter) and shown like
the `json` source: the type as title and `data` as a JSON code block.
"""

from __future__ import annotations

import json

from marshmallow import fields, validate

from bot import markdown as md
from bot.auth import StandardWebhooks
from bot.message import Message
from bot.sources.base import Event, Lenient, Source

# Room left for the title and the `Sent:` line, so the block is cut with a visible "…".
BLOCK_LIMIT = md.MAX_MESSAGE - 400


class EnvelopeSchema(Lenient):
    type = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    timestamp = fields.Str(allow_none=True)


class AnyEvent(dict):
    """Every event name maps to the one formatter; documented as `*`."""

    def __init__(self, event: Event):
        super().__init__({"*": event})

    def get(self, key, default=None):
        return self["*"]

    def __missing__(self, key):
        return self["*"]


def format_event(p: dict) -> Message:
    data = p.get("data")
    pretty = json.dumps(data, indent=2, ensure_ascii=False)
    return Message(
        title=p["type"],
        body=[
            md.fields([("Sent", md.inline(p.get("timestamp"), 60))]),
            md.fenced(pretty, "json", limit=BLOCK_LIMIT) if data is not None else "",
        ],
    )


class StandardWebhooksSource(Source):
    name = "standard-webhooks"
    title = "Standard Webhooks"
    setup = (
        "In the sender's webhook settings (Svix, Clerk, Resend, …) add the endpoint https://<relay>/hooks/<route> "
        "and use the signing secret it shows (whsec_…) as the route secret"
    )
    auth = StandardWebhooks()
    delivery_headers = ("webhook-id",)
    schema = EnvelopeSchema
    events = AnyEvent(Event(format_event))

    def detect_event(self, payload, headers):
        return payload["type"].strip() or None


SOURCE = StandardWebhooksSource()
