"""Verification reports: named checks, each passed or failed, and what the checked copy left out.

>>> report = BundleReport((Check("entries complete", True, "3", "3"),), absent=("photos/ab12",))
>>> (report.ok, report.complete)
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One named check: whether it passed, what was expected, what was found, and details."""

    name: str
    passed: bool
    expected: str = ""
    found: str = ""
    detail: str = ""


@dataclass(frozen=True)
class BundleReport:
    """Every check of a bundle or mirror; ``ok`` only if all passed.

    ``absent`` names, one per item, what the copy does not carry (a photo it publishes by hash only, a
    checkpoint its manifest lists, a witness's cosignature), so a thinned copy is never taken for whole.
    """

    checks: tuple[Check, ...]
    absent: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def complete(self) -> bool:
        """Whether the copy carries everything it refers to."""
        return not self.absent

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]
