"""Checklists and incidents through the one submission core: written with their leaves, quarantined by QC,
refused with the field named (nothing written), signed at capture, over HTTP as any kind."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from pollwatch.auth import AuthRole, Principal, register_device
from pollwatch.auth.devices import device_key_id, public_key_of, sign
from pollwatch.auth.tokens import principal_for
from pollwatch.errors import Error, ForbiddenError, InputError, NotFoundError
from pollwatch.intake.kinds.checklist import ChecklistSubmission
from pollwatch.intake.kinds.incident import IncidentSubmission
from pollwatch.intake.service import Accepted, Job, write_batch, write_one
from pollwatch.intake.testing import SLUG, bearer, create_tiny_election
from pollwatch.ledger.records import parse_leaf, signed_bytes
from pollwatch.storage import Database, observations
from pollwatch.storage import log as logstore
from pollwatch.storage import submitters as submitter_store

KEY_ID = "obs-test-1"
COUNT = {"CA": 120, "CB": 80, "CC": 200, "CD": 4, "CE": True, "CF": True, "CG": True, "CH": False,
         "CJ": True, "CK": True, "CL": False, "CM": True}  # fmt: skip


@pytest.fixture
def obs_db(db: Database) -> Database:
    create_tiny_election(db)
    with db.begin() as conn:
        submitter_store.create_submitter(
            conn, key_id=KEY_ID, role=AuthRole.OBSERVER.value, organisation="FAFEN", name="Secret Observer"
        )
    return db


def _principal(db: Database) -> Principal:
    with db.connect() as conn:
        row = submitter_store.get_submitter(conn, key_id=KEY_ID)
        assert row is not None
        return principal_for(conn, row)


def _checklist(sid: str, **kw: Any) -> ChecklistSubmission:
    fields = {"election": SLUG, "submission_id": sid, "role": "observer", "form": "pk-count", "version": 1,
              "constituency": "NA-1", "station": 2, "answers": COUNT, "captured_at": "2026-02-08T18:40:00Z",
              **kw}  # fmt: skip
    return ChecklistSubmission.model_validate(fields)


def _incident(sid: str, **kw: Any) -> IncidentSubmission:
    fields = {"election": SLUG, "submission_id": sid, "role": "observer", "category": "box_unsealed",
              "severity": "high", "constituency": "NA-1", "station": 3,
              "occurred_at": "2026-02-08T16:05:00+05:00", **kw}  # fmt: skip
    return IncidentSubmission.model_validate(fields)


def _leaves(db: Database) -> list[dict[str, Any]]:
    with db.connect() as conn:
        raw = logstore.read_entries(conn, 0, logstore.count_entries(conn))
    return [{"type": r.type, **r.body} for r in map(parse_leaf, raw)]


def test_checklists_and_incidents_are_rows_and_leaves_in_one_batch(obs_db: Database) -> None:
    p = _principal(obs_db)
    jobs = [
        Job(record=_checklist("chk-00001"), principal=p),
        Job(
            record=_checklist("chk-00002", answers={**COUNT, "CC": 250}), principal=p
        ),  # breaks CA + CB == CC
        Job(record=_incident("inc-00001"), principal=p),
    ]
    with obs_db.begin() as conn:
        outcomes = write_batch(conn, jobs)
    assert [o.kind for o in outcomes if isinstance(o, Accepted)] == ["checklist", "checklist", "incident"]
    leaves = _leaves(obs_db)
    assert [leaf["type"] for leaf in leaves] == ["checklist", "checklist", "incident"]
    assert leaves[0]["answers"] == COUNT
    assert leaves[0]["phase"] == "count"
    assert leaves[0]["checks"] == []
    assert leaves[1]["checks"] == ["qc:men_and_women_make_the_total"]
    assert leaves[2]["category"] == "box_unsealed"
    assert leaves[2]["occurred_at"] == "2026-02-08T11:05:00Z"
    assert all(leaf["submitter_key"] == KEY_ID and leaf["organisation"] == "FAFEN" for leaf in leaves)
    assert "Secret Observer" not in repr(leaves)
    with obs_db.connect() as conn:
        eid = 1
        assert observations.count_checklists(conn, eid) == 2
        assert observations.count_checklists(conn, eid, quarantined=True) == 1
        [incident] = observations.list_incidents(conn, eid)
    assert (incident["category"], incident["severity"], incident["station_id"] is not None) == (
        "box_unsealed", "high", True,
    )  # fmt: skip
    with obs_db.begin() as conn:  # a resend is the same leaf, not a new one
        again = write_one(conn, Job(record=_checklist("chk-00001"), principal=p))
    assert again.duplicate
    assert again.leaf_index == 0
    assert len(_leaves(obs_db)) == 3


@pytest.mark.parametrize(
    ("record", "error", "where"),
    [
        (lambda: _checklist("chk-bad-01", version=0), InputError, "version"),
        (lambda: _checklist("chk-bad-02", form="pk-closing"), NotFoundError, "form"),
        (lambda: _checklist("chk-bad-03", station=None), InputError, "station"),
        (lambda: _checklist("chk-bad-04", station=999), InputError, "station"),
        (lambda: _checklist("chk-bad-05", constituency="NA-99"), InputError, "constituency"),
        (lambda: _checklist("chk-bad-06", answers={**COUNT, "CA": True}), InputError, "answers.CA"),
        (lambda: _checklist("chk-bad-07", form="pk-ro-tabulation", answers={}), InputError, "station"),
        (lambda: _incident("inc-bad-01", category="aliens"), InputError, "category"),
        (lambda: _incident("inc-bad-02", constituency=None, station=None), InputError, "constituency"),
        (lambda: _incident("inc-bad-03", latitude=31.5), InputError, "longitude"),
        (
            lambda: _incident("inc-bad-04", description="call me on +92 321 7654321"),
            InputError,
            "description",
        ),
        (lambda: _incident("inc-bad-05", occurred_at="2024-01-01T00:00:00Z"), InputError, "occurred_at"),
        (lambda: _incident("inc-bad-06", category="other"), InputError, "description"),
    ],
)
def test_malformed_observations_are_refused_naming_the_field_and_write_nothing(
    obs_db: Database, record: Any, error: type[Error], where: str
) -> None:
    p = _principal(obs_db)
    with obs_db.begin() as conn:
        [good, bad] = write_batch(conn, [Job(record=_checklist("chk-good-1"), principal=p),
                                         Job(record=record(), principal=p)])  # fmt: skip
    assert isinstance(good, Accepted)
    assert isinstance(bad, error), bad
    assert bad.problems[0].where == where
    assert len(_leaves(obs_db)) == 1  # only the good neighbour


def test_agents_may_report_incidents_but_not_fill_in_checklists(obs_db: Database) -> None:
    agent = Principal(0, "agent-1", AuthRole.AGENT)
    with obs_db.begin() as conn, pytest.raises(ForbiddenError, match="may not submit checklist"):
        write_one(conn, Job(record=_checklist("chk-agent-1", role="agent"), principal=agent))


def test_a_checklist_signed_on_the_device_is_verified_by_the_core(obs_db: Database) -> None:
    p = _principal(obs_db)
    key = Ed25519PrivateKey.generate()
    device = device_key_id(public_key_of(key))
    with obs_db.begin() as conn:
        register_device(conn, submitter_id=p.submitter_id, public_key=device)
    body = {"election": SLUG, "submission_id": "chk-signed-1", "form": "pk-count", "version": 1,
            "phase": "count", "constituency": "NA-1", "station": 2, "answers": COUNT, "submitter_key": device,
            "role": "observer", "organisation": "FAFEN",
            "captured_at": "2026-02-08T18:40:00.000Z"}  # fmt: skip
    good = sign(key, signed_bytes(body, "checklist"))
    forged = sign(key, signed_bytes({**body, "answers": {**COUNT, "CA": 121}}, "checklist"))
    with obs_db.begin() as conn:
        record = _checklist("chk-signed-1", device_key=device, signature=forged)
        [refused] = write_batch(conn, [Job(record=record, principal=p)])
    assert isinstance(refused, Error)
    assert "signature" in refused.message
    with obs_db.begin() as conn:
        ok = write_one(
            conn, Job(record=_checklist("chk-signed-1", device_key=device, signature=good), principal=p)
        )
    assert _leaves(obs_db)[ok.leaf_index]["submitter_key"] == device


def test_checklists_and_incidents_over_http(client: TestClient, tokens: dict[str, str]) -> None:
    checklist = _checklist("chk-http-01").model_dump(mode="json", exclude_none=True)
    first = client.post("/api/v1/records/checklist", json=checklist, headers=bearer(tokens["observer"]))
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/records/checklist", json=checklist, headers=bearer(tokens["observer"]))
    assert again.json()["leaf_index"] == first.json()["leaf_index"]
    outdated = client.post(
        "/api/v1/records/checklist",
        json={**checklist, "submission_id": "chk-http-02", "version": 0},
        headers=bearer(tokens["observer"]),
    )
    assert outdated.status_code == 422
    assert "the current version is 1" in outdated.json()["error"]["message"]
    incident = _incident("inc-http-01", role="agent").model_dump(mode="json", exclude_none=True)
    made = client.post("/api/v1/records/incident", json=incident, headers=bearer(tokens["agent"]))
    assert made.status_code == 403  # the agent is assigned NA-1 station 1 only; this is station 3
    assert "assigned" in made.json()["error"]["message"]
    made = client.post("/api/v1/records/incident", json={**incident, "station": 1},
                       headers=bearer(tokens["agent"]))  # fmt: skip
    assert made.status_code == 201, made.text


def test_forms_categories_and_incidents_are_public_without_personal_data(
    client: TestClient, tokens: dict[str, str]
) -> None:
    forms = client.get(f"/api/v1/elections/{SLUG}/forms").json()
    assert forms["country"] == "PK"
    assert {f["form"] for f in forms["forms"]} == {"pk-opening", "pk-voting", "pk-count", "pk-ro-tabulation"}
    count = next(f for f in forms["forms"] if f["form"] == "pk-count")
    assert count["qc"][0]["rule"] == "CA + CB == CC"
    assert count["questions"][0]["text"]["ur"]
    codes = {c["code"]: c["sms"] for c in client.get("/api/v1/incident-categories").json()["categories"]}
    assert codes["box_unsealed"] == 7
    for n, category in enumerate(("violence", "box_unsealed")):
        body = _incident(f"inc-pub-{n:02d}", category=category).model_dump(mode="json", exclude_none=True)
        assert (
            client.post("/api/v1/records/incident", json=body, headers=bearer(tokens["observer"])).status_code
            == 201
        )
    listed = client.get(f"/api/v1/elections/{SLUG}/incidents?category=box_unsealed").json()["incidents"]
    assert [(i["category"], i["constituency"], i["station"]) for i in listed] == [("box_unsealed", "NA-1", 3)]
    everything = client.get(f"/api/v1/elections/{SLUG}/incidents").text
    assert "Secret" not in everything
    assert "+92" not in everything
