// The plan's policy settings while it runs (PATCH /plans/{id} with policy_params): one field per
// parameter of the plan's policy, as GET /policies describes it (meaning, default, allowed range).
// Only the values changed are sent; the server merges them into the stored ones.

import * as api from "./api.js";
import { h, message } from "./dom.js";
import { clearErrors, fieldError, numberField, refuseLocally, submit } from "./form-kit.js";
import { noteOf } from "./plan-edit.js";

let known = null; // the policies never change while the service runs: asked once per page load

/** GET /policies, once; null when the answer did not come (the form then says why). */
export async function loadPolicies() {
  if (known) return known;
  try {
    known = await api.get("/policies");
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 401) throw error;
    return { error };
  }
  return known;
}

/** "max_change" → "Max change"; a money parameter says its currency. */
function labelOf(key, currency) {
  const words = key.replaceAll("_", " ").replace(/\b(cpa|roas)\b/g, (short) => short.toUpperCase());
  const label = words.charAt(0).toUpperCase() + words.slice(1);
  return /(^|_)cpa$/.test(key) ? `${label} (${currency})` : label;
}

function shown(value) {
  return value === null || value === undefined ? "" : String(value);
}

/** What a parameter may be, in words: "a whole number from 0 to 30", "a number above 0". */
export function rangeWords(spec) {
  const kind = spec.integer ? "a whole number" : "a number";
  const { low, high } = spec;
  let text = kind;
  if (low !== null && high !== null && spec.low_inclusive && spec.high_inclusive) {
    text = `${kind} from ${low} to ${high}`;
  } else {
    const bounds = [];
    if (low !== null) bounds.push(spec.low_inclusive ? `${low} or more` : `above ${low}`);
    if (high !== null) bounds.push(spec.high_inclusive ? `at most ${high}` : `below ${high}`);
    if (bounds.length) text = `${kind}, ${bounds.join(" and ")}`;
  }
  return spec.allow_none ? `${text}, or empty for none` : text;
}

function hintOf(spec) {
  const parts = [spec.help ? `${spec.help.charAt(0).toUpperCase()}${spec.help.slice(1)}.` : ""];
  parts.push(`Allowed: ${rangeWords(spec)}.`);
  parts.push(`Default: ${spec.default === null ? "none" : spec.default}.`);
  return parts.filter(Boolean).join(" ");
}

export function planPolicyForm({ plan, policies, currency, refresh }) {
  const headingId = "plan-policy-heading";
  const feedback = h("div", { class: "form-feedback", id: "plan-policy-feedback" });
  const form = h("form", { class: "card", id: "plan-policy-form", "aria-labelledby": headingId, novalidate: true });
  const heading = h("h2", { id: headingId }, "Policy settings");
  const policy = Array.isArray(policies) ? policies.find((one) => one.name === plan.policy) : null;
  if (!policy) {
    const why = policies?.error
      ? message("error", h("p", {}, `The policy's settings cannot be shown: ${policies.error.message}`))
      : h("p", { class: "muted" }, `The policy “${plan.policy}” is not known to this service.`);
    form.append(heading, why);
    return form;
  }
  const keys = Object.keys(policy.params);
  if (keys.length === 0) {
    form.append(heading, h("p", { class: "muted" }, `The policy “${plan.policy}” has no settings to tune.`));
    return form;
  }
  const fields = new Map(
    keys.map((key) => {
      const spec = policy.params[key];
      const field = numberField({
        id: `policy-${key.replaceAll("_", "-")}`,
        label: labelOf(key, currency),
        value: shown(plan.policy_params?.[key]),
        hint: hintOf(spec),
        attributes: {
          min: spec.low === null ? null : String(spec.low),
          max: spec.high === null ? null : String(spec.high),
          step: spec.integer ? "1" : "any",
          inputmode: spec.integer ? "numeric" : "decimal",
          "data-param": key,
          placeholder: spec.allow_none ? "none" : null,
        },
      });
      return [key, { ...field, spec }];
    }),
  );
  const button = h("button", { type: "submit" }, "Save policy settings");
  form.append(
    heading,
    h(
      "p",
      { class: "muted" },
      `How “${plan.policy}” moves the budget, from the open timestep on. Leave a value as it is to keep it.`,
    ),
    h(
      "div",
      { class: "editor-grid" },
      [...fields.values()].map((field) => field.node),
    ),
    feedback,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    feedback.replaceChildren();
    const changes = {};
    let invalid = false;
    for (const [key, { input, spec }] of fields) {
      const text = input.value.trim();
      const before = plan.policy_params?.[key] ?? null;
      if (input.validity.badInput || (text === "" && !spec.allow_none)) {
        fieldError(input, `Give ${rangeWords(spec)}.`);
        invalid = true;
        continue;
      }
      const value = text === "" ? null : Number(text);
      if (value !== before) changes[key] = value;
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
      place: (problem) => {
        // "policy 'x': parameter 'max_change' must be …": said at that parameter's field.
        const named = /parameter '([a-z_]+)'/.exec(problem.msg)?.[1];
        const field = named ? fields.get(named) : null;
        if (field) {
          const got = /, got (.*)$/.exec(problem.msg)?.[1];
          fieldError(field.input, `Must be ${rangeWords(field.spec)}${got ? `, not ${got}` : ""}.`);
        }
        return Boolean(field);
      },
      send: async () => {
        const { body } = await api.call("PATCH", `/plans/${api.id(plan.id)}`, {
          json: { policy_params: changes },
        });
        const said = Object.keys(changes).map(
          (key) => `${key.replaceAll("_", " ")} ${shown(body.policy_params?.[key]) || "none"}`,
        );
        await refresh({
          section: "policy",
          node: message("success", h("p", {}, `Saved: ${said.join(", ")}.`), noteOf(body)),
        });
      },
    });
  });
  return form;
}
