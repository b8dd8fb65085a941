"""How senders prove themselves: HMAC signatures over the raw body, or a shared secret.

Every scheme compares in constant time and reports failures with a reason that never contains
the secret or the presented credential, because reasons go into logs and 401 bodies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping


class AuthError(Exception):
    """The sender did not prove knowledge of the route's secret; the message is safe to show."""


def _single_header(headers, name: str) -> str | None:
    values = headers.getlist(name) if hasattr(headers, "getlist") else [headers.get(name)]
    values = [v for v in values if v is not None]
    if len(values) > 1:
        raise AuthError(f"header {name} was sent more than once")
    return values[0].strip() if values else None


class HmacSignature:
    """`<header>: <prefix><hex HMAC-SHA256(secret, raw body)>`; several values may be allowed."""

    def __init__(self, header: str, prefix: str = "", separator: str | None = None):
        self.header = header
        self.prefix = prefix
        self.separator = separator

    @property
    def description(self) -> str:
        several = (
            f" (several `{self.prefix}` values separated by `{self.separator}` accepted)" if self.separator else ""
        )
        return f"{self.header}: {self.prefix}<hex HMAC-SHA256 of the raw body>{several}"

    def verify(self, headers: Mapping, args: Mapping, body: bytes, secret: str) -> None:
        presented = _single_header(headers, self.header)
        if not presented:
            raise AuthError(f"missing {self.header} signature header")
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
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


class TokenHeader:
    """`<header>: <secret>` sent verbatim (GitLab)."""

    def __init__(self, header: str):
        self.header = header

    @property
    def description(self) -> str:
        return f"{self.header}: <secret>"

    def verify(self, headers: Mapping, args: Mapping, body: bytes, secret: str) -> None:
        presented = _single_header(headers, self.header)
        if presented is None:
            raise AuthError(f"missing {self.header} header")
        if not hmac.compare_digest(presented.encode(), secret.encode()):
            raise AuthError(f"{self.header} does not match")


class SharedSecret:
    """For senders that cannot sign: `Authorization: Bearer <secret>`, HTTP Basic with the secret
    as password, or `?token=<secret>`."""

    description = "Authorization: Bearer <secret>, HTTP Basic (password = secret), or ?token=<secret>"

    def verify(self, headers: Mapping, args: Mapping, body: bytes, secret: str) -> None:
        presented = None
        auth = _single_header(headers, "Authorization")
        if auth:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() == "bearer":
                presented = value.strip()
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
        if not hmac.compare_digest(presented.encode(), secret.encode()):
            raise AuthError("credentials do not match")


class Unauthenticated:
    """Used only for routes that say `allow_unauthenticated: true`."""

    description = "none (allow_unauthenticated)"

    def verify(self, headers, args, body, secret) -> None:
        return None
