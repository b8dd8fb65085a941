import pytest

from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture


def test_tag_push_names_repo_tag_and_pusher():
    assert render_fixture("dockerhub", "push__tag.json") == [
        "🔵 **[acme/storefront-api:1.4.2 pushed by kim-l](https://hub.docker.com/r/acme/storefront-api)**\n\n"
        "**Pull:** `docker pull acme/storefront-api:1.4.2`",
    ]


def test_push_without_tag_does_not_invent_one():
    assert render_fixture("dockerhub", "push__untagged.json") == [
        "🔵 **[acme/worker pushed by ci-bot](https://hub.docker.com/r/acme/worker)**\n\n"
        "**Pull:** `docker pull acme/worker`",
    ]


def test_every_delivery_is_a_push_routed_by_repository():
    incoming = receive_fixture("dockerhub", "push__tag.json")
    assert incoming.event == "push"
    [message] = SOURCES["dockerhub"].format(incoming.event, incoming.payload)
    assert message.repo == "acme/storefront-api"


def test_retries_are_recognised_by_body_hash():
    source = SOURCES["dockerhub"]
    key, seconds = source.delivery_key("push", {}, Headers(), b'{"push_data": {}}')
    assert key.startswith("sha256:") and seconds == source.dedup_seconds_derived


@pytest.mark.parametrize("body", [
    b'{"push_data": {"tag": "1.0"}}',
    b'{"repository": {"repo_name": "acme/api"}}',
    b'{"event": "PUSH_ARTIFACT", "event_data": {}}',
])
def test_payload_not_from_docker_hub_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["dockerhub"].receive(body, "application/json", Headers())
