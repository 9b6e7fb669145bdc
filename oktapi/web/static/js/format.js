// Numbers as people read them: money in the client's currency with its symbol, counts and ratios.

const cache = new Map();

function formatter(key, options) {
  if (!cache.has(key)) {
    let made;
    try {
      made = new Intl.NumberFormat(undefined, options);
    } catch {
      // A code Intl does not know: plain numbers with the code after them.
      made = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
      made.unknownCurrency = options.currency;
    }
    cache.set(key, made);
  }
  return cache.get(key);
}

function apply(made, value) {
  const text = made.format(value);
  return made.unknownCurrency ? `${text} ${made.unknownCurrency}` : text;
}

/**
 * Cents below 10,000 units, whole units above: €812.50 but €12,345. `whole` rounds to units
 * at any size (totals in a summary), `exact` keeps cents at any size (a budget to type in).
 */
export function money(value, currency, { whole: wholeAlways = false, exact = false } = {}) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  const whole = !exact && (wholeAlways || Math.abs(value) >= 10000);
  const made = formatter(`money:${currency}:${whole}`, {
    style: "currency",
    currency,
    ...(whole ? { maximumFractionDigits: 0, minimumFractionDigits: 0 } : {}),
  });
  return apply(made, value);
}

/** Short money for chart axes: €12K. */
export function moneyShort(value, currency) {
  const made = formatter(`short:${currency}`, {
    style: "currency",
    currency,
    notation: "compact",
    maximumFractionDigits: 1,
  });
  return apply(made, value);
}

/** Conversions may be fractional (data-driven attribution): at most one decimal shown. */
export function count(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return formatter("count", { maximumFractionDigits: 1 }).format(value);
}

/** Return on ad spend: revenue per unit of spend, as 2.35×. */
export function ratio(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return `${formatter("ratio", { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value)}×`;
}

/** A small rate (conversions per unit of money): enough significant digits to compare. */
export function rate(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return formatter("rate", { maximumSignificantDigits: 3 }).format(value);
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

/** "2027-01-04" → "Jan 4, 2027" in the reader's locale (the date itself, no time-zone shift). */
export function isoDate(text) {
  if (!text) return "";
  const [year, month, day] = text.split("-").map(Number);
  return dateFormat.format(new Date(Date.UTC(year, month - 1, day)));
}
