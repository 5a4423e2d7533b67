"""The field app in Debian's chromium: enrol from a QR payload, capture and sign on the phone, a shutdown
with a reload, the queue drained exactly once with receipts that verify, SMS text, Urdu, 2G, refusals."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from typer.testing import CliRunner

from pollwatch.cli.main import app as cli
from pollwatch.intake.kinds.incident import IncidentSubmission
from pollwatch.intake.sms import parse_sms
from pollwatch.intake.sms_observe import parse_observation
from pollwatch.intake.testing import SLUG
from pollwatch.ledger.records import LeafRecord, parse_leaf
from pollwatch.ledger.settings import load_settings
from pollwatch.ledger.verify import device_signature_valid
from pollwatch.model import Role
from pollwatch.observe.incidents import categories
from pollwatch.storage import log as log_store
from pollwatch.storage import photos as photo_store
from tests.fieldapp.conftest import Site

pytestmark = pytest.mark.browser
Page = Any
Context = Any


def enrolled(browser: Any, site: Site, who: str, lang: str = "en") -> tuple[Context, Page]:
    """A fresh phone (its own storage) that opened the coordinator's QR address and tapped Enrol."""
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(site.app_url(who, lang))
    page.wait_for_selector("body[data-ready=true]")
    page.click("#enrol-btn")
    page.wait_for_selector("#tabs:not([hidden])", timeout=10_000)
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    return context, page


def capture_sheet(
    page: Page, *, station: str, votes: tuple[int, ...], rejected: int, photo: Path | None = None,
    polled: int | None = None,
) -> str:  # fmt: skip
    """Fill the sheet as an agent reads it off the paper and save it; return its submission id."""
    page.select_option("#station", station)
    for n, v in enumerate(votes, start=1):
        page.fill(f"input[data-ballot='{n}']", str(v))
    page.fill("#total-valid", str(sum(votes)))
    page.fill("#total-rejected", str(rejected))
    page.fill("#total-polled", str(sum(votes) + rejected if polled is None else polled))
    if photo is not None:
        page.set_input_files("#photo", str(photo))
        page.wait_for_function("() => document.getElementById('photo-hash').textContent.length > 0")
    before = page.inner_text("#sheet-msg")
    page.click("#save-sheet")
    page.wait_for_function("b => document.getElementById('sheet-msg').textContent !== b", arg=before)
    return str(page.inner_text("#sheet-msg")).rsplit(" ", 1)[-1]


def capture_opening(page: Page, station: str) -> str:
    page.click("#tabs button[data-tab=checklist]")
    page.select_option("#cl-form", "pk-opening")
    page.dispatch_event("#cl-form", "change")
    page.select_option("#cl-station", station)
    page.fill("#q-AA", "08:05")
    for tag in ("AB", "AD", "AF", "AH"):
        page.select_option(f"#q-{tag}", "true")
    page.fill("#q-AC", "1200")
    before = page.inner_text("#checklist-msg")
    page.click("#save-checklist")
    page.wait_for_function("b => document.getElementById('checklist-msg').textContent !== b", arg=before)
    page.click("#tabs button[data-tab=sheet]")
    return str(page.inner_text("#checklist-msg")).rsplit(" ", 1)[-1]


def capture_incident(page: Page, *, station: str, category: str, severity: str, text: str) -> str:
    """Report an incident from the Incident tab; return what the app says (the id once queued)."""
    page.click("#tabs button[data-tab=incident]")
    page.select_option("#inc-category", category)
    page.select_option("#inc-severity", severity)
    page.select_option("#inc-station", station)
    page.fill("#inc-text", text)
    before = page.inner_text("#incident-msg")
    page.click("#save-incident")
    page.wait_for_function("b => document.getElementById('incident-msg').textContent !== b", arg=before)
    said = str(page.inner_text("#incident-msg"))
    page.click("#tabs button[data-tab=sheet]")
    return said.rsplit(" ", 1)[-1]


def wait_received(page: Page, count: int, timeout: float = 60_000) -> None:
    page.wait_for_function(
        "n => Number(document.getElementById('queue-summary').dataset.received) >= n",
        arg=count,
        timeout=timeout,
    )


