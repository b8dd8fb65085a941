import pytest

from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture


def test_fixed_push_build():
    assert render_fixture("travis", "build__fixed.txt") == [
        "✅ **[acme/parser build #512 was fixed](https://app.travis-ci.com/github/acme/parser/"
        "builds/681335120)**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** [4b825dc](https://github.com/acme/parser/commit/"
        "4b825dc642cb6eb9a060e54bf8d69288fbee4904) Handle empty input in tokenizer\n"
        "**By:** Lena Ortiz",
    ]


def test_broken_pull_request_build_escapes_the_author():
    assert render_fixture("travis", "build__broken_pull_request.txt") == [
        "🔴 **[acme/parser build #513 is broken](https://app.travis-ci.com/github/acme/parser/"
        "builds/681340002)**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** [e69de29](https://github.com/acme/parser/pull/88) Speed up lexer with a "
        "lookup table\n"
        "**By:** Sam \\<script\\>Bell\\</script\\>\n"
        "**Pull request:** Faster lexer (#88)",
    ]


def test_branch_is_known_for_filters():
    assert receive_fixture("travis", "build__fixed.txt").branch == "main"


def test_payload_not_from_travis_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["travis"].receive(
            b"payload=%7B%22message%22%3A+%22hi%22%7D", "application/x-www-form-urlencoded", Headers()
        )
