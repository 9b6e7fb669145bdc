// The clients the user may see, each with its plans: status, timestep, spent and remaining.

import * as api from "./api.js";
import { h, message, replace, table } from "./dom.js";
import { money } from "./format.js";
import { takeNotice } from "./notice.js";

function planRows(plans, currency) {
  return plans.map((plan) => [
    h("a", { href: `#/plans/${encodeURIComponent(plan.id)}` }, plan.name),
    h("span", { class: `badge ${plan.status}` }, plan.status),
    `${plan.timestep} of ${plan.timesteps}`,
    money(plan.budget_spent, currency, { whole: true }),
    money(plan.budget_remaining, currency, { whole: true }),
    money(plan.total_budget, currency, { whole: true }),
  ]);
}

export function planTable(client, plans) {
  return table({
    caption: `Plans of ${client.name}`,
    head: ["Plan", "Status", "Timesteps closed", "Spent", "Remaining", "Total budget"],
    rows: planRows(plans, client.currency),
    numeric: [3, 4, 5],
    className: "stack",
  });
}

function clientSection(client, plans, error) {
  const heading = h(
    "h2",
    {},
    h("a", { href: `#/clients/${encodeURIComponent(client.id)}` }, client.name),
    " ",
    h("span", { class: "muted" }, `(${client.currency})`),
  );
  let body;
  if (error) {
    body = message("error", `Its plans could not be loaded: ${error.message}`);
  } else if (plans.length === 0) {
    body = h("p", { class: "muted" }, "No plans yet.");
  } else {
    body = planTable(client, plans);
  }
  return h("section", { class: "card client", "data-client-id": client.id }, heading, body);
}

export async function renderClients(main, { current }) {
  replace(
    main,
    h("h1", { tabindex: "-1" }, "Clients and plans"),
    h("p", { class: "loading", role: "status" }, "Loading clients…"),
  );
  main.setAttribute("aria-busy", "true");
  try {
    const clients = await api.getAll("/clients");
    const plansPerClient = await Promise.all(
      clients.map((client) =>
        api
          .getAll(`/clients/${api.id(client.id)}/plans`)
          .then((plans) => ({ plans }))
          .catch((error) => ({ plans: [], error })),
      ),
    );
    if (!current()) return;
    const sections = clients.map((client, i) =>
      clientSection(client, plansPerClient[i].plans, plansPerClient[i].error),
    );
    const notice = takeNotice();
    replace(
      main,
      h("h1", { tabindex: "-1" }, "Clients and plans"),
      notice,
      clients.length === 0
        ? h("p", { class: "muted" }, "You may see no client yet. An admin creates clients and gives managers access.")
        : sections,
    );
    if (notice) {
      notice.setAttribute("tabindex", "-1");
      notice.focus();
    } else {
      main.querySelector("h1").focus();
    }
  } finally {
    main.removeAttribute("aria-busy");
  }
}
