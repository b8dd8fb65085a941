import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture

W = "https://gitlab.example.com/platform/billing-api"
C1 = "3f1c2a9be0d5c1e7a4b8f6d2e9c0a1b2c3d4e5f6"
C2 = "9a8b7c6d5e4f30211234567890abcdef12345678"


def render(fixture: str, event: str) -> list[str]:
    return render_fixture("gitlab", fixture, {"X-Gitlab-Event": event})


PUSH = [
    f"🔵 **[Ana Souza pushed 2 commits to feature/retry-webhooks in platform/billing-api]"
    f"({W}/-/compare/1111222233334444555566667777888899990000...{C2})**\n\n"
    f"- [3f1c2a9]({W}/-/commit/{C1}) Retry failed payment webhooks\n"
    f"- [9a8b7c6]({W}/-/commit/{C2}) Fix flaky \\`test_retry\\` on CI (Bruno Lima)"
]


def test_push():
    assert render("push__two_commits.json", "Push Hook") == PUSH


def test_system_hook_push_reads_like_a_project_push():
    assert render("push__two_commits.json", "System Hook") == PUSH


def test_branch_deleted():
    assert render("push__branch_deleted.json", "Push Hook") == [
        f"🔵 **[Ana Souza deleted branch feature/retry-webhooks in platform/billing-api]({W}/-/branches)**"
    ]


def test_merge_request_opened_hides_html_comments():
    assert render("merge_request__opened.json", "Merge Request Hook") == [
        "🔵 **[Ana Souza opened MR !57 in platform/billing-api: Retry failed payment webhooks]"
        f"({W}/-/merge_requests/57)**\n\n"
        "**Branches:** `feature/retry-webhooks` → `main`\n"
        "**Assignees:** Bruno Lima\n\n"
        "> Adds exponential backoff.\n>\n> Closes #12."
    ]


def test_merge_request_merged():
    assert render("merge_request__merged.json", "Merge Request Hook") == [
        "✅ **[Bruno Lima merged MR !57 in platform/billing-api: Retry failed payment webhooks]"
        f"({W}/-/merge_requests/57)**\n\n"
        "**Branches:** `feature/retry-webhooks` → `main`"
    ]


def test_issue_opened():
    assert render("issue__opened.json", "Issue Hook") == [
        "🔵 **[Ana Souza opened issue #12 in platform/billing-api: Payment webhooks are lost when the bank API "
        f"times out]({W}/-/issues/12)**\n\n"
        "**Assignees:** Ana Souza, Bruno Lima\n\n"
        "> Seen 14 times yesterday.\n> See the \\*\\*payments\\*\\* dashboard."
    ]


def test_comment_on_merge_request_cannot_mention_everyone():
    assert render("note__merge_request.json", "Note Hook") == [
        "🔵 **[Bruno Lima commented on MR !57 in platform/billing-api: Retry failed payment webhooks]"
        f"({W}/-/merge_requests/57#note_5512)**\n\n"
        "> Looks good, but please cap the retries at 5.\n>\n> @\u200ball FYI"
    ]


def test_pipeline_failed_lists_failed_jobs():
    assert render("pipeline__failed.json", "Pipeline Hook") == [
        f"🔴 **[Pipeline #88123 failed on feature/retry-webhooks in platform/billing-api]({W}/-/pipelines/88123)**\n\n"
        f"**Commit:** [9a8b7c6]({W}/-/commit/{C2}) Fix flaky \\`test_retry\\` on CI\n"
        "**By:** Ana Souza\n"
        "**Duration:** 4m 12s\n\n"
        "**Failed jobs:**\n"
        f"- [unit-tests]({W}/-/jobs/551) (test)"
    ]


def test_pipeline_running():
    assert render("pipeline__running.json", "Pipeline Hook") == [
        f"🔵 **[Pipeline #88124 started on main in platform/billing-api]({W}/-/pipelines/88124)**\n\n"
        f"**Commit:** [9a8b7c6]({W}/-/commit/{C2}) Fix flaky \\`test_retry\\` on CI\n"
        "**By:** Bruno Lima"
    ]


def test_job_failed():
    assert render("job__failed.json", "Job Hook") == [
        f"🔴 **[Job unit-tests (test) failed on main in platform/billing-api]({W}/-/jobs/561)**\n\n"
        f"**Commit:** [9a8b7c6]({W}/-/commit/{C2}) Fix flaky \\`test_retry\\` on CI\n"
        "**Reason:** script failure"
    ]


def test_deployment_succeeded():
    assert render("deployment__success.json", "Deployment Hook") == [
        f"✅ **[Deployment to production succeeded in platform/billing-api]({W}/-/jobs/570)**\n\n"
        "**Ref:** `main`\n"
        f"**Commit:** [9a8b7c6]({W}/-/commit/{C2}) Fix flaky \\`test_retry\\` on CI\n"
        "**By:** Bruno Lima\n"
        "**Environment:** [https://billing.example.com](https://billing.example.com)"
    ]


