"""The field app's pages: ``/app`` (and ``/ur/app``), its service worker and manifest, and the
coordinator's enrolment page ``/app/enrol`` (a no-JavaScript form that shows the QR code)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from pollwatch.api import intake as api
from pollwatch.auth.enrol import app_url, create_enrolment, qr_svg, verify_may_enrol
from pollwatch.errors import Error, InputError, Problem
from pollwatch.fieldapp import APP_FILES, app_version, messages
from pollwatch.ledger.settings import load_public_settings
from pollwatch.storage import structure

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
_SW = (Path(__file__).parent / "static" / "app" / "sw.js").read_text(encoding="utf-8")
_NO_STORE = {"Cache-Control": "no-cache"}


def _app_page(request: Request, lang: str) -> Response:
    table = json.dumps(messages(lang), ensure_ascii=False).replace("<", "\\u003c")  # inert inside <script>
    context = {"lang": lang, "version": app_version(), "messages": table,
               "alt_url": "/app" if lang == "ur" else "/ur/app"}  # fmt: skip
    return templates.TemplateResponse(request, "app.html", context, headers=_NO_STORE)


@router.get("/app", response_class=HTMLResponse)
def app_en(request: Request) -> Response:
    """The field app (English)."""
    return _app_page(request, "en")


@router.get("/ur/app", response_class=HTMLResponse)
def app_ur(request: Request) -> Response:
    """The field app (Urdu, right to left)."""
    return _app_page(request, "ur")


@router.get("/app-sw.js")
def service_worker() -> Response:
    """The service worker, with the app's version and files: a new version replaces the offline cache."""
    files = ["/app", "/ur/app", "/app/manifest.webmanifest", *(f"/static/{name}" for name in APP_FILES)]
    head = f"const VERSION = {json.dumps(app_version())};\nconst FILES = {json.dumps(files)};\n"
    return Response(head + _SW, media_type="text/javascript", headers=_NO_STORE)


@router.get("/app/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest: installable, starts at ``/app``."""
    body = {"name": "pollwatch field app", "short_name": "pollwatch", "start_url": "/app", "scope": "/",
            "display": "standalone", "background_color": "#ffffff", "theme_color": "#14532d",
            "icons": [{"src": "/static/favicon.svg", "sizes": "any", "type": "image/svg+xml"}]}  # fmt: skip
    return Response(json.dumps(body), media_type="application/manifest+json")


@router.get("/app/enrol", response_class=HTMLResponse)
async def enrol_page(request: Request) -> Response:
    """The coordinator's form: their token, the agent's or observer's key id, the election."""
    return await _enrol_render(request, {}, errors=[], status=200)


@router.post("/app/enrol", response_class=HTMLResponse)
async def enrol_post(request: Request) -> Response:
    """Make a one-time enrolment code and show its QR code (the app's address with the payload)."""
    st = api.state(request)
    form: dict[str, Any] = {}
    try:
        await api.read_body(request, 8_192)
        data = await request.form(max_files=0, max_fields=8)
        form = {k: str(v).strip() for k, v in data.items() if isinstance(v, str)}
        token = form.pop("token", "")
        principal = await api.caller(request, authorization=f"Bearer {token}" if token else "")
        hours = _hours(form.get("hours", "72"))
        server = str(request.base_url).rstrip("/")

        def make() -> dict[str, Any]:
            log_key = load_public_settings().key.vkey
            with st.db.begin() as conn:
                verify_may_enrol(conn, principal, submitter=form.get("submitter", ""))
                _, payload = create_enrolment(
                    conn, submitter=form.get("submitter", ""), election=form.get("election", ""),
                    server=server, log_key=log_key, now=dt.datetime.now(dt.UTC),
                    valid_for=dt.timedelta(hours=hours),
                )  # fmt: skip
            return payload

        payload = await run_in_threadpool(make)
    except Error as exc:
        return await _enrol_render(request, form, errors=exc.problems or [Problem(exc.message)],
                                   status=exc.status, message=exc.message)  # fmt: skip
    context = {"qr": qr_svg(payload), "url": app_url(payload), "payload": payload, "lang": "en"}
    return templates.TemplateResponse(request, "app_enrol_done.html", context, status_code=201,
                                      headers={"Cache-Control": "no-store"})  # fmt: skip


def _hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        hours = -1.0
    if not 0.1 <= hours <= 720:
        raise InputError("the code's validity is a number of hours", where="hours", expected="0.1 to 720",
                         found=text[:20])  # fmt: skip
    return hours


async def _enrol_render(
    request: Request, form: dict[str, Any], *, errors: list[Problem], status: int, message: str = ""
) -> Response:
    def elections() -> list[str]:
        with api.state(request).db.connect() as conn:
            return [str(e.slug) for _, e in structure.list_elections(conn)]

    context = {"form": form, "errors": errors, "message": message, "lang": "en",
               "elections": await run_in_threadpool(elections)}  # fmt: skip
    return templates.TemplateResponse(request, "app_enrol.html", context, status_code=status,
                                      headers={"Cache-Control": "no-store"})  # fmt: skip
