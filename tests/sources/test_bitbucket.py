import hashlib
import hmac
import json

import pytest

from bot.auth import AuthError
from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, fixture_bytes, render_fixture

SOURCE = SOURCES["bitbucket"]
REPO = "https://bitbucket.org/northwind/billing-api"
HEAD = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
BASE = "5d1e0c9b7a6f4e3d2c1b0a9f8e7d6c5b4a3f2e1d"


def render(fixture: str, event: str) -> list[str]:
    return render_fixture("bitbucket", fixture, {"X-Event-Key": event})


def test_push_lists_commits_and_names_other_authors():
    assert render("repo_push__commits.json", "repo:push") == [
        f"🔵 **[billing-api: push to main]({REPO}/branches/compare/{HEAD}..{BASE})**\n\n"
        "**Mara Lindqvist** pushed 2 commits to `main`:\n\n"
        f"- Retry card captures on gateway timeouts ([9a8b7c6]({REPO}/commits/{HEAD}))\n"
        f"- Log the \\*gateway\\* request id ([c3d2e1f]({REPO}/commits/c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4))"
        " — Tomás Oyelaran"
    ]


def test_push_of_a_tag_and_a_branch_deletion_is_one_message_each():
    assert render("repo_push__tag_and_deleted_branch.json", "repo:push") == [
        f"🔵 **[billing-api: tag v2.4.0]({REPO}/commits/tag/v2.4.0)**\n\n"
        f"**Mara Lindqvist** pushed tag `v2.4.0` at [9a8b7c6]({REPO}/commits/{HEAD}).",
        f"🔵 **[billing-api: branch feature/retry-captures deleted]({REPO}/branch/feature/retry-captures)**\n\n"
        "**Mara Lindqvist** deleted branch `feature/retry-captures`.",
    ]


def test_pull_request_created():
    assert render("pullrequest_created__reviewers.json", "pullrequest:created") == [
        f"🔵 **[billing-api: PR #87 Idempotency keys for refunds]({REPO}/pull-requests/87)**\n\n"
        "**Tomás Oyelaran** opened `feature/refund-idempotency` → `main`\n\n"
        "**Reviewers:** Mara Lindqvist, Jun Park\n\n"
        "> Refunds retried by the worker were applied twice.\n"
        ">\n"
        "> \\- store the key with the refund\n"
        "> \\- reject a second refund with the same key"
    ]


def test_pull_request_merged():
    assert render("pullrequest_fulfilled__merged.json", "pullrequest:fulfilled") == [
        f"✅ **[billing-api: PR #87 Idempotency keys for refunds]({REPO}/pull-requests/87)**\n\n"
        "**Mara Lindqvist** merged `feature/refund-idempotency` → `main`"
    ]


def test_failed_build_status():
    assert render("repo_commit_status_updated__failed.json", "repo:commit_status_updated") == [
        "🔴 **[billing-api: Unit tests failed](https://ci.northwind.example/builds/5521)**\n\n"
        f"**Unit tests** failed on [9a8b7c6]({REPO}/commits/{HEAD}) (`main`).\n\n"
        "3 of 412 tests failed"
    ]


def test_issue_comment():
    assert render("issue_comment_created__basic.json", "issue:comment_created") == [
        f"🔵 **[billing-api: issue #12 Invoice PDF shows the wrong VAT rate]"
        f"({REPO}/issues/12/invoice-pdf-shows-the-wrong-vat-rate)**\n\n"
        f"**Jun Park** [commented]({REPO}/issues/12#comment-66120931):\n\n"
        "> Reproduced with the Rotterdam test account. The rate table is from 2019."
    ]


PR = f"**[billing-api: PR #87 Idempotency keys for refunds]({REPO}/pull-requests/87)**"
ISSUE = (
    "**[billing-api: issue #14 Refund export skips partial refunds]"
    f"({REPO}/issues/14/refund-export-skips-partial-refunds)**"
)
COMMENT = f"{REPO}/pull-requests/87/_/diff#comment-501223"
EDITED = "> Should the key expire after 24 hours? A retry a week later is a new refund."


