// One plan: where it stands, budgets over time, what came back, the open timestep and why.

import * as api from "./api.js";
import { lines, stackedBars } from "./charts.js";
import { chartSection, h, message, replace, table, uniqueId } from "./dom.js";
import { count, money, moneyShort, ratio } from "./format.js";
import { allocationSection } from "./plan-allocation.js";
import { campaignsSection } from "./plan-campaigns.js";
import { curvesSection } from "./plan-curves.js";
import { METRICS, budgetSeries, isClosed, planNames, resultSeries } from "./plan-data.js";
import { planEditForm } from "./plan-edit.js";
import { planEndSection } from "./plan-end.js";
import { loadPolicies, planPolicyForm } from "./plan-policy.js";
import { remembered } from "./plan-memory.js";
import { outlookSection } from "./plan-outlook.js";
import { restateForm } from "./plan-restate.js";
import { planUploadForm, resultsForm } from "./plan-results.js";
import { whatIfSection } from "./plan-whatif.js";

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

function resultsSection(plan, entries, names, formats, memory) {
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
  // The metric chosen stays when the page redraws (after posting results, an upload, an edit).
  let metricKey = preferred.includes(memory.metric) ? memory.metric : preferred[1];
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
    memory.metric = metricKey;
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

/** Where the outlook and the what-if would be: why a plan without an open timestep has none. */
function noForecastSection(plan) {
  const why =
    plan.status === "stopped"
      ? "This plan is stopped: it gives no more budgets, so there is no timestep left to forecast."
      : `This plan is finished: all ${plan.timesteps} timesteps are reported, so there is no timestep left to forecast.`;
  return h(
    "section",
    { class: "card", id: "whatif-section", "aria-labelledby": "whatif-heading" },
    h("h2", { id: "whatif-heading" }, "Looking ahead"),
    message("info", h("p", {}, why), h("p", {}, "The budgets and results above stay as they were reported; closed timesteps can still be restated.")),
  );
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
    const [client, campaigns, history, policies] = await Promise.all([
      api.get(`/clients/${api.id(plan.client_id)}`),
      api.getAll(`/clients/${api.id(plan.client_id)}/campaigns`),
      api.get(`/plans/${api.id(planId)}/history`),
      loadPolicies(),
    ]);
    if (!current()) return;
    const entries = history.entries ?? [];
    const names = planNames(campaigns, plan, entries);
    const formats = formatsFor(client.currency);
    const refresh = (next) => renderPlan(main, { planId, current, flash: next });
    const currency = client.currency;

    const memory = remembered(plan.id);
    const budgets = budgetsSection(plan, entries, names, formats);
    const results = resultsSection(plan, entries, names, formats, memory);
    // Curves are asked for whatever the status (the service says when it has none); forecasts
    // look at the open timestep, which a finished or stopped plan no longer has.
    const curves = curvesSection(plan, names, formats);
    const outlook = plan.allocation ? outlookSection(plan, formats, currency, memory) : null;
    const whatIf = plan.allocation ? whatIfSection(plan, names, formats, currency, memory) : null;
    const running = plan.status === "active";
    const sections = {
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
      upload: planUploadForm({ plan, names, refresh }),
      edit: running ? planEditForm({ plan, formats, currency, refresh }) : null,
      policy: running ? planPolicyForm({ plan, policies, currency, refresh }) : null,
      campaigns: running
        ? campaignsSection({ plan, campaigns, names, formats, currency, refresh, selected: flash?.campaignId })
        : null,
      end: planEndSection({ plan, refresh }),
    };
    if (flash && sections[flash.section]) {
      sections[flash.section].querySelector(".form-feedback").replaceChildren(flash.node);
    }
    const group = (id, title, keys) => {
      const shown = keys.map((key) => sections[key]).filter(Boolean);
      return shown.length ? h("div", { class: "forms", id, "aria-label": title, role: "group" }, shown) : null;
    };
    replace(
      main,
      h("p", {}, h("a", { href: "#/" }, "← Clients and plans")),
      h("h1", { tabindex: "-1" }, plan.name),
      h(
        "p",
        { class: "muted" },
        h("a", { href: `#/clients/${encodeURIComponent(client.id)}` }, client.name),
        ` · ${currency} · objective: ${plan.objective} · policy: ${plan.policy}`,
      ),
      summary(plan, formats),
      budgets.section,
      results.section,
      allocationSection(plan, names, formats),
      group("plan-inputs", "Report results", ["results", "restate", "upload"]),
      outlook ? outlook.section : null,
      curves.section,
      whatIf ? whatIf.section : noForecastSection(plan),
      group("plan-changes", "Change the plan", ["edit", "policy", "campaigns", "end"]),
    );
    budgets.draw();
    results.draw();
    curves.load(current);
    outlook?.load(current);
    whatIf?.load(current);
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
