/* Fleet: revoke a phone's credentials (the agent stops uploading for it). */
(function () {
  "use strict";
  const text = window.fieldcrm.messages("fleet-messages");
  document.querySelectorAll("[data-revoke]").forEach(function (button) {
    button.addEventListener("click", async function () {
      if (!window.confirm(text["fleet.revoke_confirm"])) return;
      button.disabled = true;
      try {
        await window.fieldcrm.api("POST", "/api/v1/devices/" + button.dataset.revoke + "/revoke");
        window.location.reload();
      } catch (exc) {
        window.fieldcrm.toast(exc.message, "error");
        button.disabled = false;
      }
    });
  });
})();
