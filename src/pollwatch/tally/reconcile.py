"""Reconciliation of every copy of a station's sheet into one explained best current figure.

The rule, step by step (anyone can re-apply it by hand):

1. Copies are grouped into *versions* by content: the vote of every ballot position plus the totals
   boxes ``valid``, ``rejected``, ``polled``, ``votes_male``, ``votes_female`` (an empty box is a value).
2. An *attester* is the organisation that sent a copy (else its submitter key, else its source).
   Official copies (role ``official``) are kept apart: the audit compares them with the rest.
3. State: ``missing`` (no copy), ``conflict`` (two or more versions), ``official_only`` (only
   official copies, one version), ``agreed`` (one version from two or more independent attesters),
   ``single_source`` (one version from one independent attester).
4. Best figure: the non-official version with the most attesters; a tie goes to the version an
   official copy matches, then to the earliest received; with no non-official copy, the earliest
   official version. Every version stays in the result: a later copy never replaces an earlier one
   silently, it becomes a conflict.

Before step 1, corrections are applied: a copy whose log leaf is superseded (``supersedes``) by a later
leaf of the *same* submitter key is withdrawn, so a submitter's own typo never competes with its
correction. A correction sent by anyone else withdraws nothing: it is one more copy, and a disagreement
stays a conflict. Copies carry their leaf index and ``supersedes`` in ``extra`` (see
:mod:`pollwatch.tally.leaves`); copies without a leaf index are never withdrawn.

References
----------
.. [1] pollwatch MISSION.md capability 4 ("every copy of each station's sheet reconciled").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pollwatch.model import ResultSheet, Role, SheetKind, Station
from pollwatch.tally.ballot import Ballots

_TOTALS = ("valid", "rejected", "polled", "votes_male", "votes_female")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class CopyState(StrEnum):
    SINGLE_SOURCE = "single_source"
    AGREED = "agreed"
    CONFLICT = "conflict"
    OFFICIAL_ONLY = "official_only"
    MISSING = "missing"


@dataclass(frozen=True)
class Version:
    """One distinct content of a station's sheet and everyone who reported it."""

    sheet: ResultSheet
    """The earliest copy with this content (its figures are the version's figures)."""
    attesters: tuple[str, ...]
    """Distinct non-official attesters (organisation, else key, else source)."""
    official: bool
    copies: int
    first_received: dt.datetime | None
    official_received: dt.datetime | None = None
    """When the first official copy with this content arrived (None: none, or time unknown)."""


@dataclass(frozen=True)
class FieldConflict:
    """One box on which versions differ, each value with who reported it."""

    field: str
    values: tuple[tuple[int | None, tuple[str, ...]], ...]


@dataclass(frozen=True)
class StationReconciliation:
    constituency: str
    serial: int | None
    number: str | None
    state: CopyState
    best: Version | None
    versions: tuple[Version, ...]
    conflicts: tuple[FieldConflict, ...]
    reason: str
    """Which step of the rule chose the best figure."""

    def as_dict(self, *, ballots: Ballots | None = None) -> dict[str, object]:
        """The reconciliation as JSON; ``candidates`` names the best figure's candidates and parties."""
        best = self.best.sheet if self.best else None
        names = ballots or Ballots()
        return {
            "constituency": self.constituency,
            "serial": self.serial,
            "number": self.number,
            "state": self.state.value,
            "reason": self.reason,
            "best_votes": {str(k): v for k, v in best.votes.items()} if best else None,
            "candidates": names.with_votes(self.constituency, {int(k): v for k, v in best.votes.items()})
            if best
            else None,
            "versions": len(self.versions),
            "copies": sum(v.copies for v in self.versions),
            "conflicts": [self._conflict(c, names) for c in self.conflicts],
        }

    def _conflict(self, c: FieldConflict, names: Ballots) -> dict[str, object]:
        out: dict[str, object] = {"field": c.field}
        if c.field.startswith("votes["):
            out["candidate"] = names.entry(self.constituency, int(c.field[6:-1])).as_dict()
        out["values"] = [{"value": v, "attesters": list(a)} for v, a in c.values]
        return out


def attester(sheet: ResultSheet) -> str:
    """Who vouches for a copy: organisation, else pseudonymous key, else source."""
    p = sheet.provenance
    label = "official" if p.role is Role.OFFICIAL else p.role.value
    return f"{label}:{p.organisation or p.submitter_key or p.source}"


