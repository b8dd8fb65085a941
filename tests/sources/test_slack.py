import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, render_fixture


def test_text_in_mrkdwn():
    assert render_fixture("slack", "message__text.json") == [
        "🔵 **Deployed api v2.4.1 to production**\n\n"
        "@​channel see [build #812](https://ci.example.com/builds/812) & the "
        "[https://wiki.example.com/runbooks/api](https://wiki.example.com/runbooks/api) (owner "
        "@maria, asked in #ops)\n"
        "Changes:\n\n"
        "```\n"
        "fix: retry S3 uploads\n"
        "feat: add /healthz\n"
        "```\n\n"
        "Old flag `LEGACY_AUTH` is gone removed.\n\n"
        "*deploy-bot · #releases*",
    ]


def test_attachment_with_danger_color():
    assert render_fixture("slack", "message__attachment_danger.json") == [
        "🔴 **[[Alerting] High 5xx rate on checkout](https://grafana.example.com/d/checkout?"
        "orgId=1&viewPanel=4)**\n\n"
        "5xx responses are above **2%** for 5 minutes. "
        "[Runbook](https://runbooks.example.com/checkout-5xx)\n\n"
        "**error_rate:** 3.7%\n"
        "**region:** eu-west-1\n\n"
        "Grafana v10.2\n\n"
        "*Grafana*",
    ]


def test_text_with_good_attachment():
    assert render_fixture("slack", "message__attachment_good.json") == [
        "✅ **Build finished**\n\n"
        "[payments-service #1042 passed](https://jenkins.example.com/job/payments-service/1042/)\n\n"
        "**Branch:** `main`\n"
        "**Duration:** 4 min 12 s",
    ]


def test_blocks():
    assert render_fixture("slack", "message__blocks.json") == [
        "🔵 **Incident INC-2041: checkout latency**\n\n"
        "p99 latency is **1.8 s** (SLO 400 ms) since 09:12 UTC.\n\n"
        "- **Severity** SEV-2\n"
        "- Commander: Ana \\*Lima\\*\n\n"
        "[Dashboard](https://grafana.example.com/d/checkout)\n\n"
        "---\n\n"
        "Suspected cause: `cache-7` **evicting** @​here\n\n"
        "- Scale cache tier\n"
        "- [Update status page](https://status.example.com)\n\n"
        "```\n"
        "redis-cli info memory\n"
        "```\n\n"
        "[Open incident](https://incidents.example.com/INC-2041)\n\n"
        "Opened by @U0G9QF9C6",
    ]


def test_untrusted_mrkdwn_cannot_link_mention_or_fence():
    assert render_fixture("slack", "message__hostile.json") == [
        "🔵 **Heads up @​everyone**\n\n"
        "click me and [x\\](javascript:alert(2)) @​**here**\n"
        "\\# not a heading\n"
        "\\- not a list\n"
        "**[bold link](https://example.com/a_%28b%29)** `code with``ticks`\n\n"
        "```\n"
        "break \n"
        "```\n"
        " out\n"
        "\\`\\`\\`",
    ]


def test_form_encoded_payload():
    assert render_fixture("slack", "message__form.txt") == [
        "🔵 **chris deployed tag v3.1.0 to staging**\n\n"
        "*DeployBot · #deploys*",
    ]


def test_message_without_content_is_ignored():
    with pytest.raises(Ignored) as err:
        render_fixture("slack", "message__empty.json")
    assert "no text" in err.value.reason


@pytest.mark.parametrize("body", [b'{"message": "hi"}', b'["text"]', b'{"text": 5}'])
def test_payload_not_in_slack_format_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["slack"].receive(body, "application/json", Headers())
