// Outcome against budget: for a range of budgets per timestep (by default a quarter to three
// times today's; the buyer may choose another), what the open timestep is expected to bring (one
// POST .../forecast with all of them), with its 80% interval, drawn as a line with a band and
// listed as a table. Read-only. The range chosen is kept when the page redraws.

import * as api from "./api.js";
import { curves as drawCurves } from "./charts.js";
import { chartSection, h, message, replace, table } from "./dom.js";
import { clearErrors, fieldError, numberField, refuseLocally, submit } from "./form-kit.js";
import { outcomeFor } from "./plan-curves.js";
import { marginalText } from "./plan-whatif.js";

// Budgets per timestep asked for by default, as multiples of the open timestep's budget.
export const MULTIPLES = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3];
// Points of a range the buyer chose (today's budget is added when it falls inside).
const RANGE_POINTS = 9;

const cents = (value) => Math.round(value * 100) / 100;

export function budgetGrid(timestepBudget) {
  const budgets = MULTIPLES.map((m) => cents(m * timestepBudget));
  return [...new Set(budgets)].filter((b) => b > 0);
}

/** Evenly spaced budgets from `low` to `high`, today's among them when inside. */
export function rangeGrid(low, high, today) {
  const budgets = Array.from({ length: RANGE_POINTS }, (_, i) => cents(low + ((high - low) * i) / (RANGE_POINTS - 1)));
  if (today >= low && today <= high) budgets.push(cents(today));
  return [...new Set(budgets)].sort((a, b) => a - b);
}

const isToday = (budget, today) => Math.abs(budget - today) < 0.005;

function outlookTable(plan, scenarios, current, formats) {
  const outcome = outcomeFor(plan, formats);
  return table({
    caption: `Expected ${outcome.name} in the open timestep per budget per timestep (today's: ${formats.exact(current)})`,
    head: ["Budget per timestep", `Expected ${outcome.name}`, "80% interval", "Marginal return", "Extrapolated"],
    rows: scenarios.map((s) => ({
      className: isToday(s.timestep_budget, current) ? "open-row" : s.extrapolated ? "extrapolated-row" : null,
      cells: [
        `${formats.exact(s.timestep_budget)}${isToday(s.timestep_budget, current) ? " (today)" : ""}`,
        outcome.format(s.expected),
        `${outcome.format(s.lower)} – ${outcome.format(s.upper)}`,
        marginalText(plan, s, formats),
        s.extrapolated ? "yes" : "no",
      ],
    })),
    numeric: [0, 1, 2],
    className: "stack",
  });
}

/** The range form: from and to, in the plan's currency; Reset goes back to ¼–3× today's. */
function rangeForm(current, range, formats, currency) {
  const from = numberField({
    id: "outlook-from",
    label: `From (${currency} per timestep)`,
    value: String(range ? range.from : cents(current * MULTIPLES[0])),
  });
  const to = numberField({
    id: "outlook-to",
    label: `To (${currency} per timestep)`,
    value: String(range ? range.to : cents(current * MULTIPLES[MULTIPLES.length - 1])),
  });
  const show = h("button", { type: "submit" }, "Show this range");
  const reset = h("button", { type: "button", class: "secondary", id: "outlook-reset", hidden: !range }, "Back to ¼–3× today's");
  const feedback = h("div", { class: "form-feedback", id: "outlook-feedback" });
  const form = h(
    "form",
    { id: "outlook-range-form", novalidate: true, "aria-label": "Range of budgets per timestep" },
    h("div", { class: "field-row two" }, from.node, to.node),
    h("p", { class: "muted range-hint" }, `Today's budget per timestep: ${formats.exact(current)}.`),
    feedback,
    h("div", { class: "buttons" }, show, reset),
  );
  return { form, from: from.input, to: to.input, show, reset, feedback };
}

