"""The ``sheet`` kind: a result sheet of any form (Form-45 to 49) as an agent, observer or citizen
reports it; a correction is a sheet whose ``supersedes`` names the leaf of an earlier one.

Its leaf is ``type: "sheet"`` with the body of :func:`pollwatch.ledger.records.sheet_record`; its rows
are a ``sheets`` row with its votes. Places are looked up for the whole batch and cached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel
from sqlalchemy import Connection

from pollwatch.auth import Principal
from pollwatch.auth.roles import SUBMITTING, AuthRole
from pollwatch.errors import Error, InputError, ProblemList, VerificationError
from pollwatch.intake.checks import check_sheet, default_form
from pollwatch.intake.format import TOTAL_FIELDS, SheetSubmission, signing_body
from pollwatch.intake.kinds.base import CONTEXT_TTL, Batch, Draft, LoggedRecord, Place, RowIds, Signer
from pollwatch.intake.kinds.observation import resolve
from pollwatch.ledger import records
from pollwatch.ledger.records import LeafRecord
from pollwatch.model import (
    CandidateKey,
    ConstituencyCode,
    Provenance,
    ResultSheet,
    Role,
    SheetKind,
    StationNumber,
    Totals,
)
from pollwatch.storage import places, sheet_rows, submissions
from pollwatch.tally.leaves import sheet_from_leaf

if TYPE_CHECKING:
    from pollwatch.intake.service import Job

SOURCE = "intake"
"""The ``source`` of every sheet row the intake writes."""


class SheetKindPlugin:
    """Station sheets of every form, and corrections of them."""

    name: ClassVar[str] = "sheet"
    leaf_type: ClassVar[str] = "sheet"
    schema: ClassVar[type[BaseModel]] = SheetSubmission
    roles: ClassVar[frozenset[AuthRole]] = SUBMITTING

    def place(self, record: Any) -> Place:
        return Place(record.constituency, None if record.station is None else int(record.station))

    def prefetch(self, batch: Batch, records: Sequence[Any]) -> None:
        prefetch_places(batch, records)
        wanted = {r.supersedes for r in records if r.supersedes is not None}
        batch.found[self.name] = submissions.list_leaf_owners(batch.conn, wanted)

    def draft(self, batch: Batch, job: Job, signer: Signer) -> Draft:
        sub: SheetSubmission = job.record
        info = batch.election(sub.election)
        ctx = resolve_place(batch, info.id, sub)
        form = sub.form or default_form(info.rule_pack, sub.kind)
        body = signing_body(
            sub, form=form, submitter_key=signer.submitter_key, organisation=job.principal.organisation,
            captured_at=signer.captured_at,
        )  # fmt: skip
        _check_supersedes(sub, job.principal, batch.found.get(self.name, {}))
        checks, details = run_checks(batch, ctx, body)
        sheet = result_sheet(job, ctx, form=form, submitter_key=signer.submitter_key)
        extra: dict[str, Any] = {"submission_id": sub.submission_id, "checks": list(checks)}
        if details:
            extra["check_details"] = details
        if sub.supersedes is not None:
            extra["supersedes"] = sub.supersedes
        return Draft(info.id, body, checks, state=(ctx, ResultSheet(**{**vars(sheet), "extra": extra})))

    def leaf(self, draft: Draft, *, received_at: str, signature: str | None) -> LeafRecord:
        return records.sheet_record(**draft.body, received_at=received_at, signature=signature,
                                    checks=draft.checks)  # fmt: skip

    def rows(self, conn: Connection, items: Sequence[tuple[Job, Draft]]) -> RowIds:
        return insert_sheets(conn, items)

    def rows_from_leaves(self, batch: Batch, records: Sequence[LoggedRecord]) -> RowIds:
        return insert_logged_sheets(batch, records, self.leaf_type)


def insert_logged_sheets(batch: Batch, records: Sequence[LoggedRecord], leaf_type: str) -> RowIds:
    """Insert the sheet rows of ``sheet`` or ``official`` leaves already in the log, as the intake
    stored them (an imported official leaf keeps its file as source); (sheet id, sheet id) each."""
    items = []
    for rec in records:
        read = sheet_from_leaf(rec.index, leaf_type, rec.body)
        if read is None:
            raise VerificationError(
                f"leaf {rec.index} is not a readable {leaf_type} sheet", expected="the body of docs/ledger.md"
            )
        station = read.station_serial
        ctx = resolve(batch, rec.election_id, read.constituency, station)
        unknown = sorted(int(k) for k in read.votes if k not in ctx.candidates)
        if unknown:
            raise InputError(
                f"leaf {rec.index} names ballot positions this database's ballot lacks",
                where=f"votes.{unknown[0]}", expected=f"positions of {read.constituency}'s ballot",
                found=", ".join(map(str, unknown)),
                remedy="restore the election's structure (candidates) before its records",
            )  # fmt: skip
        failed = set(rec.body.get("checks") or ())
        details = run_checks(batch, ctx, rec.body)[1] if failed else {}
        sheet = _as_stored(read, rec, leaf_type, {k: v for k, v in details.items() if k in failed})
        items.append((ctx, sheet))
    ids = sheet_rows.insert_sheet_batch(batch.conn, items)
    return [(i, i) for i in ids]


def _as_stored(
    read: ResultSheet, rec: LoggedRecord, leaf_type: str, details: Mapping[str, Any]
) -> ResultSheet:
    """The sheet row the intake made of the record: its source, times and ``extra`` (with the details
    of the checks it failed, recomputed)."""
    body = rec.body
    imported = body.get("role") == "import"
    extra: dict[str, Any] = {
        "submission_id": body.get("submission_id"),
        "checks": list(body.get("checks") or []),
    }
    if body.get("supersedes") is not None:
        extra["supersedes"] = body["supersedes"]
    if leaf_type == "official":
        extra["source"] = body.get("source")
    if details:
        extra["check_details"] = dict(details)
    provenance = replace(
        read.provenance,
        source=read.provenance.source if imported else SOURCE,
        received_at=rec.received_at,
        captured_at=rec.captured_at or rec.received_at,
    )
    return replace(read, provenance=provenance, extra=extra)


def insert_sheets(conn: Connection, items: Sequence[tuple[Job, Draft]]) -> RowIds:
    """Insert the sheet rows of drafts whose state is (place, sheet); (sheet id, sheet id) each."""
    ids = sheet_rows.insert_sheet_batch(conn, [d.state for _, d in items])
    return [(i, i) for i in ids]


def run_checks(
    batch: Batch, ctx: places.StationContext, body: Mapping[str, Any]
) -> tuple[tuple[str, ...], dict[str, dict[str, str]]]:
    """The arithmetic and plausibility checks of a sheet body: failed names, and their details."""
    info = batch.election(body["election"])
    votes = {int(k): v for k, v in body["votes"].items()}
    failures = check_sheet(
        votes, body["totals"], registered=ctx.registered, booths=ctx.booths, capacity=info.capacity,
        ballot=frozenset(ctx.candidates),
    )  # fmt: skip
    details = {f.name: {"expected": f.expected, "found": f.found} for f in failures}
    return tuple(f.name for f in failures), details


def result_sheet(
    job: Job, ctx: places.StationContext, *, form: str, submitter_key: str, label: str = ""
) -> ResultSheet:
    """The sheet row of a record with the sheet fields (kind, constituency, votes, totals)."""
    rec = job.record
    return ResultSheet(
        kind=rec.kind,
        form=form,
        constituency=ConstituencyCode(rec.constituency),
        votes={CandidateKey(int(k)): v for k, v in rec.votes.items()},
        totals=Totals(**{name: getattr(rec.totals, name) for name in TOTAL_FIELDS}),
        provenance=Provenance(
            source=SOURCE,
            channel=job.channel,
            role=Role(rec.role.value),
            organisation=job.principal.organisation,
            submitter_key=submitter_key,
            received_at=job.received_at,
            captured_at=rec.captured_at or job.received_at,
            evidence_sha256=(rec.photo_sha256,) if rec.photo_sha256 else (),
        ),
        station=None if ctx.station_number is None else StationNumber(ctx.station_number),
        station_serial=ctx.station_serial,
        label=label,
    )


def _check_supersedes(sub: SheetSubmission, principal: Principal, owners: Mapping[int, str]) -> None:
    """A correction points at an earlier sheet of the same submitter (an admin may correct any)."""
    if sub.supersedes is None:
        return
    owner = owners.get(sub.supersedes)
    if owner is None or (owner != principal.key_id and principal.role is not AuthRole.ADMIN):
        raise InputError(
            "supersedes must name the leaf of one of your earlier sheets",
            where="supersedes",
            expected="the leaf_index of a sheet you submitted",
            found=str(sub.supersedes),
        )


def prefetch_places(batch: Batch, records: Sequence[Any]) -> None:
    """Resolve the places of records with sheet fields (election, constituency, station) at once."""
    missing: dict[int, set[tuple[str, int | None]]] = {}
    for rec in records:
        try:
            election_id = batch.election(rec.election).id
        except Error:
            continue  # reported when the record itself is drafted
        place = (rec.constituency, None if rec.station is None else int(rec.station))
        hit = batch.cache.contexts.get((election_id, *place))
        if hit is None or batch.now - hit[0] >= CONTEXT_TTL:
            missing.setdefault(election_id, set()).add(place)
    for election_id, wanted in missing.items():
        ballots = _constituencies(batch, election_id, {code for code, _ in wanted})
        for place, ctx in places.list_station_contexts(batch.conn, election_id, wanted, ballots).items():
            batch.cache.contexts[(election_id, *place)] = (batch.now, ctx)


def _constituencies(batch: Batch, election_id: int, codes: set[str]) -> dict[str, places.ConstituencyContext]:
    """Constituencies and their ballots, from the cache while fresh (they barely change on the night)."""
    out: dict[str, places.ConstituencyContext] = {}
    for code in codes:
        hit = batch.cache.constituencies.get((election_id, code))
        if hit is not None and batch.now - hit[0] < CONTEXT_TTL:
            out[code] = hit[1]
    for code, found in places.list_constituency_contexts(batch.conn, election_id, codes - set(out)).items():
        batch.cache.constituencies[(election_id, code)] = (batch.now, found)
        out[code] = found
    return out


def resolve_place(batch: Batch, election_id: int, rec: Any) -> places.StationContext:
    """The constituency and station a record with sheet fields reports on, and its ballot; or an
    InputError naming the field (station, constituency, votes.<position>)."""
    problems = ProblemList()
    level = rec.kind.level.value
    if level == "station" and rec.station is None:
        problems.add("a station-level sheet needs its station", where="station", expected="a station serial")
    # A consolidated statement may be sent row by row (Pakistan's Form-48 lists every station).
    if level == "constituency" and rec.station is not None and rec.kind is not SheetKind.CONSOLIDATED:
        problems.add("a constituency-level sheet has no station", where="station", found=rec.station)
    problems.raise_if_any("the sheet does not say where it is from; nothing was written")
    serial = None if rec.station is None else int(rec.station)
    hit = batch.cache.contexts.get((election_id, rec.constituency, serial))
    if hit is not None and batch.now - hit[0] < CONTEXT_TTL:
        ctx = hit[1]
    else:
        ctx = _look_up(batch, election_id, rec)
    unknown = sorted(int(k) for k in rec.votes if CandidateKey(int(k)) not in ctx.candidates)
    for position in unknown:
        problems.add(
            "unknown candidate", where=f"votes.{position}", expected="a ballot position on this ballot",
            found=str(position),
        )  # fmt: skip
    problems.raise_if_any("the sheet names candidates that are not on the ballot; nothing was written")
    assert isinstance(ctx, places.StationContext)
    return ctx


def _look_up(batch: Batch, election_id: int, rec: Any) -> places.StationContext:
    serial = None if rec.station is None else int(rec.station)
    found = places.get_station_context(
        batch.conn, election_id=election_id, constituency=rec.constituency, station_serial=serial,
        station_number=None,
    )  # fmt: skip
    if found is None:
        what = "station" if rec.station is not None else "constituency"
        if rec.station is not None and not _constituency_known(batch.conn, election_id, rec.constituency):
            what = "constituency"
        raise InputError(
            f"unknown {what}; nothing was written",
            where=what,
            expected=f"a {what} of election {rec.election}",
            found=rec.constituency + ("" if rec.station is None else f" station {rec.station}"),
        )
    batch.cache.contexts[(election_id, rec.constituency, serial)] = (batch.now, found)
    return found


def _constituency_known(conn: Connection, election_id: int, code: str) -> bool:
    found = places.get_station_context(
        conn, election_id=election_id, constituency=code, station_serial=None, station_number=None
    )
    return found is not None
