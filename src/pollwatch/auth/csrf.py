"""CSRF tokens for the cookie-authenticated web form: an HMAC of the API token under a server secret.

>>> secret = bytes(32)
>>> value = csrf_token(secret, "pw_example")
>>> verify_csrf(secret, "pw_example", value)
>>> verify_csrf(secret, "pw_other", value)
Traceback (most recent call last):
...
pollwatch.errors.ForbiddenError: the form was not sent from this site's own page; nothing was written
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from pollwatch import config
from pollwatch.errors import ForbiddenError, StorageError

_PURPOSE = b"pollwatch web form csrf v1\x00"
REFUSED = "the form was not sent from this site's own page; nothing was written"


def secret_path() -> Path:
    """Where the server secret lives: shared by every worker process that shares POLLWATCH_HOME."""
    return config.home() / "keys" / "csrf.key"


def load_secret(path: Path) -> bytes:
    """Read the 32-byte secret, creating it on first use (atomically: concurrent workers agree on one)."""
    if not path.exists():
        _create(path)
    text = path.read_text().strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != 32:
        raise StorageError(
            "the CSRF secret file is damaged",
            where=str(path),
            expected="64 hex digits",
            found=f"{len(text)} characters",
            remedy="delete the file: a new secret is made and open forms must be reloaded",
        )
    return secret


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_bytes(32).hex() + "\n")
    try:
        with contextlib.suppress(FileExistsError):  # another worker got there first: its secret wins
            os.link(temporary, path)
    finally:
        temporary.unlink()


def csrf_token(secret: bytes, api_token: str) -> str:
    """The hidden-field value for the holder of ``api_token``: only this server can compute it."""
    mac = hmac.new(secret, _PURPOSE + api_token.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def verify_csrf(secret: bytes, api_token: str, presented: str) -> None:
    """Raise ForbiddenError unless ``presented`` is the CSRF token of ``api_token`` (constant time)."""
    expected = csrf_token(secret, api_token).encode("ascii")
    if presented and hmac.compare_digest(expected, presented.encode("utf-8", "replace")):
        return
    raise ForbiddenError(
        REFUSED,
        where="csrf",
        expected="the hidden csrf field of a form served by /submit to the holder of the saved token",
        found="a csrf value that does not match the saved token" if presented else "no csrf field",
        remedy="open /submit again and send the form from there (or type your token into it)",
    )
