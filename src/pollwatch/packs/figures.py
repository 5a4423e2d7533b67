"""The figures of a pack, recomputed from its log leaves alone: the exporter and the verifier share this.

Steps (anyone can redo them by hand from the leaves in the pack):

1. Every ``sheet``/``official`` leaf becomes a result sheet (:func:`pollwatch.tally.leaves.sheet_from_leaf`).
2. Each station's copies are reconciled by the one rule (:func:`pollwatch.tally.reconcile.reconcile_station`);
   its *signed* figure is the best independent version, its *official* figure the latest official row
   (Form-48) or, failing that, the latest official Form-45 upload.
3. The *declared* result is the latest constituency-level official sheet (Form-47/48/49, in log order).
4. Discrepancies: a station whose official figure differs from its signed one (``official - signed``); a
   station with a signed count that the official station-wise statement leaves out (``-signed``); and what
   the declared total holds beyond the stations (``declared - sum of official rows``, or ``declared - sum
   of signed figures`` when no station-wise statement exists).
5. Effect on the margin of each: ``d[winner] - d[runner-up]`` of the declared result (how much it widened
   the declared winner's lead); ranked by size; *together* they could change the winner when the declared
   result less every discrepancy elects someone else.

References
----------
.. [1] EA 2017 s.92, s.95; ER r.84: Form-47 is the sum of the Form-45s (no postal ballots); Form-48 lists
   every station; Form-49 is the final result (PAKISTAN.md A1, A9).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pollwatch.ledger.records import LeafRecord
from pollwatch.model import ResultSheet, Role, SheetKind
from pollwatch.tally.leaves import sheet_from_leaf
from pollwatch.tally.reconcile import reconcile_station

Votes = dict[str, int]


@dataclass(frozen=True)
class StationRef:
    """A station of the polling scheme: serial (the key) and printed number."""

    serial: int | None
    number: str

    @property
    def folder(self) -> str:
        """The station's folder name in a pack."""
        ident = str(self.serial) if self.serial is not None else "n" + _safe(self.number)
        return f"stations/{ident}"


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)[:40] or "_"


def compute_figures(
    constituency: str, leaves: Iterable[tuple[int, LeafRecord]], stations: Sequence[StationRef]
) -> dict[str, Any]:
    """Every figure a pack states about ``constituency``, from its leaves (steps 1-5 of the module)."""
    leaves = list(leaves)
    sheets = [
        s
        for index, record in leaves
        if (s := sheet_from_leaf(index, record.type, record.body)) is not None
        and s.constituency == constituency
    ]
    groups, refs = _group_stations(sheets, stations)
    declared_sheets = sorted(
        (s for s in sheets if s.station is None and s.station_serial is None and _is_official(s)),
        key=_leaf,
    )
    rows = [_station_row(refs[key], groups[key], constituency) for key in refs]
    statement = any(r["official"] is not None and r["official"]["form_kind"] == "consolidated" for r in rows)
    snapshots = [_snapshot(s) for s in declared_sheets]
    declared = snapshots[-1] if snapshots else None
    signed_sum = _sum(r["signed"]["votes"] for r in rows if r["signed"] is not None)
    discrepancies = _station_discrepancies(rows, statement=statement)
    if declared is not None:
        base = (
            _sum(r["official"]["votes"] for r in rows if r["official"] is not None and r["in_statement"])
            if statement
            else signed_sum
        )
        residual = _minus(declared["votes"], base)
        if any(residual.values()):
            discrepancies.append(
                {
                    "kind": "declared_total_beyond_stations" if statement else "declared_total_differs",
                    "station": None,
                    "serial": None,
                    "form": declared["form"],
                    "difference": residual,
                }
            )
    return {
        "constituency": constituency,
        "stations": rows,
        "statement": statement,
        "snapshots": snapshots,
        "declared": declared,
        "signed_sum": signed_sum,
        "signed_stations": sum(r["signed"] is not None for r in rows),
        "margin": _margin(declared, discrepancies),
        "discrepancies": _ranked(declared, discrepancies),
        "observation": _observation(constituency, leaves),
    }


def _observation(
    constituency: str, leaves: Iterable[tuple[int, LeafRecord]]
) -> dict[str, list[dict[str, Any]]]:
    """The observers' checklists (with the QC rules each broke) and incidents about this constituency."""
    checklists, incidents = [], []
    for index, record in leaves:
        b = record.body
        if b.get("constituency") != constituency:
            continue
        if record.type == "checklist":
            checklists.append({
                "leaf": index, "form": b.get("form"), "version": b.get("version"), "phase": b.get("phase"),
                "station": b.get("station"), "organisation": b.get("organisation"),
                "submitter_key": b.get("submitter_key"), "answers": b.get("answers"),
                "qc_failures": [c.removeprefix("qc:") for c in b.get("checks") or [] if c.startswith("qc:")],
            })  # fmt: skip
        elif record.type == "incident":
            incidents.append({
                "leaf": index, "category": b.get("category"), "severity": b.get("severity"),
                "occurred_at": b.get("occurred_at"), "station": b.get("station"),
                "organisation": b.get("organisation"), "description": b.get("description"),
            })  # fmt: skip
    return {"checklists": checklists, "incidents": incidents}


def _is_official(sheet: ResultSheet) -> bool:
    return sheet.provenance.role in (Role.OFFICIAL, Role.IMPORT)


def _leaf(sheet: ResultSheet) -> int:
    value = sheet.extra.get("leaf_index")
    return value if isinstance(value, int) else -1


