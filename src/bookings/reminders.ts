import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { categoryLabel } from "../listings/categories";
import { formatDateIst, istDate } from "../notifications/format";
import { type NotifyInput, notifyMany } from "../outbox/outbox";

/**
 * Booking reminders, in India time, to both sides of a live (pending or accepted) booking.
 * Upstream sent them hourly to customers only, mixed UTC dates with server-local hours and
 * de-duplicated through a log table by UTC date.
 *
 * Each run claims what is due with one `INSERT … ON CONFLICT DO NOTHING` into `sent_reminders`
 * (kind, booking, '') and notifies exactly the rows it inserted, in the same transaction: a second
 * or overlapping run inserts nothing and sends nothing, and a failed notify un-claims.
 *
 * - day before: appointment 2–24 h ahead, for bookings made more than 24 h ahead;
 * - two hours before: appointment 0–2 h ahead, for bookings made more than 2 h ahead;
 * - morning summary (08:00 IST): one per person with live bookings today (IST), keyed by the date.
 * The windows are wider than the 10-minute cron period, so a missed run only makes a reminder late.
 */

type DueBooking = {
  booking_id: string;
  status: "pending" | "accepted";
  customer_id: string;
  provider_user_id: string;
  service: string;
  appointment_at: string;
  appointment_time: string;
};

type Kind = "booking_day_before" | "booking_two_hours_before";
const WINDOWS: Record<Kind, { fromHours: number; toHours: number }> = {
  booking_day_before: { fromHours: 2, toHours: 24 },
  booking_two_hours_before: { fromHours: 0, toHours: 2 },
};

async function claimDueBookings(tx: Parameters<Parameters<Db["transaction"]>[0]>[0], kind: Kind, at: Date): Promise<DueBooking[]> {
  const { fromHours, toHours } = WINDOWS[kind];
  const res = await tx.execute<DueBooking>(sql`
    with due as (
      select b.id as booking_id, b.status, b.customer_id, pp.user_id as provider_user_id, sm.name as service,
             to_json(b.appointment_at)#>>'{}' as appointment_at, b.appointment_time
      from bookings b
      join provider_profiles pp on pp.id = b.provider_id
      join provider_services ps on ps.id = b.provider_service_id
      join services_master sm on sm.id = ps.service_id
      where b.status in ('pending', 'accepted')
        and b.appointment_at > ${at.toISOString()}::timestamptz + make_interval(hours => ${fromHours})
        and b.appointment_at <= ${at.toISOString()}::timestamptz + make_interval(hours => ${toHours})
        and b.created_at <= b.appointment_at - make_interval(hours => ${toHours})
    ), claimed as (
      insert into sent_reminders (kind, subject_id, period, user_id)
      select ${kind}::reminder_kind, booking_id, '', customer_id from due
      on conflict do nothing
      returning subject_id
    )
    select due.* from due join claimed on claimed.subject_id = due.booking_id`);
  return res.rows;
}

function reminderNotifications(kind: Kind, rows: DueBooking[], at: Date): NotifyInput[] {
  const today = istDate(at);
  return rows.flatMap((b) => {
    const when = new Date(b.appointment_at);
    const day = istDate(when) === today ? "today" : kind === "booking_day_before" ? "tomorrow" : `on ${formatDateIst(when)}`;
    const service = categoryLabel(b.service);
    const data = {
      type: kind === "booking_day_before" ? "daily_reminder" : "hourly_reminder",
      bookingId: b.booking_id,
      screen: "bookings",
      scheduledDate: b.appointment_at,
      appointmentTime: b.appointment_time,
    };
    const title = kind === "booking_day_before" ? "⏰ Booking Reminder" : "⏰ Appointment Starting Soon";
    const key = (userId: string) => `reminder:${kind}:${b.booking_id}:${userId}`;
    return [
      {
        userId: b.customer_id,
        type: "booking",
        title,
        message: `Reminder: your ${service} appointment is ${day} at ${b.appointment_time}.`,
        data,
        dedupKey: key(b.customer_id),
      },
      {
        userId: b.provider_user_id,
        type: "booking",
        title,
        message:
          b.status === "pending"
            ? `A ${service} booking request for ${day} at ${b.appointment_time} is still waiting for your answer.`
            : `Reminder: you have a ${service} booking ${day} at ${b.appointment_time}.`,
        data,
        dedupKey: key(b.provider_user_id),
      },
    ];
  });
}

/** Day-before and two-hours-before reminders (every 10 minutes). */
export async function sendBookingReminders(db: Db, at: Date) {
  return db.transaction(async (tx) => {
    const result: Record<string, number> = {};
    for (const kind of ["booking_day_before", "booking_two_hours_before"] as const) {
      const due = await claimDueBookings(tx, kind, at);
      const written = await notifyMany(tx, reminderNotifications(kind, due, at));
      result[kind] = due.length;
      result.notified = (result.notified ?? 0) + written.length;
    }
    return result;
  });
}

type Summary = { user_id: string; side: "customer" | "provider"; n: number; first_time: string; first_service: string };

/** 08:00 IST: "You have N appointments today", once per person and IST date. */
export async function sendMorningSummaries(db: Db, at: Date) {
  const day = istDate(at);
  const start = new Date(`${day}T00:00:00+05:30`);
  const end = new Date(start.getTime() + 86_400_000);
  return db.transaction(async (tx) => {
    const res = await tx.execute<Summary>(sql`
      with live as (
        select b.customer_id as user_id, 'customer' as side, b.appointment_at, b.appointment_time, sm.name
        from bookings b
        join provider_services ps on ps.id = b.provider_service_id
        join services_master sm on sm.id = ps.service_id
        where b.status in ('pending', 'accepted')
          and b.appointment_at >= ${start.toISOString()}::timestamptz and b.appointment_at < ${end.toISOString()}::timestamptz
        union all
        select pp.user_id, 'provider', b.appointment_at, b.appointment_time, sm.name
        from bookings b
        join provider_profiles pp on pp.id = b.provider_id
        join provider_services ps on ps.id = b.provider_service_id
        join services_master sm on sm.id = ps.service_id
        where b.status = 'accepted'
          and b.appointment_at >= ${start.toISOString()}::timestamptz and b.appointment_at < ${end.toISOString()}::timestamptz
      ), per_user as (
        select user_id, min(side) as side, count(*)::int as n,
               (array_agg(appointment_time order by appointment_at))[1] as first_time,
               (array_agg(name order by appointment_at))[1] as first_service
        from live group by user_id
      ), claimed as (
        insert into sent_reminders (kind, subject_id, period, user_id)
        select 'morning_summary', user_id, ${day}, user_id from per_user
        on conflict do nothing
        returning subject_id
      )
      select per_user.* from per_user join claimed on claimed.subject_id = per_user.user_id`);
    const inputs: NotifyInput[] = res.rows.map((s) => {
      const n = Number(s.n);
      const what = n === 1 ? `a ${categoryLabel(s.first_service)} appointment` : `${n} appointments`;
      return {
        userId: s.user_id,
        type: "booking",
        title: "🌅 Today's Appointments",
        message: `You have ${what} today${n === 1 ? ` at ${s.first_time}` : `, the first at ${s.first_time}`}.`,
        data: { type: "morning_summary", screen: "bookings", count: n, date: day },
        dedupKey: `reminder:morning_summary:${s.user_id}:${day}`,
      };
    });
    const written = await notifyMany(tx, inputs);
    return { summaries: res.rows.length, notified: written.length };
  });
}
