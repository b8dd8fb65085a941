"""What an operator asks of the relay, shared by the CLI (`bot/cli.py`) and the web console
(`bot/console.py`): preview a payload, check the configuration against Copera, post a test message,
replay failed messages. Each returns data and raises `OperationError` with a sentence to show;
the CLI prints it, the console puts it on the page."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from werkzeug.datastructures import Headers

from bot.config import RelayConfig
from bot.copera_client import CoperaClient, CoperaError, SendResult
from bot.enqueue import Enqueuer
from bot.message import Message, render
from bot.settings import Settings
from bot.sources import SOURCES
from bot.sources._monitoring import duration
from bot.sources.base import Ignored, PayloadError
from bot.store.failed import FailedList
from bot.store.outbox import Outbox

# Entries per replay transaction: each batch is queued and removed from the failed list atomically,
# so a long list shows progress and an interrupted replay leaves only the batches not yet queued.
REPLAY_BATCH = 500


class OperationError(Exception):
    """The operation could not be done; the message says why and is safe to show (no secret)."""


@dataclass(frozen=True)
class Preview:
    event: str | None
    messages: list[str]
    ignored: str | None = None
    hint: str = ""  # which --event values exist, when the header naming the event was not given


def preview(source_name: str, body: bytes, event: str | None = None, headers=(), form: bool = False,
            route=None) -> Preview:
    """The messages a payload would produce, rendered as Copera markdown; nothing is queued or sent.
    With `route`, its event and branch filters, channel rules and template apply as in the worker,
    and each message says where it would go."""
    src = SOURCES.get(source_name)
    if src is None:
        raise OperationError(f"unknown source {source_name!r}; see `flask --app bot sources`")
    hdrs = list(headers)
    hint = ""
    if src.event_header and not event and not any(n.strip().lower() == src.event_header.lower() for n, _ in hdrs):
        hint = (f"\n{src.name} names the event in the {src.event_header} header: pass --event, one of "
                f"{', '.join(sorted(src.events))}")
    if event and src.event_header:
        hdrs.append((src.event_header, event))
    ctype = "application/x-www-form-urlencoded" if form else "application/json"
    try:
        incoming = src.receive(body, ctype, Headers(hdrs), screen=route.event_filter_reason if route else None)
        reason = route.branch_filter_reason(incoming.branch) if route else None
        if reason:
            raise Ignored(reason)
    except Ignored as exc:
        return Preview(event, [], ignored=exc.reason, hint=hint)
    except PayloadError as exc:
        raise OperationError(f"invalid payload: {exc.message} {json.dumps(exc.details)}{hint}") from None
    messages = src.format(incoming.event, incoming.payload)
    if route is None:
        return Preview(incoming.event, [render(m) for m in messages])
    envelope = {"payload": incoming.payload, "event": incoming.event, "source": src.name}
    shown = []
    for message in messages:
        why = route.filter_reason(message) or (None if route.destinations(message) else
                                               "no channel rule matches the message")
        shown.append(f"nothing to post: {why}" if why else
                     f"to channel {route.destinations(message)[0]}:\n{route.render_text(message, envelope)}")
    return Preview(incoming.event, shown)


def copera_client(settings: Settings) -> CoperaClient:
    if settings.dry_run:
        raise OperationError("COPERA_API_TOKEN is not set")
    return CoperaClient(settings.copera_url, settings.copera_token)


def all_channels(settings: Settings, query: str | None = None) -> dict[str, str]:
    """{channel id: name} for every channel the token sees (all pages)."""
    client, found, offset = copera_client(settings), {}, 0
    try:
        while True:
            page = client.list_channels(query=query, limit=100, offset=offset)
            channels = page.get("channels") or []
            found.update({c["_id"]: c.get("name", "") for c in channels if "_id" in c})
            offset += len(channels)
            if not channels or offset >= int(page.get("total") or 0):
                return found
    except CoperaError as exc:
        raise OperationError(f"Copera refused the token or request: {exc}") from None
    except OSError as exc:
        raise OperationError(f"cannot reach Copera at COPERA_API_URL: {exc}") from None


@dataclass(frozen=True)
class Check:
    level: str  # info (a summary line) | ok | warning | error
    text: str


def check_config(config: RelayConfig, settings: Settings) -> list[Check]:
    """What `check-config` reports without asking Copera: the routes file, weak secrets, dry run."""
    checks = [Check("ok", f"{len(config.routes)} route(s) in {config.path or settings.config_path}")]
    checks += [Check("info", line) for route in config.routes.values() for line in route.summary()]
    if config.notices_channel:
        checks.append(Check("ok", f"notices go to channel {config.notices_channel}"))
    for name, route in config.routes.items():
        if route.secret is None:
            checks.append(Check("warning", f"route {name} accepts unauthenticated requests (allow_unauthenticated)"))
        elif len(route.secret) < 16:
            checks.append(Check("warning", f"route {name} has a weak secret (< 16 characters)"))
        if route.escalate:
            rule = route.escalate
            checks.append(Check("ok", f"route {name} escalates {rule.min_severity} alerts still firing after "
                                      f"{duration(rule.after)} to {len(rule.users)} user(s) by DM"))
    if settings.dry_run:
        checks.append(Check("warning", "COPERA_API_TOKEN is not set: dry run, nothing will be sent"))
    return checks


def check_copera(config: RelayConfig, settings: Settings) -> list[Check]:
    """What `check-config --online` adds: the token is accepted and sees every channel the routes
    (and notices) post to."""
    if settings.dry_run:
        raise OperationError("--online needs COPERA_API_TOKEN")
    visible = all_channels(settings)
    wanted = {rule.channel for route in config.routes.values() for rule in route.channels}
    if config.notices_channel:
        wanted.add(config.notices_channel)
    checks = [Check("ok", f"token accepted; it sees {len(visible)} channel(s)")]
    for channel in sorted(wanted & set(visible)):
        checks.append(Check("ok", f"channel {channel} ({visible[channel]})"))
    for channel in sorted(wanted - set(visible)):
        users = ", ".join(n for n, r in config.routes.items() if any(c.channel == channel for c in r.channels))
        checks.append(Check("error", f"channel {channel} is not visible to the token (routes: {users or 'notices'}); "
                                     "add the integration to the channel"))
    return checks


def send_test(config: RelayConfig, settings: Settings, route_name: str) -> tuple[str, SendResult]:
    """Posts a test message to the route's first channel now; returns (channel, Copera's answer)."""
    route = config.routes.get(route_name)
    if route is None:
        raise OperationError(f"no route named {route_name!r}; see `flask --app bot hooks`")
    channel = route.channels[0].channel
    message = render(Message(title=f"Copera Relay test for route {route_name}", severity="success",
                             body=[f"Source `{route.source.name}`; webhooks go to `/hooks/{route_name}`."]))
    result = copera_client(settings).send_message(channel, message, route.sender_name)
    if result.status is None:
        raise OperationError(f"could not reach Copera at COPERA_API_URL={settings.copera_url}: {result.reason}")
    return channel, result


@dataclass
class Replayed:
    messages: int = 0
    webhooks: int = 0
    missing: list[str] | None = None
    entries: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        return (f"queued {self.messages} message(s) again"
                + (f" and {self.webhooks} webhook(s) for formatting" if self.webhooks else ""))


def replay(connection, ids: list[str], progress: Callable[[int], None] | None = None,
           batch: int | None = None) -> Replayed:
    """Queues failed entries again through `FailedList.replay`, `batch` entries per transaction, in
    the failed list's order; `progress(n)` is told after each batch how many ids it covered."""
    failed, outbox, enqueuer = FailedList(connection), Outbox(connection), Enqueuer(connection)
    done, batch = Replayed(missing=[]), batch or REPLAY_BATCH
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        entries, missing = failed.replay(chunk, outbox, enqueuer.requeue)
        webhooks = sum(1 for e in entries if e.get("kind") == "webhook")
        done.webhooks += webhooks
        done.messages += len(entries) - webhooks
        done.missing += missing
        done.entries += entries
        if progress:
            progress(len(chunk))
    return done
