"""The console in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`, which
./scripts/test installs) driven by Selenium, against the web app served on a loopback port, a real
worker process (`python -m workers`) and the Copera stand-in.

With CONSOLE_SCREENSHOTS=1 it saves a screenshot of each page to docs/console/ (shown in the README).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import urllib.request
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from bot.store.failed import FailedList
from tests.conftest import CHANNEL, OTHER_CHANNEL, free_port, wait_for
from tests.test_worker_process import WorkerProcess

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SHOTS = ROOT / "docs" / "console"
ADMIN = "admin-token-0123456789-browser"
PUBLIC_URL = "https://relay.example.test"
SECRET = "s3cret-for-tests-0123"
ROUTES = {
    "deploys": {"source": "generic", "channel": CHANNEL, "secret": SECRET, "sender_name": "Deploys"},
    "alerts": {"source": "alertmanager", "channel": OTHER_CHANNEL, "secret": SECRET, "min_severity": "warning"},
    "github-main": {"source": "github", "channel": CHANNEL, "secret": "gh-signing-key-4567-abcdef",
                    "events": ["push", "pull_request", "workflow_*"], "branches": ["main"]},
}


class Server:
    """The Flask app on a free loopback port (werkzeug's threaded server), for a browser to reach."""

    def __init__(self, app):
        self.port = free_port()
        self.httpd = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, route: str, body: dict, secret: str = SECRET) -> int:
        request = urllib.request.Request(f"{self.url}/hooks/{route}", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {secret}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("chromium and chromium-driver are not installed; run ./scripts/test, which installs them")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture
def stack(make_relay, copera, tmp_path):
    relay = make_relay(ROUTES, env={"RELAY_ADMIN_TOKEN": ADMIN, "PUBLIC_URL": PUBLIC_URL})
    server = Server(relay.app)
    worker = WorkerProcess(relay, tmp_path)
    yield relay, server
    worker.stop()
    server.stop()


def viewport(driver, width: int, height: int) -> None:
    """Sets the page's viewport exactly (the window's own size includes the browser's frame)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


def shoot(driver, name: str, width: int = 1280) -> None:
    """Saves the whole page when CONSOLE_SCREENSHOTS=1."""
    if os.environ.get("CONSOLE_SCREENSHOTS") != "1":
        return
    viewport(driver, width, 800)
    height = driver.execute_script("return Math.ceil(document.body.getBoundingClientRect().bottom) + 16")
    viewport(driver, width, max(400, min(height, 2400)))
    SHOTS.mkdir(parents=True, exist_ok=True)
    png = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"]
    (SHOTS / f"{name}.png").write_bytes(base64.b64decode(png))
    viewport(driver, 1280, 800)


def test_an_operator_walks_the_console(browser, stack, copera):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    relay, server = stack
    wait = WebDriverWait(browser, 20)
    copera.channels = [{"_id": CHANNEL, "name": "deploys"}, {"_id": OTHER_CHANNEL, "name": "alerts"}]
    copera.forbidden = {OTHER_CHANNEL}  # the alerts channel refuses posts until "fixed" below
    for i, text in enumerate(["api v1.4.2 deployed to production", "web v2.0.1 deployed to staging"]):
        assert server.post("deploys", {"message": text, "level": "success", "title": f"Deploy {i + 1}"}) == 202
    assert server.post("deploys", {"message": "x"}, secret="wrong-secret-value") == 401
    alert = {"version": "4", "status": "firing", "receiver": "copera", "groupKey": "{}:{alertname=\"DiskFull\"}",
             "externalURL": "https://alertmanager.example.test", "groupLabels": {"alertname": "DiskFull"},
             "commonLabels": {"alertname": "DiskFull", "severity": "critical"}, "commonAnnotations": {},
             "alerts": [{"status": "firing", "labels": {"alertname": "DiskFull", "severity": "critical",
                                                        "instance": "db-1.example.test"},
                         "annotations": {"summary": "Disk on db-1 is 95% full"},
                         "startsAt": "2026-11-28T21:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                         "generatorURL": "https://prometheus.example.test/graph", "fingerprint": "a1b2c3"}]}
    assert server.post("alerts", alert) == 202
    assert wait_for(lambda: FailedList(relay.redis).count() == 1 and len(copera.texts(CHANNEL)) >= 1, 30)

    # Without a session, the console sends the browser to the login page.
    browser.get(f"{server.url}/console/")
    wait.until(ec.url_to_be(f"{server.url}/console/login"))
    shoot(browser, "login")
    token = browser.find_element(By.ID, "token")
    token.send_keys("not-the-admin-token", Keys.ENTER)
    error = wait.until(ec.visibility_of_element_located((By.ID, "login-error")))
    assert "not the relay's admin token" in error.text
    # The keyboard alone signs in: the token field has the focus, Enter submits.
    assert browser.switch_to.active_element.get_attribute("id") == "token"
    browser.switch_to.active_element.send_keys(ADMIN, Keys.ENTER)
    wait.until(ec.url_to_be(f"{server.url}/console/"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Overview"
    row = browser.find_element(By.XPATH, "//tr[th/a[text()='deploys']]")
    assert [c.text for c in row.find_elements(By.CSS_SELECTOR, "td.num")][:5] == ["3", "2", "0", "0", "1"]
    assert row.find_elements(By.CSS_SELECTOR, "svg.chart rect")
    shoot(browser, "overview")

    # Routes: the webhook URL, copied with the button.
    browser.find_element(By.LINK_TEXT, "Routes").click()
    url_field = wait.until(ec.presence_of_element_located((By.ID, "url-deploys")))
    assert url_field.get_attribute("value") == f"{PUBLIC_URL}/hooks/deploys"
    browser.execute_cdp_cmd("Browser.grantPermissions", {"origin": server.url, "permissions": [
        "clipboardReadWrite", "clipboardSanitizedWrite"]})
    button = browser.find_element(By.CSS_SELECTOR, "button[data-copy='url-deploys']")
    button.click()
    wait.until(lambda d: button.text == "Copied")
    clipboard = browser.execute_async_script(
        "const done = arguments[0]; navigator.clipboard.readText().then(done, (e) => done('error: ' + e));")
    assert clipboard == f"{PUBLIC_URL}/hooks/deploys"
    shoot(browser, "routes")

    # Send a test message: it reaches the Copera stand-in, and the page says what Copera answered.
    before = len(copera.texts(CHANNEL))
    browser.find_element(By.CSS_SELECTOR, "#route-deploys button[type=submit]").click()
    flash = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "p.flash")))
    assert "posted to channel" in flash.text and "Copera answered 204" in flash.text
    assert wait_for(lambda: len(copera.texts(CHANNEL)) == before + 1, 10)
    assert "Copera Relay test for route deploys" in copera.texts(CHANNEL)[-1]

    # Preview a payload: markdown source and the HTML it renders to.
    browser.find_element(By.LINK_TEXT, "Preview").click()
    Select(wait.until(ec.presence_of_element_located((By.ID, "source")))).select_by_value("generic")
    browser.find_element(By.ID, "payload").send_keys(json.dumps(
        {"title": "Backup finished", "message": "db-main in 4m12s <script>alert(1)</script>", "level": "success",
         "url": "https://backups.example.test/runs/812"}))
    browser.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
    rendered = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".rendered")))
    assert rendered.find_element(By.TAG_NAME, "strong").text == "Backup finished"
    assert not rendered.find_elements(By.TAG_NAME, "script") and "<script>" in rendered.text
    link = rendered.find_element(By.CSS_SELECTOR, "strong a")
    assert link.get_attribute("href") == "https://backups.example.test/runs/812"
    source = browser.find_element(By.CSS_SELECTOR, "pre.md").text
    assert "**[Backup finished](https://backups.example.test/runs/812)**" in source
    shoot(browser, "preview")

    browser.find_element(By.LINK_TEXT, "Deliveries").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "article.delivery")))
    browser.find_element(By.CSS_SELECTOR, "article.delivery details summary").click()
    shoot(browser, "deliveries")

    # Replay the failed alert once its channel is fixed: it reaches the stand-in.
    browser.find_element(By.LINK_TEXT, "Failed").click()
    entry = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "article.failed")))
    assert "Integration is not a participant of this channel" in entry.text
    shoot(browser, "failed")
    copera.forbidden = set()
    entry.find_element(By.LINK_TEXT, "Replay…").click()
    confirm = wait.until(ec.element_to_be_clickable((By.ID, "confirm-replay")))
    shoot(browser, "replay")
    confirm.click()
    flash = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "p.flash")))
    assert "Queued 1 message(s) again" in flash.text
    assert wait_for(lambda: any("DiskFull" in t for t in copera.texts(OTHER_CHANNEL)), 30)
    assert FailedList(relay.redis).count() == 0

    browser.find_element(By.LINK_TEXT, "Config").click()
    checks = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "ul.checks")))
    assert "token accepted; it sees 2 channel(s)" in checks.text and f"channel {OTHER_CHANNEL} (alerts)" in checks.text
    assert not browser.find_elements(By.CSS_SELECTOR, "ul.checks li.error")
    shoot(browser, "config")

    # At 375 px the pages fit the width (wide tables scroll inside their own box).
    viewport(browser, 375, 800)
    for page in ("", "routes", "failed", "preview", "deliveries", "config"):
        browser.get(f"{server.url}/console/{page}")
        assert browser.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]") == [
            375, 375], page
    browser.get(f"{server.url}/console/")
    shoot(browser, "overview-375px", width=375)
    browser.get(f"{server.url}/console/routes")
    shoot(browser, "routes-375px", width=375)
    viewport(browser, 1280, 800)

    browser.find_element(By.CSS_SELECTOR, "form.logout button").click()
    wait.until(ec.url_to_be(f"{server.url}/console/login"))
    browser.get(f"{server.url}/console/failed")
    wait.until(ec.url_to_be(f"{server.url}/console/login"))
