import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { formatDateIst, formatTimeIst } from "../notifications/format";
import { emit, type NotifyInput, notifyMany, type RealtimeEvent } from "../outbox/outbox";
import { serviceLabel } from "./reminders";

/**
 * Time-driven state changes and their warnings. Each runs in one transaction: the change (or the
 * `sent_reminders` claim) and the notifications it causes commit together, so re-running finds
 * nothing left to do and sends nothing twice. Rows are taken with SKIP LOCKED and in bounded
 * batches, so a job never waits on (or blocks) a request working on the same booking or listing.
 */

const BATCH = 500;
const iso = (v: string) => new Date(v);

/** Listings whose paid window ends within 2 days: one warning per listing and expiry (renewing re-arms it). */
export async function warnExpiringListings(db: Db, at: Date) {
  return db.transaction(async (tx) => {
    const res = await tx.execute<{ id: string; user_id: string; service: string; expires_at: string }>(sql`
      with due as (
        select ps.id, pp.user_id, sm.name as service, ps.expires_at
        from provider_services ps
        join provider_profiles pp on pp.id = ps.provider_id
        join services_master sm on sm.id = ps.service_id
        where ps.status = 'active'
          and ps.expires_at > ${at.toISOString()}::timestamptz
          and ps.expires_at <= ${at.toISOString()}::timestamptz + interval '2 days'
      ), claimed as (
        insert into sent_reminders (kind, subject_id, period, user_id)
        select 'listing_expiry_warning', id, to_json(expires_at)#>>'{}', user_id from due
        on conflict do nothing
        returning subject_id
      ), stamped as (
        -- Bookkeeping the provider's screens can read; invisible to customers (no cache bump).
        update provider_services ps set expiry_warning_sent_for = ps.expires_at
        from claimed where ps.id = claimed.subject_id
      )
      select due.id, due.user_id, due.service, to_json(due.expires_at)#>>'{}' as expires_at
      from due join claimed on claimed.subject_id = due.id`);
    const inputs: NotifyInput[] = res.rows.map((l) => ({
      userId: l.user_id,
      type: "service_expiry",
      title: "⚠️ Service Expiring Soon",
      message: `Your ${serviceLabel(l.service)} listing expires on ${formatDateIst(iso(l.expires_at))} at ${formatTimeIst(iso(l.expires_at))}. Renew it to keep receiving bookings.`,
      data: { type: "service_expiry_warning", providerServiceId: l.id, expiresAt: l.expires_at, screen: "services" },
      dedupKey: `listing_expiry_warning:${l.id}:${l.expires_at}`,
    }));
    const written = await notifyMany(tx, inputs);
    return { warned: res.rows.length, notified: written.length };
  });
}

/** active → expired once `expires_at` has passed, with a notification to the provider. */
export async function expireListings(db: Db, at: Date) {
  return db.transaction(async (tx) => {
    const res = await tx.execute<{ id: string; user_id: string; service: string; expires_at: string }>(sql`
      with expired as (
        update provider_services ps set status = 'expired'
        where ps.id in (
          select id from provider_services
          where status = 'active' and expires_at <= ${at.toISOString()}::timestamptz
          order by expires_at limit ${BATCH}
          for update skip locked
        )
        returning ps.id, ps.provider_id, ps.service_id, ps.expires_at
      )
      select e.id, pp.user_id, sm.name as service, to_json(e.expires_at)#>>'{}' as expires_at
      from expired e
      join provider_profiles pp on pp.id = e.provider_id
      join services_master sm on sm.id = e.service_id`);
    const inputs: NotifyInput[] = res.rows.map((l) => ({
      userId: l.user_id,
      type: "service_expiry",
      title: "🔴 Service Expired",
      message: `Your ${serviceLabel(l.service)} listing expired on ${formatDateIst(iso(l.expires_at))} and is no longer shown to customers. Renew it to list it again.`,
      data: { type: "service_expired", providerServiceId: l.id, expiresAt: l.expires_at, screen: "services" },
      dedupKey: `listing_expired:${l.id}:${l.expires_at}`,
    }));
    const written = await notifyMany(tx, inputs);
    return { expired: res.rows.length, notified: written.length };
  });
}

/**
 * Labour access ending within 2 days with no later window (a renewal starts where the current one
 * ends, so a renewed user is not warned): one warning per access row.
 */
export async function warnExpiringLabourAccess(db: Db, at: Date) {
  return db.transaction(async (tx) => {
    const res = await tx.execute<{ id: string; user_id: string; expires_at: string }>(sql`
      with due as (
        select la.id, la.user_id, la.expires_at
        from labour_access la
        where la.expires_at > ${at.toISOString()}::timestamptz
          and la.expires_at <= ${at.toISOString()}::timestamptz + interval '2 days'
          and not exists (select 1 from labour_access later where later.user_id = la.user_id and later.expires_at > la.expires_at)
      ), claimed as (
        insert into sent_reminders (kind, subject_id, period, user_id)
        select 'labour_expiry_warning', id, to_json(expires_at)#>>'{}', user_id from due
        on conflict do nothing
        returning subject_id
      )
      select due.id, due.user_id, to_json(due.expires_at)#>>'{}' as expires_at
      from due join claimed on claimed.subject_id = due.id`);
    const inputs: NotifyInput[] = res.rows.map((a) => ({
      userId: a.user_id,
      type: "labour_access",
      title: "⏳ Labour Access Expiring Soon",
      message: `Your labour service access expires on ${formatDateIst(iso(a.expires_at))} at ${formatTimeIst(iso(a.expires_at))}. Renew to keep booking labourers.`,
      data: { type: "labour_access_expiring", labourAccessId: a.id, expiresAt: a.expires_at, screen: "home" },
      dedupKey: `labour_expiry_warning:${a.id}`,
    }));
    const written = await notifyMany(tx, inputs);
    return { warned: res.rows.length, notified: written.length };
  });
}

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
      const service = serviceLabel(b.service);
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
