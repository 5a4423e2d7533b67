import pytest
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_overview_page_shows_constituencies_in_a_real_browser(live_server: str, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(live_server + "/")
    rows = page.locator("[data-testid=constituencies] tbody tr")
    assert rows.count() == 12
    assert rows.first.locator("td").first.inner_text() == "SYN-1"
    assert "300 polling stations" in page.locator("[data-testid=summary]").inner_text()
    page.close()


def test_assembly_filter_link_keeps_the_election(live_server: str, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(live_server + "/elections/synth-11")
    page.click("nav.assemblies >> text=SYN")
    assert "assembly=SYN" in page.url
    assert page.locator("[data-testid=constituencies] tbody tr").count() == 12
    page.close()
