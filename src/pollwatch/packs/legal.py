"""Deadlines and formal requirements a pack states for counsel: a record of evidence, not legal advice.

References
----------
.. [1] Elections Act 2017 s.142: an election petition within 45 days of the publication in the official
   Gazette of the name of the returned candidate (as stated in pollwatch issue 13; the gazetted text was not
   available, PAKISTAN.md preamble: treat the section as "per the cited secondary source").
.. [2] Issue 13: of the first 40 tribunal decisions after the 2024 election, 15 failed for lack of evidence
   and 11 as not maintainable; the formal defects below are those the issue names.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

PETITION_DAYS = 45
"""Days from the gazette notification of the returned candidate (EA 2017 s.142, per issue 13)."""
PETITION_RULE = "Elections Act 2017 s.142"

CHECKLIST = ("respondents", "verification", "service")
"""Formal requirements whose absence has sunk petitions; the texts are in :mod:`pollwatch.packs.text`."""


def filing_window(gazette_date: dt.date | None) -> dict[str, Any]:
    """The filing window counted from the gazette date (None: the date was not given to the exporter)."""
    if gazette_date is None:
        return {"gazette_date": None, "last_day": None, "days": PETITION_DAYS, "rule": PETITION_RULE}
    last = gazette_date + dt.timedelta(days=PETITION_DAYS)
    return {
        "gazette_date": gazette_date.isoformat(),
        "last_day": last.isoformat(),
        "days": PETITION_DAYS,
        "rule": PETITION_RULE,
    }
