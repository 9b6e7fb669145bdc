// The plan's own settings while it runs (PATCH /plans/{id}): name, total budget and number of
// timesteps. Changes apply from the open timestep; the server says when they wait a timestep.

import * as api from "./api.js";
import { h, message } from "./dom.js";
import { clearErrors, fieldError, numberField, refuseLocally, submit } from "./form-kit.js";

/** What a change answer's note adds to the success message (null: nothing). */
export function noteOf(answer) {
  return answer?.note ? h("p", {}, answer.note) : null;
}

export function planEditForm({ plan, formats, currency, refresh }) {
  const headingId = "plan-edit-heading";
  const closed = plan.timestep;
  const nameInput = h("input", { id: "plan-name", type: "text", value: plan.name, autocomplete: "off", required: true });
  const total = numberField({
    id: "plan-total-budget",
    label: `Total budget (${currency})`,
    value: String(plan.total_budget),
    hint: `${formats.exact(plan.budget_spent)} spent so far: the total cannot go below it.`,
  });
  const length = numberField({
    id: "plan-timesteps",
    label: "Number of timesteps",
    value: String(plan.timesteps),
    hint: `${closed} closed: at least ${closed + 1}. Fewer stops the plan earlier, more runs it longer.`,
    attributes: { step: "1", min: String(closed + 1), inputmode: "numeric" },
  });
  const inputs = { name: nameInput, total_budget: total.input, timesteps: length.input };
  const feedback = h("div", { class: "form-feedback", id: "plan-edit-feedback" });
  const button = h("button", { type: "submit" }, "Save changes");
  const form = h(
    "form",
    { class: "card", id: "plan-edit-form", "aria-labelledby": headingId, novalidate: true },
    h("h2", { id: headingId }, "Change the plan"),
    h(
      "p",
      { class: "muted" },
      "From the open timestep on: its budgets are recomputed at once unless some of its results are already in.",
    ),
    h("div", { class: "field" }, h("label", { for: "plan-name" }, "Name"), nameInput),
    h("div", { class: "field-row two" }, total.node, length.node),
    feedback,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    feedback.replaceChildren();
    const changes = {};
    let invalid = false;
    const name = nameInput.value.trim();
    if (name === "") {
      fieldError(nameInput, "The plan needs a name.");
      invalid = true;
    } else if (name !== plan.name) {
      changes.name = name;
    }
    for (const [key, input, label] of [
      ["total_budget", total.input, "The total budget"],
      ["timesteps", length.input, "The number of timesteps"],
    ]) {
      const text = input.value.trim();
      if (input.validity.badInput || text === "") {
        fieldError(input, `${label} must be a number.`);
        invalid = true;
      } else if (Number(text) !== plan[key]) {
        changes[key] = Number(text);
      }
    }
    if (invalid) return refuseLocally(form, feedback);
    if (Object.keys(changes).length === 0) {
      feedback.replaceChildren(message("info", "Nothing to save: change a value first."));
      return;
    }
    await submit(form, {
      button,
      busyText: "Saving…",
      feedback,
      heading: (error) => (error.status === 409 ? "The plan cannot be changed:" : "Nothing was changed:"),
      money: { fields: ["total_budget"], format: formats.exact },
      place: (problem) => {
        const input = problem.loc[0] === "body" ? inputs[problem.loc[1]] : null;
        if (input) fieldError(input, problem.msg);
        return Boolean(input);
      },
      send: async () => {
        const { body } = await api.call("PATCH", `/plans/${api.id(plan.id)}`, { json: changes });
        const said = [];
        if ("name" in changes) said.push(`renamed “${body.name}”`);
        if ("total_budget" in changes) said.push(`total budget ${formats.whole(body.total_budget)}`);
        if ("timesteps" in changes) said.push(`${body.timesteps} timesteps`);
        await refresh({
          section: "edit",
          node: message("success", h("p", {}, `Saved: ${said.join(", ")}.`), noteOf(body)),
        });
      },
    });
  });
  return form;
}
