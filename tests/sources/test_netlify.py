import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture


def test_production_deploy_ready():
    assert render_fixture("netlify", "deploy_created__production.json") == [
        "✅ **[acme-docs deploy is ready](https://docs.acme.test)**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** [5d41402](https://github.com/acme/docs/commit/"
        "5d41402abc4b2a76b9719d911017c592ae5e0b7a) Document the new webhooks page\n"
        "**By:** kim-l\n"
        "**Took:** 1m 24s",
    ]


def test_deploy_preview_failed():
    assert render_fixture("netlify", "deploy_failed__preview.json") == [
        "🔴 **[acme-docs deploy preview failed](https://app.netlify.com/sites/acme-docs/deploys/"
        "65f0b2c3d4e5f6a7b8c9d0e1)**\n\n"
        "**Branch:** `search-box`\n"
        "**Commit:** [aaf4c61](https://github.com/acme/docs/commit/"
        "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d) Add search box\n"
        "**By:** kim-l\n"
        "**Preview:** [https://deploy-preview-57--acme-docs.netlify.app](https://deploy-preview-57-"
        "-acme-docs.netlify.app)\n"
        "**Pull request:** [#57](https://github.com/acme/docs/pull/57)\n\n"
        "> Failed during stage 'building site': Build script returned non-zero exit code: 2",
    ]


def test_branch_deploy_building():
    assert render_fixture("netlify", "deploy_building__branch.json") == [
        "🔵 **[acme-docs branch deploy is building](https://staging--acme-docs.netlify.app)**\n\n**Branch:** `staging`",
    ]


def test_locked_deploy_names_the_deploy_publishing_is_locked_to():
    assert render_fixture("netlify", "deploy_locked__rollback.json") == [
        "🔵 **[acme-docs deploy was locked](https://docs.acme.test)**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** [c4ca423](https://github.com/acme/docs/commit/c4ca4238a0b923820dcc509a6f75849b1e2f3a4d) "
        "Fix broken links in the API reference\n"
        "**By:** ravi-m",
    ]


def test_unlocked_deploy():
    assert render_fixture("netlify", "deploy_unlocked__auto_publish_resumed.json") == [
        "🔵 **[acme-docs deploy was unlocked](https://docs.acme.test)**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** [5d41402](https://github.com/acme/docs/commit/5d41402abc4b2a76b9719d911017c592ae5e0b7a) "
        "Document the new webhooks page\n"
        "**By:** kim-l",
    ]


def test_unknown_event_is_not_supported():
    with pytest.raises(Ignored, match="not supported"):
        receive_fixture("netlify", "deploy_created__production.json", headers={"X-Netlify-Event": "submission_created"})


def test_payload_not_from_netlify_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["netlify"].receive(
            b'{"state": "ready"}', "application/json", Headers({"X-Netlify-Event": "deploy_created"})
        )
