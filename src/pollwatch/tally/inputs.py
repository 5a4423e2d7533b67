"""Everything the tally and the audit read, from a parsed dataset or from the store, in one shape."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pollwatch.errors import NotFoundError
from pollwatch.model import (
    Candidate,
    Constituency,
    Election,
    Party,
    ResultSheet,
    Role,
    SheetKind,
    SheetLevel,
    Station,
)
from pollwatch.rules.base import Contest
from pollwatch.tally.ballot import Ballots
from pollwatch.tally.live import Universe
from pollwatch.tally.reconcile import StationReconciliation


@dataclass(frozen=True)
class ResultsInput:
    """An election's structure and every sheet reported for it."""

    election: Election
    constituencies: Sequence[Constituency]
    stations: Sequence[Station]
    candidates: Sequence[Candidate]
    parties: Sequence[Party]
    sheets: Sequence[ResultSheet]
    reconciled: Sequence[Settled] | None = None
    """The stations already reconciled (read from the projections) when given; ``sheets`` then holds no
    station count, and a station of the polling scheme missing here has no copy."""

    @classmethod
    def of(cls, dataset: Any) -> ResultsInput:
        """From any object with the fields of :class:`pollwatch.datasets.Dataset`."""
        return cls(
            election=dataset.election,
            constituencies=list(dataset.constituencies),
            stations=list(dataset.stations),
            candidates=list(dataset.candidates),
            parties=list(dataset.parties),
            sheets=list(dataset.sheets),
        )

    def only(self, assembly: str | None, *, constituency: str | None = None) -> ResultsInput:
        """The part of the election for one assembly and/or one constituency (``None``: all)."""
        if assembly is None and constituency is None:
            return self
        codes = {
            c.code
            for c in self.constituencies
            if assembly in (None, c.assembly) and constituency in (None, c.code)
        }
        if constituency is not None and not codes:
            raise NotFoundError(
                "no such constituency in this election",
                where=self.election.slug,
                expected="a constituency code of this election"
                + (f" in assembly {assembly}" if assembly else ""),
                found=constituency,
            )
        return ResultsInput(
            election=self.election,
            constituencies=[c for c in self.constituencies if c.code in codes],
            stations=[s for s in self.stations if s.constituency in codes],
            candidates=[c for c in self.candidates if c.constituency in codes],
            parties=self.parties,
            sheets=[s for s in self.sheets if s.constituency in codes],
            reconciled=None
            if self.reconciled is None
            else [r for r in self.reconciled if r.station.constituency in codes],
        )

    def official_labels(self) -> list[tuple[SheetKind, str]]:
        """Official constituency-level snapshots present, in results-chain order."""
        order = list(SheetKind)
        seen = {
            (s.kind, s.label)
            for s in self.sheets
            if s.kind.level is SheetLevel.CONSTITUENCY
            and s.provenance.role in (Role.OFFICIAL, Role.IMPORT)
            and not _names_station(s)
        }
        return sorted(seen, key=lambda kl: (order.index(kl[0]), kl[1]))

    def contests(self, kind: SheetKind, label: str | None = None) -> list[Contest]:
        """Declared contests of one snapshot (the last sheet per constituency wins if repeated)."""
        by_code = {c.code: c for c in self.constituencies}
        out: dict[str, Contest] = {}
        for s in self.sheets:
            if s.kind is not kind or _names_station(s) or (label is not None and s.label != label):
                continue
            c = by_code.get(s.constituency)
            contest = Contest.of(
                s,
                assembly=c.assembly if c else "",
                region=c.region if c else "",
                registered_female=c.registered.female if c else None,
            )
            if contest.registered is None and c is not None:
                contest = _with_registered(contest, c.registered.total)
            out[s.constituency] = contest
        return list(out.values())

    def universe(self) -> tuple[Universe, dict[tuple[str, object], int]]:
        """The station universe: stored stations plus any station only the sheets name.

        Returns the universe and the index of each station by (code, serial) and (code, number).
        """
        codes = [c.code for c in self.constituencies]
        cidx: dict[str, int] = {code: i for i, code in enumerate(codes)}
        index: dict[tuple[str, object], int] = {}
        const: list[int] = []
        reg: list[int] = []
        for st in self.stations:
            if st.constituency in cidx:
                index[(st.constituency, st.serial)] = len(const)
                index.setdefault((st.constituency, st.number), len(const))
                const.append(cidx[st.constituency])
                reg.append(st.registered.total if st.registered.total is not None else -1)
        for code, key, registered in self._named_stations():
            if code in cidx and key not in index:
                index[key] = len(const)
                const.append(cidx[code])
                reg.append(registered if registered is not None else -1)
        columns = self._ballots(codes)
        universe = Universe(
            constituency_codes=tuple(codes),
            regions=tuple(c.region for c in self.constituencies),
            station_constituency=np.asarray(const, dtype=np.int64),
            station_registered=np.asarray(reg, dtype=np.int64),
            parties=columns,
            ballots=self.ballots(dict(zip(codes, columns, strict=True))),
        )
        return universe, index

    def ballots(self, columns: Mapping[str, Sequence[str | None]] | None = None) -> Ballots:
        """Candidates' and parties' names by constituency and ballot position."""
        return Ballots.of(self.candidates, self.parties, columns=columns)

    def _ballots(self, codes: Sequence[str]) -> tuple[tuple[str | None, ...], ...]:
        ballots: dict[str, dict[int, str | None]] = {code: {} for code in codes}
        for k in self.candidates:
            if k.constituency in ballots:
                ballots[k.constituency][int(k.ballot_order)] = k.party
        named: list[tuple[str, tuple[int, ...]]] = [(s.constituency, tuple(s.votes)) for s in self.sheets]
        named += [(r.station.constituency, r.positions) for r in self.reconciled or ()]
        for code, positions in named:
            if code in ballots:
                for key in positions:
                    ballots[code].setdefault(int(key), None)
        out = []
        for code in codes:
            b = ballots[code]
            width = max(b, default=0)
            out.append(tuple(b.get(j, "") if j in b else "" for j in range(1, width + 1)))
        return tuple(out)

    def _named_stations(self) -> Iterator[tuple[str, tuple[str, object], int | None]]:
        """Each station the copies name (constituency, key, registered voters its first copy gives), in
        the order the copies first name them."""
        for s in self.sheets:
            if s.kind is SheetKind.STATION_COUNT:
                yield s.constituency, station_key(s), s.totals.registered
        for r in self.reconciled or ():
            st = r.station
            key = (st.constituency, st.serial if st.serial is not None else st.number)
            yield st.constituency, key, r.registered


@dataclass(frozen=True)
class Settled:
    """A station already reconciled (read back from its projection row), with what the election's
    universe takes from its copies: the registered voters its first copy gives and every ballot position
    any of its copies names."""

    station: StationReconciliation
    registered: int | None
    positions: tuple[int, ...]


def _names_station(sheet: ResultSheet) -> bool:
    """A row of a station-wise statement (Form-48), not a constituency total."""
    return sheet.station_serial is not None or sheet.station is not None


def station_key(sheet: ResultSheet) -> tuple[str, object]:
    """How a station sheet names its station: by serial when it has one, else by printed number."""
    return (sheet.constituency, sheet.station_serial if sheet.station_serial is not None else sheet.station)


def _with_registered(contest: Contest, registered: int | None) -> Contest:
    return replace(contest, registered=registered)
