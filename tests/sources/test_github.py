import hashlib
import hmac
import json

import pytest

from bot.auth import AuthError
from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, fixture_bytes, receive_fixture, render_fixture

GITHUB = SOURCES["github"]


def test_push_lists_commits_with_linked_short_ids():
    assert render_fixture("github", "push__commits.json") == [
        "🔵 **[ada pushed 2 commits to main in acme/rocket]"
        "(https://github.com/acme/rocket/compare/9f8e7d6c5b4a...0f1e2d3c4b5a)**\n\n"
        "- [a1b2c3d](https://github.com/acme/rocket/commit/a1b2c3d4e5f60718293a4b5c6d7e8f9012345678)"
        " Add launch checklist (ada)\n"
        "- [0f1e2d3](https://github.com/acme/rocket/commit/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c)"
        " Fix \\*countdown\\* timer off-by-one (Grace Hopper)"
    ]


def test_force_push_to_new_branch():
    assert render_fixture("github", "push__force_new_branch.json") == [
        "🟠 **[ada force-pushed 1 commit to new branch feature/launch-pad in acme/rocket]"
        "(https://github.com/acme/rocket/compare/feature/launch-pad)**\n\n"
        "- [a1b2c3d](https://github.com/acme/rocket/commit/a1b2c3d4e5f60718293a4b5c6d7e8f9012345678)"
        " Add launch checklist (ada)"
    ]


def test_push_deleting_a_branch():
    assert render_fixture("github", "push__delete_branch.json") == [
        "🔵 **[ada deleted branch old-experiment in acme/rocket]"
        "(https://github.com/acme/rocket/compare/9f8e7d6c5b4a...000000000000)**"
    ]


def test_tag_push():
    assert render_fixture("github", "push__tag.json") == [
        "🔵 **[ada pushed tag v1.2.0 in acme/rocket](https://github.com/acme/rocket/tree/v1.2.0)**"
    ]


def test_form_encoded_payload_reads_like_json():
    assert render_fixture("github", "push__form_encoded.txt", headers={"X-GitHub-Event": "push"}) == [
        "🔵 **[ada pushed tag v1.2.0 in acme/rocket](https://github.com/acme/rocket/tree/v1.2.0)**"
    ]


def test_pull_request_opened():
    assert render_fixture("github", "pull_request__opened.json") == [
        "🔵 **[ada opened PR #42 in acme/rocket: Add launch checklist](https://github.com/acme/rocket/pull/42)**\n\n"
        "**Branches:** `acme:launch-checklist` → `acme:main`\n"
        "**Assignees:** ada\n"
        "**Reviewers:** grace\n\n"
        "> Adds the checklist we use before every launch.\n"
        ">\n"
        "> Closes #41."
    ]


def test_pull_request_merged():
    assert render_fixture("github", "pull_request__merged.json") == [
        "✅ **[grace merged PR #42 in acme/rocket: Add launch checklist](https://github.com/acme/rocket/pull/42)**"
    ]


def test_review_requesting_changes():
    assert render_fixture("github", "pull_request_review__changes_requested.json") == [
        "🟠 **[grace requested changes on PR #42 in acme/rocket: Add launch checklist]"
        "(https://github.com/acme/rocket/pull/42#pullrequestreview-9001)**\n\n"
        "> Please add the abort procedure too."
    ]


def test_workflow_run_failure():
    assert render_fixture("github", "workflow_run__failure.json") == [
        "🔴 **[CI #318 failed on main in acme/rocket](https://github.com/acme/rocket/actions/runs/30433642)**\n\n"
        "**Commit:** [0f1e2d3](https://github.com/acme/rocket/commit/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c)"
        " Fix \\*countdown\\* timer off-by-one\n"
        "**Triggered by:** ada (push)\n"
        "**Attempt:** 2"
    ]


def test_workflow_run_success_links_its_pull_request():
    assert render_fixture("github", "workflow_run__success.json") == [
        "✅ **[CI #318 succeeded on launch-checklist in acme/rocket]"
        "(https://github.com/acme/rocket/actions/runs/30433642)**\n\n"
        "**Commit:** [a1b2c3d](https://github.com/acme/rocket/commit/a1b2c3d4e5f60718293a4b5c6d7e8f9012345678)"
        " Add launch checklist\n"
        "**Triggered by:** ada (pull_request)\n"
        "**Pull requests:** [#42](https://github.com/acme/rocket/pull/42)"
    ]


