// The plan's two inputs: a timestep's results typed in, and a platform report uploaded as CSV.
// Every error is shown where it happened: a field's next to the field, a file row's on that row.

import * as api from "./api.js";
import { h, message, replace } from "./dom.js";
import { campaignName } from "./plan-data.js";

export const FIELDS = [
  { key: "spend", label: "Spend", required: true },
  { key: "conversions", label: "Conversions", required: true },
  { key: "revenue", label: "Revenue", required: false },
];

export function busy(button, busyText) {
  const idle = button.textContent;
  button.disabled = true;
  button.textContent = busyText;
  return () => {
    button.disabled = false;
    button.textContent = idle;
  };
}

export function fieldError(input, text) {
  const errorId = `${input.id}-error`;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", errorId);
  input.closest(".field").append(h("p", { class: "field-error", id: errorId }, text));
}

export function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error, .row-error")) node.remove();
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
}

/** Server messages name campaigns by id; people know them by name. */
export function withNames(text, campaignNames) {
  let named = text;
  for (const [campaignId, name] of campaignNames) named = named.replaceAll(campaignId, name);
  return named;
}

function names(ids, campaignNames) {
  return ids.map((campaignId) => campaignName(campaignNames, campaignId)).join(", ");
}

/** One fieldset per campaign of the open timestep: spend, conversions, revenue. */
export function resultsForm({ plan, names: campaignNames, formats, refresh, reported = [] }) {
  const allocation = plan.allocation;
  // Campaigns already reported for the open timestep (results in parts): shown, replaceable.
  const already = new Map(reported.map((r) => [r.campaign_id, r]));
  const timestep = allocation.timestep;
  const headingId = "results-form-heading";
  const feedback = h("div", { class: "form-feedback" });
  const rows = allocation.allocations.map((a, index) => {
    const inputs = {};
    const fields = FIELDS.map((field) => {
      const inputId = `result-${index}-${field.key}`;
      inputs[field.key] = h("input", {
        id: inputId,
        name: `${a.campaign_id}.${field.key}`,
        type: "number",
        min: "0",
        step: "any",
        inputmode: "decimal",
        "data-field": field.key,
        value: already.get(a.campaign_id)?.[field.key] ?? null,
      });
      return h(
        "div",
        { class: "field" },
        h("label", { for: inputId }, field.label),
        inputs[field.key],
      );
    });
    const fieldset = h(
      "fieldset",
      { class: "campaign-result", "data-campaign-id": a.campaign_id },
      h(
        "legend",
        {},
        campaignName(campaignNames, a.campaign_id),
        h("span", { class: "muted" }, ` · budget ${formats.exact(a.budget)}`),
        already.has(a.campaign_id) ? h("span", { class: "muted" }, " · reported (a new post replaces it)") : null,
      ),
      h("div", { class: "field-row" }, fields),
    );
    return { campaignId: a.campaign_id, inputs, fieldset };
  });
  const submit = h("button", { type: "submit" }, "Post results");
  const form = h(
    "form",
    { class: "card", id: "results-form", "aria-labelledby": headingId, novalidate: true },
    h("h2", { id: headingId }, `Report timestep ${timestep}`),
    h(
      "p",
      { class: "muted" },
      "What each campaign delivered (revenue may stay empty). A campaign left empty is not sent, so a report can come in parts.",
    ),
    h("div", { class: "campaign-results" }, rows.map((row) => row.fieldset)),
    feedback,
    submit,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    feedback.replaceChildren();
    const sent = [];
    let invalid = false;
    for (const row of rows) {
      const values = Object.fromEntries(FIELDS.map((f) => [f.key, row.inputs[f.key].value.trim()]));
      const badInput = FIELDS.filter((f) => row.inputs[f.key].validity.badInput);
      if (!Object.values(values).some(Boolean) && badInput.length === 0) continue;
      for (const field of FIELDS) {
        const input = row.inputs[field.key];
        if (input.validity.badInput) {
          fieldError(input, `${field.label} must be a number.`);
          invalid = true;
        } else if (field.required && values[field.key] === "") {
          fieldError(input, `${field.label} is needed for this campaign.`);
          invalid = true;
        }
      }
      const result = { campaign_id: row.campaignId };
      for (const field of FIELDS) if (values[field.key] !== "") result[field.key] = Number(values[field.key]);
      sent.push({ row, result });
    }
    if (invalid) {
      feedback.replaceChildren(message("error", "Some fields need fixing; see the marked ones."));
      form.querySelector("[aria-invalid]").focus();
      return;
    }
    if (sent.length === 0) {
      feedback.replaceChildren(message("error", "Fill in at least one campaign's spend and conversions."));
      rows[0].inputs.spend.focus();
      return;
    }
    const done = busy(submit, "Posting…");
    form.setAttribute("aria-busy", "true");
    try {
      const answer = await api.call("POST", `/plans/${api.id(plan.id)}/results`, {
        json: { timestep, results: sent.map((s) => s.result) },
      });
      let text;
      if (answer.status === 202) {
        text = `Timestep ${timestep} is waiting for: ${names(answer.body.missing ?? [], campaignNames)}.`;
      } else if (answer.body.status === "finished") {
        text = `Timestep ${timestep} recorded: the plan is finished.`;
      } else {
        text = `Timestep ${timestep} recorded. The budgets for timestep ${answer.body.timestep} are below.`;
      }
      await refresh({ section: "results", node: message("success", text) });
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 401) return; // login is shown
      if (!(error instanceof api.ApiError)) {
        feedback.replaceChildren(message("error", `Something went wrong: ${error.message}`));
        return;
      }
      const general = [];
      for (const raw of error.problems) {
        const problem = { loc: raw.loc, msg: withNames(raw.msg, campaignNames) };
        const [where, list, index, field] = problem.loc;
        const target = where === "body" && list === "results" ? sent[index] : null;
        if (target && field && target.row.inputs[field]) {
          fieldError(target.row.inputs[field], problem.msg);
        } else if (target) {
          target.row.fieldset.append(h("p", { class: "row-error" }, problem.msg));
        } else {
          general.push(problem.msg);
        }
      }
      const heading =
        error.status === 409
          ? "The server refused these results (conflict):"
          : "The results were not recorded:";
      feedback.replaceChildren(
        message(
          "error",
          h("p", {}, heading),
          general.length ? h("ul", {}, general.map((text) => h("li", {}, text))) : h("p", {}, "see the marked fields."),
        ),
      );
      (form.querySelector("[aria-invalid]") || feedback.firstChild).focus?.();
    } finally {
      done();
      form.removeAttribute("aria-busy");
    }
  });
  return form;
}

