import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { categoryLabel } from "../listings/categories";
import { formatDateIst } from "../notifications/format";
import { emit, type NotifyInput, notifyMany, type RealtimeEvent } from "../outbox/outbox";

/**
 * A booking's time-driven change (cron, src/jobs/schedule.ts): closing requests nobody answered. It
 * runs in one transaction: the change and the notifications it causes commit together, so re-running
 * finds nothing left to do and sends nothing twice. Rows are taken with SKIP LOCKED and in bounded
 * batches, so the job never waits on (or blocks) a request working on the same booking.
 */

const BATCH = 500;
const iso = (v: string) => new Date(v);

/** How long after its slot a booking nobody accepted is closed. */
export const STALE_BOOKING_GRACE_MINUTES = 60;
export const STALE_BOOKING_REASON = "system: expired, the provider did not respond before the appointment time";

/**
 * Pending bookings whose slot passed more than an hour ago. The status enum has no `expired` and
 * the bookings_guard trigger allows pending → cancelled, so they are cancelled with a system
 * reason; both sides are told and their badges raised. A provider accepting at the same moment
 * wins: the row is skipped while locked, and `status = 'pending'` is re-checked by the UPDATE.
 */
export async function expireStaleBookings(db: Db, at: Date) {
  return db.transaction(async (tx) => {
    const res = await tx.execute<{
      id: string;
      customer_id: string;
      provider_user_id: string;
      service: string;
      appointment_at: string;
      appointment_time: string;
    }>(sql`
      with stale as (
        update bookings b set status = 'cancelled', cancellation_reason = ${STALE_BOOKING_REASON},
          viewed_by_customer = false, viewed_by_provider = false
        where b.id in (
          select id from bookings
          where status = 'pending'
            and appointment_at < ${at.toISOString()}::timestamptz - make_interval(mins => ${STALE_BOOKING_GRACE_MINUTES})
          order by appointment_at limit ${BATCH}
          for update skip locked
        ) and b.status = 'pending'
        returning b.id, b.customer_id, b.provider_id, b.provider_service_id, b.appointment_at, b.appointment_time
      )
      select s.id, s.customer_id, pp.user_id as provider_user_id, sm.name as service,
             to_json(s.appointment_at)#>>'{}' as appointment_at, s.appointment_time
      from stale s
      join provider_profiles pp on pp.id = s.provider_id
      join provider_services ps on ps.id = s.provider_service_id
      join services_master sm on sm.id = ps.service_id`);
    const inputs: NotifyInput[] = [];
    const events: RealtimeEvent[] = [];
    for (const b of res.rows) {
      const service = categoryLabel(b.service);
      const when = `${formatDateIst(iso(b.appointment_at))} at ${b.appointment_time}`;
      const data = { type: "booking_expired", bookingId: b.id, screen: "bookings" };
      inputs.push(
        {
          userId: b.customer_id,
          type: "booking",
          title: "Booking Expired",
          message: `Your ${service} booking for ${when} was not accepted in time and has been cancelled.`,
          data,
          dedupKey: `booking_expired:${b.id}:${b.customer_id}`,
        },
        {
          userId: b.provider_user_id,
          type: "booking",
          title: "Booking Request Expired",
          message: `The ${service} booking request for ${when} expired without an answer and was cancelled.`,
          data,
          dedupKey: `booking_expired:${b.id}:${b.provider_user_id}`,
        },
      );
      for (const userId of [b.customer_id, b.provider_user_id]) {
        events.push({ userId, event: "booking_updated", payload: { bookingId: b.id } }, { userId, event: "booking_unread_count_update" });
      }
    }
    const written = await notifyMany(tx, inputs);
    await emit(tx, events);
    return { cancelled: res.rows.length, notified: written.length };
  });
}
