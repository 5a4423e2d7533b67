"""An observation mission on a synthetic election night, written through the one submission core.

Deterministic from the election's seed: observers of three organisations, each with a device key, are
deployed to stations (most for the whole day, some for the count only); they send the opening, voting and
count checklists of the election's country, signed on their devices, the count's figures taken from the
station's true count; a few never report (the silent observers a coordinator must chase), a few make an
arithmetic slip that a QC rule quarantines. Incidents follow the night's ground truth (ballot stuffing
where stations were stuffed, the result withheld where it was) plus ordinary trouble at a few stations;
a handful of cases of repression walk through their status histories; a shutdown of mobile service on
polling day is recorded. Loading twice writes nothing new (every record has its own submission id).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from pollwatch.auth.devices import sign
from pollwatch.errors import Error
from pollwatch.intake.format import iso
from pollwatch.intake.kinds import case, case_update, checklist, incident, shutdown
from pollwatch.intake.service import Accepted, Cache, Job, write_batch
from pollwatch.ledger.records import signed_bytes
from pollwatch.model import Channel, Role
from pollwatch.observe.forms import FormSpec, check_answers, forms_for
from pollwatch.observe.mission import Deployment, Shift, deploy
from pollwatch.storage import Database, observations, structure, submissions
from pollwatch.synth.submissions import Night
from pollwatch.synth.submitters import Identity, Wanted, register_submitters

ORGANISATIONS = ("FAFEN", "PILDAT", "TDEA")
"""The observer groups of the mission (names of real Pakistani observer networks; the people are not)."""
RIGHTS = "HRCP"
"""The organisation that records the cases of repression."""
PKT = dt.timezone(dt.timedelta(hours=5))


@dataclass(frozen=True)
class MissionSummary:
    observers: int
    written: int
    duplicates: int


def load_mission(db: Database, night: Night, *, observers: int = 300) -> MissionSummary:
    """Deploy ``observers`` synthetic observers on the night's election and write their records."""
    e, slug = night.election, night.slug
    rng = np.random.default_rng(e.config.seed + 1_207)
    with db.connect() as conn:
        election_id, election = structure.get_election(conn, slug)
    wanted = [Wanted(Role.OBSERVER, ORGANISATIONS[i % 3], tag=f"{i:04d}") for i in range(observers)]
    wanted += [Wanted(Role.OBSERVER, RIGHTS, tag="cases")]
    with db.begin() as conn:
        ids = register_submitters(conn, slug=slug, seed=e.config.seed, wanted=wanted)
    team = [ids[(Role.OBSERVER, f"{w.organisation}#{w.tag}")] for w in wanted[:observers]]
    desk = ids[(Role.OBSERVER, f"{RIGHTS}#cases")]
    pool = np.flatnonzero(~e.generated) if e.generated is not None else np.arange(len(e.registered))
    stations = rng.choice(pool, size=min(observers, len(pool)), replace=False).tolist()
    shifts = [Shift.COUNT if rng.random() < 0.1 else Shift.ALL_DAY for _ in stations]
    with db.begin() as conn:
        if not observations.list_deployments(conn, election_id, organisation=None):
            deploy(
                conn,
                slug,
                [
                    Deployment(who.principal.key_id, e.constituency_codes[e.constituency[s]], s + 1, shift)
                    for who, s, shift in zip(team, stations, shifts, strict=False)
                ],
                now=night.polls_close,
            )
    forms = forms_for(election.country)
    day = election.date
    pakistan = {"pk-opening", "pk-voting", "pk-count"} <= set(forms)
    jobs = list(_checklists(night, forms, team, stations, shifts, day, rng)) if pakistan else []
    jobs += list(_incidents(night, team, stations, day, rng))
    cases = list(_cases(night, desk, day, rng))
    summary = _write(db, [*jobs, *(job for job, _ in cases)])
    with db.connect() as conn:
        leaves = {
            c.submission_id: submissions.get_submission(conn, desk.principal.key_id, c.submission_id)
            for _, c in cases
        }
    updates = [job for _, c in cases for job in _updates(night, desk, c, _leaf(leaves[c.submission_id]))]
    more = _write(db, updates)
    return MissionSummary(observers, summary[0] + more[0], summary[1] + more[1])


