/**
 * Refund fixtures: paid orders that exist both in Postgres and at the Paytm sandbox (so refund
 * apply succeeds), and sandbox/queue helpers. The sandbox is shared by every test file: nothing
 * here resets it; assertions use per-refId stats.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { expect, vi } from "vitest";
import worker from "../../src/index";
import { createPaytmClient } from "../../src/paytm/client";
import { api, config, type SeededUser, testDb } from "../harness";
import { injectFault, sandbox } from "../payments/support";

export { injectFault, sandbox };

export type PaidOrder = { id: string; paytmOrderId: string; txnId: string; amountPaise: number; userId: string };

/**
 * A paid order: created and paid at the sandbox (initiate + the tester's "pay" click), then
 * recorded in Postgres as paid with Paytm's TXNID. `activated` grants a labour window (or, for a
 * listing fee, the listing's window) like the payments capability would.
 */
export async function paidOrder(
  user: SeededUser,
  opts: {
    amountPaise?: number;
    activated?: boolean;
    purpose?: "labour_access" | "listing_fee";
    providerServiceId?: string;
    paidAgo?: string;
  } = {},
): Promise<PaidOrder> {
  const cfg = config();
  const amountPaise = opts.amountPaise ?? 9900;
  const paytmOrderId = `RFTEST_${crypto.randomUUID().replace(/-/g, "").slice(0, 24).toUpperCase()}`;
  const client = createPaytmClient({
    mid: cfg.PAYTM_MID,
    merchantKey: cfg.PAYTM_MERCHANT_KEY,
    host: cfg.PAYTM_HOST,
    website: cfg.PAYTM_WEBSITE,
  });
  const init = await client.initiateTransaction({
    orderId: paytmOrderId,
    amountPaise,
    customerId: user.id,
    callbackUrl: "http://127.0.0.1:8787/api/payments/paytm-callback",
  });
  if (!init.ok) throw new Error(`sandbox initiate failed: ${JSON.stringify(init)}`);
  const form = await sandbox<{ fields: Record<string, string> }>("POST", `/__sandbox/orders/${paytmOrderId}/pay`, { outcome: "success" });
  const txnId = form.fields.TXNID!;
  const purpose = opts.purpose ?? "labour_access";
  const activated = opts.activated ?? true;
  const ago = opts.paidAgo ?? "0 seconds";
  const db = testDb();
  const { rows } = await db.http.execute<{ id: string }>(sql`
    insert into payment_orders (paytm_order_id, user_id, purpose, provider_service_id, amount_paise, validity_days, status, expires_at,
                                gateway_txn_id, paid_at, activated_at, granted_from, granted_until)
    values (${paytmOrderId}, ${user.id}, ${purpose}, ${opts.providerServiceId ?? null}, ${amountPaise}, ${purpose === "labour_access" ? 7 : 30},
            'paid', now() + interval '20 minutes', ${txnId}, now() - ${ago}::interval,
            ${activated ? sql`now() - ${ago}::interval` : sql`null`},
            ${activated ? sql`now() - ${ago}::interval` : sql`null`},
            ${activated ? sql`now() - ${ago}::interval + interval '7 days'` : sql`null`})
    returning id`);
  const id = rows[0]!.id;
  if (activated && purpose === "labour_access") {
    await db.http.execute(
      sql`insert into labour_access (user_id, order_id, starts_at, expires_at) select user_id, id, granted_from, granted_until from payment_orders where id = ${id}`,
    );
  }
  return { id, paytmOrderId, txnId, amountPaise, userId: user.id };
}

/** An order that was never paid (Paytm never confirmed it). */
export async function unpaidOrder(user: SeededUser): Promise<string> {
  const paytmOrderId = `RFTEST_${crypto.randomUUID().replace(/-/g, "").slice(0, 24).toUpperCase()}`;
  await testDb().http.execute(sql`
    insert into payment_orders (paytm_order_id, user_id, purpose, amount_paise, validity_days, status, expires_at)
    values (${paytmOrderId}, ${user.id}, 'labour_access', 9900, 7, 'pending', now() + interval '20 minutes')`);
  return paytmOrderId;
}

export const requestRefund = (token: string, body: Record<string, unknown>) => api("POST", "/api/payments/refund", { token, body });

export type RefundDbRow = {
  id: string;
  ref_id: string;
  status: string;
  amount_paise: number;
  attempt_count: number;
  initiated_at: string | null;
  completed_at: string | null;
  paytm_refund_id: string | null;
  failure_reason: string | null;
};

export async function refundRows(orderUuid: string): Promise<RefundDbRow[]> {
  const { rows } = await testDb().http.execute<RefundDbRow>(sql`select * from refunds where order_id = ${orderUuid} order by created_at`);
  return rows;
}

export async function refundRow(refundId: string): Promise<RefundDbRow> {
  const { rows } = await testDb().http.execute<RefundDbRow>(sql`select * from refunds where id = ${refundId}`);
  return rows[0]!;
}

