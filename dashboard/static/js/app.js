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
    if (!response.ok) throw await failure(response, data);
    return data;
  }

  /* The Error for a refused call: its message in the page's language, plus status, field, code, detail. */
  async function failure(response, data) {
    const error = new Error(await errorText(response, data));
    error.status = response.status;
    error.field = data && data.field;
    error.code = (data && data.code) || null;
    error.detail = (data && data.detail) || response.statusText;
    return error;
  }

  function fill(text, values) {
    Object.entries(values || {}).forEach(function (entry) { text = text.split("{" + entry[0] + "}").join(entry[1]); });
    return text;
  }

  /* Errors are worded in the page's language from the answer's code and params (the message of every
     code is fetched once, on the first failure); the English detail is the fallback. */
  let errorCatalogue = null;
  function errorMessages() {
    if (errorCatalogue === null) {
      const url = "/locale/errors.json?lang=" + (document.documentElement.lang.startsWith("zh") ? "zh" : "en");
      errorCatalogue = fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : {}; })
        .catch(function () { return {}; });
    }
    return errorCatalogue;
  }
  async function errorText(response, data) {
    const detail = (data && data.detail) || response.statusText;
    const code = (data && data.code) || "http." + response.status;
    const text = (await errorMessages())[code];
    return text ? fill(text, data && data.params) : (typeof detail === "string" ? detail : JSON.stringify(detail));
  }

  function messages(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  /* t(key, {name: value}) over the messages a page embeds as JSON under the element ``id``. */
  function translator(id) {
    const text = messages(id);
    return function (key, values) { return fill(text[key] || key, values); };
  }

  const moneyFormat = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  function money(amount) { return "¥" + moneyFormat.format(Number(amount)); }

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

  /* Filter forms send only the filters that are set ("any" options and empty boxes are left out). */
  document.querySelectorAll("form[method=get]").forEach(function (form) {
    form.addEventListener("submit", function () {
      Array.from(form.elements).forEach(function (field) {
        if (field.name && field.value === "") field.disabled = true;
      });
      setTimeout(function () { Array.from(form.elements).forEach(function (field) { field.disabled = false; }); }, 0);
    });
  });

  /* Filter selects that apply at once. */
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.requestSubmit(); });
  });

  /* SLA clocks ([data-deadline]) count down in place; the server rendered the first text. */
  function duration(seconds, t) {
    const total = Math.round(seconds);
    if (total < 60) return t("unit.seconds", { n: total });
    const minutes = Math.floor(total / 60) % 60, hours = Math.floor(total / 3600);
    return hours ? t("unit.hours_minutes", { h: hours, m: String(minutes).padStart(2, "0") }) : t("unit.minutes", { n: minutes });
  }
  function tickClocks() {
    const t = translator("sla-messages");
    document.querySelectorAll("[data-deadline]").forEach(function (node) {
      const left = (new Date(node.dataset.deadline) - Date.now()) / 1000;
      const breached = left <= 0;
      node.dataset.breached = String(breached);
      node.classList.toggle("bad", breached);
      node.classList.toggle("warn", !breached && left < 3600);
      node.classList.toggle("ok", !breached && left >= 3600);
      const key = "sla." + node.dataset.target + (breached ? "_overdue" : "_left");
      node.textContent = t(key, { span: duration(Math.abs(left), t) });
    });
  }
  if (document.querySelector("[data-deadline]")) setInterval(tickClocks, 30000);

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

  /* Managers' navigation shows how many alerts are open: counted on every page, each minute and after an
     acknowledgement. The badge is a hint: a count that fails leaves it as it was. */
  const openAlerts = document.getElementById("open-alerts");
  async function refreshAlertCount() {
    if (!openAlerts) return;
    try {
      const count = (await api("GET", "/api/v1/alerts/count")).open;
      openAlerts.textContent = count > 99 ? "99+" : String(count);
      openAlerts.title = fill(openAlerts.dataset.label, { count: count });
      openAlerts.hidden = count === 0;
    } catch (_) { /* kept as it was */ }
  }
  if (openAlerts) {
    refreshAlertCount();
    setInterval(refreshAlertCount, 60000);
  }

  window.fieldcrm = {
    refreshAlertCount: refreshAlertCount, api: api, failure: failure, messages: messages, fill: fill, translator: translator, el: el, toast: toast, clock: clock, stamp: stamp, money: money,
  };
})();
