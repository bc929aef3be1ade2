/* Spreadsheet import: the file goes to the API as a dry run first (preview of the mapping and of every
   row), then, on request, for real with the same options. Errors are worded by fieldcrm.failure. */
(function () {
  "use strict";
  const t = window.fieldcrm.translator("import-messages"), el = window.fieldcrm.el;
  const fields = window.fieldcrm.messages("import-fields");
  const form = document.getElementById("import-form");
  const errorBox = document.getElementById("import-error");
  const report = document.getElementById("import-report");
  const commit = document.getElementById("import-commit");
  const SHOWN = 500;

  function options(dryRun) {
    const body = { kind: form.elements.kind.value, dry_run: dryRun, all_or_nothing: form.elements.all_or_nothing.checked };
    if (form.elements.division_id) body.division_id = Number(form.elements.division_id.value);
    return body;
  }

  async function upload(dryRun) {
    const file = form.elements.file.files[0];
    if (!file) throw new Error(t("import.pick_file"));
    if (file.size > Number(form.dataset.maxBytes)) throw new Error(t("import.too_large", { mb: (Number(form.dataset.maxBytes) / 1048576).toFixed(1) }));
    const data = new FormData();
    data.append("file", file);
    data.append("options", JSON.stringify(options(dryRun)));
    const response = await fetch("/api/v1/import", { method: "POST", body: data, credentials: "same-origin", headers: { Accept: "application/json" } });
    let answer = null;
    try { answer = await response.json(); } catch (_) { answer = null; }
    if (!response.ok) throw await window.fieldcrm.failure(response, answer);
    return answer;
  }

  function label(key) { return t("import.field." + key) === "import.field." + key ? key : t("import.field." + key); }

  function show(result) {
    report.hidden = false;
    const counts = result.counts;
    document.getElementById("import-title").textContent = result.committed ? t("import.done") : result.dry_run ? t("import.preview_title") : t("import.not_committed");
    document.getElementById("import-counts").textContent = ["created", "updated", "merged", "rejected"]
      .map(function (a) { return t("import.action." + a) + " " + (counts[a] || 0); }).join(" · ") + " · " + t("import.header_row", { n: result.header_row });
    const mapping = document.querySelector("#import-mapping tbody");
    mapping.replaceChildren.apply(mapping, (fields[result.kind] || []).map(function (key) {
      const columns = result.mapping[key] || [];
      return el("tr", { "data-field": key }, [el("td", { text: label(key) }), el("td", { class: columns.length ? "" : "muted", text: columns.length ? columns.join(", ") : t("import.unmapped") })]);
    }));
    const rows = result.rows.slice().sort(function (a, b) { return (a.action === "rejected" ? 0 : 1) - (b.action === "rejected" ? 0 : 1) || a.row - b.row; });
    const body = document.querySelector("#import-rows tbody");
    body.replaceChildren.apply(body, rows.slice(0, SHOWN).map(function (r) {
      return el("tr", { "data-row": r.row, "data-action": r.action }, [
        el("td", { class: "num", text: String(r.row) }),
        el("td", {}, [el("span", { class: "badge " + (r.action === "rejected" ? "bad" : "ok"), text: t("import.action." + r.action) })]),
        el("td", { text: r.reason || "" }),
        el("td", { text: r.field ? label(r.field) : "" }),
      ]);
    }));
    document.getElementById("import-more").textContent = rows.length > SHOWN ? t("import.more", { n: rows.length - SHOWN }) : "";
    const writable = (counts.created || 0) + (counts.updated || 0) + (counts.merged || 0);
    commit.hidden = !result.dry_run || writable === 0 || (form.elements.all_or_nothing.checked && counts.rejected > 0);
    commit.textContent = t("import.commit", { n: writable });
  }

  async function run(dryRun, button) {
    errorBox.textContent = "";
    button.disabled = true;
    try {
      show(await upload(dryRun));
      if (!dryRun) window.fieldcrm.toast(t("import.done"), "ok");
    } catch (exc) {
      errorBox.textContent = exc.message;
      report.hidden = true;
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run(true, document.getElementById("import-preview"));
  });
  form.addEventListener("change", function () { commit.hidden = true; });
  commit.addEventListener("click", function () { run(false, commit); });
})();
