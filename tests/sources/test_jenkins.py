import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture


def test_finalized_failure_shows_the_log_tail():
    assert render_fixture("jenkins", "build__finalized_failure.json") == [
        "🔴 **[payments-api build #311 failed](https://jenkins.acme.test/job/payments-api/311/)**\n\n"
        "**Branch:** `release/2.4`\n"
        "**Commit:** [7f3e2a1](https://github.com/acme/payments-api/commit/"
        "7f3e2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f)\n"
        "**By:** Ines Park\n"
        "**Took:** 3m 4s\n\n"
        "```\n"
        "[Pipeline] sh\n"
        "+ pytest -q\n"
        "..F.\n"
        "FAILED tests/test_ledger.py::test_rounding - AssertionError: 10.01 != 10.00\n"
        "1 failed, 3 passed in 2.31s\n"
        "ERROR: script returned exit code 1\n"
        "```",
    ]


def test_finalized_success_links_an_ssh_remote():
    assert render_fixture("jenkins", "build__finalized_success.json") == [
        "✅ **[Docs site build #87 passed](https://jenkins.acme.test/job/docs-site/87/)**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** [0d4c3b2](https://github.com/acme/docs-site/commit/"
        "0d4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a1)\n"
        "**Took:** 42s",
    ]


def test_phases_before_finalized_are_ignored():
    with pytest.raises(Ignored, match="COMPLETED"):
        receive_fixture("jenkins", "build__completed.json")


def test_branch_drops_the_remote_name():
    assert receive_fixture("jenkins", "build__finalized_failure.json").branch == "release/2.4"


def test_payload_not_from_jenkins_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["jenkins"].receive(b'{"name": "job", "result": "SUCCESS"}', "application/json", Headers())
