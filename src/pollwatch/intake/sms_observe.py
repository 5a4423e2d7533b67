"""Observation SMS: checklists and incident codes in the style of NDI's Apollo, for registered numbers.

Grammar (tokens separated by spaces; letters case-insensitive; Urdu and Arabic-Indic digits read as ASCII)::

    OB <form> <constituency> <station|-> <TAG><value> ... [T<unix seconds>] [#<submission id>]
    OB IN <incident code> <constituency> [<station>|-] [T<unix seconds>] [#<submission id>]

``<form>`` is the form's two-letter SMS code (Pakistan: ``OP`` opening, ``VO`` voting, ``CT`` count,
``RO`` the returning officer's tabulation) and the current version of that form is meant; each answer is a
question's tag followed by its value: ``Y``/``N`` (or ``1``/``0``) for yes/no, digits for a count, ``HHMM``
for a time, letters and digits for a seal number, option numbers joined by ``.`` for a choice (``AG1.3``:
the first and third options). Text and photo questions are not sent by SMS. ``IN`` reports an incident by
the numeric code of the taxonomy (``7``: ballot box unsealed). ``T`` is when it was seen (default: now).

An SMS is not signed (the phone has no key in it), so its leaf carries the account's pseudonymous key;
a resent message is idempotent (its submission id is derived from the sender's key and the text). Every
malformed message is answered with the token that is wrong and what was expected.

Examples: ``OB CT NA-41 17 CA120 CB98 CC218 CD3 CEY CFN CGY CHN CJY CKY CLN CMY`` and ``OB IN 7 NA-41 17``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pollwatch.errors import InputError
from pollwatch.intake.kinds.checklist import ChecklistSubmission
from pollwatch.intake.kinds.incident import IncidentSubmission
from pollwatch.intake.sms import MAX_LENGTH, normalise_text
from pollwatch.model import Role
from pollwatch.observe.forms import FormSpec, Question, QuestionType, forms_for
from pollwatch.observe.incidents import by_sms

PREFIX = "OB"


def is_observation(text: str) -> bool:
    """Whether an SMS is in this grammar (it starts with ``OB``)."""
    first = normalise_text(text).split(maxsplit=1)
    return bool(first) and first[0].upper() == PREFIX


def parse_observation(
    text: str, *, election: str, country: str, role: Role, submitter_key: str, now: dt.datetime
) -> ChecklistSubmission | IncidentSubmission:
    """Parse one observation SMS into a checklist or an incident, or raise InputError naming the token."""
    if len(text) > MAX_LENGTH:
        raise _fail("the message is too long", 0, "", f"at most {MAX_LENGTH} characters")
    text = normalise_text(text)
    tokens = text.split()
    if len(tokens) < 4:
        expected = "OB <form> <constituency> <station> <answers>, or OB IN <code> <constituency>"
        raise _fail("the message is too short", len(tokens) + 1, "", expected)
    fields: dict[str, Any] = {"election": election, "role": role.value}
    what = tokens[1].upper()
    if what == "IN":
        return _incident(tokens, fields, submitter_key, text, now)
    forms = {f.sms: f for f in forms_for(country).values() if f.sms}
    spec = forms.get(what)
    if spec is None:
        raise _fail("unknown form code", 2, tokens[1], ", ".join(sorted(forms)) + " or IN (an incident)")
    fields.update(form=spec.form, version=spec.version, constituency=tokens[2].upper(),
                  station=_station(tokens[3], 4))  # fmt: skip
    answers: dict[str, Any] = {}
    for position, token in enumerate(tokens[4:], start=5):
        if _option(token, position, fields):
            continue
        tag, value = token[:2].upper(), token[2:]
        q = spec.question(tag)
        if q is None or q.type in (QuestionType.TEXT, QuestionType.PHOTO):
            raise _fail("unknown question tag", position, token, _tags(spec))
        if tag in answers:
            raise _fail("this question is answered twice", position, token, "each tag once")
        answers[tag] = _answer(q, value, position, token)
    fields["answers"] = answers
    fields.setdefault("submission_id", _default_id(submitter_key, text))
    return _validate(ChecklistSubmission, fields)


def _incident(
    tokens: list[str], fields: dict[str, Any], submitter_key: str, text: str, now: dt.datetime
) -> IncidentSubmission:
    if not tokens[2].isdigit() or (category := by_sms(int(tokens[2]))) is None:
        raise _fail("unknown incident code", 3, tokens[2], "a number of the incident taxonomy (1-19, 99)")
    fields.update(category=category.code, constituency=tokens[3].upper())
    rest = tokens[4:]
    if rest and not _is_option(rest[0]):
        fields["station"] = _station(rest[0], 5)
        rest = rest[1:]
    for position, token in enumerate(rest, start=len(tokens) - len(rest) + 1):
        if not _option(token, position, fields):
            raise _fail("unknown field", position, token, "T<unix seconds> or #<submission id>")
    fields.setdefault("occurred_at", fields.get("captured_at") or now)
    fields.setdefault("submission_id", _default_id(submitter_key, text))
    return _validate(IncidentSubmission, fields)


def _is_option(token: str) -> bool:
    """``T`` then a digit (a tag is two letters) or ``#``: the time or the submission id."""
    return token[:1] == "#" or (token[:1].upper() == "T" and token[1:2].isdigit())


