"""Device keys of small order or with non-canonical encodings are refused (issue 10, item 10)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pollwatch.auth import create_submitter, device_key_id, register_device, verify_signature
from pollwatch.auth.devices import public_key_of, sign
from pollwatch.auth.roles import AuthRole
from pollwatch.errors import InputError, VerificationError
from pollwatch.ledger.ed25519 import weakness
from pollwatch.ledger.records import device_public_key
from pollwatch.storage import Database

_P = 2**255 - 19
# The eight points of small order (orders 1, 2, 4, 4, 8, 8, 8, 8) in their canonical encodings.
SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
]
# y >= p: y = p + 1 is the identity encoded a second way; y = 2^255 - 1 is the largest y.
NON_CANONICAL = [(_P + 1).to_bytes(32, "little").hex(), (2**255 - 1).to_bytes(32, "little").hex()]
# R = identity, S = 0: "signs" every message for a key of small order, with no private key at all.
NO_KEY_SIGNATURE = base64.b64encode(bytes.fromhex(SMALL_ORDER[0]) + bytes(32)).decode()


@pytest.mark.parametrize("hexkey", SMALL_ORDER + NON_CANONICAL)
def test_weakness_names_small_order_and_non_canonical_keys(hexkey: str) -> None:
    assert weakness(bytes.fromhex(hexkey)) is not None


def test_weakness_accepts_generated_keys() -> None:
    for _ in range(20):
        assert weakness(public_key_of(Ed25519PrivateKey.generate())) is None


@pytest.mark.parametrize("hexkey", [SMALL_ORDER[0], SMALL_ORDER[2], SMALL_ORDER[4], NON_CANONICAL[0]])
def test_register_device_refuses_weak_key(sqlite_db: Database, hexkey: str) -> None:
    with sqlite_db.begin() as conn:
        create_submitter(conn, role=AuthRole.AGENT)
        with pytest.raises(InputError, match="refused Ed25519 public key"):
            register_device(conn, submitter_id=1, public_key=device_key_id(bytes.fromhex(hexkey)))


def test_verify_signature_refuses_signature_without_private_key() -> None:
    with pytest.raises(VerificationError, match="small order"):
        verify_signature(bytes.fromhex(SMALL_ORDER[0]), b"any message", NO_KEY_SIGNATURE)
    key = Ed25519PrivateKey.generate()
    verify_signature(public_key_of(key), b"m", sign(key, b"m"))


def test_device_public_key_refuses_weak_key_offline() -> None:
    with pytest.raises(InputError, match="small order") as caught:
        device_public_key(device_key_id(bytes.fromhex(SMALL_ORDER[0])))
    assert caught.value.problems[0].where == "submitter_key"
