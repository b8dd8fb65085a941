"""Runs fixture payloads through a source exactly as intake and worker do, without Redis or HTTP."""

from __future__ import annotations

from pathlib import Path

from werkzeug.datastructures import Headers

from bot.message import render
from bot.sources import SOURCES

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(source: str, fixture: str) -> bytes:
    return (FIXTURES / source / fixture).read_bytes()


def receive_fixture(source_name: str, fixture: str, headers: dict | None = None, content_type: str | None = None):
    """`Source.receive()` on a fixture. When the source names events by header, the fixture's name
    up to `__` is sent as that header unless `headers` says otherwise."""
    source = SOURCES[source_name]
    all_headers = {}
    if source.event_header:
        all_headers[source.event_header] = fixture.split("__")[0].removesuffix(".json").removesuffix(".txt")
    all_headers.update(headers or {})
    ctype = content_type or ("application/x-www-form-urlencoded" if fixture.endswith(".txt") else "application/json")
    return source.receive(fixture_bytes(source_name, fixture), ctype, Headers(all_headers))


def render_fixture(
    source_name: str, fixture: str, headers: dict | None = None, content_type: str | None = None
) -> list[str]:
    """The Copera messages a fixture produces, rendered."""
    source = SOURCES[source_name]
    incoming = receive_fixture(source_name, fixture, headers, content_type)
    return [render(m) for m in source.format(incoming.event, incoming.payload)]
