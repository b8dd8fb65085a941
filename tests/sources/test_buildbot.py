import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture


def test_failed_build_from_http_status_push():
    assert render_fixture("buildbot", "finished__failure_http_status_push.json") == [
        "🔴 **[parser-linux build #57 failed](https://buildbot.acme.test/#/builders/3/builds/57)**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** [e3b0c44](https://github.com/acme/parser/commit/e3b0c44298fc1c149afbf4c8996fb92427ae41e4)\n"
        "**Project:** `acme/parser`\n"
        "**Status:** failed test (failure)",
    ]


def test_started_build_from_http_status_push():
    assert render_fixture("buildbot", "new__http_status_push.json") == [
        "🔵 **[parser-linux build #58 started](https://buildbot.acme.test/#/builders/3/builds/58)**",
    ]


def test_compact_build_with_warnings():
    assert render_fixture("buildbot", "finished__warnings_compact.json") == [
        "🟠 **[docs-html build #2090 passed with warnings](https://buildbot.acme.test/#/builders/7/builds/112)**\n\n"
        "**Project:** `acme/docs`",
    ]


def test_compact_build_started():
    assert render_fixture("buildbot", "new__compact.json") == [
        "🔵 **[docs-html build #2091 started](https://buildbot.acme.test/#/builders/7/builds/113)**",
    ]


def test_branch_comes_from_the_build_properties():
    assert receive_fixture("buildbot", "finished__failure_http_status_push.json").branch == "main"


def test_unknown_event_is_not_supported():
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["buildbot"].receive(b'{"event": "step", "buildid": 7}', "application/json", Headers())


def test_payload_not_from_buildbot_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["buildbot"].receive(b'{"event": "finished", "build": 7}', "application/json", Headers())
