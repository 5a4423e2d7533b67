// pollwatch field app: enrol from a QR code, capture and sign on the phone, queue offline, send with
// backoff, keep and check receipts. docs/app.md describes it; no framework, ES modules served by pollwatch.
import { verifyReceipt } from "../tlog.js";
import { newDeviceKey, newSubmissionId, signRecord } from "./canonical.js";
import { arithmetic, contactDetails, formOptions, incidentOptions, placeOf, readAnswers, readSheet, renderBallot,
  renderQuestions, stationOptions, takePhoto } from "./capture.js";
import { incidentSmsText, smsLink, smsText } from "./sms.js";
import { getItem, getKv, getPhoto, listItems, putItem, putItems, putPhoto, setKv } from "./store.js";

const $ = (id) => document.getElementById(id);
const LANG = document.body.dataset.lang;
const MESSAGES = JSON.parse($("messages").textContent);
const t = (key) => MESSAGES[key] ?? key;
const BATCH = 100;
const state = { enrolment: null, device: null, context: null, photo: null, supersedes: null, timer: null };
let draining = null;

function show(id, on = true) { $(id).hidden = !on; }
function tab(name) {
  for (const s of document.querySelectorAll("section.tab")) s.hidden = s.id !== name;
  for (const b of document.querySelectorAll("#tabs button")) {
    if (b.dataset.tab === name) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
  if (name === "queue" || name === "receipts") renderLists();
}

// 1. Enrolment: the payload from the QR code's address (#enrol=base64url JSON), or pasted (JSON or address).
function parsePayload(text) {
  const s = text.trim();
  const m = /#enrol=([A-Za-z0-9_-]+)/.exec(s);
  if (m) {
    const b = m[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b + "=".repeat((4 - (b.length % 4)) % 4)), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  }
  return JSON.parse(s);
}

async function enrol(text) {
  $("enrol-msg").textContent = t("Enrolling…");
  try {
    const payload = parsePayload(text);
    if (payload.v !== 1 || !payload.code || !payload.log_key || !payload.election) throw new Error("not an enrolment payload");
    if (payload.server !== location.origin) throw new Error(`this code is for ${payload.server}, this app is ${location.origin}`);
    const device = await newDeviceKey();
    const r = await fetch("/api/v1/enrol", { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: payload.code, public_key: device.publicKey }) });
    const body = await r.json();
    if (!r.ok) throw new Error(refusalText(body));
    state.enrolment = { ...body, server: payload.server, log_key: payload.log_key, enrolled_at: new Date().toISOString() };
    state.device = device;
    await setKv("device", device);
    await setKv("enrolment", state.enrolment);
    history.replaceState(null, "", location.pathname); // the one-time code leaves the address bar
    await loadContext();
    start();
  } catch (err) {
    $("enrol-msg").textContent = String(err.message || err);
  }
}

function refusalText(body) {
  const e = (body && body.error) || {};
  const ours = MESSAGES[`refusal.${e.code}`];
  return [ours, e.message].filter(Boolean).join(" — ") || `HTTP error`;
}

const auth = () => ({ authorization: `Bearer ${state.enrolment.token}` });

async function loadContext(constituency) {
  const q = new URLSearchParams({ election: state.enrolment.election });
  if (constituency) q.set("constituency", constituency);
  const r = await fetch(`/api/v1/app/context?${q}`, { headers: auth() });
  const body = await r.json();
  if (!r.ok) throw new Error(refusalText(body));
  if (state.context && constituency) { // an observer adds a constituency to those already loaded
    body.places = [...state.context.places.filter((p) => p.constituency !== constituency), ...body.places];
  }
  state.context = body;
  await setKv("context", body);
}

function start() {
  const e = state.enrolment;
  show("enrol", false);
  show("who");
  $("who-text").textContent = `${t("Enrolled")}: ${e.role} · ${e.organisation || "–"} · ${e.election} · ${t("Device key")} ${e.device_key.slice(8, 20)}…`;
  show("tabs");
  show("place-pick", !state.context.assigned);
  renderCapture();
  tab("sheet");
  drainSoon(0);
}

