import pytest

from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture


def test_failed_quality_gate_lists_failing_conditions():
    assert render_fixture("sonarqube", "analysis__gate_failed.json") == [
        "🔴 **[Billing API quality gate failed](https://sonar.acme.test/dashboard?id=acme_billing-api&branch=main)**"
        "\n\n"
        "**Branch:** `main`\n"
        "**Commit:** `c739069`\n\n"
        "- **new reliability rating** is C, must be ≤ A (error)\n"
        "- **new coverage** is 61.35, must be ≥ 80 (error)",
    ]


def test_passed_quality_gate_of_a_pull_request():
    assert render_fixture("sonarqube", "analysis__gate_passed_pull_request.json") == [
        "✅ **[Billing API quality gate passed](https://sonar.acme.test/dashboard?id=acme_billing-api&"
        "pullRequest=88)**\n\n"
        "**Commit:** `5b8e1f0`\n"
        "**Pull request:** `#88`",
    ]


def test_failed_background_task():
    assert render_fixture("sonarqube", "analysis__task_failed.json") == [
        "🔴 **[Billing API analysis failed](https://sonar.acme.test/dashboard?id=acme_billing-api&"
        "branch=feature%2Fledger)**\n\n"
        "**Branch:** `feature/ledger`",
    ]


def test_branch_is_known_for_filters_but_not_for_pull_requests():
    assert receive_fixture("sonarqube", "analysis__gate_failed.json").branch == "main"
    assert receive_fixture("sonarqube", "analysis__gate_passed_pull_request.json").branch is None


def test_payload_not_from_sonarqube_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["sonarqube"].receive(b'{"project": "billing"}', "application/json", Headers())
