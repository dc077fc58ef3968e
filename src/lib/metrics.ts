import { redact, writeLine } from "./log";

/**
 * Log-derived metrics: one JSON line per event with a `metric` field, which Workers Logs (Query
 * Builder: filter `metric = "queue.dead_letter"`, group by/ sum `count`) and Logpush destinations can
 * aggregate without another binding. Field values pass the log redaction, so a caller cannot leak a
 * phone number or token through a metric. Names and their fields are listed in docs/operations.md.
 *
 *   payment.outcome   { purpose, outcome: "paid" | "failed" | "expired" | "pending", source }
 *   refund.outcome    { outcome: "completed" | "failed" | "needs_attention", source }
 *   queue.dead_letter { queue, count }
 *   (error rate comes from the per-request `msg: "request"` line's `status`, src/http/middleware.ts)
 */
export type MetricFields = Record<string, string | number | boolean | null | undefined>;

export function metric(name: string, fields: MetricFields = {}): void {
  writeLine("info", { level: "info", metric: name, time: new Date().toISOString(), ...(redact(fields) as MetricFields) });
}
