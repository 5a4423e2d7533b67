"""Pakistan's rule pack: recounts, void polls for women's votes, result deadlines and seat quotas.

Every figure the project could not verify in the gazetted text is a parameter of
:class:`PakistanRules`, with the default the secondary source gives.

References
----------
.. [1] Elections Act 2017 (EA) s.9, s.13(3), s.90, s.95(5)-(6); Election Rules 2017 (ER) r.84(4),
   as reproduced in the press and by FAFEN (see pollwatch ../shared/docs/PAKISTAN.md A2-A6).
.. [2] Constitution of Pakistan Art. 51 (National Assembly) and Art. 106 (Provincial Assemblies).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pollwatch.rules import House, ReservedQuota
from pollwatch.rules.base import Contest, Finding, RecountVerdict, Severity, StationFigures
from pollwatch.rules.generic import over_registered, station_over_registered

PKT = dt.timezone(dt.timedelta(hours=5), "PKT")

_REGIONS = {
    "punjab": "Punjab",
    "sindh": "Sindh",
    "balochistan": "Balochistan",
    "baluchistan": "Balochistan",
    "khyber pakhtunkhwa": "Khyber Pakhtunkhwa",
    "khyber paktunkhwa": "Khyber Pakhtunkhwa",
    "kpk": "Khyber Pakhtunkhwa",
    "kp": "Khyber Pakhtunkhwa",
    "fata": "Khyber Pakhtunkhwa",
    "islamabad": "Islamabad Capital Territory",
    "islamabad capital territory": "Islamabad Capital Territory",
    "ict": "Islamabad Capital Territory",
    "federal capital": "Islamabad Capital Territory",
}

_NA_2024 = House(
    "NA",
    266,
    (
        ReservedQuota(
            "women",
            MappingProxyType({"Balochistan": 4, "Khyber Pakhtunkhwa": 10, "Punjab": 32, "Sindh": 14}),
        ),
        ReservedQuota("non_muslim", MappingProxyType({"": 10})),
    ),
)
# Art. 51 before the 25th amendment: UNVERIFIED here (PAKISTAN.md gives only the 2024 split); a parameter.
_NA_2018 = House(
    "NA",
    272,
    (
        ReservedQuota(
            "women",
            MappingProxyType({"Balochistan": 3, "Khyber Pakhtunkhwa": 8, "Punjab": 35, "Sindh": 14}),
        ),
        ReservedQuota("non_muslim", MappingProxyType({"": 10})),
    ),
)


def _pa(code: str, region: str, general: int, women: int, minorities: int) -> House:
    return House(
        code,
        general,
        (
            ReservedQuota("women", MappingProxyType({region: women})),
            ReservedQuota("non_muslim", MappingProxyType({region: minorities})),
        ),
    )


_PA = {
    "PP": _pa("PP", "Punjab", 297, 66, 8),
    "PS": _pa("PS", "Sindh", 130, 29, 9),
    "PK": _pa("PK", "Khyber Pakhtunkhwa", 115, 26, 4),
    "PB": _pa("PB", "Balochistan", 51, 11, 3),
}
_PA_REGION = {"PP": "Punjab", "PS": "Sindh", "PK": "Khyber Pakhtunkhwa", "PB": "Balochistan"}
_NA_2023_RANGES = (
    (45, "Khyber Pakhtunkhwa"),
    (48, "Islamabad Capital Territory"),
    (189, "Punjab"),
    (250, "Sindh"),
    (266, "Balochistan"),
)
_PK_2018 = _pa("PK", "Khyber Pakhtunkhwa", 99, 22, 3)


@dataclass(frozen=True)
class PakistanRules:
    """Pakistan's checks with every unverified figure as a parameter.

    Parameters
    ----------
    recount_share
        RO recount when the margin is under this share of votes polled (EA s.95(5)): 0.05.
    recount_cap_votes
        The fixed vote cap by assembly ("NA", "PA"), "whichever is lesser" (Dawn 1451417: 10,000);
        8,000 NA / 4,000 PA is UNVERIFIED and can be set here. ``None`` disables the cap.
    women_share_min
        EA s.9(1): women's votes under this share of total votes polled in a constituency: 0.10.
    result_deadline
        EA s.13(3), ER r.84(4): provisional result sent on or before 02:00 PKT the day after polling.
    minutes_per_voter, polling_hours
        UNVERIFIED capacity of one booth: ``polling_hours * 60 / minutes_per_voter`` ballots.
    """

    name: str = "pakistan"
    recount_share: float = 0.05
    recount_cap_votes: Mapping[str, int | None] = field(
        default_factory=lambda: MappingProxyType({"NA": 10_000, "PA": 10_000})
    )
    women_share_min: float = 0.10
    result_deadline: dt.time = dt.time(2, 0)
    minutes_per_voter: float = 1.0
    polling_hours: float = 10.0
    houses: Mapping[tuple[str, int], House] = field(
        default_factory=lambda: MappingProxyType({("NA", 2018): _NA_2018, ("PK", 2018): _PK_2018})
    )

    def recount(self, contest: Contest) -> RecountVerdict:
        """Whether the margin is under 5 % of votes polled or the vote cap, whichever is lesser.

        References
        ----------
        .. [1] EA 2017 s.95(5); Dawn 1451417 (2018) for the 10,000 cap; PAKISTAN.md A4.
        """
        polled = contest.polled if contest.polled is not None else contest.valid + (contest.rejected or 0)
        threshold: float = self.recount_share * polled
        cap = self.recount_cap_votes.get("NA" if contest.assembly == "NA" else "PA")
        if cap is not None:
            threshold = min(threshold, float(cap))
        rule = f"EA 2017 s.95(5): margin < min({self.recount_share:.0%} of votes polled, {cap})"
        return RecountVerdict(
            eligible=len(contest.votes) > 1 and contest.margin < threshold,
            margin=contest.margin,
            threshold=threshold,
            rule=rule,
        )

    def check_contest(self, contest: Contest, *, election_date: dt.date | None = None) -> list[Finding]:
        """Recount eligibility, rejected > margin, turnout > 100 %, women's share, deadline."""
        found = self._recount_finding(contest) + self._rejected_over_margin(contest)
        found += over_registered(contest) + self._women_share(contest)
        if election_date is not None:
            found += self._late(contest, election_date)
        return found

    def check_station(self, station: StationFigures) -> list[Finding]:
        """Turnout above 100 % and above what the station's booths can take in polling hours."""
        found = station_over_registered(station) + self._no_women_votes(station)
        if station.booths:
            capacity = math.floor(station.booths * self.polling_hours * 60 / self.minutes_per_voter)
            if station.polled > capacity:
                found.append(
                    Finding(
                        kind="station_over_booth_capacity",
                        severity=Severity.WARNING,
                        where=station.where,
                        message="more votes than the station's booths can take in polling hours",
                        expected=f"<= {capacity} ({station.booths} booths x {self.polling_hours:g} h "
                        f"at {self.minutes_per_voter:g} min per voter)",
                        found=f"{station.polled} polled",
                        rule="booth capacity (UNVERIFIED parameter minutes_per_voter)",
                        evidence=station.evidence,
                        data={"polled": station.polled, "capacity": capacity, "booths": station.booths},
                    )
                )
        return found

    def _no_women_votes(self, station: StationFigures) -> list[Finding]:
        """No woman voted at a station where women are registered and others voted.

        References
        ----------
        .. [1] EA 2017 s.9; s.9(1) speaks of the constituency, so station-level suppression is
           reported for a complaint under s.9(2) or a re-poll petition (PAKISTAN.md A5, FAFEN 2022).
        """
        if station.votes_female != 0 or not station.registered_female or station.polled <= 0:
            return []
        return [
            Finding(
                kind="station_no_women_votes",
                severity=Severity.WARNING,
                where=station.where,
                message="no woman voted at a station where women are registered and votes were cast",
                expected=f"women's votes among {station.registered_female} registered women",
                found=f"0 women's votes of {station.polled} polled",
                rule="EA 2017 s.9 (station level: complaint or re-poll; PAKISTAN.md A5)",
                evidence=station.evidence,
                data={"registered_female": station.registered_female, "polled": station.polled},
            )
        ]

    def house(self, assembly: str, *, year: int) -> House | None:
        """Seats of an assembly (Art. 51 NA, Art. 106 PAs); 2018 NA/KP splits are UNVERIFIED defaults."""
        return self.houses.get((assembly, year)) or (_NA_2024 if assembly == "NA" else _PA.get(assembly))

    def region_key(self, region: str) -> str:
        """The province a spelling names (``KPK``, ``Khyber Paktunkhwa``, ``FATA`` -> KP)."""
        return _REGIONS.get(region.strip().lower(), region.strip())

    def constituency_region(self, code: str, *, year: int) -> str:
        """Province of an NA seat under the 2023 delimitation (Art. 51 seat counts), else "".

        NA-1..45 KP, 46..48 ICT, 49..189 Punjab, 190..250 Sindh, 251..266 Balochistan.
        """
        prefix, _, number = code.partition("-")
        if prefix in _PA_REGION:
            return _PA_REGION[prefix]
        if prefix != "NA" or year < 2023 or not number.isdigit():
            return ""
        n = int(number)
        for last, region in _NA_2023_RANGES:
            if n <= last:
                return region
        return ""

    def deadline(self, election_date: dt.date) -> dt.datetime:
        """02:00 PKT on the day after polling (EA s.13(3), ER r.84(4))."""
        return dt.datetime.combine(election_date + dt.timedelta(days=1), self.result_deadline, tzinfo=PKT)

    def _recount_finding(self, contest: Contest) -> list[Finding]:
        verdict = self.recount(contest)
        if not verdict.eligible:
            return []
        return [
            Finding(
                kind="recount_eligible",
                severity=Severity.WARNING,
                where=contest.constituency,
                message="margin inside the recount threshold: a candidate may ask the RO for a recount",
                expected=f"margin >= {verdict.threshold:.0f} for no recount right",
                found=f"margin {verdict.margin}",
                rule=verdict.rule,
                evidence=contest.evidence,
                data={"margin": verdict.margin, "threshold": verdict.threshold, "label": contest.label},
            )
        ]

    def _rejected_over_margin(self, contest: Contest) -> list[Finding]:
        if contest.rejected is None or len(contest.votes) < 2 or contest.rejected <= contest.margin:
            return []
        return [
            Finding(
                kind="rejected_exceed_margin",
                severity=Severity.WARNING,
                where=contest.constituency,
                message="more ballots were rejected than the margin of victory",
                expected=f"rejected <= margin {contest.margin}",
                found=f"{contest.rejected} rejected",
                rule="EA 2017 s.90(4)-(5), s.95: excluded ballots reviewed by the RO (PAKISTAN.md A3)",
                evidence=contest.evidence,
                data={"margin": contest.margin, "rejected": contest.rejected, "label": contest.label},
            )
        ]

    def _women_share(self, contest: Contest) -> list[Finding]:
        polled = contest.polled if contest.polled is not None else contest.valid + (contest.rejected or 0)
        women, estimated = contest.women_votes
        if women is None or polled <= 0:
            return []
        share = women / polled
        if share >= self.women_share_min:
            return []
        how = " (estimated: women's turnout rate x registered women)" if estimated else ""
        return [
            Finding(
                kind="women_share_below_minimum",
                severity=Severity.ERROR,
                where=contest.constituency,
                message="women's votes under the legal minimum share: the ECP may declare the poll void",
                expected=f">= {self.women_share_min:.0%} of {polled} votes polled",
                found=f"{women} women's votes ({share:.2%}){how}",
                rule="EA 2017 s.9(1)",
                evidence=contest.evidence,
                data={
                    "votes_female": women,
                    "polled": polled,
                    "share": share,
                    "estimated": estimated,
                    "label": contest.label,
                },
            )
        ]

    def _late(self, contest: Contest, election_date: dt.date) -> list[Finding]:
        deadline = self.deadline(election_date)
        if contest.reported_at is None or contest.reported_at <= deadline:
            return []
        return [
            Finding(
                kind="result_late",
                severity=Severity.WARNING,
                where=contest.constituency,
                message="provisional result sent after the legal deadline",
                expected=f"on or before {deadline.isoformat()}",
                found=contest.reported_at.isoformat(),
                rule="EA 2017 s.13(3), ER r.84(4)",
                evidence=contest.evidence,
                data={"label": contest.label},
            )
        ]