def _group_stations(
    sheets: Sequence[ResultSheet], stations: Sequence[StationRef]
) -> tuple[dict[object, list[ResultSheet]], dict[object, StationRef]]:
    """Station sheets grouped by serial (else printed number), the scheme's stations first."""
    refs: dict[object, StationRef] = {}
    for st in stations:
        refs[st.serial if st.serial is not None else st.number] = st
    counted: dict[str, int] = {}
    for st in refs.values():
        counted[st.number] = counted.get(st.number, 0) + 1
    # A sheet naming its station by printed number alone is matched only where that number is unique.
    by_number = {st.number: key for key, st in refs.items() if counted[st.number] == 1}
    groups: dict[object, list[ResultSheet]] = {key: [] for key in refs}
    for s in sheets:
        if s.station is None and s.station_serial is None:
            continue
        key: object = s.station_serial if s.station_serial is not None else s.station
        if key not in refs and s.station_serial is None and str(s.station) in by_number:
            key = by_number[str(s.station)]
        if key not in refs:
            refs[key] = StationRef(s.station_serial, str(s.station or s.station_serial))
            groups[key] = []
        groups[key].append(s)
    return groups, refs


def _station_row(ref: StationRef, sheets: list[ResultSheet], constituency: str) -> dict[str, Any]:
    counts = [s for s in sheets if s.kind is SheetKind.STATION_COUNT]
    r = reconcile_station(counts, constituency=constituency, serial=ref.serial, number=ref.number)
    best = r.best if r.best is not None and r.best.attesters else None
    official = sorted((s for s in sheets if _is_official(s)), key=_leaf)
    rows = [s for s in official if s.kind is SheetKind.CONSOLIDATED]
    uploads = [s for s in official if s.kind is SheetKind.STATION_COUNT]
    chosen = (rows or uploads)[-1] if (rows or uploads) else None
    return {
        "serial": ref.serial,
        "number": ref.number,
        "folder": ref.folder,
        "state": r.state.value,
        "reason": r.reason,
        "records": sorted(_leaf(s) for s in sheets),
        "signed": _figure(best.sheet, attesters=len(best.attesters)) if best is not None else None,
        "official": _figure(chosen) if chosen is not None else None,
        "official_history": [_figure(s) for s in official],
        "in_statement": bool(rows),
        "conflicts": [c.field for c in r.conflicts],
    }


def _figure(sheet: ResultSheet, *, attesters: int | None = None) -> dict[str, Any]:
    t = sheet.totals
    out: dict[str, Any] = {
        "leaf": _leaf(sheet),
        "form": sheet.form,
        "form_kind": sheet.kind.value,
        "label": sheet.label,
        "votes": {str(k): int(v) for k, v in sorted(sheet.votes.items())},
        "valid": t.valid,
        "rejected": t.rejected,
        "polled": t.polled,
        "votes_female": t.votes_female,
        "received_at": sheet.provenance.received_at.isoformat() if sheet.provenance.received_at else None,
    }
    if attesters is not None:
        out["attesters"] = attesters
    return out


def _snapshot(sheet: ResultSheet) -> dict[str, Any]:
    return _figure(sheet)


def _sum(vectors: Iterable[Mapping[str, int]]) -> Votes:
    out: Votes = {}
    for v in vectors:
        for k, n in v.items():
            out[k] = out.get(k, 0) + int(n)
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


def _minus(a: Mapping[str, int], b: Mapping[str, int]) -> Votes:
    keys = sorted(set(a) | set(b), key=int)
    return {k: int(a.get(k, 0)) - int(b.get(k, 0)) for k in keys}


def _station_discrepancies(rows: Sequence[Mapping[str, Any]], *, statement: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for r in rows:
        signed, official = r["signed"], r["official"]
        if signed is None:
            continue
        if statement and not r["in_statement"]:
            diff = {k: -v for k, v in signed["votes"].items()}
            kind, form = "station_missing_from_official", "Form-48"
        elif official is not None and official["votes"] != signed["votes"]:
            diff = _minus(official["votes"], signed["votes"])
            kind, form = "official_station_differs", official["form"]
        else:
            continue
        if any(diff.values()):
            where = {"station": r["number"], "serial": r["serial"]}
            out.append({"kind": kind, **where, "form": form, "difference": diff})
    return out


def _order(votes: Mapping[str, int]) -> list[str]:
    return sorted(votes, key=lambda k: (-int(votes[k]), int(k)))


def _margin(declared: Mapping[str, Any] | None, discrepancies: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if declared is None or len(declared["votes"]) < 2:
        return {"winner": None, "runner_up": None, "margin": None}
    votes = declared["votes"]
    first, second = _order(votes)[:2]
    corrected = dict(votes)
    for d in discrepancies:
        corrected = _minus(corrected, d["difference"])
    new_order = _order(corrected)
    return {
        "winner": first,
        "runner_up": second,
        "margin": int(votes[first]) - int(votes[second]),
        "without_discrepancies": corrected,
        "winner_without_discrepancies": new_order[0],
        "could_change_winner": new_order[0] != first and corrected[new_order[0]] != corrected.get(first, 0),
    }


def _ranked(declared: Mapping[str, Any] | None, discrepancies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if declared is None or len(declared["votes"]) < 2:
        return discrepancies
    first, second = _order(declared["votes"])[:2]
    for d in discrepancies:
        diff = d["difference"]
        d["effect_on_margin"] = int(diff.get(first, 0)) - int(diff.get(second, 0))
    return sorted(discrepancies, key=lambda d: (-abs(d["effect_on_margin"]), str(d["station"] or "")))
