import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, fixture_bytes, render_fixture

SOURCE = SOURCES["bitbucket-server"]
REPO = "https://git.example.com/projects/FIN/repos/ledger"
PR = f"**[ledger: PR #412 Round currency conversions half-even]({REPO}/pull-requests/412)**"
HEAD = "e2c5a8f1b4d7e0a3c6f9b2d5e8a1c4f7b0d3e6a9"
ANNA = "[Anna Kowalski](https://git.example.com/users/akowalski)"
LENA = "[Lena Fischer](https://git.example.com/users/lfischer)"


def test_push_updates_a_branch_and_adds_a_tag():
    assert render_fixture("bitbucket-server", "repo_refs_changed__branch_and_tag.json") == [
        f"🔵 **[ledger: push to release/3.2]({REPO}/browse?at=refs/heads/release/3.2)**\n\n"
        f"{ANNA} pushed to `release/3.2`; head is now [e2c5a8f]({REPO}/commits/{HEAD}).",
        f"🔵 **[ledger: tag v3.2.1]({REPO}/browse?at=refs/tags/v3.2.1)**\n\n"
        f"{ANNA} pushed tag `v3.2.1` at [e2c5a8f]({REPO}/commits/{HEAD}).",
    ]


def test_pull_request_opened():
    assert render_fixture("bitbucket-server", "pr_opened__reviewers.json") == [
        f"🔵 {PR}\n\n"
        f"{ANNA} opened `bugfix/FIN-1187-rounding` → `main`\n\n"
        f"**Reviewers:** [Daniel Mensah](https://git.example.com/users/dmensah), {LENA}\n\n"
        "> Banker's rounding, as the auditors asked.\n"
        ">\n"
        "> See FIN-1187."
    ]


def test_pull_request_merged():
    assert render_fixture("bitbucket-server", "pr_merged__basic.json") == [
        f"✅ {PR}\n\n[Daniel Mensah](https://git.example.com/users/dmensah) merged `bugfix/FIN-1187-rounding` → `main`"
    ]


def test_needs_work_is_a_warning():
    assert render_fixture("bitbucket-server", "pr_reviewer_needs_work__basic.json") == [
        f"🟠 {PR}\n\n{LENA} marked the pull request as needing work."
    ]


def test_pull_request_comment():
    assert render_fixture("bitbucket-server", "pr_comment_added__basic.json") == [
        f"🔵 {PR}\n\n{LENA} commented:\n\n> Does this also cover the \\*\\*JPY\\*\\* path? It has no minor units."
    ]


DANIEL = "[Daniel Mensah](https://git.example.com/users/dmensah)"
COMMIT = "4b7d2e91c0a3f58e6d1b9c2a7f0e3d5c8b6a4f12"
EDITED_COMMENT = "> Why half-even here but half-up in the invoice module? FIN-1190 tracks it."
EDITED_PR_COMMENT = "> Does this also cover the JPY path? It has no minor units. Same for KRW."


def test_pull_request_modified_shows_it_as_it_is_now():
    assert render_fixture("bitbucket-server", "pr_modified__retargeted.json") == [
        f"🔵 **[ledger: PR #412 Round all currency conversions half-even]({REPO}/pull-requests/412)**\n\n"
        f"{ANNA} edited `bugfix/FIN-1187-rounding` → `main`\n\n"
        f"**Reviewers:** {DANIEL}, {LENA}\n\n"
        "> Banker's rounding, as the auditors asked.\n"
        ">\n"
        "> See FIN-1187."
    ]


def test_new_commits_link_the_new_head():
    head = "b8e1d4a7c0f3b6e9d2a5c8f1e4b7a0d3c6f9e2b5"
    assert render_fixture("bitbucket-server", "pr_from_ref_updated__new_commits.json") == [
        f"🔵 {PR}\n\n{ANNA} pushed new commits; head is now [b8e1d4a]({REPO}/commits/{head})."
    ]


