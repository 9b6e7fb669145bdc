// From a plan's history to chart series: one value per campaign per timestep.

import { isoDate } from "./format.js";

export const METRICS = {
  spend: { label: "Spend", kind: "money", of: (r) => r.spend },
  conversions: { label: "Conversions", kind: "count", of: (r) => r.conversions },
  revenue: { label: "Revenue", kind: "money", of: (r) => r.revenue ?? 0 },
  cpa: {
    label: "Cost per conversion (CPA)",
    kind: "money",
    of: (r) => (r.conversions > 0 ? r.spend / r.conversions : null),
  },
  roas: {
    label: "Return on ad spend (ROAS)",
    kind: "ratio",
    of: (r) => (r.spend > 0 ? (r.revenue ?? 0) / r.spend : null),
  },
};

/** "Jan 4, 2027" when the plan has dates, else "Timestep 4". */
export function timestepLabel(entry) {
  const start = entry.allocation?.period_start;
  return start ? isoDate(start) : `Timestep ${entry.timestep}`;
}

/**
 * Campaign id → name: the client's campaigns, then the names the plan and its history carry
 * (a campaign deleted since keeps the name it had in the plan).
 */
export function planNames(campaigns, plan, entries) {
  const names = new Map(campaigns.map((campaign) => [campaign.id, campaign.name]));
  const known = [
    ...(plan.campaigns ?? []),
    ...entries.flatMap((entry) => entry.allocation?.allocations ?? []),
  ];
  for (const one of known) {
    if (one.campaign_name && !names.has(one.campaign_id)) names.set(one.campaign_id, one.campaign_name);
  }
  return names;
}

export function campaignName(names, campaignId) {
  return names.get(campaignId) ?? `campaign ${campaignId.slice(0, 8)}… (removed)`;
}

/**
 * Closed timesteps: before the plan's open one, with results. (While results come in parts the
 * open timestep may already show some campaigns' figures; it is not closed for that.)
 */
export function isClosed(plan, entry) {
  return Array.isArray(entry.results) && entry.timestep < plan.timestep;
}

/** The campaigns a plan has had: its own list first, then any that appear only in history. */
export function campaignOrder(plan, entries) {
  const order = [...plan.campaign_ids];
  for (const entry of entries) {
    for (const a of entry.allocation?.allocations ?? []) {
      if (!order.includes(a.campaign_id)) order.push(a.campaign_id);
    }
  }
  return order;
}

/** Budgets given per campaign, every timestep including the open one. */
export function budgetSeries(plan, entries, names) {
  const order = campaignOrder(plan, entries);
  const labels = entries.map(timestepLabel);
  const series = order.map((campaignId) => ({
    campaignId,
    name: campaignName(names, campaignId),
    values: entries.map((entry) => {
      const given = entry.allocation?.allocations?.find((a) => a.campaign_id === campaignId);
      return given ? given.budget : 0;
    }),
  }));
  const openIndex = entries.findIndex((entry) => !isClosed(plan, entry));
  return { labels, series, openIndex, timesteps: entries.map((e) => e.timestep) };
}

/** Reported figures of closed timesteps for one metric; `revision` > 0 marks a restatement. */
export function resultSeries(plan, entries, names, metricKey) {
  const metric = METRICS[metricKey];
  const closed = entries.filter((entry) => isClosed(plan, entry));
  const order = campaignOrder(plan, closed);
  const revisions = closed.map((entry) => Number(entry.revision ?? 0) || 0);
  const series = order.map((campaignId) => ({
    campaignId,
    name: campaignName(names, campaignId),
    values: closed.map((entry) => {
      const result = entry.results.find((r) => r.campaign_id === campaignId);
      return result ? metric.of(result) : null;
    }),
  }));
  return {
    labels: closed.map((entry) => timestepLabel(entry) + (entry.revision > 0 ? " ◆" : "")),
    timesteps: closed.map((entry) => entry.timestep),
    series,
    revisions,
    marked: revisions.map((revision) => revision > 0),
  };
}
