"""What the relay keeps in Redis, and the only code that knows how it is laid out.

One module per stored structure: `outbox` (per-channel queues of messages with leases), `failed`
(the dead-letter list), `history` (each webhook's story and delivery counters), `stats` (per-route
counts per minute), `limiter` (the shared Copera budget), `alerts` (each alert's lifecycle state and
the escalation schedule). `keys` names every key. The web process,
the worker and the CLI all go through these; RQ's own keys are reached only through RQ's API.
"""