function renderCapture() {
  const ctx = state.context;
  stationOptions($("station"), ctx.places);
  stationOptions($("cl-station"), ctx.places);
  stationOptions($("inc-station"), ctx.places);
  incidentOptions($("inc-category"), $("inc-severity"), { incidents: [], severities: [], ...ctx }, LANG, t);
  $("incident-form").hidden = !ctx.incidents || ctx.incidents.length === 0;
  renderBallot(ctx, t);
  arithmetic(t);
  formOptions($("cl-form"), ctx.forms, LANG);
  const form = ctx.forms.find((f) => f.form === $("cl-form").value);
  if (form) renderQuestions(form, LANG, t);
  $("checklist-form").hidden = ctx.forms.length === 0;
}

// 2-3. Capture a sheet, sign it on the phone, queue it with its client-made submission id.
async function saveSheet(event) {
  event.preventDefault();
  const started = performance.now();
  const ctx = state.context;
  const { place, serial } = placeOf(ctx.places, $("station").value || "");
  if (!place) { $("sheet-msg").textContent = t("Station"); return; }
  const { votes, totals } = readSheet();
  const rec = {
    election: ctx.election.slug, submission_id: newSubmissionId("app"), kind: ctx.sheet.kind, form: ctx.sheet.form,
    constituency: place.constituency, station: String(serial), votes, totals, role: state.enrolment.role,
    captured_at: new Date().toISOString(), photo_sha256: state.photo ? state.photo.originalHash : null,
    supersedes: state.supersedes,
  };
  const signed = await signRecord("sheet", rec, state.device, state.enrolment.organisation);
  const item = newItem("sheet", signed);
  if (state.photo) {
    await putPhoto(state.photo.originalHash, state.photo.original);
    await putPhoto(state.photo.uploadHash, state.photo.upload);
    item.photo = { original: state.photo.originalHash, upload: state.photo.uploadHash };
  }
  await putItem(item);
  $("sheet-msg").dataset.ms = String(performance.now() - started); // signed and stored: what the bench reads
  $("sheet-msg").textContent = `${t("Signed and queued")}: ${item.id}`;
  const link = $("sms-link");
  link.href = smsLink($("sms-number").value, smsText(signed));
  link.dataset.text = smsText(signed);
  link.hidden = navigator.onLine;
  resetSheet();
  drainSoon(0);
}

function resetSheet() {
  state.photo = null;
  state.supersedes = null;
  $("photo").value = "";
  $("photo-hash").textContent = "";
  show("correcting", false);
  renderBallot(state.context, t);
  arithmetic(t);
}

async function saveChecklist(event) {
  event.preventDefault();
  const ctx = state.context;
  const form = ctx.forms.find((f) => f.form === $("cl-form").value);
  const { place, serial } = placeOf(ctx.places, $("cl-station").value || "");
  if (!form || !place) return;
  const rec = {
    election: ctx.election.slug, submission_id: newSubmissionId("app"), form: form.form, version: form.version,
    constituency: place.constituency, station: form.level === "station" ? serial : null,
    answers: readAnswers(form), role: state.enrolment.role, captured_at: new Date().toISOString(),
  };
  const signed = await signRecord("checklist", rec, state.device, state.enrolment.organisation, { phase: form.phase });
  const item = newItem("checklist", signed);
  await putItem(item);
  $("checklist-msg").textContent = `${t("Signed and queued")}: ${item.id}`;
  drainSoon(0);
}

