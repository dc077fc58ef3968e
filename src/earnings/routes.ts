import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { formatRupees, num } from "../catalogue/shape";
import { principalOf, requireAuth } from "../http/auth";
import type { AppEnv } from "../http/context";
import { describe } from "../http/meta";
import { ok } from "../http/respond";

/**
 * /api/earnings: provider earnings from customer bookings (display only; no payouts exist).
 * Days and months are India's; completion time is `completed_at`, stamped once by the booking
 * guard (upstream used `updated_at`, which later edits moved). Prices are the frozen
 * booking totals. Computed per request in one query, so there is no stale cache to invalidate.
 */
export const earningsRoutes = new Hono<AppEnv>();

earningsRoutes.get(
  "/",
  describe({ summary: "My earnings: today, this month, pending", tags: ["earnings"], access: "provider" }),
  requireAuth("provider"),
  async (c) => {
    const me = principalOf(c);
    const res = await c.get("db").http.execute(
      sql`with ist as (select date_trunc('day', now() at time zone 'Asia/Kolkata') at time zone 'Asia/Kolkata' as day_start,
                            date_trunc('month', now() at time zone 'Asia/Kolkata') at time zone 'Asia/Kolkata' as month_start)
        select coalesce(sum(b.total_price_paise) filter (where b.status = 'completed' and b.completed_at >= ist.day_start), 0)::bigint as today,
               coalesce(sum(b.total_price_paise) filter (where b.status = 'completed' and b.completed_at >= ist.month_start), 0)::bigint as month,
               coalesce(sum(b.total_price_paise) filter (where b.status in ('pending', 'accepted')), 0)::bigint as pending
          from ist
          left join provider_profiles pp on pp.user_id = ${me.userId}
          left join bookings b on b.provider_id = pp.id`,
    );
    const r = (res.rows[0] ?? {}) as Record<string, unknown>;
    return ok(c, {
      earnings: { today: formatRupees(num(r.today)), thisMonth: formatRupees(num(r.month)), pending: formatRupees(num(r.pending)) },
    });
  },
);
