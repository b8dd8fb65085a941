import json
import time

import pytest

from bot.auth import AuthError, StandardWebhooks
from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import Headers, fixture_bytes, receive_fixture, render_fixture

# The example secret of the Standard Webhooks spec: whsec_ + base64 of the key bytes.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_any_event_type_is_shown_with_its_data():
    assert render_fixture("standard-webhooks", "user.created__clerk.json") == [
        "🔵 **user.created**\n\n"
        "**Sent:** 2026-03-04T09:12:44.518Z\n\n"
        "```json\n"
        "{\n"
        '  "id": "user_2f9Kq7xVbN3mT1aRzL0pWcY",\n'
        '  "first_name": "Amara",\n'
        '  "last_name": "Okafor",\n'
        '  "email_addresses": [\n'
        "    {\n"
        '      "email_address": "amara@example.com",\n'
        '      "verification": {\n'
        '        "status": "verified"\n'
        "      }\n"
        "    }\n"
        "  ],\n"
        '  "created_at": 1772615564518\n'
        "}\n"
        "```",
    ]


def test_hostile_data_stays_inside_a_longer_fence_and_mentions_nobody():
    [text] = render_fixture("standard-webhooks", "email.bounced__resend.json")
    assert text.startswith("🔵 **email.bounced**\n\n````json\n")
    assert text.endswith("\n````")
    assert "@\u200beveryone" in text and "@everyone" not in text


def test_an_envelope_without_data():
    assert render_fixture("standard-webhooks", "invoice.paid__no_data.json") == [
        "🔵 **invoice.paid**\n\n**Sent:** 2026-03-04T10:00:00Z"
    ]


def test_the_catch_all_takes_a_type_nothing_here_knows_and_names_it():
    assert receive_fixture("standard-webhooks", "any__svix_attempt_exhausted.json").event == (
        "message.attempt.exhausted"
    )
    assert render_fixture("standard-webhooks", "any__svix_attempt_exhausted.json") == [
        "🔵 **message.attempt.exhausted**\n\n"
        "**Sent:** 2026-03-05T07:41:09.204Z\n\n"
        "```json\n"
        "{\n"
        '  "appId": "app_2q8RbX4mN7kT1vZc9LwP0sYd",\n'
        '  "appUid": "acme-billing",\n'
        '  "msgId": "msg_2q8Rf1Hk3Jm5Np7Qr9St0UvW",\n'
        '  "endpointId": "ep_2q8Rc6Dg8Fh0Jk2Lm4Np6Qr",\n'
        '  "lastAttempt": {\n'
        '    "id": "atmpt_2q8Rz3Bx5Cv7Dn9Fm1Gk3Hj",\n'
        '    "timestamp": "2026-03-05T07:41:08.977Z",\n'
        '    "responseStatusCode": 503\n'
        "  }\n"
        "}\n"
        "```",
    ]


def test_event_name_comes_from_type_and_filters_match_it():
    incoming = receive_fixture("standard-webhooks", "user.created__clerk.json")
    assert incoming.event == "user.created"
    assert SOURCES["standard-webhooks"].describe()["events"] == ["*"]


@pytest.mark.parametrize("body", [b'{"data": {}}', b'{"type": ""}', b'{"type": 3}', b"[]", b"not json"])
def test_a_body_without_a_type_is_not_a_standard_webhook(body):
    with pytest.raises(PayloadError):
        SOURCES["standard-webhooks"].receive(body, "application/json", Headers())


def _headers(auth, body: bytes, stamp: int, msg_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", secret: str = SECRET):
    return Headers({"webhook-id": msg_id, "webhook-timestamp": str(stamp),
                    "webhook-signature": auth.sign(secret, msg_id, stamp, body)})


def test_signature_scheme_matches_the_spec_example():
    # Test vector of the Standard Webhooks reference libraries.
    auth = StandardWebhooks(clock=lambda: 1614265330)
    body = b'{"test": 2432232314}'
    headers = Headers({"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
                       "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="})
    auth.verify(headers, {}, body, SECRET)


def test_stale_and_future_timestamps_are_rejected():
    now = time.time()
    auth = StandardWebhooks(clock=lambda: now)
    body = json.dumps({"type": "x"}).encode()
    auth.verify(_headers(auth, body, int(now) - 299), {}, body, SECRET)
    auth.verify(_headers(auth, body, int(now) + 299), {}, body, SECRET)
    for stamp in (int(now) - 301, int(now) + 301, 0, int(now) - 86400):
        with pytest.raises(AuthError, match="webhook-timestamp"):
            auth.verify(_headers(auth, body, stamp), {}, body, SECRET)


def test_the_timestamp_and_id_are_signed():
    now = int(time.time())
    auth = StandardWebhooks()
    body = fixture_bytes("standard-webhooks", "user.created__clerk.json")
    headers = _headers(auth, body, now)
    moved = Headers({**headers, "webhook-timestamp": str(now - 1)})
    with pytest.raises(AuthError, match="does not match"):
        auth.verify(moved, {}, body, SECRET)
    renamed = Headers({**headers, "webhook-id": "msg_other"})
    with pytest.raises(AuthError, match="does not match"):
        auth.verify(renamed, {}, body, SECRET)


def test_one_valid_signature_among_several_is_enough_and_other_versions_are_ignored():
    now = int(time.time())
    auth = StandardWebhooks()
    body = b'{"type": "a"}'
    good = auth.sign(SECRET, "msg_1", now, body)
    headers = Headers({"webhook-id": "msg_1", "webhook-timestamp": str(now),
                       "webhook-signature": f"v1,AAAA v2,{good[3:]} v1a,xyz {good}"})
    auth.verify(headers, {}, body, SECRET)
    headers = Headers({**headers, "webhook-signature": f"v2,{good[3:]}"})
    with pytest.raises(AuthError):
        auth.verify(headers, {}, body, SECRET)


def test_plain_secrets_work_and_a_broken_whsec_secret_is_an_error_without_the_secret():
    now = int(time.time())
    auth = StandardWebhooks()
    body = b'{"type": "a"}'
    auth.verify(_headers(auth, body, now, secret="plain-secret"), {}, body, "plain-secret")
    with pytest.raises(AuthError) as err:
        auth.verify(Headers({"webhook-id": "m", "webhook-timestamp": str(now), "webhook-signature": "v1,AAAA"}),
                    {}, body, "whsec_not*base64")
    assert "not*base64" not in str(err.value)
