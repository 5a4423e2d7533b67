"""Helpers the importers share: provenance of imported sheets, name matching, findings."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from pollwatch.model import Candidate, CandidateKey, Channel, ConstituencyCode, Provenance, Role
from pollwatch.storage.findings import Finding


def official_provenance(source: str, organisation: str) -> Provenance:
    return Provenance(source=source, channel=Channel.IMPORT, role=Role.OFFICIAL, organisation=organisation)


def name_key(name: str) -> str:
    """Compare names the way a reader would: case, accents, punctuation and spacing ignored."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def ballot_order(
    constituency: ConstituencyCode, entries: Iterable[tuple[str, str, int, int]]
) -> dict[int, CandidateKey]:
    """Assign ballot positions 1..n by (name, party, votes descending, source row): the documented rule.

    ``entries`` are (name, party label, votes or -1, source row) and the result maps the source row to
    its position. The sources carry no ballot order; alphabetical order by name is what the ECP's
    Form-33 lists use, and the tie-breakers make the rule total and stable.
    """
    ordered = sorted(entries, key=lambda e: (name_key(e[0]), e[0], e[1], -e[2], e[3]))
    return {row: CandidateKey(i) for i, (_, _, _, row) in enumerate(ordered, start=1)}


def finding(
    kind: str,
    location: str,
    message: str,
    *,
    severity: str = "warning",
    expected: object = "",
    found: object = "",
    source: str,
) -> Finding:
    return Finding(
        kind=kind,
        severity=severity,
        location=location,
        message=message,
        expected=str(expected),
        found=str(found),
        source=source,
    )


def candidates_by_party(
    candidates: Iterable[Candidate],
) -> dict[tuple[ConstituencyCode, str | None], list[Candidate]]:
    out: dict[tuple[ConstituencyCode, str | None], list[Candidate]] = {}
    for c in candidates:
        out.setdefault((c.constituency, c.party), []).append(c)
    return out
