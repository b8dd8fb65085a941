import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture


def test_stage_failed_lists_jobs_by_result():
    assert render_fixture("gocd", "stage__failed.json") == [
        "🔴 **deploy-web #42 stage smoke-tests failed**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** [c1a5d7e](https://gitlab.com/acme/web/commit/"
        "c1a5d7e9b3f2408a6e4d2c0b8a7f6e5d4c3b2a19)\n"
        "**Failed jobs:** `checkout-flow`\n"
        "**Passed jobs:** `search`, `login`",
    ]


def test_manually_approved_stage_passed():
    assert render_fixture("gocd", "stage__passed_manual.json") == [
        "✅ **deploy-web #42 stage release passed**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** [c1a5d7e](https://gitlab.com/acme/web/commit/"
        "c1a5d7e9b3f2408a6e4d2c0b8a7f6e5d4c3b2a19)\n"
        "**By:** olga.k\n"
        "**Passed jobs:** `publish`",
    ]


def test_stage_building():
    assert render_fixture("gocd", "stage__building.json") == [
        "🔵 **deploy-web #42 stage smoke-tests is building**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** [c1a5d7e](https://gitlab.com/acme/web/commit/"
        "c1a5d7e9b3f2408a6e4d2c0b8a7f6e5d4c3b2a19)",
    ]


def test_agent_status_is_ignored():
    with pytest.raises(Ignored, match="agent"):
        receive_fixture("gocd", "agent__idle.json")


def test_unknown_type_is_not_supported():
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["gocd"].receive(b'{"type": "pipeline", "data": {}}', "application/json", Headers())


def test_branch_comes_from_the_git_material():
    assert receive_fixture("gocd", "stage__failed.json").branch == "main"


def test_payload_not_from_gocd_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["gocd"].receive(b'{"pipeline": "x"}', "application/json", Headers())
