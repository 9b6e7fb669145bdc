// Chart.js (vendored, window.Chart) drawing one canvas per chart; each chart also has a table.

// Okabe–Ito: told apart with the common colour-vision deficiencies.
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#555555", "#8C6D1F"];
const MARKED_POINT = "rectRot";

export function colour(index) {
  return PALETTE[index % PALETTE.length];
}

function animation() {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : { duration: 300 };
}

function draw(canvas, config) {
  const Chart = window.Chart;
  if (!Chart) throw new Error("the chart library did not load");
  Chart.getChart(canvas)?.destroy();
  return new Chart(canvas, config);
}

function baseOptions(formatValue, axisValue) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: animation(),
    interaction: { mode: "index", intersect: false },
    plugins: {
      legend: { position: "bottom", labels: { boxWidth: 14 } },
      tooltip: {
        callbacks: { label: (item) => `${item.dataset.label}: ${formatValue(item.parsed.y)}` },
      },
    },
    scales: { y: { beginAtZero: true, ticks: { callback: (value) => axisValue(value) } } },
  };
}

/** Budgets per campaign per timestep, stacked; the open timestep's bar is lighter. */
export function stackedBars(canvas, { labels, series, openIndex, formatValue, axisValue }) {
  return draw(canvas, {
    type: "bar",
    data: {
      labels,
      datasets: series.map((one, i) => ({
        label: one.name,
        data: one.values,
        backgroundColor: one.values.map((_, t) => (t === openIndex ? `${colour(i)}88` : colour(i))),
        borderColor: colour(i),
        borderWidth: 1,
      })),
    },
    options: (() => {
      const options = baseOptions(formatValue, axisValue);
      options.scales.x = { stacked: true };
      options.scales.y.stacked = true;
      return options;
    })(),
  });
}

/** One line per campaign; points of marked timesteps (restated) drawn larger and as diamonds. */
export function lines(canvas, { labels, series, marked, formatValue, axisValue }) {
  return draw(canvas, {
    type: "line",
    data: {
      labels,
      datasets: series.map((one, i) => ({
        label: one.name,
        data: one.values,
        borderColor: colour(i),
        backgroundColor: colour(i),
        spanGaps: false,
        pointStyle: one.values.map((_, t) => (marked[t] ? MARKED_POINT : "circle")),
        pointRadius: one.values.map((_, t) => (marked[t] ? 7 : 3)),
      })),
    },
    options: baseOptions(formatValue, axisValue),
  });
}

/**
 * Response curves: per campaign the expected outcome over a budget grid (a line), its 80%
 * interval (a light band) and the campaign's current budget (a large point on its line).
 * `series`: [{name, points: [{x, y}], lower: [{x, y}], upper: [{x, y}], current: {x, y} | null}].
 * `budgetFromZero` false lets the budget axis start where the grid does (a range chosen).
 */
export function curves(
  canvas,
  {
    series,
    budgetTitle = "Budget in one timestep",
    budgetFromZero = true,
    valueTitle,
    formatBudget,
    axisBudget,
    formatValue,
    axisValue,
  },
) {
  const datasets = [];
  series.forEach((one, i) => {
    const base = { parsing: false, pointRadius: 0, borderWidth: 0, tension: 0.2 };
    datasets.push({ ...base, label: `${one.name}: low end`, data: one.lower, role: "band", fill: false });
    datasets.push({
      ...base,
      label: `${one.name}: high end`,
      data: one.upper,
      role: "band",
      fill: "-1",
      backgroundColor: `${colour(i)}22`,
    });
    datasets.push({
      ...base,
      label: one.name,
      data: one.points,
      role: "expected",
      borderColor: colour(i),
      backgroundColor: colour(i),
      borderWidth: 2,
    });
    datasets.push({
      label: `${one.name}: current budget`,
      data: one.current ? [one.current] : [],
      role: "current",
      type: "scatter",
      parsing: false,
      pointStyle: MARKED_POINT,
      pointRadius: 8,
      borderColor: "#1b1b1b",
      borderWidth: 1.5,
      backgroundColor: colour(i),
    });
  });
  return draw(canvas, {
    type: "line",
    data: { datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: animation(),
      interaction: { mode: "nearest", intersect: false },
      plugins: {
        legend: {
          position: "bottom",
          labels: { boxWidth: 14, filter: (item, data) => data.datasets[item.datasetIndex].role === "expected" },
        },
        tooltip: {
          filter: (item) => item.dataset.role !== "band",
          callbacks: {
            label: (item) =>
              `${item.dataset.label}: ${formatBudget(item.parsed.x)} → ${formatValue(item.parsed.y)}`,
          },
        },
      },
      scales: {
        x: {
          type: "linear",
          beginAtZero: budgetFromZero,
          title: { display: true, text: budgetTitle },
          ticks: { callback: (value) => axisBudget(value) },
        },
        y: {
          beginAtZero: true,
          title: { display: true, text: valueTitle },
          ticks: { callback: (value) => axisValue(value) },
        },
      },
    },
  });
}
