// "What if" for the open timestep (POST .../forecast): another budget per timestep, or a target
// CPA / ROAS, answered with the split, the expected outcome, its 80% interval and the marginal
// return. Nothing is changed on the plan.

import * as api from "./api.js";
import { h, message, replace, table } from "./dom.js";
import { clearErrors, fieldError, numberField, submit } from "./form-kit.js";
import { ratio } from "./format.js";
import { campaignName } from "./plan-data.js";
import { outcomeFor } from "./plan-curves.js";

export function marginalText(plan, scenario, formats) {
  if (plan.objective === "revenue") {
    return `${ratio(scenario.marginal_roas)} on the last unit`;
  }
  if (scenario.marginal_cpa === null || scenario.marginal_cpa === undefined) {
    return "the last unit buys no extra conversion";
  }
  return `${formats.money(scenario.marginal_cpa)} per extra conversion`;
}

function allocationMarginal(plan, value, formats) {
  if (plan.objective === "revenue") return ratio(value);
  if (!(value > 0)) return "none";
  return `${formats.money(1 / value)} / conversion`;
}

function scenarioBlock(plan, scenario, names, formats, title) {
  const outcome = outcomeFor(plan, formats);
  const placed = scenario.allocations.reduce((sum, a) => sum + a.budget, 0);
  const items = [
    [`Expected ${outcome.name}`, outcome.format(scenario.expected)],
    ["80% interval", `${outcome.format(scenario.lower)} – ${outcome.format(scenario.upper)}`],
    [`Marginal return (${plan.objective === "revenue" ? "ROAS" : "CPA"})`, marginalText(plan, scenario, formats)],
    ["Budget placed", formats.exact(placed)],
  ];
  const short = scenario.timestep_budget - placed > 0.01;
  return h(
    "div",
    { class: "scenario", "data-budget": scenario.timestep_budget },
    h("h3", {}, title),
    h(
      "dl",
      { class: "summary" },
      items.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))),
    ),
    scenario.extrapolated
      ? message(
          "warning",
          h(
            "p",
            {},
            "Extrapolated: this budget goes beyond 1.5× the most spent so far (in total or on a campaign marked below); the forecast there rests on the curves' shape, not on data.",
          ),
        )
      : null,
    short
      ? h(
          "p",
          { class: "muted" },
          `Only ${formats.exact(placed)} of ${formats.exact(scenario.timestep_budget)} can be placed: the campaigns' maximum budgets and learned caps hold the rest back.`,
        )
      : null,
    table({
      caption: `Split of ${formats.exact(scenario.timestep_budget)} per campaign`,
      head: ["Campaign", "Budget", `Expected ${outcome.name}`, "Marginal return", "Extrapolated"],
      rows: scenario.allocations.map((a) => ({
        className: a.extrapolated ? "extrapolated-row" : null,
        cells: [
          campaignName(names, a.campaign_id),
          formats.exact(a.budget),
          outcome.format(a.expected),
          allocationMarginal(plan, a.marginal_return, formats),
          a.extrapolated ? "yes" : "no",
        ],
      })),
      foot: ["Total", formats.exact(placed), outcome.format(scenario.expected), "", ""],
      numeric: [1, 2, 3],
      className: "stack",
    }),
  );
}

/**
 * The "what if" form: a budget per timestep and an optional target; the answer below it. The last
 * question answered is kept in `memory.whatIf`; when the page redraws (after an edit or an
 * upload), `load()` asks it again so the answer shown is the plan's as it is now.
 */