def _leaf(row: Any) -> int:
    assert row is not None, "a case the mission just wrote is missing"
    return int(row.leaf_index)


def _write(db: Database, jobs: list[Job]) -> tuple[int, int]:
    """Write the jobs in batches; (new records, duplicates)."""
    written = duplicates = 0
    cache = Cache()
    for first in range(0, len(jobs), 500):
        with db.begin() as conn:
            outcomes = write_batch(conn, jobs[first : first + 500], cache)
        refused = [o for o in outcomes if isinstance(o, Error)]
        if refused:
            raise refused[0]  # a record the core refuses is a bug of the generator
        written += sum(1 for o in outcomes if isinstance(o, Accepted) and not o.duplicate)
        duplicates += sum(1 for o in outcomes if isinstance(o, Accepted) and o.duplicate)
    db.statistics.wrote(written)
    return written, duplicates


def _at(day: dt.date, hour: int, minute: int = 0, plus: float = 0.0) -> dt.datetime:
    """A Pakistan time on polling day (``plus`` minutes later), in UTC."""
    local = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PKT) + dt.timedelta(minutes=plus)
    return local.astimezone(dt.UTC)


def _job(record: Any, who: Identity, captured: dt.datetime) -> Job:
    return Job(
        record=record,
        principal=who.principal,
        channel=Channel.SYNTH,
        received_at=captured + dt.timedelta(seconds=30),
    )


def _checklist(body: dict[str, Any], spec: FormSpec, who: Identity, captured: dt.datetime) -> Job:
    """A checklist signed on ``who``'s device, as ``checklist.signing_body`` says (the answers as the
    server checks them: multiple choices in the form's order)."""
    rec = checklist.ChecklistSubmission.model_validate(
        {**body, "captured_at": iso(captured), "device_key": who.device_key}
    )
    signed = checklist.signing_body(
        rec,
        check_answers(spec, rec.answers),
        phase=spec.phase,
        submitter_key=who.device_key,
        organisation=who.principal.organisation,
        captured_at=iso(captured),
    )
    return _job(
        rec.model_copy(update={"signature": sign(who.device, signed_bytes(signed, "checklist"))}),
        who,
        captured,
    )


def _incident(body: dict[str, Any], who: Identity, captured: dt.datetime) -> Job:
    """An incident signed on ``who``'s device."""
    rec = incident.IncidentSubmission.model_validate(
        {**body, "captured_at": iso(captured), "device_key": who.device_key}
    )
    assert rec.occurred_at is not None
    signed = incident.signing_body(
        rec,
        rec.occurred_at,
        submitter_key=who.device_key,
        organisation=who.principal.organisation,
        captured_at=iso(captured),
    )
    return _job(
        rec.model_copy(update={"signature": sign(who.device, signed_bytes(signed, "incident"))}),
        who,
        captured,
    )


def _checklists(
    night: Night,
    forms: dict[str, FormSpec],
    team: list[Identity],
    stations: list[int],
    shifts: list[Shift],
    day: dt.date,
    rng: np.random.Generator,
) -> Iterator[Job]:
    e, slug = night.election, night.slug
    for n, (who, s, shift) in enumerate(zip(team, stations, shifts, strict=False)):
        fate = rng.random()
        if fate < 0.05:
            continue  # never reported at all
        common = {
            "election": slug,
            "role": "observer",
            "version": 1,
            "constituency": e.constituency_codes[e.constituency[s]],
            "station": s + 1,
        }
        sid = f"{slug}:mission:{n:04d}"
        if shift is Shift.ALL_DAY:
            opened = _at(day, 8, 0, float(rng.integers(0, 50)))
            yield _checklist(
                {
                    **common,
                    "submission_id": f"{sid}:opening",
                    "form": "pk-opening",
                    "answers": _opening(opened, rng),
                },
                forms["pk-opening"],
                who,
                opened,
            )
            voting = _at(day, 12, 0, float(rng.integers(0, 55)))
            yield _checklist(
                {**common, "submission_id": f"{sid}:voting", "form": "pk-voting", "answers": _voting(rng)},
                forms["pk-voting"],
                who,
                voting,
            )
        if fate < 0.12:
            continue  # silent on the count: the coordinator's view names them
        counted = _at(day, 18, 30, float(rng.integers(0, 150)))
        yield _checklist(
            {**common, "submission_id": f"{sid}:count", "form": "pk-count", "answers": _count(e, s, rng)},
            forms["pk-count"],
            who,
            counted,
        )


