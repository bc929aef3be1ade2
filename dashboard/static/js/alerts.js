/* Alerts: acknowledge one; save the division's keywords. */
(function () {
  "use strict";
  const api = window.fieldcrm.api, el = window.fieldcrm.el;
  const t = window.fieldcrm.translator("alerts-messages");

  document.querySelectorAll("[data-ack]").forEach(function (button) {
    button.addEventListener("click", async function () {
      button.disabled = true;
      try {
        const alert = await api("POST", "/api/v1/alerts/" + button.dataset.ack + "/acknowledge");
        button.replaceWith(el("span", { class: "small muted", text: t("alerts.acknowledged_at", { time: window.fieldcrm.stamp(alert.acknowledged_at) }) }));
        window.fieldcrm.refreshAlertCount();
      } catch (exc) {
        window.fieldcrm.toast(exc.message, "error");
        button.disabled = false;
      }
    });
  });

  const form = document.getElementById("keywords-form");
  if (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const keywords = form.elements.keywords.value.split(/[,，、\s]+/).filter(Boolean);
      try {
        const saved = await api("PUT", "/api/v1/alerts/keywords/" + form.dataset.division, { keywords: keywords });
        form.elements.keywords.value = saved.keywords.join(", ");
        window.fieldcrm.toast(t("alerts.keywords_saved", { n: saved.keywords.length }), "ok");
      } catch (exc) {
        window.fieldcrm.toast(exc.message, "error");
      }
    });
  }
})();
