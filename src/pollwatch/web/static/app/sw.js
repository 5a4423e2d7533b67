// The field app's service worker (VERSION and FILES are prepended by the server): the app's pages,
// modules and styles come from this cache, so the app opens with no network; everything else
// (the API, the dashboard) goes to the network untouched.
const CACHE = `pollwatch-app-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("pollwatch-app-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !FILES.includes(url.pathname)) return;
  event.respondWith(caches.open(CACHE).then(async (c) => {
    const hit = await c.match(url.pathname);
    if (hit) return hit;
    const fresh = await fetch(event.request);
    if (fresh.ok) c.put(url.pathname, fresh.clone());
    return fresh;
  }));
});
