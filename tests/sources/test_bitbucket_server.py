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


def test_branch_filter_facts():
    refs = SOURCE.receive(
        fixture_bytes("bitbucket-server", "repo_refs_changed__branch_and_tag.json"), "application/json", Headers()
    )
    pr = SOURCE.receive(fixture_bytes("bitbucket-server", "pr_opened__reviewers.json"), "application/json", Headers())
    assert (refs.branch, pr.branch) == ("release/3.2", "main")


def test_connection_test_ping_is_ignored():
    with pytest.raises(Ignored, match="connection test"):
        SOURCE.receive(b'{"test": true}', "application/json", Headers({"X-Event-Key": "diagnostics:ping"}))


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
