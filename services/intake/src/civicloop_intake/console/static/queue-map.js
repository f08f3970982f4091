// The queue's map: the requests that have a place, each a pin (focusable; Enter opens its label and link), drawn
// with the report map's Leaflet (/static/pages/vendor/leaflet) on the configured basemap, or on a plain background.
// Without JavaScript the page's list of the same requests is the way to them.
"use strict";
(function () {
  const box = document.getElementById("queue-map");
  const data = document.getElementById("queue-points");
  if (!box || !data || !self.L) return;
  const points = JSON.parse(data.textContent);
  if (!points.length) return;
  box.hidden = false;
  const setup = box.dataset;
  // No fading: a popup is read (and its contrast checked) as soon as it opens, and motion is kept to a minimum.
  const map = L.map(box, { keyboard: true, fadeAnimation: false, maxZoom: Number(setup.maxZoom) || 19 });
  if (setup.tiles) {
    const credit = document.createElement("span");
    credit.textContent = setup.attribution || "";
    L.tileLayer(setup.tiles, { attribution: credit.innerHTML, maxZoom: Number(setup.maxZoom) || 19 }).addTo(map);
  }
  const pins = points.map((p) => {
    const label = document.createElement("a");
    label.href = p.link;
    label.textContent = p.title;
    return L.marker([p.lat, p.long], { title: p.title, alt: p.title }).bindPopup(label).addTo(map);
  });
  map.fitBounds(L.featureGroup(pins).getBounds(), { padding: [24, 24], maxZoom: 16 });
})();
