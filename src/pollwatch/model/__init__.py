"""The country-neutral election model: structure, result sheets and their provenance.

Everything in pollwatch imports this package; it imports nothing else of ours.

>>> from pollwatch.model import Constituency, Registered
>>> na1 = Constituency(code=ConstituencyCode("NA-1"), assembly="NA", delimitation="2018",
...                    name="Chitral", region="Khyber Pakhtunkhwa",
...                    registered=Registered(male=151219, female=118360, total=269579))
>>> na1.key
('NA-1', '2018')
"""

from pollwatch.model.election import (
    Booths,
    Candidate,
    Constituency,
    Election,
    GeoPoint,
    Party,
    Registered,
    Station,
    StationSex,
)
from pollwatch.model.ids import (
    CandidateKey,
    ConstituencyCode,
    ElectionSlug,
    PartyCode,
    StationNumber,
)
from pollwatch.model.sheets import (
    Channel,
    Provenance,
    ResultSheet,
    Role,
    SheetKind,
    SheetLevel,
    Totals,
)

__all__ = [
    "Booths",
    "Candidate",
    "CandidateKey",
    "Channel",
    "Constituency",
    "ConstituencyCode",
    "Election",
    "ElectionSlug",
    "GeoPoint",
    "Party",
    "PartyCode",
    "Provenance",
    "Registered",
    "ResultSheet",
    "Role",
    "SheetKind",
    "SheetLevel",
    "Station",
    "StationNumber",
    "StationSex",
    "Totals",
]
