import { and, asc, inArray, isNull, lte, or, sql } from "drizzle-orm";
import { createDb } from "../db/client";
import { paymentOrders } from "../db/schema";
import { loadConfig } from "../env";
import { paymentOrderStub } from "../lib/durable-objects";

/**
 * The completer (docs/payments.md §2.2): every two minutes, re-drive open orders whose next
 * check is due through their PaymentOrder Durable Object, so a payment whose callback never came
 * (or whose activation hit a database fault) still completes, and unpaid orders past their deadline
 * close. The DO alarms do the same per order; this catches lost alarms and Postgres-side retries.
 * Idempotent: a second run changes nothing the first did.
 */
export async function reconcileDueOrders(
  env: Env,
  opts: { limit?: number; concurrency?: number; onlyOrderIds?: string[] } = {},
): Promise<{ checked: number; outcomes: Record<string, number> }> {
  const db = createDb(loadConfig(env));
  const rows = await db.http
    .select({ paytmOrderId: paymentOrders.paytmOrderId })
    .from(paymentOrders)
    .where(
      and(
        inArray(paymentOrders.status, ["created", "pending"]),
        or(isNull(paymentOrders.nextCheckAt), lte(paymentOrders.nextCheckAt, sql`now()`)),
        opts.onlyOrderIds ? inArray(paymentOrders.paytmOrderId, opts.onlyOrderIds) : undefined,
      ),
    )
    .orderBy(asc(paymentOrders.nextCheckAt))
    .limit(opts.limit ?? 100);
  const outcomes: Record<string, number> = {};
  const queue = rows.map((r) => r.paytmOrderId);
  const worker = async () => {
    for (let id = queue.shift(); id; id = queue.shift()) {
      let kind: string;
      try {
        kind = (await paymentOrderStub(env, id).reconcile(id)).kind;
      } catch {
        kind = "error";
      }
      outcomes[kind] = (outcomes[kind] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, rows.length) }, worker));
  return { checked: rows.length, outcomes };
}
