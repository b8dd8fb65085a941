import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture

PROD = (
    "https://railway.com/project/a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d/service/9c8b7a69-5847-4362-a1b0-c9d8e7f6a5b4"
    "?environmentId=e7d6c5b4-a392-4817-9f6e-5d4c3b2a1908&id=8107edff-4b8e-44fc-b43a-04566e847a2a"
)
PR = (
    "https://railway.com/project/a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d/service/9c8b7a69-5847-4362-a1b0-c9d8e7f6a5b4"
    "?environmentId=f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9&id=2d4e6f80-1a3b-4c5d-9e7f-0a1b2c3d4e5f"
)
MAIN = "**Branch:** `main`\n**Commit:** `3f2a9c1` Cache product lookups\n**By:** mara-k\n**Project:** acme-shop"
CHECKOUT = (
    "**Branch:** `new-checkout`\n**Commit:** `b7c8d9e` Try the one-page checkout\n**By:** ravi-m\n"
    "**Project:** acme-shop"
)


@pytest.mark.parametrize(("fixture", "expected"), [
    ("Deployment.building__github.json", f"🔵 **[api production deployment is building]({PROD})**\n\n{MAIN}"),
    ("Deployment.deploying__github.json", f"🔵 **[api production deployment is deploying]({PROD})**\n\n{MAIN}"),
    ("Deployment.deployed__github.json", f"✅ **[api production deployment succeeded]({PROD})**\n\n{MAIN}"),
    ("Deployment.failed__github.json", f"🔴 **[api production deployment failed]({PROD})**\n\n{MAIN}"),
    ("Deployment.crashed__github.json", f"🔴 **[api production deployment crashed]({PROD})**\n\n{MAIN}"),
    ("Deployment.oom_killed__github.json",
     f"🔴 **[api production deployment was killed for running out of memory]({PROD})**\n\n{MAIN}"),
    ("Deployment.redeployed__cli.json",
     f"✅ **[api production deployment was redeployed]({PROD})**\n\n**Project:** acme-shop"),
    ("Deployment.slept__pr_environment.json",
     f"🔵 **[api acme-shop-pr-42 deployment went to sleep]({PR})**\n\n{CHECKOUT}"),
    ("Deployment.resumed__pr_environment.json",
     f"✅ **[api acme-shop-pr-42 deployment woke up]({PR})**\n\n{CHECKOUT}"),
])
def test_messages(fixture, expected):
    assert render_fixture("railway", fixture) == [expected]


def test_severity_branch_and_project_feed_routing():
    source = SOURCES["railway"]
    incoming = receive_fixture("railway", "Deployment.failed__github.json")
    assert incoming.branch == "main"
    [message] = source.format(incoming.event, incoming.payload)
    assert (message.severity, message.branch, message.repo) == ("error", "main", "acme-shop")


def test_deployment_without_an_environment_or_deployment_id():
    body = (b'{"type": "Deployment.deployed", "details": {"status": "SUCCESS"}, "resource": '
            b'{"project": {"id": "p1", "name": "shop"}, "service": {"id": "s1", "name": "api"}}}')
    source = SOURCES["railway"]
    incoming = source.receive(body, "application/json", Headers({}))
    [message] = source.format(incoming.event, incoming.payload)
    assert (message.title, message.url) == ("api deployment succeeded", "https://railway.com/project/p1/service/s1")
    key, _ = source.delivery_key(incoming.event, incoming.payload, Headers({}), body)
    assert key.startswith("sha256:")


def test_dedup_on_type_deployment_and_timestamp():
    source = SOURCES["railway"]
    incoming = receive_fixture("railway", "Deployment.crashed__github.json")
    key, _ = source.delivery_key(incoming.event, incoming.payload, Headers({}), b"")
    assert key == "id:Deployment.crashed:8107edff-4b8e-44fc-b43a-04566e847a2a:2026-11-20T11:40:55.870Z"


def test_alerts_are_not_supported():
    body = (b'{"type": "VolumeAlert.triggered", "details": {}, "resource": {"project": {"id": "p1"}}, '
            b'"severity": "WARNING", "timestamp": "2026-11-20T09:12:03.118Z"}')
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["railway"].receive(body, "application/json", Headers({}))


@pytest.mark.parametrize("body", [
    b'{"status": "SUCCESS"}',
    b'{"type": "Deployment.deployed", "details": {}}',
    b'{"type": "Deployment.deployed", "resource": {"project": {"id": "p1"}}}',
])
def test_payload_not_from_railway_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["railway"].receive(body, "application/json", Headers({}))
