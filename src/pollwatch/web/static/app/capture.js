// Capture forms: a station sheet (one box per candidate with name and party, the sheet's totals, the
// arithmetic shown live and a mismatch marked, not refused, as the server does), observation checklists
// and incident reports.
import { hex, sha256 } from "../tlog.js";

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, text = "") => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
};

export function stationOptions(select, places) {
  select.textContent = "";
  for (const place of places) {
    for (const s of place.stations) {
      const label = `${place.constituency} · ${s.number}${s.name ? " · " + s.name : ""}`;
      select.appendChild(el("option", { value: `${place.constituency}|${s.serial}` }, label));
    }
  }
}

export function placeOf(places, value) {
  const [code, serial] = value.split("|");
  const place = places.find((p) => p.constituency === code);
  return { place, serial: Number(serial) };
}

export function renderBallot(ctx, t, values = {}) {
  const { place } = placeOf(ctx.places, $("station").value || "");
  const body = $("ballot").querySelector("tbody");
  body.textContent = "";
  for (const c of place ? place.candidates : []) {
    const row = el("tr");
    row.appendChild(el("td", {}, `${c.ballot}. ${c.name}`));
    row.appendChild(el("td", {}, c.party_name || t("Independent")));
    const cell = el("td");
    const input = el("input", { type: "number", min: "0", inputmode: "numeric", name: `vote-${c.ballot}`,
      "aria-label": `${c.ballot}. ${c.name}`, "data-ballot": String(c.ballot) });
    if (values[c.ballot] !== undefined) input.value = values[c.ballot];
    cell.appendChild(input);
    row.appendChild(cell);
    body.appendChild(row);
  }
  const totals = $("totals");
  totals.textContent = "";
  for (const name of ctx.sheet.totals) {
    totals.appendChild(el("label", { for: `total-${name}` }, t(name)));
    const input = el("input", { type: "number", min: "0", inputmode: "numeric", id: `total-${name}` });
    if (values[name] !== undefined) input.value = values[name];
    totals.appendChild(input);
  }
}

const num = (input) => (input && input.value.trim() !== "" ? Number(input.value) : null);

export function readSheet() {
  const votes = {};
  for (const input of $("ballot").querySelectorAll("input[data-ballot]")) {
    const v = num(input);
    votes[input.dataset.ballot] = v === null ? 0 : v;
  }
  const totals = {};
  for (const input of $("totals").querySelectorAll("input")) {
    const v = num(input);
    if (v !== null) totals[input.id.slice(6)] = v;
  }
  return { votes, totals };
}

// The sheet's own arithmetic, as on paper: sum of votes = valid; valid + rejected = polled.
export function arithmetic(t) {
  const { votes, totals } = readSheet();
  const sum = Object.values(votes).reduce((a, b) => a + b, 0);
  const lines = [[t("Sum of votes"), sum, totals.valid, t("valid")]];
  if (totals.valid !== undefined && totals.rejected !== undefined) {
    lines.push([t("valid + rejected"), totals.valid + totals.rejected, totals.polled, t("polled")]);
  }
  const out = $("arith");
  out.textContent = "";
  let ok = true;
  for (const [what, value, want, name] of lines) {
    const good = want === undefined || value === want;
    ok = ok && good;
    const li = el("li", { class: good ? "ok" : "bad", "data-ok": String(good) },
      `${what} = ${value}${want === undefined ? "" : ` · ${name} = ${want}`} · ${good ? t("matches") : t("does not match (sent and marked)")}`);
    out.appendChild(li);
  }
  return ok;
}

// The photo: the original's SHA-256 (what the sheet commits to) and a copy downscaled for upload.
export async function takePhoto(file, maxSide = 1600) {
  const original = new Uint8Array(await file.arrayBuffer());
  const originalHash = hex(await sha256(original));
  let upload = file;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    upload = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.8));
  } catch {
    upload = file; // not decodable here: the original is sent as it is
  }
  const uploadHash = hex(await sha256(new Uint8Array(await upload.arrayBuffer())));
  return { original: file, originalHash, upload, uploadHash };
}

export function formOptions(select, forms, lang) {
  select.textContent = "";
  for (const f of forms) select.appendChild(el("option", { value: f.form }, f.title[lang] || f.title.en));
}

export function renderQuestions(form, lang, t) {
  const box = $("questions");
  box.textContent = "";
  $("cl-station").disabled = form.level !== "station";
  for (const q of form.questions) {
    if (q.type === "photo") continue;
    const id = `q-${q.tag}`;
    box.appendChild(el("label", { for: id }, `${q.tag}. ${q.text[lang] || q.text.en}${q.required ? " *" : ""}`));
    let input;
    if (q.type === "yes_no" || q.type === "select") {
      input = el("select", { id, "data-tag": q.tag, "data-type": q.type });
      input.appendChild(el("option", { value: "" }, t("choose…")));
      const opts = q.type === "yes_no" ? [["true", t("yes")], ["false", t("no")]] : q.options.map((o) => [o, o]);
      for (const [v, label] of opts) input.appendChild(el("option", { value: v }, label));
    } else if (q.type === "multi") {
      input = el("select", { id, multiple: "", "data-tag": q.tag, "data-type": q.type });
      for (const o of q.options) input.appendChild(el("option", { value: o }, o));
    } else {
      const type = { count: "number", time: "time" }[q.type] || "text";
      input = el("input", { id, type, "data-tag": q.tag, "data-type": q.type, dir: "ltr" });
      if (type === "number") input.setAttribute("min", "0");
    }
    box.appendChild(input);
  }
}

export function readAnswers(form) {
  const answers = {};
  for (const input of $("questions").querySelectorAll("[data-tag]")) {
    const q = form.questions.find((x) => x.tag === input.dataset.tag);
    if (q.type === "multi") {
      const chosen = Array.from(input.selectedOptions, (o) => o.value);
      if (chosen.length) answers[q.tag] = q.options.filter((o) => chosen.includes(o));
      continue;
    }
    const v = input.value.trim();
    if (v === "") continue;
    answers[q.tag] = q.type === "yes_no" ? v === "true" : q.type === "count" ? Number(v) : v;
  }
  return answers;
}

// Incident categories of the server's taxonomy (observe/incidents.toml), labelled in the page's language.
export function incidentOptions(category, severity, ctx, lang, t) {
  category.textContent = "";
  for (const c of ctx.incidents) category.appendChild(el("option", { value: c.code, "data-sms": String(c.sms) }, c.text[lang] || c.text.en));
  severity.textContent = "";
  for (const s of ctx.severities) severity.appendChild(el("option", { value: s }, t(s)));
  severity.value = "medium";
}

// The server's screen for public free text (observe/text.py): nine or more digits (Latin, Arabic-Indic or
// Urdu) possibly separated, or an e-mail address. The server screens again; this only says so before signing.
const PHONE = /(?:\+|(?<![\p{L}\p{N}_]))(?:[0-9\u0660-\u0669\u06f0-\u06f9][\s\-().]?){9,}/u;
const EMAIL = /[^\s@]+@[^\s@]+\.[^\s@]{2,}/u;
export const contactDetails = (text) => PHONE.test(text) || EMAIL.test(text);
