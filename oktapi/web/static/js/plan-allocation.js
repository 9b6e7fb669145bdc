// The open timestep's allocation: each campaign's budget, what it is expected to bring with its
// 80% interval and marginal return, and its state in the plan (paused, locked, removed).

import { h, replace, table } from "./dom.js";
import { count, isoDate, rate, ratio } from "./format.js";
import { campaignName } from "./plan-data.js";
import { rulesOf, stateText } from "./plan-campaigns.js";

function marginalText(plan, value, formats) {
  if (value === null || value === undefined) return "—";
  if (plan.objective === "revenue") {
    return `${ratio(value)} (${formats.money(value)} more per extra ${formats.money(1)})`;
  }
  if (value <= 0) return `${rate(value)} per ${formats.money(1)}`;
  return `${formats.money(1 / value)} per extra conversion (${rate(value)} per ${formats.money(1)})`;
}

export function allocationSection(plan, names, formats) {
  const headingId = "allocation-heading";
  const section = h("section", { class: "card", "aria-labelledby": headingId, id: "allocation-section" });
  const allocation = plan.allocation;
  if (!allocation) {
    replace(
      section,
      h("h2", { id: headingId }, "Open timestep"),
      h("p", {}, `The plan is ${plan.status}: no allocation follows. Restating past timesteps still works.`),
    );
    return section;
  }
  const outcome = plan.objective === "revenue" ? formats.money : count;
  const outcomeName = plan.objective === "revenue" ? "revenue" : "conversions";
  const explained = allocation.allocations.some((a) => a.expected !== null && a.expected !== undefined);
  const missing = new Set(plan.missing ?? []);
  let period = null;
  if (allocation.period_start) {
    period = isoDate(allocation.period_start);
    if (allocation.period_end && allocation.period_end !== allocation.period_start) {
      period += ` – ${isoDate(allocation.period_end)}`;
    }
  }
  const rules = rulesOf(plan);
  const waiting = plan.missing ? (a) => [a.paused ? "not needed" : missing.has(a.campaign_id) ? "waiting" : "reported"] : () => [];
  const rows = allocation.allocations.map((a) => {
    const rule = { ...rules.get(a.campaign_id), ...(a.paused ? { paused: true } : {}) };
    const state = stateText(rule, formats);
    return {
      className: `state-${state.split(" ")[0]}`,
      attributes: { "data-campaign-id": a.campaign_id },
      cells: [
        campaignName(names, a.campaign_id),
        state,
        formats.exact(a.budget),
        a.expected === undefined || a.expected === null ? "—" : outcome(a.expected),
        a.lower === undefined || a.lower === null ? "—" : `${outcome(a.lower)} – ${outcome(a.upper)}`,
        marginalText(plan, a.marginal_return, formats),
        ...waiting(a),
      ],
    };
  });
  // Removed campaigns have no budget any more; listed so the table says where they went.
  const given = new Set(allocation.allocations.map((a) => a.campaign_id));
  for (const rule of rules.values()) {
    if (!rule.removed || given.has(rule.campaign_id)) continue;
    rows.push({
      className: "state-removed",
      attributes: { "data-campaign-id": rule.campaign_id },
      cells: [campaignName(names, rule.campaign_id), "removed", "—", "—", "—", "—", ...(plan.missing ? ["—"] : [])],
    });
  }
  const total = allocation.allocations.reduce((sum, a) => sum + a.budget, 0);
  const expectedTotal = explained
    ? outcome(allocation.allocations.reduce((sum, a) => sum + (a.expected ?? 0), 0))
    : "—";
  replace(
    section,
    h("h2", { id: headingId }, `Open timestep ${allocation.timestep}`, period ? ` · ${period}` : ""),
    h(
      "p",
      { class: "muted" },
      `Set these budgets on the ad platforms. Expected ${outcomeName} come with an 80% interval; the marginal return is what the last unit of each budget is expected to bring.`,
    ),
    table({
      caption: `Allocation for timestep ${allocation.timestep}`,
      head: [
        "Campaign",
        "In the plan",
        "Budget",
        `Expected ${outcomeName}`,
        "80% interval",
        "Marginal return",
        ...(plan.missing ? ["Results"] : []),
      ],
      rows,
      foot: ["Total", "", formats.exact(total), expectedTotal, "", "", ...(plan.missing ? [""] : [])],
      numeric: [2, 3, 4],
      className: "allocation stack",
    }),
    allocation.timestep_budget - total >= 0.005
      ? h(
          "p",
          { class: "muted", id: "allocation-unplaced" },
          `${formats.exact(allocation.timestep_budget - total)} of this timestep's ${formats.exact(allocation.timestep_budget)} is not placed: budgets are rounded down to cents${total < allocation.timestep_budget - 1 ? " and held back by the campaigns' bounds" : ""}; it stays in the plan's remaining budget.`,
        )
      : null,
    explained ? null : h("p", { class: "muted" }, "This plan's policy gives budgets without expectations."),
    allocation.note ? h("p", { class: "muted" }, allocation.note) : null,
  );
  return section;
}
