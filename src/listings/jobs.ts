import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { formatDateIst, formatTimeIst } from "../notifications/format";
import { type NotifyInput, notifyMany } from "../outbox/outbox";
import { categoryLabel } from "./categories";

/**
 * A listing's time-driven changes (cron, src/jobs/schedule.ts): the warning before its paid window
 * ends and the expiry after. Each runs in one transaction: the change (or the `sent_reminders` claim)
 * and the notifications it causes commit together, so re-running finds nothing left to do and sends
 * nothing twice. Rows are taken with SKIP LOCKED and in bounded batches, so a job never waits on (or
 * blocks) a request working on the same listing.
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
      message: `Your ${categoryLabel(l.service)} listing expires on ${formatDateIst(iso(l.expires_at))} at ${formatTimeIst(iso(l.expires_at))}. Renew it to keep receiving bookings.`,
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
      message: `Your ${categoryLabel(l.service)} listing expired on ${formatDateIst(iso(l.expires_at))} and is no longer shown to customers. Renew it to list it again.`,
      data: { type: "service_expired", providerServiceId: l.id, expiresAt: l.expires_at, screen: "services" },
      dedupKey: `listing_expired:${l.id}:${l.expires_at}`,
    }));
    const written = await notifyMany(tx, inputs);
    return { expired: res.rows.length, notified: written.length };
  });
}