/** File line → the problems on it (loc ["body", "rows", line, column]); the rest are general. */
function problemsByLine(problems) {
  const byLine = new Map();
  const general = [];
  for (const problem of problems) {
    const [, kind, line, column] = problem.loc;
    if (kind === "rows" && Number.isInteger(line)) {
      if (!byLine.has(line)) byLine.set(line, []);
      byLine.get(line).push({ column, msg: problem.msg });
    } else if (kind === "header") {
      general.push(`Header: ${problem.msg}`);
    } else {
      general.push(problem.msg);
    }
  }
  return { byLine, general };
}

/** One line of CSV as cells (quotes and doubled quotes as spreadsheets write them). */
export function splitCsvLine(line, delimiter) {
  const cells = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i];
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (char === '"') {
        quoted = false;
      } else {
        cell += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === delimiter) {
      cells.push(cell);
      cell = "";
    } else {
      cell += char;
    }
  }
  cells.push(cell);
  return cells;
}

function guessDelimiter(line) {
  const counts = [",", ";", "\t"].map((d) => [d, line.split(d).length]);
  return counts.sort((a, b) => b[1] - a[1])[0][0];
}

function headerMatches(header, column) {
  const normal = header.trim().toLowerCase().replace(/[\s_-]+/g, " ");
  return normal === column || normal.startsWith(`${column} (`);
}

