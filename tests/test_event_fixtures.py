"""Every event `flask --app bot sources` lists has a fixture that a source test renders.

A declared event is a promise to users that its message was read by someone; the promise is kept by
a payload in the repository (written from the sender's documentation) and a test of the message it
produces. This fails, naming the source and the event, when one is missing.

A fixture of an event is `tests/fixtures/<source>/<event>__<variant>.json` (`.txt` for a form-encoded
body), with the event spelled as the existing fixtures spell it:
- `:` and spaces become `_`: Bitbucket's `repo:push` -> `repo_push__commits.json`, Opsgenie's
  `custom action` -> `custom_action__restart.json`;
- GitLab's events are its `X-Gitlab-Event` values, which all end in " Hook": the fixture drops the
  suffix and lowercases the rest, `Merge Request Hook` -> `merge_request__opened.json`;
- the wildcard `*` (standard-webhooks accepts every event type, it has no list) is spelled `any`: its
  fixture `any__<variant>.json` carries a type the source knows nothing about.
A test references a fixture by naming the file, quoted, in `tests/sources/test_<module>.py`, and a
fixture named for an event must be one: the source tells that event from it (for senders that name
the event in a header, the header carries the name, as `tests.formatting.receive_fixture` sends it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.datastructures import Headers

from bot.cli import sources_command
from bot.sources import SOURCES

TESTS = Path(__file__).parent
WILDCARD = "*"
GITLAB_SUFFIX = " Hook"


def fixture_event_name(event: str) -> str:
    """How fixture file names spell an event (see the module docstring)."""
    if event == WILDCARD:
        return "any"
    if event.endswith(GITLAB_SUFFIX):
        event = event.removesuffix(GITLAB_SUFFIX).lower()
    return re.sub(r"[: ]", "_", event)


def detected_event(source: str, fixture: str, event: str) -> str | None:
    """The event `source` reads from the fixture when it is delivered as `event`."""
    sender = SOURCES[source]
    content_type = "application/x-www-form-urlencoded" if fixture.endswith(".txt") else "application/json"
    payload = sender.parse_body((TESTS / "fixtures" / source / fixture).read_bytes(), content_type)
    return sender.detect_event(payload, Headers({sender.event_header: event} if sender.event_header else {}))


def _declared() -> list[tuple[str, str]]:
    listing = CliRunner().invoke(sources_command, ["--json"])
    assert listing.exit_code == 0, listing.output
    return [(entry["source"], event) for entry in json.loads(listing.output) for event in entry["events"]]


DECLARED = _declared()


@pytest.mark.parametrize("source, event", DECLARED, ids=[f"{s}:{e}" for s, e in DECLARED])
def test_declared_event_has_a_fixture_a_test_renders(source, event):
    prefix = fixture_event_name(event) + "__"
    fixtures = sorted(
        path.name for path in (TESTS / "fixtures" / source).glob(prefix + "*")
        if path.suffix in (".json", ".txt")
    )
    assert fixtures, f"{source}: event {event!r} has no fixture tests/fixtures/{source}/{prefix}<variant>.json"
    module = type(SOURCES[source]).__module__.rsplit(".", 1)[-1]
    test_file = TESTS / "sources" / f"test_{module}.py"
    tests = test_file.read_text() if test_file.exists() else ""
    tested = [name for name in fixtures if re.search(rf"[\"']{re.escape(name)}[\"']", tests)]
    assert tested, f"{source}: event {event!r} has fixtures {fixtures} but {test_file.name} uses none of them"
    # The wildcard stands for whatever type the payload carries, so any event the sender does not ignore.
    read = {name: detected_event(source, name, event) for name in tested}
    assert any(found == event or (event == WILDCARD and found not in SOURCES[source].ignored)
               for found in read.values()), f"{source}: no fixture named for {event!r} is one: {read}"

