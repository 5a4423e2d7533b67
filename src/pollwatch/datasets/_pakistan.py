"""What the Pakistan importers share: the two elections, party codes, assemblies and provinces."""

from __future__ import annotations

import datetime as dt
import re

from pollwatch.model import ConstituencyCode, Election, ElectionSlug, Party, PartyCode

PK_2018 = Election(
    slug=ElectionSlug("pk-2018"),
    country="PK",
    name="Pakistan general election 2018",
    date=dt.date(2018, 7, 25),
    rule_pack="pakistan",
    delimitation="2018",
)
PK_2024 = Election(
    slug=ElectionSlug("pk-2024"),
    country="PK",
    name="Pakistan general election 2024",
    date=dt.date(2024, 2, 8),
    rule_pack="pakistan",
    delimitation="2023",
)

INDEPENDENT = "Independent"

# Full ECP party names (2018 files) -> the short codes the 2024 files and the press use. A party not
# listed keeps its full name as its code, so no two parties can ever be merged by accident.
_CODES_2018 = {
    "Pakistan Tehreek-e-Insaf": "PTI",
    "Pakistan Muslim League (N)": "PML(N)",
    "Pakistan Peoples Party Parliamentarians": "PPP",
    "Muttahida Majlis-e-Amal Pakistan": "MMA",
    "Tehreek-e-Labbaik Pakistan": "TLP",
    "Awami National Party": "ANP",
    "Pak Sarzameen Party": "PSP",
    "All Pakistan Muslim League": "APML",
    "Grand Democratic Alliance": "GDA",
    "Muttahida Qaumi Movement Pakistan": "MQM-P",
    "Balochistan Awami Party": "BAP",
    "Pakistan Muslim League": "PML(Q)",
    "Balochistan National Party": "BNP (M)",
    "Pashtoonkhwa Milli Awami Party": "PMAP",
    "National Party": "NP",
    "Qaumi Watan Party": "QWP",
    "Awami Muslim League Pakistan": "AML",
    "Jamhoori Wattan Party": "JWP",
    "Pakistan Rah-e-Haq Party": "PRHP",
}


# Form-33 (2024) party names -> the short labels of the 2024 results files.
_CODES_2024 = {
    "Pakistan Tehreek-e-Insaf": "PTI",
    "Pakistan Muslim League (N)": "PML(N)",
    "Pakistan Peoples Party Parliamentarians": "PPP",
    "Tehreek Labbaik Pakistan": "TLP",
    "Jamaat-e-Islami Pakistan": "JI",
    "Jamiat Ulama-e-Islam Pakistan": "JUI (F)",
    "Awami National Party": "ANP",
    "Muttahida Qomi Movement Pakistan": "MQM-P",
    "Grand Democratic Alliance": "GDA",
    "Istehkam-e-Pakistan Party": "IPP",
    "Pakistan Muslim League": "PML(Q)",
    "Balochistan National Party": "BNP (M)",
    "Pashtoonkhwa Milli Awami Party": "PMAP",
    "National Party": "NP",
    "Pakistan Markazi Muslim League": "PMML",
    "Sunni Ittehad Council": "SIC",
}
_VARIANTS_2024 = {
    "jamaat e islami": "JI",
    "jamiat e islami pakistan": "JI",
    "jamet e islami pakistan": "JI",
    "jamiat ulema e islam pakistan": "JUI (F)",
    "jamiat ulema e islam pakistan f": "JUI (F)",
    "jamait ulama e islam pakistan": "JUI (F)",
    "muttahida qaumi movement pakistan": "MQM-P",
    "pakistan people party parliamentarians": "PPP",
    "pakistan tehreek e insaf parliamentarian": "PTI-P",
    "pakistan rahe haq party": "PRHP",
    "pakistan rah e haq party": "PRHP",
}
_INDEPENDENT_2024 = {"independent", "independant", "ind", ""}
_ABBREVIATION = re.compile(r"\s*\([A-Za-z ]{2,8}\)\s*$")


def party_code_2024(label: str) -> PartyCode | None:
    """Code of a 2024 party from a Form-33 full name or a results-file label; None for an independent.

    Form-33 rosters spell parties many ways (``Independant``, ``Jamaat-e-Islami Pakistan (JI)``); the
    spelling is compared without case, punctuation or a trailing abbreviation in brackets.
    """
    text = label.strip()
    if text in _CODES_2024.values() or text in _CODES_2024:
        return PartyCode(_CODES_2024.get(text, text))
    key = re.sub(r"[^a-z0-9]+", " ", _ABBREVIATION.sub("", text).casefold()).strip()
    if key in _INDEPENDENT_2024:
        return None
    return PartyCode((_BY_KEY.get(key) or _VARIANTS_2024.get(key) or text)[:64])


_BY_KEY = {re.sub(r"[^a-z0-9]+", " ", k.casefold()).strip(): v for k, v in _CODES_2024.items()}


def party_name_2024(code: str) -> str:
    names = {v: k for k, v in _CODES_2024.items()}
    return names.get(code, code)


def party_code_2018(name: str) -> PartyCode | None:
    """Code of a 2018 party by its full name; None for an independent."""
    if name == INDEPENDENT:
        return None
    return PartyCode(_CODES_2018.get(name, name)[:64])


def party_2018(name: str) -> Party | None:
    code = party_code_2018(name)
    return None if code is None else Party(code=code, name=name)


_CODE = re.compile(r"^(NA|PP|PS|PK|PB)-0*(\d+)$")
_LENIENT = re.compile(r"^(NA|PP|PS|PK|PB)\s*-?\s*0*(\d+)(?:\D.*)?$")

ASSEMBLY_OF_PREFIX = {"NA": "NA", "PP": "PP", "PS": "PS", "PK": "PK", "PB": "PB"}
"""Assembly code of a constituency code's prefix: NA, and the four provincial assemblies."""


def normalise_code(raw: str) -> ConstituencyCode | None:
    """``PK-03`` -> ``PK-3``; None when the text is not a Pakistani constituency code."""
    match = _CODE.match(raw.strip().upper())
    if match is None:
        return None
    return ConstituencyCode(f"{match.group(1)}-{int(match.group(2))}")


def lenient_code(raw: str) -> ConstituencyCode | None:
    """Read a code from a hand-typed key: ``PP 209`` and ``PP-189-OKARA-V`` -> ``PP-209``, ``PP-189``."""
    match = _LENIENT.match(raw.strip().upper())
    if match is None:
        return None
    return ConstituencyCode(f"{match.group(1)}-{int(match.group(2))}")


def assembly_of(code: str) -> str:
    return code.split("-", 1)[0]


_PROVINCES = {
    "Khyber Paktunkhwa": "Khyber Pakhtunkhwa",
    "KPK": "Khyber Pakhtunkhwa",
    "kpk": "Khyber Pakhtunkhwa",
    "FATA": "FATA",
    "Islamabad": "Islamabad Capital Territory",
}


def province(raw: str) -> str:
    """Spell a province the one way (the sources spell Khyber Pakhtunkhwa three ways)."""
    return _PROVINCES.get(raw, raw)
