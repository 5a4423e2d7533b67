"""The fast canonical JSON path agrees with the rfc8785 reference on every value."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from pollwatch.intake.canonical import canonical_json, signed_message
from pollwatch.ledger.records import PERSONAL_FIELDS, signed_bytes

_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | st.text()
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_canonical_json_equals_rfc8785(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


# The ledger refuses personal field names at any depth (tested in tests/ledger), so generated bodies
# must not contain them: hypothesis once drew a nested key "name".
_public_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(max_size=8).filter(lambda k: k.lower() not in PERSONAL_FIELDS), inner, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["election", "votes", "station", "checks", "signature"]), _public_values)
)
def test_signed_message_equals_ledger_signed_bytes(body: dict[str, object]) -> None:
    assert signed_message(body) == signed_bytes(body)


def test_control_characters_and_unicode_keys_sort_like_utf16() -> None:
    value = {"\u00e9": 1, "z": '\x01\n\t"\\', "\U0001f600": 2, "\uff61": 3}
    assert canonical_json(value) == rfc8785.dumps(value)