// An incident report: a category of the server's taxonomy, at a station picked from the list, with a short
// public text screened as the server screens it; signed and queued like the others.
async function saveIncident(event) {
  event.preventDefault();
  const ctx = state.context;
  const { place, serial } = placeOf(ctx.places, $("inc-station").value || "");
  const msg = $("incident-msg");
  const description = $("inc-text").value.trim();
  const category = $("inc-category").value;
  if (!place || !category) return;
  msg.dataset.refused = "";
  if (contactDetails(description)) {
    msg.dataset.refused = "contact";
    msg.textContent = t("Not saved: the text is public and may not carry a phone number or an e-mail address.");
    return;
  }
  if (category === "other" && !description) {
    msg.dataset.refused = "other";
    msg.textContent = t("Not saved: an incident of category other needs a description.");
    return;
  }
  const captured = new Date().toISOString();
  const rec = {
    election: ctx.election.slug, submission_id: newSubmissionId("app"), category, severity: $("inc-severity").value,
    occurred_at: captured.slice(0, 19) + "Z", constituency: place.constituency, station: serial, description,
    photos: [], role: state.enrolment.role, captured_at: captured,
  };
  const signed = await signRecord("incident", rec, state.device, state.enrolment.organisation);
  const item = newItem("incident", signed);
  await putItem(item);
  msg.textContent = `${t("Signed and queued")}: ${item.id}`;
  const number = ctx.incidents.find((c) => c.code === category).sms;
  const text = incidentSmsText(signed, number);
  const link = $("inc-sms-link");
  link.href = text ? smsLink($("sms-number").value, text) : "";
  link.dataset.text = text || "";
  link.hidden = navigator.onLine || !text;
  $("inc-text").value = "";
  drainSoon(0);
}

const newItem = (kind, record) => ({ id: record.submission_id, kind, record, state: "waiting", tries: 0,
  next_at: 0, created: Date.now() });

// 4. The queue goes out whenever the network is there, in batches, retried with backoff; the server
// is idempotent on submission ids, so a batch sent twice (a lost answer) is received once.
function drainSoon(ms) {
  clearTimeout(state.timer);
  state.timer = setTimeout(() => { drain().catch(() => drainSoon(5000)); }, ms);
}

async function drain() {
  if (draining) return draining;
  draining = (async () => {
    try {
      for (const kind of ["sheet", "checklist", "incident", "photo"]) {
        const due = (await listItems()).filter((i) => i.kind === kind && i.state === "waiting" && i.next_at <= Date.now());
        for (let n = 0; n < due.length; n += BATCH) {
          if (!(await sendBatch(kind, due.slice(n, n + BATCH)))) return;
        }
      }
      renderLists(); // received, with receipts checked: shown before the photos and QR codes follow
      await uploadPhotos();
      await fetchMissingReceipts();
      await fetchQrCodes();
    } finally {
      draining = null;
      const waiting = (await listItems()).filter((i) => i.state === "waiting");
      if (waiting.length) drainSoon(Math.max(500, Math.min(...waiting.map((i) => i.next_at)) - Date.now()));
      renderLists();
    }
  })();
  return draining;
}

async function backoff(items) {
  for (const i of items) {
    i.tries += 1;
    i.next_at = Date.now() + Math.min(60000, 1000 * 2 ** Math.min(i.tries, 6)) * (0.75 + Math.random() / 2);
  }
  await putItems(items);
}

async function sendBatch(kind, items) {
  let r;
  try {
    r = await fetch(`/api/v1/records/${kind}/batch?receipt=true`, { method: "POST",
      headers: { ...auth(), "content-type": "application/json" }, body: JSON.stringify(items.map((i) => i.record)) });
  } catch {
    await backoff(items); // offline, or the answer was lost: sent again later with the same ids
    return false;
  }
  if (r.status === 429 || r.status >= 500) { await backoff(items); return false; }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { // the whole batch was refused (one malformed record, a revoked token): say why on each
    for (const i of items) { i.state = "refused"; i.error = body.error || {}; }
    await putItems(items);
    return true;
  }
  const follow = [];
  body.results.forEach((res, n) => {
    const i = items[n];
    if (res.accepted) {
      Object.assign(i, { state: "received", leaf: res.accepted.leaf_index, received_at: res.accepted.received_at,
        checks: res.accepted.checks, receipt: res.accepted.receipt });
      if (i.photo && !i.photo.record) follow.push(i);
    } else {
      Object.assign(i, { state: "refused", error: res.error });
    }
  });
  for (const i of items) if (i.receipt) await checkReceipt(i);
  const photos = [];
  for (const i of follow) photos.push(await photoItem(i));
  await putItems([...items, ...photos]);
  return true;
}

