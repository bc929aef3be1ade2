/* Customer 360: the timeline (cursor pages, infinite scroll, filters by kind), recordings, unmasking. */
(function () {
  "use strict";
  const api = window.fieldcrm.api, el = window.fieldcrm.el;
  const text = window.fieldcrm.messages("timeline-messages");
  const list = document.getElementById("timeline");
  const status = document.getElementById("timeline-status");
  const more = document.getElementById("timeline-more");
  const customerId = list.dataset.customer;
  const state = { cursor: null, done: false, loading: false, kinds: [], generation: 0 };

  function label(prefix, value) {
    return text[prefix + "." + value] || value;
  }

  const when = window.fieldcrm.stamp;

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const s = Math.round(seconds);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function recordingBlock(recording) {
    const audio = el("audio", { controls: true, preload: "none", src: "/api/v1/recordings/" + recording.id + "/audio", "data-recording": recording.id });
    const parts = [audio];
    if (recording.transcript_status === "done") {
      const box = el("div", { class: "transcript", hidden: true });
      const button = el("button", {
        type: "button", class: "secondary", text: text["timeline.show_transcript"],
        onclick: async function () {
          button.disabled = true;
          try {
            const detail = await api("GET", "/api/v1/recordings/" + recording.id);
            box.textContent = detail.transcript || text["timeline.no_transcript"];
            box.hidden = false;
            button.remove();
          } catch (exc) {
            window.fieldcrm.toast(exc.message, "error");
            button.disabled = false;
          }
        },
      });
      parts.push(el("div", {}, [button]), box);
    } else if (recording.transcript_status) {
      parts.push(el("div", { class: "small muted", text: label("timeline.transcript", recording.transcript_status) }));
    }
    return el("div", { class: "recording" }, parts);
  }

  function eventItem(event) {
    const data = event.data || {};
    const head = [el("span", { class: "badge", text: label("timeline.kind", event.kind) })];
    if (data.direction && event.kind !== "call") head.push(" ", el("span", { class: "muted", text: label("timeline.direction", data.direction) }));
    if (data.number) head.push(" ", el("span", { class: "small", text: data.number }));
    if (event.ambiguous) head.push(" ", el("span", { class: "badge warn", text: text["timeline.ambiguous"] }));
    head.push(" ", el("span", { class: "when", text: when(event.occurred_at) }));
    const body = [el("div", {}, head)];
    if (event.kind === "sms") {
      body.push(el("div", { class: "body", text: event.summary }));
    } else if (event.kind === "call") {
      const facts = [label("timeline.call_type", data.type || ""), duration(data.duration_s)].filter(Boolean).join(" · ");
      body.push(el("div", { text: facts }));
    } else {
      body.push(el("div", { text: event.summary }));
    }
    if (event.recording) body.push(recordingBlock(event.recording));
    return el("li", { "data-kind": event.kind, "data-event": event.id }, body);
  }

  async function load() {
    if (state.loading || state.done) return;
    state.loading = true;
    const generation = state.generation;
    status.textContent = text["timeline.loading"];
    const params = new URLSearchParams({ limit: "30" });
    if (state.cursor) params.set("cursor", state.cursor);
    if (state.kinds.length) params.set("types", state.kinds.join(","));
    try {
      const page = await api("GET", "/api/v1/customers/" + customerId + "/timeline?" + params);
      if (generation !== state.generation) return;
      page.events.forEach(function (event) { list.append(eventItem(event)); });
      state.cursor = page.next_cursor;
      state.done = !page.next_cursor;
      status.textContent = state.done ? (list.children.length ? text["timeline.end"] : text["timeline.empty"]) : "";
    } catch (exc) {
      status.textContent = exc.message;
    } finally {
      if (generation === state.generation) state.loading = false;
    }
    if (!state.done && more.getBoundingClientRect().top < window.innerHeight + 200) load();
  }

  function checkedKinds() {
    return Array.from(document.querySelectorAll("#timeline-filters input:checked")).map(function (box) { return box.value; });
  }

  document.getElementById("timeline-filters").addEventListener("change", function () {
    state.kinds = checkedKinds();
    state.cursor = null;
    state.done = false;
    state.loading = false;
    state.generation += 1;
    list.replaceChildren();
    load();
  });

  new IntersectionObserver(function (entries) {
    if (entries.some(function (entry) { return entry.isIntersecting; })) load();
  }, { rootMargin: "200px" }).observe(more);

  const unmask = document.getElementById("unmask");
  if (unmask) {
    unmask.addEventListener("click", async function () {
      unmask.disabled = true;
      try {
        const detail = await api("GET", "/api/v1/customers/" + unmask.dataset.customer);
        document.getElementById("company-phones").textContent =
          detail.company_phones.map(function (p) { return p.number; }).join(", ") || "—";
        detail.contacts.forEach(function (contact) {
          const node = document.querySelector('[data-contact="' + contact.id + '"] .phones');
          if (node) node.textContent = contact.phones.map(function (p) { return p.number; }).join(", ") || "—";
        });
        unmask.remove();
      } catch (exc) {
        window.fieldcrm.toast(exc.message, "error");
        unmask.disabled = false;
      }
    });
  }

  const ticketForm = document.getElementById("ticket-form");
  ticketForm.addEventListener("submit", async function (event) {
    event.preventDefault();
    const data = new FormData(ticketForm);
    const button = ticketForm.querySelector("button");
    button.disabled = true;
    try {
      const ticket = await api("POST", "/api/v1/tickets", {
        customer_id: Number(ticketForm.dataset.customer), kind: data.get("kind"), priority: data.get("priority"),
        subject: data.get("subject"), description: data.get("description"),
      });
      window.location.assign("/tickets/" + ticket.id);
    } catch (exc) {
      window.fieldcrm.toast(exc.message, "error");
      button.disabled = false;
    }
  });

  /* ?kinds=sms,call (e.g. from an alert) opens the timeline filtered */
  const wanted = new URLSearchParams(location.search).get("kinds");
  if (wanted) {
    wanted.split(",").forEach(function (kind) {
      const box = document.querySelector('#timeline-filters input[value="' + CSS.escape(kind) + '"]');
      if (box) box.checked = true;
    });
    state.kinds = checkedKinds();
  }
  load();
})();
