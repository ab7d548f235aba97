// The check-in page's service worker: the page and its files are served from this cache, so
// the page opens without a network; the cache is refreshed in the background when online.
// The API is never cached (see api.js). The version changes with any of the files.
"use strict";

const VERSION = "__VERSION__";
const CACHE = `checkin-${VERSION}`;
const PAGE = "/checkin/";
const ASSETS = [PAGE, "__ASSETS__"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("checkin-") && name !== CACHE) {
        await caches.delete(name);
      }
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !ASSETS.includes(url.pathname)) {
    return; // the API, the pairing page: always the network
  }
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const cached = await cache.match(url.pathname);
    const fresh = fetch(request).then((response) => {
      if (response.ok) {
        cache.put(url.pathname, response.clone());
      }
      return response;
    });
    if (cached) {
      event.waitUntil(fresh.catch(() => {}));
      return cached;
    }
    return fresh;
  })());
});
