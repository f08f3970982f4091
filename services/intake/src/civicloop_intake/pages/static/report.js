// The report form, improved when JavaScript runs (the form works without it):
// - only the chosen category's questions are shown and sent;
// - "Use my location" sets the point, and says in the page's language why it could not; a pin on the map
//   (report-map.js) sets it too;
// - offline, the report is kept in IndexedDB and sent once the connection returns, with its Idempotency-Key,
//   so it makes one request however many times it is tried (and from however many tabs).
"use strict";
(function () {
  const form = document.getElementById("report");
  if (!form) return;
  const text = form.dataset;
  const keyField = form.elements.namedItem("idempotency_key");
  const queueStatus = document.getElementById("queue-status");
  const USED_KEYS = "civicloop.used-report-keys";
  const DB_NAME = "civicloop-reports";
  const STORE = "outbox";

  // -- one key per report --------------------------------------------------------------------------------------
  function usedKeys() {
    try { return JSON.parse(localStorage.getItem(USED_KEYS) || "[]"); } catch (e) { return []; }
  }
  function markUsed(key) {
    const keys = usedKeys().filter((k) => k !== key);
    keys.push(key);
    try { localStorage.setItem(USED_KEYS, JSON.stringify(keys.slice(-50))); } catch (e) { /* private mode */ }
  }
  function freshKey() {
    const random = (self.crypto && crypto.randomUUID) ? crypto.randomUUID()
      : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
    return "web-" + random;
  }
  // A form the server refused keeps its key on purpose (sending it again completes that same report); any other
  // form whose key was already sent (a page the service worker kept) gets a new one.
  if (!document.getElementById("error-summary") && usedKeys().includes(keyField.value)) keyField.value = freshKey();

  // -- the chosen category's questions ---------------------------------------------------------------------------
  const category = form.elements.namedItem("service_code");
  function showQuestions() {
    for (const set of form.querySelectorAll("fieldset.questions")) {
      const mine = set.dataset.category === category.value;
      set.hidden = !mine;
      set.disabled = !mine;
    }
  }
  category.addEventListener("change", showQuestions);
  showQuestions();

  // -- use my location ------------------------------------------------------------------------------------------
  const locate = document.getElementById("use-location");
  const forget = document.getElementById("clear-location");
  const geoStatus = document.getElementById("geo-status");
  const lat = document.getElementById("f-lat");
  const lng = document.getElementById("f-lng");
  locate.hidden = false;
  function setPoint(latitude, longitude) {
    lat.value = latitude === "" ? "" : latitude.toFixed(6);
    lng.value = longitude === "" ? "" : longitude.toFixed(6);
    forget.hidden = lat.value === "";
    geoStatus.textContent = lat.value === "" ? "" : text.textLocationSet.replace("{lat}", lat.value).replace("{lng}", lng.value);
    // The map (report-map.js), when there is one, moves its pin there.
    form.dispatchEvent(new CustomEvent("civicloop:point", { detail: { lat: lat.value, lng: lng.value } }));
  }
  // A pin put on the map sets the point as "use my location" does.
  form.addEventListener("civicloop:pin", (event) => setPoint(event.detail.lat, event.detail.lng));
  locate.addEventListener("click", function () {
    if (!("geolocation" in navigator)) { geoStatus.textContent = text.textGeoUnsupported; return; }
    geoStatus.textContent = "…";
    navigator.geolocation.getCurrentPosition(
      (where) => setPoint(where.coords.latitude, where.coords.longitude),
      (error) => {
        geoStatus.textContent = { 1: text.textGeoDenied, 2: text.textGeoUnavailable, 3: text.textGeoTimeout }[error.code]
          || text.textGeoUnavailable;
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
  forget.addEventListener("click", () => setPoint("", ""));

  // -- address search (geo's public geocode, through intake) ----------------------------------------------------
  const find = document.getElementById("find-address");
  const address = document.getElementById("f-address");
  const placesList = document.getElementById("places");
  if (form.dataset.addressSearch === "on") find.hidden = false;
  function showPlaces(found) {
    placesList.replaceChildren();
    for (const place of found) {
      const item = document.createElement("li");
      const choose = document.createElement("button");
      choose.type = "button";
      choose.textContent = place.address;
      choose.addEventListener("click", () => {
        address.value = place.address;
        setPoint(place.lat, place.long);
        placesList.hidden = true;
        placesList.replaceChildren();
        address.focus();
      });
      item.appendChild(choose);
      placesList.appendChild(item);
    }
    placesList.hidden = found.length === 0;
  }
  find.addEventListener("click", function () {
    const query = address.value.trim();
    if (!query) { address.focus(); return; }
    geoStatus.textContent = "…";
    fetch("/report/places?q=" + encodeURIComponent(query), { headers: { Accept: "application/json" } })
      .then((answer) => answer.ok ? answer.json() : Promise.reject(new Error(String(answer.status))))
      .then((body) => {
        showPlaces(body.results);
        geoStatus.textContent = body.results.length
          ? text.textPlacesFound.replace("{count}", String(body.results.length)) : text.textPlacesNone;
      })
      .catch(() => { showPlaces([]); geoStatus.textContent = text.textPlacesUnavailable; });
  });

  // -- a phone's photo made small enough to send -----------------------------------------------------------------
  // A full-size photo is larger than the service takes in one post: drawn again at most 1600 pixels wide (upright,
  // as the camera said) before it is sent. The server cleans every photo again, whatever the browser did.
  const photoInput = document.getElementById("f-photo");
  const send = document.getElementById("send");
  const PHOTO_BUDGET = 900 * 1024;
  const MAX_SIDE = 1600;
  photoInput.addEventListener("change", function () {
    const file = photoInput.files && photoInput.files[0];
    if (!file || file.size <= PHOTO_BUDGET || !self.createImageBitmap || !self.DataTransfer) return;
    send.disabled = true;
    createImageBitmap(file, { imageOrientation: "from-image" })
      .then((bitmap) => {
        const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
        const canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        bitmap.close();
        const encode = (quality) => new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
        // Lower the quality until it fits (a photo of fine detail weighs more at the same size).
        const fitting = (qualities) => encode(qualities[0]).then((blob) =>
          blob && blob.size > PHOTO_BUDGET && qualities.length > 1 ? fitting(qualities.slice(1)) : blob);
        return fitting([0.85, 0.7, 0.55, 0.4]);
      })
      .then((blob) => {
        if (!blob) return;
        const smaller = new DataTransfer();
        smaller.items.add(new File([blob], file.name.replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" }));
        photoInput.files = smaller.files;
      })
      .catch(() => undefined) // sent as it is: the server says if it is too large
      .finally(() => { send.disabled = false; });
  });

  // -- the offline queue -----------------------------------------------------------------------------------------
  function openQueue() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  function inQueue(mode, work) {
    return openQueue().then((db) => new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const answer = work(tx.objectStore(STORE));
      tx.oncomplete = () => { db.close(); resolve(answer && answer.result); };
      tx.onerror = () => { db.close(); reject(tx.error); };
    }));
  }
  const saveReport = (report) => inQueue("readwrite", (store) => store.put(report));
  const savedReports = () => inQueue("readonly", (store) => store.getAll());
  const dropReport = (key) => inQueue("readwrite", (store) => store.delete(key));

  function say(message) {
    queueStatus.hidden = false;
    queueStatus.textContent = message;
  }

  function sendOne(report) {
    const body = new FormData();
    for (const [name, value] of report.fields) body.append(name, value);
    return fetch(form.action, { method: "POST", body: body, headers: { "Idempotency-Key": report.key },
                                credentials: "same-origin" })
      .then((answer) => {
        if (answer.ok && answer.url.indexOf("/report/sent") !== -1) {
          const number = new URL(answer.url).searchParams.get("number");
          return dropReport(report.key).then(() => say(text.textSent.replace("{number}", number)));
        }
        if (answer.status === 422 || answer.status === 409) {
          return dropReport(report.key).then(() => say(text.textRefused));
        }
        return undefined; // the service could not take it now (503, 429): tried again later
      });
  }

  let flushing = false;
  function flush() {
    if (flushing || !navigator.onLine) return Promise.resolve();
    flushing = true;
    const run = () => savedReports().then((reports) =>
      reports.reduce((chain, report) => chain.then(() => sendOne(report)), Promise.resolve()));
    // One tab sends at a time; the Idempotency-Key keeps a report single even if two did.
    const locked = navigator.locks ? navigator.locks.request("civicloop-report-outbox", run) : run();
    return locked.catch(() => undefined).finally(() => { flushing = false; });
  }

  function formFields() {
    const fields = [];
    for (const [name, value] of new FormData(form)) {
      if (value instanceof File && !value.name) continue;
      fields.push([name, value]);
    }
    return fields;
  }

  function keepForLater(fields) {
    return saveReport({ key: keyField.value, fields: fields, savedAt: new Date().toISOString() })
      .then(() => {
        form.reset();
        setPoint("", "");
        showQuestions();
        keyField.value = freshKey();
        say(text.textSaved);
        document.getElementById("main").focus();
      })
      .catch(() => say(text.textRefused));
  }

  let submitting = false;
  let plainPost = false;
  form.addEventListener("submit", function (event) {
    markUsed(keyField.value);
    if (plainPost) return; // the service answered with the form again: the browser posts it and shows the answer
    event.preventDefault();
    if (submitting) return;
    const fields = formFields();
    if (!navigator.onLine) { keepForLater(fields); return; }
    // Online, sent by the page so that a connection lost on the way keeps the report instead of losing it.
    submitting = true;
    send.disabled = true;
    const label = send.textContent;
    send.textContent = text.textSending;
    const body = new FormData();
    for (const [name, value] of fields) body.append(name, value);
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin" })
      .then((answer) => {
        if (answer.ok && answer.url.indexOf("/report/sent") !== -1) { window.location.assign(answer.url); return; }
        // Refused, or not taken now: the same form posted by the browser shows the page the service answers
        // (the same key: a report the service did take is answered again, never made twice).
        plainPost = true;
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }, () => keepForLater(fields))
      .finally(() => { submitting = false; send.disabled = false; send.textContent = label; });
  });

  window.addEventListener("online", flush);
  flush();
  setInterval(flush, 30000); // a connection lost while the browser still said "online" sends no event

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/pages-sw.js", { scope: "/" }).catch(() => undefined);
  }
})();
