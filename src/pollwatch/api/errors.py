"""One JSON error envelope for every endpoint: ``{"error": {code, status, message, remedy, problems}}``."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from pollwatch.errors import Error, InputError, Problem

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def envelope_response(error: Error, headers: Mapping[str, str] | None = None) -> JSONResponse:
    extra = dict(headers or {})
    if error.status == 429:
        extra.setdefault("Retry-After", "1")
    return JSONResponse(error.envelope(), status_code=error.status, headers=extra or None)


def install(app: FastAPI) -> None:
    """Route every failure, ours or the framework's, through the one envelope."""

    @app.exception_handler(Error)
    async def _ours(_: Request, exc: Error) -> JSONResponse:
        return envelope_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            Problem(
                message=str(e.get("msg", "invalid")),
                where=".".join(str(p) for p in e.get("loc", ())),
                expected=str(e.get("type", "")),
                found=_short(e.get("input")),
            )
            for e in exc.errors()
        ]
        return envelope_response(
            InputError("the request is not valid; nothing was written", problems=problems)
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        error = Error(str(exc.detail))
        error.status, error.code = exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Allow must name every method of the resource (RFC 9110 §15.5.6)
            from pollwatch.api.edge import allowed_methods

            headers["Allow"] = allowed_methods(app, request.url.path) or headers.get("Allow", "")
        return envelope_response(error, headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return envelope_response(
            Error("internal error; the request changed nothing", remedy="retry; report it if it persists")
        )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."