def test_release_created():
    assert render("release__create.json", "Release Hook") == [
        f"🔵 **[Release Billing API 2.4.0 published in platform/billing-api]({W}/-/releases/v2.4.0)**\n\n"
        "**Tag:** `v2.4.0`\n\n"
        "> \\## What's new\n>\n> \\- Retries for payment webhooks\n> \\- Faster invoice export"
    ]


def test_tag_pushed_quotes_its_message():
    assert render("tag_push__annotated.json", "Tag Push Hook") == [
        f"🔵 **[Bruno Lima pushed tag v2.4.0 in platform/billing-api]({W}/-/tags/v2.4.0)**\n\n> Billing API 2.4.0"
    ]


def test_tag_deleted():
    assert render("tag_push__deleted.json", "Tag Push Hook") == [
        f"🔵 **[Bruno Lima deleted tag v2.4.0 in platform/billing-api]({W}/-/tags)**"
    ]


CONFIDENTIAL = "confidential issue #19 in platform/billing-api: Card numbers appear in the retry worker's debug log"


def test_confidential_issue_says_so():
    assert render("confidential_issue__opened.json", "Confidential Issue Hook") == [
        f"🔵 **[Bruno Lima opened {CONFIDENTIAL}]({W}/-/issues/19)**\n\n"
        "**Assignees:** Ana Souza\n\n"
        "> Found while reading \\`worker.log\\` on staging.\n>\n> Severity: high."
    ]


def test_comment_on_a_confidential_issue_says_the_issue_is_confidential():
    assert render("confidential_note__issue.json", "Confidential Note Hook") == [
        f"🔵 **[Ana Souza commented on {CONFIDENTIAL}]({W}/-/issues/19#note_5540)**\n\n"
        "> Masked in the formatter; rotating the staging logs now."
    ]


def test_wiki_page_created():
    assert render("wiki_page__created.json", "Wiki Page Hook") == [
        "🔵 **[Ana Souza created a wiki page in platform/billing-api: Runbook: webhook retries]"
        f"({W}/-/wikis/runbook-webhook-retries)**"
    ]


def test_system_hook_merge_request_reads_like_a_project_one():
    assert render("system__merge_request.json", "System Hook") == [
        "✅ **[Bruno Lima merged MR !58 in platform/billing-api: Mask card numbers in debug logs]"
        f"({W}/-/merge_requests/58)**\n\n"
        "**Branches:** `fix/mask-card-numbers` → `main`"
    ]


def test_test_button_confirms_the_hook_whatever_trigger_it_tests():
    assert render("test__push_events.json", "Test Hook") == [
        f"🔵 **[GitLab webhook test in platform/billing-api]({W})**"
    ]


@pytest.mark.parametrize(
    ("fixture", "event", "branch"),
    [
        ("push__two_commits.json", "Push Hook", "feature/retry-webhooks"),
        ("push__two_commits.json", "System Hook", "feature/retry-webhooks"),
        ("merge_request__opened.json", "Merge Request Hook", "main"),
        ("pipeline__failed.json", "Pipeline Hook", "feature/retry-webhooks"),
        ("job__failed.json", "Job Hook", "main"),
        ("release__create.json", "Release Hook", None),
        ("tag_push__annotated.json", "Tag Push Hook", None),
        ("system__merge_request.json", "System Hook", "main"),
    ],
)
def test_branch_for_filters(fixture, event, branch):
    assert receive_fixture("gitlab", fixture, {"X-Gitlab-Event": event}).branch == branch


def test_other_system_hook_events_are_ignored():
    with pytest.raises(Ignored, match="repository_update"):
        receive_fixture("gitlab", "system__repository_update.json", {"X-Gitlab-Event": "System Hook"})


def test_unsupported_event():
    with pytest.raises(Ignored, match="not supported"):
        receive_fixture("gitlab", "push__two_commits.json", {"X-Gitlab-Event": "Feature Flag Hook"})


def test_payload_not_from_gitlab_is_rejected():
    with pytest.raises(PayloadError):
        receive_fixture("gitlab", "push__two_commits.json", {"X-Gitlab-Event": "Pipeline Hook"})
    with pytest.raises(PayloadError):
        SOURCES["gitlab"].receive(b'{"message": "hello"}', "application/json", Headers({}))


def test_redeliveries_are_recognised_by_gitlabs_event_uuid():
    headers = Headers({"X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e"})
    key, _ = SOURCES["gitlab"].delivery_key("Push Hook", {}, headers, b"{}")
    assert key == "id:13792a34-cac6-4fda-95a8-c58e00a3954e"
