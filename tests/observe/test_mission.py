"""An observation mission: deployment (all rows or none), the PVT sample drawn as the PVT draws it, who
reported and who is silent past a form's due time, conflicts between observers, per-observer accuracy,
and who may see it (never the public)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pollwatch.auth import AuthRole, create_submitter
from pollwatch.cli.main import app
from pollwatch.errors import InputError
from pollwatch.intake.testing import SLUG, bearer
from pollwatch.observe import mission
from pollwatch.observe.mission import Deployment, Shift
from pollwatch.storage import Database

COUNT = {"CA": 120, "CB": 80, "CC": 200, "CD": 4, "CE": True, "CF": True, "CG": True, "CH": False,
         "CJ": True, "CK": True, "CL": False, "CM": True}  # fmt: skip
# Polling day is 2026-02-08; Pakistan time is UTC+5: the count is due 21:00 PKT = 16:00 UTC.
BEFORE_OPENING = dt.datetime(2026, 2, 8, 3, 0, tzinfo=dt.UTC)
AFTER_COUNT = dt.datetime(2026, 2, 8, 16, 30, tzinfo=dt.UTC)


@pytest.fixture
def mission_tokens(tiny_db: Database) -> dict[str, tuple[str, str]]:
    """(key id, token) of three observers (two of FAFEN, one of TDEA) and FAFEN's coordinator."""
    out = {}
    with tiny_db.begin() as conn:
        for who, role, org, phone in (
            ("obs1", AuthRole.OBSERVER, "FAFEN", "+923005550001"),
            ("obs2", AuthRole.OBSERVER, "FAFEN", "+923005550002"),
            ("obs3", AuthRole.OBSERVER, "TDEA", "+923005550003"),
            ("coord", AuthRole.COORDINATOR, "FAFEN", None),
        ):
            out[who] = create_submitter(conn, role=role, organisation=org, name=f"Private {who}", phone=phone)
    return out


def _deploy(db: Database, keys: dict[str, tuple[str, str]]) -> None:
    with db.begin() as conn:
        mission.deploy(conn, SLUG, [
            Deployment(keys["obs1"][0], "NA-1", 1), Deployment(keys["obs2"][0], "NA-1", 1),
            Deployment(keys["obs3"][0], "NA-2", 2, Shift.COUNT),
        ], now=BEFORE_OPENING)  # fmt: skip


def _checklist(client: TestClient, token: str, sid: str, answers: dict[str, Any]) -> None:
    body = {"election": SLUG, "submission_id": sid, "role": "observer", "form": "pk-count", "version": 1,
            "constituency": "NA-1", "station": 1, "answers": answers}  # fmt: skip
    answer = client.post("/api/v1/records/checklist", json=body, headers=bearer(token))
    assert answer.status_code == 201, answer.text


def test_deployment_is_all_rows_or_none(
    tiny_db: Database, mission_tokens: dict[str, tuple[str, str]]
) -> None:
    wanted = [
        Deployment(mission_tokens["obs1"][0], "NA-1", 1),
        Deployment("nobody", "NA-1", 2),
        Deployment(mission_tokens["obs2"][0], "NA-1", 99),
        Deployment(mission_tokens["coord"][0], "NA-2", 1),
        Deployment(mission_tokens["obs3"][0], "NA-2", 1, Shift.TABULATION),
    ]
    with tiny_db.begin() as conn, pytest.raises(InputError) as caught:
        mission.deploy(conn, SLUG, wanted, now=BEFORE_OPENING)
    assert [p.where for p in caught.value.problems] == [
        "row 2: observer", "row 3", "row 4: observer", "row 5: station",
    ]  # fmt: skip
    with tiny_db.connect() as conn:
        assert mission.mission_status(conn, SLUG, organisation=None, now=AFTER_COUNT)["deployments"] == []


def test_who_reported_who_is_silent_and_where_observers_disagree(
    client: TestClient, tiny_db: Database, mission_tokens: dict[str, tuple[str, str]]
) -> None:
    _deploy(tiny_db, mission_tokens)
    with tiny_db.connect() as conn:
        early = mission.mission_status(conn, SLUG, organisation=None, now=BEFORE_OPENING)
    assert early["silent"] == []  # nothing is due before the opening report's time
    _checklist(client, mission_tokens["obs1"][1], "mission-chk-1", COUNT)
    _checklist(client, mission_tokens["obs2"][1], "mission-chk-2", {**COUNT, "CL": True})  # pasted outside?
    with tiny_db.connect() as conn:
        late = mission.mission_status(conn, SLUG, organisation=None, now=AFTER_COUNT)
    silent = {r["observer"]: r["silent"] for r in late["silent"]}
    assert silent == {
        mission_tokens["obs1"][0]: ["pk-opening", "pk-voting"],  # all day: the count came, the rest did not
        mission_tokens["obs2"][0]: ["pk-opening", "pk-voting"],
        mission_tokens["obs3"][0]: ["pk-count"],  # the count shift only, and nothing came
    }
    [conflict] = late["conflicts"]
    assert (conflict["form"], conflict["tags"], conflict["organisations"]) == ("pk-count", ["CL"], ["FAFEN"])
    accuracy = {a["observer"]: a for a in late["accuracy"]}
    assert accuracy[mission_tokens["obs1"][0]] == {
        "observer": mission_tokens["obs1"][0], "checklists": 1, "passed_qc": 1, "compared": 1, "agreed": 0,
    }  # fmt: skip
    assert (late["stations"], late["stations_covered"]) == (6, 2)
    # Where nobody is deployed: NA-1 has 3 stations and only station 1 covered; NA-2 only station 2.
    assert late["uncovered"] == [
        {"constituency": "NA-1", "stations": 3, "covered": 1},
        {"constituency": "NA-2", "stations": 3, "covered": 1},
    ]
    with tiny_db.connect() as conn:
        tdea = mission.mission_status(conn, SLUG, organisation="TDEA", now=AFTER_COUNT)
    assert [d["observer"] for d in tdea["deployments"]] == [mission_tokens["obs3"][0]]
    assert tdea["conflicts"] == []  # FAFEN's disagreement is not TDEA's to see