export function whatIfSection(plan, names, formats, currency, memory) {
  const headingId = "whatif-heading";
  const revenue = plan.objective === "revenue";
  const asked = memory.whatIf;
  const budget = numberField({
    id: "whatif-budget",
    label: `Budget per timestep (${currency})`,
    value: asked ? asked.budget : plan.allocation.timestep_budget.toFixed(2),
  });
  const target = numberField({
    id: "whatif-target",
    label: revenue ? "Target ROAS (optional)" : `Target CPA in ${currency} (optional)`,
    value: asked ? asked.target : null,
    attributes: { placeholder: revenue ? "e.g. 2.5" : "e.g. 30" },
    hint: revenue
      ? "The largest budget whose last unit still brings at least this much revenue per unit."
      : "The largest budget whose last extra conversion still costs at most this much.",
  });
  const button = h("button", { type: "submit" }, "Forecast");
  const answer = h("div", { class: "whatif-answer", id: "whatif-answer", "aria-live": "polite" });
  const form = h(
    "form",
    { id: "whatif-form", novalidate: true },
    h("div", { class: "field-row two" }, budget.node, target.node),
    button,
  );
  const section = h(
    "section",
    { class: "card", "aria-labelledby": headingId, id: "whatif-section" },
    h("h2", { id: headingId }, "What if"),
    h(
      "p",
      { class: "muted" },
      "Forecast the open timestep for another budget: where it would go and what it would bring. Nothing is changed on the plan.",
    ),
    form,
    answer,
  );
  const fieldOf = { timestep_budgets: budget.input, target_cpa: target.input, target_roas: target.input };

  /** Ask the forecast route; `again` (a redraw) says so and leaves the focus where it is. */
  const ask = async ({ again = false } = {}) => {
    clearErrors(form);
    const body = {};
    const budgetText = budget.input.value.trim();
    const targetText = target.input.value.trim();
    if (budgetText === "" && targetText === "") {
      fieldError(budget.input, "Give a budget per timestep, a target, or both.");
      budget.input.focus();
      return;
    }
    if (budgetText !== "") body.timestep_budgets = [Number(budgetText)];
    if (targetText !== "") body[revenue ? "target_roas" : "target_cpa"] = Number(targetText);
    answer.setAttribute("aria-busy", "true");
    replace(
      answer,
      h("p", { class: "loading", role: "status" }, again ? "Forecasting your last what-if again…" : "Forecasting the open timestep…"),
    );
    const feedback = h("div");
    await submit(form, {
      button,
      busyText: "Forecasting…",
      feedback,
      names,
      heading: (error) => (error.status === 409 ? "The plan cannot be forecast yet:" : "The forecast failed:"),
      place: (problem) => {
        const input = problem.loc[0] === "body" ? fieldOf[problem.loc[1]] : null;
        if (input) fieldError(input, problem.msg);
        return Boolean(input);
      },
      send: async () => {
        const { body: result } = await api.call("POST", `/plans/${api.id(plan.id)}/forecast`, { json: body });
        if (!form.isConnected) return;
        memory.whatIf = { budget: budgetText, target: targetText };
        const blocks = result.scenarios.map((scenario) =>
          scenarioBlock(plan, scenario, names, formats, `With ${formats.exact(scenario.timestep_budget)} per timestep`),
        );
        if (result.recommended) {
          const aim = revenue
            ? `ROAS ${ratio(result.recommended.target_roas)}`
            : `CPA ${formats.money(result.recommended.target_cpa)}`;
          blocks.push(
            scenarioBlock(
              plan,
              result.recommended,
              names,
              formats,
              `Largest budget meeting a marginal ${aim}: ${formats.exact(result.recommended.timestep_budget)}`,
            ),
          );
        }
        replace(
          answer,
          again
            ? h(
                "p",
                { class: "muted", id: "whatif-again" },
                `Your last what-if, forecast again for the plan as it is now (open timestep ${plan.timestep}).`,
              )
            : null,
          result.note ? message("info", h("p", {}, result.note)) : null,
          blocks,
        );
      },
    });
    answer.removeAttribute("aria-busy");
    if (feedback.childNodes.length) {
      // Refused: field problems are marked at their fields; anything else is said here.
      const marked = form.querySelector("[aria-invalid]") && !feedback.querySelector("li");
      replace(answer, marked ? null : feedback.firstChild);
      if (again) return;
      const shown = form.querySelector("[aria-invalid]") || answer.querySelector(".message");
      if (shown && !shown.matches("input")) shown.setAttribute("tabindex", "-1");
      shown?.focus();
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ask();
  });
  return {
    section,
    load: (stillShown) => {
      if (memory.whatIf && stillShown()) ask({ again: true });
    },
  };
}
