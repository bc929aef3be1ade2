/* Live map: rep markers refreshed in place every few seconds, the clustered customers layer, dispatch. */
(function () {
  "use strict";
  const api = window.fieldcrm.api, el = window.fieldcrm.el;
  const t = window.fieldcrm.translator("live-messages");
  const root = document.getElementById("live-map");
  const map = window[root.dataset.map];
  const tiles = root.dataset.tiles;
  const refreshMs = Number(root.dataset.refresh) * 1000;
  const FILL = { fresh: "#2e7d32", stale: "#ef8f00", offline: "#8a949e" };
  const RING = { moving: "#1565c0", stopped: "#263238", visiting: "#7b1fa2" };
  const renderer = L.canvas({ padding: 0.3 });
  const repLayer = L.layerGroup().addTo(map);
  const customerLayer = L.layerGroup().addTo(map);
  const markers = new Map();
  const props = new Map();


  function ago(seconds) {
    if (seconds < 60) return t("live.ago_s", { n: seconds });
    if (seconds < 3600) return t("live.ago_m", { n: Math.round(seconds / 60) });
    return t("live.ago_h", { n: (seconds / 3600).toFixed(1) });
  }

  function battery(p) {
    if (p.battery_pct === null || p.battery_pct === undefined) return "";
    return t("live.battery", { n: Math.round(p.battery_pct) }) + (p.charging ? " ⚡" : "");
  }

  function describe(p) {
    const age = Math.max(0, Math.round(Date.now() / 1000 - p.time));
    /* text nodes: a rep's name is user input, never markup */
    const lines = [p.name, t("live.freshness." + p.freshness) + " · " + t("live.state." + p.state), ago(age), battery(p)];
    return el("div", {}, lines.filter(Boolean).map(function (line) { return el("div", { text: line }); }));
  }

  function style(p) {
    const low = p.battery_pct !== null && p.battery_pct !== undefined && p.battery_pct < 20;
    return { renderer: renderer, radius: 8, weight: 3, color: RING[p.state] || "#263238", fillColor: FILL[p.freshness] || "#8a949e", fillOpacity: 0.95, dashArray: low ? "3 3" : null };
  }

  function updateReps(live) {
    const seen = new Set();
    const fields = live.fields;
    live.reps.forEach(function (row) {
      const p = {};
      fields.forEach(function (name, i) { p[name] = row[i]; });
      const latlng = [p.lat, p.lon];
      seen.add(p.id);
      props.set(p.id, p);
      let marker = markers.get(p.id);
      if (marker) {
        marker.setLatLng(latlng);
        marker.setStyle(style(p));
      } else {
        /* the tooltip is written when it opens, so the age it shows is current */
        marker = L.circleMarker(latlng, style(p)).bindTooltip(function () { return describe(props.get(p.id)); }).addTo(repLayer);
        markers.set(p.id, marker);
      }
    });
    markers.forEach(function (marker, id) {
      if (!seen.has(id)) { repLayer.removeLayer(marker); markers.delete(id); props.delete(id); }
    });
    renderCounts();
    renderList();
  }

  function renderCounts() {
    const counts = {};
    props.forEach(function (p) {
      counts[p.freshness] = (counts[p.freshness] || 0) + 1;
      counts[p.state] = (counts[p.state] || 0) + 1;
    });
    document.querySelectorAll("[data-count]").forEach(function (badge) {
      badge.querySelector("b").textContent = counts[badge.dataset.count] || 0;
    });
  }

  function renderList() {
    const list = document.getElementById("rep-list");
    const rows = Array.from(props.values()).sort(function (a, b) { return a.name.localeCompare(b.name); }).slice(0, 300);
    list.replaceChildren.apply(list, rows.map(function (p) {
      return el("li", { "data-rep": p.id, onclick: function () { map.setView(markers.get(p.id).getLatLng(), Math.max(map.getZoom(), 14)); markers.get(p.id).openTooltip(); } }, [
        el("span", { text: p.name }),
        el("span", {}, [
          el("span", { class: "badge " + p.freshness, text: t("live.freshness." + p.freshness) }), " ",
          el("span", { class: "badge " + p.state, text: t("live.state." + p.state) }), " ",
          el("span", { class: "small muted", text: battery(p) }),
        ]),
      ]);
    }));
  }

  /* Polled with the browser's cache: an unchanged fleet is a 304 with the same ETag, and nothing is redrawn. */
  let lastTag = null;
  async function fetchLive() {
    const response = await fetch("/map/live.json?coords=" + root.dataset.coords, { credentials: "same-origin", cache: "no-cache", headers: { Accept: "application/json" } });
    if (response.status === 401) window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
    if (!response.ok) throw new Error(response.statusText);
    const tag = response.headers.get("ETag");
    if (tag && tag === lastTag) return null;
    lastTag = tag;
    return response.json();
  }

  async function pollReps() {
    try {
      const live = await fetchLive();
      if (live) updateReps(live);
      document.getElementById("live-updated").textContent = t("live.updated", { time: window.fieldcrm.clock(new Date().toISOString()) });
    } catch (exc) {
      document.getElementById("live-updated").textContent = exc.message;
    } finally {
      setTimeout(pollReps, refreshMs);
    }
  }

  /* customers: clusters from the server for the visible box */
  let customerRequest = 0;
  async function loadCustomers() {
    if (!document.getElementById("show-customers").checked) { customerLayer.clearLayers(); return; }
    const b = map.getBounds();
    const box = [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()].map(function (v, i) {
      return Math.max(i % 2 ? -180 : -90, Math.min(i % 2 ? 180 : 90, v)).toFixed(6);
    }).join(",");
    const ticket = ++customerRequest;
    const data = await api("GET", "/map/customers.geojson?tiles=" + tiles + "&zoom=" + map.getZoom() + "&bbox=" + box);
    if (ticket !== customerRequest) return;
    customerLayer.clearLayers();
    data.features.forEach(function (feature) {
      const p = feature.properties;
      const latlng = [feature.geometry.coordinates[1], feature.geometry.coordinates[0]];
      if (p.count > 1) {
        const size = Math.min(54, 26 + Math.log10(p.count) * 10);
        L.marker(latlng, { icon: L.divIcon({ className: "cluster-icon", html: String(p.count), iconSize: [size, size] }), keyboard: false })
          .on("click", function () { map.setView(latlng, Math.min(map.getZoom() + 2, 18)); })
          .addTo(customerLayer);
      } else {
        const marker = L.circleMarker(latlng, { renderer: renderer, radius: 5, weight: 1, color: "#0d47a1", fillColor: p.in_pool ? "#ffb74d" : "#64b5f6", fillOpacity: 0.9 });
        marker.bindPopup(function () { return customerPopup(p); }).addTo(customerLayer);
      }
    });
  }

  function customerPopup(p) {
    return el("div", { class: "customer-popup" }, [
      el("strong", {}, [el("a", { href: "/customers/" + p.id, text: p.name })]),
      el("div", {}, [el("button", { type: "button", class: "primary", "data-dispatch": p.id, text: t("dispatch.find"), onclick: function () { findReps(p); } })]),
    ]);
  }

  /* dispatch: nearest available reps for a customer's request, then assign */
  async function findReps(customer) {
    const panel = document.getElementById("dispatch");
    const list = document.getElementById("dispatch-list");
    panel.hidden = false;
    document.getElementById("dispatch-title").textContent = t("dispatch.title", { name: customer.name });
    document.getElementById("dispatch-note").textContent = t("dispatch.loading");
    list.replaceChildren();
    try {
      const ranked = await api("GET", "/api/v1/dispatch/candidates?customer_id=" + customer.id);
      document.getElementById("dispatch-note").textContent = ranked.ranked.length ? t("dispatch.note") : t("dispatch.none");
      ranked.ranked.forEach(function (r) {
        const button = el("button", { type: "button", class: "secondary", text: t("dispatch.assign"), "data-assign": r.rep_id });
        button.addEventListener("click", async function () {
          button.disabled = true;
          try {
            await api("POST", "/api/v1/dispatch/tasks", { customer_id: customer.id, rep_id: r.rep_id, title: t("dispatch.task_title", { name: customer.name }) });
            window.fieldcrm.toast(t("dispatch.assigned", { rep: r.name }), "ok");
            panel.hidden = true;
          } catch (exc) {
            window.fieldcrm.toast(exc.message, "error");
            button.disabled = false;
          }
        });
        list.append(el("li", { "data-candidate": r.rep_id }, [
          el("span", { text: r.name }),
          el("span", { class: "small", text: (r.distance_m / 1000).toFixed(1) + " km · " + Math.round(r.travel_s / 60) + " min" }),
          button,
        ]));
      });
    } catch (exc) {
      document.getElementById("dispatch-note").textContent = exc.message;
    }
  }

  map.on("moveend", loadCustomers);
  document.getElementById("show-customers").addEventListener("change", loadCustomers);
  window.fieldcrmLive = {
    map: map,
    markers: markers,
    position: function (id) { const m = markers.get(id); return m ? [m.getLatLng().lat, m.getLatLng().lng] : null; },
  };
  pollReps();
  loadCustomers();
})();
