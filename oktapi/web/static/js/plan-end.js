// Ending a plan: stop it (PATCH status "stopped", final) or delete it with its records (DELETE).
// Both ask again before they act.

import * as api from "./api.js";
import { h, message } from "./dom.js";
import { confirmStep, submit } from "./form-kit.js";
import { leaveNotice } from "./notice.js";

export function planEndSection({ plan, refresh }) {
  const headingId = "plan-end-heading";
  const feedback = h("div", { class: "form-feedback", id: "plan-end-feedback" });
  const section = h("section", { class: "card", id: "plan-end-section", "aria-labelledby": headingId });
  const stop =
    plan.status === "active"
      ? confirmStep({
          id: "plan-stop",
          label: "Stop the plan…",
          question: `Stop “${plan.name}” now? Stopping is final: no more budgets are given and no more results taken. Closed timesteps can still be restated.`,
          confirmLabel: "Yes, stop the plan",
          onConfirm: (button) =>
            submit(section, {
              button,
              busyText: "Stopping…",
              feedback,
              heading: "The plan was not stopped:",
              send: async () => {
                await api.call("PATCH", `/plans/${api.id(plan.id)}`, { json: { status: "stopped" } });
                await refresh({ section: "end", node: message("success", "The plan is stopped: it gives no more budgets.") });
              },
            }),
        })
      : null;
  const remove = confirmStep({
    id: "plan-delete",
    label: "Delete the plan…",
    question: `Delete “${plan.name}” and all its records (budgets, results, restatements)? This cannot be undone; the audit log keeps what happened.`,
    confirmLabel: "Yes, delete it",
    onConfirm: (button) =>
      submit(section, {
        button,
        busyText: "Deleting…",
        feedback,
        heading: "The plan was not deleted:",
        send: async () => {
          await api.call("DELETE", `/plans/${api.id(plan.id)}`);
          leaveNotice(message("success", `The plan “${plan.name}” was deleted.`));
          window.location.hash = "#/";
        },
      }),
  });
  section.append(
    h("h2", { id: headingId }, plan.status === "active" ? "Stop or delete the plan" : "Delete the plan"),
    feedback,
    h("div", { class: "end-actions" }, stop, remove),
  );
  return section;
}
