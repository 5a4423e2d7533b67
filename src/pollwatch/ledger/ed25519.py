"""Ed25519 public-key hygiene: refuse non-canonical encodings and points of small order.

A signature check alone does not prove that somebody holds a private key: for a public key of small
order (the identity point, the all-zero key and the other points of order 1, 2, 4 or 8), a
"signature" such as ``R = identity, S = 0`` verifies for every message under cofactored or lenient
verifiers. Device keys and the keys checked offline are therefore decoded here first (RFC 8032
section 5.1.3) and refused unless the encoding is canonical (``y < p``, no sign bit on ``x = 0``)
and ``[8]A`` is not the identity.

References
----------
RFC 8032, Edwards-Curve Digital Signature Algorithm, sections 5.1.3 (decoding) and 5.1.4 (addition).
Chalkias, Garillot and Nikolaenko, "Taming the many EdDSAs", SSR 2020 (small-order keys).
"""

from __future__ import annotations

from functools import lru_cache

from pollwatch.errors import InputError

_P = 2**255 - 19
_D = (-121665 * pow(121666, -1, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_IDENTITY = (0, 1)


def _decode(raw: bytes) -> tuple[int, int] | str:
    """Return the affine point ``(x, y)`` of a 32-byte encoding, or why it is not a canonical point."""
    number = int.from_bytes(raw, "little")
    sign, y = number >> 255, number & ((1 << 255) - 1)
    if y >= _P:  # 1. y must be reduced modulo p
        return "a non-canonical encoding (y >= p)"
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P  # 2. candidate root
    if (v * x * x - u) % _P != 0:
        x = (x * _SQRT_M1) % _P  # 3. the other root
        if (v * x * x - u) % _P != 0:
            return "not a point on the curve"
    if x == 0 and sign:  # 4. x = 0 has only one encoding
        return "a non-canonical encoding (x = 0 with the sign bit set)"
    if x & 1 != sign:
        x = _P - x
    return x, y


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """The complete twisted Edwards addition law for ``-x^2 + y^2 = 1 + d x^2 y^2``."""
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, -1, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, _P) % _P
    return x3, y3


@lru_cache(maxsize=4096)
def weakness(raw: bytes) -> str | None:
    """Why ``raw`` is not an acceptable Ed25519 public key (None when it is one)."""
    if len(raw) != 32:
        return "not 32 bytes"
    point = _decode(raw)
    if isinstance(point, str):
        return point
    for _ in range(3):  # [8]A by three doublings
        point = _add(point, point)
    if point == _IDENTITY:
        return "a point of small order (no private key stands behind it)"
    return None


def verify_strong_key(raw: bytes, *, where: str) -> None:
    """Raise InputError unless ``raw`` is a canonical Ed25519 public key of large order."""
    why = weakness(raw)
    if why is not None:
        raise InputError(
            f"refused Ed25519 public key: {why}",
            where=where,
            expected="the public key of a freshly generated Ed25519 key pair",
            found=raw.hex(),
            remedy="generate a new key pair on the device with a standard Ed25519 library",
        )
