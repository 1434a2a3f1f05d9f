/* TADA clinic page: builds a score request from the form, calls the public API, shows the
   options. Plain DOM, no framework, no external assets. Text is always set with textContent. */
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const $ = (id) => document.getElementById(id);
  const KEY_STORE = "tada.clinician_key";
  const conditionById = new Map(data.conditions.map((c) => [c.id, c]));
  const criterionById = new Map(data.criteria.map((c) => [c.id, c]));
  const PARTICIPANTS = [["patient", "Patient"], ["clinician", "Clinician"], ["nurse", "Nurse"],
    ["pharmacist", "Pharmacist"], ["family_member", "Family member or carer"], ["interpreter", "Interpreter"]];
  const DECISION_FIELDS = [["chosen_therapy_id", "decision-choice"], ["participants", "participants"],
    ["external_ref", "decision-ref"], ["note", "summary-note"]];
  let lastRequest = null;
  let lastResult = null;

  /* ---------- small helpers ---------- */

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") el.className = value;
      else if (name === "text") el.textContent = value;
      else el.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function clinicianKey() {
    try { return sessionStorage.getItem(KEY_STORE) || ""; } catch (e) { return ""; }
  }

  async function api(path, body, options) {
    const opts = options || {};
    const headers = { "Content-Type": "application/json", Accept: opts.accept || "application/json" };
    const key = opts.key !== undefined ? opts.key : clinicianKey();
    if (key) headers["X-API-Key"] = key;
    let response;
    try {
      response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
    } catch (e) {
      return { status: 0, body: { detail: "TADA could not be reached. Check the connection and try again." } };
    }
    if (response.status === 401 && !opts.key && headers["X-API-Key"]) {
      // A stale or mistyped key kept from recording must not lock the page out of reading:
      // forget it and ask again without one (a deployment that requires keys answers 401 again).
      try { sessionStorage.removeItem(KEY_STORE); } catch (e) { /* storage off */ }
      return api(path, body, Object.assign({}, opts, { key: "" }));
    }
    const type = response.headers.get("content-type") || "";
    if (type.includes("json")) return { status: response.status, body: await response.json() };
    if (opts.blob) return { status: response.status, blob: await response.blob(), type };
    return { status: response.status, text: await response.text(), type };
  }

  function percent(x) { return Math.round(x * 100) + "%"; }

  /* Source ids -> a "Source" disclosure with each citation (linked where the catalog has a URL). */
  function citations(ids) {
    const known = ids.map((id) => [id, data.sources[id]]);
    if (!known.length) return null;
    return h("details", { class: "source" }, h("summary", {}, ids.length > 1 ? "Sources" : "Source"),
      h("ul", {}, known.map(([id, found]) => h("li", {}, !found ? id
        : found[1] ? h("a", { href: found[1], rel: "noreferrer" }, found[0]) : found[0]))));
  }

  /* ---------- inline errors from problem details ---------- */

  const FIELD_IDS = {
    "condition": "condition", "patient/age_years": "age", "patient/weight_kg": "weight",
    "patient/egfr": "egfr", "patient/prior_supervised_infusions": "supervised",
    "patient/platelet_count": "platelets", "patient/igg_trough": "igg",
    "patient/travel_hours": "travel", "preferences/region": "region",
    "preferences/max_annual_cost": "budget", "patient/risk_factors": "risk-factors",
    "patient/prior_treatments": "history", "patient/phase": "phase",
    "patient/antibody_status": "antibody", "weights": "weights", "answers": "answers",
  };

  function clearErrors() {
    for (const el of document.querySelectorAll(".field-error")) { el.hidden = true; el.textContent = ""; }
    for (const el of document.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    for (const el of document.querySelectorAll(".has-error")) el.classList.remove("has-error");
    $("error-summary").hidden = true;
    $("error-list").replaceChildren();
  }

  function fieldFor(path) {
    const parts = path.split("/").filter((p) => p !== "body");
    while (parts.length) {
      const id = FIELD_IDS[parts.join("/")];
      if (id) return id;
      parts.pop();
    }
    return null;
  }

  function labelFor(id) {
    const control = $(id);
    if (!control) return "";
    const label = document.querySelector(`label[for="${id}"]`) ||
      (control.closest("fieldset") && control.closest("fieldset").querySelector("legend"));
    return label ? label.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function errorSlot(id) {
    return $(id === "risk-factors" ? "risk-factors-error" : `${id}-error`);
  }

  function showFieldError(id, message) {
    const slot = errorSlot(id);
    if (!slot) return false;
    slot.replaceChildren(h("span", { class: "visually-hidden" }, "Error: "), message);
    slot.hidden = false;
    const control = $(id);
    if (control) {
      control.setAttribute("aria-invalid", "true");
      (control.closest(".field") || control).classList.add("has-error");
    }
    return true;
  }

  function showProblem(problem) {
    clearErrors();
    const errors = (problem && problem.errors) || [];
    const items = [];
    for (const error of errors) {
      const id = fieldFor(error.path || "");
      const message = friendly(error);
      if (id && showFieldError(id, message)) {
        const target = $(id) && $(id).tagName === "FIELDSET" ? $(id).querySelector("input,select") : $(id);
        items.push(h("li", {}, h("a", { href: "#" + (target ? target.id || id : id) }, `${labelFor(id) || id}: ${message}`)));
      } else {
        items.push(h("li", {}, message));
      }
    }
    if (!errors.length) items.push(h("li", {}, (problem && problem.detail) || "Something went wrong."));
    $("error-list").replaceChildren(...items);
    const summary = $("error-summary");
    summary.hidden = false;
    summary.focus();
    for (const link of summary.querySelectorAll("a")) {
      link.addEventListener("click", (event) => {
        const target = document.querySelector(link.getAttribute("href"));
        if (target) { event.preventDefault(); target.focus(); }
      });
    }
  }

  function friendly(error) {
    const m = error.message || "not valid";
    const limit = /less than or equal to ([\d.e+-]+)/.exec(m);
    if (limit) return `must be ${limit[1]} or less`;
    const low = /greater than or equal to ([\d.e+-]+)/.exec(m);
    if (low) return `must be ${low[1]} or more`;
    const gt = /greater than ([\d.e+-]+)/.exec(m);
    if (gt) return `must be more than ${gt[1]}`;
    if (/valid number|parse/.test(m)) return "must be a number";
    return m.replace(/^Value error, /, "");
  }

  /* ---------- step 1: condition ---------- */

  function findByCode() {
    const raw = $("condition-code").value.trim().toUpperCase();
    $("condition-code-found").textContent = "";
    showFieldErrorClear("condition-code");
    if (!raw) return;
    for (const c of data.conditions) {
      if (c.codes.some((code) => code.code.toUpperCase() === raw)) {
        $("condition").value = c.id;
        onConditionChange();
        $("condition-code-found").textContent = `Found: ${c.name}.`;
        return;
      }
    }
    showFieldError("condition-code", `No condition in the catalog has the code ${raw}.`);
  }

  function showFieldErrorClear(id) {
    const slot = errorSlot(id);
    if (slot) { slot.hidden = true; slot.textContent = ""; }
    if ($(id)) $(id).removeAttribute("aria-invalid");
  }

  function onConditionChange() {
    const condition = conditionById.get($("condition").value);
    $("phase-field").hidden = !condition || condition.id !== "itp";
    $("antibody-field").hidden = !condition || !condition.id.startsWith("mg");
    const list = $("history-list");
    if (!condition) {
      list.replaceChildren(h("p", { class: "hint" }, "Choose a condition in step 1 to list its treatments."));
      return;
    }
    const rows = condition.therapies.map((t) => h("div", { class: "history-row" },
      h("label", { for: `hist-${t.id}` }, t.name),
      h("select", { id: `hist-${t.id}`, "data-therapy": t.id },
        h("option", { value: "" }, "Not tried"),
        h("option", { value: "given" }, "Tried, effect not known"),
        h("option", { value: "responded" }, "Tried, it helped"),
        h("option", { value: "inadequate_response" }, "Tried, it did not help enough"),
        h("option", { value: "not_tolerated" }, "Tried, side effects too much")),
      h("label", { class: "check" }, h("input", { type: "checkbox", "data-ongoing": t.id }), " still taking")));
    list.replaceChildren(...rows);
    for (const select of list.querySelectorAll("select")) {
      select.addEventListener("change", () => {
        if (select.value) document.querySelector('input[name="history"][value="listed"]').checked = true;
      });
    }
  }

  /* ---------- building the request ---------- */

  function numberOrText(id) {
    const raw = $(id).value.trim().replace(",", ".");
    if (raw === "") return undefined;
    const n = Number(raw);
    return Number.isFinite(n) ? n : raw; // text goes to the API, which explains the problem
  }

  function checked(name) {
    return [...document.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
  }

  function buildRequest() {
    const patient = {};
    const put = (field, id) => { const v = numberOrText(id); if (v !== undefined) patient[field] = v; };
    put("age_years", "age"); put("weight_kg", "weight"); put("egfr", "egfr");
    put("prior_supervised_infusions", "supervised"); put("platelet_count", "platelets");
    put("igg_trough", "igg"); put("travel_hours", "travel");
    const pregnant = checked("pregnant")[0];
    if (pregnant) patient.pregnant = pregnant === "true";
    patient.risk_factors = checked("risk_factors");
    const history = checked("history")[0];
    if (history === "none") patient.prior_treatments = [];
    if (history === "listed") {
      const tried = [...document.querySelectorAll("#history-list select")].some((sel) => sel.value);
      if (!tried) return { problem: { errors: [{ path: "body/patient/prior_treatments", message: "Choose how each tried treatment went, or choose “None yet” or “Not known”." }] } };
    }
    if (history === "listed") {
      patient.prior_treatments = [...document.querySelectorAll("#history-list select")]
        .filter((s) => s.value)
        .map((s) => {
          const item = { therapy_id: s.dataset.therapy };
          if (s.value !== "given") item.outcome = s.value;
          const ongoing = document.querySelector(`input[data-ongoing="${s.dataset.therapy}"]`);
          if (ongoing && ongoing.checked) item.ongoing = true;
          return item;
        });
    }
    if (!$("phase-field").hidden && $("phase").value) patient.phase = $("phase").value;
    if (!$("antibody-field").hidden && $("antibody").value) patient.antibody_status = $("antibody").value;
    const preferences = { settings: checked("settings"), urgent: $("urgent").checked };
    const region = $("region").value.trim().toUpperCase();
    if (region) preferences.region = region;
    const budget = numberOrText("budget");
    if (budget !== undefined) preferences.max_annual_cost = budget;
    const weights = {};
    for (const c of data.criteria) weights[c.id] = Number($(`w-${c.id}`).value);
    return { condition: $("condition").value || "", patient, preferences, weights };
  }

  /* ---------- step 3: trade-offs ---------- */

  function answers() {
    const out = [];
    for (const q of data.questions) {
      const prefer = checked(`prefer-${q.id}`)[0];
      if (!prefer) continue;
      const strength = Number(document.querySelector(`select[name="strength-${q.id}"]`).value);
      out.push({ question_id: q.id, prefer, strength: prefer === "equal" ? 1 : strength });
    }
    return out;
  }

  function setWeight(id, value) {
    $(`w-${id}`).value = String(value);
    $(`wv-${id}`).textContent = String(Math.round(value * 10) / 10);
  }

  async function elicit() {
    clearErrors();
    for (const note of document.querySelectorAll(".conflict-note")) { note.hidden = true; note.textContent = ""; }
    for (const q of document.querySelectorAll(".question.conflict")) q.classList.remove("conflict");
    const given = answers();
    const out = $("consistency");
    if (!given.length) {
      showFieldError("answers", "Answer at least the first questions, or set the priorities directly below.");
      out.textContent = "";
      return;
    }
    const { status, body } = await api("/v1/preferences/elicit", { answers: given });
    if (status !== 200) {
      const unlinked = (body && body.unlinked) || [];
      showFieldError("answers", unlinked.length
        ? `Answer at least one question about ${unlinked.map((id) => `“${criterionById.get(id).heading}”`).join(", ")}, so every priority can be compared with the others.`
        : (body && body.detail) || "The answers could not be used.");
      out.replaceChildren(h("p", {}, "Priorities not changed: see the note above the button."));
      return;
    }
    for (const [id, value] of Object.entries(body.weights)) setWeight(id, value);
    const c = body.consistency;
    const parts = [h("p", { class: c.acceptable ? "ok" : "warning" },
      c.acceptable ? null : h("strong", {}, "Some answers do not fit together. "), c.explanation)];
    if (!c.acceptable && c.conflicts.length) {
      const items = c.conflicts.map(([a, b]) => {
        const q = data.questions.find((x) => x.a.criterion === a && x.b.criterion === b);
        const fs = q && $(`q-${q.id}`);
        if (fs) {
          fs.classList.add("conflict");
          if (fs.closest("details")) fs.closest("details").open = true;
          const note = fs.querySelector(".conflict-note");
          note.textContent = "This answer does not fit with your other answers. You may want to look at it again.";
          note.hidden = false;
        }
        return h("li", {}, h("a", { href: q ? `#q-${q.id}` : "#questions" }, q ? q.text : `${a} and ${b}`));
      });
      parts.push(h("p", {}, "Answers to look at again:"), h("ul", { class: "conflicts" }, items));
    }
    parts.push(h("p", { class: "hint" }, "The priorities below now follow your answers. You can still move them."));
    out.replaceChildren(...parts);
  }

  /* ---------- step 4: the options ---------- */

  async function showOptions(event) {
    event.preventDefault();
    clearErrors();
    if (!$("condition").value) {
      showProblem({ errors: [{ path: "body/condition", message: "Choose a condition (or find it by its code)." }] });
      return;
    }
    const request = buildRequest();
    if (request.problem) {
      showProblem(request.problem);
      return;
    }
    $("options-status").textContent = "Ordering the options…";
    const scored = await api("/v1/score", request);
    if (scored.status !== 200) {
      $("options-status").textContent = "";
      showProblem(scored.body);
      return;
    }
    const grid = await api("/v1/option-grid", request);
    lastRequest = request;
    lastResult = scored.body;
    renderOptions(scored.body, grid.status === 200 ? grid.body : null);
    renderDecide(scored.body);
    $("options-status").textContent = `${scored.body.ranked.length} options shown, in the order of your priorities.`;
    const step = $("step-options");
    step.scrollIntoView();
    step.focus();
  }

  function therapyName(id) {
    const all = lastResult ? [...lastResult.ranked, ...lastResult.excluded, ...(lastResult.later || [])] : [];
    const found = all.find((t) => t.therapy_id === id);
    return found && found.name ? found.name : id;
  }

  function renderOptions(result, grid) {
    const out = [];
    out.push(h("p", {}, `Condition: ${result.condition.name}.`));
    out.push(priorityLine(result.weights));
    if (!result.ranked.length) out.push(h("p", { class: "warning" }, "No option could be ordered for these facts: see the reasons below."));
    else out.push(orderList(result));
    if (grid) out.push(gridTable(grid, result));
    else out.push(criteriaTable(result));
    out.push(...result.ranked.map(optionDetails));
    out.push(stabilityWords(result));
    if (result.later && result.later.length) out.push(reasonList("What usually comes later", "These options are for a later point in treatment.", result.later));
    if (result.excluded.length) out.push(reasonList("Options that do not fit now", "Each one is left out for the reason given.", result.excluded));
    if (result.unknown && result.unknown.length) {
      out.push(h("p", { class: "hint" }, `Facts that would let TADA check more cautions: ${result.unknown.join(", ")}.`));
    }
    out.push(h("p", { class: "hint" }, `Catalog version ${result.catalog_version}; method: ${result.method === "topsis" ? "TOPSIS" : "weighted sum"}.`));
    $("options-out").replaceChildren(...out);
  }

  function priorityLine(weights) {
    const items = Object.entries(weights).map(([id, w]) => `${criterionById.get(id).heading} ${percent(w)}`);
    return h("p", { class: "priorities" }, "Your priorities as shares: ", items.join(", "), ".");
  }

  function orderList(result) {
    return h("ol", { class: "order", "aria-label": "Options in the order of your priorities" },
      result.ranked.map((r) => h("li", {},
        h("span", { class: "option-name" }, r.name),
        h("span", { class: "fit" }, ` — fits your priorities ${Math.round(r.score * 100)} out of 100`),
        h("meter", { min: 0, max: 100, value: Math.round(r.score * 100), "aria-hidden": "true" }))));
  }

  function gridTable(grid, result) {
    const order = result.ranked.map((r) => r.therapy_id);
    const options = grid.options.filter((o) => order.includes(o.therapy_id))
      .sort((a, b) => order.indexOf(a.therapy_id) - order.indexOf(b.therapy_id));
    const head = h("tr", {}, h("th", { scope: "col" }, "Question"), options.map((o) => h("th", { scope: "col" }, o.name)));
    const rows = grid.rows.map((row) => h("tr", {}, h("th", { scope: "row" }, row.question),
      options.map((o) => {
        const cell = row.cells.find((c) => c.therapy_id === o.therapy_id);
        if (!cell) return h("td", {}, "—");
        return h("td", {}, h("p", {}, cell.text), citations(cell.sources || []));
      })));
    // The chances as pictures, inline in the grid: the first outcome figure of each option.
    const ranked = new Map(result.ranked.map((r) => [r.therapy_id, r]));
    if (options.some((o) => (ranked.get(o.therapy_id).outcome_figures || []).length)) {
      rows.push(h("tr", {}, h("th", { scope: "row" }, "The chances as pictures"),
        options.map((o) => {
          const f = (ranked.get(o.therapy_id).outcome_figures || [])[0];
          if (!f) return h("td", {}, "No figure in the catalog.");
          return h("td", {}, iconArray(f, figureAlt(f)), citations([f.source]));
        })));
    }
    return tableWrap("Option grid: common questions, one column per option", head, rows);
  }

  function criteriaTable(result) {
    const head = h("tr", {}, h("th", { scope: "col" }, "What matters"), result.ranked.map((r) => h("th", { scope: "col" }, r.name)));
    const rows = data.criteria.map((c) => h("tr", {}, h("th", { scope: "row" }, c.heading),
      result.ranked.map((r) => {
        const k = r.criteria[c.id];
        return h("td", {}, h("p", {}, k.explanation), h("p", { class: "hint" }, `Value ${Math.round(k.value * 100)} of 100`));
      })));
    return tableWrap("The options side by side, one column per option", head, rows);
  }

  function tableWrap(caption, head, rows) {
    return h("div", { class: "table-wrap", role: "region", "aria-label": caption, tabindex: "0" },
      h("table", { class: "grid" }, h("caption", {}, caption), h("thead", {}, head), h("tbody", {}, rows)));
  }

  function figureAlt(f) {
    let text = `${f.events} out of ${f.per} ${f.population || "people"}: ${f.measure}`;
    if (f.comparator) text += `; ${f.comparator.events} out of ${f.per} with ${f.comparator.label}`;
    if (f.time_frame) text += `, ${f.time_frame}`;
    return text + ".";
  }

  function iconArray(f, alt) {
    const img = h("img", { src: `/v1/outcome-figures/${encodeURIComponent(f.id)}/icon-array.svg`, alt, width: 360, height: 200, class: "icon-array-img" });
    img.addEventListener("error", () => img.remove()); // the words next to it still say it all
    return img;
  }

  function optionDetails(r) {
    const parts = [h("h3", {}, `${r.rank}. ${r.name}`)];
    const figures = r.outcome_figures || [];
    if (figures.length) {
      parts.push(h("h4", {}, "What happened to people like you in studies"));
      for (const f of figures) {
        // The picture repeats the caption's numbers, so it is decorative for screen readers.
        parts.push(h("figure", { class: "icon-array" }, iconArray(f, ""),
          h("figcaption", {}, figureAlt(f), f.certainty ? ` Certainty of the evidence: ${f.certainty}.` : "",
            citations([f.source]))));
      }
    } else if (r.outcomes && r.outcomes.length) {
      parts.push(h("h4", {}, "What happened in studies"), h("ul", {}, r.outcomes.map((o) => h("li", {}, o))));
    }
    if (r.cautions.length) {
      parts.push(h("h4", {}, "Cautions for you"), h("ul", { class: "cautions" }, r.cautions.map((c) =>
        h("li", {}, h("span", { class: "tag" }, "Caution: "), c.message, c.source ? citations([c.source]) : null))));
    } else {
      parts.push(h("p", {}, "No cautions apply to the facts given."));
    }
    if (r.evidence.length) {
      parts.push(h("details", { class: "source" }, h("summary", {}, "Evidence for this option"),
        h("ul", {}, r.evidence.map((e) => h("li", {}, e.url ? h("a", { href: e.url, rel: "noreferrer" }, e.citation) : e.citation)))));
    }
    return h("article", { class: "option", "aria-labelledby": null }, parts);
  }

  function stabilityWords(result) {
    const s = result.stability;
    const box = h("section", { class: "stability", "aria-labelledby": "h-stability" },
      h("h3", { id: "h-stability" }, "What would change the order"));
    if (!s || !s.top_therapy_id || result.ranked.length < 2) {
      box.append(h("p", {}, "There is only one option to order."));
      return box;
    }
    const top = therapyName(s.top_therapy_id);
    const lines = [];
    for (const range of s.weight_ranges) {
      const c = criterionById.get(range.criterion);
      const now = percent(range.weight);
      if (range.upper !== null && range.upper !== undefined) {
        lines.push(`If “${c.heading}” counted for more than ${percent(range.upper)} of your priorities (now ${now}), another option would come first.`);
      }
      if (range.lower !== null && range.lower !== undefined) {
        lines.push(`If “${c.heading}” counted for less than ${percent(range.lower)} (now ${now}), another option would come first.`);
      }
    }
    box.append(h("p", {}, `${top} comes first with the priorities as they are now.`));
    if (lines.length) box.append(h("ul", {}, lines.map((l) => h("li", {}, l))));
    else box.append(h("p", {}, "Changing how much any one thing matters would not change which option comes first."));
    if (typeof s.margin === "number") box.append(h("p", { class: "hint" }, `The first two options are ${Math.round(s.margin * 100)} points apart out of 100.`));
    return box;
  }

  function reasonList(title, hint, items) {
    return h("section", { class: "reasons" }, h("h3", {}, title), h("p", { class: "hint" }, hint),
      h("ul", {}, items.map((t) => h("li", {}, h("strong", {}, t.name || t.therapy_id), ": ",
        t.reasons.map((r) => r.message).join(" "),
        citations([...new Set(t.reasons.map((r) => r.source).filter(Boolean))])))));
  }

  /* ---------- step 5: print or record ---------- */

  function renderDecide(result) {
    const options = result.ranked.map((r) => h("option", { value: r.therapy_id }, r.name));
    const box = $("decide-out");
    box.replaceChildren(
      h("h3", {}, "Print the summary"),
      h("p", {}, "The summary lists the facts, the priorities, the options with their figures and sources, and the note below. It opens in a new tab, ready to print."),
      h("div", { class: "field" }, h("label", { for: "summary-choice" }, "Option chosen (optional)"),
        h("select", { id: "summary-choice" }, h("option", { value: "" }, "Not decided yet"), options.map((o) => o.cloneNode(true)))),
      h("div", { class: "field" }, h("label", { for: "summary-note" }, "Note (optional; no names or other identifiers)"),
        h("textarea", { id: "summary-note", rows: 3, maxlength: 2000, "aria-describedby": "summary-note-error" }),
        h("p", { class: "field-error", id: "summary-note-error", hidden: true })),
      h("p", { class: "inline" },
        h("button", { type: "button", id: "print-html", class: "primary" }, "Open the printable summary"),
        h("button", { type: "button", id: "print-pdf", class: "secondary" }, "Download as PDF")),
      h("p", { id: "summary-status", role: "status" }),
      h("h3", {}, "Record the decision"),
      h("p", {}, "Recording needs a clinician key (ask your TADA administrator: “tada keys create --role clinician”). The key stays in this browser tab only and is forgotten when the tab closes."),
      h("div", { class: "field" }, h("label", { for: "api-key" }, "Clinician key"),
        h("input", { id: "api-key", type: "password", autocomplete: "off", spellcheck: "false", "aria-describedby": "api-key-error", value: clinicianKey() }),
        h("p", { class: "field-error", id: "api-key-error", hidden: true })),
      h("fieldset", { class: "field" }, h("legend", {}, "Decision"),
        h("div", { class: "choices-inline" },
          h("label", {}, h("input", { type: "radio", name: "status", value: "decided", checked: true }), " Decided"),
          h("label", {}, h("input", { type: "radio", name: "status", value: "deferred" }), " Not yet: decide later"))),
      h("div", { class: "field" }, h("label", { for: "decision-choice" }, "Option chosen"),
        h("select", { id: "decision-choice", "aria-describedby": "decision-choice-error" }, h("option", { value: "" }, "None"), options),
        h("p", { class: "field-error", id: "decision-choice-error", hidden: true })),
      h("fieldset", { class: "field", id: "participants" }, h("legend", {}, "Who took part"),
        h("div", { class: "choices-inline" }, PARTICIPANTS.map(([value, label]) =>
          h("label", {}, h("input", { type: "checkbox", name: "participants", value, checked: value === "patient" || value === "clinician" }), " " + label))),
        h("p", { class: "field-error", id: "participants-error", hidden: true })),
      h("div", { class: "field" }, h("label", { for: "decision-ref" }, "Reference in your records (optional; stored only as a keyed hash)"),
        h("input", { id: "decision-ref", type: "text", autocomplete: "off", "aria-describedby": "decision-ref-error" }),
        h("p", { class: "field-error", id: "decision-ref-error", hidden: true })),
      h("p", {}, h("button", { type: "button", id: "record", class: "primary" }, "Record the decision")),
      h("div", { id: "record-status", role: "status", "aria-live": "polite" }));
    $("print-html").addEventListener("click", () => printSummary("html"));
    $("print-pdf").addEventListener("click", () => printSummary("pdf"));
    $("record").addEventListener("click", recordDecision);
    $("api-key").addEventListener("change", () => {
      try { sessionStorage.setItem(KEY_STORE, $("api-key").value.trim()); } catch (e) { /* storage off */ }
    });
  }

  function summaryBody() {
    const body = Object.assign({}, lastRequest);
    const chosen = $("summary-choice").value;
    const note = $("summary-note").value.trim();
    if (chosen) body.chosen_therapy_id = chosen;
    if (note) body.note = note;
    return body;
  }

  async function printSummary(format) {
    const status = $("summary-status");
    const body = summaryBody();
    if (format === "html") {
      // A form post opens the summary as its own document (its styles, its print layout).
      const form = h("form", { method: "post", action: "/clinic/summary", target: "_blank", hidden: true },
        h("input", { type: "hidden", name: "request", value: JSON.stringify(body) }),
        h("input", { type: "hidden", name: "format", value: "html" }));
      document.body.append(form);
      form.submit();
      form.remove();
      status.textContent = "The summary is open in a new tab: print it from there.";
      return;
    }
    status.textContent = "Preparing the PDF…";
    const answer = await api("/v1/summary", body, { accept: "application/pdf", blob: true });
    if (answer.status !== 200) {
      status.textContent = (answer.body && answer.body.detail) || "The summary could not be made.";
      return;
    }
    const url = URL.createObjectURL(answer.blob);
    const link = h("a", { href: url, download: "tada-summary.pdf" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    status.textContent = "The PDF summary has been downloaded.";
  }

  async function recordDecision() {
    for (const id of ["api-key", "decision-choice", "participants", "decision-ref", "summary-note"]) showFieldErrorClear(id);
    const key = $("api-key").value.trim();
    const out = $("record-status");
    if (!key) {
      showFieldError("api-key", "Enter a clinician key to record the decision.");
      $("api-key").focus();
      return;
    }
    try { sessionStorage.setItem(KEY_STORE, key); } catch (e) { /* storage off */ }
    const status = checked("status")[0];
    const body = { request: lastRequest, status, participants: checked("participants") };
    const chosen = $("decision-choice").value;
    if (chosen) body.chosen_therapy_id = chosen;
    const note = $("summary-note") ? $("summary-note").value.trim() : "";
    if (note) body.note = note;
    const ref = $("decision-ref").value.trim();
    if (ref) body.external_ref = ref;
    out.textContent = "Recording…";
    const answer = await api("/v1/decisions", body, { key });
    if (answer.status === 201) {
      const d = answer.body;
      out.replaceChildren(h("p", { class: "ok" }, h("strong", {}, "Recorded. "),
        `Decision record ${d.id}, catalog version ${d.catalog_version}, at ${d.created_at}.`));
      return;
    }
    out.textContent = "";
    const detail = (answer.body && answer.body.detail) || "The decision could not be recorded.";
    if (answer.status === 401 || answer.status === 403) {
      showFieldError("api-key", detail);
      $("api-key").focus();
      return;
    }
    let shown = false;
    for (const error of (answer.body && answer.body.errors) || []) {
      const field = DECISION_FIELDS.find(([path]) => (error.path || "").includes(path));
      if (field) shown = showFieldError(field[1], field[1] === "decision-choice" && status === "decided" ? "Choose the option decided on, or record “Not yet”." : friendly(error)) || shown;
    }
    if (shown) document.querySelector("#decide-out [aria-invalid='true']")?.focus();
    else out.replaceChildren(h("p", { class: "warning" }, detail));
  }

  /* ---------- wiring ---------- */

  $("condition").addEventListener("change", onConditionChange);
  $("find-code").addEventListener("click", findByCode);
  $("condition-code").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); findByCode(); }
  });
  $("elicit").addEventListener("click", elicit);
  for (const q of data.questions) {
    const strength = document.querySelector(`select[name="strength-${q.id}"]`);
    for (const radio of document.querySelectorAll(`input[name="prefer-${q.id}"]`)) {
      radio.addEventListener("change", () => { strength.disabled = radio.value === "equal"; });
    }
  }
  $("case-form").addEventListener("submit", showOptions);
  for (const c of data.criteria) {
    $(`w-${c.id}`).addEventListener("input", () => setWeight(c.id, Number($(`w-${c.id}`).value)));
  }
  onConditionChange();
})();
