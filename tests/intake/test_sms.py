"""The SMS grammar: good messages parse; every malformed one says which token is wrong."""

from __future__ import annotations

import pytest

from pollwatch.errors import InputError
from pollwatch.intake.sms import parse_sms, reply_error, reply_ok
from pollwatch.model import Role, SheetKind


def _parse(text: str) -> object:
    return parse_sms(text, election="tiny-2026", rule_pack="pakistan", role=Role.AGENT, organisation="PartyA",
                     submitter_key="sub-1")  # fmt: skip


def test_full_message_parses_every_field() -> None:
    parsed = _parse(
        "PW NA-41 17 45 120,98,7 R12 P237 V225 M130 F107 T1707400000 HA1B2C3D4E5F60718 Iagent-17-a"
    )
    sub = parsed.submission  # type: ignore[attr-defined]
    assert sub.constituency == "NA-41"
    assert sub.station == "17"
    assert sub.kind is SheetKind.STATION_COUNT
    assert sub.votes == {"1": 120, "2": 98, "3": 7}
    assert (sub.totals.rejected, sub.totals.polled, sub.totals.valid) == (12, 237, 225)
    assert (sub.totals.votes_male, sub.totals.votes_female) == (130, 107)
    assert sub.photo_sha256 == "a1b2c3d4e5f60718"
    assert sub.submission_id == "agent-17-a"
    assert sub.captured_at.timestamp() == 1707400000


def test_kind_codes_and_constituency_sheets() -> None:
    sub = _parse("pw na-41 - FI 1000,900").submission  # type: ignore[attr-defined]
    assert sub.kind is SheetKind.FINAL
    assert sub.station is None
    assert sub.constituency == "NA-41"


def test_resent_sms_gets_the_same_submission_id() -> None:
    first = _parse("PW NA-41 17 45 120,98,7 R12").submission  # type: ignore[attr-defined]
    again = _parse("PW  NA-41 17 45 120,98,7   R12 ").submission  # type: ignore[attr-defined]
    assert first.submission_id == again.submission_id
    assert first.submission_id.startswith("sms-")


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("", "token 1", "starts with PW"),
        ("HELLO NA-41 17 45 1,2", "token 1", "starts with PW"),
        ("PW NA-41 17", "token 4", "too short"),
        ("PW NA-41 17A 45 1,2", "token 3", "serial"),
        ("PW NA-41 17 99 1,2", "token 4", "unknown sheet kind"),
        ("PW NA-41 17 45 1,x,3", "token 5", "vote 2"),
        ("PW NA-41 17 45 1,2 R1x", "token 6", "rejected"),
        ("PW NA-41 17 45 1,2 P5 P6", "token 7", "twice"),
        ("PW NA-41 17 45 1,2 Q5", "token 6", "unknown field"),
        ("PW NA-41 17 45 1,2 Habc", "token 6", "16 hex"),
        ("PW NA-41 17 45 1,2 T12", "token 6", "Unix seconds"),
    ],
)
def test_malformed_message_names_token_and_problem(text: str, where: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        _parse(text)
    assert info.value.problems[0].where.startswith(where)
    reply = reply_error(info.value)
    assert reply.startswith(f"ERR {where}")
    assert len(reply) <= 300


def test_reply_ok_mentions_leaf_and_flags() -> None:
    assert reply_ok("NA-41", "17", 1234, ("polled_gt_registered",), False) == (
        "OK NA-41/17 leaf 1234 FLAGGED polled_gt_registered"
    )
