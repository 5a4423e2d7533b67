"""Phone numbers in one form (E.164, ``+923001234567``), whichever way they were written.

Agents write and gateways deliver the same number as ``+92 300 1234567``, ``00923001234567`` or
``0300-1234567``; Google's libphonenumber (the ``phonenumbers`` package) reads each with the
election's country as the default region, so all three are stored and looked up as one number.

>>> parse_phone("0300-1234567", country="PK")
'+923001234567'
>>> parse_phone("00923001234567", country=None)
'+923001234567'
"""

from __future__ import annotations

import contextlib

import phonenumbers
from sqlalchemy import Connection

from pollwatch.errors import InputError
from pollwatch.storage import structure

_SEPARATORS = set("0123456789+-. ()")


def region_of(country: str | None) -> str | None:
    """The libphonenumber region of an election's ISO country code, or None (``XX``, unknown)."""
    code = (country or "").upper()
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


def election_country(conn: Connection, slug: str | None) -> str | None:
    """The country (region) of election ``slug`` for reading national numbers; None without one."""
    if not slug:
        return None
    _, election = structure.get_election(conn, slug)
    return region_of(election.country)


def parse_phone(number: str, *, country: str | None) -> str:
    """A number to register, in E.164; InputError (422) saying why it is not one.

    ``+``, spaces, dashes, dots and brackets may separate the digits; ``00`` is read as ``+``
    (the international prefix of most countries); a national form (``0300...``) needs ``country``.
    """
    digits = sum(ch.isdigit() for ch in number)
    if not 7 <= digits <= 15 or any(ch not in _SEPARATORS for ch in number):
        raise InputError(
            "not a phone number", where="phone", found=number[:32],
            expected="7 to 15 digits, optionally with +, spaces, dashes, dots or brackets",
        )  # fmt: skip
    region = region_of(country)
    text = number.strip()
    if region is None and text.startswith("00"):
        text = "+" + text[2:]
    if region is None and not text.startswith("+"):
        raise InputError(
            "a national-form number needs the election's country",
            where="phone",
            expected="+<country code><number> or 00<country code><number>, or an election with a country",
            found=number[:32],
            remedy="write the number with its country code, or register it for an election (--election)",
        )
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InputError("not a phone number", where="phone", expected=str(exc), found=number[:32]) from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InputError(
            "not a possible phone number" + (f" in {region}" if region else ""),
            where="phone",
            expected="a number of the right length for its country",
            found=number[:32],
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def sender_phone(number: str, *, country: str | None) -> str | None:
    """A gateway's sender in E.164, or None when it cannot be a phone number (a short code, a name).

    Gateways drop the ``+`` now and then (``923001234567``): a number that is not possible in the
    election's country is tried once more as international.
    """
    with contextlib.suppress(InputError):  # not a number of the election's country: try it as international
        return parse_phone(number, country=country)
    digits = "".join(ch for ch in number if ch.isdigit())
    if digits and not digits.startswith("0"):
        try:
            return parse_phone("+" + digits, country=None)
        except InputError:
            return None
    return None
