import hashlib
import hmac

import pytest

from bot.auth import AuthError
from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, fixture_bytes, receive_fixture, render_fixture


def test_workflow_failed():
    assert render_fixture("circleci", "workflow-completed__failed.json") == [
        "🔴 **[storefront workflow build-and-test failed](https://app.circleci.com/pipelines/github/"
        "acme/storefront/130/workflows/fda08377-fe7e-46b1-8992-3a7aaecac9c3)**\n\n"
        "**Branch:** `feature/image-cache`\n"
        "**Commit:** [1d9d5cd](https://github.com/acme/storefront/commit/"
        "1d9d5cd1c6b8e3e21f07f6d7a0b4d5c4c2b1a9e8) Cache product images for 1h\n"
        "**By:** Mara Quint\n"
        "**Pipeline:** #130\n"
        "**Took:** 1m 15s",
    ]


def test_job_of_a_gitlab_pipeline():
    assert render_fixture("circleci", "job-completed__gitlab_success.json") == [
        "✅ **[billing job deploy passed](https://app.circleci.com/pipelines/circleci/"
        "Hx2kQ9mYbTzP1vR7sLcN4d/K8wJ3nF6gV1qZ5tB2yXe0a/57/workflows/77b4f0a2-2c1d-4e5f-9a8b-"
        "6c7d8e9f0a1b/jobs/212)**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** [9c8b7a6](https://gitlab.com/acme/billing/-/commit/"
        "9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b) Bump invoice template to v3\n"
        "**By:** Tomas Reyes\n"
        "**Workflow:** `release`\n"
        "**Pipeline:** #57\n"
        "**Took:** 1m 34s",
    ]


def test_ping_is_ignored():
    with pytest.raises(Ignored, match="ping"):
        receive_fixture("circleci", "ping__test.json")


def test_unknown_type_is_not_supported():
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["circleci"].receive(b'{"type": "pipeline-created", "id": "x"}', "application/json", Headers())


def test_payload_not_from_circleci_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["circleci"].receive(b'{"event": "build.finished"}', "application/json", Headers())


def test_delivery_id_comes_from_the_payload():
    body = fixture_bytes("circleci", "workflow-completed__failed.json")
    incoming = receive_fixture("circleci", "workflow-completed__failed.json")
    key, _ = SOURCES["circleci"].delivery_key(incoming.event, incoming.payload, Headers(), body)
    assert key == "id:3888f21b-eaa7-38e3-8f3d-75a63bba8895"
    assert incoming.branch == "feature/image-cache"


def test_signature_accepts_any_of_several_values():
    body = fixture_bytes("circleci", "workflow-completed__failed.json")
    good = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    headers = Headers({"circleci-signature": f"v1=0000,v1={good}"})
    SOURCES["circleci"].auth.verify(headers, {}, body, "s3cret")
    with pytest.raises(AuthError):
        SOURCES["circleci"].auth.verify(Headers({"circleci-signature": "v1=0000"}), {}, body, "s3cret")
