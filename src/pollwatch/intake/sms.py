"""A compact SMS text for result sheets, for when mobile internet is cut.

Grammar (tokens separated by spaces, case-insensitive keyword, see docs/intake.md)::

    PW <constituency> <station> <kind> <v1,v2,...> [R<rejected>] [P<polled>] [V<valid>]
       [M<male votes>] [F<female votes>] [T<captured unix time>] [H<16 hex of photo sha256>]
       [I<submission id>] [S<base64 device signature>]

``<station>`` is the station serial, or ``-`` for a constituency-level sheet. ``<kind>`` is the
form number of the election's rule pack (``45`` = Form-45) or a kind code (``SC`` station count,
``BA`` ballot account, ``PR`` provisional, ``CO`` consolidated, ``FI`` final). Votes are in ballot
order. Example: ``PW NA-41 17 45 120,98,7 R12 P237 HA1B2C3D4E5F60718``. Urdu (Extended Arabic-Indic) and
Arabic-Indic digits, the Arabic comma and no-break spaces are read as their ASCII counterparts, so
``PW NA-41 17 45 ۱۲۰،۹۸،۷`` is the same message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from pollwatch.errors import InputError
from pollwatch.intake.checks import default_form
from pollwatch.intake.format import SheetSubmission
from pollwatch.model import Role, SheetKind

_CODES = {
    "SC": SheetKind.STATION_COUNT,
    "BA": SheetKind.BALLOT_ACCOUNT,
    "PR": SheetKind.PROVISIONAL,
    "CO": SheetKind.CONSOLIDATED,
    "FI": SheetKind.FINAL,
}
_OPTIONS = {"R": "rejected", "P": "polled", "V": "valid", "M": "votes_male", "F": "votes_female"}
MAX_LENGTH = 1_000
_LOCAL = str.maketrans(
    {**{chr(0x06F0 + d): str(d) for d in range(10)}, **{chr(0x0660 + d): str(d) for d in range(10)},
     "\u060c": ",", "\u00a0": " ", "\u202f": " "}
)  # fmt: skip
"""Urdu and Arabic-Indic digits, the Arabic comma, no-break spaces -> ASCII digits, comma, space."""
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€\f"
)
"""The GSM 03.38 default alphabet and its extension table (3GPP TS 23.038 section 6.2.1)."""


@dataclass(frozen=True)
class SmsSheet:
    """A parsed SMS: the submission and the signature it carried, if any."""

    submission: SheetSubmission
    signed: bool


def _fail(message: str, position: int, token: str, expected: str) -> InputError:
    where = f"token {position}" + (f" {token[:20]!r}" if token else "")
    return InputError(message, where=where, expected=expected, found=token[:40] or "nothing")


def parse_sms(
    text: str,
    *,
    election: str,
    rule_pack: str,
    role: Role,
    organisation: str,
    submitter_key: str,
    device_key: str | None = None,
) -> SmsSheet:
    """Parse one SMS into a submission, or raise InputError saying which token is wrong and why."""
    if len(text) > MAX_LENGTH:
        raise _fail("the message is too long", 0, "", f"at most {MAX_LENGTH} characters")
    text = normalise_text(text)
    tokens = text.split()
    if not tokens or tokens[0].upper() != "PW":
        raise _fail("a result message starts with PW", 1, tokens[0] if tokens else "", "PW")
    if len(tokens) < 5:
        raise _fail("the message is too short", len(tokens) + 1, "",
                    "PW <constituency> <station> <kind> <votes,...>")  # fmt: skip
    constituency, station, kind_token, votes_token = tokens[1:5]
    fields: dict[str, Any] = {
        "election": election, "constituency": constituency.upper(), "role": role.value,
        "organisation": organisation, "totals": {},
    }  # fmt: skip
    fields["station"] = _station(station)
    fields["kind"] = _kind(kind_token, rule_pack).value
    fields["votes"] = _votes(votes_token)
    signed = _options(tokens[5:], fields)
    if signed and device_key is not None:
        fields["device_key"] = device_key
    fields.setdefault("submission_id", _default_id(submitter_key, text))
    try:
        submission = SheetSubmission.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(
            "the message is not a valid sheet",
            where=".".join(str(p) for p in first["loc"]),
            expected=str(first["msg"]),
            found=repr(first.get("input"))[:40],
        ) from exc
    return SmsSheet(submission, signed)


def normalise_text(text: str) -> str:
    """The message with Urdu digits, the Arabic comma and no-break spaces in ASCII (see the module doc)."""
    return text.translate(_LOCAL)


def is_gsm7(text: str) -> bool:
    """True when ``text`` fits the GSM-7 alphabet (else the SMS must be sent as UCS-2)."""
    return all(ch in GSM7 for ch in text)


def fit_reply(text: str, limit: int = 160) -> str:
    """Keep a reply within one SMS where possible: drop the ``; expected ...`` hint when it is too long."""
    if len(text) <= limit:
        return text
    head, sep, _ = text.partition("; expected ")
    return head if sep and len(head) <= limit else text


def _station(token: str) -> str | None:
    if token == "-":
        return None
    if not re.fullmatch(r"[0-9]{1,6}", token):
        raise _fail(
            "the station must be its serial number", 3, token, "digits, or - for a constituency sheet"
        )
    return token


def _kind(token: str, rule_pack: str) -> SheetKind:
    upper = token.upper()
    if upper in _CODES:
        return _CODES[upper]
    for kind in SheetKind:
        if default_form(rule_pack, kind).upper().removeprefix("FORM-") == upper:
            return kind
    raise _fail("unknown sheet kind", 4, token, "a form number (45) or SC, BA, PR, CO, FI")


def _votes(token: str) -> dict[str, int]:
    parts = token.split(",")
    for n, part in enumerate(parts, start=1):
        if not re.fullmatch(r"[0-9]{1,7}", part):
            raise _fail(f"vote {n} is not a whole number", 5, token, "votes in ballot order, e.g. 120,98,7")
    return {str(n): int(p) for n, p in enumerate(parts, start=1)}


def _options(tokens: list[str], fields: dict[str, Any]) -> bool:
    signed = False
    seen: set[str] = set()
    for position, token in enumerate(tokens, start=6):
        letter, value = token[:1].upper(), token[1:]
        if letter in seen:
            raise _fail("this field appears twice", position, token, "each of R P V M F T H I S once")
        seen.add(letter)
        if letter in _OPTIONS:
            if not re.fullmatch(r"[0-9]{1,9}", value):
                raise _fail(
                    f"{_OPTIONS[letter]} must be a whole number", position, token, f"{letter}<digits>"
                )
            fields["totals"][_OPTIONS[letter]] = int(value)
        elif letter == "T":
            if not re.fullmatch(r"[0-9]{9,11}", value):
                raise _fail("the capture time must be Unix seconds", position, token, "T<unix seconds>")
            fields["captured_at"] = dt.datetime.fromtimestamp(int(value), dt.UTC)
        elif letter == "H":
            if not re.fullmatch(r"[0-9a-fA-F]{16}", value):
                raise _fail("the photo hash must be 16 hex digits", position, token, "H<16 hex digits>")
            fields["photo_sha256"] = value.lower()
        elif letter == "I":
            fields["submission_id"] = value
        elif letter == "S":
            fields["signature"] = value
            signed = True
        else:
            raise _fail("unknown field", position, token, "R P V M F T H I S followed by a value")
    return signed


def _default_id(submitter_key: str, text: str) -> str:
    """A resent SMS gets the same id (idempotent), without putting the phone number in it."""
    normal = " ".join(text.split()).upper()
    return "sms-" + hashlib.sha256(f"{submitter_key}\n{normal}".encode()).hexdigest()[:24]


def reply_ok(
    constituency: str, station: str | None, leaf_index: int, checks: tuple[str, ...], dup: bool
) -> str:
    """The SMS answer to an accepted sheet: where, the leaf index, and any flags."""
    place = constituency + ("" if station is None else f"/{station}")
    text = f"OK {place} leaf {leaf_index}" + (" (already received)" if dup else "")
    return text + (f" FLAGGED {','.join(checks)}" if checks else "")


def reply_error(error: InputError | Exception) -> str:
    """The SMS answer to a refused message: what is wrong and where."""
    if isinstance(error, InputError) and error.problems:
        p = error.problems[0]
        parts = [f"ERR {p.where}: {p.message}" if p.where else f"ERR {p.message}"]
        if p.expected:
            parts.append(f"expected {p.expected}")
        return "; ".join(parts)[:300]
    message = getattr(error, "message", str(error))
    return f"ERR {message}"[:300]