def _option(token: str, position: int, fields: dict[str, Any]) -> bool:
    """Read ``T<unix>`` or ``#<id>``; False when the token is neither."""
    if not _is_option(token):
        return False
    if token[:1] == "#":
        fields["submission_id"] = token[1:]
        return True
    if not re.fullmatch(r"[0-9]{9,11}", token[1:]):
        raise _fail("the time must be Unix seconds", position, token, "T<unix seconds>")
    fields["captured_at"] = dt.datetime.fromtimestamp(int(token[1:]), dt.UTC)
    return True


def _station(token: str, position: int) -> int | None:
    if token == "-":
        return None
    if not token.isdigit():
        raise _fail("the station is its serial number, or - for none", position, token, "digits or -")
    return int(token)


def _answer(q: Question, value: str, position: int, token: str) -> Any:
    t = q.type
    if t is QuestionType.YES_NO:
        if value.upper() not in ("Y", "N", "1", "0"):
            raise _fail(f"answer {q.tag} is yes or no", position, token, f"{q.tag}Y or {q.tag}N")
        return value.upper() in ("Y", "1")
    if t is QuestionType.COUNT:
        if not re.fullmatch(r"[0-9]{1,7}", value):
            raise _fail(f"answer {q.tag} is a count", position, token, f"{q.tag}<digits>")
        return int(value)
    if t is QuestionType.TIME:
        if not re.fullmatch(r"([01][0-9]|2[0-3])[0-5][0-9]", value):
            raise _fail(f"answer {q.tag} is a time", position, token, f"{q.tag}HHMM, e.g. {q.tag}0745")
        return f"{value[:2]}:{value[2:]}"
    if t is QuestionType.SEAL:
        return value
    picks = value.split(".")
    if not all(p.isdigit() and 1 <= int(p) <= len(q.options) for p in picks):
        raise _fail(f"answer {q.tag} is an option number", position, token,
                    " ".join(f"{n}={o}" for n, o in enumerate(q.options, start=1)))  # fmt: skip
    chosen = [q.options[int(p) - 1] for p in picks]
    if t is QuestionType.SELECT:
        if len(chosen) != 1:
            raise _fail(f"answer {q.tag} takes one option", position, token, f"{q.tag}<option number>")
        return chosen[0]
    return chosen


def _tags(spec: FormSpec) -> str:
    return " ".join(q.tag for q in spec.questions if q.type not in (QuestionType.TEXT, QuestionType.PHOTO))


M = TypeVar("M", bound=BaseModel)


def _validate(model: type[M], fields: dict[str, Any]) -> M:
    try:
        parsed = model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(
            "the message is not a valid record",
            where=".".join(str(p) for p in first["loc"]),
            expected=str(first["msg"]),
            found=repr(first.get("input"))[:40],
        ) from exc
    return parsed


def _fail(message: str, position: int, token: str, expected: str) -> InputError:
    where = f"token {position}" + (f" {token[:20]!r}" if token else "")
    return InputError(message, where=where, expected=expected, found=token[:40] or "nothing")


def _default_id(submitter_key: str, text: str) -> str:
    """A resent SMS gets the same id (idempotent), without putting the phone number in it."""
    normal = " ".join(text.split()).upper()
    return "sms-" + hashlib.sha256(f"{submitter_key}\n{normal}".encode()).hexdigest()[:24]
