/**
 * India time for what people read. IST is a fixed UTC+05:30 (no daylight saving), so plain offset
 * arithmetic is exact and needs no ICU time-zone data.
 */
const IST_OFFSET_MS = 330 * 60_000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function ist(d: Date): Date {
  return new Date(d.getTime() + IST_OFFSET_MS);
}

/** "28 Nov 2026" (upstream's `formatted_date`). */
export function formatDateIst(d: Date): string {
  const t = ist(d);
  return `${t.getUTCDate()} ${MONTHS[t.getUTCMonth()]} ${t.getUTCFullYear()}`;
}

/** "1:19 pm" (upstream's `formatted_time`). */
export function formatTimeIst(d: Date): string {
  const t = ist(d);
  const h = t.getUTCHours();
  return `${h % 12 === 0 ? 12 : h % 12}:${String(t.getUTCMinutes()).padStart(2, "0")} ${h < 12 ? "am" : "pm"}`;
}

/** The IST calendar date, "2026-11-28". */
export function istDate(d: Date): string {
  return ist(d).toISOString().slice(0, 10);
}

/** "Just now", "5 minutes ago", "3 hours ago", "2 days ago", then the date after a week (upstream's `relative_time`). */
export function relativeTime(d: Date, now: Date = new Date()): string {
  const s = Math.max(0, Math.floor((now.getTime() - d.getTime()) / 1000));
  if (s < 60) return "Just now";
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"} ago`;
  if (s < 3600) return plural(Math.floor(s / 60), "minute");
  if (s < 86_400) return plural(Math.floor(s / 3600), "hour");
  if (s < 7 * 86_400) return plural(Math.floor(s / 86_400), "day");
  return formatDateIst(d);
}
