import json

import pytest

from bot import markdown as md
from bot.message import render
from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import Headers, render_fixture


def test_object():
    assert render_fixture("json", "json__object.json") == [
        "🔵 **JSON payload**\n\n"
        "```json\n"
        "{\n"
        "  \"job\": \"nightly-export\",\n"
        "  \"status\": \"finished\",\n"
        "  \"rows\": 18234,\n"
        "  \"duration_seconds\": 412.5,\n"
        "  \"tables\": [\n"
        "    \"orders\",\n"
        "    \"customers\"\n"
        "  ],\n"
        "  \"note\": \"Überprüft ✓\"\n"
        "}\n"
        "```",
    ]


def test_array():
    assert render_fixture("json", "json__array.json") == [
        "🔵 **JSON payload**\n\n"
        "```json\n"
        "[\n"
        "  {\n"
        "    \"host\": \"web-1\",\n"
        "    \"load\": 0.42\n"
        "  },\n"
        "  {\n"
        "    \"host\": \"web-2\",\n"
        "    \"load\": 1.87\n"
        "  }\n"
        "]\n"
        "```",
    ]


def test_large_payload_is_cut_inside_the_code_block():
    source = SOURCES["json"]
    body = json.dumps({"lines": [f"log line {i} ```" for i in range(2000)]}).encode()
    incoming = source.receive(body, "application/json", Headers())
    [text] = [render(m) for m in source.format(incoming.event, incoming.payload)]
    assert len(text) <= md.MAX_MESSAGE
    assert text.startswith("🔵 **JSON payload**\n\n````json\n")
    assert text.endswith("\n…\n````")


def test_body_that_is_not_json_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["json"].receive(b"hello=world", "text/plain", Headers())
