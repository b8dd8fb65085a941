"""How senders prove themselves: HMAC signatures over the raw body, or a shared secret.

Every scheme compares in constant time and reports failures with a reason that never contains
the secret or the presented credential, because reasons go into logs and 401 bodies.

Signatures are always computed over the raw request bytes, never over a re-serialized payload.
Schemes whose sender signs a timestamp (Standard Webhooks, Slack) reject requests older or newer
than `REPLAY_WINDOW` seconds; a redelivery inside the window is caught by intake's deduplication.
Hex digests are compared case-insensitively (`ABCD…` and `abcd…` are the same digest).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

# Seconds a signed timestamp may differ from the relay's clock, either way.
REPLAY_WINDOW = 300


class AuthError(Exception):
    """The sender did not prove knowledge of the route's secret; the message is safe to show."""


class SecretError(ValueError):
    """A route secret no request could be held to (empty, blank, or a key that decodes to nothing).
    The message describes the problem, never the secret."""


def secret_bytes(secret: str | None) -> bytes:
    """The secret as the key every scheme compares or signs with; refuses an empty or blank one.

    An empty HMAC key is still a key: anyone can compute `HMAC("", body)`, so a route whose secret
    came out empty (`${UNSET_OR_EMPTY}`) would accept every forged request."""
    if secret is None or not secret.strip():
        raise SecretError("must not be empty or only whitespace")
    return secret.encode("utf-8", "surrogatepass")


def _key(scheme, secret: str | None) -> bytes:
    """The scheme's key for `secret`, refusing the request if it is unusable. Configuration
    validation rejects such secrets at start-up; this guards routes built any other way."""
    try:
        return scheme.key(secret)
    except SecretError:
        raise AuthError("the route's secret is unusable; the relay's configuration must be fixed") from None


def same_secret(presented: str, secret: str) -> bool:
    """Constant-time equality of a presented credential and the secret, lengths included.

    Both sides are hashed first, so the comparison always runs over 32 bytes and its timing says
    nothing about the secret's length either (compare_digest returns early on unequal lengths).
    """
    a = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest()
    b = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()
    return hmac.compare_digest(a, b)


