// Keeps the report form and its assets so the form opens without a connection; reports made offline are kept and
// sent by the page itself (report.js), never by this worker, so there is one sender.
"use strict";
const CACHE = "civicloop-pages-v1";
const KEPT = ["/report", "/static/pages/pages.css", "/static/pages/report.js", "/static/pages/manifest.json"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(KEPT)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  const page = url.pathname === "/report";
  const kept = page || url.pathname === "/report/areas" || url.pathname.startsWith("/static/pages/");
  if (url.origin !== self.location.origin || !kept) return;
  // The network first (the newest form, in the language asked); the kept copy when there is no network.
  event.respondWith(fetch(request).then((answer) => {
    if (answer.ok) {
      const copy = answer.clone();
      caches.open(CACHE).then((cache) => cache.put(page ? "/report" : request, copy));
    }
    return answer;
  }).catch(() => caches.match(page ? "/report" : request)));
});