def _opening(opened: dt.datetime, rng: np.random.Generator) -> dict[str, Any]:
    local = opened.astimezone(PKT)
    return {
        "AA": f"{local.hour:02d}:{local.minute:02d}",
        "AB": bool(rng.random() > 0.08),
        "AC": int(rng.integers(900, 1600)),
        "AD": bool(rng.random() > 0.05),
        "AF": bool(rng.random() > 0.06),
        "AH": bool(rng.random() > 0.03),
        "AG": sorted({str(p) for p in rng.choice(["PML-N", "PPPP", "PTI", "MQM-P", "JUI-F"], size=3)}),
    }


def _voting(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "BA": bool(rng.random() > 0.04),
        "BB": bool(rng.random() > 0.05),
        "BC": bool(rng.random() > 0.1),
        "BD": bool(rng.random() < 0.03),
        "BE": bool(rng.random() > 0.07),
        "BF": bool(rng.random() < 0.12),
        "BG": int(rng.integers(0, 25)),
        "BH": bool(rng.random() < 0.04),
    }


def _count(e: Any, s: int, rng: np.random.Generator) -> dict[str, Any]:
    """The station's true count, as the observer copied it (an occasional slip breaks CA + CB == CC)."""
    polled = int(e.votes[s].sum() + e.rejected[s])
    men = int(round(polled * float(rng.uniform(0.5, 0.62))))
    slip = int(rng.integers(3, 30)) if rng.random() < 0.03 else 0
    withheld = bool(e.truth.withheld[s])
    return {
        "CA": men,
        "CB": polled - men,
        "CC": polled + slip,
        "CD": int(e.rejected[s]),
        "CE": bool(rng.random() > 0.06),
        "CF": bool(rng.random() > 0.4),
        "CG": bool(rng.random() > 0.05),
        "CH": bool(rng.random() < 0.05),
        "CJ": bool(rng.random() > 0.1),
        "CK": not withheld and bool(rng.random() > 0.1),
        "CL": not withheld and bool(rng.random() > 0.2),
        "CM": bool(rng.random() > 0.15),
    }


def _incidents(
    night: Night, team: list[Identity], stations: list[int], day: dt.date, rng: np.random.Generator
) -> Iterator[Job]:
    e, slug = night.election, night.slug
    for n, (who, s) in enumerate(zip(team, stations, strict=False)):
        where = {
            "election": slug,
            "role": "observer",
            "constituency": e.constituency_codes[e.constituency[s]],
            "station": s + 1,
        }
        found = []
        if e.truth.stuffed[s]:
            found.append(("ballot_stuffing", "high", _at(day, 15, 0, float(rng.integers(0, 90)))))
        if e.truth.withheld[s]:
            found.append(("result_withheld", "high", _at(day, 19, 0, float(rng.integers(0, 60)))))
        draw = rng.random()
        if draw < 0.04:
            found.append(("late_opening", "low", _at(day, 8, 30)))
        elif draw < 0.07:
            found.append(("campaigning_at_station", "medium", _at(day, 11, 0, float(rng.integers(0, 120)))))
        elif draw < 0.09:
            found.append(("intimidation", "high", _at(day, 13, 0, float(rng.integers(0, 120)))))
        elif draw < 0.12:
            found.append(("network_shutdown", "medium", _at(day, 9, 0, float(rng.integers(0, 60)))))
        for k, (category, severity, when) in enumerate(found):
            body = {
                **where,
                "submission_id": f"{slug}:incident:{n:04d}:{k}",
                "category": category,
                "severity": severity,
                "occurred_at": iso(when),
            }
            yield _incident(body, who, when)
    shut = _at(day, 6, 45)
    record = shutdown.ShutdownSubmission.model_validate(
        {
            "election": slug,
            "submission_id": f"{slug}:shutdown:polling-day",
            "role": "observer",
            "started_at": iso(shut),
            "ended_at": iso(_at(day, 23, 30)),
            "scope": "national",
            "networks": ["mobile_data", "mobile_voice"],
            "shutdown_type": "full",
            "telcos": ["Jazz", "Telenor", "Zong"],
            "ordered_by": "Interior ministry",
            "stated_cause": "security on polling day",
            "election_related": True,
            "sources": [{"kind": "media", "grade": "C", "note": "synthetic record of the demo"}],
        }
    )
    yield _job(record, team[0], _at(day, 10, 0))


