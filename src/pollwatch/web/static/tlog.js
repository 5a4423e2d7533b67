// pollwatch's log checks in the browser, shared by the log explorer (/log) and the field app (/app):
// Merkle hashing and inclusion proofs (RFC 9162 2.1.1, 2.1.3.2), log verifier keys and checkpoint
// signatures (C2SP signed-note, tlog-checkpoint) and tlog-proof receipts (c2sp.org/tlog-proof@v1),
// with WebCrypto only (SHA-256, Ed25519). Nothing here trusts the server: keys come from the reader.

export const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
export const toB64 = (a) => btoa(String.fromCharCode(...a));
export const hex = (a) => Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
export const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
export const sha256 = async (d) => new Uint8Array(await crypto.subtle.digest("SHA-256", d));
export const leafHash = (d) => sha256(concat(Uint8Array.of(0), d));
export const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));
export const pow2Below = (n) => { let k = 1; while (k * 2 < n) k *= 2; return k; };

// RFC 9162 2.1.3.2: the root an inclusion proof leads to from leaf `index` of a tree of `size` (null: malformed).
export async function rootFromProof(index, size, leaf, proof) {
  if (!(index >= 0 && index < size)) return null;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

// A log verifier key: name+hexid+base64(0x01 || 32-byte Ed25519 key).
export async function parseKey(vkey) {
  const [name, id, ...rest] = vkey.trim().split("+"); // base64 may itself contain "+"
  let raw;
  try { raw = b64(rest.join("+")); } catch { raw = new Uint8Array(0); }
  if (!name || raw.length !== 33 || raw[0] !== 1) throw new Error("not a log verifier key (name+id+base64)");
  const want = (await sha256(concat(new TextEncoder().encode(name + "\n"), raw))).slice(0, 4);
  if (hex(want) !== id) throw new Error(`the key id ${id} does not match its name and key (${hex(want)})`);
  const key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]);
  return { name, id: want, key };
}

// A checkpoint note: its origin, size and root, and whether `log` signed it.
export async function checkCheckpoint(note, log) {
  const cut = note.lastIndexOf("\n\n");
  const text = note.slice(0, cut + 1);
  const [origin, sizeLine, rootLine] = text.split("\n");
  const lines = note.slice(cut + 2).split("\n").filter((l) => l.startsWith("\u2014 "));
  for (const line of lines) {
    const sp = line.lastIndexOf(" ");
    const name = line.slice(2, sp);
    const sig = b64(line.slice(sp + 1));
    if (name !== log.name || !same(sig.slice(0, 4), log.id)) continue;
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, log.key, sig.slice(4), new TextEncoder().encode(text));
    return { ok, origin, size: Number(sizeLine), root: b64(rootLine), cosigners: lines.length - 1 };
  }
  return { ok: false, origin, size: Number(sizeLine), root: b64(rootLine), missing: true };
}

// c2sp.org/tlog-proof@v1: header, optional "extra <base64 entry>", "index <n>", hashes, blank line, checkpoint.
export function parseReceipt(text) {
  const cut = text.indexOf("\n\n");
  if (cut < 0 || !text.startsWith("c2sp.org/tlog-proof@v1\n")) throw new Error("not a tlog-proof receipt");
  const lines = text.slice(0, cut).split("\n").slice(1);
  let extra = null;
  if (lines[0] && lines[0].startsWith("extra ")) extra = b64(lines.shift().slice(6));
  const m = /^index (0|[1-9][0-9]*)$/.exec(lines.shift() || "");
  if (!m) throw new Error("the receipt has no index line");
  return { index: Number(m[1]), proof: lines.map(b64), checkpoint: text.slice(cut + 2), extra };
}

// Verify a receipt against the log key the reader holds; every check is named, passed or not.
export async function verifyReceipt(text, vkey) {
  const checks = [];
  const check = (ok, what) => { checks.push({ ok, what }); return ok; };
  let receipt = null, entry = null;
  try {
    receipt = parseReceipt(text);
    const log = await parseKey(vkey);
    const cp = await checkCheckpoint(receipt.checkpoint, log);
    check(cp.ok, `checkpoint of ${cp.size} entries signed by ${log.name}`);
    if (check(receipt.extra !== null, "the receipt carries its log entry")) {
      entry = JSON.parse(new TextDecoder().decode(receipt.extra));
      const root = await rootFromProof(receipt.index, cp.size, await leafHash(receipt.extra), receipt.proof);
      check(root !== null && same(root, cp.root), `entry ${receipt.index} is in the signed tree (${receipt.proof.length} hashes)`);
    }
  } catch (err) {
    check(false, String(err.message || err));
  }
  return { ok: checks.length > 0 && checks.every((c) => c.ok), checks, index: receipt && receipt.index, entry };
}
