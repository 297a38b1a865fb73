"""The race page: ``GET /`` answers ``consumers/api/page/index.html``, ``/page/...`` its ES modules
and stylesheet, as plain files (no build step, nothing from a CDN: the page works offline), and
``/config.json`` the page's configuration (``LOCAL_CONFIG``; on AWS the deploy step writes the same
file from the stack's outputs, docs/api.md, "The race page").

Every answer carries a Content-Security-Policy that allows only this origin's scripts, styles and
API (``connect-src 'self'``): even a name that slipped into markup could not run a script. The page
itself renders every name with ``textContent``. On AWS CloudFront sends the same policy, with the
sign-in and live-channel origins added to ``connect-src`` (``infra/aws/template/page.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, JSONResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE = Path(__file__).resolve().parents[1] / "page"


def content_security_policy(connect_src: str = "'self'") -> str:
    """The page's policy; ``connect_src``: the origins it may fetch from or open sockets to."""
    return (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src {connect_src}; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


POLICY = content_security_policy()
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate (ETag): a new deployment's modules load at once
}

# The page's configuration here: the API on this origin, live standings over its SSE stream, no sign-in.
LOCAL_CONFIG: dict[str, Any] = {"apiBase": "", "live": {"channel": "sse"}, "auth": None}

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    return FileResponse(PAGE / "index.html", media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/config.json")
def config() -> JSONResponse:
    return JSONResponse(LOCAL_CONFIG, headers=HEADERS)


class _WithHeaders:
    """The static files with the page's headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    """``/``, ``/config.json`` and ``/page/...`` on ``app``."""
    app.include_router(router)
    app.mount("/page", _WithHeaders(StaticFiles(directory=PAGE)), name="page")
