"""The race page's AWS live channel (``consumers/api/page/js/iot.js``) in a real browser (Debian
chromium through Selenium) against real servers on 127.0.0.1: Debian's Mosquitto with a WebSocket
listener stands in for IoT Core's MQTT endpoint, moto's server for the Cognito identity pool
(GetId, GetCredentialsForIdentity), and a static file server sends the page's modules with the
page's own headers, its Content-Security-Policy included (connect-src opened to the two servers,
as on AWS).
Mosquitto checks no signature: what is checked here is that the page gets guest credentials,
presigns with them, connects with its identity id as the client id, subscribes to the race's topic
and hands each message over, and reports the broker's death once. The signature itself is checked
against botocore in tests/unit/test_page_iot.py. The last test runs the whole page that way, its
config naming the IoT channel and its API on the page's origin (screenshot: live-iot.png)."""

from __future__ import annotations

import getpass
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from selenium.webdriver import Chrome

from alleycat.domain import keys
from alleycat.domain.scoring import RaceScores
from alleycat.settings import Settings
from alleycat.testing.browser import REPO, chromium, screenshot, wait_for
from bench.page import LiveRaceDriver
from consumers.api.routers import page
from infra.local import stack as local_stack
from infra.local.processes import ProcessSpec, ProcessTable, free_port, port_open
from infra.local.workers import api_spec

REGION = "eu-west-1"
RACE = {"raceId": 7_000_003, "classId": 5}
TOPIC = keys.live_topic(RACE["raceId"], RACE["classId"])

# Records each WebSocket URL the page opens, then opens the channel as js/channel.js does.
OPEN = """
const [live, race, done] = arguments;
(async () => {
  window.iotEvents = [];
  window.iotSockets = [];
  if (!window.iotWrapped) {
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(url, protocols) { super(url, protocols); window.iotSockets.push(url); }
    };
    window.iotWrapped = true;
  }
  const { openIot } = await import("/page/js/iot.js");
  window.iotChannel = openIot(live, race, {
    onOpen: () => window.iotEvents.push(["open"]),
    onMessage: (text, type) => window.iotEvents.push(["message", text, type === undefined]),
    onDown: (reason) => window.iotEvents.push(["down", reason]),
  });
})().then(() => done(null), (error) => done(String(error)));
"""


@dataclass(frozen=True)
class Servers:
    processes: ProcessTable
    broker: ProcessSpec
    mqtt_port: int
    log: Path  # the broker's own log (its stdout is buffered), each connection's client id in it
    live: dict[str, Any]
    page_url: str
    headers: dict[str, str]  # the page's headers, connect-src opened to the two servers


def broker_spec(home: Path, ws_port: int, mqtt_port: int) -> ProcessSpec:
    conf = home / "mosquitto.conf"
    # A WebSocket listener binds to an interface, not an address (libwebsockets): "lo" is 127.0.0.1.
    conf.write_text(
        # as this test's own user (as root, Mosquitto would become "mosquitto", who may not write here)
        f"user {getpass.getuser()}\nper_listener_settings false\nallow_anonymous true\npersistence false\n"
        f"log_dest file {home / 'broker.log'}\nlog_type all\nconnection_messages true\n"
        f"listener {ws_port} lo\nprotocol websockets\n"
        f"listener {mqtt_port} 127.0.0.1\nprotocol mqtt\n"
    )
    return ProcessSpec(
        "mosquitto", ["/usr/sbin/mosquitto", "-c", str(conf)], ws_port,
        lambda: port_open(ws_port) and port_open(mqtt_port), start_timeout_s=15,
    )  # fmt: skip


def page_files(headers: dict[str, str], site: dict[str, Callable[[str], bytes]] | None = None) -> ThreadingHTTPServer:
    """consumers/api/ as static files on 127.0.0.1 (the page's modules at /page/js/), with ``headers``
    on every answer, served from a thread of this process until ``shutdown()``. ``site``: paths
    (a prefix ending in "/", or a whole path) answered with JSON from a function of the path instead,
    as a CDN's origins for the page's config and its API would."""

    class Files(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(REPO / "consumers" / "api"), **kwargs)

        def do_GET(self) -> None:
            answer = next((f for k, f in (site or {}).items() if self.path.startswith(k)), None)
            if answer is None:
                return super().do_GET()
            try:
                body, status = answer(self.path), 200
            except urllib.error.HTTPError as exc:
                body, status = exc.read(), exc.code
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None

        def end_headers(self) -> None:
            for name, value in headers.items():
                self.send_header(name, value)
            super().end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the test reads no access log
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    home = tmp_path_factory.mktemp("iot-home")
    processes = ProcessTable(home)
    ws_port, mqtt_port, cognito_port = free_port(), free_port(), free_port()
    broker = broker_spec(home, ws_port, mqtt_port)
    cognito = ProcessSpec(
        "moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(cognito_port)], cognito_port,
        lambda: port_open(cognito_port), start_timeout_s=30,
    )  # fmt: skip
    cognito_url = f"http://127.0.0.1:{cognito_port}"
    # the page's own headers, its CSP's connect-src opened to the two servers as on AWS (docs/api.md)
    headers = {**page.HEADERS, "Content-Security-Policy": page.POLICY.replace(
        "connect-src 'self'", f"connect-src 'self' ws://127.0.0.1:{ws_port} {cognito_url}")}  # fmt: skip
    files = page_files(headers)
    try:
        for spec in (broker, cognito):
            processes.start(spec)
        identity = boto3.client(
            "cognito-identity", region_name=REGION, endpoint_url=cognito_url,
            aws_access_key_id="test", aws_secret_access_key="test",
        )  # fmt: skip
        pool = identity.create_identity_pool(IdentityPoolName="live", AllowUnauthenticatedIdentities=True)
        live = {
            "channel": "iot",
            "region": REGION,
            "endpoint": "example-ats.iot.eu-west-1.amazonaws.com",
            "identityPoolId": pool["IdentityPoolId"],
            "endpointUrls": {"iot": f"ws://127.0.0.1:{ws_port}/mqtt", "cognitoIdentity": f"{cognito_url}/"},
        }
        # a plain page of that origin (the directory listing), so the modules load from /page/js/
        page_url = f"http://127.0.0.1:{files.server_port}/"
        yield Servers(processes, broker, mqtt_port, home / "broker.log", live, page_url, headers)
    finally:
        files.shutdown()
        for name in ("moto", "mosquitto"):
            processes.stop(name)