def logged(site: Site) -> list[dict[str, Any]]:
    """Every entry of the public log, parsed."""
    with site.db.connect() as conn:
        return [
            dict(parse_leaf(data).body, type=parse_leaf(data).type)
            for _, data in log_store.iter_entries(conn)
        ]


def leaf_of(site: Site, submission_id: str) -> int:
    with site.db.connect() as conn:
        return next(i for i, data in log_store.iter_entries(conn)
                    if parse_leaf(data).body.get("submission_id") == submission_id)  # fmt: skip


def stored_photo(site: Site, digest: str) -> Any:
    with site.db.connect() as conn:
        return photo_store.get_photo(conn, digest)


def photo_file(tmp_path: Path) -> Path:
    image = Image.new("RGB", (2400, 1800), (240, 240, 230))
    for x in range(0, 2400, 40):
        for y in range(0, 1800, 300):
            image.putpixel((x, y), (0, 0, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    path = tmp_path / "form45.jpg"
    path.write_bytes(out.getvalue())
    return path


def test_enrol_from_the_qr_payload_registers_a_key_made_in_the_browser(browser: Any, site: Site) -> None:
    context, page = enrolled(browser, site, "agent")
    assert "agent" in page.inner_text("[data-testid=who]")
    assert "#enrol=" not in page.url  # the one-time code leaves the address bar
    # The assigned stations are a list to pick from, with each candidate's name and party.
    assert page.eval_on_selector_all("#station option", "os => os.map(o => o.value)") == ["NA-1|1", "NA-1|2"]
    assert "Party 2" in page.inner_text("#ballot")
    # The private key is a non-extractable CryptoKey: the app cannot export it, nor can anything else.
    exportable = page.evaluate("""async () => {
        const db = await new Promise(r => {
            const q = indexedDB.open('pollwatch-app'); q.onsuccess = () => r(q.result); });
        const key = await new Promise(r => {
            const q = db.transaction('kv').objectStore('kv').get('device');
            q.onsuccess = () => r(q.result); });
        return key.privateKey.extractable; }""")
    assert exportable is False
    context.close()


def test_a_sheet_with_a_photo_is_signed_in_chromium_and_verifies_on_the_server_and_offline(
    browser: Any, site: Site, tmp_path: Path
) -> None:
    context, page = enrolled(browser, site, "agent")
    original = photo_file(tmp_path)
    sid = capture_sheet(page, station="NA-1|2", votes=(300, 200, 100), rejected=10, photo=original)
    wait_received(page, 1)
    page.click("#tabs button[data-tab=receipts]")
    page.wait_for_selector(f"#receipt-list li[data-id='{sid}'][data-verified=true]")
    entries = logged(site)
    (sheet,) = [e for e in entries if e.get("submission_id") == sid]
    assert sheet["votes"] == {"1": 300, "2": 200, "3": 100}
    assert sheet["totals"]["polled"] == 610
    assert sheet["photo_sha256"] == hashlib.sha256(original.read_bytes()).hexdigest()  # the original's hash
    assert (
        device_signature_valid(LeafRecord("sheet", {k: v for k, v in sheet.items() if k != "type"})) is True
    )
    # The downscaled copy is tied to the sheet's leaf by a signed photo record, and its bytes are stored.
    wait_received(page, 2)  # the sheet, then the signed photo record that names its leaf
    (photo,) = [e for e in logged(site) if e.get("submission_id") == f"{sid}.photo"]
    assert photo["photo_sha256"] != sheet["photo_sha256"]
    assert photo["sheets"] == [leaf_of(site, sid)]
    deadline = time.monotonic() + 20
    while stored_photo(site, photo["photo_sha256"]) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    stored = stored_photo(site, photo["photo_sha256"])
    assert stored is not None
    assert max(stored["width"], stored["height"]) == 1600  # downscaled from 2400 x 1800
    # pollwatch verify: the exported bundle, the app's device signature included, checks out.
    bundle = tmp_path / "bundle"
    runner = CliRunner()
    out = runner.invoke(cli, ["bundle", "export", str(bundle), "--db", site.db.url])
    assert out.exit_code == 0, out.output
    vkey = load_settings().signer.verifier().vkey
    out = runner.invoke(cli, ["verify", str(bundle), "--log-key", vkey, "--format", "json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["ok"] is True
    assert "device" in out.output
    context.close()


def test_a_shutdown_queues_seventy_records_through_a_reload_and_each_arrives_once(
    browser: Any, site: Site
) -> None:
    context, page = enrolled(browser, site, "observer")
    context.set_offline(True)
    page.wait_for_function("() => document.getElementById('net').dataset.online === 'false'")
    ids = [capture_sheet(page, station=f"NA-1|{1 + n % 30}", votes=(100 + n, 50, 25), rejected=n % 7)
           for n in range(50)]  # fmt: skip
    ids += [capture_opening(page, f"NA-1|{1 + n}") for n in range(20)]
    assert len(set(ids)) == 70
    page.reload()  # still offline: the service worker serves the app, the queue is in IndexedDB
    page.wait_for_selector("body[data-ready=true]")
    page.click("#tabs button[data-tab=queue]")
    page.wait_for_function("() => document.getElementById('queue-summary').dataset.waiting === '70'")
    assert page.evaluate("() => navigator.onLine") is False
    context.set_offline(False)
    wait_received(page, 70, timeout=120_000)
    page.click("#tabs button[data-tab=receipts]")
    page.wait_for_function(
        "() => document.querySelectorAll('#receipt-list li[data-verified=true]').length === 70",
        timeout=60_000,
    )
    mine = Counter(e["submission_id"] for e in logged(site) if e.get("submission_id") in set(ids))
    assert mine == Counter(dict.fromkeys(ids, 1))  # every record exactly once in the public log
    assert page.evaluate("() => document.getElementById('queue-summary').dataset.waiting") == "0"
    context.close()


def test_the_sms_fallback_text_parses_on_the_server_to_the_same_numbers(browser: Any, site: Site) -> None:
    context, page = enrolled(browser, site, "agent")
    context.set_offline(True)
    capture_sheet(page, station="NA-1|1", votes=(412, 388, 9), rejected=14, polled=830)  # a mismatch, marked
    link = page.locator("[data-testid=sms-link]")
    assert link.is_visible()
    assert str(link.get_attribute("href")).startswith("sms:")
    text = str(link.get_attribute("data-text"))
    parsed = parse_sms(text, election=SLUG, rule_pack="pakistan", role=Role.AGENT, organisation="PartyA",
                       submitter_key="sub-test").submission  # fmt: skip
    assert (parsed.constituency, parsed.station) == ("NA-1", "1")
    assert parsed.votes == {"1": 412, "2": 388, "3": 9}
    assert (parsed.totals.valid, parsed.totals.rejected, parsed.totals.polled) == (809, 14, 830)
    context.close()


def test_the_arithmetic_is_shown_live_and_a_mismatch_is_marked(browser: Any, site: Site) -> None:
    context, page = enrolled(browser, site, "agent")
    page.fill("input[data-ballot='1']", "10")
    page.fill("#total-valid", "11")
    assert page.locator("#arith li[data-ok=false]").count() == 1
    page.fill("#total-valid", "10")
    assert page.locator("#arith li[data-ok=false]").count() == 0
    context.close()


def test_the_urdu_app_is_right_to_left(browser: Any, site: Site) -> None:
    context, page = enrolled(browser, site, "agent", lang="ur")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.evaluate("() => getComputedStyle(document.body).direction") == "rtl"
    assert "فارم" in page.inner_text("#tabs")
    assert page.evaluate("() => document.documentElement.scrollWidth <= 360")
    context.close()


def test_a_refusal_is_shown_in_the_persons_language(browser: Any, site: Site) -> None:
    context, page = enrolled(browser, site, "agent", lang="ur")
    # A stale list offers a station no longer assigned: the server refuses it, the app says why in Urdu.
    page.evaluate("""() => { const o = document.createElement('option');
        o.value = 'NA-1|3'; o.textContent = 'NA-1 3'; document.getElementById('station').appendChild(o); }""")
    capture_sheet(page, station="NA-1|3", votes=(1, 2, 3), rejected=0)
    page.click("#tabs button[data-tab=queue]")
    row = page.locator("#queue-list li[data-code=outside_assignment]")
    row.wait_for(timeout=20_000)
    assert "آپ اس پولنگ اسٹیشن پر مقرر نہیں ہیں" in row.inner_text()
    context.close()


def test_a_received_sheet_can_be_corrected_by_a_record_that_supersedes_it(browser: Any, site: Site) -> None:
    context, page = enrolled(browser, site, "agent")
    sid = capture_sheet(page, station="NA-1|1", votes=(5, 6, 7), rejected=1)
    wait_received(page, 1)
    page.click("#tabs button[data-tab=receipts]")
    page.click(f"#receipt-list li[data-id='{sid}'] button")
    page.fill("input[data-ballot='1']", "50")
    page.fill("#total-valid", "63")
    page.fill("#total-polled", "64")
    fixed = capture_sheet(page, station="NA-1|1", votes=(50, 6, 7), rejected=1)
    wait_received(page, 2)
    entries = {e.get("submission_id"): e for e in logged(site)}
    original = entries[sid]
    assert entries[fixed]["supersedes"] == leaf_of(site, sid)
    assert entries[fixed]["votes"]["1"] == 50
    assert original["votes"]["1"] == 5
    context.close()


def test_the_app_works_at_2g_speed(browser: Any, site: Site) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 800,
             "downloadThroughput": 250 * 1024 / 8, "uploadThroughput": 50 * 1024 / 8})  # fmt: skip
    page.goto(site.app_url("agent"), timeout=120_000)
    page.wait_for_selector("body[data-ready=true]", timeout=120_000)
    page.click("#enrol-btn")
    page.wait_for_selector("#tabs:not([hidden])", timeout=60_000)
    capture_sheet(page, station="NA-1|1", votes=(7, 8, 9), rejected=2)
    wait_received(page, 1, timeout=120_000)
    context.close()


def test_a_receipt_checked_against_another_key_or_tampered_is_not_verified(browser: Any, site: Site) -> None:
    context, page = enrolled(browser, site, "agent")
    sid = capture_sheet(page, station="NA-1|1", votes=(4, 5, 6), rejected=0)
    wait_received(page, 1)
    other_key = str(Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex())
    verdicts = page.evaluate(
        """async ([id, otherKey]) => {
        const { verifyReceipt } = await import('/static/tlog.js');
        const { getItem, getKv } = await import('/static/app/store.js');
        const item = await getItem(id), key = (await getKv('enrolment')).log_key;
        const [name, keyId] = key.split('+');
        const raw = Uint8Array.from(otherKey.match(/../g), (h) => parseInt(h, 16));
        const bytes = new Uint8Array([1, ...raw]);
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256',
            new Uint8Array([...new TextEncoder().encode(name + '\\n'), ...bytes])));
        const hex = Array.from(digest.slice(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
        const impostor = `${name}+${hex}+${btoa(String.fromCharCode(...bytes))}`;
        const lines = item.receipt.split('\\n');
        const at = lines.findIndex((l) => l.startsWith('index ')) + 1;
        const flipped = [...lines];
        if (at < lines.indexOf('')) flipped[at] = btoa(String.fromCharCode(...new Uint8Array(32)));
        else flipped.splice(at, 0, btoa(String.fromCharCode(...new Uint8Array(32))));
        return [(await verifyReceipt(item.receipt, key)).ok, (await verifyReceipt(item.receipt, impostor)).ok,
                (await verifyReceipt(flipped.join('\\n'), key)).ok, keyId.length];
    }""",
        [sid, other_key],
    )
    assert verdicts[:3] == [True, False, False]
    context.close()


def test_an_incident_captured_online_arrives_signed_with_its_category(browser: Any, site: Site) -> None:
    context, page = enrolled(browser, site, "agent")
    # The categories offered are the server's taxonomy, in its order.
    offered = page.eval_on_selector_all("#inc-category option", "os => os.map(o => o.value)")
    assert offered == list(categories())
    # Text the server would refuse (a phone number) is refused on the phone: nothing signed, nothing queued.
    page.click("#tabs button[data-tab=incident]")
    page.select_option("#inc-station", "NA-1|2")
    page.fill("#inc-text", "call 0300 1234567 for details")
    page.click("#save-incident")
    page.wait_for_selector("#incident-msg[data-refused=contact]")
    assert page.evaluate("() => import('/static/app/store.js').then(s => s.listItems())") == []
    sid = capture_incident(page, station="NA-1|2", category="pre_marked_ballots", severity="high",
                           text="Stamped ballots found in a box before polling began")  # fmt: skip
    wait_received(page, 1)
    page.click("#tabs button[data-tab=receipts]")
    page.wait_for_selector(f"#receipt-list li[data-id='{sid}'][data-verified=true]")
    (leaf,) = [e for e in logged(site) if e.get("submission_id") == sid]
    assert leaf["type"] == "incident"
    assert (leaf["category"], leaf["severity"]) == ("pre_marked_ballots", "high")
    assert (leaf["constituency"], leaf["station"]) == ("NA-1", 2)
    assert leaf["description"] == "Stamped ballots found in a box before polling began"
    assert leaf["submitter_key"].startswith("ed25519:")
    body = {k: v for k, v in leaf.items() if k != "type"}
    assert device_signature_valid(LeafRecord("incident", body)) is True
    assert device_signature_valid(LeafRecord("incident", {**body, "severity": "low"})) is False
    context.close()


def test_incidents_captured_offline_are_queued_and_arrive_once(browser: Any, site: Site) -> None:
    context, page = enrolled(browser, site, "observer")
    context.set_offline(True)
    page.wait_for_function("() => document.getElementById('net').dataset.online === 'false'")
    kinds = ("other", "late_opening", "materials_missing")
    ids = [capture_incident(page, station=f"NA-1|{5 + n}", category=c, severity="medium", text=f"seen at {n}")
           for n, c in enumerate(kinds)]  # fmt: skip
    assert len(set(ids)) == 3
    # Offline, the last one offers its SMS text, which the server's observation grammar reads back.
    link = page.locator("[data-testid=inc-sms-link]")
    assert link.get_attribute("hidden") is None
    assert str(link.get_attribute("href")).startswith("sms:")
    now = dt.datetime.now(dt.UTC)
    sms = parse_observation(str(link.get_attribute("data-text")), election=SLUG, country="PK",
                            role=Role.OBSERVER, submitter_key="sub-test", now=now)  # fmt: skip
    assert isinstance(sms, IncidentSubmission)
    assert (sms.category, sms.constituency, sms.station) == ("materials_missing", "NA-1", 7)
    assert sms.submission_id == f"{ids[2]}.sms"
    page.click("#tabs button[data-tab=queue]")
    page.wait_for_function("() => document.getElementById('queue-summary').dataset.waiting === '3'")
    context.set_offline(False)
    wait_received(page, 3)
    page.click("#tabs button[data-tab=receipts]")
    page.wait_for_function(
        "() => document.querySelectorAll('#receipt-list li[data-verified=true]').length === 3"
    )
    entries = logged(site)
    mine = Counter(e["submission_id"] for e in entries if e.get("submission_id") in set(ids))
    assert mine == Counter(dict.fromkeys(ids, 1))  # each exactly once
    by_id = {e["submission_id"]: e for e in entries if e.get("submission_id") in set(ids)}
    assert [by_id[i]["category"] for i in ids] == list(kinds)
    assert all(by_id[i]["type"] == "incident" for i in ids)
    context.close()


def test_the_urdu_app_shows_the_incident_categories_in_urdu(browser: Any, site: Site) -> None:
    context, page = enrolled(browser, site, "agent", lang="ur")
    page.click("#tabs button[data-tab=incident]")
    labels = page.eval_on_selector_all("#inc-category option", "os => os.map(o => o.textContent)")
    assert labels == [c.text["ur"] for c in categories().values()]
    assert "واقعہ" in page.inner_text("#tabs")
    assert page.evaluate("() => document.documentElement.scrollWidth <= 360")
    context.close()
