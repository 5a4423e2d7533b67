"""Cases of repression: arrests, detentions, raids, barred nominations, as HURIDOCS-style events.

An event holds acts ("who did what to whom": an act, its date, the people it was done to, by whom); each
person takes part in roles (victim, perpetrator, source, intervening party) and is named in the public
log only by a case-local reference (``P1``, ``P2``, ...) and a descriptor (candidate, polling agent,
activist, ...). A person's identity is private: it is kept in an access-controlled table that no public
endpoint, page or bundle reads, unless a coordinator records the person's consent or that the person is a
public figure, and only then does the record carry a ``published_name``. The case's status history is
append-only: each update is a new leaf (arrested, remanded, bailed, released, convicted, acquitted, ...),
each with its sources graded for reliability (A reliable ... F cannot be judged, as in the Admiralty
scale used for open-source reporting).

References
----------
.. [1] HURIDOCS Events Standard Formats; HRDAG, "Who did what to whom" (OBSERVATION.md [S18]).
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    ARREST = "arrest"
    DETENTION = "detention"
    ABDUCTION = "abduction"
    RAID = "raid"
    NOMINATION_BARRED = "nomination_barred"
    CAMPAIGN_BLOCKED = "campaign_blocked"
    ASSAULT = "assault"
    OTHER = "other"


class Act(StrEnum):
    ARREST = "arrest"
    FIR_REGISTERED = "fir_registered"
    RAID = "raid"
    PAPERS_SEIZED = "papers_seized"
    NOMINATION_REJECTED = "nomination_rejected"
    DETENTION = "detention"
    ABDUCTION = "abduction"
    BEATING = "beating"
    THREAT = "threat"
    OTHER = "other"


class PersonRole(StrEnum):
    VICTIM = "victim"
    PERPETRATOR = "perpetrator"
    SOURCE = "source"
    INTERVENING = "intervening"


class Descriptor(StrEnum):
    """What the person is, as far as the election goes (public even when the identity is not)."""

    CANDIDATE = "candidate"
    CANDIDATE_RELATIVE = "candidate_relative"
    POLLING_AGENT = "polling_agent"
    OBSERVER = "observer"
    PARTY_WORKER = "party_worker"
    ACTIVIST = "activist"
    JOURNALIST = "journalist"
    LAWYER = "lawyer"
    VOTER = "voter"
    OFFICIAL = "official"
    POLICE = "police"
    UNKNOWN = "unknown"


class Publication(StrEnum):
    """Why a person's name may be public; absent, it may not."""

    CONSENT = "consent"
    PUBLIC_FIGURE = "public_figure"


class Status(StrEnum):
    """The steps of a case's history, in no fixed order (a case may be re-arrested after bail)."""

    REPORTED = "reported"
    ARRESTED = "arrested"
    CHARGED = "charged"
    REMANDED = "remanded"
    BAILED = "bailed"
    RELEASED = "released"
    MISSING = "missing"
    CONVICTED = "convicted"
    ACQUITTED = "acquitted"
    CLOSED = "closed"


class SourceKind(StrEnum):
    VICTIM = "victim"
    FAMILY = "family"
    EYEWITNESS = "eyewitness"
    LAWYER = "lawyer"
    DOCUMENT = "document"
    MEDIA = "media"
    OFFICIAL = "official"
    PARTY = "party"


class Grade(StrEnum):
    """Source reliability: A completely reliable, B usually, C fairly, D not usually, E unreliable,
    F cannot be judged."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"
