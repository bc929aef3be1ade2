/* Shared helpers for every page: JSON calls to our API, messages, small DOM builders. */
(function () {
  "use strict";

  async function api(method, url, body) {
    const options = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = { detail: text };
    }
    if (response.status === 401 && !url.startsWith("/api/v1/auth/login")) {
      window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
    }
    if (!response.ok) {
      const error = new Error((data && data.detail) || response.statusText);
      error.status = response.status;
      error.field = data && data.field;
      throw error;
    }
    return data;
  }

  function messages(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(function (entry) {
      const key = entry[0], value = entry[1];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) node.append(child);
    });
    return node;
  }

  function toast(text, kind) {
    let box = document.getElementById("toasts");
    if (!box) {
      box = el("div", { id: "toasts", "aria-live": "polite" });
      document.body.append(box);
    }
    const item = el("div", { class: "toast " + (kind || "info"), text: text, role: "status" });
    box.append(item);
    setTimeout(function () { item.remove(); }, 6000);
  }

  /* Times are shown in the organisation's display zone, whatever the browser's zone is. */
  const zone = document.body.dataset.zone || undefined;
  const lang = document.documentElement.lang;
  function formatter(options) {
    return new Intl.DateTimeFormat(lang, Object.assign({ timeZone: zone, hour12: false }, options));
  }
  const clockFormat = formatter({ hour: "2-digit", minute: "2-digit" });
  const stampFormat = formatter({ year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  function clock(iso) { return iso ? clockFormat.format(new Date(iso)) : "—"; }
  function stamp(iso) { return iso ? stampFormat.format(new Date(iso)) : "—"; }

  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async function () {
      try {
        await api("POST", "/api/v1/auth/logout");
      } finally {
        window.location.assign("/login");
      }
    });
  }

  window.fieldcrm = { api: api, messages: messages, el: el, toast: toast, clock: clock, stamp: stamp };
})();
