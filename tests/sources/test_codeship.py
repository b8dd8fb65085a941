import pytest

from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture


def test_failed_build():
    assert render_fixture("codeship", "build__error.json") == [
        "🔴 **[acme/billing-api build failed](https://app.codeship.com/projects/402118/builds/58213377)**\n\n"
        "**Branch:** `feature/charge-retries`\n"
        "**Commit:** `c3b1e8f` Retry card charges on gateway timeouts\n"
        "**By:** nadia-k",
    ]


def test_successful_build():
    assert render_fixture("codeship", "build__success.json") == [
        "✅ **[acme/billing-api build passed](https://app.codeship.com/projects/402118/builds/58213512)**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** `7d2e9a1` Merge pull request #88 from acme/feature/charge-retries\n"
        "**By:** nadia-k",
    ]


def test_build_started():
    assert render_fixture("codeship", "build__testing.json") == [
        "🔵 **[acme/billing-api build started](https://app.codeship.com/projects/402118/builds/58213600)**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** `0a1b2c3` Bump stripe SDK to 8.4\n"
        "**By:** deps-bot",
    ]


def test_branch_is_known_for_filters():
    assert receive_fixture("codeship", "build__error.json").branch == "feature/charge-retries"


def test_payload_not_from_codeship_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["codeship"].receive(b'{"status": "success"}', "application/json", Headers())
