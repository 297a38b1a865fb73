"""The race page: ``GET /`` answers ``consumers/api/page/index.html`` and ``/page/...`` its ES modules
and stylesheet, as plain files (no build step, nothing from a CDN: the page works offline).

Every answer carries a Content-Security-Policy that allows only this origin's scripts, styles and
API (``connect-src 'self'``): even a name that slipped into markup could not run a script. The page
itself renders every name with ``textContent`` (docs/api.md, "The race page")."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE = Path(__file__).resolve().parents[1] / "page"
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate (ETag): a new deployment's modules load at once
}

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    return FileResponse(PAGE / "index.html", media_type="text/html; charset=utf-8", headers=HEADERS)


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
    """``/`` and ``/page/...`` on ``app``."""
    app.include_router(router)
    app.mount("/page", _WithHeaders(StaticFiles(directory=PAGE)), name="page")
