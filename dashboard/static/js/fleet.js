/* Fleet: send a command to the agent holding a phone (sync now, re-provision) and follow its state
   until the agent reports back; revoke a phone's credentials (the agent stops uploading for it). */
(function () {
  "use strict";
  const fc = window.fieldcrm;
  const t = fc.translator("fleet-messages");
  const POLL_MS = 2000;
  const PENDING = ["queued", "claimed"];
  const STATE_CLASS = { done: "ok", failed: "bad", claimed: "moving", queued: "warn" };
  const following = new Set();

  function row(deviceId) { return document.querySelector("tr[data-device='" + deviceId + "']"); }

  /* The last-command cell, rebuilt from the API's command (text nodes only: messages come from the agent). */
  function showCommand(command) {
    const tr = row(command.device_id);
    if (!tr) return;
    const cell = tr.querySelector("[data-last-command]");
    cell.dataset.commandId = command.id;
    cell.dataset.state = command.state;
    const when = command.finished_at || command.claimed_at || command.requested_at;
    const whenText = fc.stamp(when) + (command.claimed_by ? " · " + command.claimed_by : "");
    cell.replaceChildren(
      fc.el("span", { "data-kind": true, text: t("fleet.command.kind." + command.kind) }), " ",
      fc.el("span", { class: "badge " + (STATE_CLASS[command.state] || "warn"), "data-state-label": true,
                      text: t("fleet.command.state." + command.state) }), " ",
      fc.el("span", { class: "muted", "data-when": true, text: whenText }),
      command.message ? fc.el("div", { class: "muted", "data-message": true, text: command.message }) : null,
    );
    if (command.kind === "provision" && !PENDING.includes(command.state)) showSteps(tr, command);
  }

  /* The provisioning checklist from the agent's report of a finished re-provisioning. */
  function showSteps(tr, command) {
    const steps = (command.result && Array.isArray(command.result.steps)) ? command.result.steps : [];
    const box = tr.querySelector("[data-provisioning]");
    if (!box || !steps.length) return;
    const good = { "done": true, "already done": true, "needs a human": false, "failed": false };
    const list = fc.el("ul", { class: "checklist" }, steps.map(function (step) {
      const ok = good[step.status];
      const mark = ok === undefined ? "·" : (ok ? "✓" : "✗");
      return fc.el("li", { class: ok === undefined ? "unknown" : (ok ? "ok" : "todo"), "data-step": step.step,
                           title: step.detail || "" }, [
        mark + " " + t("fleet.step." + step.step),
        ok === false && step.detail ? fc.el("div", { class: "muted", text: step.detail }) : null,
      ]);
    }));
    box.replaceChildren(
      fc.el("div", { class: "small muted", text: t("fleet.provisioning") + " · " + fc.stamp(command.finished_at) }),
      list,
    );
  }

  function follow(commandId) {
    if (following.has(commandId)) return;
    following.add(commandId);
    const timer = setInterval(async function () {
      try {
        const command = await fc.api("GET", "/api/v1/agent-commands/" + commandId);
        showCommand(command);
        if (!PENDING.includes(command.state)) {
          clearInterval(timer);
          following.delete(commandId);
        }
      } catch (exc) {
        clearInterval(timer);
        following.delete(commandId);
        fc.toast(exc.message, "error");
      }
    }, POLL_MS);
  }

  document.querySelectorAll("[data-command]").forEach(function (button) {
    button.addEventListener("click", async function () {
      button.disabled = true;
      try {
        const command = await fc.api("POST", "/api/v1/devices/" + button.dataset.deviceId + "/commands",
                                     { kind: button.dataset.command });
        showCommand(command);
        fc.toast(t("fleet.command_sent"), "info");
        if (PENDING.includes(command.state)) follow(command.id);
      } catch (exc) {
        fc.toast(exc.message, "error");
      } finally {
        button.disabled = false;
      }
    });
  });

  document.querySelectorAll("[data-last-command][data-command-id]").forEach(function (cell) {
    if (PENDING.includes(cell.dataset.state)) follow(Number(cell.dataset.commandId));
  });

  document.querySelectorAll("[data-revoke]").forEach(function (button) {
    button.addEventListener("click", async function () {
      if (!window.confirm(t("fleet.revoke_confirm"))) return;
      button.disabled = true;
      try {
        await fc.api("POST", "/api/v1/devices/" + button.dataset.revoke + "/revoke");
        window.location.reload();
      } catch (exc) {
        fc.toast(exc.message, "error");
        button.disabled = false;
      }
    });
  });
})();
