// The dashboard's entry: session, hash routes (#/ clients, #/clients/<id> one client, #/plans/<id>
// a plan), focus on change.

import * as api from "./api.js";
import { h, message, replace } from "./dom.js";
import { renderClient } from "./client.js";
import { renderClients } from "./clients.js";
import { renderLogin } from "./login.js";
import { renderPlan } from "./plan.js";
import { forgetAll } from "./plan-memory.js";

const main = document.getElementById("main");
const session = document.getElementById("session");
const whoami = document.getElementById("whoami");
let renderCount = 0;

function route() {
  const plan = window.location.hash.match(/^#\/plans\/([^/?#]+)/);
  if (plan) return { page: "plan", planId: decodeURIComponent(plan[1]) };
  const client = window.location.hash.match(/^#\/clients\/([^/?#]+)/);
  if (client) return { page: "client", clientId: decodeURIComponent(client[1]) };
  return { page: "clients" };
}

/** A view gets a `current()` check so a slow answer for a page already left draws nothing. */
async function show(reason) {
  const ticket = ++renderCount;
  const current = () => ticket === renderCount;
  if (!api.hasToken()) {
    session.hidden = true;
    renderLogin(main, { reason, onLoggedIn: () => show() });
    return;
  }
  session.hidden = false;
  if (!whoami.textContent) {
    api
      .get("/auth/me")
      .then((me) => {
        whoami.textContent = `${me.username} (${me.role})`;
      })
      .catch(() => {});
  }
  const where = route();
  try {
    if (where.page === "plan") {
      await renderPlan(main, { planId: where.planId, current });
    } else if (where.page === "client") {
      await renderClient(main, { clientId: where.clientId, current });
    } else {
      await renderClients(main, { current });
    }
  } catch (error) {
    if (!current() || !api.hasToken()) return;
    replace(
      main,
      h("h1", { tabindex: "-1" }, "Something went wrong"),
      message("error", error.message || String(error)),
      h("p", {}, h("a", { href: "#/" }, "Back to the clients")),
    );
  }
}

document.getElementById("logout").addEventListener("click", () => {
  api.logout();
  forgetAll();
  whoami.textContent = "";
  show("You are logged out.");
});

window.addEventListener("oktopus:signed-out", () => {
  forgetAll();
  whoami.textContent = "";
  show("Your session has ended: log in again.");
});

window.addEventListener("hashchange", () => show());
show();
