/* Pipeline board: drag a card to another stage (a lost stage asks why), a card's panel with its stage history. */
(function () {
  "use strict";
  const api = window.fieldcrm.api, el = window.fieldcrm.el, money = window.fieldcrm.money;
  const t = window.fieldcrm.translator("pipeline-messages");
  const board = document.getElementById("board");
  const panel = document.getElementById("opp-detail");
  const moveSelect = document.getElementById("opp-move");
  const dialog = document.getElementById("lost-dialog");
  const lostForm = document.getElementById("lost-form");
  let dragged = null;
  let shown = null;

  function columnOf(node) { return node.closest(".column"); }

  function askReason() {
    /* The lost stage needs a reason: one of the division's list, or "other" with a text.
       Resolves to {lost_reason_id, lost_reason}, or null when cancelled. */
    return new Promise(function (resolve) {
      lostForm.reset();
      function finish(value) {
        lostForm.removeEventListener("submit", onSubmit);
        document.getElementById("lost-cancel").removeEventListener("click", onCancel);
        dialog.removeEventListener("cancel", onCancel);
        if (dialog.open) dialog.close();
        resolve(value);
      }
      function onSubmit(event) {
        event.preventDefault();
        const id = lostForm.elements.reason_id.value;
        const text = lostForm.elements.reason.value.trim();
        if (!id && !text) { lostForm.elements.reason.focus(); return; }
        finish({ lost_reason_id: id ? Number(id) : null, lost_reason: text });
      }
      function onCancel(event) { event.preventDefault(); finish(null); }
      lostForm.addEventListener("submit", onSubmit);
      document.getElementById("lost-cancel").addEventListener("click", onCancel);
      dialog.addEventListener("cancel", onCancel);
      dialog.showModal();
    });
  }

  function adjust(column, count, amount) {
    const badge = column.querySelector("[data-count]");
    badge.textContent = Number(badge.textContent) + count;
    const sum = column.querySelector("[data-sum]");
    const total = Number(sum.dataset.sum) + amount;
    sum.dataset.sum = total.toFixed(2);
    sum.textContent = money(total);
  }

  async function move(card, target) {
    const from = columnOf(card);
    if (!target || target === from) return;
    const body = { stage_id: Number(target.dataset.stage) };
    if (target.dataset.lost === "true") {
      const reason = await askReason();
      if (reason === null) return;
      Object.assign(body, reason);
    }
    card.classList.add("busy");
    try {
      await api("POST", "/api/v1/opportunities/" + card.dataset.opportunity + "/stage", body);
      const amount = Number(card.dataset.amount);
      target.querySelector(".cards").prepend(card);
      adjust(from, -1, -amount);
      adjust(target, 1, amount);
      window.fieldcrm.toast(t("pipeline.moved", { stage: target.getAttribute("aria-label") }), "ok");
      if (shown === card) showDetail(card);
    } catch (exc) {
      window.fieldcrm.toast(exc.message, "error");
    } finally {
      card.classList.remove("busy");
    }
  }

  async function showDetail(card) {
    shown = card;
    panel.hidden = false;
    moveSelect.value = columnOf(card).dataset.stage;
    const list = document.getElementById("opp-history");
    list.replaceChildren();
    try {
      const detail = await api("GET", "/pipeline/opportunities/" + card.dataset.opportunity + "/history");
      document.getElementById("opp-name").textContent = detail.name;
      detail.history.forEach(function (change) {
        const what = change.from ? t("pipeline.change", { from: change.from, to: change.to }) : t("pipeline.created_in", { stage: change.to });
        list.append(el("li", {}, [
          el("span", { text: what }),
          el("span", { class: "small muted", text: " · " + window.fieldcrm.stamp(change.at) + (change.by ? " · " + change.by : "") }),
        ]));
      });
      if (detail.lost_reason) list.append(el("li", { class: "small", text: t("pipeline.lost_reason") + ": " + detail.lost_reason }));
    } catch (exc) {
      list.append(el("li", { class: "error", text: exc.message }));
    }
  }

  board.addEventListener("dragstart", function (event) {
    const card = event.target.closest(".card");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.opportunity);
  });
  board.addEventListener("dragend", function () {
    dragged = null;
    board.querySelectorAll(".column.drop").forEach(function (c) { c.classList.remove("drop"); });
  });
  board.addEventListener("dragover", function (event) {
    const column = columnOf(event.target);
    if (!dragged || !column) return;
    event.preventDefault();
    board.querySelectorAll(".column.drop").forEach(function (c) { if (c !== column) c.classList.remove("drop"); });
    column.classList.add("drop");
  });
  board.addEventListener("drop", function (event) {
    const column = columnOf(event.target);
    if (!dragged || !column) return;
    event.preventDefault();
    column.classList.remove("drop");
    move(dragged, column);
  });
  board.addEventListener("click", function (event) {
    const card = event.target.closest(".card");
    if (card && !event.target.closest("a")) showDetail(card);
  });
  board.addEventListener("keydown", function (event) {
    const card = event.target.closest(".card");
    if (card && event.key === "Enter") showDetail(card);
  });
  moveSelect.addEventListener("change", function () {
    if (!shown) return;
    move(shown, board.querySelector('.column[data-stage="' + moveSelect.value + '"]')).then(function () {
      if (shown) moveSelect.value = columnOf(shown).dataset.stage;
    });
  });
  document.getElementById("opp-close").addEventListener("click", function () { panel.hidden = true; shown = null; });
})();
