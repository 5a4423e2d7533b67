// The phone's own storage (IndexedDB): the enrolment and device key ("kv"), the queue of signed records
// with their client-made submission ids ("queue"), photos ("photos"). Nothing leaves it but what is sent.
const DB = "pollwatch-app";
let opened = null;

function open() {
  if (!opened) {
    opened = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        db.createObjectStore("kv");
        const q = db.createObjectStore("queue", { keyPath: "id" });
        q.createIndex("state", "state");
        db.createObjectStore("photos");
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return opened;
}

async function run(store, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    let result;
    Promise.resolve(work(tx.objectStore(store))).then((r) => { result = r; });
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}
const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });

export const getKv = (key) => run("kv", "readonly", (s) => req(s.get(key)));
export const setKv = (key, value) => run("kv", "readwrite", (s) => { s.put(value, key); });
export const putItem = (item) => run("queue", "readwrite", (s) => { s.put(item); });
export const putItems = (items) => run("queue", "readwrite", (s) => { for (const i of items) s.put(i); });
export const getItem = (id) => run("queue", "readonly", (s) => req(s.get(id)));
export const listItems = () => run("queue", "readonly", (s) => req(s.getAll()));
export const putPhoto = (hash, blob) => run("photos", "readwrite", (s) => { s.put(blob, hash); });
export const getPhoto = (hash) => run("photos", "readonly", (s) => req(s.get(hash)));