@pytest.fixture
def browser(servers: Servers) -> Iterator[Chrome]:
    driver = chromium()
    try:
        driver.get(servers.page_url)
        yield driver
    finally:
        driver.quit()


def open_channel(browser: Chrome, servers: Servers) -> None:
    error = browser.execute_async_script(OPEN, servers.live, RACE)
    assert error is None, error


def events(browser: Chrome) -> list[list[Any]]:
    found: list[list[Any]] = browser.execute_script("return window.iotEvents")
    return found


def stored_identity(browser: Chrome, servers: Servers) -> str | None:
    """The identity id js/guest.js keeps for the pool."""
    key = f"alleycat.identity.{servers.live['identityPoolId']}"
    identity_id: str | None = browser.execute_script("return localStorage.getItem(arguments[0])", key)
    return identity_id


def publish(servers: Servers, topic: str, payload: str) -> None:
    subprocess.run(
        ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(servers.mqtt_port), "-q", "0", "-t", topic, "-m", payload],
        check=True, timeout=10,
    )  # fmt: skip


def message(second: int) -> str:
    return json.dumps({"type": "standings", **RACE, "windowEnd": second, "standings": [], "changed": []})


def test_a_guest_subscribes_receives_and_sees_the_broker_go(browser: Chrome, servers: Servers) -> None:
    open_channel(browser, servers)
    wait_for("the subscription (SUBACK)", lambda: ["open"] in events(browser))
    identity_id = stored_identity(browser, servers)
    assert re.fullmatch(r"[a-z0-9-]+:[0-9a-f-]{36}", identity_id or ""), identity_id  # <region>:<uuid>
    log = servers.log
    # the MQTT client id is the guest's identity id (IoT's policy allows only that)
    wait_for("the client in the broker's log", lambda: f" as {identity_id} " in log.read_text())
    (socket_url,) = browser.execute_script("return window.iotSockets")
    assert socket_url.startswith(servers.live["endpointUrls"]["iot"] + "?X-Amz-Algorithm=AWS4-HMAC-SHA256&")
    assert "&X-Amz-Signature=" in socket_url and socket_url.rsplit("&", 1)[1].startswith("X-Amz-Security-Token=")

    # nothing the channel does trips the page's CSP (mqtt.js's worker timers would)
    blocked = [e["message"] for e in browser.get_log("browser") if e["source"] == "security"]
    assert not blocked, blocked

    publish(servers, keys.live_topic(RACE["raceId"], RACE["classId"] + 1), message(1))  # another race's
    publish(servers, TOPIC, message(2))
    publish(servers, TOPIC, message(3))
    got = wait_for(
        "two messages", lambda: [e for e in events(browser) if e[0] == "message"] if len(events(browser)) >= 3 else []
    )
    assert got == [["message", message(2), True], ["message", message(3), True]]

    servers.processes.stop("mosquitto")
    wait_for("the channel down", lambda: events(browser)[-1][0] == "down")
    time.sleep(1)
    assert [e[0] for e in events(browser)] == ["open", "message", "message", "down"]  # down once, no reconnect
    open_channel(browser, servers)  # as live.js's retry would, with no broker to answer
    wait_for("the failed connection", lambda: events(browser))
    time.sleep(1)
    assert [e[0] for e in events(browser)] == ["down"]


