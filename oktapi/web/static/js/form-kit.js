// What every form of the dashboard does alike: labelled number fields, a busy button while the
// server answers, the server's refusals placed where they happened (a field's next to that
// field, the rest in the form's feedback), and a confirm step before what cannot be undone.

import * as api from "./api.js";
import { h, message } from "./dom.js";

/**
 * Disable the button and say what it is doing; the returned function puts it back. A disabled
 * button drops the keyboard focus: if it had it and nothing took it since, it gets it back.
 */
export function busy(button, busyText) {
  const idle = button.textContent;
  const focused = document.activeElement === button;
  button.disabled = true;
  button.textContent = busyText;
  return () => {
    button.disabled = false;
    button.textContent = idle;
    const lost = !document.activeElement || document.activeElement === document.body;
    if (focused && lost && button.isConnected) button.focus();
  };
}

/** The message next to its field, tied to the input for screen readers (hints kept). */
export function fieldError(input, text) {
  const errorId = `${input.id}-error`;
  document.getElementById(errorId)?.remove();
  const hint = input.dataset.hint;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", hint ? `${errorId} ${hint}` : errorId);
  input.closest(".field").append(h("p", { class: "field-error", id: errorId }, text));
}

export function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error, .row-error")) node.remove();
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    if (input.dataset.hint) input.setAttribute("aria-describedby", input.dataset.hint);
    else input.removeAttribute("aria-describedby");
  }
}

// The API's field names in its messages, as the forms label them.
const FIELD_WORDS = /\b(total|locked|min|max|timestep)_budgets?\b|\bcampaign_ids?\b/g;

/** Server messages name campaigns by id and fields by their API names; people know them by name. */
export function withNames(text, campaignNames) {
  let named = text;
  for (const [campaignId, name] of campaignNames ?? []) named = named.replaceAll(campaignId, name);
  return named.replace(/^Value error, /, "").replace(FIELD_WORDS, (word) => word.replace("_", " "));
}

/** Bare amounts in a message about a money field, in the currency: "1000" → "€1,000.00". */
export function moneyText(text, format) {
  return text.replace(/(?<![\w.,])-?\d+(?:\.\d+)?(?![\w.]*\w)/g, (amount) => format(Number(amount)));
}

/** A labelled number input with an optional hint under it: {input, node}. */
export function numberField({ id, label, value = null, hint = null, attributes = {} }) {
  const hintId = hint ? `${id}-hint` : null;
  const input = h("input", {
    id,
    type: "number",
    min: "0",
    step: "any",
    inputmode: "decimal",
    value,
    "aria-describedby": hintId,
    "data-hint": hintId,
    ...attributes,
  });
  return {
    input,
    node: h(
      "div",
      { class: "field" },
      h("label", { for: id }, label),
      input,
      hint ? h("p", { class: "muted hint", id: hintId }, hint) : null,
    ),
  };
}

/** Put focus on the first marked field, else on the feedback's message. */
export function focusProblem(form, feedback) {
  const first = form.querySelector("[aria-invalid]") || feedback.querySelector(".message");
  if (!first) return;
  if (!first.matches("input, select, textarea")) first.setAttribute("tabindex", "-1");
  first.focus();
}

/** Checks done in the page failed: say so in the feedback and go to the first marked field. */
export function refuseLocally(form, feedback, text = "Some fields need fixing; see the marked ones.") {
  feedback.replaceChildren(message("error", text));
  focusProblem(form, feedback);
}

/**
 * The server refused: each problem goes to `place(problem)` (true when it marked a field or a
 * row), the others are listed under `heading` in the feedback. Problems are {loc, msg}; `money`
 * ({fields, format}) writes the amounts of those fields' messages in the client's currency.
 */
export function showRefusal(form, feedback, error, { heading, names, money, place = () => false }) {
  const problems =
    error instanceof api.ApiError ? error.problems : [{ loc: [], msg: `Something went wrong: ${error.message}` }];
  const general = [];
  for (const raw of problems) {
    let msg = withNames(raw.msg, names);
    // `money` = {fields, format}: a message about one of those fields has its amounts in the currency.
    if (money && raw.loc[0] === "body" && money.fields.includes(raw.loc[1])) msg = moneyText(msg, money.format);
    const problem = { loc: raw.loc, msg };
    if (!place(problem)) general.push(problem.msg);
  }
  const title = typeof heading === "function" ? heading(error) : heading;
  feedback.replaceChildren(
    message(
      "error",
      h("p", {}, title),
      general.length ? h("ul", {}, general.map((text) => h("li", {}, text))) : h("p", {}, "See the marked fields."),
    ),
  );
  focusProblem(form, feedback);
}

/**
 * One submission: old errors cleared, the button busy and the form aria-busy while `send()`
 * runs; a refusal shown by showRefusal (a 401 brings back the login instead). True if it went.
 */
export async function submit(form, { button, busyText, feedback, send, ...refusal }) {
  clearErrors(form);
  feedback.replaceChildren();
  const done = busy(button, busyText);
  form.setAttribute("aria-busy", "true");
  try {
    await send();
    return true;
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 401) return false; // login is shown
    showRefusal(form, feedback, error, refusal);
    return false;
  } finally {
    done();
    form.removeAttribute("aria-busy");
  }
}

/**
 * A button for what cannot be undone: pressing it shows the consequence and asks again;
 * `onConfirm(confirmButton)` runs only after the second press. Escape or Cancel backs out.
 */
export function confirmStep({ id, label, question, confirmLabel, onConfirm, danger = true }) {
  const start = h("button", { type: "button", id, class: danger ? "danger secondary" : "secondary" }, label);
  const confirm = h("button", { type: "button", id: `${id}-confirm`, class: danger ? "danger" : null }, confirmLabel);
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const questionId = `${id}-question`;
  const panel = h(
    "div",
    { class: "confirm", role: "group", "aria-labelledby": questionId, hidden: true },
    h("p", { id: questionId }, question),
    h("div", { class: "buttons" }, confirm, cancel),
  );
  const close = () => {
    panel.hidden = true;
    start.hidden = false;
    start.setAttribute("aria-expanded", "false");
    start.focus();
  };
  start.setAttribute("aria-expanded", "false");
  start.addEventListener("click", () => {
    panel.hidden = false;
    start.hidden = true;
    start.setAttribute("aria-expanded", "true");
    confirm.focus();
  });
  cancel.addEventListener("click", close);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  confirm.addEventListener("click", () => onConfirm(confirm));
  return h("div", { class: "confirm-step" }, start, panel);
}