def reconcile_station(
    copies: Sequence[ResultSheet], *, constituency: str, serial: int | None, number: str | None = None
) -> StationReconciliation:
    """Reconcile every copy of one station's count sheet (steps 1-4 of the module's rule)."""
    return settle_station(
        station_versions(effective_copies(copies)), constituency=constituency, serial=serial, number=number
    )


def settle_station(
    versions: Sequence[Version], *, constituency: str, serial: int | None, number: str | None = None
) -> StationReconciliation:
    """Steps 3-4 of the rule over a station's versions (:func:`station_versions`): its state, best
    figure and conflicts. The projections keep each station's versions, so a reader settles them again
    without re-reading every copy, by this same function."""
    versions = list(versions)
    if not versions:
        return StationReconciliation(constituency, serial, number, CopyState.MISSING, None, (), (), "no copy")
    independent = [v for v in versions if v.attesters]
    if len(versions) > 1:
        state = CopyState.CONFLICT
    elif not independent:
        state = CopyState.OFFICIAL_ONLY
    else:
        state = CopyState.AGREED if len(independent[0].attesters) > 1 else CopyState.SINGLE_SOURCE
    best, reason = _best(versions, independent)
    return StationReconciliation(
        constituency, serial, number, state, best, tuple(versions), _conflicts(versions), reason
    )


def effective_copies(copies: Sequence[ResultSheet]) -> list[ResultSheet]:
    """The copies left once each submitter's own corrections withdraw what they supersede."""
    by_leaf = {i: c for c in copies if (i := leaf_index(c)) is not None}
    withdrawn: set[int] = set()
    for copy in copies:
        target, index = copy.extra.get("supersedes"), leaf_index(copy)
        if not isinstance(target, int) or index is None or target >= index:
            continue
        earlier = by_leaf.get(target)
        if earlier is not None and earlier.provenance.submitter_key == copy.provenance.submitter_key:
            withdrawn.add(target)
    if not withdrawn:
        return list(copies)
    return [c for c in copies if leaf_index(c) not in withdrawn]


def leaf_index(sheet: ResultSheet) -> int | None:
    """The log index of a copy made from a leaf (None for copies read from a dataset)."""
    value = sheet.extra.get("leaf_index")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def reconcile(sheets: Iterable[ResultSheet], stations: Iterable[Station] = ()) -> list[StationReconciliation]:
    """Reconcile station-count sheets per station; stations without any copy come out ``missing``."""
    groups: dict[tuple[str, object], list[ResultSheet]] = {}
    numbers: dict[tuple[str, object], str | None] = {}
    for s in sheets:
        if s.kind is not SheetKind.STATION_COUNT:
            continue
        key = (s.constituency, s.station_serial if s.station_serial is not None else s.station)
        groups.setdefault(key, []).append(s)
        numbers[key] = s.station
    for st in stations:
        key = (st.constituency, st.serial)
        groups.setdefault(key, [])
        numbers.setdefault(key, st.number)
    out = []
    for (code, ident), copies in groups.items():
        serial = ident if isinstance(ident, int) else None
        out.append(
            reconcile_station(copies, constituency=code, serial=serial, number=numbers.get((code, ident)))
        )
    return out


def _content(sheet: ResultSheet) -> tuple[object, ...]:
    return (tuple(sorted(sheet.votes.items())), *(getattr(sheet.totals, f) for f in _TOTALS))


def _received(sheet: ResultSheet) -> dt.datetime:
    return sheet.provenance.received_at or _EPOCH


def station_versions(copies: Sequence[ResultSheet]) -> list[Version]:
    """Steps 1-2 of the rule over a station's effective copies: its versions, earliest received first."""
    grouped: dict[tuple[object, ...], list[ResultSheet]] = {}
    for sheet in sorted(copies, key=_received):
        grouped.setdefault(_content(sheet), []).append(sheet)
    out = []
    for group in grouped.values():
        independent = sorted({attester(s) for s in group if s.provenance.role is not Role.OFFICIAL})
        official = [s for s in group if s.provenance.role is Role.OFFICIAL]
        out.append(
            Version(
                sheet=group[0],
                attesters=tuple(independent),
                official=bool(official),
                copies=len(group),
                first_received=group[0].provenance.received_at,
                official_received=official[0].provenance.received_at if official else None,
            )
        )
    return out


