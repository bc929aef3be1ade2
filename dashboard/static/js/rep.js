/* Rep page: check in with the browser's position (accuracy shown), a note and a photo; task status. */
(function () {
  "use strict";
  const api = window.fieldcrm.api, el = window.fieldcrm.el;
  const t = window.fieldcrm.translator("rep-messages");
  const form = document.getElementById("checkin-form");
  const choices = document.getElementById("checkin-customers");
  const positionNode = document.getElementById("position");
  const result = document.getElementById("checkin-result");
  let fix = null;
  let preferred = null;


  function locate() {
    positionNode.textContent = t("rep.locating");
    if (!navigator.geolocation) { positionNode.textContent = t("rep.no_geolocation"); return; }
    navigator.geolocation.getCurrentPosition(onPosition, function (error) {
      positionNode.textContent = t("rep.position_failed", { reason: error.message });
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  }

  async function onPosition(position) {
    fix = { lat: position.coords.latitude, lon: position.coords.longitude, accuracy_m: position.coords.accuracy };
    positionNode.textContent = t("rep.accuracy", { m: Math.round(fix.accuracy_m) });
    const nearby = await api("GET", "/api/v1/locations/customers/nearby?radius_m=3000&limit=8&lat=" + fix.lat + "&lon=" + fix.lon);
    const options = nearby.map(function (c) { return { id: c.id, name: c.name, distance: c.distance_m }; });
    if (preferred && !options.some(function (o) { return o.id === preferred.id; })) options.unshift(preferred);
    choices.querySelectorAll("label").forEach(function (node) { node.remove(); });
    options.forEach(function (option, index) {
      const checked = preferred ? option.id === preferred.id : index === 0;
      choices.append(el("label", { class: "choice" }, [
        el("input", { type: "radio", name: "customer_id", value: option.id, checked: checked, required: true }),
        " " + option.name + (option.distance !== undefined ? " · " + Math.round(option.distance) + " m" : ""),
      ]));
    });
    if (!options.length) choices.append(el("label", { class: "muted", text: t("rep.nobody_near") }));
    form.hidden = false;
  }

  function photoData(file) {
    /* Downscale to at most 1280 px as JPEG so a phone photo stays well under the upload limit. */
    return new Promise(function (resolve, reject) {
      const image = new Image();
      image.onload = function () {
        const scale = Math.min(1, 1280 / Math.max(image.width, image.height));
        const canvas = document.createElement("canvas");
        canvas.width = Math.round(image.width * scale);
        canvas.height = Math.round(image.height * scale);
        canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(image.src);
        resolve(canvas.toDataURL("image/jpeg", 0.8));
      };
      image.onerror = function () { reject(new Error(t("rep.bad_photo"))); };
      image.src = URL.createObjectURL(file);
    });
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const data = new FormData(form);
    const customer = data.get("customer_id");
    if (!fix || !customer) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const file = data.get("photo");
      const body = {
        customer_id: Number(customer), lat: fix.lat, lon: fix.lon, accuracy_m: fix.accuracy_m,
        note: String(data.get("note") || ""), client_key: crypto.randomUUID(),
      };
      if (file && file.size) body.photo = await photoData(file);
      const saved = await api("POST", "/api/v1/checkins", body);
      result.replaceChildren(el("p", {}, [
        el("span", { class: "badge " + saved.status, "data-status": saved.status, text: t("checkin.status." + saved.status) }),
        " " + t("rep.distance", { m: Math.round(saved.distance_m || 0), r: Math.round(saved.radius_m || 0) }),
      ]));
      form.reset();
    } catch (exc) {
      result.replaceChildren(el("p", { class: "error", text: exc.message }));
    } finally {
      button.disabled = false;
    }
  });

  document.getElementById("locate").addEventListener("click", function () { preferred = null; locate(); });
  document.querySelectorAll("[data-checkin-at]").forEach(function (button) {
    button.addEventListener("click", function () {
      preferred = { id: Number(button.dataset.checkinAt), name: button.dataset.name };
      document.getElementById("checkin").scrollIntoView({ behavior: "smooth" });
      locate();
    });
  });
  /* Daily report: draft (or refresh the numbers), edit, submit. */
  const reportPanel = document.getElementById("daily-report");
  async function draft() {
    try {
      await api("POST", "/api/v1/daily-reports/draft", { day: reportPanel.dataset.day });
      window.location.reload();
    } catch (exc) {
      window.fieldcrm.toast(exc.message, "error");
    }
  }
  ["report-draft", "report-refresh"].forEach(function (id) {
    const button = document.getElementById(id);
    if (button) button.addEventListener("click", function () { button.disabled = true; draft(); });
  });
  const reportForm = document.getElementById("report-form");
  async function saveReport() {
    const box = reportForm.elements.content;
    if (box.value === box.defaultValue) return;
    await api("PATCH", "/api/v1/daily-reports/" + reportPanel.dataset.report, { content: box.value });
    box.defaultValue = box.value;
  }
  if (reportForm) {
    document.getElementById("report-save").addEventListener("click", async function () {
      try {
        await saveReport();
        window.fieldcrm.toast(t("report.saved"), "ok");
      } catch (exc) {
        window.fieldcrm.toast(exc.message, "error");
      }
    });
    reportForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (!window.confirm(t("report.submit_confirm"))) return;
      try {
        await saveReport();
        await api("POST", "/api/v1/daily-reports/" + reportPanel.dataset.report + "/submit");
        window.location.reload();
      } catch (exc) {
        window.fieldcrm.toast(exc.message, "error");
      }
    });
  }

  document.querySelectorAll("[data-task-status]").forEach(function (button) {
    button.addEventListener("click", async function () {
      const task = button.closest("[data-task]").dataset.task;
      button.disabled = true;
      try {
        await api("POST", "/api/v1/dispatch/tasks/" + task + "/status", { status: button.dataset.taskStatus });
        window.location.reload();
      } catch (exc) {
        window.fieldcrm.toast(exc.message, "error");
        button.disabled = false;
      }
    });
  });
})();
