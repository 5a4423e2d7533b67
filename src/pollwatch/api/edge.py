"""The server's edge: security headers on every answer, bodies of the declared type only, a true spec.

* Every response carries ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, a
  ``Referrer-Policy`` and (except the interactive API docs, which load their own scripts) a
  ``Content-Security-Policy`` that allows only the site's own scripts, styles and images.
* A request body whose ``Content-Type`` is not one the route declares in the OpenAPI spec (JSON routes:
  ``application/json``) is refused with 415 before anything parses it: text/plain or XML is never read
  as JSON. Routes that take raw bytes (photos, CSV) declare their own types and are left alone.
* The OpenAPI spec defines every schema it refers to (``SheetSubmission``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_DOCS = ("/docs", "/redoc")
_CHECKED = {"application/json", "multipart/form-data", "application/x-www-form-urlencoded"}
_SEEN = 4096
"""(method, path) answers :class:`DeclaredContentTypes` keeps, rather than match every declared path."""


class SecurityHeaders:
    """Add the security headers to every HTTP response (pure ASGI: no per-request task or copy)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = not str(scope.get("path", "")).startswith(_DOCS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _HEADERS if k not in names]
                if csp and b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", CSP.encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class DeclaredContentTypes:
    """Refuse (415) a body whose media type the matched route does not declare in the spec."""

    def __init__(self, app: ASGIApp, *, fastapi: FastAPI) -> None:
        self.app = app
        self.fastapi = fastapi
        self._declared: list[tuple[re.Pattern[str], str, frozenset[str]]] | None = None
        self._seen: dict[tuple[str, str], frozenset[str]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            media = _media_type(scope)
            allowed = self._allowed(scope["method"].lower(), str(scope.get("path", "")))
            if media and allowed and media not in allowed and allowed <= _CHECKED:
                await _refuse(send, media, allowed)
                return
        await self.app(scope, receive, send)

    def _allowed(self, method: str, path: str) -> frozenset[str]:
        known = self._seen.get((method, path))
        if known is not None:
            return known
        if self._declared is None:
            self._declared = _declared_types(self.fastapi.openapi())
        found = next(
            (t for pattern, m, t in self._declared if m == method and pattern.fullmatch(path)), frozenset()
        )
        if len(self._seen) < _SEEN:  # the paths written to (most carry no parameter) are few
            self._seen[(method, path)] = found
        return found


def _media_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return str(value.decode("latin-1")).split(";", 1)[0].strip().lower()
    return ""


def _declared_types(spec: dict[str, Any]) -> list[tuple[re.Pattern[str], str, frozenset[str]]]:
    """(path pattern, method, media types) of every operation of the spec that declares a body."""
    out = []
    for path, operations in spec.get("paths", {}).items():
        pattern = re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)))
        for method, operation in operations.items():
            content = (
                operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            )
            if content:
                out.append((pattern, method, frozenset(content)))
    return out


async def _refuse(send: Send, media: str, allowed: frozenset[str]) -> None:
    from pollwatch.errors import Error

    error = Error(
        "this endpoint does not take that content type; nothing was read",
        expected=" or ".join(sorted(allowed)),
        found=media[:100],
        remedy="send the body with the Content-Type the API documents (for JSON: application/json)",
    )
    error.status, error.code = 415, "unsupported_media_type"
    body = json.dumps(error.envelope()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 415, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def complete_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Return an ``app.openapi`` that also defines the schemas routes refer to by hand."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = original()
        from pollwatch.api.intake.state import BODY_MODELS
        from pollwatch.intake.format import SheetSubmission

        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        models: list[type[BaseModel]] = [SheetSubmission, *BODY_MODELS]
        for model in models:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in schema.pop("$defs", {}).items():
                schemas.setdefault(name, sub)
            schemas.setdefault(model.__name__, schema)
        schemas.setdefault("ErrorEnvelope", _ERROR_ENVELOPE)
        _document_errors(spec)
        app.openapi_schema = spec
        return spec

    return openapi


_ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "status", "message"],
            "properties": {
                "code": {"type": "string"},
                "status": {"type": "integer"},
                "message": {"type": "string"},
                "remedy": {"type": "string"},
                "problems": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}


def _document_errors(spec: dict[str, Any]) -> None:
    """Every operation may answer the one error envelope: 4XX (401, 404, 415, 429 ...) or 503."""
    envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                responses = operation["responses"]
                responses.setdefault(
                    "4XX", {"description": "the error envelope (docs/api.md)", "content": envelope}
                )
                responses.setdefault(
                    "503", {"description": "storage unavailable; retry", "content": envelope}
                )


def allowed_methods(app: FastAPI, path: str) -> str | None:
    """The ``Allow`` value for ``path``: every method the spec documents for it (HEAD with GET).

    Starlette names only the methods of the first route matching the path; a resource served by two
    routes (GET in one router, PUT in another) would then advertise half of them.
    """
    methods: set[str] = set()
    for template, operations in app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {m.upper() for m in operations if m in ("get", "put", "post", "patch", "delete")}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods)) or None
