/* A ticket's page: start, resolve, close, assign (with an optional on-site visit). */
(function () {
  "use strict";
  const api = window.fieldcrm.api;
  const id = document.getElementById("ticket-body").dataset.ticket;

  async function post(path, body, button) {
    if (button) button.disabled = true;
    try {
      await api("POST", "/api/v1/tickets/" + id + "/" + path, body);
      window.location.reload();
    } catch (exc) {
      window.fieldcrm.toast(exc.message, "error");
      if (button) button.disabled = false;
    }
  }

  document.querySelectorAll("#ticket-actions [data-action]").forEach(function (button) {
    button.addEventListener("click", function () { post(button.dataset.action, undefined, button); });
  });
  const resolve = document.getElementById("resolve-form");
  if (resolve) {
    resolve.addEventListener("submit", function (event) {
      event.preventDefault();
      post("resolve", { resolution: resolve.elements.resolution.value }, resolve.querySelector("button"));
    });
  }
  const assign = document.getElementById("assign-form");
  if (assign) {
    assign.addEventListener("submit", function (event) {
      event.preventDefault();
      const body = { assignee_id: Number(assign.elements.assignee_id.value) };
      /* datetime-local is the browser's local time; sent as an absolute instant */
      if (assign.elements.dispatch_at.value) body.dispatch_at = new Date(assign.elements.dispatch_at.value).toISOString();
      post("assign", body, assign.querySelector("button"));
    });
  }
})();
