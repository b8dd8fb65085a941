import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, fixture_bytes, receive_fixture, render_fixture


def test_build_passed():
    assert render_fixture("buildkite", "build.finished__passed.json") == [
        "✅ **[Mobile App build #1042 passed](https://buildkite.com/acme/mobile-app/builds/1042)**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** [a94a8fe](https://github.com/acme/mobile-app/commit/"
        "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3) Add dark mode toggle to settings\n"
        "**By:** Priya Nair\n"
        "**Took:** 7m 35s",
    ]


def test_pull_request_build_failed():
    assert render_fixture("buildkite", "build.finished__failed_pull_request.json") == [
        "🔴 **[Mobile App build #1043 failed](https://buildkite.com/acme/mobile-app/builds/1043)**\n\n"
        "**Branch:** `fix/upload-retry`\n"
        "**Commit:** [b6589fc](https://github.com/acme/mobile-app/commit/"
        "b6589fc6ab0dc82cf12099d1c2d40ab994e8410c) Retry uploads on 503\n"
        "**Pull request:** \\#415",
    ]


@pytest.mark.parametrize("fixture", ["build.running__started.json", "ping__settings_changed.json"])
def test_ping_and_unfinished_builds_are_ignored(fixture):
    with pytest.raises(Ignored):
        receive_fixture("buildkite", fixture)


def test_unknown_event_is_not_supported():
    with pytest.raises(Ignored, match="not supported"):
        receive_fixture("buildkite", "build.finished__passed.json", headers={"X-Buildkite-Event": "agent.connected"})


def test_payload_not_from_buildkite_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["buildkite"].receive(
            b'{"build": {}}', "application/json", Headers({"X-Buildkite-Event": "build.finished"})
        )


def test_each_finish_of_a_build_is_its_own_delivery():
    incoming = receive_fixture("buildkite", "build.finished__passed.json")
    body = fixture_bytes("buildkite", "build.finished__passed.json")
    key, _ = SOURCES["buildkite"].delivery_key(incoming.event, incoming.payload, Headers(), body)
    assert key == "id:build.finished:0190a3c2-7d41-4b8e-9f26-5e1c0a9b8d73:2024-03-12T10:07:40.000Z"
