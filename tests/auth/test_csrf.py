"""The web form's CSRF token: an HMAC of the API token under a server secret shared by the workers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pollwatch.auth import csrf
from pollwatch.errors import ForbiddenError, StorageError


def test_secret_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "csrf.key"
    first = csrf.load_secret(path)
    assert len(first) == 32
    assert path.stat().st_mode & 0o077 == 0
    assert csrf.load_secret(path) == first


def test_concurrent_workers_agree_on_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "csrf.key"
    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(lambda _: csrf.load_secret(path), range(32)))
    assert len(secrets) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csrf.key"]  # no temporary file left


def test_damaged_secret_is_refused_with_a_remedy(tmp_path: Path) -> None:
    path = tmp_path / "csrf.key"
    path.write_text("not hex\n")
    with pytest.raises(StorageError, match="damaged") as caught:
        csrf.load_secret(path)
    assert "delete the file" in caught.value.remedy


def test_token_is_bound_to_the_api_token_and_the_secret() -> None:
    secret, other = bytes(32), bytes([1]) * 32
    value = csrf.csrf_token(secret, "pw_alice")
    assert "pw_alice" not in value
    assert value == csrf.csrf_token(secret, "pw_alice")
    assert value != csrf.csrf_token(secret, "pw_bob")
    assert value != csrf.csrf_token(other, "pw_alice")


@pytest.mark.parametrize(
    ("presented", "found"),
    [("", "no csrf field"), ("x" * 43, "does not match"), ("é" * 43, "does not match")],
)
def test_missing_or_wrong_token_is_forbidden(presented: str, found: str) -> None:
    with pytest.raises(ForbiddenError, match="not sent from this site") as caught:
        csrf.verify_csrf(bytes(32), "pw_alice", presented)
    assert found in caught.value.problems[0].found
    assert caught.value.problems[0].where == "csrf"
