"""`flux-hmac`: Flux CD events from the notification-controller's `generic-hmac` provider.

Docs: https://fluxcd.io/flux/components/notification/providers/#generic-webhook-with-hmac

The payloads are the `flux` source's (one Flux `Event` per request, same events, same messages);
the difference is the proof: Flux signs the raw body with the `token` of the provider's secret and
sends `X-Signature: sha256=<hex HMAC-SHA256>`. The signature covers no timestamp, so there is no
replay window; a retried event is recognised by its body for ten minutes.
"""

from __future__ import annotations

from bot.auth import HmacSignature
from bot.sources.flux import Flux


class FluxHmac(Flux):
    name = "flux-hmac"
    title = "Flux CD (generic-hmac)"
    setup = (
        "Flux Provider spec.type: generic-hmac, spec.address: https://<relay>/hooks/<route>, secretRef to a "
        "Secret with token: <secret>; then an Alert with providerRef to it"
    )
    auth = HmacSignature("X-Signature", prefix="sha256=")


SOURCE = FluxHmac()
