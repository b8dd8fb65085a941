import pytest

from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import Headers, render_fixture


def test_deploy_with_one_commit():
    assert render_fixture("heroku", "deploy__one_commit.txt") == [
        "✅ **[acme-api v104 deployed](https://acme-api.herokuapp.com)**\n\n"
        "**Commit:** `c9f0f89`\n"
        "**By:** ops@acme.test\n\n"
        "- Noor Haddad: Add rate limit headers",
    ]


def test_deploy_lists_at_most_ten_commits():
    assert render_fixture("heroku", "deploy__many_commits.txt") == [
        "✅ **[acme-api v105 deployed](https://acme-api.herokuapp.com)**\n\n"
        "**Commit:** `d3d9446`\n"
        "**By:** ops@acme.test\n\n"
        "- Noor Haddad: Change number 1\n"
        "- Noor Haddad: Change number 2\n"
        "- Noor Haddad: Change number 3\n"
        "- Noor Haddad: Change number 4\n"
        "- Noor Haddad: Change number 5\n"
        "- Noor Haddad: Change number 6\n"
        "- Noor Haddad: Change number 7\n"
        "- Noor Haddad: Change number 8\n"
        "- Noor Haddad: Change number 9\n"
        "- Noor Haddad: Change number 10\n"
        "- … and 2 more",
    ]


def test_form_without_an_app_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["heroku"].receive(b"user=ops%40acme.test&head=c9f0f89", "application/x-www-form-urlencoded", Headers())
