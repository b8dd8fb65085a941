import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture

R = "https://git.example.org/infra/deploy-scripts"
PR_TITLE = "Run database migrations before switching traffic"
ISSUE_TITLE = "Deploy fails when the DB migration takes \\> 60s"


def test_push_names_other_authors():
    a, b = "5b0e3c2f7d9a41e68c1b2d3e4f5a6b7c8d9e0f1a", "c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90"
    assert render_fixture("gitea", "push__two_commits.json") == [
        "🔵 **[mara pushed 2 commits to main in infra/deploy-scripts]"
        f"({R}/compare/e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4...{b})**\n\n"
        f"- [5b0e3c2]({R}/commit/{a}) Add rollback step to deploy.sh\n"
        f"- [c7d8e9f]({R}/commit/{b}) Pin ansible-core to 2.16 [skip ci] (tvoss)"
    ]


def test_branch_created():
    assert render_fixture("gitea", "create__branch.json") == [
        "🔵 **[tvoss created branch migrate-first in "
        "infra/deploy-scripts](https://git.example.org/infra/deploy-scripts/src/migrate-first)**",
    ]


def test_pull_request_opened():
    assert render_fixture("gitea", "pull_request__opened.json") == [
        "🔵 **[tvoss opened PR #18 in infra/deploy-scripts: Run database migrations before "
        "switching traffic](https://git.example.org/infra/deploy-scripts/pulls/18)**\n\n"
        "**Branches:** `migrate-first` → `main`\n"
        "**Assignees:** mara\n\n"
        "> Migrations used to run after the switch.\n"
        ">\n"
        "> Fixes #15",
    ]


def test_pull_request_merged():
    assert render_fixture("gitea", "pull_request__merged.json") == [
        "✅ **[mara merged PR #18 in infra/deploy-scripts: Run database migrations before switching "
        "traffic](https://git.example.org/infra/deploy-scripts/pulls/18)**\n\n"
        "**Branches:** `migrate-first` → `main`",
    ]


def test_review_approved():
    assert render_fixture("gitea", "pull_request_approved__lgtm.json") == [
        "✅ **[mara approved PR #18 in infra/deploy-scripts: Run database migrations before "
        "switching traffic](https://git.example.org/infra/deploy-scripts/pulls/18)**\n\n"
        "**Branches:** `migrate-first` → `main`\n\n"
        "> Tested on staging, LGTM.",
    ]


def test_review_requesting_changes_is_a_warning():
    assert render_fixture("gitea", "pull_request_rejected__changes_requested.json") == [
        "🟠 **[mara requested changes on PR #18 in infra/deploy-scripts: Run database migrations before "
        "switching traffic](https://git.example.org/infra/deploy-scripts/pulls/18)**\n\n"
        "**Branches:** `migrate-first` → `main`\n\n"
        "> The rollback step still runs the old migrations; please gate it on the version.",
    ]


def test_comment_review():
    assert render_fixture("gitea", "pull_request_comment__review.json") == [
        "🔵 **[mara reviewed PR #18 in infra/deploy-scripts: Run database migrations before "
        "switching traffic](https://git.example.org/infra/deploy-scripts/pulls/18)**\n\n"
        "**Branches:** `migrate-first` → `main`\n\n"
        "> Left two notes on deploy.sh; nothing blocking.",
    ]


def test_tag_deleted():
    assert render_fixture("gitea", "delete__tag.json") == [
        f"🔵 **[tvoss deleted tag v3.2.0-rc1 in infra/deploy-scripts]({R})**",
    ]


def test_issue_opened_cannot_open_a_code_block():
    assert render_fixture("gitea", "issues__opened.json") == [
        "🔵 **[tvoss opened issue #15 in infra/deploy-scripts: Deploy fails when the DB migration "
        "takes \\> 60s](https://git.example.org/infra/deploy-scripts/issues/15)**\n\n"
        "> The health check gives up after 60s:\n"
        ">\n"
        "> \\`\\`\\`\n"
        "> ERROR: timeout waiting for /healthz\n"
        "> \\`\\`\\`",
    ]


def test_comment():
    assert render_fixture("gitea", "issue_comment__created.json") == [
        "🔵 **[mara commented on issue #15 in infra/deploy-scripts: Deploy fails when the DB "
        "migration takes \\> 60s](https://git.example.org/infra/deploy-scripts/issues/"
        "15#issuecomment-901)**\n\n"
        "> I can reproduce it; raising the timeout to 300s for now.",
    ]


def test_release_published():
    assert render_fixture("gitea", "release__published.json") == [
        "🔵 **[mara published release 3.2.0 – safer migrations in "
        "infra/deploy-scripts](https://git.example.org/infra/deploy-scripts/releases/tag/v3.2.0)**\n\n"
        "**Tag:** `v3.2.0`\n\n"
        "> \\- Migrations run before traffic switches\n"
        "> \\- Rollback step in deploy.sh",
    ]


@pytest.mark.parametrize(
    ("fixture", "branch"),
    [
        ("push__two_commits.json", "main"),
        ("create__branch.json", "migrate-first"),
        ("pull_request__opened.json", "main"),
        ("pull_request_rejected__changes_requested.json", "main"),
        ("delete__tag.json", None),
    ],
)
def test_branch_for_filters(fixture, branch):
    assert receive_fixture("gitea", fixture).branch == branch


def test_label_changes_are_ignored():
    with pytest.raises(Ignored, match="label_updated"):
        receive_fixture("gitea", "issues__label_updated.json")


def test_unsupported_event():
    with pytest.raises(Ignored, match="not supported"):
        receive_fixture("gitea", "push__two_commits.json", {"X-Gitea-Event": "wiki"})


def test_payload_not_from_gitea_is_rejected():
    with pytest.raises(PayloadError):
        receive_fixture("gitea", "push__two_commits.json", {"X-Gitea-Event": "pull_request"})
    with pytest.raises(PayloadError):
        SOURCES["gitea"].receive(b'{"message": "hello"}', "application/json", Headers({}))
