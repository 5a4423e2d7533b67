"""The parsed form of a dataset: everything an import would write, validated, nothing written yet."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pollwatch.model import Candidate, Constituency, Election, Party, ResultSheet, Station
from pollwatch.storage.findings import Finding


@dataclass(frozen=True)
class Dataset:
    """Parsed, validated, nothing written."""

    name: str
    election: Election
    parties: list[Party] = field(default_factory=list)
    constituencies: list[Constituency] = field(default_factory=list)
    stations: list[Station] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    sheets: list[ResultSheet] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        """How many of each thing the dataset holds (what an import reports and records)."""
        return {
            "parties": len(self.parties),
            "constituencies": len(self.constituencies),
            "stations": len(self.stations),
            "candidates": len(self.candidates),
            "sheets": len(self.sheets),
            "votes": sum(len(s.votes) for s in self.sheets),
            "findings": len(self.findings),
        }

    def findings_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings:
            out[f.kind] = out.get(f.kind, 0) + 1
        return dict(sorted(out.items()))


def merge(name: str, parts: list[Dataset]) -> Dataset:
    """Concatenate datasets of one election (a group), keeping the first of each party and constituency."""
    first = parts[0]
    parties = {p.code: p for part in reversed(parts) for p in part.parties}
    seen: dict[str, Constituency] = {}
    for part in parts:
        for c in part.constituencies:
            seen.setdefault(c.code, c)
    return Dataset(
        name=name,
        election=first.election,
        parties=sorted(parties.values(), key=lambda p: p.code),
        constituencies=list(seen.values()),
        stations=[s for part in parts for s in part.stations],
        candidates=[c for part in parts for c in part.candidates],
        sheets=[s for part in parts for s in part.sheets],
        findings=[f for part in parts for f in part.findings],
    )
