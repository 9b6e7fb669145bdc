// Uploading a platform report (CSV): a plan's results, or a client's campaign history. All rows
// are applied or none; a refused file is shown where it went wrong, row by row.

import * as api from "./api.js";
import { h, message } from "./dom.js";
import { filePreview, problemsByLine } from "./csv-preview.js";
import { busy, withNames } from "./form-kit.js";

export const REPORT_HELP =
  "A daily CSV as downloaded from Google Ads, Meta Ads Manager, TikTok Ads Manager or Microsoft Advertising";

/**
 * The form. `key` names its elements (`${key}-form`, `${key}-file`, `${key}-feedback`); `path`
 * is the route it posts to; `summary(answer)` words what the server did; `options` are
 * checkboxes sent as query parameters ({name, label}).
 */
export function reportUploadForm({ key, title, help, fileLabel, path, names, summary, refresh, options = [] }) {
  const headingId = `${key}-heading`;
  const helpId = `${key}-help`;
  const feedback = h("div", { class: "form-feedback", id: `${key}-feedback` });
  const file = h("input", {
    id: `${key}-file`,
    name: "file",
    type: "file",
    accept: ".csv,.tsv,.txt,text/csv,text/plain",
    required: true,
    "aria-describedby": helpId,
  });
  const checks = options.map((option) => {
    const input = h("input", { id: `${key}-${option.name}`, type: "checkbox", name: option.name });
    return { option, input, node: h("div", { class: "field check" }, input, h("label", { for: input.id }, option.label)) };
  });
  const button = h("button", { type: "submit" }, "Upload report");
  const form = h(
    "form",
    { class: "card", id: `${key}-form`, "aria-labelledby": headingId, novalidate: true },
    h("h2", { id: headingId }, title),
    h("p", { class: "muted", id: helpId }, help),
    h("div", { class: "field" }, h("label", { for: file.id }, fileLabel), file),
    checks.map((check) => check.node),
    feedback,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    feedback.replaceChildren();
    const chosen = file.files[0];
    if (!chosen) {
      feedback.replaceChildren(message("error", "Choose a CSV file first."));
      file.focus();
      return;
    }
    const query = new URLSearchParams();
    for (const check of checks) if (check.input.checked) query.set(check.option.name, "true");
    const done = busy(button, "Uploading…");
    form.setAttribute("aria-busy", "true");
    try {
      const body = new FormData();
      body.append("file", chosen, chosen.name);
      const url = query.toString() ? `${path}?${query}` : path;
      const answer = await api.call("POST", url, { form: body });
      await refresh({ section: key, node: message("success", summary(answer.body)) });
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 401) return; // login is shown
      if (!(error instanceof api.ApiError)) {
        feedback.replaceChildren(message("error", `Something went wrong: ${error.message}`));
        return;
      }
      const { byLine, general } = problemsByLine(
        error.problems.map((p) => ({ loc: p.loc, msg: withNames(p.msg, names) })),
      );
      const count = error.problems.length;
      const text = byLine.size ? await chosen.text() : "";
      feedback.replaceChildren(
        message(
          "error",
          h("p", {}, `${chosen.name} was not applied (nothing changed): ${count} problem${count === 1 ? "" : "s"}.`),
          general.length ? h("ul", {}, general.map((msg) => h("li", {}, msg))) : null,
        ),
        byLine.size ? filePreview(text, byLine) : null,
      );
      feedback.firstChild.setAttribute("tabindex", "-1");
      feedback.firstChild.focus();
    } finally {
      done();
      form.removeAttribute("aria-busy");
    }
  });
  return form;
}
