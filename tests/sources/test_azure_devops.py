import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, fixture_bytes, render_fixture

SOURCE = SOURCES["azure-devops"]
WEB = "https://dev.azure.com/contoso/Retail/_git/storefront"
PR = f"**[storefront: PR #214 Guest checkout]({WEB}/pullrequest/214)**"


def receive(payload: dict):
    return SOURCE.receive(json.dumps(payload).encode(), "application/json", Headers())


def test_push_links_commits_on_the_web_not_the_clone_url():
    old, new = "c6a3e9f1b4d7a0c3e6f9b2d5a8c1e4f7b0d3a6c9", "1f4c8e2a9b7d3f6e0c5a8b1d4e7f2a9c6b3d0e81"
    assert render_fixture("azure-devops", "git.push__commits.json") == [
        f"🔵 **[storefront: push to main]({WEB}/branchCompare?baseVersion=GC{old}&targetVersion=GC{new}&_a=files)**\n\n"
        "**Priya Raman** pushed 2 commits to `main`:\n\n"
        f"- Cache product images at the CDN edge ([1f4c8e2]({WEB}/commit/{new}))\n"
        "- Fix checkout total when a coupon \\<expires\\> mid-session "
        f"([8d2b5f9]({WEB}/commit/8d2b5f9e3a6c1d4f7b0e2a5c8f1d3b6e9a0c4f72)) — Omar Haddad"
    ]


def test_pull_request_created_as_draft():
    assert render_fixture("azure-devops", "git.pullrequest.created__draft.json") == [
        f"🔵 {PR}\n\n"
        "**Priya Raman** opened `feature/guest-checkout` → `main` as a draft\n\n"
        "**Reviewers:** Omar Haddad\n\n"
        "> Lets shoppers pay without an account.\n"
        ">\n"
        "> Behind the \\`guest-checkout\\` flag."
    ]


def test_pull_request_update_reads_azures_own_summary():
    assert render_fixture("azure-devops", "git.pullrequest.updated__source_branch.json") == [
        f"🔵 {PR}\n\nPriya Raman updated the source branch of pull request 214 (Guest checkout) in storefront"
    ]


def test_pull_request_completed():
    assert render_fixture("azure-devops", "git.pullrequest.merged__completed.json") == [
        f"✅ {PR}\n\n**Omar Haddad** merged `feature/guest-checkout` → `main`"
    ]


def test_merge_conflicts_are_a_warning():
    assert render_fixture("azure-devops", "git.pullrequest.merged__conflicts.json") == [
        f"🟠 {PR}\n\nMerging `feature/guest-checkout` → `main` has merge conflicts."
    ]


def test_merge_preview_of_an_open_pull_request_is_ignored():
    payload = json.loads(fixture_bytes("azure-devops", "git.pullrequest.merged__conflicts.json"))
    payload["resource"]["mergeStatus"] = "succeeded"
    with pytest.raises(Ignored, match="still open"):
        receive(payload)


def test_failed_build():
    assert render_fixture("azure-devops", "build.complete__failed.json") == [
        "🔴 **[storefront-ci #20240506.4 failed](https://dev.azure.com/contoso/Retail/_build/results?buildId=5877)**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** `1f4c8e2`\n"
        "**Requested by:** Priya Raman"
    ]


def test_release_deployment_succeeded():
    assert render_fixture("azure-devops", "ms.vss-release.deployment-completed-event__succeeded.json") == [
        "✅ **[Retail: Release-58 to Production succeeded]"
        "(https://dev.azure.com/contoso/Retail/_release?releaseId=58&_a=release-summary)**\n\n"
        "**Release pipeline:** storefront-cd\n"
        "**Requested by:** Omar Haddad"
    ]


def test_branch_and_delivery_id_come_from_the_payload():
    incoming = receive(json.loads(fixture_bytes("azure-devops", "build.complete__failed.json")))
    body = fixture_bytes("azure-devops", "git.push__commits.json")
    key, _ = SOURCE.delivery_key("git.push", json.loads(body), Headers(), body)
    assert (incoming.branch, key) == ("main", "id:3e9a1c47-5b2d-4f80-a6c3-9d1e7b2f4a58")


def test_unsupported_event():
    with pytest.raises(Ignored, match="not supported"):
        receive({"eventType": "workitem.created", "id": "x", "resource": {"id": 5}})


def test_payload_not_from_azure_devops_is_rejected():
    with pytest.raises(PayloadError) as err:
        receive({"object_kind": "push"})
    assert "eventType" in err.value.details
