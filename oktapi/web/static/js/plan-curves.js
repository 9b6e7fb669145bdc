// The learned response curves of a plan's campaigns (GET .../curves), drawn with today's budget
// marked and listed as tables. Read-only.

import * as api from "./api.js";
import { curves as drawCurves } from "./charts.js";
import { chartSection, h, message, replace, table } from "./dom.js";
import { count } from "./format.js";
import { campaignName } from "./plan-data.js";

export function outcomeFor(plan, formats) {
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
      const ended = kind === "info" && plan.status !== "active";
      replace(
        parts.section,
        h("h2", { id: "curves-heading" }, "Learned response curves"),
        message(
          kind,
          h(
            "p",
            {},
            ended
              ? `No curves to show: the service draws them only while the plan has an open timestep, and this one is ${plan.status}. It answered: “${error.message}”.`
              : `No curves to show: ${error.message}`,
          ),
        ),
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
