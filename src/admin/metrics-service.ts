import { sql } from "drizzle-orm";
import type { HttpDb } from "../db/client";
import type { MetricsData } from "./metrics-schemas";

/**
 * The operational numbers behind the alert conditions in docs/operations.md, computed now from the
 * system of record in one statement. Request error rate is not here: it is a Workers Logs query over
 * the per-request log line.
 */

const int = (v: unknown) => Number(v ?? 0);
const rate = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : 0);

export async function operationalMetrics(db: HttpDb): Promise<MetricsData> {
  const { rows } = await db.execute(sql`select
      (select count(*)::int from payment_orders where paid_at > now() - interval '1 hour') as paid_1h,
      (select count(*)::int from payment_orders where status = 'failed' and failed_at > now() - interval '1 hour') as failed_1h,
      (select count(*)::int from payment_orders where status = 'expired' and updated_at > now() - interval '1 hour') as expired_1h,
      (select count(*)::int from payment_orders where status in ('created', 'pending') and expires_at > now()) as open_now,
      (select count(*)::int from payment_orders where status in ('created', 'pending') and expires_at < now() - interval '15 minutes') as stuck,
      (select count(*)::int from payment_orders where status = 'paid' and activated_at is null) as paid_not_activated,
      (select count(*)::int from refunds where status in ('pending', 'processing')) as refunds_open,
      (select count(*)::int from refunds where status in ('pending', 'processing') and created_at < now() - interval '24 hours') as refunds_overdue,
      (select count(*)::int from refunds where status = 'needs_attention') as refunds_attention,
      (select count(*)::int from refunds where status = 'failed' and updated_at > now() - interval '24 hours') as refunds_failed_24h,
      (select count(*)::int from outbox where dispatched_at is null) as outbox_backlog,
      (select count(*)::int from outbox where dispatched_at is null and created_at < now() - interval '5 minutes') as outbox_stuck,
      (select count(*)::int from security_events where event_type like '%dead_letter%' and created_at > now() - interval '24 hours') as dead_letters_24h,
      (select count(*)::int from push_deliveries where error_code = 'DeadLettered' and updated_at > now() - interval '24 hours') as push_dead_letters_24h,
      to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as at`);
  const r = (rows[0] ?? {}) as Record<string, unknown>;
  const paid = int(r.paid_1h);
  const failed = int(r.failed_1h);
  return {
    at: String(r.at),
    payments: {
      windowMinutes: 60,
      paid,
      failed,
      expired: int(r.expired_1h),
      successRate: rate(paid, paid + failed),
      failureRate: rate(failed, paid + failed),
      openNow: int(r.open_now),
      stuck: int(r.stuck),
      paidNotActivated: int(r.paid_not_activated),
    },
    refunds: {
      open: int(r.refunds_open),
      overdue24h: int(r.refunds_overdue),
      needsAttention: int(r.refunds_attention),
      failed24h: int(r.refunds_failed_24h),
    },
    outbox: { backlog: int(r.outbox_backlog), stuck: int(r.outbox_stuck) },
    deadLetters: { last24h: int(r.dead_letters_24h), pushLast24h: int(r.push_dead_letters_24h) },
  };
}
