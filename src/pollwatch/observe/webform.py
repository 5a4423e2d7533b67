"""Observation forms as plain HTML fields (the cheap-phone pages at ``/observe``): one field per question,
named by its tag, and the record the posted fields make, every mistake named by its field.

Yes/no questions are radio buttons (``Y``/``N``), counts numeric boxes, times ``HH:MM``, choices a select
or checkboxes (a multi-select posts ``<TAG>`` once per option); text and seal numbers are text boxes; a
photo question takes the photo's SHA-256. An incident's time is local to the forms' time zone.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from pollwatch.errors import InputError, ProblemList
from pollwatch.observe.forms import FormSpec, QuestionType


def checklist_fields(
    spec: FormSpec, fields: Mapping[str, Sequence[str]], *, election: str, role: str
) -> dict[str, Any]:
    """The JSON body of a checklist from posted fields (each field's values, in order)."""
    problems = ProblemList()
    answers: dict[str, Any] = {}
    for q in spec.questions:
        values = [v.strip() for v in fields.get(q.tag, []) if v.strip()]
        if not values:
            continue
        text = values[0]
        if q.type is QuestionType.YES_NO:
            if text not in ("Y", "N"):
                problems.add("answer yes or no", where=q.tag, found=text[:20])
                continue
            answers[q.tag] = text == "Y"
        elif q.type is QuestionType.COUNT:
            if not re.fullmatch(r"[0-9]{1,7}", text):
                problems.add("not a whole number", where=q.tag, expected="digits only", found=text[:20])
                continue
            answers[q.tag] = int(text)
        elif q.type is QuestionType.MULTI:
            answers[q.tag] = values
        else:
            answers[q.tag] = text
    problems.raise_if_any("some answers are not what the form asks; nothing was written")
    return {
        "election": election, "submission_id": _id(fields), "role": role, "form": spec.form,
        "version": spec.version, "constituency": _one(fields, "constituency").upper(),
        "station": _station(fields), "answers": answers,
    }  # fmt: skip


def incident_fields(
    fields: Mapping[str, Sequence[str]], *, election: str, role: str, timezone: str
) -> dict[str, Any]:
    """The JSON body of an incident from posted fields; ``occurred`` is local time in ``timezone``."""
    body: dict[str, Any] = {
        "election": election, "submission_id": _id(fields), "role": role,
        "category": _one(fields, "category"), "severity": _one(fields, "severity") or "medium",
        "constituency": _one(fields, "constituency").upper() or None, "station": _station(fields),
        "description": _one(fields, "description"),
    }  # fmt: skip
    when = _one(fields, "occurred")
    if when:
        try:
            local = dt.datetime.fromisoformat(when)
        except ValueError as exc:
            raise InputError("not a date and time", where="occurred", expected="YYYY-MM-DDTHH:MM",
                             found=when[:30]) from exc  # fmt: skip
        if local.tzinfo is None:
            local = local.replace(tzinfo=ZoneInfo(timezone))
        body["occurred_at"] = local.astimezone(dt.UTC).isoformat()
    else:
        body["occurred_at"] = dt.datetime.now(dt.UTC).isoformat()
    return body


def _one(fields: Mapping[str, Sequence[str]], name: str) -> str:
    values = fields.get(name) or [""]
    return values[0].strip()


def _station(fields: Mapping[str, Sequence[str]]) -> int | None:
    text = _one(fields, "station")
    if not text:
        return None
    if not text.isdigit():
        raise InputError(
            "the station is its serial number", where="station", expected="digits", found=text[:20]
        )
    return int(text)


def _id(fields: Mapping[str, Sequence[str]]) -> str:
    """The form's own id (a reload of the POST resends it: idempotent), or a new one."""
    return _one(fields, "submission_id") or f"web-{uuid.uuid4()}"
