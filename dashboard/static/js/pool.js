/* Public pool: claim (with the rules' answer), release one's own customers, assign (managers). */
(function () {
  "use strict";
  const api = window.fieldcrm.api, el = window.fieldcrm.el;
  const t = window.fieldcrm.translator("pool-messages");

  function bump(id) {
    const badge = document.getElementById(id);
    if (!badge) return;
    const n = Number(badge.dataset.n) + 1;
    badge.dataset.n = n;
    badge.querySelector("b").textContent = n;
  }

  async function stillInPool(customerId) {
    /* After a refusal: is the customer still unowned (a rule said no) or gone (someone was faster)? */
    return (await api("GET", "/pool/customers/" + customerId + "/state")).in_pool;
  }

  function full(id) {
    const badge = document.getElementById(id);
    return badge && badge.dataset.cap !== "" && Number(badge.dataset.n) >= Number(badge.dataset.cap) ? badge.dataset.cap : null;
  }

  function ruleMessage(detail) {
    /* The page knows the cap and the capacity, so those two refusals are said in the page's language;
       others (cool-down until a date, a role the pool does not admit) quote the service. */
    const cap = full("claimed-today");
    if (cap !== null) return t("pool.refused_cap", { n: cap });
    const capacity = full("holding");
    if (capacity !== null) return t("pool.refused_capacity", { n: capacity });
    return t("pool.refused_rule") + " " + detail;
  }

  document.querySelectorAll("[data-claim]").forEach(function (button) {
    button.addEventListener("click", async function () {
      const row = button.closest("tr");
      const outcome = row.querySelector(".outcome");
      const name = row.querySelector("a").textContent;
      button.disabled = true;
      try {
        await api("POST", "/api/v1/customers/" + button.dataset.claim + "/claim");
        bump("claimed-today");
        bump("holding");
        row.remove();
        const done = el("span", {}, [t("pool.claimed", { name: name }) + " ", el("a", { href: "/customers/" + button.dataset.claim, text: t("pool.open") })]);
        window.fieldcrm.toast(done.textContent, "ok");
        document.getElementById("claim-result").replaceChildren(done);
      } catch (exc) {
        if (exc.status !== 409 && exc.status !== 403) {
          outcome.textContent = exc.message;
          button.disabled = false;
          return;
        }
        const available = await stillInPool(button.dataset.claim);
        const text = available ? ruleMessage(exc.message) : t("pool.refused_taken") + " " + exc.message;
        outcome.replaceChildren(el("span", { class: "error", "data-refused": available ? "rule" : "taken", text: text }));
        if (available) button.disabled = false;
        else row.classList.add("taken");
      }
    });
  });

  const release = document.getElementById("release-form");
  if (release) {
    release.addEventListener("submit", async function (event) {
      event.preventDefault();
      const ids = Array.from(release.querySelectorAll("input[name=customer]:checked")).map(function (box) { return Number(box.value); });
      if (!ids.length) { window.fieldcrm.toast(t("pool.pick_first"), "error"); return; }
      try {
        const result = await api("POST", "/api/v1/customers/release", { customer_ids: ids, note: release.elements.note.value });
        window.fieldcrm.toast(t("pool.released", { n: result.count }), "ok");
        window.location.reload();
      } catch (exc) {
        window.fieldcrm.toast(exc.message, "error");
      }
    });
  }

  const assign = document.getElementById("assign");
  if (assign) {
    const target = document.getElementById("assign-to");
    const picked = function () {
      return Array.from(document.querySelectorAll("#pool-table .pick:checked")).map(function (box) { return Number(box.value); });
    };
    const refresh = function () { assign.disabled = !target.value || !picked().length; };
    document.querySelectorAll("#pool-table .pick, #assign-to").forEach(function (node) { node.addEventListener("change", refresh); });
    const all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll("#pool-table .pick").forEach(function (box) { box.checked = all.checked; });
        refresh();
      });
    }
    assign.addEventListener("click", async function () {
      assign.disabled = true;
      try {
        const result = await api("POST", "/api/v1/customers/assign", { customer_ids: picked(), to_user_id: Number(target.value) });
        window.fieldcrm.toast(t("pool.assigned", { n: result.count, rep: target.selectedOptions[0].textContent }), "ok");
        window.location.reload();
      } catch (exc) {
        window.fieldcrm.toast(exc.message, "error");
        refresh();
      }
    });
  }
})();
