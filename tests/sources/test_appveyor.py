import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture


def test_failed_matrix_build_names_the_failed_job():
    assert render_fixture("appveyor", "build_failure__matrix.json") == [
        "🔴 **[widget-toolkit build 3.2.418 failed](https://ci.appveyor.com/project/acme/widget-toolkit/build/"
        "3.2.418)**\n\n"
        "**Branch:** `release/3.2`\n"
        "**Commit:** [9f1c2ab](https://github.com/acme/widget-toolkit/commit/"
        "9f1c2ab7e4d04c5b8a6e21f3d7c90b1e2a4f6d88) Pin msbuild to 17.8 on Windows images\n"
        "**By:** Priya Raman\n"
        "**Failed jobs:** `Image: Visual Studio 2022; Platform: x86`",
    ]


def test_successful_build():
    assert render_fixture("appveyor", "build_success__single_job.json") == [
        "✅ **[widget-toolkit build 3.2.419 passed](https://ci.appveyor.com/project/acme/widget-toolkit/build/"
        "3.2.419)**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** [4e07d1c](https://github.com/acme/widget-toolkit/commit/"
        "4e07d1c9b2a35f8e6d1c0b9a8f7e6d5c4b3a2910) Add dark theme tokens\n"
        "**By:** Tomás Ferreira",
    ]


def test_branch_is_known_for_filters():
    assert receive_fixture("appveyor", "build_failure__matrix.json").branch == "release/3.2"


def test_unknown_event_is_not_supported():
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["appveyor"].receive(
            b'{"eventName": "deployment_success", "eventData": {}}', "application/json", Headers()
        )


def test_payload_not_from_appveyor_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["appveyor"].receive(b'{"status": "failed"}', "application/json", Headers())
