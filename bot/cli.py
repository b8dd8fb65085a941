"""`flask --app bot <command>`: the operator's tools. Every command has `--help`."""

from __future__ import annotations

import json
import sys
import time

import click
import redis
from flask import current_app
from flask.cli import with_appcontext

from bot import operations
from bot.config import ConfigError, load_config
from bot.enqueue import queue_depth
from bot.lifecycle import clock
from bot.operations import OperationError
from bot.sources import SOURCES
from bot.sources._monitoring import duration
from bot.store import stats
from bot.store.alerts import AlertStore
from bot.store.failed import FailedList
from bot.store.history import History
from bot.store.outbox import Outbox


def _relay():
    return current_app.extensions["relay"]


def _config_or_exit():
    try:
        return _relay().config
    except ConfigError as exc:
        raise click.ClickException(f"invalid routes file: {exc}") from None


def _readonly_config():
    """The routes for commands that only show what the relay did: webhook secrets may be unset
    (an operator's terminal need not hold them)."""
    if _relay().routes.fixed is not None:  # an app built with its routes (tests, tools)
        return _relay().routes.fixed
    try:
        return load_config(_relay().settings.config_path, secrets_needed=False)
    except ConfigError as exc:
        raise click.ClickException(f"invalid routes file: {exc}") from None


def _redis_or_exit():
    settings = _relay().settings
    try:
        connection = _relay().redis  # a single-connection client connects as it is made
        connection.ping()
    except redis.RedisError as exc:
        origin = f" (from {settings.env_file}, written by scripts/run)" if settings.env_file else ""
        raise click.ClickException(f"cannot reach Redis at REDIS_URL={settings.redis_url}{origin}: {exc}") from None
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


@click.command("preview")
@click.argument("source_or_route")
@click.argument("payload_file", type=click.File("rb"))
@click.option("--event", help="Event name, for senders that name it in a header (e.g. push for GitHub).")
@click.option("--header", "headers", multiple=True, metavar="NAME:VALUE", help="Extra request header.")
@click.option("--form", is_flag=True, help="The file is a form-encoded body.")
@with_appcontext
def preview_command(source_or_route: str, payload_file, event: str | None, headers, form: bool):
    """Print the message(s) a payload would produce, without queueing or sending anything. Given a
    route of the routes file, its filters, channel rules and template apply too."""
    route = None
    if source_or_route not in SOURCES:
        route = _readonly_config().routes.get(source_or_route)
        if route is None:
            raise click.ClickException(f"no source or route named {source_or_route!r}; see "
                                       "`flask --app bot sources` and `flask --app bot hooks`")
    hdrs = [tuple(h.split(":", 1)) for h in headers if ":" in h]
    try:
        result = operations.preview(route.source.name if route else source_or_route, payload_file.read(), event,
                                    hdrs, form, route=route)
    except OperationError as exc:
        raise click.ClickException(str(exc)) from None
    if result.ignored is not None:
        click.echo(f"ignored: {result.ignored}{result.hint}")
        return
    if not result.messages:
        click.echo(f"event {result.event}: nothing to post")
    for i, message in enumerate(result.messages):
        if i:
            click.echo("\n" + "-" * 60 + "\n")
        click.echo(message)


@click.command("check-config")
@click.option("--online", is_flag=True, help="Also check the Copera token and that each channel is reachable.")
@with_appcontext
def check_config_command(online: bool):
    """Validate the routes file (RELAY_CONFIG) and print a summary; exit 1 on problems."""
    config, settings = _config_or_exit(), _relay().settings
    checks = operations.check_config(config, settings)
    _echo_checks(checks)
    if online:
        try:
            checks = operations.check_copera(config, settings)
        except OperationError as exc:
            raise click.ClickException(str(exc)) from None
        _echo_checks(checks)
    if any(check.level == "error" for check in checks):
        sys.exit(1)


def _echo_checks(checks) -> None:
    for check in checks:
        if check.level == "info":
            click.echo(check.text)
        else:
            click.echo(f"{check.level}: {check.text}", err=check.level != "ok")


def _all_channels(query: str | None = None) -> dict[str, str]:
    try:
        return operations.all_channels(_relay().settings, query)
    except OperationError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("channels")
@click.argument("query", required=False)
@with_appcontext
def channels_command(query: str | None):
    """Find Copera channel ids by name (the channels the token can see)."""
    found = _all_channels(query)
    if not found:
        click.echo("no channels found" + (f" matching {query!r}" if query else ""))
        return
    for channel_id, name in sorted(found.items(), key=lambda kv: kv[1].lower()):
        click.echo(f"{channel_id}  {name}")


@click.command("send-test")
@click.argument("route_name")
@with_appcontext
def send_test_command(route_name: str):
    """Post a test message to the route's first channel, right now, and report Copera's answer."""
    try:
        channel, result = operations.send_test(_config_or_exit(), _relay().settings, route_name)
    except OperationError as exc:
        raise click.ClickException(str(exc)) from None
    if result.outcome != "ok":
        raise click.ClickException(f"Copera answered {result.status}: {result.reason}")
    click.echo(f"ok: posted to channel {channel} (Copera answered {result.status})")


# Not `routes`: Flask's own `routes` command (the URL map) takes that name before the app's commands.
@click.command("hooks")
@with_appcontext
@click.option("--base-url", help="Public URL of the relay.  [default: PUBLIC_URL, else https://<host>]")
def hooks_command(base_url: str | None):
    """Table of configured routes and the URL each sender must call."""
    config = _readonly_config()
    base_url = base_url or _relay().settings.public_url or "https://<host>"
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

    entries = FailedList(_redis_or_exit()).list(limit)
    if as_json:
        click.echo(json.dumps(entries, indent=1, ensure_ascii=False))
        return
    if not entries:
        click.echo("no failed deliveries")
        return
    for e in entries:
        where = f"channel={e['channel']}" if e.get("channel") else "webhook (not formatted)"
        click.echo(f"{e['delivery_id']}  route={e['route']} {where} status={e.get('copera_status')} "
                   f"reason={e.get('reason')!r}")