def test_reviewers_added_and_removed():
    assert render_fixture("bitbucket-server", "pr_reviewer_updated__added_and_removed.json") == [
        f"🔵 {PR}\n\n{ANNA} changed the reviewers: "
        f"added [Olu Adeyemi](https://git.example.com/users/oadeyemi); removed {DANIEL}."
    ]


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("pr_reviewer_approved__basic.json", f"✅ {PR}\n\n{DANIEL} approved."),
        ("pr_reviewer_unapproved__basic.json", f"🔵 {PR}\n\n{DANIEL} removed their approval."),
        ("pr_declined__basic.json", f"🔵 {PR}\n\n{LENA} declined `bugfix/FIN-1187-rounding` → `main`"),
        ("pr_deleted__basic.json", f"🔵 {PR}\n\n{ANNA} deleted the pull request."),
        ("pr_comment_edited__basic.json", f"🔵 {PR}\n\n{LENA} edited a comment:\n\n{EDITED_PR_COMMENT}"),
        ("pr_comment_deleted__basic.json", f"🔵 {PR}\n\n{LENA} deleted a comment:\n\n{EDITED_PR_COMMENT}"),
    ],
)
def test_pull_request_reviews_outcomes_and_comments(fixture, expected):
    assert render_fixture("bitbucket-server", fixture) == [expected]


@pytest.mark.parametrize(
    ("fixture", "verb", "quote"),
    [
        (
            "repo_comment_added__basic.json",
            "commented",
            "> Why \\*half-even\\* here but half-up in the invoice module?",
        ),
        ("repo_comment_edited__basic.json", "edited a comment", EDITED_COMMENT),
        ("repo_comment_deleted__basic.json", "deleted a comment", EDITED_COMMENT),
    ],
)
def test_commit_comments(fixture, verb, quote):
    assert render_fixture("bitbucket-server", fixture) == [
        f"🔵 **[ledger: comment on commit 4b7d2e9]({REPO}/commits/{COMMIT})**\n\n"
        f"{DANIEL} {verb} on [4b7d2e9]({REPO}/commits/{COMMIT}):\n\n{quote}"
    ]


def test_fork_names_the_project_it_went_to_as_forks_keep_the_repository_name():
    fork = "https://git.example.com/users/lfischer/repos/ledger/browse"
    assert render_fixture("bitbucket-server", "repo_forked__personal.json") == [
        f"🔵 **[ledger: forked]({fork})**\n\n{LENA} forked the repository into [\\~LFISCHER/ledger]({fork})."
    ]


def test_repository_rename():
    assert render_fixture("bitbucket-server", "repo_modified__renamed.json") == [
        "🔵 **[general-ledger: settings changed](https://git.example.com/projects/FIN/repos/general-ledger/browse)**\n\n"
        f"{DANIEL} changed the repository settings:\n\n"
        "- name: `ledger` → `general-ledger`"
    ]


def test_branch_filter_facts():
    refs = SOURCE.receive(
        fixture_bytes("bitbucket-server", "repo_refs_changed__branch_and_tag.json"), "application/json", Headers()
    )
    pr = SOURCE.receive(fixture_bytes("bitbucket-server", "pr_opened__reviewers.json"), "application/json", Headers())
    assert (refs.branch, pr.branch) == ("release/3.2", "main")


def test_connection_test_ping_is_ignored():
    with pytest.raises(Ignored) as err:
        render_fixture(
            "bitbucket-server", "diagnostics_ping__connection_test.json", {"X-Event-Key": "diagnostics:ping"}
        )
    assert err.value.reason == "connection test"


def test_unsupported_event():
    body = json.dumps({"eventKey": "mirror:repo_synchronized", "actor": {"name": "akowalski"}}).encode()
    with pytest.raises(Ignored, match="not supported"):
        SOURCE.receive(body, "application/json", Headers())


def test_payload_not_from_bitbucket_server_is_rejected():
    with pytest.raises(PayloadError, match="cannot tell the event"):
        SOURCE.receive(b'{"object_kind": "push"}', "application/json", Headers())
    pr = json.loads(fixture_bytes("bitbucket-server", "pr_merged__basic.json"))
    del pr["pullRequest"]["toRef"]
    with pytest.raises(PayloadError) as err:
        SOURCE.receive(json.dumps(pr).encode(), "application/json", Headers())
    assert "pullRequest" in err.value.details
