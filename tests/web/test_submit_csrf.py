"""The web form's CSRF defence: with the saved-token cookie, a POST needs the form's own hidden field."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from pollwatch.api.app import create_app
from pollwatch.auth import AuthRole, create_submitter
from pollwatch.intake.testing import SLUG, create_tiny_election
from pollwatch.storage import Database
from pollwatch.storage import intake_schema as ti
from pollwatch.storage import log as logstore

FIELDS = {"election": SLUG, "constituency": "NA-2", "station": "2", "votes": "7,8,9", "valid": "24"}


def _png() -> bytes:
    """A real photo: a refused POST must not store it either."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def setup(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POLLWATCH_RECEIPT_WAIT", "0")
    create_tiny_election(sqlite_db)
    with sqlite_db.begin() as conn:
        _, admin = create_submitter(conn, role=AuthRole.ADMIN)
        _, other = create_submitter(conn, role=AuthRole.ADMIN)
    return {"admin": admin, "other": other}


@pytest.fixture
def client(sqlite_db: Database, setup: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_db)) as test_client:
        yield test_client


def _written(db: Database) -> tuple[int, int, int]:
    with db.connect() as conn:
        subs = conn.execute(select(func.count()).select_from(ti.submissions)).scalar_one()
        photos = conn.execute(select(func.count()).select_from(ti.photos)).scalar_one()
        return logstore.count_entries(conn), int(subs), int(photos)


def _hidden_csrf(page: str) -> str | None:
    found = re.search(r'<input type="hidden" name="csrf" value="([^"]*)">', page)
    return None if found is None else found.group(1)


def _login(client: TestClient, token: str) -> None:
    """First login: the token typed into the form, no CSRF field; the answer saves the cookie."""
    page = client.post("/submit", data={**FIELDS, "token": token, "submission_id": "web-login-1"})
    assert page.status_code == 201, page.text
    assert client.cookies.get("pw_token") == token


def test_first_login_with_a_typed_token_needs_no_csrf_field(
    client: TestClient, setup: dict[str, str]
) -> None:
    assert _hidden_csrf(client.get("/submit").text) is None  # no cookie: the form asks for the token
    _login(client, setup["admin"])


def test_form_with_the_saved_token_carries_a_csrf_field_that_is_not_the_token(
    client: TestClient, setup: dict[str, str]
) -> None:
    _login(client, setup["admin"])
    value = _hidden_csrf(client.get("/submit").text)
    assert value
    assert setup["admin"] not in value
    assert value == _hidden_csrf(client.get("/submit").text)  # one per session, not per page


@pytest.mark.parametrize(
    ("csrf", "found"), [(None, "no csrf field"), ("forged", "does not match"), ("other", "does not match")]
)
def test_cookie_post_without_the_right_field_is_403_and_writes_nothing(
    client: TestClient, setup: dict[str, str], sqlite_db: Database, csrf: str | None, found: str
) -> None:
    if csrf == "other":  # a real field, but of another token's session
        client.cookies.set("pw_token", setup["other"])
        csrf = _hidden_csrf(client.get("/submit").text)
        client.cookies.clear()
    _login(client, setup["admin"])
    before = _written(sqlite_db)
    data = {**FIELDS, "submission_id": "web-csrf-01", "votes": "77,88,99"}
    if csrf is not None:
        data["csrf"] = csrf
    page = client.post("/submit", data=data, files={"photo": ("f.png", _png(), "image/png")})
    assert page.status_code == 403
    assert "the form was not sent from this site&#39;s own page; nothing was written" in page.text
    assert found in page.text
    assert "77,88,99" not in page.text  # what the foreign page posted is not echoed back
    assert _written(sqlite_db) == before


def test_cookie_post_with_the_forms_own_field_is_accepted(
    client: TestClient, setup: dict[str, str], sqlite_db: Database
) -> None:
    _login(client, setup["admin"])
    before = _written(sqlite_db)
    csrf = _hidden_csrf(client.get("/submit").text)
    assert csrf is not None
    page = client.post("/submit", data={**FIELDS, "submission_id": "web-csrf-02", "csrf": csrf})
    assert page.status_code == 201, page.text
    assert "Sheet received" in page.text
    assert _written(sqlite_db)[:2] == (before[0] + 1, before[1] + 1)


def test_csrf_field_is_valid_in_every_worker_sharing_the_home(
    sqlite_db: Database, setup: dict[str, str]
) -> None:
    with TestClient(create_app(sqlite_db)) as first, TestClient(create_app(sqlite_db)) as second:
        first.cookies.set("pw_token", setup["admin"])
        second.cookies.set("pw_token", setup["admin"])
        csrf = _hidden_csrf(first.get("/submit").text)
        assert csrf is not None
        page = second.post("/submit", data={**FIELDS, "submission_id": "web-csrf-03", "csrf": csrf})
    assert page.status_code == 201, page.text
