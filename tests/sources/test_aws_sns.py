import pytest

from bot.sources import SOURCES
from bot.sources.aws_sns import confirm_subscription
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, fixture_bytes, receive_fixture, render_fixture

SNS = "text/plain; charset=UTF-8"
TOPIC = "arn:aws:sns:us-east-1:123456789012:prod-alerts"
SUBSCRIBE_URL = (
    f"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}"
    "&Token=2336412f37fb687f5d51e6e2425dacbba5ea6a4a1e1d7a7b56a8f5d33c8e7c6bcd8c1f93a7e7c2d0f0d5e8c61f2a4b9e"
)
CPU_ALARM = "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/web-1%20high%20CPU"


def render(fixture: str) -> list[str]:
    return render_fixture("aws-sns", fixture, content_type=SNS)


def test_alarm_firing():
    assert render("Notification__alarm.json") == [
        f"🔴 **[web-1 high CPU is in ALARM]({CPU_ALARM})**\n\n"
        "CPU above 80% on the web tier\n\n"
        "Threshold Crossed: 2 out of the last 2 datapoints [91.2 (10/06/24 13:58:00), 88.7 (10/06/24 13:53:00)] "
        "was greater than the threshold (80.0) (minimum 2 datapoints for OK -\\> ALARM transition).\n\n"
        "**Metric:** `CPUUtilization > 80` (AWS/EC2)\n"
        "**Dimensions:** `InstanceId=i-0abc123def4567890`\n"
        "**Region:** US East (N. Virginia)"
    ]


def test_alarm_resolved():
    assert render("Notification__alarm_ok.json") == [
        f"✅ **[web-1 high CPU is OK]({CPU_ALARM})**\n\n"
        "CPU above 80% on the web tier\n\n"
        "Threshold Crossed: 2 out of the last 2 datapoints [41.0 (10/06/24 14:18:00), 38.3 (10/06/24 14:13:00)] "
        "was not greater than the threshold (80.0) (minimum 1 datapoint for ALARM -\\> OK transition).\n\n"
        "**Metric:** `CPUUtilization > 80` (AWS/EC2)\n"
        "**Dimensions:** `InstanceId=i-0abc123def4567890`\n"
        "**Region:** US East (N. Virginia)"
    ]


def test_alarm_insufficient_data():
    assert render("Notification__alarm_insufficient_data.json") == [
        "🟠 **[orders-queue backlog has insufficient data]"
        "(https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/orders-queue%20backlog)**\n\n"
        "Insufficient Data: 2 datapoints were unknown.\n\n"
        "**Metric:** `ApproximateNumberOfMessagesVisible >= 500` (AWS/SQS)\n"
        "**Dimensions:** `QueueName=orders`\n"
        "**Region:** US East (N. Virginia)"
    ]


def test_alarm_status_for_routing():
    source = SOURCES["aws-sns"]
    incoming = receive_fixture("aws-sns", "Notification__alarm.json", content_type=SNS)
    [message] = source.format(incoming.event, incoming.payload)
    assert (message.status, message.severity) == ("firing", "error")


def test_plain_notification():
    assert render("Notification__plain.json") == [
        "🔵 **Nightly backup finished**\n\n"
        "Backup of db-main completed in 14m02s.\n"
        "Snapshot: rds:db-main-2024-06-10-03-00\n\n"
        "**Topic:** `prod-alerts`"
    ]


def test_notification_without_subject_uses_first_line():
    assert render("Notification__no_subject.json") == [
        "🔵 **Deployment 42 of checkout-api succeeded**\n\nDuration: 3m11s\n\n**Topic:** `prod-alerts`"
    ]


def test_json_notification_that_is_not_an_alarm():
    assert render("Notification__json_message.json") == [
        "🔵 **Notification on prod-alerts**\n\n"
        "```json\n"
        "{\n"
        '  "source": "aws.codepipeline",\n'
        '  "detail-type": "CodePipeline Pipeline Execution State Change",\n'
        '  "detail": {\n'
        '    "pipeline": "checkout-api",\n'
        '    "state": "FAILED"\n'
        "  }\n"
        "}\n"
        "```\n\n"
        "**Topic:** `prod-alerts`"
    ]


def test_subscription_confirmation_links_the_subscribe_url():
    assert render("SubscriptionConfirmation__basic.json") == [
        "🔵 **Amazon SNS subscription requested for prod-alerts**\n\n"
        f"Amazon SNS asks to deliver topic `{TOPIC}` to this channel.\n\n"
        f"[Confirm the subscription]({SUBSCRIBE_URL}) "
        "(routes with `confirm_subscription: true` confirm it themselves)."
    ]


def test_subscription_confirmation_with_a_foreign_url_shows_no_link():
    assert render("SubscriptionConfirmation__foreign_url.json") == [
        "🔵 **Amazon SNS subscription requested for prod-alerts**\n\n"
        f"Amazon SNS asks to deliver topic `{TOPIC}` to this channel.\n\n"
        "Its SubscribeURL is not an Amazon SNS address, so no link is shown."
    ]


def test_unsubscribe_confirmation_is_ignored():
    with pytest.raises(Ignored) as err:
        render("UnsubscribeConfirmation__basic.json")
    assert "unsubscribe" in err.value.reason


def test_unknown_message_type_is_not_supported():
    body = b'{"Type": "SomethingNew", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:1:t"}'
    with pytest.raises(Ignored) as err:
        SOURCES["aws-sns"].receive(body, SNS, Headers())
    assert "not supported" in err.value.reason


def test_payload_not_from_sns_is_rejected():
    with pytest.raises(PayloadError) as err:
        SOURCES["aws-sns"].receive(b'{"ref": "refs/heads/main", "commits": []}', SNS, Headers())
    assert "Type" in err.value.details


def test_message_id_is_the_delivery_key():
    source = SOURCES["aws-sns"]
    incoming = receive_fixture("aws-sns", "Notification__plain.json", content_type=SNS)
    body = fixture_bytes("aws-sns", "Notification__plain.json")
    key, _ = source.delivery_key(incoming.event, incoming.payload, Headers(), body)
    assert key == "id:8f2c6e1a-4d7b-5c93-a0e8-1b6d3f9c2a47"


def test_confirm_subscription_visits_the_sns_url():
    visited = []
    payload = {"Type": "SubscriptionConfirmation", "SubscribeURL": SUBSCRIBE_URL}
    assert confirm_subscription(payload, visited.append) == SUBSCRIBE_URL
    assert visited == [SUBSCRIBE_URL]


def test_confirm_subscription_accepts_china_regions():
    url = "https://sns.cn-north-1.amazonaws.com.cn/?Action=ConfirmSubscription&Token=abc"
    assert confirm_subscription({"SubscribeURL": url}, lambda _: None) == url


@pytest.mark.parametrize(
    "url",
    [
        None,
        "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=abc",
        "https://sns.us-east-1.amazonaws.com.attacker.example/?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com@169.254.169.254/?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com:8443/?Action=ConfirmSubscription",
        "https://169.254.169.254/latest/meta-data/?Action=ConfirmSubscription",
        "https://s3.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
        "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Action=Unsubscribe",
        "https://sns.us-east-1.amazonaws.com/ ?Action=ConfirmSubscription",
    ],
)
def test_confirm_subscription_refuses_other_urls(url):
    visited = []
    with pytest.raises(ValueError):
        confirm_subscription({"SubscribeURL": url}, visited.append)
    assert visited == []