// A received sheet with a photo: a signed photo record ties the downscaled copy to the sheet's leaf.
async function photoItem(sheet) {
  const rec = { election: sheet.record.election, submission_id: `${sheet.id}.photo`, photo_sha256: sheet.photo.upload,
    sheets: [sheet.leaf], role: sheet.record.role, captured_at: sheet.record.captured_at };
  const signed = await signRecord("photo", rec, state.device, state.enrolment.organisation);
  sheet.photo.record = signed.submission_id;
  return { ...newItem("photo", signed), upload: sheet.photo.upload };
}

async function uploadPhotos() {
  const due = (await listItems()).filter((i) => i.kind === "photo" && i.state === "received" && !i.uploaded);
  for (const i of due) {
    const blob = await getPhoto(i.upload);
    if (!blob) continue;
    try {
      const r = await fetch(`/api/v1/photos/${i.upload}`, { method: "PUT",
        headers: { ...auth(), "content-type": "application/octet-stream" }, body: blob });
      if (r.ok) { i.uploaded = true; await putItem(i); }
    } catch { return; }
  }
}

async function fetchMissingReceipts() {
  const due = (await listItems()).filter((i) => i.state === "received" && !i.receipt);
  for (const i of due) {
    try {
      const r = await fetch(`/api/v1/receipts/${i.leaf}`);
      if (!r.ok) continue;
      i.receipt = await r.text();
      await checkReceipt(i);
      await putItem(i);
    } catch { return; }
  }
}

// Each receipt's QR code (the log explorer's address for its leaf), kept to show offline; 4 at a time.
async function fetchQrCodes() {
  const due = (await listItems()).filter((i) => i.state === "received" && !i.qr);
  const next = async () => {
    for (let i = due.shift(); i; i = due.shift()) {
      const q = await fetch(`/api/v1/receipts/${i.leaf}/qr`);
      if (q.ok) { i.qr = await q.text(); await putItem(i); }
    }
  };
  await Promise.all([next(), next(), next(), next()]).catch(() => {});
}

// 6. A receipt is checked here against the log key from the QR code, and must carry this record.
async function checkReceipt(item) {
  const report = await verifyReceipt(item.receipt, state.enrolment.log_key);
  const mine = report.entry && report.entry.submission_id === item.id && report.entry.signature === item.record.signature;
  report.checks.push({ ok: Boolean(mine), what: "the logged entry is this phone's signed record" });
  item.verified = report.ok && Boolean(mine);
  item.report = report.checks;
}

function renderLists() {
  listItems().then((items) => {
    items.sort((a, b) => a.created - b.created);
    const count = (s) => items.filter((i) => i.state === s).length;
    $("queue-summary").textContent = `${t("waiting")}: ${count("waiting")} · ${t("received")}: ${count("received")} · ${t("refused")}: ${count("refused")}`;
    $("queue-summary").dataset.waiting = count("waiting");
    $("queue-summary").dataset.received = count("received");
    $("queue-summary").dataset.refused = count("refused");
    const q = $("queue-list");
    q.textContent = "";
    for (const i of items.filter((x) => x.state !== "received")) q.appendChild(queueRow(i));
    const r = $("receipt-list");
    r.textContent = "";
    for (const i of items.filter((x) => x.state === "received")) r.appendChild(receiptRow(i));
  });
}

function describe(i) {
  const rec = i.record;
  if (i.kind === "sheet") return `${rec.form} ${rec.constituency}/${rec.station}: ${Object.values(rec.votes).join(", ")}`;
  if (i.kind === "checklist") return `${rec.form} ${rec.constituency}${rec.station ? "/" + rec.station : ""}`;
  if (i.kind === "incident") {
    const c = (state.context.incidents || []).find((x) => x.code === rec.category);
    return `${c ? c.text[LANG] || c.text.en : rec.category} ${rec.constituency}/${rec.station}`;
  }
  return `photo ${rec.photo_sha256.slice(0, 16)}…`;
}

function queueRow(i) {
  const li = document.createElement("li");
  li.dataset.state = i.state;
  li.dataset.code = (i.error && i.error.code) || "";
  li.textContent = `${t(i.state)} · ${describe(i)} · ${i.id}` + (i.error ? ` · ${refusalText({ error: i.error })}` : "");
  return li;
}

