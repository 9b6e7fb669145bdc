// Results coming in: the open timestep's figures typed in per campaign, or a platform report
// uploaded as CSV. Every error is shown where it happened.

import * as api from "./api.js";
import { h, message } from "./dom.js";
import { clearErrors, fieldError, refuseLocally, submit } from "./form-kit.js";
import { campaignName } from "./plan-data.js";
import { REPORT_HELP, reportUploadForm } from "./report-upload.js";

export const FIELDS = [
  { key: "spend", label: "Spend", required: true },
  { key: "conversions", label: "Conversions", required: true },
  { key: "revenue", label: "Revenue", required: false },
];

/** Spend, conversions and revenue inputs for one campaign: {inputs, fieldset}. */
export function campaignFigures({ idPrefix, legend, values = {} }) {
  const inputs = {};
  const fields = FIELDS.map((field) => {
    const inputId = `${idPrefix}-${field.key}`;
    inputs[field.key] = h("input", {
      id: inputId,
      type: "number",
      min: "0",
      step: "any",
      inputmode: "decimal",
      "data-field": field.key,
      value: values[field.key] ?? null,
    });
    return h("div", { class: "field" }, h("label", { for: inputId }, field.label), inputs[field.key]);
  });
  const fieldset = h("fieldset", { class: "campaign-result" }, h("legend", {}, legend), h("div", { class: "field-row" }, fields));
  return { inputs, fieldset };
}

/** A problem at ["body", "results", index, field] marks that field, or that campaign's row. */
export function placeOnRows(sent) {
  return (problem) => {
    const [where, list, index, field] = problem.loc;
    const target = where === "body" && list === "results" ? sent[index] : null;
    if (!target) return false;
    if (field && target.row.inputs[field]) fieldError(target.row.inputs[field], problem.msg);
    else target.row.fieldset.append(h("p", { class: "row-error" }, problem.msg));
    return true;
  };
}

function names(ids, campaignNames) {
  return ids.map((campaignId) => campaignName(campaignNames, campaignId)).join(", ");
}

/** One fieldset per campaign of the open timestep (paused ones need no figures). */
export function resultsForm({ plan, names: campaignNames, formats, refresh, reported = [] }) {
  const allocation = plan.allocation;
  // Campaigns already reported for the open timestep (results in parts): shown, replaceable.
  const already = new Map(reported.map((r) => [r.campaign_id, r]));
  const timestep = allocation.timestep;
  const headingId = "results-form-heading";
  const feedback = h("div", { class: "form-feedback" });
  const rows = allocation.allocations.map((a, index) => {
    const row = campaignFigures({
      idPrefix: `result-${index}`,
      legend: [
        campaignName(campaignNames, a.campaign_id),
        h("span", { class: "muted" }, ` · budget ${formats.exact(a.budget)}`),
        a.paused ? h("span", { class: "muted" }, " · paused (no figures needed)") : null,
        already.has(a.campaign_id) ? h("span", { class: "muted" }, " · reported (a new post replaces it)") : null,
      ],
      values: already.get(a.campaign_id),
    });
    row.fieldset.dataset.campaignId = a.campaign_id;
    return { campaignId: a.campaign_id, ...row };
  });
  const button = h("button", { type: "submit" }, "Post results");
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
    button,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const sent = [];
    let invalid = false;
    clearErrors(form);
    feedback.replaceChildren();
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
    if (invalid) return refuseLocally(form, feedback);
    if (sent.length === 0) {
      feedback.replaceChildren(message("error", "Fill in at least one campaign's spend and conversions."));
      rows[0].inputs.spend.focus();
      return;
    }
    await submit(form, {
      button,
      busyText: "Posting…",
      feedback,
      names: campaignNames,
      heading: (error) =>
        error.status === 409 ? "The server refused these results (conflict):" : "The results were not recorded:",
      place: placeOnRows(sent),
      send: async () => {
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
      },
    });
  });
  return form;
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

export function planUploadForm({ plan, names, refresh }) {
  return reportUploadForm({
    key: "upload",
    title: "Upload a platform report",
    help: `${REPORT_HELP}, or the columns date (or timestep), campaign, spend, conversions, revenue. Rows of closed timesteps restate them, rows of the open one report it. All rows are applied, or none.`,
    fileLabel: "Report file (CSV)",
    path: `/plans/${api.id(plan.id)}/results/csv`,
    names,
    summary: importSummary,
    refresh,
  });
}
