import { AppError } from "../http/errors";
import { formatClock, parseClock } from "./clock";

export { formatClock, parseClock };

/**
 * Appointment date and time as the user app sends them (`YYYY-MM-DD`, `hh:mm AM|PM`; upstream also
 * accepted 24 h `HH:MM`), read as India time (Asia/Kolkata, UTC+05:30, no DST). Upstream parsed
 * them in the server's zone and let unparsable values through.
 */
const IST_OFFSET_MS = 330 * 60_000;
const DAY_MS = 86_400_000;
/** How far ahead a customer may book. */
export const MAX_BOOKING_HORIZON_DAYS = 180;

export type Appointment = { at: Date; date: string; time: string };

function invalid(field: string, message: string): AppError {
  return new AppError("VALIDATION_ERROR", message, { errors: [{ field, message }] });
}

export function parseAppointment(date: string, time: string, now = new Date()): Appointment {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date.trim());
  if (!d) throw invalid("appointmentDate", "appointmentDate must be YYYY-MM-DD");
  const [y, mo, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
  const midnightUtc = Date.UTC(y, mo - 1, day);
  const check = new Date(midnightUtc);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== day)
    throw invalid("appointmentDate", "appointmentDate is not a calendar date");
  const minutes = parseClock(time);
  if (minutes === null) throw invalid("appointmentTime", "appointmentTime must look like 10:30 AM");
  const at = new Date(midnightUtc + minutes * 60_000 - IST_OFFSET_MS);
  if (at.getTime() <= now.getTime()) throw invalid("appointmentDate", "Appointment must be in the future (India time)");
  if (at.getTime() > now.getTime() + MAX_BOOKING_HORIZON_DAYS * DAY_MS)
    throw invalid("appointmentDate", `Appointments can be booked at most ${MAX_BOOKING_HORIZON_DAYS} days ahead`);
  return { at, date: date.trim(), time: formatClock(minutes) };
}

/** "Sat, 28 Nov 2026" for notification texts. */
export function displayDate(isoDate: string): string {
  const [y, m, d] = isoDate.split("-").map(Number);
  const dt = new Date(Date.UTC(y!, m! - 1, d!));
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  return `${days[dt.getUTCDay()]}, ${d} ${months[m! - 1]} ${y}`;
}

/** Today's date in India (YYYY-MM-DD). */
export function istToday(now = new Date()): string {
  return new Date(now.getTime() + IST_OFFSET_MS).toISOString().slice(0, 10);
}
