"""Who won each contest on the final result sheets, and seats per party."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from pollwatch.errors import InputError, NotFoundError
from pollwatch.model import SheetKind
from pollwatch.storage import datasets as stored
from pollwatch.storage import structure

INDEPENDENT = "Independent"


@dataclass(frozen=True)
class Winner:
    """The top candidate of one contest's final sheet; ``tied`` when two share the top count."""

    constituency: str
    name: str
    candidate: str
    party: str
    votes: int
    runner_up_votes: int
    valid_candidate_votes: int
    label: str
    tied: bool = False

    @property
    def margin(self) -> int:
        return self.votes - self.runner_up_votes


@dataclass(frozen=True)
class Seats:
    """The winners and the seat count per party (independents counted as ``Independent``)."""

    election: str
    assembly: str
    label: str
    winners: list[Winner]
    by_party: dict[str, int]


def list_winners(conn: Connection, election: str, *, assembly: str, label: str | None = None) -> Seats:
    """Winner of every contest with a FINAL sheet; one label must apply to each constituency."""
    election_id, _ = structure.get_election(conn, election)
    labels = stored.list_labels(conn, election_id, kind=SheetKind.FINAL.value)
    if not labels:
        raise NotFoundError(
            f"election {election} has no final result sheets",
            expected="FINAL sheets (Form-49 or equivalent)",
            found="none",
            remedy="import a dataset with final results, e.g. `pollwatch import pakistan-2018-constituency`",
        )
    if label is None and len(labels) > 1:
        raise InputError(
            f"election {election} has final sheets under several labels",
            expected="--label with one of: " + ", ".join(f"{name!r} ({n})" for name, n in labels),
            found="no --label",
        )
    if label is not None and label not in {name for name, _ in labels}:
        raise InputError(
            f"no final sheets labelled {label!r}",
            expected="one of: " + ", ".join(repr(name) for name, _ in labels),
            found=label,
        )
    chosen = label if label is not None else labels[0][0]
    rows = stored.list_result_rows(
        conn, election_id, kind=SheetKind.FINAL.value, assembly=assembly, label=chosen
    )
    winners = _winners(rows)
    by_party: dict[str, int] = {}
    for w in winners:
        if not w.tied:
            by_party[w.party] = by_party.get(w.party, 0) + 1
    ordered = dict(sorted(by_party.items(), key=lambda item: (-item[1], item[0])))
    return Seats(election=election, assembly=assembly, label=chosen, winners=winners, by_party=ordered)


def _winners(rows: list[stored.ResultRow]) -> list[Winner]:
    by_sheet: dict[int, list[stored.ResultRow]] = {}
    for r in rows:
        by_sheet.setdefault(r.sheet_id, []).append(r)
    seen: set[str] = set()
    out = []
    for sheet_rows in by_sheet.values():
        code = sheet_rows[0].constituency
        if code in seen:
            raise InputError(
                f"{code} has more than one final sheet under one label",
                expected="one final sheet per constituency and label",
                found=f"another sheet for {code}",
            )
        seen.add(code)
        ranked = sorted(sheet_rows, key=lambda r: (-r.votes, r.ballot_order))
        top, second = ranked[0], ranked[1] if len(ranked) > 1 else None
        out.append(
            Winner(
                constituency=code,
                name=top.constituency_name,
                candidate=top.candidate,
                party=top.party or INDEPENDENT,
                votes=top.votes,
                runner_up_votes=second.votes if second else 0,
                valid_candidate_votes=sum(r.votes for r in sheet_rows),
                label=top.label,
                tied=second is not None and second.votes == top.votes,
            )
        )
    return sorted(out, key=lambda w: _code_order(w.constituency))


def _code_order(code: str) -> tuple[str, int, str]:
    """NA-2 before NA-10."""
    prefix, _, number = code.rpartition("-")
    return (prefix, int(number), "") if number.isdigit() else (code, 0, code)
