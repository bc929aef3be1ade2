/* Replay: stops, check-ins and planned visits on the map, and a time slider moving along the track. */
(function () {
  "use strict";
  const el = window.fieldcrm.el;
  const text = window.fieldcrm.messages("replay-messages");
  const view = JSON.parse(document.getElementById("replay-data").textContent);
  const root = document.getElementById("replay-map");
  const map = window[root.dataset.map];
  const STATUS = { ok: "#2e7d32", outside_geofence: "#ef8f00", low_accuracy: "#f9a825", suspected_mock: "#c62828" };
  const layers = { stops: L.layerGroup().addTo(map), checkins: L.layerGroup().addTo(map), plan: L.layerGroup().addTo(map) };

  function label(prefix, value) { return text[prefix + "." + value] || value; }
  const clock = window.fieldcrm.clock;
  function minutes(seconds) { return Math.round(seconds / 60) + " min"; }
  function tip(lines) { return el("div", {}, lines.map(function (line) { return el("div", { text: line }); })); }

  window.fieldcrmReplay = { stops: 0, checkins: 0, trackPoints: 0 };
  if (!view) return;

  /* the planned route (dashed) under the track actually driven */
  const planned = ((view.plan && view.plan.visits) || []).filter(function (v) { return v.lat !== null; });
  if (planned.length > 1) {
    L.polyline(planned.map(function (v) { return [v.lat, v.lon]; }), { color: "#6d4c41", weight: 3, dashArray: "8 6", opacity: 0.8 }).addTo(map);
  }
  if (view.track.coordinates.length > 1) {
    L.polyline(view.track.coordinates.map(function (c) { return [c[1], c[0]]; }), { color: "#1565c0", weight: 4, opacity: 0.85 }).addTo(map);
  }

  view.stops.forEach(function (s) {
    L.circleMarker([s.lat, s.lon], { radius: 9, weight: 2, color: "#263238", fillColor: "#eceff1", fillOpacity: 0.9 })
      .bindTooltip(tip([(s.customer ? s.customer.name : text["replay.unknown_place"]), clock(s.start) + "–" + clock(s.end) + " · " + minutes(s.duration_s)]))
      .addTo(layers.stops);
  });
  view.checkins.forEach(function (c) {
    L.circleMarker([c.lat, c.lon], { radius: 7, weight: 2, color: "#fff", fillColor: STATUS[c.status] || "#8a949e", fillOpacity: 1 })
      .bindTooltip(tip([(c.customer.name || "#" + c.customer.id) + " · " + label("checkin.status", c.status), clock(c.time) + " · " + Math.round(c.distance_m) + " m"]))
      .addTo(layers.checkins);
  });
  ((view.plan && view.plan.visits) || []).forEach(function (v) {
    if (v.lat === null) return;
    L.marker([v.lat, v.lon], { icon: L.divIcon({ className: "plan-icon", html: String(v.seq + 1), iconSize: [20, 20] }) })
      .bindTooltip(tip([(v.seq + 1) + ". " + (v.name || ""), text["replay.planned"] + " " + clock(v.arrival), label("replay.outcome", v.outcome)]))
      .addTo(layers.plan);
  });
  window.fieldcrmReplay.stops = view.stops.length;
  window.fieldcrmReplay.checkins = view.checkins.length;

  const coords = view.track.coordinates;
  const times = view.track.properties.times;
  window.fieldcrmReplay.trackPoints = coords.length;
  const slider = document.getElementById("replay-slider");
  if (!slider || !coords.length) return;
  const cursor = L.circleMarker([coords[0][1], coords[0][0]], { radius: 8, weight: 3, color: "#fff", fillColor: "#d81b60", fillOpacity: 1 }).addTo(map);
  const trail = L.polyline([], { color: "#d81b60", weight: 5, opacity: 0.7 }).addTo(map);
  const clockNode = document.getElementById("replay-clock");

  function show(index) {
    const i = Math.max(0, Math.min(coords.length - 1, index));
    cursor.setLatLng([coords[i][1], coords[i][0]]);
    trail.setLatLngs(coords.slice(0, i + 1).map(function (c) { return [c[1], c[0]]; }));
    clockNode.textContent = clock(times[i]);
    slider.value = String(i);
  }
  slider.addEventListener("input", function () { show(Number(slider.value)); });

  let timer = null;
  const play = document.getElementById("replay-play");
  play.addEventListener("click", function () {
    if (timer) { clearInterval(timer); timer = null; play.textContent = "▶"; return; }
    if (Number(slider.value) >= coords.length - 1) show(0);
    play.textContent = "⏸";
    timer = setInterval(function () {
      const next = Number(slider.value) + 1;
      show(next);
      if (next >= coords.length - 1) { clearInterval(timer); timer = null; play.textContent = "▶"; }
    }, Math.max(20, 12000 / coords.length));
  });
  show(0);
})();
