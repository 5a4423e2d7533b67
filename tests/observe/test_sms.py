"""Observation by SMS (Apollo-style): checklists and incident codes from registered numbers, parsed into
records of the one core; every malformed message answered with the token and what was expected."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from pollwatch.auth import AuthRole, create_submitter
from pollwatch.errors import InputError
from pollwatch.intake.kinds.checklist import ChecklistSubmission
from pollwatch.intake.kinds.incident import IncidentSubmission
from pollwatch.intake.sms_observe import parse_observation
from pollwatch.intake.testing import SLUG, bearer
from pollwatch.model import Role
from pollwatch.storage import Database

NOW = dt.datetime(2026, 2, 8, 14, 0, tzinfo=dt.UTC)
COUNT_SMS = "OB CT NA-41 17 CA120 CB98 CC218 CD3 CEY CFN CGY CHN CJY CKY CLN CMY CN1945"


def _parse(text: str) -> ChecklistSubmission | IncidentSubmission:
    return parse_observation(
        text, election=SLUG, country="PK", role=Role.OBSERVER, submitter_key="sub-x", now=NOW
    )


def test_a_count_checklist_and_an_incident_parse_to_records() -> None:
    count = _parse(COUNT_SMS)
    assert isinstance(count, ChecklistSubmission)
    assert (count.form, count.version, count.constituency, count.station) == ("pk-count", 1, "NA-41", 17)
    assert count.answers == {
        "CA": 120,
        "CB": 98,
        "CC": 218,
        "CD": 3,
        "CE": True,
        "CF": False,
        "CG": True,
        "CH": False,
        "CJ": True,
        "CK": True,
        "CL": False,
        "CM": True,
        "CN": "19:45",
    }
    urdu = _parse("OB CT NA-41 17 CA۱۲۰ CB۹۸ CC۲۱۸ CD۳ CEY CFN CGY CHN CJY CKY CLN CMY CN۱۹۴۵")
    assert urdu.answers == count.answers  # type: ignore[union-attr]
    assert urdu.submission_id == count.submission_id  # the same message, the same id (idempotent)
    opening = _parse("ob op na-41 17 AA0745 ABy AC1200 ADy AF1 AHy AG1.3")
    assert opening.answers["AG"] == ["PML-N", "PTI"]  # type: ignore[union-attr]
    assert opening.answers["AA"] == "07:45"  # type: ignore[union-attr]
    incident = _parse("OB IN 7 NA-41 17 T1770559200 #box-17-seen")
    assert isinstance(incident, IncidentSubmission)
    assert (incident.category, incident.station, incident.submission_id) == (
        "box_unsealed",
        17,
        "box-17-seen",
    )
    assert incident.occurred_at == dt.datetime.fromtimestamp(1770559200, dt.UTC)
    assert _parse("OB IN 12 NA-41").occurred_at == NOW  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        ("OB ZZ NA-41 17 CA1", "token 2 'ZZ'", "CT"),
        ("OB CT NA-41 17 CA1x0", "token 5 'CA1x0'", "CA<digits>"),
        ("OB CT NA-41 17 CEmaybe", "token 5 'CEmaybe'", "CEY or CEN"),
        ("OB CT NA-41 17 CN2561", "token 5 'CN2561'", "HHMM"),
        ("OB CT NA-41 17 CA1 CA2", "token 6 'CA2'", "each tag once"),
        ("OB CT NA-41 17 XX5", "token 5 'XX5'", "CA CB CC"),
        ("OB CT NA-41 x CA1", "token 4 'x'", "digits or -"),
        ("OB OP NA-41 17 AG10", "token 5 'AG10'", "1=PML-N"),
        ("OB IN 55 NA-41", "token 3 '55'", "incident taxonomy"),
        ("OB CT", "token 3", "OB <form>"),
    ],
)
def test_every_malformed_message_names_the_token(text: str, where: str, expected: str) -> None:
    with pytest.raises(InputError) as caught:
        _parse(text)
    problem = caught.value.problems[0]
    assert problem.where == where
    assert expected in problem.expected


def test_observation_sms_through_the_gateway(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    with tiny_db.begin() as conn:
        create_submitter(conn, role=AuthRole.OBSERVER, organisation="FAFEN", phone="+923009998877")
    gateway = bearer(tokens["gateway"])

    def send(text: str) -> str:
        answer = client.post(
            f"/api/v1/sms/inbound?election={SLUG}",
            json={"sender": "03009998877", "text": text},
            headers=gateway,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["reply"])

    count = "OB CT NA-1 1 CA120 CB80 CC200 CD4 CEY CFY CGY CHN CJY CKY CLN CMY"
    first = send(count)
    assert first.startswith("OK NA-1/1 leaf "), first
    assert "already received" in send(count)
    slip = send("OB CT NA-1 2 CA120 CB80 CC210 CD4 CEY CFY CGY CHN CJY CKY CLN CMY")
    assert "FLAGGED qc:men_and_women_make_the_total" in slip
    assert send("OB IN 10 NA-1 2").startswith("OK NA-1/2 leaf ")
    wrong = send("OB CT NA-1 1 CA12O")
    assert wrong.startswith("ERR token 5 'CA12O': answer CA is a count")
    listed = client.get(f"/api/v1/elections/{SLUG}/incidents").json()["incidents"]
    assert [(i["category"], i["station"]) for i in listed] == [("result_withheld", 2)]
