"""One station-level table that every forensic test reads, whatever the data came from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from pollwatch.errors import DataError

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class StationTable:
    """Counts of one race at its reporting units (stations, precincts, municipalities).

    ``registered`` and ``given`` (ballots issued, the turnout numerator) are ``None`` where the source
    does not publish them; ``invalid`` is zeros when it has no such column. ``leader`` is the index of
    the analysed candidate (by default the one with the most votes). ``codes`` names every unit the
    way its source does (``NA-41/12``, ``Адыгея/ТИК 3/УИК 7``), so results can say which stations they
    flag; ``links`` (optional) is each unit's page. ``stands`` (units x candidates, optional) says
    whether a candidate or party is on the ballot at a unit: where it is not, its 0 votes are not a
    share (a party grouped nationally fields no candidate in some constituencies).
    """

    name: str
    candidates: tuple[str, ...]
    votes: IntArray
    valid: IntArray
    invalid: IntArray
    registered: IntArray | None = None
    given: IntArray | None = None
    region: IntArray | None = None
    region_names: tuple[str, ...] = ()
    leader: int = -1
    unit: str = "station"
    notes: tuple[str, ...] = field(default=())
    codes: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    stands: BoolArray | None = None

    def __post_init__(self) -> None:
        n = self.votes.shape[0]
        if self.votes.ndim != 2 or self.votes.shape[1] != len(self.candidates):
            raise DataError(
                f"{self.name}: votes must be a stations x candidates matrix",
                expected=f"shape (n, {len(self.candidates)})",
                found=str(self.votes.shape),
            )
        for label in ("valid", "invalid", "registered", "given", "region"):
            arr = getattr(self, label)
            if arr is not None and arr.shape != (n,):
                raise DataError(
                    f"{self.name}: {label} has the wrong length", expected=str(n), found=str(arr.shape)
                )
        for label in ("codes", "links"):
            if getattr(self, label) and len(getattr(self, label)) != n:
                raise DataError(f"{self.name}: one {label[:-1]} per unit", expected=str(n), found="other")
        if self.stands is not None and self.stands.shape != self.votes.shape:
            raise DataError(f"{self.name}: stands must match votes", expected=str(self.votes.shape))
        if self.leader < 0 and len(self.candidates):
            object.__setattr__(self, "leader", int(np.argmax(self.votes.sum(axis=0))))

    @property
    def n(self) -> int:
        return int(self.votes.shape[0])

    @property
    def received(self) -> IntArray:
        """Ballots found in the boxes: valid plus invalid."""
        return self.valid + self.invalid

    @property
    def leader_votes(self) -> IntArray:
        return self.votes[:, self.leader]

    @property
    def leader_stands(self) -> BoolArray:
        """Units where the analysed candidate or party is on the ballot (all, when not known)."""
        if self.stands is None:
            return np.ones(self.n, dtype=np.bool_)
        return np.asarray(self.stands[:, self.leader], dtype=np.bool_)

    def code(self, row: int) -> str:
        """The unit's own code; ``row N`` (1-based) only for tables built without codes."""
        return self.codes[row] if self.codes else f"row {row + 1}"

    @property
    def leader_name(self) -> str:
        return self.candidates[self.leader]

    def require_turnout(self, test: str) -> tuple[IntArray, IntArray]:
        """Return (registered, given) or raise when the source publishes no turnout."""
        if self.registered is None or self.given is None:
            raise DataError(
                f"{test} needs turnout, but {self.name} has no registered voters per {self.unit}",
                expected="a dataset with registered voters and ballots issued",
                found=f"{self.name}",
                remedy="run a test that uses vote shares only (digits, spikes need turnout too; try digits)",
            )
        return self.registered, self.given

    def subset(self, mask: BoolArray, *, name: str | None = None) -> StationTable:
        """Return the units where ``mask`` is true."""

        def pick(a: IntArray | None) -> IntArray | None:
            return None if a is None else a[mask]

        return StationTable(
            name=name or self.name,
            candidates=self.candidates,
            votes=self.votes[mask],
            valid=self.valid[mask],
            invalid=self.invalid[mask],
            registered=pick(self.registered),
            given=pick(self.given),
            region=pick(self.region),
            region_names=self.region_names,
            leader=self.leader,
            unit=self.unit,
            notes=self.notes,
            codes=tuple(np.asarray(self.codes, dtype=object)[mask]) if self.codes else (),
            links=tuple(np.asarray(self.links, dtype=object)[mask]) if self.links else (),
            stands=None if self.stands is None else self.stands[mask],
        )


def encode_regions(labels: list[str]) -> tuple[IntArray, tuple[str, ...]]:
    """Return integer codes and the ordered names of a list of region labels."""
    names, codes = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    return codes.astype(np.int64), tuple(str(x) for x in names)
