"""Changes between two official snapshots of the same contests (provisional Form-47 -> final Form-49).

References
----------
.. [1] EA 2017 s.92 (provisional, no postal ballots) and s.95 (consolidation with postal ballots,
   reinstated excluded ballots and recounts): PAKISTAN.md A1-A4. Changes are expected to be small
   and positive; a changed winner or a candidate losing votes needs an explanation.
"""

from __future__ import annotations

from collections.abc import Sequence

from pollwatch.rules.base import Contest, Finding, Severity
from pollwatch.tally.ballot import Ballots


def compare_snapshots(
    before: Sequence[Contest], after: Sequence[Contest], *, ballots: Ballots | None = None
) -> list[Finding]:
    """One finding per contest whose figures changed; an error when the winner changed."""
    names = ballots or Ballots()
    earlier = {c.constituency: c for c in before}
    out = []
    for late in after:
        early = earlier.get(late.constituency)
        if early is None:
            continue
        keys = sorted(set(early.votes) | set(late.votes))
        diff = {int(k): late.votes.get(k, 0) - early.votes.get(k, 0) for k in keys}
        changed = {k: d for k, d in diff.items() if d}
        rejected = (late.rejected or 0) - (early.rejected or 0)
        if not changed and not rejected:
            continue
        flipped = early.winner != late.winner
        code = late.constituency

        lost = sorted(k for k, d in changed.items() if d < 0)
        out.append(
            Finding(
                kind="winner_changed_after_provisional" if flipped else "provisional_to_final_change",
                severity=Severity.ERROR if flipped else (Severity.WARNING if lost else Severity.INFO),
                where=late.constituency,
                message="the winner changed between the two official snapshots"
                if flipped
                else "official figures changed between the two snapshots",
                expected=f"{early.label}: winner {_label(names, code, early.winner)}, margin {early.margin}",
                found=f"{late.label}: winner {_label(names, code, late.winner)}, margin {late.margin}; "
                + ", ".join(f"{_label(names, code, k)}: {d:+d}" for k, d in changed.items()),
                rule="EA 2017 s.92 vs s.95",
                evidence=early.evidence + late.evidence,
                data={
                    "before": early.label,
                    "after": late.label,
                    "difference": {str(k): d for k, d in changed.items()},
                    "rejected_difference": rejected,
                    "candidates_losing_votes": lost,
                    "winner_before": early.winner,
                    "winner_after": late.winner,
                    "candidates": [
                        {**names.entry(code, k).as_dict(), "difference": d} for k, d in changed.items()
                    ],
                },
            )
        )
    return out


def _label(names: Ballots, code: str, position: int | None) -> str:
    return names.label(code, position) if position is not None else "none"
