import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture


def test_classic_build_failed():
    assert render_fixture("semaphore", "build__failed.json") == [
        "🔴 **[inventory build #58 failed](https://semaphoreci.com/acme/inventory/branches/develop/"
        "builds/58)**\n\n"
        "**Branch:** `develop`\n"
        "**Commit:** [2fd4e1c](https://github.com/acme/inventory/commit/"
        "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12) Reserve stock before payment\n"
        "**By:** Ravi Menon",
    ]


def test_classic_deploy_passed():
    assert render_fixture("semaphore", "deploy__passed.json") == [
        "✅ **[inventory deploy #23 to production-eu "
        "passed](https://semaphoreci.com/acme/inventory/servers/production-eu/deploys/23)**\n\n"
        "**Branch:** `master`\n"
        "**Commit:** [da39a3e](https://github.com/acme/inventory/commit/"
        "da39a3ee5e6b4b0d3255bfef95601890afd80709) Merge branch 'develop'\n"
        "**By:** Ravi Menon\n"
        "**Build:** [#61](https://semaphoreci.com/acme/inventory/branches/master/builds/61)",
    ]


def test_pipeline_for_a_pull_request_failed():
    assert render_fixture("semaphore", "pipeline__pull_request_failed.json") == [
        "🔴 **[checkout pipeline CI failed](https://acme.semaphoreci.com/workflows/1f2e3d4c-5b6a-"
        "4978-8695-a4b3c2d1e0f9)**\n\n"
        "**Branch:** `coupon-validation`\n"
        "**Commit:** [77de68d](https://github.com/acme/checkout/commit/"
        "77de68daecd823babbb58edb1c8e14d7106e83bb)\n"
        "**By:** jdoe\n"
        "**Pull request:** Validate coupon codes server-side (#214)\n"
        "**Failed jobs:** `unit`, `e2e`",
    ]


def test_pipeline_for_a_tag_passed():
    assert render_fixture("semaphore", "pipeline__tag_passed.json") == [
        "✅ **[checkout pipeline Release passed](https://acme.semaphoreci.com/workflows/6e5d4c3b-"
        "2a19-4f8e-8d7c-6b5a4f3e2d1c)**\n\n"
        "**Tag:** `v3.2.0`\n"
        "**Commit:** [1b64538](https://github.com/acme/checkout/commit/"
        "1b6453892473a467d07372d45eb05abc2031647a) Release 3.2.0\n"
        "**By:** jdoe",
    ]


def test_branch_of_a_pull_request_is_its_head_branch():
    assert receive_fixture("semaphore", "pipeline__pull_request_failed.json").branch == "coupon-validation"
    assert receive_fixture("semaphore", "pipeline__tag_passed.json").branch is None


def test_unknown_classic_event_is_not_supported():
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["semaphore"].receive(b'{"event": "promotion", "result": "passed"}', "application/json", Headers())


@pytest.mark.parametrize("body", [b'{"message": "hi"}', b"[1, 2]", b'{"event": "build", "result": "passed"}'])
def test_payload_not_from_semaphore_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["semaphore"].receive(body, "application/json", Headers())
