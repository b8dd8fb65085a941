"""The operator console under /console: the store, the registry and the CLI's operations as
server-rendered pages, for operators without a shell next to the relay.

It exists only when RELAY_ADMIN_TOKEN is set. Signing in with that token starts a signed session
cookie (HttpOnly, SameSite=Strict, Secure over https, eight hours); every POST carries the
session's CSRF token; pages load nothing from outside the relay and run no inline script, which
the Content-Security-Policy enforces. No page shows a secret: route secrets, tokens and signing
keys appear only as placeholders such as `<secret>`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

import redis
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from markdown_it import MarkdownIt
from markupsafe import Markup

from bot import operations
from bot.auth import same_secret
from bot.enqueue import queue_depth
from bot.operations import OperationError
from bot.sources import SOURCES
from bot.store import keys, stats
from bot.store.failed import FailedList
from bot.store.history import History
from bot.store.outbox import Outbox

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates", static_folder="static")

SESSION_HOURS = 8
# Failed sign-ins allowed per minute, across all clients (behind a PaaS router every client may share
# one address): enough for typos, far too few to guess a token.
SIGNIN_FAILURES_PER_MINUTE = 10
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# What intake records per request; their sum is what a route received.
INTAKE_OUTCOMES = ("queued", "duplicate", "ignored", "invalid", "unauthorized")
COLUMNS = ("received", "queued", "ignored", "invalid", "unauthorized", "nothing", "posted", "retrying", "failed")
NAV = [("console.overview", "Overview"), ("console.routes", "Routes"), ("console.preview", "Preview"),
       ("console.deliveries", "Deliveries"), ("console.failed", "Failed"), ("console.config_check", "Config")]
# Messages are rendered as CommonMark with raw HTML off: a payload's `<script>` shows as text. Images
# are off too: an image in a message would be fetched from its sender's host by the operator's browser.
_markdown = MarkdownIt("commonmark", {"html": False}).disable("image")


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure when the browser reached the relay over https (directly
    or through a PaaS router that says so in X-Forwarded-Proto), so plain-http development works."""

    def get_cookie_secure(self, app) -> bool:
        return request.is_secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def init_app(app) -> None:
    """Registers the console; call only when RELAY_ADMIN_TOKEN is set."""
    settings = app.extensions["relay"].settings
    app.secret_key = settings.secret_key or hmac.new(
        settings.admin_token.encode(), b"copera-relay console session", hashlib.sha256).hexdigest()
    app.config.update(SESSION_COOKIE_NAME="relay_console", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_PATH="/console",
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS))
    app.session_interface = _SessionInterface()
    app.register_blueprint(bp)


def _relay():
    return current_app.extensions["relay"]


def _token_mark() -> str:
    """Stands for the admin token in the session, so rotating the token ends every session even
    when RELAY_SECRET_KEY keeps the cookie signatures valid."""
    return hmac.new(current_app.secret_key.encode(), _relay().settings.admin_token.encode(),
                    hashlib.sha256).hexdigest()[:32]


def _csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


@bp.before_request
def _guard():
    if request.method == "POST":
        sent = request.form.get("csrf_token")
        if not sent:
            abort(400, "the form has no CSRF token; reload the page and try again")
        if not hmac.compare_digest(sent.encode(), session.get("csrf", "").encode()):
            abort(403, "the form's CSRF token does not match this session; reload the page and try again")
    if request.endpoint in ("console.login", "console.static"):
        return None
    if not hmac.compare_digest(session.get("auth", ""), _token_mark()):
        return redirect(url_for("console.login"))
    return None


@bp.after_request
def _headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def _template_helpers():
    return {"csrf_token": _csrf_token, "nav": NAV, "utc": _utc, "markdown_html": message_html,
            "dry_run": _relay().settings.dry_run}