def test_pull_request_updated_repeats_branches_reviewers_and_description():
    assert render("pullrequest_updated__retitled.json", "pullrequest:updated") == [
        f"🔵 {PR}\n\n"
        "**Tomás Oyelaran** updated `feature/refund-idempotency` → `main`\n\n"
        "**Reviewers:** Mara Lindqvist, Jun Park\n\n"
        "> Refunds retried by the worker were applied twice; the key now lives with the refund."
    ]


@pytest.mark.parametrize(
    ("fixture", "event", "expected"),
    [
        ("pullrequest_approved__basic.json", "pullrequest:approved", f"✅ {PR}\n\n**Mara Lindqvist** approved."),
        (
            "pullrequest_unapproved__basic.json",
            "pullrequest:unapproved",
            f"🔵 {PR}\n\n**Mara Lindqvist** removed their approval.",
        ),
        (
            "pullrequest_changes_request_created__basic.json",
            "pullrequest:changes_request_created",
            f"🟠 {PR}\n\n**Jun Park** requested changes.",
        ),
        (
            "pullrequest_changes_request_removed__basic.json",
            "pullrequest:changes_request_removed",
            f"🔵 {PR}\n\n**Jun Park** withdrew their change request.",
        ),
        (
            "pullrequest_rejected__declined.json",
            "pullrequest:rejected",
            f"🔵 {PR}\n\n**Mara Lindqvist** declined `feature/refund-idempotency` → `main`",
        ),
        (
            "pullrequest_comment_created__basic.json",
            "pullrequest:comment_created",
            f"🔵 {PR}\n\n**Mara Lindqvist** [commented]({COMMENT}):\n\n"
            "> Should the key expire? A \\*\\*retry\\*\\* a week later is a new refund.",
        ),
        (
            "pullrequest_comment_updated__basic.json",
            "pullrequest:comment_updated",
            f"🔵 {PR}\n\n**Mara Lindqvist** [edited a comment]({COMMENT}):\n\n{EDITED}",
        ),
        (
            "pullrequest_comment_deleted__basic.json",
            "pullrequest:comment_deleted",
            f"🔵 {PR}\n\n**Mara Lindqvist** [deleted a comment]({COMMENT}):\n\n{EDITED}",
        ),
    ],
)
def test_pull_request_reviews_and_comments(fixture, event, expected):
    assert render(fixture, event) == [expected]


@pytest.mark.parametrize(
    ("fixture", "event", "reason"),
    [
        ("pullrequest_comment_resolved__basic.json", "pullrequest:comment_resolved", "resolving a comment thread"),
        ("pullrequest_comment_reopened__basic.json", "pullrequest:comment_reopened", "reopening a comment thread"),
    ],
)
def test_comment_thread_resolution_is_ignored(fixture, event, reason):
    with pytest.raises(Ignored) as err:
        render(fixture, event)
    assert err.value.reason == f"{reason} is not posted"


def test_issue_created():
    assert render("issue_created__assigned.json", "issue:created") == [
        f"🔵 {ISSUE}\n\n"
        "**Jun Park** opened this issue, assigned to Mara Lindqvist:\n\n"
        "> The March export lists 212 refunds; the ledger has 219.\n"
        "> All 7 missing ones are partial."
    ]


def test_issue_update_lists_the_changes_and_quotes_the_comment_made_with_them():
    assert render("issue_updated__resolved.json", "issue:updated") == [
        f"🔵 {ISSUE}\n\n"
        "**Mara Lindqvist** updated this issue:\n\n"
        "- status: `new` → `resolved`\n\n"
        "> Fixed by #91: the export now reads refunds from the ledger."
    ]


