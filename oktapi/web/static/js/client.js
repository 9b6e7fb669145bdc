// One client: its campaigns (with the days of history each has), its plans, and the upload of a
// platform report as campaign history (POST /clients/{id}/history/csv) for plans to learn from.

import * as api from "./api.js";
import { h, replace, table } from "./dom.js";
import { isoDate, money } from "./format.js";
import { planTable } from "./clients.js";
import { REPORT_HELP, reportUploadForm } from "./report-upload.js";

/** Days recorded per campaign (GET /campaigns/{id}/history, one entry asked for the total). */
async function historyDays(campaigns) {
  return Promise.all(
    campaigns.map((campaign) =>
      api
        .get(`/campaigns/${api.id(campaign.id)}/history?limit=1`)
        .then((page) => ({ total: page.total, first: page.entries[0]?.date ?? null }))
        .catch(() => null),
    ),
  );
}

function campaignsTable(client, campaigns, days) {
  const bound = (value) => (value === null || value === undefined ? "—" : money(value, client.currency));
  return table({
    caption: `Campaigns of ${client.name}`,
    head: ["Campaign", "Platform", "Min per timestep", "Max per timestep", "Days of history"],
    rows: campaigns.map((campaign, i) => ({
      attributes: { "data-campaign-id": campaign.id },
      cells: [
        campaign.name,
        campaign.platform || "—",
        bound(campaign.min_budget),
        bound(campaign.max_budget),
        days[i] === null ? "—" : days[i].total ? `${days[i].total} (from ${isoDate(days[i].first)})` : "none",
      ],
    })),
    numeric: [2, 3, 4],
    className: "stack",
  });
}

function historySummary(answer, names) {
  const named = answer.campaign_ids.map((id) => names.get(id) ?? id).join(", ");
  const ignored = answer.ignored_campaigns?.length ? ` Skipped (not this client's): ${answer.ignored_campaigns.join(", ")}.` : "";
  return (
    `History recorded from ${isoDate(answer.first_day)} to ${isoDate(answer.last_day)} for ${named}: ` +
    `${answer.rows} rows read, ${answer.added} days added, ${answer.restated} restated, ${answer.unchanged} unchanged.${ignored}`
  );
}

export async function renderClient(main, { clientId, current, flash }) {
  if (!flash) {
    replace(main, h("p", {}, h("a", { href: "#/" }, "← Clients and plans")), h("p", { class: "loading", role: "status" }, "Loading the client…"));
  }
  main.setAttribute("aria-busy", "true");
  try {
    const [client, campaigns, plans] = await Promise.all([
      api.get(`/clients/${api.id(clientId)}`),
      api.getAll(`/clients/${api.id(clientId)}/campaigns`),
      api.getAll(`/clients/${api.id(clientId)}/plans`),
    ]);
    const days = await historyDays(campaigns);
    if (!current()) return;
    const names = new Map(campaigns.map((campaign) => [campaign.id, campaign.name]));
    const upload = reportUploadForm({
      key: "history",
      title: "Upload campaign history",
      help: `${REPORT_HELP}, or the columns date, campaign, spend, conversions, revenue: the days before a plan, for any of this client's campaigns (by name or platform id). A day sent again is restated. A plan learns from its campaigns' history before its first allocation. All rows are applied, or none.`,
      fileLabel: "History file (CSV)",
      path: `/clients/${api.id(clientId)}/history/csv`,
      names,
      summary: (answer) => historySummary(answer, names),
      refresh: (next) => renderClient(main, { clientId, current, flash: next }),
      options: [{ name: "ignore_unknown", label: "Skip rows of campaigns that are not this client's (they are listed back)" }],
    });
    if (flash) upload.querySelector(".form-feedback").replaceChildren(flash.node);
    replace(
      main,
      h("p", {}, h("a", { href: "#/" }, "← Clients and plans")),
      h("h1", { tabindex: "-1" }, client.name, " ", h("span", { class: "muted" }, `(${client.currency})`)),
      h(
        "section",
        { class: "card", id: "client-campaigns", "aria-labelledby": "client-campaigns-heading" },
        h("h2", { id: "client-campaigns-heading" }, "Campaigns"),
        campaigns.length ? campaignsTable(client, campaigns, days) : h("p", { class: "muted" }, "No campaigns yet."),
      ),
      h(
        "section",
        { class: "card", id: "client-plans", "aria-labelledby": "client-plans-heading" },
        h("h2", { id: "client-plans-heading" }, "Plans"),
        plans.length ? planTable(client, plans) : h("p", { class: "muted" }, "No plans yet."),
      ),
      upload,
    );
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
