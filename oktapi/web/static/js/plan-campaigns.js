// The plan's rules for its campaigns (PATCH /plans/{id}/campaigns/{cid}): pause or resume, lock
// to a budget or unlock, plan-level min/max; remove one (DELETE) or add one of the client's
// (POST /plans/{id}/campaigns). Each control says its own errors next to it.

import * as api from "./api.js";
import { h, message, replace } from "./dom.js";
import { confirmStep, fieldError, numberField, refuseLocally, submit } from "./form-kit.js";
import { campaignName } from "./plan-data.js";
import { noteOf } from "./plan-edit.js";

/** The plan's rules per campaign id; a server without them gives every campaign none. */
export function rulesOf(plan) {
  const rules = new Map();
  for (const campaignId of plan.campaign_ids) rules.set(campaignId, { campaign_id: campaignId });
  for (const one of plan.campaigns ?? []) rules.set(one.campaign_id, one);
  return rules;
}

/** "paused", "locked at €300.00", "removed" or "active", as the allocation table says it too. */
export function stateText(rule, formats) {
  if (!rule) return "active";
  if (rule.removed) return "removed";
  if (rule.paused) return "paused";
  if (rule.locked_budget !== null && rule.locked_budget !== undefined) return `locked at ${formats.exact(rule.locked_budget)}`;
  return "active";
}

function ownBounds(campaign, formats) {
  const low = campaign?.min_budget ? formats.exact(campaign.min_budget) : formats.exact(0);
  const high = campaign?.max_budget ? formats.exact(campaign.max_budget) : "none";
  return `min ${low}, max ${high}`;
}

function numberOrNull(text) {
  return text === "" ? null : Number(text);
}

/** One small form: its own feedback and button, refusals placed at its fields. */
function smallForm({ id, fields, buttonText, busyText, extra = [], send, inputs, heading, money }) {
  const feedback = h("div", { class: "form-feedback" });
  const button = h("button", { type: "submit" }, buttonText);
  const form = h("form", { id, class: "small-form", novalidate: true }, fields, feedback, h("div", { class: "buttons" }, button, extra));
  const run = (runButton, runBusy, body) =>
    submit(form, {
      button: runButton,
      busyText: runBusy,
      feedback,
      heading,
      money,
      place: (problem) => {
        const input = problem.loc[0] === "body" ? inputs[problem.loc[1]] : null;
        if (input) fieldError(input, problem.msg);
        return Boolean(input);
      },
      send: () => send(body),
    });
  return { form, feedback, button, run, busyText };
}

function editor({ plan, rule, campaign, names, formats, currency, refresh }) {
  const campaignId = rule.campaign_id;
  const name = campaignName(names, campaignId);
  const given = plan.allocation?.allocations.find((a) => a.campaign_id === campaignId);
  const path = `/plans/${api.id(plan.id)}/campaigns/${api.id(campaignId)}`;
  const done = (text) => (body) => refresh({ section: "campaigns", campaignId, node: message("success", h("p", {}, text), noteOf(body)) });
  const patch = async (json, text) => {
    const { body } = await api.call("PATCH", path, { json });
    await done(text)(body);
  };
  const locked = rule.locked_budget !== null && rule.locked_budget !== undefined;

  const state = h(
    "p",
    { class: "campaign-state", id: "campaign-state" },
    h("strong", {}, name),
    `: ${stateText(rule, formats)}`,
    given ? ` · ${formats.exact(given.budget)} in the open timestep` : "",
  );

  const pauseButton = h("button", { type: "button", id: "campaign-pause", class: "secondary" }, rule.paused ? "Resume" : "Pause");
  const pauseFeedback = h("div", { class: "form-feedback" });
  const pauseBox = h(
    "div",
    { class: "small-form" },
    h("p", { class: "muted" }, rule.paused ? "Paused: it gets no budget and needs no results." : "A paused campaign gets 0 and needs no results; the others share its budget."),
    pauseFeedback,
    pauseButton,
  );
  pauseButton.addEventListener("click", () =>
    submit(pauseBox, {
      button: pauseButton,
      busyText: rule.paused ? "Resuming…" : "Pausing…",
      feedback: pauseFeedback,
      names,
      heading: "Nothing was changed:",
      send: () => patch({ paused: !rule.paused }, rule.paused ? `${name} is running again.` : `${name} is paused: it gets 0.`),
    }),
  );

  const lockField = numberField({
    id: "campaign-locked-budget",
    label: `Locked budget per timestep (${currency})`,
    value: locked ? String(rule.locked_budget) : given ? given.budget.toFixed(2) : null,
    hint: "Exactly this much every timestep; the others share what is left.",
  });
  const unlock = locked ? h("button", { type: "button", class: "secondary", id: "campaign-unlock" }, "Unlock") : null;
  const lock = smallForm({
    id: "campaign-lock-form",
    fields: lockField.node,
    buttonText: locked ? "Change the lock" : "Lock",
    busyText: "Locking…",
    extra: [unlock],
    inputs: { locked_budget: lockField.input },
    heading: "The budget was not locked:",
    money: { fields: ["locked_budget", "min_budget", "max_budget"], format: formats.exact },
    send: (json) => patch(json, json.locked_budget === null ? `${name} is unlocked.` : `${name} is locked at ${formats.exact(json.locked_budget)}.`),
  });
  lock.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = lockField.input.value.trim();
    if (lockField.input.validity.badInput || text === "") {
      fieldError(lockField.input, "Give the budget to lock, a number.");
      return refuseLocally(lock.form, lock.feedback);
    }
    lock.run(lock.button, "Locking…", { locked_budget: Number(text) });
  });
  unlock?.addEventListener("click", () => lock.run(unlock, "Unlocking…", { locked_budget: null }));

  const hint = `Empty: the campaign's own (${ownBounds(campaign, formats)}).`;
  const minField = numberField({ id: "campaign-min-budget", label: `Plan minimum (${currency})`, value: rule.min_budget ?? null, hint });
  const maxField = numberField({ id: "campaign-max-budget", label: `Plan maximum (${currency})`, value: rule.max_budget ?? null });
  const bounds = smallForm({
    id: "campaign-bounds-form",
    fields: h("div", { class: "field-row two" }, minField.node, maxField.node),
    buttonText: "Save bounds",
    busyText: "Saving…",
    inputs: { min_budget: minField.input, max_budget: maxField.input },
    heading: "The bounds were not changed:",
    money: { fields: ["locked_budget", "min_budget", "max_budget"], format: formats.exact },
    send: (json) => patch(json, `${name}'s bounds in this plan are saved.`),
  });
  bounds.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const json = {};
    for (const [key, field] of [["min_budget", minField], ["max_budget", maxField]]) {
      if (field.input.validity.badInput) fieldError(field.input, "A number, or empty for the campaign's own.");
      const value = numberOrNull(field.input.value.trim());
      if (value !== (rule[key] ?? null)) json[key] = value;
    }
    if (bounds.form.querySelector("[aria-invalid]")) return refuseLocally(bounds.form, bounds.feedback);
    if (Object.keys(json).length === 0) {
      bounds.feedback.replaceChildren(message("info", "Nothing to save: change a bound first."));
      return;
    }
    bounds.run(bounds.button, "Saving…", json);
  });

  const removeFeedback = h("div", { class: "form-feedback" });
  const removeBox = h("div", { class: "remove-box" });
  removeBox.append(
    removeFeedback,
    confirmStep({
      id: "campaign-remove",
      label: "Remove from the plan…",
      question: `Remove ${name} from “${plan.name}”? It gets no budget from the open timestep on; its history stays, and it can be added back.`,
      confirmLabel: `Yes, remove ${name}`,
      onConfirm: (button) =>
        submit(removeBox, {
          button,
          busyText: "Removing…",
          feedback: removeFeedback,
          names,
          heading: `${name} was not removed:`,
          send: async () => {
            await api.call("DELETE", path);
            await refresh({ section: "campaigns", node: message("success", `${name} was removed from the plan; its history stays.`) });
          },
        }),
    }),
  );
  return h(
    "div",
    { class: "campaign-editor", "data-campaign-id": campaignId },
    state,
    h("div", { class: "editor-grid" }, pauseBox, lock.form, bounds.form),
    removeBox,
  );
}

