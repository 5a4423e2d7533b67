"""The cheap-phone observation pages at ``/observe`` (Urdu ``/ur/observe``): a checklist of the election's
forms, or an incident report; plain HTML, no JavaScript. One call into :mod:`pollwatch.observe.webform`
makes the record; the one submission core writes it (as ``/submit`` does for sheets)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from pollwatch.api import intake as api
from pollwatch.auth import csrf
from pollwatch.errors import Error, Problem
from pollwatch.intake.kinds.checklist import ChecklistSubmission
from pollwatch.intake.kinds.incident import IncidentSubmission
from pollwatch.intake.records import parse_record
from pollwatch.intake.service import Job
from pollwatch.model import Channel
from pollwatch.observe.forms import FormSpec, forms_for
from pollwatch.observe.incidents import Severity, categories
from pollwatch.observe.webform import checklist_fields, incident_fields
from pollwatch.storage import Database, structure
from pollwatch.web.intake import credential

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
_COOKIE = "pw_token"


async def _page(request: Request) -> Response:
    """The form chosen by the query (``election``, and ``form`` or ``form=incident``)."""
    fields = {k: [v[:200]] for k, v in request.query_params.items()}
    return await _render(request, fields, errors=[], message="", status=200)


async def _post(request: Request) -> Response:
    """Write the posted checklist or incident; show where it is in the log, or the form with every problem."""
    st = api.state(request)
    fields: dict[str, list[str]] = {}
    try:
        await api.read_body(request, st.settings.max_body_bytes)
        data = await request.form(max_files=0, max_fields=300)
        for key, value in data.multi_items():
            if isinstance(value, str):
                fields.setdefault(key, []).append(value)
        single = {k: v[0] for k, v in fields.items()}
        token = credential(request, single, st.csrf_secret)
        fields.pop("token", None)
        principal = await api.caller(request, authorization=f"Bearer {token}" if token else "")
        record = await run_in_threadpool(_record, st.db, fields, api.model_role(principal))
        accepted = await st.writer.submit_async(
            Job(record=record, principal=principal, channel=Channel.WEB_FORM)
        )
    except Error as exc:
        shown = {} if exc.message == csrf.REFUSED else fields
        return await _render(request, shown, errors=exc.problems or [Problem(exc.message)],
                             message=exc.message, status=exc.status)  # fmt: skip
    context = {"lang": _lang(request), "accepted": accepted, "election": record.election}
    response = templates.TemplateResponse(request, "observe_done.html", context, status_code=201)
    response.set_cookie(_COOKIE, token, httponly=True, samesite="strict", max_age=3 * 24 * 3600)
    return response


def _record(
    db: Database, fields: dict[str, list[str]], role: str
) -> ChecklistSubmission | IncidentSubmission:
    election = (fields.get("election") or [""])[0].strip()
    spec, country = _form(db, election, (fields.get("form") or [""])[0])
    if spec is None:
        body = incident_fields(fields, election=election, role=role, timezone=_zone(country))
        record: IncidentSubmission = parse_record(IncidentSubmission, json.dumps(body))
        return record
    checklist: ChecklistSubmission = parse_record(
        ChecklistSubmission, json.dumps(checklist_fields(spec, fields, election=election, role=role))
    )
    return checklist


def _form(db: Database, election: str, form: str) -> tuple[FormSpec | None, str]:
    """The chosen form of the election's country (None: an incident report), and the country."""
    with db.connect() as conn:
        _, e = structure.get_election(conn, election)
    return forms_for(e.country).get(form), e.country


def _zone(country: str) -> str:
    return next((f.timezone for f in forms_for(country).values()), "UTC")


def _lang(request: Request) -> str:
    return "ur" if request.url.path.startswith("/ur/") else "en"


async def _render(
    request: Request, fields: dict[str, list[str]], *, errors: list[Problem], message: str, status: int
) -> Response:
    st = api.state(request)
    saved = request.cookies.get(_COOKIE, "")
    election = (fields.get("election") or [""])[0]
    forms: dict[str, FormSpec] = {}
    if election:
        try:
            forms = await run_in_threadpool(lambda: forms_for(_form(st.db, election, "")[1]))
        except Error:
            forms = {}
    chosen = (fields.get("form") or [""])[0]
    context: dict[str, Any] = {
        "lang": _lang(request), "fields": fields, "errors": errors, "message": message, "election": election,
        "forms": forms, "spec": forms.get(chosen), "incident": chosen == "incident",
        "categories": categories(), "severities": [s.value for s in Severity], "has_token": bool(saved),
        "csrf": csrf.csrf_token(st.csrf_secret, saved) if saved else "",
        "submission_id": (fields.get("submission_id") or [""])[0] or f"web-{uuid.uuid4()}",
    }  # fmt: skip
    return templates.TemplateResponse(request, "observe.html", context, status_code=status)


for _prefix in ("", "/ur"):
    router.add_api_route(f"{_prefix}/observe", _page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(f"{_prefix}/observe", _post, methods=["POST"], response_class=HTMLResponse)
