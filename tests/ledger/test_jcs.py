"""The fast canonical JSON path agrees with the rfc8785 reference on every value, leaf and signed message."""

from __future__ import annotations

from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from pollwatch.ledger.jcs import canonical_json
from pollwatch.ledger.records import (
    PERSONAL_FIELDS,
    SERVER_FIELDS,
    SIGNATURE_DOMAIN,
    LeafRecord,
    canonical_bytes,
    signed_bytes,
)

_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | st.text()
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_canonical_json_equals_rfc8785(value: Any) -> None:
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
def test_signed_bytes_equal_the_reference_encoding(body: dict[str, Any]) -> None:
    unsigned = {k: v for k, v in body.items() if k not in SERVER_FIELDS}
    assert signed_bytes(body) == SIGNATURE_DOMAIN + rfc8785.dumps(unsigned)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["election", "votes", "station", "note"]), _public_values))
def test_leaf_bytes_equal_the_reference_encoding(body: dict[str, Any]) -> None:
    record = LeafRecord("incident", body)
    assert canonical_bytes(record) == rfc8785.dumps({"v": 1, "type": "incident", **body})


def test_control_characters_and_unicode_keys_sort_like_utf16() -> None:
    value: dict[str, Any] = {"\u00e9": 1, "z": '\x01\n\t"\\', "\U0001f600": 2, "\uff61": 3}
    assert canonical_json(value) == rfc8785.dumps(value)
