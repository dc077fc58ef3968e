import { Hono } from "hono";
import { requireAuth } from "../http/auth";
import type { AppEnv } from "../http/context";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { MetricsData } from "./metrics-schemas";
import { operationalMetrics } from "./metrics-service";

/**
 * GET /api/monitoring/metrics: the operational numbers behind the alert conditions in
 * docs/operations.md (./metrics-service.ts). Kept apart from monitoring-routes.ts (the app's
 * monitoring screen) so the two can change independently.
 */
export const metricsRoutes = new Hono<AppEnv>();

metricsRoutes.get(
  "/metrics",
  describe({
    summary: "Payment success/failure rate, refund backlog, outbox and dead letters (live)",
    tags: ["monitoring"],
    response: MetricsData,
  }),
  requireAuth("admin"),
  async (c) => ok(c, await operationalMetrics(c.get("db").http)),
);
