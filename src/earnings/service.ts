import { sql } from "drizzle-orm";
import type { HttpDb } from "../db/client";
import { formatRupees, num } from "../lib/shape";
import type { EarningsData } from "./schemas";

/**
 * Provider earnings from customer bookings (display only; no payouts exist). Days and months are
 * India's; completion time is `completed_at`, stamped once by the booking guard (upstream used
 * `updated_at`, which later edits moved). Prices are the frozen booking totals. Computed per
 * request in one statement, so there is no stale cache to invalidate.
 */
export async function providerEarnings(db: HttpDb, providerUserId: string): Promise<EarningsData> {
  const res = await db.execute(
    sql`with ist as (select date_trunc('day', now() at time zone 'Asia/Kolkata') at time zone 'Asia/Kolkata' as day_start,
                          date_trunc('month', now() at time zone 'Asia/Kolkata') at time zone 'Asia/Kolkata' as month_start)
      select coalesce(sum(b.total_price_paise) filter (where b.status = 'completed' and b.completed_at >= ist.day_start), 0)::bigint as today,
             coalesce(sum(b.total_price_paise) filter (where b.status = 'completed' and b.completed_at >= ist.month_start), 0)::bigint as month,
             coalesce(sum(b.total_price_paise) filter (where b.status in ('pending', 'accepted')), 0)::bigint as pending
        from ist
        left join provider_profiles pp on pp.user_id = ${providerUserId}
        left join bookings b on b.provider_id = pp.id`,
  );
  const r = (res.rows[0] ?? {}) as Record<string, unknown>;
  return {
    earnings: { today: formatRupees(num(r.today)), thisMonth: formatRupees(num(r.month)), pending: formatRupees(num(r.pending)) },
  };
}