function receiptRow(i) {
  const li = document.createElement("li");
  li.dataset.verified = String(Boolean(i.verified));
  li.dataset.id = i.id;
  const verdict = i.receipt ? (i.verified ? t("verified") : t("NOT verified")) : t("No receipt yet.");
  li.append(`${describe(i)} · ${t("leaf")} ${i.leaf} · ${t("received at")} ${i.received_at} · ${verdict}`);
  if (i.checks && i.checks.length) li.append(` · ${i.checks.join(", ")}`);
  if (i.qr) {
    const img = document.createElement("img");
    img.alt = `QR ${t("leaf")} ${i.leaf}`;
    img.src = "data:image/svg+xml," + encodeURIComponent(i.qr);
    li.appendChild(img);
  }
  if (i.receipt) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([i.receipt], { type: "text/plain" }));
    a.download = `receipt-${i.leaf}.txt`;
    a.textContent = t("Share receipt");
    li.append(" ", a);
  }
  if (i.kind === "sheet") {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = t("Correct this sheet");
    b.addEventListener("click", () => correct(i));
    li.append(" ", b);
  }
  return li;
}

// 7. A correction: the sheet's numbers again, signed as a new record that supersedes the received leaf.
function correct(i) {
  const rec = i.record;
  $("station").value = `${rec.constituency}|${Number(rec.station)}`;
  renderBallot(state.context, t, { ...rec.votes, ...rec.totals });
  arithmetic(t);
  state.supersedes = i.leaf;
  $("correcting").textContent = `${t("Correcting leaf")} ${i.leaf}`;
  show("correcting");
  tab("sheet");
}

function onNetwork() {
  const online = navigator.onLine;
  $("net").textContent = online ? t("Online") : t("Offline: the queue waits for the network.");
  $("net").dataset.online = String(online);
  if (!online && $("sms-link").dataset.text) show("sms-link");
  if (!online && $("inc-sms-link").dataset.text) show("inc-sms-link");
  if (online) {
    listItems().then((items) => putItems(items.filter((i) => i.state === "waiting").map((i) => ({ ...i, next_at: 0 }))))
      .then(() => drainSoon(0));
  }
}

async function init() {
  for (const e of document.querySelectorAll("[data-t]")) e.textContent = t(e.dataset.t);
  document.title = t("pollwatch field app");
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/app-sw.js", { scope: "/" }).catch(() => {});
  addEventListener("online", onNetwork);
  addEventListener("offline", onNetwork);
  onNetwork();
  $("enrol-btn").addEventListener("click", () => enrol($("enrol-code").value));
  $("sheet-form").addEventListener("submit", saveSheet);
  $("sheet-form").addEventListener("input", () => arithmetic(t));
  $("station").addEventListener("change", () => { renderBallot(state.context, t); arithmetic(t); });
  $("photo").addEventListener("change", async () => {
    const file = $("photo").files[0];
    state.photo = file ? await takePhoto(file) : null;
    $("photo-hash").textContent = state.photo ? `${t("Photo SHA-256")} ${state.photo.originalHash}` : "";
  });
  $("checklist-form").addEventListener("submit", saveChecklist);
  $("incident-form").addEventListener("submit", saveIncident);
  $("cl-form").addEventListener("change", () => renderQuestions(state.context.forms.find((f) => f.form === $("cl-form").value), LANG, t));
  $("send-now").addEventListener("click", () => onNetwork());
  $("load-place").addEventListener("click", () => loadContext($("constituency").value.trim().toUpperCase())
    .then(renderCapture).catch((err) => { $("sheet-msg").textContent = String(err.message || err); }));
  $("sms-number").value = (await getKv("sms-number")) || "";
  $("sms-number").addEventListener("change", () => setKv("sms-number", $("sms-number").value.trim()));
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => tab(b.dataset.tab));
  state.enrolment = await getKv("enrolment");
  state.device = await getKv("device");
  state.context = await getKv("context");
  if (state.enrolment && state.device && state.context) start();
  else {
    show("enrol");
    if (location.hash.startsWith("#enrol=")) $("enrol-code").value = location.href;
  }
  document.body.dataset.ready = "true";
}

init();
export { getItem, drain };
