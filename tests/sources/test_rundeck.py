import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, render_fixture


def test_failed_execution_lists_failed_nodes():
    assert render_fixture("rundeck", "failure__failed_nodes.json") == [
        "🔴 **[Rotate nginx logs execution #4127 failed](https://rundeck.acme.test/project/ops/execution/show/4127)**"
        "\n\n"
        "**By:** svc-rundeck\n"
        "**Job:** [maintenance/web/Rotate nginx logs](https://rundeck.acme.test/project/ops/job/show/"
        "6f0c2d8e-1b4a-4c9e-9d3f-7a5b2e8c1f04)\n"
        "**Project:** `ops`\n"
        "**Failed nodes:** `web-03`",
    ]


def test_ad_hoc_execution_succeeded():
    assert render_fixture("rundeck", "success__adhoc.json") == [
        "✅ **[Ad hoc command execution #4130 succeeded](https://rundeck.acme.test/project/ops/execution/show/4130)**"
        "\n\n"
        "**By:** lmartin\n"
        "**Project:** `ops`",
    ]


def test_execution_running_longer_than_average():
    assert render_fixture("rundeck", "avgduration__long_running.json") == [
        "🟠 **[Nightly DB backup execution #4131 is running longer than average](https://rundeck.acme.test/"
        "project/ops/execution/show/4131)**\n\n"
        "**By:** svc-rundeck\n"
        "**Job:** [Nightly DB backup](https://rundeck.acme.test/project/ops/job/show/"
        "2a9d7c4b-8e1f-4d6a-b3c5-0f9e8d7c6b5a)\n"
        "**Project:** `ops`",
    ]


def test_started_execution_names_who_ran_it():
    assert render_fixture("rundeck", "start__user_run.json") == [
        "🔵 **[Deploy storefront execution #4132 started](https://rundeck.acme.test/project/ops/execution/show/4132)**"
        "\n\n"
        "**By:** lmartin\n"
        "**Job:** [deploy/Deploy storefront](https://rundeck.acme.test/project/ops/job/show/"
        "9c1e4a7b-2d5f-4b8e-a0c3-6f9d2b5e8a17)\n"
        "**Project:** `ops`",
    ]


def test_retryable_failure_warns_with_the_failed_nodes():
    assert render_fixture("rundeck", "retryablefailure__two_nodes.json") == [
        "🟠 **[Rotate nginx logs execution #4133 failed and will be retried](https://rundeck.acme.test/project/ops/"
        "execution/show/4133)**\n\n"
        "**By:** svc-rundeck\n"
        "**Job:** [maintenance/web/Rotate nginx logs](https://rundeck.acme.test/project/ops/job/show/"
        "6f0c2d8e-1b4a-4c9e-9d3f-7a5b2e8c1f04)\n"
        "**Project:** `ops`\n"
        "**Failed nodes:** `web-02`, `web-03`",
    ]


def test_unknown_trigger_is_not_supported():
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["rundeck"].receive(b'{"trigger": "onresume", "execution": {"id": 3}}', "application/json", Headers())


def test_payload_not_from_rundeck_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["rundeck"].receive(b'{"trigger": "success", "executionId": 3}', "application/json", Headers())