/** The section with a loading line; `load(current)` asks the forecast route and draws. */
export function outlookSection(plan, formats, currency, memory) {
  const outcome = outcomeFor(plan, formats);
  const current = plan.allocation.timestep_budget;
  const title = `Expected ${outcome.name} against budget`;
  const range = rangeForm(current, memory.outlookRange, formats, currency);
  const parts = chartSection({
    key: "outlook",
    title,
    intro: `What the open timestep is expected to bring for a range of budgets per timestep, with the 80% interval as a band; the diamond is today's budget. Where the line flattens, the campaigns' maximum budgets and learned caps hold the rest back; beyond 1.5× the most ever spent the forecast is extrapolated (marked in the table).`,
    ariaLabel: "The outcome against budget is loading.",
    tableNode: h("p", { class: "muted" }, "Loading…"),
    controls: range.form,
  });
  const status = h("p", { class: "loading", role: "status" }, "Forecasting a range of budgets…");
  const box = parts.section.querySelector(".chart-box");
  parts.section.insertBefore(status, box);
  parts.section.setAttribute("aria-busy", "true");
  const grid = () =>
    memory.outlookRange ? rangeGrid(memory.outlookRange.from, memory.outlookRange.to, current) : budgetGrid(current);

  /** Forecast the grid and draw it (throws the API's refusal). */
  const draw = async (stillShown) => {
    const answer = (
      await api.call("POST", `/plans/${api.id(plan.id)}/forecast`, { json: { timestep_budgets: grid() } })
    ).body;
    if (!stillShown()) return;
    status.remove();
    const scenarios = [...answer.scenarios].sort((a, b) => a.timestep_budget - b.timestep_budget);
    const at = (key) => scenarios.map((s) => ({ x: s.timestep_budget, y: s[key] }));
    const today = scenarios.find((s) => isToday(s.timestep_budget, current));
    const first = scenarios[0].timestep_budget;
    const last = scenarios[scenarios.length - 1].timestep_budget;
    parts.canvas.setAttribute(
      "aria-label",
      `Line: expected ${outcome.name} in the open timestep for ${scenarios.length} budgets per timestep from ${formats.exact(first)} to ${formats.exact(last)}, with its 80% band${today ? " and today's budget marked" : ""}. The table below lists the values.`,
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
          current: today ? { x: current, y: today.expected } : null,
        },
      ],
      budgetTitle: "Budget per timestep",
      budgetFromZero: !memory.outlookRange,
      valueTitle: `Expected ${outcome.name}`,
      formatBudget: formats.money,
      axisBudget: formats.moneyAxis,
      formatValue: outcome.format,
      axisValue: outcome.axis,
    });
  };

  const redraw = async (next, stillShown) => {
    const before = memory.outlookRange;
    memory.outlookRange = next;
    parts.section.setAttribute("aria-busy", "true");
    const went = await submit(range.form, {
      button: range.show,
      busyText: "Forecasting…",
      feedback: range.feedback,
      heading: "This range cannot be forecast:",
      place: (problem) => {
        if (problem.loc[1] !== "timestep_budgets") return false;
        fieldError(range.from, problem.msg);
        return true;
      },
      send: () => draw(stillShown),
    });
    parts.section.removeAttribute("aria-busy");
    if (!went) memory.outlookRange = before;
    range.reset.hidden = !memory.outlookRange;
  };

  range.form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(range.form);
    const [low, high] = [range.from, range.to].map((input) => input.value.trim());
    let invalid = false;
    for (const [input, text] of [
      [range.from, low],
      [range.to, high],
    ]) {
      if (input.validity.badInput || text === "" || Number(text) < 0) {
        fieldError(input, "Give a budget per timestep of 0 or more.");
        invalid = true;
      }
    }
    if (!invalid && Number(high) <= Number(low)) {
      fieldError(range.to, `Give a budget above the start (${formats.exact(Number(low))}).`);
      invalid = true;
    }
    if (invalid) return refuseLocally(range.form, range.feedback);
    redraw({ from: Number(low), to: Number(high) }, () => range.form.isConnected);
  });
  range.reset.addEventListener("click", () => {
    range.from.value = String(cents(current * MULTIPLES[0]));
    range.to.value = String(cents(current * MULTIPLES[MULTIPLES.length - 1]));
    clearErrors(range.form);
    redraw(undefined, () => range.form.isConnected).then(() => range.show.focus());
  });

  parts.load = async (stillShown) => {
    try {
      await draw(stillShown);
    } catch (error) {
      if (!stillShown()) return;
      parts.section.removeAttribute("aria-busy");
      if (error instanceof api.ApiError && error.status === 401) return;
      if (memory.outlookRange && error instanceof api.ApiError && error.status === 422) {
        // The range kept from before is refused now: back to the default one.
        memory.outlookRange = undefined;
        return parts.load(stillShown);
      }
      const kind = error instanceof api.ApiError && error.status === 409 ? "info" : "error";
      replace(
        parts.section,
        h("h2", { id: "outlook-heading" }, title),
        message(kind, h("p", {}, `Nothing to forecast yet: ${error.message}`)),
      );
      return;
    }
    if (stillShown()) parts.section.removeAttribute("aria-busy");
  };
  return parts;
}
