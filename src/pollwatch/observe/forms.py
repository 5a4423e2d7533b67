"""Observation forms: versioned checklists defined in data files, in English and Urdu.

A form (``observe/forms/<country>/<name>.toml``) names its id, version, phase and level (a station's
checklist, or a constituency's, for the returning officer's tabulation) and its questions. Each question
has a tag (two capital letters, as in NDI Apollo, so an SMS can carry it), a type, whether it is required,
its text in both languages and, where it checks one, the rule of the country's election law. Its QC rules
(:mod:`pollwatch.observe.qc`) are expressions over the tags.

Answers by type: ``yes_no`` true/false; ``count`` a whole number from 0 to 1,000,000; ``time`` ``HH:MM``
(24 h, local time at the station); ``seal`` a seal number (letters, digits, ``-`` and ``/``); ``select`` one
of the options; ``multi`` a list of distinct options; ``text`` up to 500 characters with no phone numbers
or e-mail addresses (answers are public); ``photo`` the photo's SHA-256.

Only the current version of a form is accepted: a checklist made on an older one is refused with a
message naming the current version (as the Carter Center's ELMO does), so figures never mix versions.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from pollwatch.errors import InputError, NotFoundError, ProblemList
from pollwatch.observe.qc import Rule
from pollwatch.observe.text import screen_text

MAX_COUNT = 1_000_000
MAX_TEXT = 500
_TAG = re.compile(r"^[A-Z]{2}$")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_SEAL = re.compile(r"^[A-Za-z0-9/\-]{1,32}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class QuestionType(StrEnum):
    YES_NO = "yes_no"
    COUNT = "count"
    TIME = "time"
    SEAL = "seal"
    SELECT = "select"
    MULTI = "multi"
    TEXT = "text"
    PHOTO = "photo"


class Level(StrEnum):
    STATION = "station"
    CONSTITUENCY = "constituency"


@dataclass(frozen=True)
class Question:
    tag: str
    type: QuestionType
    required: bool
    text: Mapping[str, str]
    """The question in each language (``en``, ``ur``)."""
    rule: str | None = None
    """The rule of the election law the question checks, where it checks one."""
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class QcRule:
    rule: Rule
    text: Mapping[str, str]


@dataclass(frozen=True)
class FormSpec:
    """One version of one observation form."""

    form: str
    version: int
    country: str
    phase: str
    level: Level
    title: Mapping[str, str]
    questions: tuple[Question, ...]
    qc: tuple[QcRule, ...] = ()
    due: dt.time | None = None
    """Local time by which a deployed observer's report is due (missing-report alarms)."""
    due_day: int = 0
    """Days after polling day the due time falls on (the tabulation ends the next morning)."""
    timezone: str = "UTC"
    sms: str = ""
    """The form's two-letter code in an observation SMS (``OB <code> ...``); none: not sent by SMS."""

    def due_at(self, polling_day: dt.date) -> dt.datetime | None:
        """The instant the report is due on this election, or None when the form has no due time."""
        if self.due is None:
            return None
        local = dt.datetime.combine(polling_day + dt.timedelta(days=self.due_day), self.due)
        return local.replace(tzinfo=ZoneInfo(self.timezone)).astimezone(dt.UTC)

    def question(self, tag: str) -> Question | None:
        return next((q for q in self.questions if q.tag == tag), None)

    def as_dict(self) -> dict[str, Any]:
        """The form as the API and the field app show it."""
        return {
            "form": self.form, "version": self.version, "country": self.country, "phase": self.phase,
            "level": self.level.value, "title": dict(self.title),
            "due": self.due.isoformat(timespec="minutes") if self.due else None, "due_day": self.due_day,
            "timezone": self.timezone, "sms": self.sms,
            "questions": [
                {"tag": q.tag, "type": q.type.value, "required": q.required, "text": dict(q.text),
                 "rule": q.rule, "options": list(q.options)}
                for q in self.questions
            ],
            "qc": [{"name": r.rule.name, "rule": r.rule.expression, "text": dict(r.text)} for r in self.qc],
        }  # fmt: skip


@cache
def forms_for(country: str) -> dict[str, FormSpec]:
    """Every current form of a country (ISO 3166-1 alpha-2), by form id; {} for a country with none."""
    folder = resources.files("pollwatch.observe") / "forms" / country.lower()
    if not folder.is_dir():
        return {}
    out: dict[str, FormSpec] = {}
    for item in sorted(folder.iterdir(), key=lambda f: f.name):
        if item.name.endswith(".toml"):
            spec = parse_form(tomllib.loads(item.read_text(encoding="utf-8")), country=country.upper())
            out[spec.form] = spec
    return out


def current_form(country: str, form: str, version: int) -> FormSpec:
    """The form a checklist names, if ``version`` is its current one; else an error naming the current."""
    spec = forms_for(country).get(form)
    if spec is None:
        raise NotFoundError(
            "no such observation form for this election's country; nothing was written",
            where="form", expected=", ".join(sorted(forms_for(country))) or f"none for {country}", found=form,
        )  # fmt: skip
    if version != spec.version:
        older = version < spec.version
        raise InputError(
            f"form {form} version {version} is {'outdated' if older else 'unknown'}; the current version "
            f"is {spec.version}; nothing was written",
            where="version", expected=str(spec.version), found=str(version),
            remedy="update the form on the device (GET /api/v1/forms) and fill it in again",
        )  # fmt: skip
    return spec


