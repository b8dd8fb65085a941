"""Runs fixture payloads through a source exactly as intake and worker do, without Redis or HTTP."""

from __future__ import annotations

import re
from pathlib import Path

from werkzeug.datastructures import Headers

from bot.message import render
from bot.sources import SOURCES

FIXTURES = Path(__file__).parent / "fixtures"


def _norm(name: str) -> str:
    s = re.sub(r"[^a-z0-9]", "", name.lower())
    return s.removesuffix("hook")


def event_for_fixture(source, fixture_name: str) -> str:
    """The event header a fixture is sent with (`push__x.json` -> GitLab's "Push Hook"): its name
    up to `__`, matched to a declared event ignoring case, punctuation and a trailing "Hook"."""
    prefix = fixture_name.split("__")[0].removesuffix(".json").removesuffix(".txt")
    names = {_norm(e): e for e in [*source.events, *source.ignored]}
    return names.get(_norm(prefix), prefix)


def fixture_bytes(source: str, fixture: str) -> bytes:
    return (FIXTURES / source / fixture).read_bytes()


def receive_fixture(source_name: str, fixture: str, headers: dict | None = None, content_type: str | None = None):
    """`Source.receive()` on a fixture. When the source names events by header, the fixture's event
    (`event_for_fixture`) is sent as that header unless `headers` says otherwise."""
    source = SOURCES[source_name]
    all_headers = {}
    if source.event_header:
        all_headers[source.event_header] = event_for_fixture(source, fixture)
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
