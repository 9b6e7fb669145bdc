// Building the page from data as DOM nodes, never HTML strings: names typed by users stay text.

/**
 * h("p", {class: "x", onclick: fn}, "text", child) → element. Attributes: strings set as
 * attributes, functions under "on…" as listeners, false/null/undefined skipped.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === "") continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/**
 * A table from a header row and body rows (cells: text or nodes); numbers right-aligned. A row is
 * a list of cells or {cells, className, attributes}. className "stack" shows each row as a card
 * on a phone (the column names beside the values) instead of a table to scroll sideways.
 */
export function table({ caption, head, rows, foot, numeric = [], className = "" }) {
  const isNumeric = (index) => numeric.includes(index);
  // Each cell names its column (data-label): a table with class "stack" reads as cards on a phone.
  const cell = (tag, value, index, scope) =>
    h(
      tag,
      { class: isNumeric(index) ? "num" : null, scope, "data-label": scope === "col" ? null : head[index] || null },
      value,
    );
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: className || null },
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, head.map((value, i) => cell("th", value, i, "col")))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            { class: row.className || null, ...(row.attributes || {}) },
            (row.cells || row).map((value, i) =>
              i === 0 ? cell("th", value, i, "row") : cell("td", value, i),
            ),
          ),
        ),
      ),
      foot
        ? h(
            "tfoot",
            {},
            h("tr", {}, foot.map((value, i) => (i === 0 ? cell("th", value, i, "row") : cell("td", value, i)))),
          )
        : null,
    ),
  );
}

let uniqueCounter = 0;
export function uniqueId(prefix) {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

/** A message in a live region: role=alert for errors, role=status for the rest. */
export function message(kind, ...children) {
  return h("div", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}

/** A chart and its data as a table (the text alternative), under one heading. */
export function chartSection({ key, title, intro, ariaLabel, tableNode, controls }) {
  const headingId = `${key}-heading`;
  const tableId = `${key}-table`;
  const canvas = h("canvas", {
    id: `${key}-chart`,
    role: "img",
    "aria-label": ariaLabel,
    "aria-describedby": tableId,
  });
  const details = h(
    "details",
    { class: "chart-table", id: tableId },
    h("summary", {}, "Table of this chart's data"),
    tableNode,
  );
  const section = h(
    "section",
    { class: "card", "aria-labelledby": headingId, id: `${key}-section` },
    h("h2", { id: headingId }, title),
    intro ? h("p", { class: "muted" }, intro) : null,
    controls || null,
    h("div", { class: "chart-box" }, canvas),
    details,
  );
  return { section, canvas, details };
}
