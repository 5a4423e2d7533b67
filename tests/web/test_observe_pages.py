"""The cheap-phone observation pages: a checklist and an incident sent from a 360 px page in Debian's
chromium, then found on the observation page's map and timeline; the forms without a browser too."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.intake.testing import SLUG
from pollwatch.storage import Database, observations
from tests.web.conftest import _free_port
from tests.web.dashboard_data import PERSONAL, register

PHONE = {"width": 360, "height": 740}
YES_NO = ("CE", "CF", "CG", "CH", "CJ", "CK", "CL", "CM")


@pytest.fixture(scope="module")
def observe_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Database, dict[str, str]]]:
    home = tmp_path_factory.mktemp("observe-live")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("POLLWATCH_HOME", str(home))
        db = Database(f"sqlite:///{home / 'observe.sqlite3'}")
        db.upgrade()
        tokens = register(db)  # NA-1 is "Lahore-I": the map has a district for it
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(db), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", db, tokens
        server.should_exit = True
        thread.join(timeout=10)
        db.dispose()


@pytest.mark.browser
def test_a_checklist_and_an_incident_from_a_phone_reach_the_map(
    observe_server: tuple[str, Database, dict[str, str]], browser: Any
) -> None:
    url, db, tokens = observe_server
    page = browser.new_context(viewport=PHONE, device_scale_factor=1).new_page()
    page.goto(f"{url}/observe?election={SLUG}&form=pk-count")
    page.fill("#token", tokens["observer"])
    page.fill("#constituency", "NA-1")
    page.fill("#station", "1")
    for tag, value in (("CA", "120"), ("CB", "80"), ("CC", "200"), ("CD", "4")):
        page.fill(f"#{tag}", value)
    for tag in YES_NO:
        page.check(f"input[name={tag}][value=Y]")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.click("button[type=submit]")
    assert "Received: log entry" in page.inner_text("[data-testid=received]")
    page.goto(f"{url}/observe?election={SLUG}&form=incident")  # the token is now remembered
    page.fill("#constituency", "NA-1")
    page.fill("#station", "2")
    page.select_option("#category", "box_unsealed")
    page.fill("#description", "The seal of box 2 was broken before the count")
    page.click("button[type=submit]")
    assert "Received: log entry" in page.inner_text("[data-testid=received]")
    with db.connect() as conn:
        assert observations.count_checklists(conn, 1) == 1
    deadline = time.monotonic() + 10
    while True:
        page.goto(f"{url}/elections/{SLUG}/observation")
        timeline = page.inner_text("[data-testid=timeline]")
        if "box_unsealed" in timeline or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert "box_unsealed" in timeline
    lahore = page.locator("[data-testid=incident-map] path:has(title:text-matches('^Lahore'))")
    assert lahore.count() >= 1
    assert lahore.first.get_attribute("fill") != "#e4e4e4"  # the district of NA-1 is coloured
    html = page.content()
    assert not any(p in html for p in PERSONAL)


def test_the_forms_without_a_browser(observe_server: tuple[str, Database, dict[str, str]]) -> None:
    url, _, tokens = observe_server
    chooser = httpx.get(f"{url}/observe?election={SLUG}").text
    assert 'value="pk-count"' in chooser
    assert 'value="incident"' in chooser
    urdu = httpx.get(f"{url}/ur/observe?election={SLUG}&form=pk-count").text
    assert 'dir="rtl"' in urdu
    assert "مردوں کے ڈالے گئے ووٹ" in urdu  # the form's own Urdu question text
    bad = httpx.post(
        f"{url}/observe",
        data={
            "token": tokens["observer"],
            "election": SLUG,
            "form": "pk-count",
            "submission_id": "web-bad-00001",
            "constituency": "NA-1",
            "station": "3",
            "CA": "12a",
        },
    )
    assert bad.status_code == 422
    assert re.search(r"<b>CA</b>: not a whole number", bad.text)
    assert 'value="NA-1"' in bad.text  # what was typed is kept


def test_the_observation_form_app_route_is_thin(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    db.upgrade()
    with TestClient(create_app(db)) as client:
        assert client.get("/observe").status_code == 200  # the chooser asks for the election first
