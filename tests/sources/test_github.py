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


def test_tag_created():
    assert render_fixture("github", "create__tag.json") == [
        "🔵 **[ada created tag v1.3.0 in acme/rocket](https://github.com/acme/rocket/tree/v1.3.0)**"
    ]


def test_branch_deleted():
    assert render_fixture("github", "delete__branch.json") == [
        "🔵 **[grace deleted branch launch-checklist in acme/rocket](https://github.com/acme/rocket)**"
    ]


def test_commit_comment_names_the_file():
    assert render_fixture("github", "commit_comment__created.json") == [
        "🔵 **[grace commented on commit 0f1e2d3 in acme/rocket]"
        "(https://github.com/acme/rocket/commit/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c#commitcomment-98001)**\n\n"
        "**File:** `docs/checklist.md`\n\n"
        "> Step 3 should say \\*after\\* fueling, not before."
    ]


def test_review_comment_names_the_file():
    assert render_fixture("github", "pull_request_review_comment__created.json") == [
        "🔵 **[grace commented on PR #42 in acme/rocket: Add launch checklist]"
        "(https://github.com/acme/rocket/pull/42#discussion_r77001)**\n\n"
        "**File:** `src/countdown.py`\n\n"
        "> \\`range(n, 0, -1)\\` skips zero; is that intended?"
    ]


def test_discussion_started():
    assert render_fixture("github", "discussion__created.json") == [
        "🔵 **[grace started discussion #7 in acme/rocket: Should the countdown start at 10 or 5?]"
        "(https://github.com/acme/rocket/discussions/7)**\n\n"
        "**Category:** Ideas\n\n"
        "> Ten feels traditional, five is faster. Opinions?"
    ]


def test_discussion_moved_to_another_category():
    assert render_fixture("github", "discussion__category_changed.json") == [
        "🔵 **[ada moved discussion #7 from General to Ideas in acme/rocket: Should the countdown start at 10 or 5?]"
        "(https://github.com/acme/rocket/discussions/7)**"
    ]


def test_discussion_comment():
    assert render_fixture("github", "discussion_comment__created.json") == [
        "🔵 **[ada commented on discussion #7 in acme/rocket: Should the countdown start at 10 or 5?]"
        "(https://github.com/acme/rocket/discussions/7#discussioncomment-4401)**\n\n"
        "> Five. Nobody waits for ten."
    ]


def test_check_run_failure_gives_its_summary():
    assert render_fixture("github", "check_run__completed.json") == [
        "🔴 **[Check unit tests failed on main in acme/rocket](https://github.com/acme/rocket/runs/2283001)**\n\n"
        "**Commit:** [0f1e2d3](https://github.com/acme/rocket/commit/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c)\n"
        "**Summary:** 3 of 212 tests failed"
    ]


def test_check_suite_success_names_the_app():
    assert render_fixture("github", "check_suite__completed.json") == [
        "✅ **[Checks by Acme CI succeeded on main in acme/rocket]"
        "(https://github.com/acme/rocket/commit/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c)**\n\n"
        "**Commit:** [0f1e2d3](https://github.com/acme/rocket/commit/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c)"
        " Fix countdown timer off-by-one"
    ]


def test_commit_status_failure_links_the_ci():
    assert render_fixture("github", "status__failure.json") == [
        "🔴 **[ci/acme failed for 0f1e2d3 in acme/rocket](https://ci.acme.example/builds/318)**\n\n"
        "**Description:** 3 of 212 tests failed\n"
        "**Commit:** [0f1e2d3](https://github.com/acme/rocket/commit/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c)"
        " Fix countdown timer off-by-one"
    ]


def test_deployment_created():
    assert render_fixture("github", "deployment__created.json") == [
        "🔵 **[ada started a deployment to staging in acme/rocket](https://github.com/acme/rocket/deployments)**\n\n"
        "**Ref:** `main`\n"
        "**Commit:** [0f1e2d3](https://github.com/acme/rocket/commit/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c)\n"
        "**Description:** Nightly staging deploy"
    ]


