// One plan: where it stands, budgets over time, what came back, the open timestep and why.

import * as api from "./api.js";
import { lines, stackedBars } from "./charts.js";
import { chartSection, h, replace, table, uniqueId } from "./dom.js";
import { count, isoDate, money, moneyShort, rate, ratio } from "./format.js";
import { METRICS, budgetSeries, campaignName, isClosed, resultSeries } from "./plan-data.js";
import { curvesSection, whatIfSection } from "./plan-ahead.js";
import { csvUploadForm, resultsForm } from "./plan-forms.js";
import { restateForm } from "./plan-restate.js";

/** Formatting for one plan: its currency and objective. */
function formatsFor(currency) {
  return {
    money: (value) => money(value, currency),
    exact: (value) => money(value, currency, { exact: true }),
    whole: (value) => money(value, currency, { whole: true }),
    moneyAxis: (value) => moneyShort(value, currency),
    byKind: {
      money: (value) => money(value, currency),
      count,
      ratio,
    },
    axisByKind: {
      money: (value) => moneyShort(value, currency),
      count,
      ratio,
    },
  };
}

function summary(plan, formats) {
  const allocation = plan.allocation;
  const items = [
    ["Status", h("span", { class: `badge ${plan.status}` }, plan.status)],
    [
      "Open timestep",
      plan.status === "active" ? `${plan.timestep} (of 0–${plan.timesteps - 1})` : `none: ${plan.status}`,
    ],
    ["Spent", formats.whole(plan.budget_spent)],
    ["Remaining", formats.whole(plan.budget_remaining)],
    ["Total budget", formats.whole(plan.total_budget)],
    ["This timestep's budget", allocation ? formats.exact(allocation.timestep_budget) : "—"],
  ];
  return h(
    "dl",
    { class: "summary" },
    items.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))),
  );
}

function budgetsSection(plan, entries, names, formats) {
  const data = budgetSeries(plan, entries, names);
  const rows = data.labels.map((label, t) => {
    const total = data.series.reduce((sum, one) => sum + one.values[t], 0);
    return {
      className: t === data.openIndex ? "open-row" : null,
      cells: [
        `${data.timesteps[t]}${t === data.openIndex ? " (open)" : ""}`,
        label.startsWith("Timestep") ? "" : label,
        ...data.series.map((one) => formats.money(one.values[t])),
        formats.money(total),
      ],
    };
  });
  const tableNode = table({
    caption: "Budget given to each campaign, per timestep",
    head: ["Timestep", "Date", ...data.series.map((one) => one.name), "Total"],
    rows,
    numeric: data.series.map((_, i) => i + 2).concat([data.series.length + 2]),
  });
  const parts = chartSection({
    key: "budgets",
    title: "Budgets per campaign",
    intro: "What each campaign was given, timestep by timestep; the lighter bar is the open timestep.",
    ariaLabel: `Stacked bars: the budget of ${data.series.length} campaigns over ${data.labels.length} timesteps. The table below lists the values.`,
    tableNode,
  });
  parts.draw = () =>
    stackedBars(parts.canvas, {
      ...data,
      formatValue: formats.money,
      axisValue: formats.moneyAxis,
    });
  return parts;
}

function resultsTable(data, metric, formats) {
  const format = formats.byKind[metric.kind];
  return table({
    caption: `${metric.label} per campaign, per closed timestep`,
    head: ["Timestep", ...data.series.map((one) => one.name), "Restated"],
    rows: data.timesteps.map((timestep, t) => ({
      className: data.marked[t] ? "restated-row" : null,
      cells: [
        `${timestep}${data.labels[t].startsWith("Timestep") ? "" : ` · ${data.labels[t]}`}`,
        ...data.series.map((one) => format(one.values[t])),
        data.revisions[t] > 0 ? `yes, revision ${data.revisions[t]}` : "no",
      ],
    })),
    numeric: data.series.map((_, i) => i + 1),
  });
}

function resultsSection(plan, entries, names, formats) {
  const closed = entries.filter((entry) => isClosed(plan, entry));
  const headingId = "results-heading";
  if (closed.length === 0) {
    return {
      section: h(
        "section",
        { class: "card", "aria-labelledby": headingId, id: "results-section" },
        h("h2", { id: headingId }, "Reported results"),
        h("p", { class: "muted" }, "No timestep has been reported yet."),
      ),
      draw: () => {},
    };
  }
  const preferred = plan.objective === "revenue" ? ["spend", "revenue", "roas", "conversions", "cpa"] : ["spend", "conversions", "cpa", "revenue", "roas"];
  let metricKey = preferred[1];
  const selectId = uniqueId("metric");
  const select = h(
    "select",
    { id: selectId },
    preferred.map((key) => h("option", { value: key, selected: key === metricKey }, METRICS[key].label)),
  );
  const controls = h("div", { class: "field inline" }, h("label", { for: selectId }, "Show"), select);
  const restated = closed.filter((entry) => Number(entry.revision ?? 0) > 0).length;
  const note = h(
    "p",
    { class: "muted", id: "restated-note" },
    restated
      ? `◆ marks the ${restated} timestep(s) restated after their first report (figures revised by the platform).`
      : "No timestep has been restated.",
  );
  const build = () => resultSeries(plan, entries, names, metricKey);
  let data = build();
  const parts = chartSection({
    key: "results",
    title: "Reported results",
    intro: "What each campaign delivered per closed timestep.",
    ariaLabel: "",
    tableNode: resultsTable(data, METRICS[metricKey], formats),
    controls,
  });
  parts.section.insertBefore(note, parts.details);
  const label = () =>
    `Lines: ${METRICS[metricKey].label.toLowerCase()} of ${data.series.length} campaigns over ${data.labels.length} closed timesteps. The table below lists the values.`;
  parts.canvas.setAttribute("aria-label", label());
  parts.draw = () => {
    const metric = METRICS[metricKey];
    lines(parts.canvas, {
      ...data,
      formatValue: formats.byKind[metric.kind],
      axisValue: formats.axisByKind[metric.kind],
    });
  };
  select.addEventListener("change", () => {
    metricKey = select.value;
    data = build();
    parts.canvas.setAttribute("aria-label", label());
    parts.details.replaceChildren(
      h("summary", {}, "Table of this chart's data"),
      resultsTable(data, METRICS[metricKey], formats),
    );
    parts.draw();
  });
  return parts;
}

