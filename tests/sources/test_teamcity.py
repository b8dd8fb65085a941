import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture


def test_build_broken():
    assert render_fixture("teamcity", "buildFinished__broken.json") == [
        "🔴 **[Backend :: Unit tests build #1877 is "
        "broken](https://teamcity.acme.test/viewLog.html?buildTypeId=Backend_UnitTests&"
        "buildId=48211)**\n\n"
        "**By:** Git\n"
        "**Status:** Tests failed: 3 (3 new), passed: 412\n"
        "**Changes:** [view](https://teamcity.acme.test/viewLog.html?buildTypeId=Backend_UnitTests&"
        "buildId=48211&tab=buildChangesDiv)",
    ]


def test_build_fixed_on_a_branch():
    assert render_fixture("teamcity", "buildFinished__fixed_branch.json") == [
        "✅ **[Backend :: Unit tests build #1879 was "
        "fixed](https://teamcity.acme.test/viewLog.html?buildTypeId=Backend_UnitTests&"
        "buildId=48230)**\n\n"
        "**Branch:** `feature/retry`\n"
        "**By:** Dana Whitfield\n"
        "**Status:** Tests passed: 415\n"
        "**Changes:** [view](https://teamcity.acme.test/viewLog.html?buildTypeId=Backend_UnitTests&"
        "buildId=48230&tab=buildChangesDiv)",
    ]


def test_build_interrupted():
    assert render_fixture("teamcity", "buildInterrupted__canceled.json") == [
        "🟠 **[Backend :: Unit tests build #1880 was "
        "interrupted](https://teamcity.acme.test/viewLog.html?buildTypeId=Backend_UnitTests&"
        "buildId=48235)**\n\n"
        "**By:** Dana Whitfield\n"
        "**Status:** Canceled (Running tests)\n"
        "**Changes:** [view](https://teamcity.acme.test/viewLog.html?buildTypeId=Backend_UnitTests&"
        "buildId=48235&tab=buildChangesDiv)",
    ]


def test_started_build_is_ignored():
    with pytest.raises(Ignored, match="finished"):
        receive_fixture("teamcity", "buildStarted__running.json")


def test_unknown_notify_type_is_not_supported():
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["teamcity"].receive(b'{"build": {"notifyType": "buildPinned"}}', "application/json", Headers())


def test_branch_filter_uses_the_display_name():
    assert receive_fixture("teamcity", "buildFinished__fixed_branch.json").branch == "feature/retry"


def test_payload_not_from_teamcity_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["teamcity"].receive(b'{"username": "TeamCity", "attachments": []}', "application/json", Headers())
