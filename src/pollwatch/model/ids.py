"""Typed identifiers: natural keys that mean something to a reader of the forms."""

from typing import NewType

ElectionSlug = NewType("ElectionSlug", str)
"""Short stable name of an election, e.g. ``pk-2018``."""

ConstituencyCode = NewType("ConstituencyCode", str)
"""Code printed on the forms, e.g. ``NA-41``; unique only together with the delimitation."""

StationNumber = NewType("StationNumber", str)
"""Polling-station number as printed (text: some countries use ``12-A`` or streams)."""

PartyCode = NewType("PartyCode", str)
"""Short party code, e.g. ``PTI``; independents have none."""

CandidateKey = NewType("CandidateKey", int)
"""A candidate's position on the ballot of one constituency (1-based)."""
