"""The race page's sign-in (js/auth.js) in a real browser, with a page config that names one, as on
AWS: nothing is fetched before sign-in; "Sign in" goes to the authorization endpoint with a PKCE
challenge and a state; an answer with another state is refused; the right one is exchanged with the
verifier of that challenge, the code leaves the address bar, the page's own query comes back and
the API is called with the access token; "Sign out" revokes the refresh token.

The server is this test's own (127.0.0.1): the page's files as the local API serves them, and in
Cognito's place the two OAuth endpoints the page calls, recording what they receive."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By

from alleycat.testing.browser import chromium
from consumers.api.routers.page import HEADERS, PAGE
from tests.browser.test_page import wait_for

CLIENT_ID = "page-client"
SCOPES = ["openid", "aws.cognito.signin.user.admin"]
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


@dataclass
class Seen:
    posts: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (path, form)
    api: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)


def serve(seen: Seen) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def json(self, value: Any, status: int = 200) -> None:
            self.answer(status, json.dumps(value).encode(), "application/json")

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            origin = f"http://127.0.0.1:{server.server_port}"
            if path == "/config.json":
                auth = {
                    "domain": f"{origin}/cognito",
                    "clientId": CLIENT_ID,
                    "redirectUri": f"{origin}/",
                    "scopes": SCOPES,
                }
                self.json({"apiBase": "/v1", "live": {"channel": "sse"}, "auth": auth})
            elif path == "/" or path.startswith("/page/"):
                file = PAGE / ("index.html" if path == "/" else path.removeprefix("/page/"))
                self.answer(200, file.read_bytes(), TYPES[file.suffix])
            elif path.startswith("/v1/"):
                seen.api.append((path, self.headers.get("Authorization")))
                self.json({"classes": [{"classId": 1}, {"classId": 2}]} if path == "/v1/classes" else {"races": []})
            else:  # the authorization and logout pages: the test reads where the browser went
                self.json({"error": "not_found", "message": path}, 404)

        def do_POST(self) -> None:
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
            path = urlsplit(self.path).path
            seen.posts.append((path, form))
            if path == "/cognito/oauth2/token":
                self.json(
                    {"access_token": "access-1", "refresh_token": "refresh-1", "id_token": "id-1", "expires_in": 3600}
                )
            else:
                self.json({})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, Seen, Chrome]]:
    seen = Seen()
    server = serve(seen)
    browser = chromium()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen, browser
    finally:
        browser.quit()
        server.shutdown()


def sign_in(browser: Chrome) -> dict[str, str]:
    """Click "Sign in"; the authorization request's parameters."""
    button = wait_for(
        "the Sign in button",
        lambda: browser.find_element(By.ID, "auth").is_displayed() and browser.find_element(By.ID, "auth"),
    )
    assert button.text == "Sign in"
    button.click()
    wait_for("the authorization endpoint", lambda: "/oauth2/authorize" in browser.current_url)
    return {k: v[0] for k, v in parse_qs(urlsplit(browser.current_url).query).items()}


def text(browser: Chrome, element_id: str) -> str:
    return str(browser.find_element(By.ID, element_id).text)


def test_sign_in_with_pkce_then_the_api_gets_the_token(site: tuple[str, Seen, Chrome]) -> None:
    url, seen, browser = site
    browser.get(f"{url}/?class=2&view=live")
    first = sign_in(browser)
    assert seen.api == [], "nothing is fetched before sign-in"
    assert first["response_type"] == "code" and first["client_id"] == CLIENT_ID
    assert first["redirect_uri"] == f"{url}/" and first["scope"] == " ".join(SCOPES)
    assert first["code_challenge_method"] == "S256" and len(first["code_challenge"]) == 43

    # An answer to another request (a forged or stale state): refused, its code never exchanged.
    browser.get(f"{url}/?code=forged&state=not-{first['state']}")
    wait_for("the refusal", lambda: "did not match" in text(browser, "connection-text"))
    assert "code=" not in browser.current_url
    assert seen.posts == [] and seen.api == []

    second = sign_in(browser)
    assert second["state"] != first["state"] and second["code_challenge"] != first["code_challenge"]
    browser.get(f"{url}/?code=code-2&state={second['state']}")
    wait_for("the API call", lambda: seen.api)
    ((path, form),) = seen.posts
    assert path == "/cognito/oauth2/token"
    assert {k: form[k] for k in ("grant_type", "client_id", "code", "redirect_uri")} == {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "code": "code-2",
        "redirect_uri": f"{url}/",
    }
    digest = hashlib.sha256(form["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == second["code_challenge"]
    assert urlsplit(browser.current_url).query == "class=2&view=live", "the code left, the page's query came back"
    assert seen.api[0] == ("/v1/classes", "Bearer access-1")
    assert all(token == "Bearer access-1" for _, token in seen.api)
    wait_for("Sign out", lambda: text(browser, "auth") == "Sign out")

    # Signing out revokes the refresh token and ends the managed login's session.
    browser.find_element(By.ID, "auth").click()
    wait_for("the logout endpoint", lambda: "/cognito/logout" in browser.current_url)
    assert seen.posts[-1] == ("/cognito/oauth2/revoke", {"token": "refresh-1", "client_id": CLIENT_ID})
    logout = parse_qs(urlsplit(browser.current_url).query)
    assert logout == {"client_id": [CLIENT_ID], "logout_uri": [f"{url}/"]}
    browser.get(f"{url}/")
    wait_for("signed out", lambda: text(browser, "auth") == "Sign in")
