import { type SQL, sql } from "drizzle-orm";

/**
 * Shapes shared by the marketplace's app-facing responses. Money is paise everywhere inside; the
 * apps read rupees as numbers (`price`, `minPrice`) or as `₹N,NNN` strings (earnings, displayPrice).
 */

/** A timestamptz as an ISO-8601 UTC string, whatever the driver's type parsing or session time zone. */
export const isoSql = (col: SQL | SQL.Aliased | unknown): SQL => sql`to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export const rupees = (paise: number | null | undefined): number | null =>
  paise === null || paise === undefined ? null : Math.round(Number(paise)) / 100;

/** Indian digit grouping (1,23,456), as `toLocaleString('en-IN')`, without relying on ICU data. */
export function groupIndian(n: number): string {
  const s = String(Math.floor(Math.abs(n)));
  if (s.length <= 3) return (n < 0 ? "-" : "") + s;
  const head = s.slice(0, -3).replace(/\B(?=(\d{2})+(?!\d))/g, ",");
  return `${n < 0 ? "-" : ""}${head},${s.slice(-3)}`;
}

/** `₹1,23,456` from paise (whole rupees, floored, as upstream did). */
export const formatRupees = (paise: number): string => `₹${groupIndian(Math.floor(Number(paise) / 100))}`;

export type Pricing = {
  minPrice: number | null;
  maxPrice: number | null;
  subServiceCount: number;
  priceRange: string;
  displayPrice: string;
};

export function pricingOf(minPaise: number | null, maxPaise: number | null, count: number): Pricing {
  const min = rupees(minPaise);
  const max = rupees(maxPaise);
  const fmt = (r: number) => `₹${groupIndian(r)}`;
  if (min === null || max === null || count === 0) {
    return { minPrice: null, maxPrice: null, subServiceCount: 0, priceRange: "Price on request", displayPrice: "Price on request" };
  }
  return {
    minPrice: min,
    maxPrice: max,
    subServiceCount: count,
    priceRange: min === max ? fmt(min) : `${fmt(min)} - ${fmt(max)}`,
    displayPrice: min === max ? fmt(min) : `Starting from ${fmt(min)}`,
  };
}

/** Postgres arrays sometimes arrive as literals (`{a,b}`) from raw queries; the apps want arrays. */
export function textArray(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === "string" && v.startsWith("{") && v.endsWith("}")) {
    const inner = v.slice(1, -1);
    if (!inner) return [];
    return inner.split(",").map((x) => x.replace(/^"|"$/g, ""));
  }
  return [];
}

export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** A Postgres text[] literal (drizzle would spread a JS array into separate parameters). */
export function pgTextArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(",")}}`;
}