def _utc(timestamp) -> str:
    if not timestamp:
        return "-"
    return dt.datetime.fromtimestamp(float(timestamp), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def message_html(text: str) -> Markup:
    """A message's markdown as HTML for the console's pages."""
    return Markup(_markdown.render(text or ""))


@bp.errorhandler(400)
@bp.errorhandler(403)
@bp.errorhandler(404)
def _http_error(exc):
    return render_template("console/error.html", title=exc.name, message=exc.description), exc.code


@bp.errorhandler(redis.RedisError)
def _redis_down(exc):
    return render_template("console/error.html", title="Redis is not reachable",
                           message="The relay cannot reach Redis at REDIS_URL; this page needs it."), 503


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("console/login.html", title="Sign in")
    failures = keys.console_signin_failures(int(time.time() // 60))
    if int(_relay().redis.get(failures) or 0) >= SIGNIN_FAILURES_PER_MINUTE:
        return render_template("console/login.html", title="Sign in",
                               error="Too many failed sign-ins; wait a minute and try again."), 429
    if not same_secret(request.form.get("token", ""), _relay().settings.admin_token):
        pipe = _relay().redis.pipeline()
        pipe.incr(failures)
        pipe.expire(failures, 120)
        pipe.execute()
        return render_template("console/login.html", title="Sign in",
                               error="That is not the relay's admin token."), 401
    # A new session on sign-in: whatever the cookie held before (a planted one included) is dropped.
    session.clear()
    session.permanent = True
    session["auth"] = _token_mark()
    session["csrf"] = secrets.token_urlsafe(32)
    return redirect(url_for("console.overview"))


@bp.post("/logout")
def logout():
    session.clear()
    flash("Signed out.")
    return redirect(url_for("console.login"))


def _chart(minutes: list[dict], route: str) -> dict:
    """Per-minute bars of what a route received and what failed, scaled for a small inline SVG."""
    received = [sum(m["routes"].get(route, {}).get(o, 0) for o in INTAKE_OUTCOMES) for m in minutes]
    failed = [m["routes"].get(route, {}).get("failed", 0) for m in minutes]
    top = max([*received, *failed, 1])
    return {"received": [round(24 * n / top, 1) for n in received],
            "failed": [round(24 * n / top, 1) for n in failed], "top": top}


@bp.get("/")
def overview():
    connection = _relay().redis
    hour = stats.last_hour(connection)
    rows = []
    for name in _relay().config.routes:
        counts = dict(hour["routes"].get(name, {}))
        counts["received"] = sum(counts.get(o, 0) for o in INTAKE_OUTCOMES)
        # Posts Copera did not accept and that are tried again or given up on (stats' post_attempts_failed).
        counts["retrying"] = counts.get("post_attempts_failed", 0)
        rows.append({"route": name, "counts": counts, "chart": _chart(hour["minutes"], name)})
    waiting, oldest = Outbox(connection).backlog()
    return render_template("console/overview.html", title="Overview", rows=rows, columns=COLUMNS,
                           queue=queue_depth(connection), waiting=waiting, oldest=oldest,
                           failed=FailedList(connection).count())


def _base_url() -> str:
    """The relay's public URL: PUBLIC_URL, else what the browser used to reach it."""
    configured = _relay().settings.public_url
    if configured:
        return configured
    scheme = "https" if request.headers.get("X-Forwarded-Proto", "").lower() == "https" else request.scheme
    return f"{scheme}://{request.host}"


@bp.get("/routes")
def routes():
    base = _base_url()
    host = urlsplit(base).netloc
    shown = []
    for name, route in _relay().config.routes.items():
        url = f"{base}/hooks/{name}"
        setup = route.source.setup.replace("https://<relay>/hooks/<route>", url).replace("<relay>", host)
        shown.append({"name": name, "route": route, "url": url, "setup": setup, "filters": _filters(route)})
    return render_template("console/routes.html", title="Routes", routes=shown)


def _filters(route) -> list[str]:
    shown = []
    if route.events:
        shown.append("events " + ", ".join(route.events))
    if route.exclude_events:
        shown.append("not " + ", ".join(route.exclude_events))
    if route.branches:
        shown.append("branches " + ", ".join(route.branches))
    if route.min_severity:
        shown.append(f"min severity {route.min_severity}")
    if route.template:
        shown.append("custom template")
    if route.max_requests_per_minute:
        shown.append(f"at most {route.max_requests_per_minute} requests/minute")
    return shown


@bp.post("/routes/<route_name>/test")
def send_test(route_name: str):
    relay = _relay()
    try:
        channel, result = operations.send_test(relay.config, relay.settings, route_name)
    except OperationError as exc:
        flash(f"Not sent: {exc}.", "error")
        return redirect(url_for("console.routes"))
    if result.outcome == "ok":
        flash(f"Test message for {route_name} posted to channel {channel} (Copera answered {result.status}).")
    else:
        flash(f"Copera refused the test message for {route_name}: {result.status} {result.reason}", "error")
    return redirect(url_for("console.routes", _anchor=f"route-{route_name}"))


@bp.route("/preview", methods=["GET", "POST"])
def preview():
    form = {"source": request.form.get("source", "generic"), "event": request.form.get("event", "").strip(),
            "payload": request.form.get("payload", ""), "form_encoded": bool(request.form.get("form_encoded"))}
    result = error = None
    if request.method == "POST":
        try:
            result = operations.preview(form["source"], form["payload"].encode(), form["event"] or None,
                                        form=form["form_encoded"])
        except OperationError as exc:
            error = str(exc)
    events = {name: sorted(src.events) for name, src in SOURCES.items()}
    return render_template("console/preview.html", title="Preview", sources=SOURCES, events=events, form=form,
                           result=result, error=error)


@bp.get("/deliveries")
def deliveries():
    names = list(_relay().config.routes)
    route = request.args.get("route") or None
    if route and route not in names:
        abort(404, f"no route named {route!r} is configured")
    entries = History(_relay().redis).recent(route, names, 50)
    return render_template("console/deliveries.html", title="Deliveries", entries=entries, names=names,
                           route=route)


@bp.get("/failed")
def failed():
    failed_list = FailedList(_relay().redis)
    return render_template("console/failed.html", title="Failed", entries=failed_list.list(100),
                           count=failed_list.count())


@bp.route("/failed/replay", methods=["GET", "POST"])
def replay():
    """GET asks for confirmation; POST replays the one entry (`id`) or, with `all`, every entry."""
    connection = _relay().redis
    failed_list = FailedList(connection)
    replay_all = (request.values.get("all") == "1")
    item_id = request.values.get("id", "")
    if request.method == "GET":
        entry = None
        if not replay_all:
            entry = next(iter(failed_list.get([item_id])), None)
            if entry is None:
                abort(404, f"no failed message with id {item_id!r}")
        return render_template("console/replay.html", title="Replay", entry=entry, replay_all=replay_all,
                               count=failed_list.count())
    ids = failed_list.ids() if replay_all else [item_id]
    done = operations.replay(connection, ids)
    if done.missing:
        flash(f"No failed message with id {', '.join(done.missing)} (already replayed?).", "error")
    flash(done.summary().capitalize() + "; the worker sends them in order.")
    return redirect(url_for("console.failed"))


@bp.get("/config")
def config_check():
    relay = _relay()
    checks = operations.check_config(relay.config, relay.settings)
    online_error = None
    if relay.settings.dry_run:
        online_error = "COPERA_API_TOKEN is not set, so the token and channels cannot be checked."
    else:
        try:
            checks += operations.check_copera(relay.config, relay.settings)
        except OperationError as exc:
            online_error = str(exc)
    return render_template("console/config.html", title="Config check", checks=checks, online_error=online_error)
