/**
 * What the old backend's values mean, and how each becomes ours. One place for every conversion rule
 * the importer applies, so the steps only say which rule a column needs.
 *
 * Time. The old server ran `SET timezone = 'Asia/Kolkata'` on
 * every connection and stored most instants in `timestamp without time zone`, so a column filled by
 * `now()`/`NOW()` holds India wall-clock time. Columns it filled from a JavaScript `Date` (node-pg
 * sends the Node process's local time with an offset, which a `timestamp` column drops) hold the Node
 * server's wall-clock instead: UTC on the servers it ran on. `timestamptz` columns are exact. DATE
 * columns are calendar days; the old expiry job compared them with `CURRENT_DATE` in India time.
 */

export const IST = "Asia/Kolkata";

/** How a source column stores instants. */
export type Zone = "ist" | "node" | "exact";

/**
 * SQL (run on the source) turning a column into an exact instant as ISO-8601 UTC text with
 * microseconds (`2026-01-10T04:30:00.123456Z`): the target stores it unchanged, and JavaScript's
 * Date.parse reads it where the importer compares instants.
 */
export function instantSql(column: string, zone: Zone, nodeTz: string): string {
  const instant = zone === "exact" ? `(${column})` : `(${column} AT TIME ZONE ${quote(zone === "ist" ? IST : nodeTz)})`;
  return `to_char(${instant} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

export function quote(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

const DAY_MS = 86_400_000;
const IST_OFFSET_MS = 330 * 60_000;

/** Midnight India time at the start of the day after `date` (YYYY-MM-DD): the end of a listing paid through `date`. */
export function endOfIstDay(date: string): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d) + DAY_MS - IST_OFFSET_MS).toISOString();
}

/** Midnight India time at the start of `date`. */
export function startOfIstDay(date: string): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d) - IST_OFFSET_MS).toISOString();
}

/** The India calendar date of an instant. */
export function istDate(at: Date): string {
  return new Date(at.getTime() + IST_OFFSET_MS).toISOString().slice(0, 10);
}

/** The instant of an India-time appointment. */
export function appointmentInstant(date: string, minutes: number): string {
  return new Date(Date.parse(startOfIstDay(date)) + minutes * 60_000).toISOString();
}

/** Rupees as numeric text ("99.00") → integer paise; null if absent or not a number. */
export function paise(rupees: string | number | null | undefined): number | null {
  if (rupees === null || rupees === undefined || rupees === "") return null;
  const n = Number(rupees);
  return Number.isFinite(n) ? Math.round(n * 100) : null;
}

export function addDays(iso: string, days: number): string {
  return new Date(Date.parse(iso) + days * DAY_MS).toISOString();
}

export function later(a: string, b: string): string {
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

/**
 * The old normalisation (`utils/blocklist.normalizePhoneNumber`) as a fallback after ours:
 * digits only; 12 digits with 91 or 11 with 1 lose the prefix; otherwise the last 10 digits.
 */
export function legacyPhoneDigits(raw: string): string {
  const d = raw.replace(/\D/g, "");
  if (d.length === 12 && d.startsWith("91")) return d.slice(2);
  if (d.length === 11 && d.startsWith("1")) return d.slice(1);
  return d.length > 10 ? d.slice(-10) : d;
}

export function normaliseEmail(raw: string | null): string | null {
  if (raw === null) return null;
  const e = raw.trim().toLowerCase();
  return /^[^\s@]+@[^\s@]+$/.test(e) ? e : null;
}

/** bcrypt hashes are kept: our login verifies `$2a$/$2b$/$2y$` and rehashes them (src/auth/password.ts). */
export const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