def test_workflow_job_failure_names_the_failed_step():
    assert render_fixture("github", "workflow_job__failure.json") == [
        "🔴 **[Job CI / test (3.11) failed on main in acme/rocket]"
        "(https://github.com/acme/rocket/actions/runs/30433642/job/2283)**\n\n"
        "**Failed steps:** `Run pytest`\n"
        "**Commit:** [0f1e2d3](https://github.com/acme/rocket/commit/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c)"
    ]


def test_release_published():
    assert render_fixture("github", "release__published.json") == [
        "✅ **[grace published release Liftoff in acme/rocket](https://github.com/acme/rocket/releases/tag/v1.2.0)**\n\n"
        "**Tag:** `v1.2.0`\n\n"
        "> \\## Highlights\n"
        "> \\- Launch checklist\n"
        "> \\- Countdown fix"
    ]


def test_issue_opened_cannot_mention_everyone():
    assert render_fixture("github", "issues__opened.json") == [
        "🔵 **[grace opened issue #41 in acme/rocket: Countdown skips 1](https://github.com/acme/rocket/issues/41)**\n\n"
        "> The timer goes 3, 2, liftoff. @\u200beveryone please check."
    ]


def test_comment_on_a_pull_request():
    assert render_fixture("github", "issue_comment__pull_request.json") == [
        "🔵 **[grace commented on PR #42 in acme/rocket: Add launch checklist]"
        "(https://github.com/acme/rocket/pull/42#issuecomment-1234567)**\n\n"
        "> Looks good once CI is green."
    ]


def test_deployment_status_failure():
    assert render_fixture("github", "deployment_status__failure.json") == [
        "🔴 **[Deployment to production failed in acme/rocket](https://ci.example.com/deploys/222)**\n\n"
        "**Ref:** `main`\n"
        "**Commit:** [0f1e2d3](https://github.com/acme/rocket/commit/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c)\n"
        "**Description:** Health check timed out\n"
        "**Environment URL:** [https://rocket.example.com](https://rocket.example.com)"
    ]


@pytest.mark.parametrize(
    ("fixture", "branch"),
    [
        ("push__commits.json", "main"),
        ("push__tag.json", None),
        ("pull_request__opened.json", "main"),
        ("workflow_run__success.json", "launch-checklist"),
    ],
)
def test_branch_for_filters(fixture, branch):
    assert receive_fixture("github", fixture).branch == branch


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("ping.json", "ping: webhook is configured"),
        ("pull_request__labeled.json", "pull_request labeled: label changes are not posted"),
        ("workflow_run__in_progress.json", "workflow_run: only completed runs are posted"),
    ],
)
def test_noise_is_ignored(fixture, reason):
    with pytest.raises(Ignored) as err:
        receive_fixture("github", fixture)
    assert err.value.reason == reason


def test_merge_queue_push_is_ignored():
    payload = json.loads(fixture_bytes("github", "push__commits.json"))
    payload["ref"] = "refs/heads/gh-readonly-queue/main/pr-42-9f8e7d6c"
    with pytest.raises(Ignored) as err:
        GITHUB.receive(json.dumps(payload).encode(), "application/json", Headers({"X-GitHub-Event": "push"}))
    assert err.value.reason == "push: merge queue branches are not posted"


def test_unsupported_event():
    with pytest.raises(Ignored) as err:
        receive_fixture("github", "push__commits.json", headers={"X-GitHub-Event": "deploy_key"})
    assert "not supported" in err.value.reason


def test_payload_not_from_github_is_rejected():
    gitlab_like = {"object_kind": "push", "ref": "refs/heads/main", "project": {"name": "rocket"}}
    with pytest.raises(PayloadError) as err:
        GITHUB.receive(json.dumps(gitlab_like).encode(), "application/json", Headers({"X-GitHub-Event": "push"}))
    assert "repository" in err.value.details


def test_missing_event_header_is_rejected():
    with pytest.raises(PayloadError):
        GITHUB.receive(fixture_bytes("github", "push__commits.json"), "application/json", Headers())


def test_only_sha256_signatures_are_accepted():
    body = fixture_bytes("github", "push__commits.json")
    digest = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    GITHUB.auth.verify(Headers({"X-Hub-Signature-256": "sha256=" + digest}), {}, body, "s3cret")
    with pytest.raises(AuthError):
        GITHUB.auth.verify(Headers({"X-Hub-Signature": "sha1=" + digest}), {}, body, "s3cret")