/** The file's bad lines with a line of context, cell by cell; a bad cell and its row marked. */
function filePreview(text, byLine) {
  const fileLines = text.split(/\r\n|\n|\r/);
  const firstBad = Math.min(...byLine.keys());
  // The header is the last non-empty line before the first bad one that names a column.
  let headerNumber = 1;
  for (let n = firstBad - 1; n >= 1; n -= 1) {
    const candidate = fileLines[n - 1].toLowerCase();
    if (candidate.includes("campaign") && candidate.includes("spend")) {
      headerNumber = n;
      break;
    }
  }
  const delimiter = guessDelimiter(fileLines[headerNumber - 1] ?? ",");
  const header = splitCsvLine(fileLines[headerNumber - 1] ?? "", delimiter);
  const shown = new Set([headerNumber]);
  for (const line of byLine.keys()) for (const near of [line - 1, line, line + 1]) shown.add(near);
  const numbers = [...shown]
    .filter((n) => n >= 1 && n <= fileLines.length && (byLine.has(n) || fileLines[n - 1].trim()))
    .sort((a, b) => a - b);
  const width = header.length + 2;
  const body = [];
  let previous = 0;
  for (const number of numbers) {
    if (number === headerNumber) {
      previous = number;
      continue;
    }
    if (number > previous + 1) {
      body.push(h("tr", { class: "gap" }, h("td", { colspan: String(width) }, "…")));
    }
    const problems = byLine.get(number) ?? [];
    const badColumns = new Set(problems.map((p) => p.column));
    const cells = splitCsvLine(fileLines[number - 1], delimiter);
    body.push(
      h(
        "tr",
        { class: problems.length ? "bad-row" : null, "data-line": number },
        h("th", { scope: "row", class: "num" }, String(number)),
        cells.map((value, i) =>
          h(
            "td",
            { class: [...badColumns].some((c) => headerMatches(header[i] ?? "", c)) ? "bad-cell" : null },
            value,
          ),
        ),
        h(
          "td",
          { class: "problem" },
          problems.length
            ? h(
                "ul",
                {},
                problems.map((p) => h("li", {}, p.msg.replace(/^row \d+: /, ""))),
              )
            : "",
        ),
      ),
    );
    previous = number;
  }
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "csv-preview" },
      h("caption", {}, `Where in the file (line ${headerNumber} is its header)`),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Line"),
          header.map((name) => h("th", { scope: "col" }, name)),
          h("th", { scope: "col" }, "Problem"),
        ),
      ),
      h("tbody", {}, body),
    ),
  );
}

function importSummary(answer) {
  const parts = [];
  const describe = (key, label) => {
    if (Array.isArray(answer[key]) && answer[key].length) parts.push(`${label}: ${answer[key].join(", ")}`);
  };
  describe("applied", "timesteps applied");
  describe("closed", "timesteps closed");
  describe("restated", "timesteps restated");
  describe("waiting", "timesteps waiting for more campaigns");
  describe("already_recorded", "already recorded, unchanged");
  const rows = answer.rows !== undefined ? `${answer.rows} rows read. ` : "";
  return `The report was applied. ${rows}${parts.join("; ") || "Nothing new."}`;
}

export function csvUploadForm({ plan, names: campaignNames, refresh }) {
  const headingId = "upload-heading";
  const feedback = h("div", { class: "form-feedback", id: "upload-feedback" });
  const file = h("input", {
    id: "csv-file",
    name: "file",
    type: "file",
    accept: ".csv,.tsv,.txt,text/csv,text/plain",
    required: true,
    "aria-describedby": "csv-help",
  });
  const submit = h("button", { type: "submit" }, "Upload report");
  const form = h(
    "form",
    { class: "card", id: "upload-form", "aria-labelledby": headingId, novalidate: true },
    h("h2", { id: headingId }, "Upload a platform report"),
    h(
      "p",
      { class: "muted", id: "csv-help" },
      "A daily CSV as downloaded from Google Ads, Meta Ads Manager, TikTok Ads Manager or Microsoft Advertising, or the columns date (or timestep), campaign, spend, conversions, revenue. All rows are applied, or none.",
    ),
    h("div", { class: "field" }, h("label", { for: "csv-file" }, "Report file (CSV)"), file),
    feedback,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    feedback.replaceChildren();
    const chosen = file.files[0];
    if (!chosen) {
      feedback.replaceChildren(message("error", "Choose a CSV file first."));
      file.focus();
      return;
    }
    const done = busy(submit, "Uploading…");
    form.setAttribute("aria-busy", "true");
    try {
      const body = new FormData();
      body.append("file", chosen, chosen.name);
      const answer = await api.call("POST", `/plans/${api.id(plan.id)}/results/csv`, { form: body });
      await refresh({ section: "upload", node: message("success", importSummary(answer.body)) });
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 401) return; // login is shown
      if (!(error instanceof api.ApiError)) {
        feedback.replaceChildren(message("error", `Something went wrong: ${error.message}`));
        return;
      }
      const { byLine, general } = problemsByLine(
        error.problems.map((p) => ({ loc: p.loc, msg: withNames(p.msg, campaignNames) })),
      );
      const count = error.problems.length;
      const text = byLine.size ? await chosen.text() : "";
      feedback.replaceChildren(
        message(
          "error",
          h("p", {}, `${chosen.name} was not applied (nothing changed): ${count} problem${count === 1 ? "" : "s"}.`),
          general.length ? h("ul", {}, general.map((msg) => h("li", {}, msg))) : null,
        ),
        byLine.size ? filePreview(text, byLine) : null,
      );
      feedback.firstChild.setAttribute("tabindex", "-1");
      feedback.firstChild.focus();
    } finally {
      done();
      form.removeAttribute("aria-busy");
    }
  });
  return form;
}
