// Restating a closed timestep (PUT /plans/{id}/results/{timestep}): the figures the platform
// shows now replace those first reported; only the campaigns whose figures changed are sent.

import * as api from "./api.js";
import { h, message, replace, uniqueId } from "./dom.js";
import { clearErrors, fieldError, refuseLocally, submit } from "./form-kit.js";
import { campaignName, isClosed, timestepLabel } from "./plan-data.js";
import { FIELDS, campaignFigures, placeOnRows } from "./plan-results.js";

function shown(value) {
  return value === null || value === undefined ? "" : String(value);
}

/** The form, or null when no timestep is closed yet. */
export function restateForm({ plan, entries, names: campaignNames, refresh }) {
  const closed = entries.filter((entry) => isClosed(plan, entry) && entry.results.length > 0);
  if (closed.length === 0) return null;
  const headingId = "restate-form-heading";
  const selectId = uniqueId("restate-timestep");
  const select = h(
    "select",
    { id: selectId },
    closed.map((entry, i) =>
      h(
        "option",
        { value: entry.timestep, selected: i === closed.length - 1 },
        `${entry.timestep} · ${timestepLabel(entry)}${Number(entry.revision ?? 0) > 0 ? ` (revision ${entry.revision})` : ""}`,
      ),
    ),
  );
  const feedback = h("div", { class: "form-feedback" });
  const fieldsets = h("div", { class: "campaign-results" });
  const button = h("button", { type: "submit" }, "Restate");
  let rows = [];

  const build = () => {
    const entry = closed.find((e) => String(e.timestep) === select.value);
    rows = entry.results.map((reported, index) => {
      const values = Object.fromEntries(FIELDS.map((f) => [f.key, shown(reported[f.key])]));
      const row = campaignFigures({
        idPrefix: `restate-${index}`,
        legend: campaignName(campaignNames, reported.campaign_id),
        values,
      });
      row.fieldset.dataset.campaignId = reported.campaign_id;
      return { campaignId: reported.campaign_id, reported, ...row };
    });
    replace(fieldsets, rows.map((row) => row.fieldset));
  };
  build();
  select.addEventListener("change", () => {
    clearErrors(form);
    feedback.replaceChildren();
    build();
  });

  const form = h(
    "form",
    { class: "card", id: "restate-form", "aria-labelledby": headingId, novalidate: true },
    h("h2", { id: headingId }, "Restate a closed timestep"),
    h(
      "p",
      { class: "muted" },
      plan.status === "active"
        ? "Late conversions or a platform's revised figures: change what differs; the plan learns from them from its next allocation on."
        : `Late conversions or a platform's revised figures: change what differs. The plan is ${plan.status}, so only its history is corrected; no allocation follows.`,
    ),
    h("div", { class: "field inline" }, h("label", { for: selectId }, "Timestep"), select),
    fieldsets,
    feedback,
    button,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    feedback.replaceChildren();
    const timestep = Number(select.value);
    const sent = [];
    let invalid = false;
    for (const row of rows) {
      const result = { campaign_id: row.campaignId };
      let changed = false;
      for (const field of FIELDS) {
        const input = row.inputs[field.key];
        const text = input.value.trim();
        if (input.validity.badInput) {
          fieldError(input, `${field.label} must be a number.`);
          invalid = true;
        } else if (field.required && text === "") {
          fieldError(input, `${field.label} is needed.`);
          invalid = true;
        }
        if (text !== "") result[field.key] = Number(text);
        if (text !== shown(row.reported[field.key])) changed = true;
      }
      if (changed) sent.push({ row, result });
    }
    if (invalid) return refuseLocally(form, feedback);
    if (sent.length === 0) {
      feedback.replaceChildren(message("error", "Nothing to restate: no figure differs from what was reported."));
      rows[0].inputs.conversions.focus();
      return;
    }
    await submit(form, {
      button,
      busyText: "Restating…",
      feedback,
      names: campaignNames,
      heading: `Timestep ${timestep} was not restated:`,
      place: placeOnRows(sent),
      send: async () => {
        const answer = await api.call("PUT", `/plans/${api.id(plan.id)}/results/${timestep}`, {
          json: { results: sent.map((s) => s.result) },
        });
        const named = sent.map((s) => campaignName(campaignNames, s.row.campaignId)).join(", ");
        await refresh({
          section: "restate",
          node: message("success", `Timestep ${timestep} restated (revision ${answer.body.revision ?? "?"}) for ${named}.`),
        });
      },
    });
  });
  return form;
}
