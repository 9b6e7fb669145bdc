// Looking ahead on the plan page: the learned response curves (GET .../curves) and a "what if"
// for the open timestep's budget (POST .../forecast). Both read the plan and change nothing.

import * as api from "./api.js";
import { curves as drawCurves } from "./charts.js";
import { chartSection, h, message, replace, table } from "./dom.js";
import { count, ratio } from "./format.js";
import { campaignName } from "./plan-data.js";

function outcomeFor(plan, formats) {
  return plan.objective === "revenue"
    ? { name: "revenue", format: formats.money, axis: formats.moneyAxis }
    : { name: "conversions", format: count, axis: count };
}

/** Expected outcome at `budget` on a campaign's grid (linear between grid points). */
export function interpolate(budgets, values, budget) {
  if (budget <= budgets[0]) return values[0];
  for (let i = 1; i < budgets.length; i += 1) {
    if (budget <= budgets[i]) {
      const share = (budget - budgets[i - 1]) / (budgets[i] - budgets[i - 1]);
      return values[i - 1] + share * (values[i] - values[i - 1]);
    }
  }
  return values[values.length - 1];
}

function points(budgets, values) {
  return budgets.map((x, i) => ({ x, y: values[i] }));
}

function curvesTable(curve, name, outcome, formats) {
  return table({
    caption: `${name}: expected ${outcome.name} per budget (current budget ${formats.money(curve.current_budget)})`,
    head: ["Budget", `Expected ${outcome.name}`, "80% interval"],
    rows: curve.budgets.map((budget, i) => [
      formats.money(budget),
      outcome.format(curve.expected[i]),
      `${outcome.format(curve.lower[i])} – ${outcome.format(curve.upper[i])}`,
    ]),
    numeric: [0, 1, 2],
  });
}

/** The section, drawn with a loading line; `load()` fetches the curves and draws them. */
export function curvesSection(plan, names, formats) {
  const outcome = outcomeFor(plan, formats);
  const parts = chartSection({
    key: "curves",
    title: "Learned response curves",
    intro: `What the plan has learned each campaign's budget brings in one timestep: expected ${outcome.name} with an 80% band; the diamond is the campaign's budget in the open timestep.`,
    ariaLabel: "Response curves are loading.",
    tableNode: h("p", { class: "muted" }, "Loading…"),
  });
  const status = h("p", { class: "loading", role: "status" }, "Loading the learned curves…");
  parts.section.insertBefore(status, parts.section.querySelector(".chart-box"));
  parts.section.setAttribute("aria-busy", "true");
  parts.load = async (current) => {
    let answer;
    try {
      answer = await api.get(`/plans/${api.id(plan.id)}/curves`);
    } catch (error) {
      if (!current()) return;
      parts.section.removeAttribute("aria-busy");
      if (error instanceof api.ApiError && error.status === 401) return;
      // 409: no spend yet, finished, or a policy without curves; the server says which.
      const kind = error instanceof api.ApiError && error.status === 409 ? "info" : "error";
      replace(
        parts.section,
        h("h2", { id: "curves-heading" }, "Learned response curves"),
        message(kind, h("p", {}, `No curves to show: ${error.message}`)),
      );
      return;
    }
    if (!current()) return;
    parts.section.removeAttribute("aria-busy");
    status.remove();
    const series = answer.campaigns.map((curve) => ({
      name: campaignName(names, curve.campaign_id),
      points: points(curve.budgets, curve.expected),
      lower: points(curve.budgets, curve.lower),
      upper: points(curve.budgets, curve.upper),
      current: {
        x: curve.current_budget,
        y: interpolate(curve.budgets, curve.expected, curve.current_budget),
      },
    }));
    parts.canvas.setAttribute(
      "aria-label",
      `Lines: expected ${outcome.name} against budget for ${series.length} campaigns, each with its 80% band and current budget marked. The tables below list the values.`,
    );
    parts.details.replaceChildren(
      h("summary", {}, "Tables of this chart's data"),
      ...answer.campaigns.map((curve) =>
        curvesTable(curve, campaignName(names, curve.campaign_id), outcome, formats),
      ),
    );
    drawCurves(parts.canvas, {
      series,
      valueTitle: `Expected ${outcome.name}`,
      formatBudget: formats.money,
      axisBudget: formats.moneyAxis,
      formatValue: outcome.format,
      axisValue: outcome.axis,
    });
  };
  return parts;
}