function addForm({ plan, rules, campaigns, names, refresh }) {
  const current = new Set(plan.campaign_ids);
  const candidates = campaigns.filter((c) => !current.has(c.id));
  if (candidates.length === 0) return h("p", { class: "muted" }, "Every campaign of this client is in the plan.");
  const select = h(
    "select",
    { id: "plan-add-campaign", name: "campaign_id" },
    candidates.map((c) => h("option", { value: c.id }, rules.get(c.id)?.removed ? `${c.name} (removed earlier)` : c.name)),
  );
  const form = smallForm({
    id: "plan-add-form",
    fields: h("div", { class: "field" }, h("label", { for: "plan-add-campaign" }, "Add a campaign of this client"), select),
    buttonText: "Add to the plan",
    busyText: "Adding…",
    inputs: { campaign_id: select },
    heading: "The campaign was not added:",
    send: async (json) => {
      const { body } = await api.call("POST", `/plans/${api.id(plan.id)}/campaigns`, { json });
      const name = campaignName(names, json.campaign_id);
      await refresh({
        section: "campaigns",
        campaignId: json.campaign_id,
        node: message("success", h("p", {}, `${name} joins the plan from the open timestep on.`), noteOf(body)),
      });
    },
  });
  form.form.addEventListener("submit", (event) => {
    event.preventDefault();
    form.run(form.button, "Adding…", { campaign_id: select.value });
  });
  return form.form;
}

/** The section: a campaign chooser, its controls, and the add form. */
export function campaignsSection({ plan, campaigns, names, formats, currency, refresh, selected }) {
  const headingId = "plan-campaigns-heading";
  const rules = rulesOf(plan);
  const byId = new Map(campaigns.map((c) => [c.id, c]));
  const current = plan.campaign_ids;
  const chosen = current.includes(selected) ? selected : current[0];
  const select = h(
    "select",
    { id: "plan-campaign-select" },
    current.map((campaignId) =>
      h(
        "option",
        { value: campaignId, selected: campaignId === chosen },
        `${campaignName(names, campaignId)} (${stateText(rules.get(campaignId), formats)})`,
      ),
    ),
  );
  const holder = h("div", { id: "campaign-editor" });
  const show = (campaignId) =>
    replace(
      holder,
      editor({ plan, rule: rules.get(campaignId), campaign: byId.get(campaignId), names, formats, currency, refresh }),
    );
  show(chosen);
  select.addEventListener("change", () => show(select.value));
  return h(
    "section",
    { class: "card", id: "plan-campaigns-section", "aria-labelledby": headingId },
    h("h2", { id: headingId }, "Campaigns in this plan"),
    h("p", { class: "muted" }, "Changes apply from the open timestep on."),
    h("div", { class: "form-feedback", id: "plan-campaigns-feedback" }),
    h("div", { class: "field inline" }, h("label", { for: "plan-campaign-select" }, "Campaign"), select),
    holder,
    addForm({ plan, rules, campaigns, names, refresh }),
  );
}