def bearer(authorization: str | None) -> str | None:
    """The credential of an `Authorization: Bearer <credential>` header (the scheme name is
    case-insensitive, RFC 9110 §11.1), or None for any other header or none."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _check_timestamp(raw: str | None, header: str, clock: Callable[[], float], required: bool = True) -> int | None:
    """Parses a Unix timestamp header and rejects it outside ±REPLAY_WINDOW seconds."""
    if raw is None or raw == "":
        if required:
            raise AuthError(f"missing {header} header")
        return None
    try:
        value = int(raw) if raw.isascii() and raw.isdigit() else int(float(raw))
    except (ValueError, OverflowError):
        raise AuthError(f"{header} is not a Unix timestamp") from None
    skew = clock() - value
    if skew > REPLAY_WINDOW:
        raise AuthError(f"{header} is more than {REPLAY_WINDOW} seconds old (replayed or delayed request)")
    if skew < -REPLAY_WINDOW:
        raise AuthError(f"{header} is more than {REPLAY_WINDOW} seconds in the future")
    return value


def _single_header(headers, name: str) -> str | None:
    values = headers.getlist(name) if hasattr(headers, "getlist") else [headers.get(name)]
    values = [v for v in values if v is not None]
    if len(values) > 1:
        raise AuthError(f"header {name} was sent more than once")
    return values[0].strip() if values else None


class _Scheme:
    """What every scheme shares: the key a route secret stands for (`key` raises SecretError)."""

    @staticmethod
    def key(secret: str | None) -> bytes:
        return secret_bytes(secret)


class HmacSignature(_Scheme):
    """`<header>: <prefix><hex HMAC(secret, raw body)>`; several values may be allowed.

    The digest is SHA-256 unless `digest="sha1"` (Vercel still signs with HMAC-SHA1).

    With `timestamp_header`, a request carrying that header is also rejected when the timestamp is
    outside ±REPLAY_WINDOW (Sentry's `Sentry-Hook-Timestamp`). The signature does not cover that
    header, so this is a freshness check against stale redeliveries and clock trouble, not replay
    protection; redeliveries are caught by deduplication.
    """

    def __init__(self, header: str, prefix: str = "", separator: str | None = None,
                 timestamp_header: str | None = None, clock: Callable[[], float] = time.time,
                 digest: str = "sha256"):
        if digest not in ("sha256", "sha1"):
            raise ValueError(f"unsupported HMAC digest {digest!r}")
        self.header = header
        self.digest = digest
        self.prefix = prefix
        self.separator = separator
        self.timestamp_header = timestamp_header
        self.clock = clock

    @property
    def description(self) -> str:
        several = (
            f" (several `{self.prefix}` values separated by `{self.separator}` accepted)" if self.separator else ""
        )
        fresh = (
            f"; {self.timestamp_header}, when sent, within {REPLAY_WINDOW // 60} minutes"
            if self.timestamp_header else ""
        )
        return f"{self.header}: {self.prefix}<hex HMAC-{self.digest.upper()} of the raw body>{several}{fresh}"

    def verify(self, headers: Mapping, args: Mapping, body: bytes, secret: str) -> None:
        if self.timestamp_header:
            _check_timestamp(_single_header(headers, self.timestamp_header), self.timestamp_header, self.clock,
                             required=False)
        presented = _single_header(headers, self.header)
        if not presented:
            raise AuthError(f"missing {self.header} signature header")
        expected = hmac.new(_key(self, secret), body, getattr(hashlib, self.digest)).hexdigest()
        candidates = presented.split(self.separator) if self.separator else [presented]
        ok = False
        for candidate in candidates:
            candidate = candidate.strip()
            if self.prefix:
                if not candidate.startswith(self.prefix):
                    continue
                candidate = candidate[len(self.prefix) :]
            # compare_digest on equal-type ASCII strings; evaluate all candidates to keep timing flat.
            ok |= hmac.compare_digest(candidate.lower().encode("ascii", "replace"), expected.encode())
        if not ok:
            raise AuthError(f"{self.header} signature does not match the body")


class TokenHeader(_Scheme):
    """`<header>: <secret>` sent verbatim (GitLab)."""

    def __init__(self, header: str):
        self.header = header

    @property
    def description(self) -> str:
        return f"{self.header}: <secret>"

    def verify(self, headers: Mapping, args: Mapping, body: bytes, secret: str) -> None:
        _key(self, secret)
        presented = _single_header(headers, self.header)
        if presented is None:
            raise AuthError(f"missing {self.header} header")
        if not same_secret(presented, secret):
            raise AuthError(f"{self.header} does not match")


class SharedSecret(_Scheme):
    """For senders that cannot sign: `Authorization: Bearer <secret>`, HTTP Basic with the secret
    as password, or `?token=<secret>`."""

    description = "Authorization: Bearer <secret>, HTTP Basic (password = secret), or ?token=<secret>"

    def verify(self, headers: Mapping, args: Mapping, body: bytes, secret: str) -> None:
        _key(self, secret)
        presented = None
        auth = _single_header(headers, "Authorization")
        if auth:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() == "bearer":
                presented = bearer(auth)
            elif scheme.lower() == "basic":
                try:
                    decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    raise AuthError("malformed Basic credentials") from None
                presented = decoded.partition(":")[2]
        if presented is None:
            tokens = args.getlist("token") if hasattr(args, "getlist") else [args.get("token")]
            tokens = [t for t in tokens if t is not None]
            if len(tokens) > 1:
                raise AuthError("token query parameter was sent more than once")
            presented = tokens[0] if tokens else None
        if presented is None:
            raise AuthError("missing credentials: send Authorization: Bearer <secret>, Basic auth, or ?token=")
        if not same_secret(presented, secret):
            raise AuthError("credentials do not match")


class StandardWebhooks(_Scheme):
    """Standard Webhooks (standardwebhooks.com, used by Svix, Clerk, Resend, …):
    `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256>` over
    `{id}.{timestamp}.{raw body}`. Several space-separated signatures may be sent (key rotation);
    one valid `v1` signature is enough. A secret starting with `whsec_` is the base64 key that
    follows the prefix (it must decode to at least one byte); any other secret is used as UTF-8
    bytes. Timestamps outside ±5 minutes
    are rejected; a replay inside the window repeats a `webhook-id` and is answered `duplicate`."""

    description = (
        "webhook-id, webhook-timestamp and webhook-signature: v1,<base64 HMAC-SHA256 of "
        '"{id}.{timestamp}.{raw body}"> (Standard Webhooks; whsec_ secrets accepted), timestamp within 5 minutes'
    )

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock

    @staticmethod
    def key(secret: str | None) -> bytes:
        raw = secret_bytes(secret)
        if not secret.startswith("whsec_"):
            return raw
        try:
            key = base64.b64decode(secret[len("whsec_"):].strip(), validate=True)
        except (binascii.Error, ValueError):
            raise SecretError("a whsec_ secret must be followed by valid base64") from None
        if not key:
            raise SecretError("a whsec_ secret must be followed by a base64 key; it decodes to nothing")
        return key

    def sign(self, secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
        """The `webhook-signature` value a sender would send (for tests and tools)."""
        mac = hmac.new(self.key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        return "v1," + base64.b64encode(mac).decode()

    def verify(self, headers: Mapping, args: Mapping, body: bytes, secret: str) -> None:
        msg_id = _single_header(headers, "webhook-id")
        stamp = _single_header(headers, "webhook-timestamp")
        presented = _single_header(headers, "webhook-signature")
        if not msg_id:
            raise AuthError("missing webhook-id header")
        if not presented:
            raise AuthError("missing webhook-signature header")
        _check_timestamp(stamp, "webhook-timestamp", self.clock)
        expected = hmac.new(_key(self, secret), f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        ok = False
        for candidate in presented.split():
            version, _, value = candidate.partition(",")
            if version != "v1":
                continue
            try:
                mac = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                continue
            ok |= hmac.compare_digest(mac, expected)
        if not ok:
            raise AuthError("webhook-signature does not match the id, timestamp and body")


class SlackSignature(_Scheme):
    """Slack's request signing (Events API, slash commands, interactivity):
    `X-Slack-Request-Timestamp` and `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{ts}:{raw body}">`
    with the app's signing secret; timestamps outside ±5 minutes are rejected.

    No source uses it yet: the `slack` source receives Slack-*compatible* incoming-webhook posts,
    which are not signed. It is here for a source that receives requests from Slack itself."""

    description = (
        'X-Slack-Request-Timestamp and X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{raw body}">, '
        "timestamp within 5 minutes"
    )

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock

    @classmethod
    def sign(cls, secret: str, timestamp: int | str, body: bytes) -> str:
        return "v0=" + hmac.new(cls.key(secret), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()

    def verify(self, headers: Mapping, args: Mapping, body: bytes, secret: str) -> None:
        stamp = _single_header(headers, "X-Slack-Request-Timestamp")
        presented = _single_header(headers, "X-Slack-Signature")
        if not presented:
            raise AuthError("missing X-Slack-Signature header")
        _check_timestamp(stamp, "X-Slack-Request-Timestamp", self.clock)
        _key(self, secret)
        expected = self.sign(secret, stamp, body)
        if not hmac.compare_digest(presented.lower().encode("ascii", "replace"), expected.encode()):
            raise AuthError("X-Slack-Signature does not match the timestamp and body")


class Unauthenticated(_Scheme):
    """Used only for routes that say `allow_unauthenticated: true`."""

    description = "none (allow_unauthenticated)"

    def verify(self, headers, args, body, secret) -> None:
        return None