@dataclass(frozen=True)
class _Case:
    submission_id: str
    start: dt.date
    steps: tuple[str, ...]


_STEPS = (
    ("arrested", "remanded", "bailed", "released"),
    ("arrested", "charged", "remanded"),
    ("arrested", "remanded", "bailed"),
    ("missing", "released"),
    ("arrested", "charged", "convicted"),
    ("arrested", "released"),
)


def _cases(
    night: Night, desk: Identity, day: dt.date, rng: np.random.Generator
) -> Iterator[tuple[Job, _Case]]:
    """A handful of cases (identities private, one public figure published), each with the steps of its
    history still to be written once the case's leaf is known."""
    e, slug = night.election, night.slug
    for n, steps in enumerate(_STEPS):
        code = e.constituency_codes[int(rng.integers(0, len(e.constituency_codes)))]
        start = day - dt.timedelta(days=int(rng.integers(3, 20)))
        victim: dict[str, Any] = {
            "ref": "P1",
            "roles": ["victim"],
            "party": "PTI" if n % 2 == 0 else "PPPP",
            "gender": "female" if n % 3 == 0 else "male",
            "descriptor": "polling_agent",
        }
        if n == 0:
            victim.update(
                descriptor="candidate",
                publication="public_figure",
                published_name=f"Candidate of {code} (synthetic)",
            )
        sid = f"{slug}:case:{n}"
        record = case.CaseSubmission.model_validate(
            {
                "election": slug,
                "submission_id": sid,
                "role": "observer",
                "event": "detention" if steps[0] == "missing" else "arrest",
                "started_on": start.isoformat(),
                "constituency": code,
                "authority": "district police",
                "charges": ["PPC 506"] if "charged" in steps else [],
                "summary": "A synthetic case of the demo: detained while campaigning.",
                "people": [victim, {"ref": "P2", "roles": ["source"], "descriptor": "lawyer"}],
                "acts": [
                    {
                        "act": "abduction" if steps[0] == "missing" else "arrest",
                        "on": start.isoformat(),
                        "victims": ["P1"],
                        "by": "district police",
                    }
                ],
                "sources": [{"kind": "lawyer", "grade": "B"}, {"kind": "family", "grade": "C"}],
                "private": {
                    "P1": {"name": f"Synthetic person {n}", "notes": "held at the city police station"}
                },
            }
        )
        opened = dt.datetime.combine(start, dt.time(14), tzinfo=PKT).astimezone(dt.UTC)
        yield _job(record, desk, opened), _Case(sid, start, steps if steps[0] == "missing" else steps[1:])


def _updates(night: Night, desk: Identity, c: _Case, leaf: int) -> Iterator[Job]:
    """The steps of a case's history, each a record naming the case's leaf."""
    sid = c.submission_id
    for k, status in enumerate(c.steps, start=1):
        on = c.start + dt.timedelta(days=2 * k)
        record = case_update.CaseUpdateSubmission.model_validate(
            {
                "election": night.slug,
                "submission_id": f"{sid}:{k}",
                "role": "observer",
                "case": leaf,
                "status": status,
                "on": on.isoformat(),
                "people": ["P1"],
                "sources": [{"kind": "lawyer", "grade": "B"}],
            }
        )
        yield _job(record, desk, dt.datetime.combine(on, dt.time(16), tzinfo=PKT).astimezone(dt.UTC))