export async function orderLedger(orderUuid: string) {
  const { rows } = await testDb().http.execute<{ refunded_amount_paise: number; refunds_open_paise: number; status: string }>(
    sql`select refunded_amount_paise, refunds_open_paise, status from payment_orders where id = ${orderUuid}`,
  );
  return rows[0]!;
}

/**
 * The first delivery of this order's refund learns nothing: the apply is answered 503 without
 * taking effect, and the three status reads that follow are 503 too.
 */
export async function firstRefundDeliveryUnanswered(paytmOrderId: string): Promise<void> {
  await injectFault({ endpoint: "refundApply", orderId: paytmOrderId, mode: "http_503", applied: false, count: 1 });
  await injectFault({ endpoint: "refundStatus", orderId: paytmOrderId, mode: "http_503", count: 3 });
}

/** Paytm-side calls for one refId (exact: the sandbox counts before anything can fail). */
export async function paytmCalls(refId: string): Promise<{ refundApply: number; refundStatus: number }> {
  const s = await sandbox<{ callsByRefId: Record<string, Record<string, number>> }>("GET", "/__sandbox/stats");
  const c = s.callsByRefId[refId] ?? {};
  return { refundApply: c.refundApply ?? 0, refundStatus: c.refundStatus ?? 0 };
}

/** The refund as the sandbox (Paytm) holds it, or null when Paytm has none for this refId. */
export async function paytmRefund(refId: string): Promise<{ status: string; amountPaise: number } | null> {
  const res = await fetch(`${config().PAYTM_HOST}/__sandbox/refunds/${refId}`);
  if (res.status === 404) return null;
  return (await res.json()) as { status: string; amountPaise: number };
}

export async function waitForStatus(refundId: string, status: string, timeout = 10_000): Promise<RefundDbRow> {
  return vi.waitFor(
    async () => {
      const r = await refundRow(refundId);
      expect(r.status).toBe(status);
      return r;
    },
    { timeout, interval: 100 },
  );
}

/** Delivers a batch of queue messages to the worker's queue handler, as Cloudflare would. */
export async function deliver(queue: "refunds" | "refunds-dlq", bodies: unknown[], attempts = 1) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body, i) => ({ id: `rf${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue!(batch, env, ctx);
  await waitOnExecutionContext(ctx);
  return getQueueResult(batch, ctx);
}

/** Let Paytm settle the refund now (refund outcome preset is applied at apply time; this completes a pending one). */
export const completeAtPaytm = (refId: string, outcome: "success" | "failure" = "success") =>
  sandbox("POST", `/__sandbox/refunds/${refId}/complete`, { outcome });

/**
 * Paytm settles an accepted refund now instead of after the sandbox's refund delay (~1 s), as it
 * preset (success unless the test set another outcome). 409: it had already settled (a slow run).
 */
export async function settleAtPaytm(refId: string): Promise<void> {
  await sandbox("POST", `/__sandbox/refunds/${refId}/complete`, {}).catch((err: Error) => {
    if (!/: 409 /.test(err.message)) throw err;
  });
}

type Webhook = { id: number; kind: string; refId?: string; status: string; contentType: string; body: string };

/** The refund webhook the sandbox queued for this refId (no webhook URL is configured in tests). */
export async function refundWebhook(refId: string): Promise<Webhook> {
  return vi.waitFor(
    async () => {
      await sandbox("POST", "/__sandbox/tick");
      const w = await sandbox<{ pending: Webhook[] }>("GET", "/__sandbox/webhooks");
      const hook = w.pending.find((x) => x.kind === "refund" && x.refId === refId);
      expect(hook).toBeDefined();
      return hook!;
    },
    { timeout: 5_000, interval: 100 },
  );
}

export const postRefundWebhook = (w: { body: string; contentType: string }) =>
  api("POST", "/api/payments/paytm-refund-webhook", { rawBody: w.body, headers: { "content-type": w.contentType } });

/** A provider's active listing whose paid window ends when `order` (to be created for it) ends: 7 days from now. */
export async function activeListing(provider: SeededUser): Promise<string> {
  const db = testDb();
  const slug = `refund-test-${crypto.randomUUID().slice(0, 8)}`;
  const { rows: svc } = await db.http.execute<{ id: string }>(
    sql`insert into services_master (name, is_paid, listing_fee_paise, listing_validity_days, is_active) values (${slug}, true, 9900, 30, false) returning id`,
  );
  await db.http.execute(sql`insert into provider_profiles (user_id) values (${provider.id}) on conflict (user_id) do nothing`);
  const { rows } = await db.http.execute<{ id: string }>(sql`
    insert into provider_services (provider_id, service_id, status, activated_at, expires_at)
    select id, ${svc[0]!.id}, 'active', now() - interval '1 minute', now() + interval '7 days' from provider_profiles where user_id = ${provider.id}
    returning id`);
  return rows[0]!.id;
}
