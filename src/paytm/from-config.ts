import { createDb } from "../db/client";
import { paymentApiLogs } from "../db/schema";
import type { Config } from "../env";
import { createPaytmClient, type PaytmCallLog, type PaytmClient } from "./client";

type ApiLogRow = typeof paymentApiLogs.$inferInsert;

/**
 * The one way src/ builds a Paytm client: the merchant settings come from config, and every call
 * (each attempt, redacted by the client) becomes a `payment_api_logs` row about `subject`. `flush`
 * writes the rows collected so far after the operation, off the response path, on a database
 * handle of its own: the write may finish after the operation's handle has closed. A lost log
 * row never fails a payment or a refund.
 */
export function paytmClientFor(
  cfg: Config,
  ctx: { waitUntil(p: Promise<unknown>): void },
  subject: { orderId: string; refundId?: string },
): { client: PaytmClient; flush: () => void } {
  const logs: ApiLogRow[] = [];
  const client = createPaytmClient({
    mid: cfg.PAYTM_MID,
    merchantKey: cfg.PAYTM_MERCHANT_KEY,
    host: cfg.PAYTM_HOST,
    website: cfg.PAYTM_WEBSITE,
    timeoutMs: cfg.PAYTM_TIMEOUT_MS,
    log: (e: PaytmCallLog) =>
      logs.push({
        orderId: subject.orderId,
        refundId: subject.refundId,
        endpoint: e.endpoint,
        requestBody: (e.request ?? null) as Record<string, unknown> | null,
        responseStatus: e.httpStatus ?? null,
        responseBody: { outcome: e.outcome, attempt: e.attempt, resultStatus: e.resultStatus, resultCode: e.resultCode, body: e.response },
        latencyMs: Math.round(e.latencyMs),
        error: e.error ?? null,
      }),
  });
  const flush = () => {
    const rows = logs.splice(0);
    if (rows.length > 0)
      ctx.waitUntil(
        createDb(cfg)
          .http.insert(paymentApiLogs)
          .values(rows)
          .catch(() => undefined),
      );
  };
  return { client, flush };
}
