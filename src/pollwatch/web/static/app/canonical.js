// The exact bytes the server verifies (pollwatch.ledger.records.signed_bytes): a domain line
// "pollwatch-<type>-signature/v1\n" and the RFC 8785 (JCS) encoding of the record's signed body, built
// here field for field as pollwatch.intake.format.signing_body (sheets), intake.kinds.checklist,
// intake.kinds.incident and intake.kinds.photo build theirs. The device key is a non-extractable WebCrypto Ed25519 key.
import { toB64 } from "../tlog.js";

// RFC 8785 for what a record holds (strings, integers, booleans, null, arrays, objects): keys sorted by
// UTF-16 code units (JavaScript's default sort), strings and integers as ECMAScript JSON.stringify writes them.
export function canonicalize(value) {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return "[" + value.map(canonicalize).join(",") + "]";
  const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalize(value[k])).join(",") + "}";
}

export const TOTAL_FIELDS = ["valid", "rejected", "polled", "tendered", "challenged", "votes_male", "votes_female", "registered"];

// What a device signs for a sheet: the leaf body without signature, received_at and checks.
export function sheetBody(rec, { submitterKey, organisation }) {
  const totals = {};
  for (const name of TOTAL_FIELDS) totals[name] = rec.totals[name] ?? null;
  const votes = {};
  for (const [k, v] of Object.entries(rec.votes)) votes[String(Number(k))] = v;
  return {
    election: rec.election, submission_id: rec.submission_id, kind: rec.kind, form: rec.form,
    constituency: rec.constituency, station: rec.station === null ? null : String(Number(rec.station)),
    votes, totals, submitter_key: submitterKey, role: rec.role, organisation, captured_at: rec.captured_at,
    photo_sha256: rec.photo_sha256 ?? null, supersedes: rec.supersedes ?? null,
  };
}

// A checklist's signed body: answers as the server checks them (multi-select in the options' order).
export function checklistBody(rec, { submitterKey, organisation, phase }) {
  return {
    election: rec.election, submission_id: rec.submission_id, form: rec.form, version: rec.version, phase,
    constituency: rec.constituency, station: rec.station, answers: rec.answers, submitter_key: submitterKey,
    role: rec.role, organisation, captured_at: rec.captured_at,
  };
}

export function photoBody(rec, { submitterKey, organisation }) {
  return {
    election: rec.election, submission_id: rec.submission_id, photo_sha256: rec.photo_sha256,
    sheets: [...new Set(rec.sheets)].sort((a, b) => a - b), submitter_key: submitterKey, role: rec.role,
    organisation, captured_at: rec.captured_at,
  };
}

// An incident's signed body (intake.kinds.incident.signing_body): occurred_at is re-written by the server
// as Python's isoformat with "Z", so the app sends it to the second ("2026-02-08T09:10:11Z"), which reads
// back to the same text; photos sorted and unique.
export function incidentBody(rec, { submitterKey, organisation }) {
  return {
    election: rec.election, submission_id: rec.submission_id, category: rec.category, severity: rec.severity,
    occurred_at: rec.occurred_at, constituency: rec.constituency, station: rec.station,
    latitude: rec.latitude ?? null, longitude: rec.longitude ?? null, description: rec.description,
    photos: [...new Set(rec.photos)].sort(), submitter_key: submitterKey, role: rec.role, organisation,
    captured_at: rec.captured_at,
  };
}

export function signedBytes(body, type) {
  return new TextEncoder().encode(`pollwatch-${type}-signature/v1\n` + canonicalize(body));
}

export async function newDeviceKey() {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey: "ed25519:" + toB64(raw) };
}

// Sign a record in place: device_key and signature set, over the body the server will rebuild.
export async function signRecord(type, rec, device, organisation, extra = {}) {
  const make = { sheet: sheetBody, checklist: checklistBody, photo: photoBody, incident: incidentBody }[type];
  const body = make(rec, { submitterKey: device.publicKey, organisation, ...extra });
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, device.privateKey, signedBytes(body, type)));
  return { ...rec, organisation, device_key: device.publicKey, signature: toB64(sig) };
}

// A client-made submission id: unique, and the same on every retry of one record.
export function newSubmissionId(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