def test_the_pvt_sample_is_the_pvts_own_draw(
    tiny_db: Database, mission_tokens: dict[str, tuple[str, str]]
) -> None:
    _deploy(tiny_db, mission_tokens)
    seed, size = "published-seed-2026", 4
    with tiny_db.begin() as conn:
        marked = mission.mark_pvt_sample(conn, SLUG, seed=seed, size=size)
        drawn = mission.pvt_stations(conn, SLUG, seed=seed, size=size)
    # The documented draw, redone here: per constituency (stratum) max(2, round(size * N_h / N)) stations
    # with the smallest SHA-256(seed || 0x00 || "<code>/<serial>").
    expected = []
    for code in ("NA-1", "NA-2"):
        ranked = sorted(
            range(1, 4), key=lambda s: hashlib.sha256(f"{seed}\x00{code}/{s}".encode()).hexdigest()
        )
        expected += [(code, s) for s in ranked[: max(2, round(size * 3 / 6))]]
    assert drawn == sorted(expected)
    covered = {(c, s) for c, s in drawn} & {("NA-1", 1), ("NA-2", 2)}
    assert marked["covered"] == len(covered)
    assert len(marked["uncovered"]) == len(drawn) - len(covered)
    with tiny_db.connect() as conn:
        flagged = mission.mission_status(conn, SLUG, organisation=None, now=AFTER_COUNT)["deployments"]
    assert {(d["constituency"], d["station"]) for d in flagged if d["pvt_sample"]} == covered


def test_only_coordinators_and_admins_see_the_mission(
    client: TestClient, tokens: dict[str, str], tiny_db: Database, mission_tokens: dict[str, tuple[str, str]]
) -> None:
    _deploy(tiny_db, mission_tokens)
    url = f"/api/v1/elections/{SLUG}/mission"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(mission_tokens["obs1"][1])).status_code == 403
    mine = client.get(url, headers=bearer(mission_tokens["coord"][1])).json()
    assert {d["organisation"] for d in mine["deployments"]} == {"FAFEN"}
    assert "Private obs1" in json.dumps(mine)  # the coordinator's own view names their observers
    everything = client.get(url, headers=bearer(tokens["admin"])).json()
    assert len(everything["deployments"]) == 3
    public = "".join(
        client.get(f"/api/v1/elections/{SLUG}/{p}").text for p in ("incidents", "cases", "timeline")
    )
    assert "Private" not in public
    assert "+92300555" not in public


def test_the_cli_deploys_and_reports(
    tiny_db: Database, mission_tokens: dict[str, tuple[str, str]], tmp_path: Path
) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "observer,constituency,station,shift,accreditation,supervisor\n"
        f"{mission_tokens['obs3'][0]},NA-2,,tabulation,ECP-OBS-2026-0042,{mission_tokens['coord'][0]}\n"
    )
    runner = CliRunner()
    deployed = runner.invoke(app, ["observe", "deploy", str(plan), "--election", SLUG, "--db", tiny_db.url])
    assert deployed.exit_code == 0, deployed.output
    assert "deployed 1 observers" in deployed.output
    bad = tmp_path / "bad.csv"
    bad.write_text("observer,constituency,station,shift\nx,NA-2,one,count\n")
    refused = runner.invoke(app, ["observe", "deploy", str(bad), "--election", SLUG, "--db", tiny_db.url])
    assert refused.exit_code != 0
    assert "line 2: station" in refused.output
    shown = runner.invoke(
        app, ["observe", "status", "--election", SLUG, "--db", tiny_db.url, "--format", "json"]
    )
    assert shown.exit_code == 0, shown.output
    [row] = json.loads(shown.output)["deployments"]
    assert (row["shift"], row["accreditation"], row["supervisor"]) == (
        "tabulation",
        "ECP-OBS-2026-0042",
        mission_tokens["coord"][0],
    )
