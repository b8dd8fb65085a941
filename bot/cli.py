"""`flask --app bot <command>`: the operator's tools. Every command has `--help`."""

from __future__ import annotations

import json
import sys

import click
import redis
from flask import current_app
from flask.cli import with_appcontext

from bot.config import ConfigError
from bot.message import render
from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError


def _relay():
    return current_app.extensions["relay"]


def _config_or_exit():
    try:
        return _relay().config
    except ConfigError as exc:
        raise click.ClickException(f"invalid routes file: {exc}") from None


def _redis_or_exit():
    connection = _relay().redis
    try:
        connection.ping()
    except redis.RedisError as exc:
        raise click.ClickException(f"cannot reach Redis at REDIS_URL: {exc}") from None
    return connection


@click.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable list.")
def sources_command(as_json: bool):
    """List the senders the relay understands, their events and how each authenticates."""
    data = [s.describe() for s in SOURCES.values()]
    if as_json:
        click.echo(json.dumps(data, indent=1))
        return
    for d in data:
        click.echo(f"{d['source']:18} {d['title']}")
        click.echo(f"{'':18} auth:   {d['auth']}")
        click.echo(f"{'':18} events: {', '.join(d['events'])}")


class _Headers(dict):
    def __init__(self, items):
        super().__init__({k.lower(): v for k, v in items})

    def get(self, key, default=None):
        return super().get(key.lower(), default)

    def getlist(self, key):
        value = self.get(key)
        return [] if value is None else [value]


@click.command("preview")
@click.argument("source")
@click.argument("payload_file", type=click.File("rb"))
@click.option("--event", help="Event name, for senders that name it in a header (e.g. push for GitHub).")
@click.option("--header", "headers", multiple=True, metavar="NAME:VALUE", help="Extra request header.")
@click.option("--form", is_flag=True, help="The file is a form-encoded body.")
def preview_command(source: str, payload_file, event: str | None, headers, form: bool):
    """Print the message(s) a payload would produce, without queueing or sending anything."""
    src = SOURCES.get(source)
    if src is None:
        raise click.ClickException(f"unknown source {source!r}; see `flask --app bot sources`")
    hdrs = [tuple(h.split(":", 1)) for h in headers if ":" in h]
    if event and src.event_header:
        hdrs.append((src.event_header, event))
    ctype = "application/x-www-form-urlencoded" if form else "application/json"
    try:
        incoming = src.receive(payload_file.read(), ctype, _Headers(hdrs))
    except Ignored as exc:
        click.echo(f"ignored: {exc.reason}")
        return
    except PayloadError as exc:
        raise click.ClickException(f"invalid payload: {exc.message} {json.dumps(exc.details)}") from None
    messages = src.format(incoming.event, incoming.payload)
    if not messages:
        click.echo(f"event {incoming.event}: nothing to post")
    for i, message in enumerate(messages):
        if i:
            click.echo("\n" + "-" * 60 + "\n")
        click.echo(render(message))


@click.command("check-config")
@with_appcontext
def check_config_command():
    """Validate the routes file (RELAY_CONFIG) and print a summary."""
    config = _config_or_exit()
    click.echo(f"ok: {len(config.routes)} route(s) in {config.path}")
    for name, route in config.routes.items():
        if route.secret is None:
            click.echo(f"warning: route {name} accepts unauthenticated requests", err=True)
        elif len(route.secret) < 16:
            click.echo(f"warning: route {name} has a weak secret (< 16 characters)", err=True)
    if _relay().settings.dry_run:
        click.echo("warning: COPERA_API_TOKEN is not set: dry run, nothing will be sent", err=True)


@click.command("routes")
@with_appcontext
@click.option("--base-url", default="https://<host>", show_default=True, help="Public URL of the relay.")
def routes_command(base_url: str):
    """Table of configured routes and the URL each sender must call."""
    config = _config_or_exit()
    click.echo(f"{'route':20} {'source':16} {'channels':28} url")
    for name, route in config.routes.items():
        channels = ",".join(r.channel for r in route.channels)
        click.echo(f"{name:20} {route.source.name:16} {channels:28} {base_url.rstrip('/')}/hooks/{name}")


@click.command("failed")
@with_appcontext
@click.option("--limit", default=50, show_default=True, help="How many entries, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def failed_command(limit: int, as_json: bool):
    """List messages that could not be delivered, with Copera's reason."""
    from workers.failed import FailedList

    entries = FailedList(_redis_or_exit()).list(limit)
    if as_json:
        click.echo(json.dumps(entries, indent=1))
        return
    if not entries:
        click.echo("no failed deliveries")
        return
    for e in entries:
        click.echo(f"{e['id']}  route={e['route']} channel={e['channel']} status={e.get('copera_status')} "
                   f"reason={e.get('reason')!r}")


@click.command("replay")
@with_appcontext
@click.argument("ids", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Replay every failed message.")
def replay_command(ids, replay_all: bool):
    """Queue failed messages again (by id, or --all); the worker sends them in order."""
    import time

    from workers.failed import FailedList
    from workers.outbox import Outbox

    if not ids and not replay_all:
        raise click.UsageError("give one or more ids, or --all")
    connection = _redis_or_exit()
    failed, outbox = FailedList(connection), Outbox(connection)
    targets = failed.ids() if replay_all else list(ids)
    entries = []
    for item_id in targets:
        entry = failed.pop(item_id)
        if entry is None:
            click.echo(f"no failed message with id {item_id}", err=True)
        else:
            entries.append(entry)
    # Replayed messages go out in the order their webhooks were first accepted.
    entries.sort(key=lambda e: e.get("accepted_at", 0))
    now = time.time()
    items = [{**{k: v for k, v in e.items() if k not in ("failed_at", "copera_status", "reason")},
              "accepted_at": now, "score": now} for e in entries]
    if items:
        outbox.push(items)
    done = len(items)
    click.echo(f"queued {done} message(s) again")
    if done < len(targets):
        sys.exit(1)


def init_app(app) -> None:
    for command in (sources_command, preview_command, check_config_command, routes_command, failed_command,
                    replay_command):
        app.cli.add_command(command)
