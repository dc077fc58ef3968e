import { z } from "zod";

/** Response shape of GET /api/monitoring/metrics (metrics-routes.ts): counts, and rates in [0, 1]. */
export const MetricsData = z.object({
  /** When the numbers were read (the database's clock). */
  at: z.iso.datetime(),
  payments: z.object({
    windowMinutes: z.int(),
    paid: z.int(),
    failed: z.int(),
    expired: z.int(),
    successRate: z.number(),
    failureRate: z.number(),
    openNow: z.int(),
    stuck: z.int(),
    paidNotActivated: z.int(),
  }),
  refunds: z.object({ open: z.int(), overdue24h: z.int(), needsAttention: z.int(), failed24h: z.int() }),
  outbox: z.object({ backlog: z.int(), stuck: z.int() }),
  deadLetters: z.object({ last24h: z.int(), pushLast24h: z.int() }),
});
export type MetricsData = z.infer<typeof MetricsData>;
