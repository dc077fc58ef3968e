/**
 * Slot times as the apps send and show them ("9:30 AM"; upstream also accepted 24 h "14:00"). No
 * imports: the legacy importer (scripts/import-legacy, Node) parses the old bookings' times with it too.
 */

/** Parses "9:30 AM", "09:30 pm", "14:00"; returns minutes after midnight, or null. */
export function parseClock(raw: string): number | null {
  const m = /^\s*(\d{1,2}):(\d{2})\s*([AaPp][Mm])?\s*$/.exec(raw);
  if (!m) return null;
  let h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59) return null;
  if (m[3]) {
    if (h < 1 || h > 12) return null;
    const pm = m[3].toUpperCase() === "PM";
    h = (h % 12) + (pm ? 12 : 0);
  } else if (h > 23) return null;
  return h * 60 + min;
}

/** "h:mm AM" as the apps display it. */
export function formatClock(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  const h12 = h % 12 === 0 ? 12 : h % 12;
  return `${h12}:${String(m).padStart(2, "0")} ${h < 12 ? "AM" : "PM"}`;
}
