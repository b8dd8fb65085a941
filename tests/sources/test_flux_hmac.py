"""The generic-hmac provider: same events as `flux`, proven by `X-Signature: sha256=<hex HMAC>`."""

import hashlib
import hmac

import pytest

from tests.conftest import CHANNEL
from tests.formatting import fixture_bytes, render_fixture

SECRET = "flux-hmac-token-0123456789"
HEALTH = "error__kustomization_health_check_failed.json"
NEW_REVISION = "info__gitrepository_new_revision.json"


def test_kustomization_health_check_failed():
    assert render_fixture("flux-hmac", HEALTH) == [
        "🔴 **Kustomization flux-system/infra-ingress: health check failed**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** `b6589fc`\n"
        "**Controller:** kustomize-controller\n\n"
        "> health check failed after 5m0s: timeout waiting for: [Deployment/ingress/nginx-controller status: "
        "'InProgress']",
    ]


def test_new_source_revision_is_info():
    assert render_fixture("flux-hmac", "info__gitrepository_new_revision.json") == [
        "🔵 **GitRepository flux-system/platform: new artifact**\n\n"
        "**Branch:** `release/2026-11`\n"
        "**Commit:** `1f0e3da`\n"
        "**Controller:** source-controller\n\n"
        "> stored artifact for commit 'Bump checkout to 3.8.0'",
    ]


@pytest.fixture
def relay(make_relay):
    return make_relay({"flux": {"source": "flux-hmac", "channel": CHANNEL, "secret": SECRET}}, dry_run=True)


def _post(relay, body: bytes, headers: list):
    return relay.client.post("/hooks/flux", data=body, headers=[("Content-Type", "application/json"), *headers])


def _sign(body: bytes, secret: str = SECRET, algo=hashlib.sha256) -> str:
    return hmac.new(secret.encode(), body, algo).hexdigest()


@pytest.mark.parametrize("label, header", [
    ("wrong secret", "sha256=" + _sign(fixture_bytes("flux-hmac", HEALTH), "flux-hmac-token-0123456780")),
    ("sha1 digest", "sha1=" + _sign(fixture_bytes("flux-hmac", HEALTH), algo=hashlib.sha1)),
    ("no prefix", _sign(fixture_bytes("flux-hmac", HEALTH))),
    ("truncated", "sha256=" + _sign(fixture_bytes("flux-hmac", HEALTH))[:-2]),
    ("signature of another body", "sha256=" + _sign(fixture_bytes("flux-hmac", NEW_REVISION))),
    ("shared secret instead of a signature", None),
])
def test_forged_signatures_are_refused(relay, label, header):
    body = fixture_bytes("flux-hmac", HEALTH)
    headers = [("X-Signature", header)] if header else [("Authorization", f"Bearer {SECRET}")]
    assert _post(relay, body, headers).status_code == 401, label


def test_flux_signature_is_accepted_and_a_retry_is_a_redelivery(relay):
    body = fixture_bytes("flux-hmac", HEALTH)
    signed = [("X-Signature", "sha256=" + _sign(body))]
    assert _post(relay, body, signed).status_code == 202
    assert _post(relay, body, signed).status_code == 200
