"""The /submit form in a real browser with JavaScript off: first login by token, then the saved token."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from PIL import Image

from pollwatch.api.app import create_app
from pollwatch.auth import AuthRole, create_submitter
from pollwatch.intake.testing import SLUG, create_tiny_election
from pollwatch.storage import Database
from pollwatch.storage import log as logstore
from tests.web.conftest import _free_port

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def form_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Database]]:
    """A live server on a tiny election: (base URL, an admin token, the database)."""
    home = tmp_path_factory.mktemp("form-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("POLLWATCH_HOME", str(home))
        env.setenv("POLLWATCH_RECEIPT_WAIT", "0.5")
        db = Database(f"sqlite:///{home / 'form.sqlite3'}")
        db.upgrade()
        create_tiny_election(db)
        with db.begin() as conn:
            _, token = create_submitter(conn, role=AuthRole.ADMIN)
        port = _free_port()
        config = uvicorn.Config(create_app(db), host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", token, db
        server.should_exit = True
        thread.join(timeout=10)
        db.dispose()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (5, 6, 7)).save(buffer, "PNG")
    return buffer.getvalue()


def _leaves(db: Database) -> int:
    with db.connect() as conn:
        return logstore.count_entries(conn)


def test_form_works_without_javascript_first_by_token_then_by_saved_token(
    form_server: tuple[str, str, Database], browser: Any, tmp_path: Path
) -> None:
    base, token, db = form_server
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{base}/submit?election={SLUG}&constituency=NA-1")
    assert page.locator("input[name=csrf]").count() == 0  # no saved token yet
    page.fill("#token", token)
    page.fill("#station", "1")
    for box, votes in (("#c1", "300"), ("#c2", "200"), ("#c3", "100")):
        page.fill(box, votes)
    page.fill("#valid", "600")
    photo = tmp_path / "sheet.png"
    photo.write_bytes(_png())
    page.set_input_files("#photo", str(photo))
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Sheet received"
    assert _leaves(db) == 1
    saved = {c["name"]: c for c in context.cookies()}["pw_token"]
    assert (saved["httpOnly"], saved["sameSite"]) == (True, "Strict")

    page.click("text=Submit another sheet")
    assert page.locator("#token").count() == 0  # the cookie is used now...
    assert page.locator("input[name=csrf]").count() == 1  # ...so the form carries its CSRF field
    page.fill("#constituency", "NA-2")
    page.fill("#station", "2")
    page.fill("#votes", "7,8,9")
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Sheet received"
    assert _leaves(db) == 2
    context.close()
