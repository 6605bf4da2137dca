/* Hallway Kiosk service worker: a screen whose browser restarts while the server is down still
   shows the last good playlist. Served as /sw.js so its scope covers /display.
   The page (player.js) fills and prunes the cache; this worker answers from it. */
"use strict";

const CACHE = "kiosk";
const NETWORK_FIRST = /^\/(display|api\/playlist)$/; // fresh when possible, cached when not
const IMMUTABLE = /^\/(media|static\/fonts|api\/slides)\//; // content-hashed photos, fonts, slides
const VERSIONED = /^\/(static|themes)\//; // with ?v=: the page asks for its code's copy
// Photos and slides are stored by the page alone, from its playlist: a request after a
// withdrawal (the slide still on screen, a preload from the old playlist) must not bring the
// story back.
const PHOTOS = /^\/(media|api\/slides)\//;

// Only the display's own files: the admin side's static files stay the browser's business.
function cacheFirst(url) {
  return IMMUTABLE.test(url.pathname) || (VERSIONED.test(url.pathname) && url.searchParams.has("v"));
}

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // SSE, heartbeats, the admin side and previews go straight to the network.
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  // A preview, or a playlist as changes to the page's version: the page keeps the whole one.
  if (url.searchParams.has("preview") || url.searchParams.has("since")) return;
  if (NETWORK_FIRST.test(url.pathname)) event.respondWith(networkFirst(request));
  else if (cacheFirst(url)) event.respondWith(fromCache(request));
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (err) {
    const cached = await cache.match(request, { ignoreVary: true });
    if (cached) return cached;
    throw err;
  }
}

async function fromCache(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && !PHOTOS.test(new URL(request.url).pathname)) {
    await cache.put(request, response.clone());
  }
  return response;
}