@click.command("replay")
@with_appcontext
@click.argument("ids", nargs=-1)
@click.option("--route", "route_name", help="Replay every failed message of this route.")
@click.option("--all", "replay_all", is_flag=True, help="Replay every failed message.")
def replay_command(ids, route_name: str | None, replay_all: bool):
    """Queue failed messages again, in order: by delivery id (what the sender was answered, and what
    `failed` shows), every one of a route (--route), or all (--all)."""

    if not ids and not route_name and not replay_all:
        raise click.UsageError("give one or more delivery ids, --route NAME, or --all")
    connection = _redis_or_exit()
    failed = FailedList(connection)
    targets = failed.ids() if replay_all else failed.find(list(ids), route_name)
    if len(targets) > operations.REPLAY_BATCH:
        with click.progressbar(length=len(targets), label="replaying", file=sys.stderr) as bar:
            done = operations.replay(connection, targets, bar.update)
    else:
        done = operations.replay(connection, targets)
    found = {key for e in done.entries for key in (e["id"], e.get("delivery_id"))}
    missing = [key for key in ids if key not in found]
    for key in missing:
        click.echo(f"no failed message with delivery id {key}", err=True)
    if route_name and not done.entries:
        click.echo(f"no failed message for route {route_name}", err=True)
    click.echo(done.summary())
    if missing:
        sys.exit(1)


@click.command("deliveries")
@click.argument("route_or_id", required=False)
@click.option("--limit", default=20, show_default=True, help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output, with the rendered messages.")
@with_appcontext
def deliveries_command(route_or_id: str | None, limit: int, as_json: bool):
    """Recent webhooks, of every route or one, or one webhook by the delivery id its sender was
    answered: when, event, outcome, Copera status, attempts, delivery id."""
    import datetime as dt

    config = _readonly_config()
    history = History(_redis_or_exit())
    if route_or_id and route_or_id not in config.routes:
        entries = history.get([route_or_id])
        if not entries:
            raise click.ClickException(f"no route named {route_or_id!r}, and no delivery with that id")
    else:
        entries = history.recent(route_or_id, list(config.routes), limit)
    if as_json:
        click.echo(json.dumps(entries, indent=1, ensure_ascii=False))
        return
    if not entries:
        click.echo("no deliveries recorded yet")
        return
    click.echo(f"{'received (UTC)':19}  {'route':16} {'event':22} {'outcome':16} {'copera':6} {'tries':5} delivery id")
    for e in entries:
        when = dt.datetime.fromtimestamp(e["received_at"], dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"{when:19}  {e['route'][:16]:16} {e['event'][:22]:22} {e.get('outcome', '')[:16]:16} "
                   f"{e.get('copera_status', '-') or '-':6} {e['attempts']:<5} {e['delivery_id']}")


@click.command("escalations")
@with_appcontext
def escalations_command():
    """List open escalations: alerts waiting for their deadline, and alerts escalated and still firing."""

    now = time.time()
    pending, escalated = AlertStore(_redis_or_exit()).open_escalations()
    if not pending and not escalated:
        click.echo("no open escalations")
        return
    for state, due in pending:
        wait = f"in {duration(due - now)}" if due > now else "now"
        click.echo(f"pending    route={state.route} alert={state.title!r} firing since {clock(state.first_seen, now)}; "
                   f"DM {len(state.escalation.users) if state.escalation else 0} user(s) {wait}")
    for state in escalated:
        click.echo(f"escalated  route={state.route} alert={state.title!r} firing since {clock(state.first_seen, now)}; "
                   f"DM sent {clock(state.escalated_at or now, now)} to {', '.join(state.escalated_to)}")


@click.command("stats")
@with_appcontext
def stats_command():
    """A compact table of the last hour per route, with queue and outbox depth."""

    connection = _redis_or_exit()
    data = stats.last_hour(connection)["routes"]
    # Webhooks (queued … unauthorized, and nothing: formatted into no message) and messages (posted,
    # dry_run, failed) are each counted once; post_attempts_failed counts every post Copera did not
    # accept, retries included.
    columns = ["queued", "duplicate", "ignored", "invalid", "unauthorized", "nothing", "posted", "dry_run", "failed",
               "post_attempts_failed"]
    click.echo(f"{'route (last hour)':20} " + " ".join(f"{c:>12}" for c in columns))
    for route in sorted(set(data) | set(_readonly_config().routes)):
        counts = data.get(route, {})
        click.echo(f"{route[:20]:20} " + " ".join(f"{counts.get(c, 0):>{max(12, len(c))}}" for c in columns))
    waiting, oldest = Outbox(connection).backlog()
    failed = FailedList(connection)
    dropped = failed.dropped()
    click.echo(f"\nqueued for formatting: {queue_depth(connection)}   waiting to post: {waiting}   "
               f"oldest waiting: {oldest:.0f} s   failed: {failed.count()}"
               + (f" ({dropped} older entries dropped at the {failed.max_entries:,} cap)" if dropped else ""))


def init_app(app) -> None:
    for command in (sources_command, preview_command, check_config_command, hooks_command, channels_command,
                    send_test_command, deliveries_command, stats_command, failed_command, replay_command,
                    escalations_command):
        app.cli.add_command(command)
