// Outcome against budget: for a range of budgets per timestep around today's, what the open
// timestep is expected to bring (one POST .../forecast with all of them), with its 80% interval,
// drawn as a line with a band and listed as a table. Read-only.

import * as api from "./api.js";
import { curves as drawCurves } from "./charts.js";
import { chartSection, h, message, replace, table } from "./dom.js";
import { outcomeFor } from "./plan-curves.js";
import { marginalText } from "./plan-whatif.js";

// Budgets per timestep asked for, as multiples of the open timestep's budget.
export const MULTIPLES = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3];

export function budgetGrid(timestepBudget) {
  const budgets = MULTIPLES.map((m) => Math.round(m * timestepBudget * 100) / 100);
  return [...new Set(budgets)].filter((b) => b > 0);
}

function outlookTable(plan, scenarios, current, formats) {
  const outcome = outcomeFor(plan, formats);
  return table({
    caption: `Expected ${outcome.name} in the open timestep per budget per timestep (today's: ${formats.exact(current)})`,
    head: ["Budget per timestep", `Expected ${outcome.name}`, "80% interval", "Marginal return", "Extrapolated"],
    rows: scenarios.map((s) => ({
      className: Math.abs(s.timestep_budget - current) < 0.005 ? "open-row" : s.extrapolated ? "extrapolated-row" : null,
      cells: [
        `${formats.exact(s.timestep_budget)}${Math.abs(s.timestep_budget - current) < 0.005 ? " (today)" : ""}`,
        outcome.format(s.expected),
        `${outcome.format(s.lower)} – ${outcome.format(s.upper)}`,
        marginalText(plan, s, formats),
        s.extrapolated ? "yes" : "no",
      ],
    })),
    numeric: [0, 1, 2],
  });
}

/** The section with a loading line; `load(current)` asks the forecast route and draws. */
export function outlookSection(plan, formats) {
  const outcome = outcomeFor(plan, formats);
  const current = plan.allocation.timestep_budget;
  const title = `Expected ${outcome.name} against budget`;
  const parts = chartSection({
    key: "outlook",
    title,
    intro: `What the open timestep is expected to bring for budgets per timestep from a quarter to three times today's, with the 80% interval as a band; the diamond is today's budget. Where the line flattens, the campaigns' maximum budgets and learned caps hold the rest back; beyond 1.5× the most ever spent the forecast is extrapolated (marked in the table).`,
    ariaLabel: "The outcome against budget is loading.",
    tableNode: h("p", { class: "muted" }, "Loading…"),
  });
  const status = h("p", { class: "loading", role: "status" }, "Forecasting a range of budgets…");
  parts.section.insertBefore(status, parts.section.querySelector(".chart-box"));
  parts.section.setAttribute("aria-busy", "true");
  parts.load = async (stillShown) => {
    let answer;
    try {
      answer = (
        await api.call("POST", `/plans/${api.id(plan.id)}/forecast`, {
          json: { timestep_budgets: budgetGrid(current) },
        })
      ).body;
    } catch (error) {
      if (!stillShown()) return;
      parts.section.removeAttribute("aria-busy");
      if (error instanceof api.ApiError && error.status === 401) return;
      const kind = error instanceof api.ApiError && error.status === 409 ? "info" : "error";
      replace(
        parts.section,
        h("h2", { id: "outlook-heading" }, title),
        message(kind, h("p", {}, `Nothing to forecast yet: ${error.message}`)),
      );
      return;
    }
    if (!stillShown()) return;
    parts.section.removeAttribute("aria-busy");
    status.remove();
    const scenarios = [...answer.scenarios].sort((a, b) => a.timestep_budget - b.timestep_budget);
    const at = (key) => scenarios.map((s) => ({ x: s.timestep_budget, y: s[key] }));
    const today = scenarios.find((s) => Math.abs(s.timestep_budget - current) < 0.005);
    parts.canvas.setAttribute(
      "aria-label",
      `Line: expected ${outcome.name} in the open timestep for ${scenarios.length} budgets per timestep, with its 80% band and today's budget marked. The table below lists the values.`,
    );
    parts.details.replaceChildren(
      h("summary", {}, "Table of this chart's data"),
      outlookTable(plan, scenarios, current, formats),
    );
    drawCurves(parts.canvas, {
      series: [
        {
          name: "All campaigns",
          points: at("expected"),
          lower: at("lower"),
          upper: at("upper"),
          current: { x: current, y: today ? today.expected : null },
        },
      ],
      budgetTitle: "Budget per timestep",
      valueTitle: `Expected ${outcome.name}`,
      formatBudget: formats.money,
      axisBudget: formats.moneyAxis,
      formatValue: outcome.format,
      axisValue: outcome.axis,
    });
  };
  return parts;
}