def test_a_returning_guest_keeps_its_identity_and_close_is_quiet(browser: Chrome, servers: Servers) -> None:
    servers.processes.start(servers.broker)
    open_channel(browser, servers)
    wait_for("the subscription", lambda: ["open"] in events(browser))
    first = stored_identity(browser, servers)
    browser.execute_script("window.iotChannel.close()")
    browser.refresh()  # a new page of the same origin: the module's memory is gone, localStorage is not
    open_channel(browser, servers)
    wait_for("the second subscription", lambda: ["open"] in events(browser))
    assert stored_identity(browser, servers) == first
    log = servers.log
    wait_for("both connections in the broker's log", lambda: log.read_text().count(f" as {first} ") >= 2)
    browser.execute_script("window.iotChannel.close()")
    publish(servers, TOPIC, message(4))
    time.sleep(1)
    assert events(browser) == [["open"]]  # after close(): no message, no down
    assert log.read_text().count(f"Received DISCONNECT from {first}") == 2  # each close() said goodbye


def test_guest_credentials_are_reused_until_a_minute_before_they_expire(browser: Chrome, servers: Servers) -> None:
    script = """
const [url, identityPoolId, done] = arguments;
(async () => {
  const { guestCredentials } = await import("/page/js/guest.js");
  const first = await guestCredentials({ url, identityPoolId });
  const again = await guestCredentials({ url, identityPoolId });
  const now = Date.now;
  Date.now = () => first.expiresAt - 30 * 1000; // 30 s left
  const fresh = await guestCredentials({ url, identityPoolId });
  Date.now = now;
  return { reused: again === first, refreshed: fresh !== first, sameGuest: fresh.identityId === first.identityId,
           expiresInS: (first.expiresAt - now()) / 1000, key: first.credentials.accessKeyId };
})().then(done, (error) => done(String(error)));
"""
    live = servers.live
    got = browser.execute_async_script(script, live["endpointUrls"]["cognitoIdentity"], live["identityPoolId"])
    assert isinstance(got, dict), got
    assert got["reused"] and got["refreshed"] and got["sameGuest"], got
    assert 60 < got["expiresInS"] <= 3600 and got["key"], got  # moto's guest credentials last 90 s, Cognito's an hour


def test_the_keepalive_pings_the_broker(browser: Chrome, servers: Servers) -> None:
    """A subscriber only receives, so its PINGREQs (every 30 s) are what keeps IoT from dropping it."""
    servers.processes.start(servers.broker)
    open_channel(browser, servers)
    wait_for("the subscription", lambda: ["open"] in events(browser))
    identity_id = stored_identity(browser, servers)
    wait_for("a PINGREQ", lambda: f"Received PINGREQ from {identity_id}" in servers.log.read_text(), timeout_s=45)
    browser.execute_script("window.iotChannel.close()")


def test_the_page_follows_a_race_over_the_iot_channel(
    servers: Servers, stack: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The whole page as on AWS: its config names the IoT channel, its API is on its own origin
    (the real API server behind the page's server, as CloudFront's /v1 behaviour puts it), and the
    Publisher's messages come over MQTT. Subscribed, the page takes its snapshot from the API, then
    applies each change it receives."""
    servers.processes.start(servers.broker)
    home = tmp_path_factory.mktemp("iot-page")
    tag = uuid.uuid4().hex[:8]
    settings = replace(stack, home=home, local_s3_root=home / "s3", table=f"iot-{tag}", stream=f"iot-{tag}", shards=1)
    local_stack.create_resources(settings)
    api = ProcessTable(home)
    api.start(api_spec(settings))
    names = {80_000 + i: f"iot {i:02d}" for i in range(12)}
    race = LiveRaceDriver(settings, RaceScores(RACE["raceId"], RACE["classId"]), names, seed=5)
    race.step(publish=False)  # the LIVE item the snapshot is read from

    def from_api(path: str) -> bytes:
        with urllib.request.urlopen(f"{settings.api_url}{path}", timeout=10) as answer:
            body: bytes = answer.read()
            return body

    config = {"apiBase": "", "live": servers.live, "auth": None}
    site = {"/config.json": lambda _: json.dumps(config).encode(), "/classes/": from_api}
    files = page_files(servers.headers, site)
    browser = chromium()
    try:
        browser.get(
            f"http://127.0.0.1:{files.server_port}/page/index.html?class={RACE['classId']}&race={RACE['raceId']}"
        )

        def shown() -> list[list[str]]:
            script = (
                "return [...document.querySelectorAll('#standings tbody tr')]"
                ".map(r => [r.cells[0].textContent, r.cells[2].textContent])"
            )
            rows: list[list[str]] = browser.execute_script(script)
            return rows

        def expected() -> list[list[str]]:
            return [[str(r["rank"]), r["name"]] for r in race.race.standing_rows(len(names))]

        wait_for("the snapshot over the API", lambda: shown() == expected())
        state = browser.execute_script("return document.getElementById('connection').dataset.state")
        assert state == "live"
        for _ in range(3):
            publish(servers, TOPIC, json.dumps(race.step(publish=False)))
        wait_for("three changes over MQTT", lambda: shown() == expected())
        perf = browser.execute_script("return window.alleycatPerf")
        assert [u["kind"] for u in perf["updates"]] == ["changes"] * 3 and perf["resyncs"] == 1  # the snapshot on open
        blocked = [e["message"] for e in browser.get_log("browser") if e["source"] == "security"]
        assert not blocked, blocked
        screenshot(browser, "live-iot")
    finally:
        browser.quit()
        files.shutdown()
        api.stop("api")
