/* E-Open field mode service worker: served as /lapangan/sw.js (field/offline.py), scope /lapangan/,
   registered by field-queue.js. It keeps the field pages readable when the connection drops:
   - page loads (GET navigations) under /lapangan/: network first; a 200 HTML answer is kept in the
     cache "eopen-field-pages" (the job list and the latest 60 pages); without a network the kept copy
     is shown, or the kept job list (/lapangan/) when this page was never kept. Such a copy is marked <html data-offline-copy="time kept"> (and
     data-offline-fallback for the job list in place of another page) so the page can say so.
   - /static/ files: network first, kept in "eopen-field-static" for offline use.
   Nothing else is cached: no POST, no answer other than a plain 200, nothing outside /lapangan/ but
   /static/. The pages hold personal data: field-queue.js deletes both caches when the satgas logs out,
   and a page load that finds the session gone (a redirect to the log-in page, 401 or 403) deletes the
   kept pages too. Sending the offline queue is field-queue.js' job, not this worker's. */
"use strict";

const PAGES = "eopen-field-pages";
const STATIC = "eopen-field-static";
const SCOPE = new URL(self.registration.scope).pathname;
const SELF = new URL(self.location.href).pathname;
const STATIC_PREFIX = "/static/";
const KEPT_AT = "X-Eopen-Kept-At";
const MAX_PAGES = 60;  // the job list and the latest job pages; older copies make room

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

const isPage = (url) => url.origin === self.location.origin && url.pathname.startsWith(SCOPE) && url.pathname !== SELF;
const isStatic = (url) => url.origin === self.location.origin && url.pathname.startsWith(STATIC_PREFIX);
const cacheable = (response) => response && response.status === 200 && response.type === "basic" && !response.redirected;
const isHtml = (response) => (response.headers.get("Content-Type") || "").indexOf("text/html") === 0;

// Keeps a copy with the time it was kept; the body is stored decoded, so no encoding/length headers.
const keep = async (cacheName, key, response) => {
  const headers = new Headers(response.headers);
  headers.delete("Content-Encoding");
  headers.delete("Content-Length");
  headers.set(KEPT_AT, new Date().toISOString());
  const body = await response.blob();
  const cache = await caches.open(cacheName);
  await cache.delete(key);  // a fresh copy goes to the end: the oldest are first to make room
  await cache.put(key, new Response(body, {status: 200, statusText: "OK", headers}));
  if (cacheName === PAGES) {
    const keys = await cache.keys();
    const home = new URL(SCOPE, self.location.href).href;
    const old = keys.filter((request) => request.url !== home).slice(0, Math.max(0, keys.length - MAX_PAGES));
    await Promise.all(old.map((request) => cache.delete(request)));
  }
};

// A kept page, marked as an offline copy on its <html> element.
const marked = async (kept, fallback) => {
  const at = (kept.headers.get(KEPT_AT) || "").replace(/[^0-9TZ:.+-]/g, "");
  let attrs = ` data-offline-copy="${at}"`;
  if (fallback) attrs += ' data-offline-fallback="1"';
  const html = (await kept.text()).replace(/<html\b/i, "<html" + attrs);
  const headers = new Headers(kept.headers);
  headers.delete("Content-Length");
  return new Response(html, {status: 200, statusText: "OK", headers});
};

const page = async (event) => {
  const request = event.request;
  const key = request.url.split("#")[0];
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    const cache = await caches.open(PAGES);
    const kept = await cache.match(key, {ignoreVary: true});
    if (kept) return marked(kept, false);
    const list = await cache.match(new URL(SCOPE, self.location.href).href, {ignoreVary: true});
    if (list) return marked(list, true);
    throw error;
  }
  if (cacheable(response) && isHtml(response)) {
    event.waitUntil(keep(PAGES, key, response.clone()).catch(() => {}));
  } else if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
    event.waitUntil(caches.delete(PAGES).catch(() => {}));  // logged out, or somebody else: forget the pages
  }
  return response;
};

// A static file is stored again only when it changed (its ETag or date), not on every page load.
const version = (response) => response && (response.headers.get("ETag") || response.headers.get("Last-Modified"));
const keepAsset = async (url, response) => {
  const kept = await caches.match(url, {cacheName: STATIC, ignoreVary: true});
  if (kept && version(kept) && version(kept) === version(response)) return;
  await keep(STATIC, url, response);
};

const asset = async (event) => {
  const request = event.request;
  try {
    const response = await fetch(request);
    if (cacheable(response)) event.waitUntil(keepAsset(request.url, response.clone()).catch(() => {}));
    return response;
  } catch (error) {
    const kept = await caches.match(request.url, {cacheName: STATIC, ignoreVary: true});
    if (kept) return kept;
    throw error;
  }
};

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;  // never POSTs: those go to the network as they are
  const url = new URL(request.url);
  if (isStatic(url)) event.respondWith(asset(event));
  else if (request.mode === "navigate" && isPage(url)) event.respondWith(page(event));
  // Anything else (fetches of the queue, other paths) goes to the network untouched and is not kept.
});

// The first page, loaded before this worker ran, sends its own URL, the job list, its CSS and JS.
const precache = async (urls) => {
  const seen = new Set();
  for (const raw of urls.slice(0, 20)) {
    let url;
    try { url = new URL(raw, self.location.href); } catch (e) { continue; }
    url.hash = "";
    if (seen.has(url.href)) continue;
    seen.add(url.href);
    const cacheName = isStatic(url) ? STATIC : isPage(url) ? PAGES : null;
    if (!cacheName) continue;
    try {
      const response = await fetch(url.href, {credentials: "same-origin",
                                              headers: cacheName === PAGES ? {Accept: "text/html"} : {}});
      if (cacheable(response) && (cacheName === STATIC || isHtml(response))) await keep(cacheName, url.href, response);
    } catch (e) { /* offline again: the next page load keeps it */ }
  }
};

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "precache" && Array.isArray(data.urls)) event.waitUntil(precache(data.urls));
});
