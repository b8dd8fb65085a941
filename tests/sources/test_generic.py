import pytest

from bot.sources.base import PayloadError
from tests.formatting import render_fixture


def test_basic():
    assert render_fixture("generic", "message__basic.json") == [
        "✅ **[Backup finished](https://backups.example.com/runs/1842)**\n\n"
        "Nightly backup of db-main finished in 4m12s."
    ]


def test_untrusted_text_cannot_link_mention_or_fence():
    assert render_fixture("generic", "message__hostile.json") == [
        "🔴 **Line one**\n\n"
        "@\u200beveryone see [here\\](javascript:alert(1))\n"
        "\\# not a heading\n"
        "\\`\\`\\`\n"
        "not a fence"
    ]


def test_missing_message_is_rejected(tmp_path):
    from bot.sources import SOURCES

    with pytest.raises(PayloadError) as err:
        SOURCES["generic"].receive(b'{"title": "x"}', "application/json", {})
    assert "message" in err.value.details