function marginalText(plan, scenario, formats) {
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
    }),
  );
}

function numberField(id, label, attributes, hint) {
  const input = h("input", {
    id,
    type: "number",
    min: "0",
    step: "any",
    inputmode: "decimal",
    ...attributes,
  });
  return {
    input,
    node: h(
      "div",
      { class: "field" },
      h("label", { for: id }, label),
      input,
      hint ? h("p", { class: "muted hint", id: `${id}-hint` }, hint) : null,
    ),
  };
}

function markField(input, text) {
  const errorId = `${input.id}-error`;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", errorId);
  input.closest(".field").append(h("p", { class: "field-error", id: errorId }, text));
}

/** The "what if" form: a budget per timestep and an optional target; the answer below it. */
export function whatIfSection(plan, names, formats, currency) {
  const headingId = "whatif-heading";
  const revenue = plan.objective === "revenue";
  const budget = numberField("whatif-budget", `Budget per timestep (${currency})`, {
    value: plan.allocation ? plan.allocation.timestep_budget.toFixed(2) : null,
  });
  const target = revenue
    ? numberField(
        "whatif-target",
        "Target ROAS (optional)",
        { placeholder: "e.g. 2.5", "aria-describedby": "whatif-target-hint" },
        "The largest budget whose last unit still brings at least this much revenue per unit.",
      )
    : numberField(
        "whatif-target",
        `Target CPA in ${currency} (optional)`,
        { placeholder: "e.g. 30", "aria-describedby": "whatif-target-hint" },
        "The largest budget whose last extra conversion still costs at most this much.",
      );
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
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const node of form.querySelectorAll(".field-error")) node.remove();
    for (const input of [budget.input, target.input]) input.removeAttribute("aria-invalid");
    budget.input.removeAttribute("aria-describedby");
    target.input.setAttribute("aria-describedby", "whatif-target-hint");
    const body = {};
    const budgetText = budget.input.value.trim();
    const targetText = target.input.value.trim();
    if (budgetText === "" && targetText === "") {
      markField(budget.input, "Give a budget per timestep, a target, or both.");
      budget.input.focus();
      return;
    }
    if (budgetText !== "") body.timestep_budgets = [Number(budgetText)];
    if (targetText !== "") body[revenue ? "target_roas" : "target_cpa"] = Number(targetText);
    button.disabled = true;
    button.textContent = "Forecasting…";
    answer.setAttribute("aria-busy", "true");
    replace(answer, h("p", { class: "loading", role: "status" }, "Forecasting the open timestep…"));
    try {
      const { body: result } = await api.call("POST", `/plans/${api.id(plan.id)}/forecast`, {
        json: body,
      });
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
        result.note ? message("info", h("p", {}, result.note)) : null,
        blocks,
      );
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 401) return;
      replace(answer);
      const fieldOf = { timestep_budgets: budget.input, target_cpa: target.input, target_roas: target.input };
      const general = [];
      if (error instanceof api.ApiError && error.status === 422) {
        for (const problem of error.problems) {
          const input = fieldOf[problem.loc[1]];
          if (input) markField(input, problem.msg.replace(/^Value error, /, ""));
          else general.push(problem.msg.replace(/^Value error, /, ""));
        }
      } else {
        general.push(error.message);
      }
      if (general.length) {
        replace(
          answer,
          message(
            "error",
            h("p", {}, error.status === 409 ? "The plan cannot be forecast yet:" : "The forecast failed:"),
            general.map((text) => h("p", {}, text)),
          ),
        );
      }
      const shown = form.querySelector("[aria-invalid]") || answer.querySelector(".message");
      if (shown && !shown.matches("input")) shown.setAttribute("tabindex", "-1");
      shown?.focus();
    } finally {
      answer.removeAttribute("aria-busy");
      button.disabled = false;
      button.textContent = "Forecast";
    }
  });
  return section;
}
