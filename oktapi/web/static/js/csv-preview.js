// A refused report file shown as the person knows it: its bad lines with a line of context, in
// the file's own columns, each bad cell outlined and the server's problem on its row.

import { h } from "./dom.js";

/** File line → the problems on it (loc ["body", "rows", line, column]); the rest are general. */
export function problemsByLine(problems) {
  const byLine = new Map();
  const general = [];
  for (const problem of problems) {
    const [, kind, line, column] = problem.loc;
    if (kind === "rows" && Number.isInteger(line)) {
      if (!byLine.has(line)) byLine.set(line, []);
      byLine.get(line).push({ column, msg: problem.msg });
    } else if (kind === "header") {
      general.push(`Header: ${problem.msg}`);
    } else {
      general.push(problem.msg);
    }
  }
  return { byLine, general };
}

/** One line of CSV as cells (quotes and doubled quotes as spreadsheets write them). */
export function splitCsvLine(line, delimiter) {
  const cells = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i];
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (char === '"') {
        quoted = false;
      } else {
        cell += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === delimiter) {
      cells.push(cell);
      cell = "";
    } else {
      cell += char;
    }
  }
  cells.push(cell);
  return cells;
}

function guessDelimiter(line) {
  const counts = [",", ";", "\t"].map((d) => [d, line.split(d).length]);
  return counts.sort((a, b) => b[1] - a[1])[0][0];
}

function headerMatches(header, column) {
  const normal = header.trim().toLowerCase().replace(/[\s_-]+/g, " ");
  return normal === column || normal.startsWith(`${column} (`);
}

/** The file's bad lines with a line of context, cell by cell; a bad cell and its row marked. */
export function filePreview(text, byLine) {
  const fileLines = text.split(/\r\n|\n|\r/);
  const firstBad = Math.min(...byLine.keys());
  // The header is the last non-empty line before the first bad one that names a column.
  let headerNumber = 1;
  for (let n = firstBad - 1; n >= 1; n -= 1) {
    const candidate = fileLines[n - 1].toLowerCase();
    if (candidate.includes("campaign") && candidate.includes("spend")) {
      headerNumber = n;
      break;
    }
  }
  const delimiter = guessDelimiter(fileLines[headerNumber - 1] ?? ",");
  const header = splitCsvLine(fileLines[headerNumber - 1] ?? "", delimiter);
  const shown = new Set([headerNumber]);
  for (const line of byLine.keys()) for (const near of [line - 1, line, line + 1]) shown.add(near);
  const numbers = [...shown]
    .filter((n) => n >= 1 && n <= fileLines.length && (byLine.has(n) || fileLines[n - 1].trim()))
    .sort((a, b) => a - b);
  const width = header.length + 2;
  const body = [];
  let previous = 0;
  for (const number of numbers) {
    if (number === headerNumber) {
      previous = number;
      continue;
    }
    if (number > previous + 1) {
      body.push(h("tr", { class: "gap" }, h("td", { colspan: String(width) }, "…")));
    }
    const problems = byLine.get(number) ?? [];
    const badColumns = new Set(problems.map((p) => p.column));
    const cells = splitCsvLine(fileLines[number - 1], delimiter);
    body.push(
      h(
        "tr",
        { class: problems.length ? "bad-row" : null, "data-line": number },
        h("th", { scope: "row", class: "num" }, String(number)),
        cells.map((value, i) =>
          h(
            "td",
            { class: [...badColumns].some((c) => headerMatches(header[i] ?? "", c)) ? "bad-cell" : null },
            value,
          ),
        ),
        h(
          "td",
          { class: "problem" },
          problems.length
            ? h(
                "ul",
                {},
                problems.map((p) => h("li", {}, p.msg.replace(/^row \d+: /, ""))),
              )
            : "",
        ),
      ),
    );
    previous = number;
  }
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "csv-preview" },
      h("caption", {}, `Where in the file (line ${headerNumber} is its header)`),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Line"),
          header.map((name) => h("th", { scope: "col" }, name)),
          h("th", { scope: "col" }, "Problem"),
        ),
      ),
      h("tbody", {}, body),
    ),
  );
}
