import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { requireAuth } from "../http/auth";
import type { AppEnv } from "../http/context";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { query } from "../http/validate";
import { isoSql, num } from "../lib/shape";

/**
 * /api/monitoring: operational status and alerts for admins (the provider app's monitoring screen).
 * A Worker has no process to sample, so upstream's in-memory request metrics have no equivalent here
 * (request counts and latencies live in Workers observability); what this reports is measured now:
 * database latency and the backlogs that mean something is stuck (outbox, unpaid orders past their
 * deadline, refunds needing attention). Numbers the app shows as text are strings, as upstream sent.
 */
export const monitoringRoutes = new Hono<AppEnv>();

const tags = ["monitoring"];
const admin = requireAuth("admin");
const isolateStartedAt = Date.now();

const MonitoringStatus = z.object({
  status: z.enum(["healthy", "degraded", "unhealthy"]),
  score: z.number().int(),
  uptime: z.number().int().describe("seconds this isolate has run"),
  requests: z.object({ total: z.number(), errors: z.number(), errorRate: z.string() }),
  performance: z.object({ averageResponseTime: z.string(), p95ResponseTime: z.string() }),
  system: z.object({ memoryUsage: z.string(), databasePoolUsage: z.string() }),
  database: z.object({ status: z.literal("ok"), responseTime: z.number() }),
  backlogs: z.object({
    outboxUndispatched: z.number().int(),
    outboxStuck: z.number().int(),
    overduePaymentOrders: z.number().int(),
    refundsNeedingAttention: z.number().int(),
    openReports: z.number().int(),
  }),
  notes: z.string(),
  timestamp: z.string(),
});
const Alert = z.object({
  type: z.string(),
  severity: z.enum(["info", "warning", "critical"]),
  timestamp: z.string(),
  data: z.record(z.string(), z.number()),
});
const Alerts = z.object({ alerts: z.array(Alert), count: z.number().int() });

type Health = {
  dbMs: number;
  outboxBacklog: number;
  outboxStuck: number;
  overdueOrders: number;
  refundsAttention: number;
  openReports: number;
  checkedAt: string;
};

async function measure(db: AppEnv["Variables"]["db"]["http"]): Promise<Health> {
  const started = Date.now();
  const res = await db.execute(
    sql`select
          (select count(*)::int from outbox where dispatched_at is null) as outbox_backlog,
          (select count(*)::int from outbox where dispatched_at is null and created_at < now() - interval '5 minutes') as outbox_stuck,
          (select count(*)::int from payment_orders where status in ('created', 'pending') and expires_at < now() - interval '15 minutes') as overdue_orders,
          (select count(*)::int from refunds where status = 'needs_attention') as refunds_attention,
          (select count(*)::int from user_reports_providers where status = 'open') + (select count(*)::int from provider_reports_users where status = 'open') as open_reports,
          ${isoSql(sql`now()`)} as checked_at`,
  );
  const r = (res.rows[0] ?? {}) as Record<string, unknown>;
  return {
    dbMs: Date.now() - started,
    outboxBacklog: num(r.outbox_backlog),
    outboxStuck: num(r.outbox_stuck),
    overdueOrders: num(r.overdue_orders),
    refundsAttention: num(r.refunds_attention),
    openReports: num(r.open_reports),
    checkedAt: String(r.checked_at),
  };
}

monitoringRoutes.get("/status", describe({ summary: "Service status summary", tags, response: MonitoringStatus }), admin, async (c) => {
  const h = await measure(c.get("db").http);
  let score = 100;
  if (h.dbMs > 500) score -= 30;
  else if (h.dbMs > 200) score -= 10;
  if (h.outboxStuck > 0) score -= 30;
  if (h.overdueOrders > 0) score -= 10;
  if (h.refundsAttention > 0) score -= 10;
  score = Math.max(0, score);
  return ok(c, {
    status: score >= 80 ? "healthy" : score >= 50 ? "degraded" : "unhealthy",
    score,
    uptime: Math.round((Date.now() - isolateStartedAt) / 1000),
    requests: { total: 0, errors: 0, errorRate: "0.00" },
    performance: { averageResponseTime: String(h.dbMs), p95ResponseTime: String(h.dbMs) },
    system: { memoryUsage: "0.00", databasePoolUsage: "0.00" },
    database: { status: "ok", responseTime: h.dbMs },
    backlogs: {
      outboxUndispatched: h.outboxBacklog,
      outboxStuck: h.outboxStuck,
      overduePaymentOrders: h.overdueOrders,
      refundsNeedingAttention: h.refundsAttention,
      openReports: h.openReports,
    },
    notes: "Request counts and latencies are in Workers observability; this endpoint measures the database and backlogs.",
    timestamp: h.checkedAt,
  });
});

monitoringRoutes.get(
  "/alerts",
  describe({ summary: "Current alerts (derived from live backlogs)", tags, response: Alerts }),
  admin,
  query(z.object({ limit: z.coerce.number().int().min(1).max(100).default(10) })),
  async (c) => {
    const h = await measure(c.get("db").http);
    const alerts: z.input<typeof Alert>[] = [];
    const at = h.checkedAt;
    if (h.outboxStuck > 0)
      alerts.push({
        type: "outbox_backlog",
        severity: "critical",
        timestamp: at,
        data: { stuck: h.outboxStuck, undispatched: h.outboxBacklog },
      });
    if (h.refundsAttention > 0)
      alerts.push({ type: "refunds_need_attention", severity: "critical", timestamp: at, data: { count: h.refundsAttention } });
    if (h.overdueOrders > 0)
      alerts.push({ type: "payment_orders_unreconciled", severity: "warning", timestamp: at, data: { count: h.overdueOrders } });
    if (h.dbMs > 500) alerts.push({ type: "database_slow", severity: "warning", timestamp: at, data: { responseTimeMs: h.dbMs } });
    if (h.openReports > 0) alerts.push({ type: "open_reports", severity: "info", timestamp: at, data: { count: h.openReports } });
    const limited = alerts.slice(0, c.req.valid("query").limit);
    return ok(c, { alerts: limited, count: limited.length });
  },
);
