"""The mobile web form at ``/submit``: plain HTML, no JavaScript, works on a cheap phone."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from pollwatch.api import intake as api
from pollwatch.auth import csrf
from pollwatch.errors import Error, InputError, Problem
from pollwatch.intake.service import Job
from pollwatch.model import Channel, SheetKind
from pollwatch.storage import Database, structure

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
_COOKIE = "pw_token"
_KINDS = [
    (SheetKind.STATION_COUNT.value, "Station count (Form-45)"),
    (SheetKind.BALLOT_ACCOUNT.value, "Ballot paper account (Form-46)"),
    (SheetKind.PROVISIONAL.value, "Provisional result (Form-47)"),
    (SheetKind.CONSOLIDATED.value, "Consolidated statement (Form-48)"),
    (SheetKind.FINAL.value, "Final result (Form-49)"),
]
_NUMBERS = ("valid", "rejected", "polled", "votes_male", "votes_female")


@router.get("/submit", response_class=HTMLResponse)
async def submit_form(request: Request) -> Response:
    """The empty form (one box per candidate when election and constituency are in the query)."""
    form = {k: v[:64] for k, v in request.query_params.items()}
    form.setdefault("kind", SheetKind.STATION_COUNT.value)
    return await _render(request, form, errors=[], message="", status=200)


@router.post("/submit", response_class=HTMLResponse)
async def submit_post(request: Request) -> Response:
    """Accept the form; show the receipt, or the form again with every problem named."""
    st = api.state(request)
    form: dict[str, Any] = {}
    try:
        await api.read_body(request, st.settings.max_body_bytes + st.settings.max_photo_bytes)
        data = await request.form(max_files=1, max_fields=200)
        form = {k: v for k, v in data.items() if isinstance(v, str)}
        token = credential(request, form, st.csrf_secret)
        principal = await api.caller(request, authorization=f"Bearer {token}" if token else "")
        payload = _payload(form, role=api.model_role(principal))
        sub = api.parse_submission(_json(payload))
        photo = data.get("photo")
        if isinstance(photo, UploadFile) and photo.filename:
            digest = await run_in_threadpool(api.store_photo, st, await photo.read(), None)
            sub = sub.model_copy(update={"photo_sha256": digest})
        accepted = await st.writer.submit_async(Job(sub, principal, Channel.WEB_FORM))
        answer = await api.answer(st, accepted, want_receipt=True, photo=sub.photo_sha256)
    except Error as exc:
        shown = {} if exc.message == csrf.REFUSED else form  # never echo what a foreign page posted
        return await _render(request, shown, errors=exc.problems or [Problem(exc.message)],
                             message=exc.message, status=exc.status)  # fmt: skip
    context = {"accepted": answer, "receipt": answer.receipt, "receipt_url": answer.receipt_url,
               "election": sub.election}  # fmt: skip
    response = templates.TemplateResponse(request, "submit_done.html", context, status_code=201)
    response.set_cookie(_COOKIE, token, httponly=True, samesite="strict", max_age=3 * 24 * 3600)
    return response


def credential(request: Request, form: dict[str, Any], secret: bytes) -> str:
    """The API token of this POST: typed into the form, or the saved cookie with its CSRF field.

    A foreign page cannot know a victim's token, so a typed one needs no more; but the browser sends
    the cookie whatever page posts, so with it the hidden ``csrf`` field must match (before any write).
    """
    typed = str(form.pop("token", "")).strip()
    presented = str(form.pop("csrf", ""))
    if typed:
        return typed
    saved = request.cookies.get(_COOKIE, "")
    if saved:
        csrf.verify_csrf(secret, saved, presented)
    return saved


@router.get("/submit/forget")
def forget() -> RedirectResponse:
    response = RedirectResponse("/submit", status_code=303)
    response.delete_cookie(_COOKIE)
    return response


def _json(payload: dict[str, Any]) -> bytes:
    import json

    return json.dumps(payload).encode()


def _payload(form: dict[str, str], *, role: str) -> dict[str, Any]:
    """Turn form fields into the JSON submission, naming any box that is not a whole number."""
    problems: list[Problem] = []

    def number(name: str, text: str) -> int | None:
        text = text.strip()
        if not text:
            return None
        if not re.fullmatch(r"[0-9]{1,9}", text):
            problems.append(
                Problem("not a whole number", where=name, expected="digits only", found=text[:40])
            )
            return None
        return int(text)

    votes: dict[str, int] = {}
    if form.get("votes", "").strip():
        for n, part in enumerate(form["votes"].split(","), start=1):
            value = number(f"votes (number {n})", part)
            if value is not None:
                votes[str(n)] = value
    for key, text in form.items():
        if re.fullmatch(r"c[0-9]{1,3}", key):
            value = number(f"candidate {key[1:]}", text)
            if value is not None:
                votes[key[1:]] = value
    totals = {name: number(name, form.get(name, "")) for name in _NUMBERS}
    if problems:
        raise InputError("some boxes are not whole numbers; nothing was written", problems=problems)
    return {
        "election": form.get("election", "").strip(),
        "submission_id": form.get("submission_id") or f"web-{uuid.uuid4()}",
        "kind": form.get("kind") or SheetKind.STATION_COUNT.value,
        "constituency": form.get("constituency", "").strip().upper(),
        "station": form.get("station", "").strip() or None,
        "votes": votes,
        "totals": {k: v for k, v in totals.items() if v is not None},
        "role": role,
    }


async def _render(
    request: Request, form: dict[str, Any], *, errors: list[Problem], message: str, status: int
) -> HTMLResponse:
    st = api.state(request)
    saved = request.cookies.get(_COOKIE, "")
    candidates = await run_in_threadpool(
        _candidates, st.db, form.get("election", ""), form.get("constituency", "")
    )
    context = {
        "form": _Defaults(form),
        "errors": errors,
        "message": message,
        "kinds": _KINDS,
        "candidates": candidates,
        "has_token": bool(saved),
        "csrf": csrf.csrf_token(st.csrf_secret, saved) if saved else "",
        # a fresh id per rendering; a reload of the POST reuses the posted one, so it stays idempotent
        "submission_id": form.get("submission_id") or f"web-{uuid.uuid4()}",
    }
    return templates.TemplateResponse(request, "submit.html", context, status_code=status)


class _Defaults(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""

    def __getattr__(self, key: str) -> Any:
        return self[key]


def _candidates(db: Database, election: str, constituency: str) -> list[Any]:
    if not election or not constituency:
        return []
    try:
        with db.connect() as conn:
            election_id, _ = structure.get_election(conn, election)
            cid, _ = structure.get_constituency(conn, election_id, constituency.upper())
            return list(structure.list_candidates(conn, cid))
    except Error:
        return []