@dataclass(frozen=True)
class StationCopies:
    """A station's copies in log order and their versions (:func:`station_versions` of
    :func:`effective_copies`), kept as copies are added: what the projector applies one copy at a time.

    A copy received no earlier than every copy before it that corrects none joins its version, or opens
    a new last one, without going over the other copies again (a correction only withdraws earlier
    copies, so it never withdraws a later one); a correction, or a copy received out of order, has the
    versions worked out from every copy again. The versions are always exactly the batch's.
    """

    sheets: tuple[ResultSheet, ...]
    versions: tuple[Version, ...]
    _where: dict[tuple[object, ...], int]
    _latest: dt.datetime

    @classmethod
    def of(cls, sheets: Sequence[ResultSheet]) -> StationCopies:
        """Every copy at once (in log order)."""
        versions = tuple(station_versions(effective_copies(sheets)))
        return cls(
            tuple(sheets),
            versions,
            {_content(v.sheet): n for n, v in enumerate(versions)},
            max((_received(s) for s in sheets), default=_EPOCH),
        )

    def extended(self, sheets: Sequence[ResultSheet]) -> StationCopies:
        """These copies and the later ``sheets`` (in log order); this one is left as it was."""
        out = self
        for sheet in sheets:
            out = out._added(sheet)
        return out

    def _added(self, sheet: ResultSheet) -> StationCopies:
        received = _received(sheet)
        if _corrects(sheet) or received < self._latest:
            return StationCopies.of((*self.sheets, sheet))
        versions, where = list(self.versions), dict(self._where)
        content = _content(sheet)
        official = sheet.provenance.role is Role.OFFICIAL
        n = where.get(content)
        if n is None:
            where[content] = len(versions)
            versions.append(
                Version(
                    sheet=sheet,
                    attesters=() if official else (attester(sheet),),
                    official=official,
                    copies=1,
                    first_received=sheet.provenance.received_at,
                    official_received=sheet.provenance.received_at if official else None,
                )
            )
        else:
            v = versions[n]
            attesters = v.attesters if official else tuple(sorted({*v.attesters, attester(sheet)}))
            versions[n] = Version(
                sheet=v.sheet,
                attesters=attesters,
                official=v.official or official,
                copies=v.copies + 1,
                first_received=v.first_received,
                official_received=v.official_received
                if v.official or not official
                else sheet.provenance.received_at,
            )
        return StationCopies((*self.sheets, sheet), tuple(versions), where, received)


def _corrects(sheet: ResultSheet) -> bool:
    """Whether a copy names a copy it supersedes (only then can :func:`effective_copies` withdraw one)."""
    return isinstance(sheet.extra.get("supersedes"), int)


def _best(versions: list[Version], independent: list[Version]) -> tuple[Version, str]:
    if not independent:
        return versions[0], "only official copies: the earliest official version"
    most = max(len(v.attesters) for v in independent)
    top = [v for v in independent if len(v.attesters) == most]
    if len(top) == 1:
        return top[0], f"most independent attesters ({most})"
    matched = [v for v in top if v.official]
    if len(matched) == 1:
        return matched[0], f"tie at {most} attesters; the version an official copy matches"
    return top[0], f"tie at {most} attesters; the earliest received"


def _conflicts(versions: list[Version]) -> tuple[FieldConflict, ...]:
    if len(versions) < 2:
        return ()
    keys = sorted({k for v in versions for k in v.sheet.votes})
    fields: list[tuple[str, list[int | None]]] = [
        (f"votes[{k}]", [v.sheet.votes.get(k) for v in versions]) for k in keys
    ]
    fields += [(name, [getattr(v.sheet.totals, name) for v in versions]) for name in _TOTALS]
    out = []
    for name, values in fields:
        if len(set(values)) < 2:
            continue
        by_value: dict[int | None, list[str]] = {}
        for value, version in zip(values, versions, strict=True):
            who = list(version.attesters) + (["official"] if version.official else [])
            by_value.setdefault(value, []).extend(who)
        out.append(FieldConflict(name, tuple((v, tuple(sorted(set(a)))) for v, a in by_value.items())))
    return tuple(out)
