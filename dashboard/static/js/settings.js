/* Sales-ops settings: every change goes through the REST API; a refusal is shown next to the form
   in the page's language (fieldcrm.api words it from the error's code), success reloads the page. */
(function () {
  "use strict";
  const api = window.fieldcrm.api;
  const t = window.fieldcrm.translator("settings-messages");

  async function act(node, call) {
    const panel = node.closest("section");
    const outcome = panel ? panel.querySelector(".outcome") : null;
    if (outcome) outcome.textContent = "";
    try {
      await call();
      window.fieldcrm.toast(t("settings.saved"), "ok");
      window.location.reload();
    } catch (exc) {
      if (outcome) outcome.textContent = exc.message;
      window.fieldcrm.toast(exc.message, "error");
    }
  }

  function onSubmit(form, call) {
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      act(form, function () { return call(form); });
    });
  }

  function onClick(selector, call, confirmKey) {
    document.querySelectorAll(selector).forEach(function (button) {
      button.addEventListener("click", function () {
        if (confirmKey && !window.confirm(t(confirmKey))) return;
        act(button, function () { return call(button, button.closest("tr")); });
      });
    });
  }

  function numberOrNull(value) { return value === "" ? null : Number(value); }

  /* pipelines and stages */
  onClick("[data-save-stage]", function (button, row) {
    return api("PATCH", "/api/v1/pipeline-stages/" + row.dataset.stage, {
      name: row.querySelector("input[name=name]").value.trim(),
      probability: Number(row.querySelector("input[name=probability]").value),
    });
  });
  onClick("[data-delete-stage]", function (button, row) {
    const target = row.querySelector("select[name=move_to]");
    const query = target && target.value ? "?move_to=" + encodeURIComponent(target.value) : "";
    return api("DELETE", "/api/v1/pipeline-stages/" + row.dataset.stage + query);
  }, "settings.stage.delete_confirm");
  onClick("[data-move]", function (button, row) {
    const ids = Array.from(row.parentNode.children).map(function (r) { return Number(r.dataset.stage); });
    const at = ids.indexOf(Number(row.dataset.stage));
    ids.splice(button.dataset.move === "up" ? at - 1 : at + 1, 0, ids.splice(at, 1)[0]);
    const pipeline = button.closest("[data-pipeline]").dataset.pipeline;
    return api("PUT", "/api/v1/pipelines/" + pipeline + "/stage-order", { stage_ids: ids });
  });
  onClick("[data-make-default]", function (button) {
    return api("PATCH", "/api/v1/pipelines/" + button.dataset.makeDefault, { is_default: true });
  });
  document.querySelectorAll("form[data-add-stage]").forEach(function (form) {
    onSubmit(form, function () {
      const kind = form.elements.kind.value;
      return api("POST", "/api/v1/pipelines/" + form.dataset.addStage + "/stages", {
        name: form.elements.name.value.trim(),
        probability: kind === "won" ? 100 : kind === "lost" ? 0 : Number(form.elements.probability.value),
        is_won: kind === "won",
        is_lost: kind === "lost",
      });
    });
  });
  onSubmit(document.getElementById("pipeline-form"), function (form) {
    return api("POST", "/api/v1/pipelines", { name: form.elements.name.value.trim(), division_id: Number(form.dataset.division) });
  });

  /* lost reasons: one a line */
  onSubmit(document.getElementById("lost-reasons-form"), function (form) {
    const reasons = form.elements.reasons.value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean);
    return api("PUT", "/api/v1/divisions/" + form.dataset.division + "/lost-reasons", { reasons: reasons });
  });

  /* pool rules (an empty optional limit means none) */
  const LIMITS = ["reclaim_no_followup_days", "reclaim_no_deal_days", "warn_days_before", "daily_claim_cap", "holding_capacity", "cooldown_days"];
  document.querySelectorAll("form.pool-form").forEach(function (form) {
    onSubmit(form, function () {
      const body = { name: form.elements.name.value.trim() };
      LIMITS.forEach(function (key) { body[key] = numberOrNull(form.elements[key].value); });
      body.claim_roles = Array.from(form.querySelectorAll("input[name=claim_roles]:checked")).map(function (box) { return box.value; });
      if (form.dataset.pool) return api("PATCH", "/api/v1/pools/" + form.dataset.pool, body);
      body.division_id = Number(form.dataset.division);
      return api("POST", "/api/v1/pools", body);
    });
  });

  /* targets */
  onSubmit(document.getElementById("target-form"), function (form) {
    return api("PUT", "/api/v1/targets", {
      division_id: Number(form.dataset.division),
      user_id: numberOrNull(form.elements.user_id.value),
      month: form.dataset.month,
      metric: form.elements.metric.value,
      value: form.elements.value.value,
    });
  });
})();