def test_commit_comment_links_the_commit_from_the_repository_when_bitbucket_sends_no_link():
    assert render("repo_commit_comment_created__basic.json", "repo:commit_comment_created") == [
        f"🔵 **[billing-api: comment on commit 9a8b7c6]({REPO}/commits/{HEAD}#comment-4418207)**\n\n"
        f"**Jun Park** [commented]({REPO}/commits/{HEAD}#comment-4418207) on [9a8b7c6]({REPO}/commits/{HEAD}):\n\n"
        "> This drops the \\*retry\\* header for old clients."
    ]


def test_passed_build_status():
    assert render("repo_commit_status_created__passed.json", "repo:commit_status_created") == [
        "✅ **[billing-api: Integration tests passed](https://ci.northwind.example/builds/5530)**\n\n"
        f"**Integration tests** passed on [9a8b7c6]({REPO}/commits/{HEAD}) (`feature/refund-idempotency`).\n\n"
        "148 tests passed in 3m 02s"
    ]


def test_fork():
    assert render("repo_fork__basic.json", "repo:fork") == [
        "🔵 **[billing-api: forked](https://bitbucket.org/jpark/billing-api)**\n\n"
        "**Jun Park** forked the repository into [jpark/billing-api](https://bitbucket.org/jpark/billing-api)."
    ]


def test_repository_rename_lists_changed_settings_without_the_slug():
    assert render("repo_updated__renamed.json", "repo:updated") == [
        "🔵 **[payments-api: settings changed](https://bitbucket.org/northwind/payments-api)**\n\n"
        "**Mara Lindqvist** changed the repository settings:\n\n"
        "- name: `billing-api` → `payments-api`\n"
        "- full name: `northwind/billing-api` → `northwind/payments-api`\n"
        "- description: `Invoices, refunds and card captures`"
    ]


def test_event_is_told_from_the_payload_when_the_header_is_missing():
    incoming = SOURCE.receive(fixture_bytes("bitbucket", "repo_push__commits.json"), "application/json", Headers())
    assert (incoming.event, incoming.branch) == ("repo:push", "main")


def test_pull_request_branch_is_the_destination():
    incoming = SOURCE.receive(
        fixture_bytes("bitbucket", "pullrequest_created__reviewers.json"),
        "application/json",
        Headers({"X-Event-Key": "pullrequest:created"}),
    )
    assert incoming.branch == "main"


def test_unsupported_event():
    body = json.dumps({"actor": {"display_name": "Jun Park"}, "repository": {"name": "billing-api"}}).encode()
    with pytest.raises(Ignored, match="not supported"):
        SOURCE.receive(body, "application/json", Headers({"X-Event-Key": "repo:transfer"}))


def test_in_progress_build_and_empty_push_are_ignored():
    status = json.loads(fixture_bytes("bitbucket", "repo_commit_status_updated__failed.json"))
    status["commit_status"]["state"] = "INPROGRESS"
    with pytest.raises(Ignored, match="in progress"):
        SOURCE.receive(
            json.dumps(status).encode(), "application/json", Headers({"X-Event-Key": "repo:commit_status_created"})
        )
    push = {"actor": {"display_name": "Jun Park"}, "repository": {"name": "billing-api"}, "push": {"changes": []}}
    with pytest.raises(Ignored, match="without branch or tag changes"):
        SOURCE.receive(json.dumps(push).encode(), "application/json", Headers({"X-Event-Key": "repo:push"}))


def test_payload_not_from_bitbucket_is_rejected():
    with pytest.raises(PayloadError) as err:
        SOURCE.receive(b'{"object_kind": "push"}', "application/json", Headers({"X-Event-Key": "repo:push"}))
    assert "repository" in err.value.details


def test_signature_is_checked():
    body = fixture_bytes("bitbucket", "repo_push__commits.json")
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    SOURCE.auth.verify(Headers({"X-Hub-Signature": good}), {}, body, "s3cret")
    with pytest.raises(AuthError):
        SOURCE.auth.verify(Headers({"X-Hub-Signature": good}), {}, body + b" ", "s3cret")