def check_answers(spec: FormSpec, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers checked against the form, in its question order; every problem at once, each named
    ``answers.<TAG>`` (an unknown tag, a missing required answer, a value of the wrong type)."""
    problems = ProblemList()
    for tag in answers:
        if spec.question(tag) is None:
            problems.add(
                "the form has no such question", where=f"answers.{tag}"[:80],
                expected=", ".join(q.tag for q in spec.questions), found=tag[:40],
            )  # fmt: skip
    out: dict[str, Any] = {}
    for q in spec.questions:
        value = answers.get(q.tag)
        if value is None:
            if q.required:
                problems.add("a required question was not answered", where=f"answers.{q.tag}",
                             expected=_EXPECTED[q.type])  # fmt: skip
            continue
        try:
            out[q.tag] = _value(q, value)
        except ValueError as exc:
            problems.add(str(exc), where=f"answers.{q.tag}", expected=_expected(q), found=repr(value)[:60])
    problems.raise_if_any(
        f"the answers do not fit form {spec.form} version {spec.version}; nothing was written"
    )
    return out


_EXPECTED = {
    QuestionType.YES_NO: "true or false",
    QuestionType.COUNT: f"a whole number from 0 to {MAX_COUNT:,}",
    QuestionType.TIME: "a time HH:MM (24 h)",
    QuestionType.SEAL: "a seal number (letters, digits, - and /)",
    QuestionType.SELECT: "one of the options",
    QuestionType.MULTI: "a list of distinct options",
    QuestionType.TEXT: f"up to {MAX_TEXT} characters, without phone numbers or e-mail addresses",
    QuestionType.PHOTO: "the photo's SHA-256 (64 lowercase hex digits)",
}


def _expected(q: Question) -> str:
    if q.options:
        return f"{_EXPECTED[q.type]}: {', '.join(q.options)}"
    return _EXPECTED[q.type]


def _value(q: Question, value: Any) -> Any:
    t = q.type
    if t is QuestionType.YES_NO:
        if type(value) is not bool:
            raise ValueError("not a yes/no answer")
        return value
    if t is QuestionType.COUNT:
        if type(value) is not int or not 0 <= value <= MAX_COUNT:
            raise ValueError("not a count")
        return value
    if not isinstance(value, str | list):
        raise ValueError("not an answer of this type")
    if t is QuestionType.MULTI:
        if not isinstance(value, list) or len(set(map(str, value))) != len(value):
            raise ValueError("not a list of distinct options")
        if any(v not in q.options for v in value):
            raise ValueError("not one of the options")
        return sorted(value, key=q.options.index)
    if not isinstance(value, str):
        raise ValueError("not a text answer")
    pattern = {QuestionType.TIME: _TIME, QuestionType.SEAL: _SEAL, QuestionType.PHOTO: _SHA256}.get(t)
    if pattern is not None and not pattern.match(value):
        raise ValueError(f"not a {t.value.replace('_', ' ')}")
    if t is QuestionType.SELECT and value not in q.options:
        raise ValueError("not one of the options")
    if t is QuestionType.TEXT:
        if len(value) > MAX_TEXT:
            raise ValueError("too long")
        screen_text(value, where=f"answers.{q.tag}")
    return value


def parse_form(data: Mapping[str, Any], *, country: str) -> FormSpec:
    """A form from its data file, every mistake in the file refused (a form is code, shipped with it)."""
    try:
        questions = tuple(_question(q) for q in data["questions"])
        tags = [q.tag for q in questions]
        if len(set(tags)) != len(tags):
            raise ValueError(f"duplicate tags in {tags}")
        countable = {q.tag for q in questions if q.type in (QuestionType.COUNT, QuestionType.YES_NO)}
        qc = tuple(
            QcRule(Rule.parse(str(r["name"]), str(r["rule"]), known=countable), _texts(r))
            for r in data.get("qc", [])
        )
        return FormSpec(
            form=str(data["form"]), version=int(data["version"]), country=country, phase=str(data["phase"]),
            level=Level(data.get("level", "station")), title=_texts(data["title"]), questions=questions,
            qc=qc, due=dt.time.fromisoformat(data["due"]) if "due" in data else None,
            due_day=int(data.get("due_day", 0)), timezone=_zone(str(data.get("timezone", "UTC"))),
            sms=str(data.get("sms", "")).upper(),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            "an observation form file is malformed", where=str(data.get("form", "?")), found=str(exc)
        ) from exc


def _zone(name: str) -> str:
    ZoneInfo(name)  # a ValueError (ZoneInfoNotFoundError) for a zone that does not exist
    return name


def _question(q: Mapping[str, Any]) -> Question:
    tag = str(q["tag"])
    if not _TAG.match(tag):
        raise ValueError(f"tag {tag!r} is not two capital letters")
    kind = QuestionType(q["type"])
    options = tuple(str(o) for o in q.get("options", ()))
    if (kind in (QuestionType.SELECT, QuestionType.MULTI)) != bool(options):
        raise ValueError(f"question {tag}: options go with select and multi questions only")
    return Question(tag, kind, bool(q.get("required", False)), _texts(q), q.get("rule"), options)


def _texts(item: Mapping[str, Any]) -> dict[str, str]:
    texts = {lang: str(item[lang]) for lang in ("en", "ur")}
    if not all(texts.values()):
        raise ValueError("every text needs English (en) and Urdu (ur)")
    return texts
