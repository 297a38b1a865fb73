"""Every error the API returns is JSON ``{"error": code, "message": sentence}``."""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from alleycat.support import escape

log = logging.getLogger("alleycat.api")


class SafeJSONResponse(JSONResponse):
    """JSON with ``<``, ``>`` and ``&`` escaped (``alleycat.support.escape.json_for_html``): names,
    and paths echoed in errors, cannot become markup wherever a client puts the answer."""

    def render(self, content: Any) -> bytes:
        return escape.json_for_html(super().render(content))


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def _body(code: str, message: str) -> dict[str, str]:
    return {"error": code, "message": message}


def _describe(error: dict[str, Any]) -> str:
    """One validation error as a sentence: where, what is wrong, what was sent."""
    loc = [str(part) for part in error.get("loc", ())]
    where = loc[0] if loc else "request"
    name = ".".join(loc[1:])
    place = f"{where} parameter `{name}`" if where in ("path", "query", "header") and name else "request body"
    if where == "body" and name:
        place = f"body field `{name}`"
    sent = error.get("input")
    got = "" if sent is None or isinstance(sent, dict | list) else f" (got {str(sent)[:40]!r})"
    return f"{place}: {error.get('msg', 'is invalid')}{got}."


def install(app: FastAPI) -> None:
    """Map our errors, FastAPI's validation errors and Starlette's HTTP errors to the error shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        log.info("request refused", extra={"path": request.url.path, "status": exc.status, "error": exc.code})
        return SafeJSONResponse(_body(exc.code, exc.message), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        code = "invalid_body" if errors and errors[0].get("loc", ("",))[0] == "body" else "invalid_parameter"
        message = " ".join(_describe(e) for e in errors[:3]) + " See /openapi.json for the valid ranges."
        log.info("invalid request", extra={"path": request.url.path, "status": 400, "error": code})
        return SafeJSONResponse(_body(code, message), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            path = request.url.path[:200]
            body = _body("not_found", f"there is no resource at {path}; the paths are in /openapi.json.")
        elif exc.status_code == 405:
            body = _body("method_not_allowed", f"{request.method} is not allowed here; see /openapi.json.")
        else:
            body = _body("http_error", str(exc.detail))
        return SafeJSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(BotoCoreError)
    @app.exception_handler(ClientError)
    async def _backend(request: Request, exc: Exception) -> JSONResponse:
        log.error("backend unavailable", exc_info=exc, extra={"path": request.url.path, "status": 503})
        return SafeJSONResponse(
            _body("unavailable", "the leaderboard store did not answer; retry in a few seconds."), status_code=503
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("request failed", exc_info=exc, extra={"path": request.url.path, "status": 500})
        return SafeJSONResponse(
            _body("internal", "the server failed to answer this request; retry later, or report it if it persists."),
            status_code=500,
        )