function marginalText(plan, value, formats) {
  if (value === null || value === undefined) return "—";
  if (plan.objective === "revenue") {
    return `${ratio(value)} (${formats.money(value)} more per extra ${formats.money(1)})`;
  }
  if (value <= 0) return `${rate(value)} per ${formats.money(1)}`;
  return `${formats.money(1 / value)} per extra conversion (${rate(value)} per ${formats.money(1)})`;
}

function allocationSection(plan, names, formats) {
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
  const rows = allocation.allocations.map((a) => [
    campaignName(names, a.campaign_id),
    formats.exact(a.budget),
    a.expected === undefined || a.expected === null ? "—" : outcome(a.expected),
    a.lower === undefined || a.lower === null ? "—" : `${outcome(a.lower)} – ${outcome(a.upper)}`,
    marginalText(plan, a.marginal_return, formats),
    ...(plan.missing ? [missing.has(a.campaign_id) ? "waiting" : "reported"] : []),
  ]);
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
        "Budget",
        `Expected ${outcomeName}`,
        "80% interval",
        "Marginal return",
        ...(plan.missing ? ["Results"] : []),
      ],
      rows,
      foot: ["Total", formats.exact(total), expectedTotal, "", "", ...(plan.missing ? [""] : [])],
      numeric: [1, 2, 3],
      className: "allocation",
    }),
    explained ? null : h("p", { class: "muted" }, "This plan's policy gives budgets without expectations."),
    allocation.note ? h("p", { class: "muted" }, allocation.note) : null,
  );
  return section;
}

function skeleton(main) {
  replace(
    main,
    h("p", {}, h("a", { href: "#/" }, "← Clients and plans")),
    h("h1", { tabindex: "-1" }, "Plan"),
    h("p", { class: "loading", role: "status" }, "Loading the plan…"),
  );
}

/**
 * Draw the plan page. `flash` = {section: "results" | "restate" | "upload", node} shows the outcome of the
 * last action where it happened, after the page is redrawn with the new data.
 */
export async function renderPlan(main, { planId, current, flash }) {
  if (!flash) skeleton(main);
  main.setAttribute("aria-busy", "true");
  try {
    const plan = await api.get(`/plans/${api.id(planId)}`);
    const [client, campaigns, history] = await Promise.all([
      api.get(`/clients/${api.id(plan.client_id)}`),
      api.getAll(`/clients/${api.id(plan.client_id)}/campaigns`),
      api.get(`/plans/${api.id(planId)}/history`),
    ]);
    if (!current()) return;
    const names = new Map(campaigns.map((campaign) => [campaign.id, campaign.name]));
    const formats = formatsFor(client.currency);
    const entries = history.entries ?? [];
    const refresh = (next) => renderPlan(main, { planId, current, flash: next });

    const budgets = budgetsSection(plan, entries, names, formats);
    const results = resultsSection(plan, entries, names, formats);
    // Curves and forecasts need an open timestep; a finished plan has none.
    const ahead = plan.allocation ? curvesSection(plan, names, formats) : null;
    const whatIf = plan.allocation ? whatIfSection(plan, names, formats, client.currency) : null;
    const forms = h("div", { class: "forms" });
    const formSections = {
      results: plan.allocation
        ? resultsForm({
            plan,
            names,
            formats,
            refresh,
            reported: entries.find((e) => e.timestep === plan.timestep)?.results ?? [],
          })
        : null,
      restate: restateForm({ plan, entries, names, refresh }),
      upload: csvUploadForm({ plan, names, refresh }),
    };
    for (const node of Object.values(formSections)) if (node) forms.append(node);
    if (flash && formSections[flash.section]) {
      formSections[flash.section].querySelector(".form-feedback").replaceChildren(flash.node);
    }
    replace(
      main,
      h("p", {}, h("a", { href: "#/" }, "← Clients and plans")),
      h("h1", { tabindex: "-1" }, plan.name),
      h(
        "p",
        { class: "muted" },
        `${client.name} · ${client.currency} · objective: ${plan.objective} · policy: ${plan.policy}`,
      ),
      summary(plan, formats),
      budgets.section,
      results.section,
      allocationSection(plan, names, formats),
      ahead ? ahead.section : null,
      whatIf,
      forms,
    );
    budgets.draw();
    results.draw();
    ahead?.load(current);
    if (flash) {
      flash.node.setAttribute("tabindex", "-1");
      flash.node.focus();
    } else {
      main.querySelector("h1").focus();
    }
  } finally {
    main.removeAttribute("aria-busy");
  }
}
