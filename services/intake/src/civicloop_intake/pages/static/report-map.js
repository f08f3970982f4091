// The report form's map, with Leaflet (vendor/leaflet, served from this site): the service areas as geo draws them
// (`/report/areas`), on a basemap only when one is set (else a plain background). A tap or click puts the pin and
// sets the place's lat/long; with the keyboard, the arrows move the map, + and - zoom and Enter puts the pin in the
// middle. The pin follows "use my location" and the address search (report.js tells of every point it sets).
// Without JavaScript the map is never shown: the address field is the way, and nothing is missed.
"use strict";
(function () {
  const form = document.getElementById("report");
  const box = document.getElementById("map-box");
  if (!form || !box || !self.L) return;
  const setup = box.dataset;
  const lat = document.getElementById("f-lat");
  const lng = document.getElementById("f-lng");
  const hint = document.getElementById("h-map");

  box.hidden = false;
  const map = L.map("map", { keyboard: true, zoomSnap: 0.5, attributionControl: true, maxZoom: Number(setup.maxZoom) || 19 });
  if (setup.tiles) {
    // Leaflet writes the attribution as HTML: the configured credit is shown as text.
    const credit = document.createElement("span");
    credit.textContent = setup.attribution || "";
    L.tileLayer(setup.tiles, { attribution: credit.innerHTML, maxZoom: Number(setup.maxZoom) || 19 }).addTo(map);
  }
  map.setView([0, 0], 1);

  let pin = null;
  function showPin(latitude, longitude, follow) {
    if (latitude === "" || longitude === "" || isNaN(Number(latitude)) || isNaN(Number(longitude))) {
      if (pin) { pin.remove(); pin = null; }
      return;
    }
    const where = [Number(latitude), Number(longitude)];
    if (!pin) {
      pin = L.marker(where, { keyboard: false, alt: setup.textPin, title: setup.textPin }).addTo(map);
    } else {
      pin.setLatLng(where);
    }
    if (follow && !map.getBounds().contains(where)) map.setView(where, Math.max(map.getZoom(), 15));
  }

  function putPin(at) {
    const wrapped = at.wrap();
    showPin(wrapped.lat, wrapped.lng, false);
    form.dispatchEvent(new CustomEvent("civicloop:pin", { detail: { lat: wrapped.lat, lng: wrapped.lng } }));
  }
  map.on("click", (event) => putPin(event.latlng));
  // The ring in the middle (pages.css) shows while the map is used with the keyboard, not after a tap.
  map.getContainer().addEventListener("keyup", (event) => {
    if (event.target === map.getContainer()) map.getContainer().classList.add("aiming");
  });
  map.getContainer().addEventListener("pointerdown", () => map.getContainer().classList.remove("aiming"));
  map.getContainer().addEventListener("keydown", (event) => {
    if (event.target !== map.getContainer() || (event.key !== "Enter" && event.key !== " ")) return;
    event.preventDefault();
    putPin(map.getCenter());
  });
  form.addEventListener("civicloop:point", (event) => showPin(event.detail.lat, event.detail.lng, true));

  const hadPoint = lat.value !== "" && lng.value !== "";
  if (hadPoint) {
    showPin(lat.value, lng.value, false);
    map.setView([Number(lat.value), Number(lng.value)], 16);
  }
  if (!setup.areas) { box.dataset.areasShown = "0"; return; }
  fetch(setup.areas, { headers: { Accept: "application/geo+json" } })
    .then((answer) => answer.ok ? answer.json() : Promise.reject(new Error(String(answer.status))))
    .then((areas) => {
      const drawn = L.geoJSON(areas, {
        interactive: false, // a tap inside an area puts the pin, as anywhere else
        style: (feature) => feature.properties.kind === "boundary"
          ? { color: "#073447", weight: 3, fill: false }
          : { color: "#0b4f6c", weight: 2, fillColor: "#0b4f6c", fillOpacity: 0.12 },
      }).addTo(map);
      box.dataset.areasShown = String(areas.features.length);
      if (!hadPoint && areas.features.length) map.fitBounds(drawn.getBounds(), { padding: [8, 8] });
    })
    .catch(() => {
      box.dataset.areasShown = "0";
      if (!setup.tiles) { box.hidden = true; return; } // nothing to show: the address field and the location button
      hint.textContent = setup.textUnavailable;
    });
})();
