// pollwatch log explorer: checks, in this browser, that a log entry is in the tree whose root the
// latest checkpoint signs, and that the checkpoint is signed by the log key the reader gives.
// Only WebCrypto (SHA-256, Ed25519) and the log's public tiles (C2SP tlog-tiles) are used; the
// server's own proofs are not trusted. RFC 9162 sections 2.1.1 (MTH), 2.1.3.1 (PATH), 2.1.3.2 (verify).
import { checkCheckpoint, concat, hex, leafHash, nodeHash, parseKey, pow2Below, rootFromProof, same } from "./tlog.js";

(() => {
  const form = document.getElementById("verify-form");
  if (!form) return;
  const out = document.getElementById("report");
  const verdict = document.getElementById("verdict");
  const keyBox = document.getElementById("logkey");
  const PIN = "pollwatch.logkey";
  if (!keyBox.value && localStorage.getItem(PIN)) keyBox.value = localStorage.getItem(PIN);

  function encodeIndex(n) { // 1234067 -> x001/x234/067
    let s = String(n);
    while (s.length % 3) s = "0" + s;
    const groups = s.match(/.{3}/g);
    return groups.map((g, i) => (i < groups.length - 1 ? "x" + g : g)).join("/");
  }

  const tiles = new Map();
  function fetchTile(path) {
    if (!tiles.has(path)) {
      tiles.set(path, fetch("/log/" + path).then(async (r) => {
        if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
        return new Uint8Array(await r.arrayBuffer());
      }));
    }
    return tiles.get(path);
  }
  const tilePath = (prefix, n, width) => `tile/${prefix}/${encodeIndex(n)}` + (width === 256 ? "" : `.p/${width}`);

  async function stored(size, level, k) { // a hash the tiles hold: tree level `level` (multiple of 8)
    const n = Math.floor(k / 256);
    const width = Math.min(256, Math.floor(size / 2 ** level) - n * 256);
    const path = tilePath(level / 8, n, width);
    const data = await fetchTile(path);
    if (data.length !== width * 32) throw new Error(`${path} has ${data.length} bytes, expected ${width * 32}`);
    return data.slice((k % 256) * 32, (k % 256) * 32 + 32);
  }
  async function subtree(size, level, k) { // hash of the complete subtree of 2^level leaves number k
    if (level % 8 === 0) return stored(size, level, k);
    return nodeHash(await subtree(size, level - 1, 2 * k), await subtree(size, level - 1, 2 * k + 1));
  }
  async function mth(size, a, b) { // MTH(D[a:b])
    const n = b - a;
    if (Number.isInteger(Math.log2(n)) && a % n === 0) return subtree(size, Math.log2(n), a / n);
    const k = pow2Below(n);
    return nodeHash(await mth(size, a, a + k), await mth(size, a + k, b));
  }
  async function path(size, m, a, b) { // PATH(m, D[a:b])
    if (b - a === 1) return [];
    const k = pow2Below(b - a);
    if (m < a + k) return [...(await path(size, m, a, a + k)), await mth(size, a + k, b)];
    return [...(await path(size, m, a + k, b)), await mth(size, a, a + k)];
  }
  async function entry(size, index) {
    const n = Math.floor(index / 256);
    const width = Math.min(256, size - n * 256);
    const data = await fetchTile(tilePath("entries", n, width));
    let o = 0;
    for (let i = 0; i < width; i++) {
      const len = (data[o] << 8) | data[o + 1];
      if (i === index % 256) return data.slice(o + 2, o + 2 + len);
      o += 2 + len;
    }
    throw new Error("the entry bundle is shorter than its width");
  }

  function say(ok, text) {
    const li = document.createElement("li");
    li.textContent = (ok ? "\u2713 " : "\u2717 ") + text;
    li.className = ok ? "ok" : "bad";
    out.appendChild(li);
    return ok;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    out.textContent = "";
    verdict.textContent = "checking\u2026";
    verdict.dataset.ok = "";
    tiles.clear();
    let good = true;
    try {
      if (!window.crypto || !crypto.subtle) throw new Error("this page needs WebCrypto (https or localhost)");
      const log = await parseKey(keyBox.value);
      if (document.getElementById("pin").checked) localStorage.setItem(PIN, keyBox.value.trim());
      const index = Number(document.getElementById("index").value);
      const note = await (await fetch("/log/checkpoint", { cache: "no-store" })).text();
      const cp = await checkCheckpoint(note, log);
      good = say(cp.ok, cp.missing
        ? `the checkpoint carries no signature by ${log.name} (${hex(log.id)})`
        : `checkpoint of ${cp.size} entries, root ${hex(cp.root).slice(0, 16)}\u2026: Ed25519 signature by ${log.name} ${cp.ok ? "valid" : "INVALID"} (${cp.cosigners} cosignature(s) present, not checked here)`) && good;
      if (!(index >= 0 && index < cp.size)) throw new Error(`entry ${index} is not below the checkpoint's size ${cp.size}`);
      const data = await entry(cp.size, index);
      const leaf = await leafHash(data);
      say(true, `entry ${index} (${data.length} bytes) from its entry bundle: leaf hash ${hex(leaf).slice(0, 16)}\u2026`);
      document.getElementById("entry").textContent = new TextDecoder().decode(data);
      const proof = await path(cp.size, index, 0, cp.size);
      const root = await rootFromProof(index, cp.size, leaf, proof);
      good = say(root !== null && same(root, cp.root),
        `inclusion proof (${proof.length} hashes, computed from the hash tiles) ${root !== null && same(root, cp.root) ? "reproduces" : "does NOT reproduce"} the signed root`) && good;
    } catch (err) {
      good = say(false, String(err.message || err));
    }
    verdict.textContent = good ? "verified" : "NOT verified";
    verdict.dataset.ok = String(good);
  });
})();
