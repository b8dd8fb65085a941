import pytest

from bot.sources.base import Ignored, PayloadError
from tests.formatting import receive_fixture, render_fixture

R = "https://gogs.example.net/lab/notebook-tools"


def test_push():
    sha = "4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"
    assert render_fixture("gogs", "push__one_commit.json") == [
        f"🔵 **[liwei pushed 1 commit to master in lab/notebook-tools]({R}/compare/9f8e7d6c5b4a...4d5e6f708192)**\n\n"
        f"- [4d5e6f7]({R}/commit/{sha}) Strip outputs before committing notebooks"
    ]


def test_pull_request_opened_reads_gogs_branch_fields():
    assert render_fixture("gogs", "pull_request__opened.json") == [
        "🔵 **[liwei opened PR #3 in lab/notebook-tools: Add nbstripout pre-commit "
        "hook](https://gogs.example.net/lab/notebook-tools/pulls/3)**\n\n"
        "**Branches:** `nbstripout` → `master`\n\n"
        "> Keeps diffs readable.",
    ]


def test_issue_closed_links_the_issue_page():
    assert render_fixture("gogs", "issues__closed.json") == [
        "🔵 **[liwei closed issue #2 in lab/notebook-tools: Kernel list is empty on "
        "Windows](https://gogs.example.net/lab/notebook-tools/issues/2)**",
    ]


def test_tag_created_links_its_tree():
    assert render_fixture("gogs", "create__tag.json") == [
        f"🔵 **[liwei created tag v0.4.0 in lab/notebook-tools]({R}/src/v0.4.0)**",
    ]


def test_branch_deleted():
    assert render_fixture("gogs", "delete__branch.json") == [
        f"🔵 **[anna deleted branch nbstripout in lab/notebook-tools]({R})**",
    ]


def test_comment_on_a_pull_request_says_pr():
    # Gogs sends no `is_pull`; its issue's `pull_request` marks a pull request.
    assert render_fixture("gogs", "issue_comment__pull_request.json") == [
        "🔵 **[anna commented on PR #3 in lab/notebook-tools: Add nbstripout pre-commit "
        f"hook]({R}/pulls/3#issuecomment-57)**\n\n"
        "> Works here; could the hook also strip execution counts?",
    ]


def test_release_links_the_releases_page():
    # Gogs has no page per release: Gitea's /releases/tag/<tag> would be a 404.
    assert render_fixture("gogs", "release__published.json") == [
        f"🔵 **[liwei published release 0.4.0 in lab/notebook-tools]({R}/releases)**\n\n"
        "**Tag:** `v0.4.0`\n\n"
        "> \\- nbstripout pre-commit hook\n"
        "> \\- Windows kernel discovery fix",
    ]


@pytest.mark.parametrize(
    ("fixture", "branch"),
    [("pull_request__opened.json", "master"), ("delete__branch.json", "nbstripout"), ("create__tag.json", None)],
)
def test_branch_for_filters(fixture, branch):
    assert receive_fixture("gogs", fixture).branch == branch


def test_review_events_are_giteas_only():
    with pytest.raises(Ignored, match="not supported"):
        receive_fixture("gogs", "pull_request__opened.json", {"X-Gogs-Event": "pull_request_approved"})


def test_payload_not_from_gogs_is_rejected():
    with pytest.raises(PayloadError):
        receive_fixture("gogs", "push__one_commit.json", {"X-Gogs-Event": "issues"})
