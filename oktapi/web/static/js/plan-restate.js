// Restating a closed timestep (PUT /plans/{id}/results/{timestep}): the figures the platform
// shows now replace those first reported; only the campaigns whose figures changed are sent.

import * as api from "./api.js";
import { h, message, replace, uniqueId } from "./dom.js";
import { campaignName, isClosed, timestepLabel } from "./plan-data.js";
import { FIELDS, busy, clearErrors, fieldError, withNames } from "./plan-forms.js";

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
  const submit = h("button", { type: "submit" }, "Restate");
  let rows = [];

  const build = () => {
    const entry = closed.find((e) => String(e.timestep) === select.value);
    rows = entry.results.map((reported, index) => {
      const inputs = {};
      const fields = FIELDS.map((field) => {
        const inputId = `restate-${index}-${field.key}`;
        inputs[field.key] = h("input", {
          id: inputId,
          type: "number",
          min: "0",
          step: "any",
          inputmode: "decimal",
          value: shown(reported[field.key]),
        });
        return h("div", { class: "field" }, h("label", { for: inputId }, field.label), inputs[field.key]);
      });
      const fieldset = h(
        "fieldset",
        { class: "campaign-result", "data-campaign-id": reported.campaign_id },
        h("legend", {}, campaignName(campaignNames, reported.campaign_id)),
        h("div", { class: "field-row" }, fields),
      );
      return { campaignId: reported.campaign_id, reported, inputs, fieldset };
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
      "Late conversions or a platform's revised figures: change what differs; the plan learns from them from its next allocation on.",
    ),
    h("div", { class: "field inline" }, h("label", { for: selectId }, "Timestep"), select),
    fieldsets,
    feedback,
    submit,
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
    if (invalid) {
      feedback.replaceChildren(message("error", "Some fields need fixing; see the marked ones."));
      form.querySelector("[aria-invalid]").focus();
      return;
    }
    if (sent.length === 0) {
      feedback.replaceChildren(message("error", "Nothing to restate: no figure differs from what was reported."));
      rows[0].inputs.conversions.focus();
      return;
    }
    const done = busy(submit, "Restating…");
    form.setAttribute("aria-busy", "true");
    try {
      const answer = await api.call("PUT", `/plans/${api.id(plan.id)}/results/${timestep}`, {
        json: { results: sent.map((s) => s.result) },
      });
      const named = sent.map((s) => campaignName(campaignNames, s.row.campaignId)).join(", ");
      await refresh({
        section: "restate",
        node: message(
          "success",
          `Timestep ${timestep} restated (revision ${answer.body.revision ?? "?"}) for ${named}.`,
        ),
      });
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 401) return; // login is shown
      const general = [];
      for (const raw of error instanceof api.ApiError ? error.problems : [{ loc: [], msg: error.message }]) {
        const msg = withNames(raw.msg, campaignNames);
        const [where, list, index, field] = raw.loc;
        const target = where === "body" && list === "results" ? sent[index] : null;
        if (target && field && target.row.inputs[field]) fieldError(target.row.inputs[field], msg);
        else general.push(msg);
      }
      feedback.replaceChildren(
        message(
          "error",
          h("p", {}, `Timestep ${timestep} was not restated:`),
          general.length ? h("ul", {}, general.map((text) => h("li", {}, text))) : h("p", {}, "see the marked fields."),
        ),
      );
      const first = form.querySelector("[aria-invalid]") || feedback.firstChild;
      if (!first.matches("input")) first.setAttribute("tabindex", "-1");
      first.focus();
    } finally {
      done();
      form.removeAttribute("aria-busy");
    }
  });
  return form;
}