def test_pages_build_error_is_quoted():
    assert render_fixture("github", "page_build__errored.json") == [
        "🔴 **[GitHub Pages build failed in acme/rocket](https://github.com/acme/rocket)**\n\n"
        "**Triggered by:** grace\n"
        "**Commit:** [0f1e2d3](https://github.com/acme/rocket/commit/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c)\n\n"
        "> The tag \\`countdown\\` on line 14 in \\`docs/index.md\\` is not a recognized Liquid tag."
    ]


def test_fork_links_the_fork():
    assert render_fixture("github", "fork__personal.json") == [
        "🔵 **[lin forked acme/rocket to lin/rocket](https://github.com/lin/rocket)**"
    ]


@pytest.mark.parametrize(
    ("fixture", "verb"),
    [("watch__started.json", "starred"), ("star__created.json", "starred"), ("star__deleted.json", "unstarred")],
)
def test_stars(fixture, verb):
    assert render_fixture("github", fixture) == [f"🔵 **[lin {verb} acme/rocket](https://github.com/acme/rocket)**"]


def test_repository_made_public():
    assert render_fixture("github", "public__basic.json") == [
        "🔵 **[ada made acme/rocket public](https://github.com/acme/rocket)**"
    ]


def test_repository_renamed_names_both_with_their_owner():
    assert render_fixture("github", "repository__renamed.json") == [
        "🔵 **[ada renamed repository acme/launchpad to acme/rocket](https://github.com/acme/rocket)**"
    ]


def test_collaborator_added():
    assert render_fixture("github", "member__added.json") == [
        "🔵 **[ada added lin as a collaborator to acme/rocket](https://github.com/lin)**"
    ]


def test_team_membership_added():
    assert render_fixture("github", "membership__added.json") == [
        "🔵 **[ada added lin to team Launch Crew in acme](https://github.com/lin)**"
    ]


def test_team_given_a_repository_does_not_repeat_the_organization():
    assert render_fixture("github", "team__added_to_repository.json") == [
        "🔵 **[ada gave team Launch Crew access to acme/rocket](https://github.com/orgs/acme/teams/launch-crew)**"
    ]


def test_team_add():
    assert render_fixture("github", "team_add__basic.json") == [
        "🔵 **[acme/rocket was added to team Launch Crew](https://github.com/acme/rocket)**"
    ]


def test_wiki_pages_are_listed_with_links():
    assert render_fixture("github", "gollum__two_pages.json") == [
        "🔵 **[grace updated 2 wiki pages in acme/rocket](https://github.com/acme/rocket/wiki/Launch-Procedure)**\n\n"
        "- created [Launch Procedure](https://github.com/acme/rocket/wiki/Launch-Procedure)\n"
        "- edited [Home](https://github.com/acme/rocket/wiki/Home)"
    ]


def test_label_renamed():
    assert render_fixture("github", "label__edited.json") == [
        "🔵 **[ada renamed label bug to defect in acme/rocket](https://github.com/acme/rocket/labels)**"
    ]


def test_milestone_closed():
    assert render_fixture("github", "milestone__closed.json") == [
        "🔵 **[ada closed milestone v1.3 in acme/rocket](https://github.com/acme/rocket/milestone/3)**"
    ]


def test_sponsorship_tier_changed():
    assert render_fixture("github", "sponsorship__tier_changed.json") == [
        "🔵 **[grace changed their sponsorship of ada from $5 a month to $25 a month](https://github.com/ada)**"
    ]


@pytest.mark.parametrize(
    ("fixture", "branch"),
    [
        ("push__commits.json", "main"),
        ("push__tag.json", None),
        ("pull_request__opened.json", "main"),
        ("workflow_run__success.json", "launch-checklist"),
        ("delete__branch.json", "launch-checklist"),
        ("create__tag.json", None),
        ("pull_request_review_comment__created.json", "main"),
        ("check_run__completed.json", "main"),
        ("check_suite__completed.json", "main"),
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
