"""The operator console over HTTP (Flask's test client, real Redis, the Copera stand-in): who gets
in, CSRF, cookie flags, the security headers, what each page shows, and that no page shows a secret."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

from bot.store.failed import FailedList
from tests.conftest import CHANNEL, OTHER_CHANNEL, TOKEN

SECRET = "s3cret-for-tests-0123"
GITHUB_SECRET = "gh-signing-key-4567-abcdef"
ADMIN = "admin-token-0123456789-console"
METRICS = "metrics-token-0123-console"
BEARER = {"Authorization": f"Bearer {SECRET}"}
ROUTES = {
    "ops": {"source": "generic", "channel": CHANNEL, "secret": SECRET, "sender_name": "Ops"},
    "gh": {"source": "github", "secret": GITHUB_SECRET, "branches": ["main"],
           "channels": [{"channel": OTHER_CHANNEL, "when": {"repo": ["acme/*"]}}, {"channel": CHANNEL}]},
}
ENV = {"RELAY_ADMIN_TOKEN": ADMIN, "METRICS_TOKEN": METRICS}
PAGES = ["/console/", "/console/routes", "/console/preview", "/console/deliveries", "/console/failed",
         "/console/config"]


def csrf_of(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def sign_in(client, token: str = ADMIN):
    return client.post("/console/login", data={"token": token, "csrf_token": csrf_of(client.get("/console/login"))})


@pytest.fixture
def console(make_relay):
    relay = make_relay(ROUTES, env=ENV)
    assert sign_in(relay.client).status_code == 302
    return relay


def page_csrf(relay) -> str:
    return csrf_of(relay.client.get("/console/routes"))


def test_no_console_without_an_admin_token(make_relay):
    client = make_relay(ROUTES).client
    for path in [*PAGES, "/console/login", "/console/static/console.js", "/static/console.css"]:
        assert client.get(path).status_code == 404, path
    assert client.post("/console/login", data={"token": "x"}).status_code == 404


def test_every_page_redirects_to_the_login_without_a_session(make_relay):
    client = make_relay(ROUTES, env=ENV).client
    for path in [*PAGES, "/console/failed/replay?all=1", "/console/deliveries?route=ops"]:
        r = client.get(path)
        assert (r.status_code, r.headers["Location"]) == (302, "/console/login"), path
        assert b"ops" not in r.data
    csrf = csrf_of(client.get("/console/login"))
    for path in ["/console/routes/ops/test", "/console/failed/replay", "/console/preview"]:
        r = client.post(path, data={"csrf_token": csrf, "all": "1"})
        assert (r.status_code, r.headers["Location"]) == (302, "/console/login"), path


def test_a_wrong_token_is_refused_and_starts_no_session(make_relay):
    client = make_relay(ROUTES, env=ENV).client
    for token in ["wrong", ADMIN + "x", ADMIN[:-1], ""]:
        r = sign_in(client, token)
        assert r.status_code == 401 and "not the relay&#39;s admin token" in r.get_data(as_text=True)
        assert client.get("/console/").status_code == 302
    assert sign_in(client).headers["Location"] == "/console/"
    assert client.get("/console/").status_code == 200


def test_failed_sign_ins_are_limited_per_minute(make_relay):
    from bot import console

    client = make_relay(ROUTES, env=ENV).client
    now = time.time()
    if now % 60 > 55:  # the limit is per minute: start the test inside one
        time.sleep(61 - now % 60)
    for _ in range(console.SIGNIN_FAILURES_PER_MINUTE):
        assert sign_in(client, "guess").status_code == 401
    r = sign_in(client)
    assert r.status_code == 429 and "Too many failed sign-ins" in r.get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_a_post_without_the_sessions_csrf_token_is_refused(make_relay):
    relay = make_relay(ROUTES, env=ENV)
    client = relay.client
    client.get("/console/login")
    assert client.post("/console/login", data={"token": ADMIN}).status_code == 400
    assert client.post("/console/login", data={"token": ADMIN, "csrf_token": "forged"}).status_code == 403
    assert client.get("/console/").status_code == 302
    # Signing in issues a new token: the one from before the sign-in no longer works.
    before = csrf_of(client.get("/console/login"))
    client.post("/console/login", data={"token": ADMIN, "csrf_token": before})
    assert client.post("/console/logout", data={"csrf_token": before}).status_code == 403
    assert client.post("/console/routes/ops/test", data={}).status_code == 400
    assert client.get("/console/").status_code == 200
    assert client.post("/console/logout", data={"csrf_token": page_csrf(relay)}).headers["Location"] == "/console/login"
    assert client.get("/console/").status_code == 302


@pytest.mark.parametrize("https", ["base_url", "forwarded", None])
def test_session_cookie_is_httponly_strict_scoped_expiring_and_secure_over_https(make_relay, https):
    client = make_relay(ROUTES, env=ENV).client
    kw = ({"base_url": "https://relay.example.test"} if https == "base_url"
          else {"headers": {"X-Forwarded-Proto": "https"}} if https == "forwarded" else {})
    csrf = csrf_of(client.get("/console/login", **kw))
    r = client.post("/console/login", data={"token": ADMIN, "csrf_token": csrf}, **kw)
    cookie = r.headers["Set-Cookie"]
    flags = [part.strip() for part in cookie.split(";")]
    assert cookie.startswith("relay_console=") and ADMIN not in cookie
    assert "HttpOnly" in flags and "SameSite=Strict" in flags and "Path=/console" in flags
    assert any(f.startswith("Expires=") for f in flags)
    assert ("Secure" in flags) == (https is not None)


def test_a_session_ends_after_its_lifetime(console):
    console.app.permanent_session_lifetime = timedelta(seconds=1)
    time.sleep(2.1)
    assert console.client.get("/console/").headers["Location"] == "/console/login"


def test_a_new_admin_token_ends_existing_sessions(make_relay):
    shared = {**ENV, "RELAY_SECRET_KEY": "console-signing-key-0123456789"}
    old = make_relay(ROUTES, env=shared)
    sign_in(old.client)
    cookie = old.client.get_cookie("relay_console", path="/console").value
    same = make_relay(ROUTES, env=shared)
    same.client.set_cookie("relay_console", cookie, path="/console")
    assert same.client.get("/console/").status_code == 200
    rotated = make_relay(ROUTES, env={**shared, "RELAY_ADMIN_TOKEN": "a-new-admin-token-9876543210"})
    rotated.client.set_cookie("relay_console", cookie, path="/console")
    assert rotated.client.get("/console/").status_code == 302


def test_pages_send_a_strict_content_security_policy(console):
    for path in [*PAGES, "/console/login", "/console/static/console.js", "/console/deliveries?route=nope"]:
        r = console.client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
    for path in PAGES:
        html = console.client.get(path).get_data(as_text=True)
        # No inline script (a JSON data block is not executed) and nothing loaded from elsewhere.
        assert re.findall(r"<script(?![^>]*\b(?:src=\"/console/static/|type=\"application/json\"))", html) == []
        assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", html), path
        assert not re.search(r"""<[^>]*\s(?:style|on[a-z]+)=""", html), path


def test_overview_counts_the_last_hour_per_route(console, copera):
    console.post("ops", {"message": "hello"}, BEARER)
    console.post("ops", {"message": "x"}, {"Authorization": "Bearer wrong"})
    console.work()
    html = console.client.get("/console/").get_data(as_text=True)
    row = re.search(r'<tr>\s*<th scope="row"><a href="/console/deliveries\?route=ops">ops</a></th>([\s\S]*?)</tr>',
                    html).group(1)
    cells = re.findall(r'<td class="num[^"]*">(\d+)</td>', row)
    # received, queued, ignored, invalid, unauthorized, posted, retrying, failed
    assert cells == ["2", "1", "0", "0", "1", "0", "1", "0", "0"]
    assert row.count('class="rx"') == 1 and "<svg" in row
    assert "live" in html and ">0</a></span> failed" in html


def test_routes_show_the_url_auth_setup_channels_and_filters(console):
    html = console.client.get("/console/routes").get_data(as_text=True)
    assert 'value="http://localhost/hooks/ops"' in html and 'data-copy="url-ops"' in html
    assert "X-Hub-Signature-256: sha256=&lt;hex HMAC-SHA256 of the raw body&gt;" in html
    assert "Payload URL http://localhost/hooks/gh" in html
    assert f"<code>{OTHER_CHANNEL}</code> when" in html and "branches main" in html
    with_public = console.client.get("/console/routes", headers={"X-Forwarded-Proto": "https"})
    assert 'value="https://localhost/hooks/ops"' in with_public.get_data(as_text=True)


def test_public_url_sets_the_urls_shown(make_relay):
    relay = make_relay(ROUTES, env={**ENV, "PUBLIC_URL": "https://relay.example.test/"})
    sign_in(relay.client)
    assert 'value="https://relay.example.test/hooks/ops"' in relay.client.get("/console/routes").get_data(as_text=True)
    assert "https://relay.example.test/hooks/ops" in relay.app.test_cli_runner().invoke(args=["hooks"]).output


def test_send_test_message_posts_now_and_says_what_copera_answered(console, copera):
    r = console.client.post("/console/routes/ops/test", data={"csrf_token": page_csrf(console)},
                            follow_redirects=True)
    assert "posted to channel" in r.get_data(as_text=True) and "Copera answered 204" in r.get_data(as_text=True)
    assert [(m["channel"], m["name"]) for m in copera.messages] == [(CHANNEL, "Ops")]
    copera.forbidden = {CHANNEL}
    r = console.client.post("/console/routes/ops/test", data={"csrf_token": page_csrf(console)},
                            follow_redirects=True)
    assert "Copera refused the test message for ops: 403" in r.get_data(as_text=True)


def test_preview_shows_markdown_and_html_rendered_without_raw_html(console):
    csrf = page_csrf(console)
    payload = '{"title": "Disk <script>alert(1)</script>", "message": "see <b>x</b>", "level": "warning"}'
    html = console.client.post("/console/preview", data={"csrf_token": csrf, "source": "generic",
                                                         "payload": payload}).get_data(as_text=True)
    rendered = html.split('class="rendered">', 1)[1].split("</div>", 1)[0]
    assert "<strong>" in rendered and "<script" not in rendered and "<b>" not in rendered
    assert "<script>alert" not in html
    gh = console.client.post("/console/preview", data={"csrf_token": csrf, "source": "github", "event": "ping",
                                                       "payload": '{"zen": "Keep it simple.", "hook_id": 1}'})
    assert "Ignored: ping: webhook is configured" in gh.get_data(as_text=True)
    bad = console.client.post("/console/preview", data={"csrf_token": csrf, "source": "generic", "payload": "{}"})
    assert "invalid payload" in bad.get_data(as_text=True)


def test_message_html_keeps_raw_html_scripts_links_and_images_out():
    """Messages are escaped by bot.markdown before they are stored; the console's renderer holds on
    its own too (a stored text from an older version, a notice, a template)."""
    from bot.console import message_html

    html = str(message_html("**ok** <script>alert(1)</script> <img src=x onerror=alert(1)> "
                            "[a](javascript:alert(1)) ![p](https://tracker.example.test/p.png) [b](https://ok.example)"))
    assert "<strong>ok</strong>" in html and '<a href="https://ok.example">b</a>' in html
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html


def test_deliveries_show_outcome_status_attempts_and_the_message(console, copera):
    console.post("ops", {"message": "deploy *done*"}, BEARER)
    console.work()
    html = console.client.get("/console/deliveries?route=ops").get_data(as_text=True)
    assert 'class="outcome posted">posted<' in html and "Copera 204" in html and "1 attempt(s)" in html
    assert "<em>done</em>" in html or "\\*done\\*" in html
    assert console.client.get("/console/deliveries?route=nope").status_code == 404


def test_replay_one_then_all_after_a_confirmation(console, copera):
    copera.forbidden = {CHANNEL}
    for i in range(3):
        console.post("ops", {"message": f"evt-{i}"}, BEARER)
    console.work()
    entries = FailedList(console.redis).list()
    html = console.client.get("/console/failed").get_data(as_text=True)
    assert "3 message(s) could not be delivered" in html and "Integration is not a participant" in html
    copera.forbidden = set()
    target = next(e["id"] for e in entries if "evt-0" in e["text"])
    confirm = console.client.get(f"/console/failed/replay?id={target}")
    assert confirm.status_code == 200 and 'id="confirm-replay"' in confirm.get_data(as_text=True)
    assert FailedList(console.redis).count() == 3  # asking is not doing
    r = console.client.post("/console/failed/replay", data={"csrf_token": csrf_of(confirm), "id": target},
                            follow_redirects=True)
    assert "Queued 1 message(s) again" in r.get_data(as_text=True)
    console.work()
    assert [t for t in copera.texts() if "evt-0" in t] and FailedList(console.redis).count() == 2
    confirm = console.client.get("/console/failed/replay?all=1")
    assert "Queue all 2 failed message(s) again?" in confirm.get_data(as_text=True)
    console.client.post("/console/failed/replay", data={"csrf_token": csrf_of(confirm), "all": "1"})
    console.work()
    assert FailedList(console.redis).count() == 0
    assert sorted(re.findall(r"evt-\d", " ".join(copera.texts()))) == ["evt-0", "evt-1", "evt-2"]
    assert console.client.get(f"/console/failed/replay?id={target}").status_code == 404


def test_config_page_runs_the_online_check(console, copera):
    copera.channels = [{"_id": CHANNEL, "name": "alerts"}]
    html = console.client.get("/console/config").get_data(as_text=True)
    assert "token accepted; it sees 1 channel(s)" in html and f"channel {CHANNEL} (alerts)" in html
    assert f"channel {OTHER_CHANNEL} is not visible to the token (routes: gh)" in html
    copera.token = "another-token"
    assert "Copera refused the token" in console.client.get("/console/config").get_data(as_text=True)
    copera.token = TOKEN


def test_no_page_shows_a_secret(console, copera):
    copera.forbidden = {CHANNEL}
    console.post("ops", {"message": "hello"}, BEARER)
    console.client.post(f"/hooks/ops?token={SECRET}", json={"message": "by query"})
    console.post("gh", b'{"zen": "x", "hook_id": 1}', {"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=0"})
    console.work()
    csrf = page_csrf(console)
    console.client.post("/console/routes/ops/test", data={"csrf_token": csrf})
    failed_id = FailedList(console.redis).list()[0]["id"]
    bodies = {path: console.client.get(path) for path in
              [*PAGES, "/console/login", "/console/deliveries?route=ops", "/console/deliveries?route=gh",
               "/console/failed/replay?all=1", f"/console/failed/replay?id={failed_id}"]}
    bodies["preview"] = console.client.post("/console/preview", data={"csrf_token": csrf, "source": "generic",
                                                                      "payload": '{"message": "m"}'})
    for name, response in bodies.items():
        assert response.status_code == 200, name
        text = response.get_data(as_text=True) + str(response.headers)
        for secret in (SECRET, GITHUB_SECRET, TOKEN, ADMIN, METRICS):
            assert secret not in text, (name, secret)
