/**
 * Refunds end to end on the real stack: API → PaymentOrder DO → refunds queue (the real miniflare
 * consumer, plus hand-delivered batches) → Paytm sandbox → webhook / cron poll → ledger.
 * Faults are injected for one order only (the sandbox is shared by every test file).
 */
import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { pollRefunds, requestAutomaticRefund } from "../../src/refunds/jobs";
import { api, seedUser, testDb } from "../harness";
import {
  activeListing,
  deliver,
  firstRefundDeliveryUnanswered,
  injectFault,
  orderLedger,
  paidOrder,
  paytmCalls,
  paytmRefund,
  postRefundWebhook,
  refundRow,
  refundRows,
  refundWebhook,
  requestRefund,
  sandbox,
  settleAtPaytm,
  unpaidOrder,
  waitForStatus,
} from "./support";

const db = () => testDb().http;

/** Make a processing refund due for the cron poll now, then run the poll for it only. */
async function pollNow(refundId: string) {
  await db().execute(sql`update refunds set next_check_at = now() - interval '1 second' where id = ${refundId}`);
  return pollRefunds(env, { onlyRefundIds: [refundId] });
}

describe("refund story: customer pays, admin refunds, Paytm completes", () => {
  it("full refund: one apply, processing, webhook completes it, ledger and labour access follow, replay is a no-op", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const order = await paidOrder(customer, { activated: true });

    const res = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "service_cancelled" });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ status: "pending", amountPaise: 9900, amount: 99, orderId: order.paytmOrderId });
    const refundId = res.body.data.id as string;
    const refId = res.body.data.refId as string;
    expect(refId).toMatch(/^[A-Z0-9]{1,50}$/);

    // The real queue consumer registers it at Paytm.
    const processing = await waitForStatus(refundId, "processing");
    expect(processing.initiated_at).not.toBeNull();
    expect(processing.paytm_refund_id).toBeTruthy();
    expect(await orderLedger(order.id)).toMatchObject({ refunded_amount_paise: 0, refunds_open_paise: 9900, status: "paid" });

    await settleAtPaytm(refId);
    const hook = await refundWebhook(refId);
    const w = await postRefundWebhook(hook);
    expect(w.status).toBe(200);
    expect(w.body.data).toMatchObject({ refundStatus: "completed", duplicate: false });

    const done = await refundRow(refundId);
    expect(done.status).toBe("completed");
    expect(done.completed_at).not.toBeNull();
    expect(await orderLedger(order.id)).toMatchObject({ refunded_amount_paise: 9900, refunds_open_paise: 0, status: "paid" });
    expect(await paytmCalls(refId)).toMatchObject({ refundApply: 1 });
    expect(await paytmRefund(refId)).toMatchObject({ status: "TXN_SUCCESS", amountPaise: 9900 });

    // Full refund: the labour window this order bought is gone, and that is recorded.
    const { rows: access } = await db().execute(sql`select 1 from labour_access where order_id = ${order.id}`);
    expect(access).toHaveLength(0);
    const { rows: revoked } = await db().execute(
      sql`select 1 from payment_events where order_id = ${order.id} and event_type = 'access_revoked'`,
    );
    expect(revoked).toHaveLength(1);

    // Customer told in-app (and push via the outbox) at initiation and completion, once each.
    const { rows: notes } = await db().execute<{ title: string }>(
      sql`select title from notifications where user_id = ${customer.id} order by created_at`,
    );
    expect(notes.map((n) => n.title)).toEqual(["Refund initiated", "Refund completed"]);
    const { rows: pushes } = await db().execute(
      sql`select 1 from outbox where topic = 'push.send' and payload->>'userId' = ${customer.id}`,
    );
    expect(pushes).toHaveLength(2);

    // Paytm redelivers the webhook: acknowledged, nothing changes.
    const again = await postRefundWebhook(hook);
    expect(again.status).toBe(200);
    expect(again.body.data).toMatchObject({ duplicate: true, refundStatus: "completed" });
    const { rows: notes2 } = await db().execute(sql`select 1 from notifications where user_id = ${customer.id}`);
    expect(notes2).toHaveLength(2);

    // What the payer and the admin read.
    const mine = await api("GET", `/api/payments/orders/${order.paytmOrderId}/refunds`, { token: customer.token });
    expect(mine.status).toBe(200);
    expect(mine.body.data).toMatchObject({ refundedAmountPaise: 9900, refundablePaise: 0, fullyRefunded: true });
    expect(mine.body.data.refunds).toHaveLength(1);
    const one = await api("GET", `/api/payments/refunds/${refundId}`, { token: customer.token });
    expect(one.body.data).toMatchObject({ status: "completed", refId });
    const list = await api("GET", `/api/payments/admin/refunds?orderId=${order.paytmOrderId}&status=completed`, { token: admin.token });
    expect(list.status).toBe(200);
    expect(list.body.data.refunds.map((r: { id: string }) => r.id)).toEqual([refundId]);
  });

  it("partial refunds by an admin add up, and the cron poll completes them when no webhook arrives", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const order = await paidOrder(customer, { amountPaise: 20000 });
    const a = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "goodwill credit", amount: 50.5 });
    expect(a.status).toBe(201);
    expect(a.body.data.amountPaise).toBe(5050);
    await waitForStatus(a.body.data.id, "processing");
    // Paytm settles it (the sandbox would on its own after ~1 s) and sends no webhook; the poll reads it.
    await settleAtPaytm(a.body.data.refId);
    const polled = await pollNow(a.body.data.id);
    expect(polled.polled).toBe(1);
    expect((await refundRow(a.body.data.id)).status).toBe("completed");
    expect(await orderLedger(order.id)).toMatchObject({ refunded_amount_paise: 5050, refunds_open_paise: 0 });
    // Partial: access stays.
    const { rows: access } = await db().execute(sql`select 1 from labour_access where order_id = ${order.id}`);
    expect(access).toHaveLength(1);
  });
});

describe("one refund webhook flow behind Paytm's two webhook URLs", () => {
  it("a refund notice sent to the payment webhook URL completes the refund; its redelivery to the refund URL is a duplicate", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const order = await paidOrder(customer);
    const res = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "webhook url check" });
    const refundId = res.body.data.id as string;
    await waitForStatus(refundId, "processing");
    const hook = await refundWebhook(res.body.data.refId);

    const first = await api("POST", "/api/payments/paytm-webhook", { rawBody: hook.body, headers: { "content-type": hook.contentType } });
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ refundStatus: "completed", duplicate: false });
    expect((await refundRow(refundId)).status).toBe("completed");
    expect(await orderLedger(order.id)).toMatchObject({ refunded_amount_paise: 9900, refunds_open_paise: 0 });

    const again = await postRefundWebhook(hook);
    expect(again.status).toBe(200);
    expect(again.body.data).toMatchObject({ refundStatus: "completed", duplicate: true });
    const { rows } = await db().execute(
      sql`select 1 from payment_events where refund_id = ${refundId} and event_type = 'refund_webhook_received'`,
    );
    expect(rows).toHaveLength(1);
  });
});

describe("revocation and automatic refunds", () => {
  it("a full refund of a listing fee takes the paid window back: the listing expires", async () => {
    const provider = await seedUser("provider");
    const admin = await seedUser("admin");
    const listingId = await activeListing(provider);
    const order = await paidOrder(provider, { purpose: "listing_fee", providerServiceId: listingId });
    const res = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "listing rejected by admin" });
    expect(res.status).toBe(201);
    await waitForStatus(res.body.data.id, "processing");
    // Still live while the money is on its way back.
    const { rows: before } = await db().execute<{ status: string }>(sql`select status from provider_services where id = ${listingId}`);
    expect(before[0]!.status).toBe("active");
    await settleAtPaytm(res.body.data.refId);
    await postRefundWebhook(await refundWebhook(res.body.data.refId));
    expect((await refundRow(res.body.data.id)).status).toBe("completed");
    const { rows } = await db().execute<{ status: string; live: boolean }>(
      sql`select status, expires_at <= now() + interval '1 minute' as live from provider_services where id = ${listingId}`,
    );
    expect(rows[0]).toEqual({ status: "expired", live: true });
    const { rows: notes } = await db().execute<{ message: string }>(
      sql`select message from notifications where user_id = ${provider.id} and title = 'Refund completed'`,
    );
    expect(notes[0]!.message).toMatch(/listing time this payment bought was withdrawn/);
  });

  it("the payer may refund a listing they cancelled within the window, not after it", async () => {
    const provider = await seedUser("provider");
    const listingId = await activeListing(provider);
    const recent = await paidOrder(provider, { purpose: "listing_fee", providerServiceId: listingId, paidAgo: "2 days" });
    const old = await paidOrder(provider, { purpose: "listing_fee", providerServiceId: listingId, paidAgo: "9 days" });
    await db().execute(sql`update provider_services set status = 'deleted', deleted_at = now() where id = ${listingId}`);
    const late = await requestRefund(provider.token, { orderId: old.paytmOrderId, reason: "service_cancelled" });
    expect(late.status).toBe(403);
    const ok = await requestRefund(provider.token, { orderId: recent.paytmOrderId, reason: "service_cancelled" });
    expect(ok.status).toBe(201);
    await waitForStatus(ok.body.data.id, "processing");
  });

  it("money taken for something undeliverable is refunded automatically, once", async () => {
    const customer = await seedUser("user");
    const order = await paidOrder(customer, { activated: false, paidAgo: "11 minutes" });
    await db().execute(sql`
      insert into payment_events (order_id, source, event_type, dedup_key, payload)
      values (${order.id}, 'system', 'activation_skipped_listing_deleted', ${`activated:${order.paytmOrderId}`}, '{}')`);
    const swept = await pollRefunds(env);
    expect(swept.automatic).toBeGreaterThanOrEqual(1);
    const rows = await refundRows(order.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ amount_paise: 9900 });
    // The payments capability (or a second sweep) asking again gets the same refund.
    const again = await requestAutomaticRefund(env, { paytmOrderId: order.paytmOrderId, reason: "listing_deleted" });
    expect(again).toMatchObject({ ok: true, created: false });
    await pollRefunds(env);
    expect(await refundRows(order.id)).toHaveLength(1);
    const r = await waitForStatus(rows[0]!.id, "processing");
    expect(await paytmCalls(r.ref_id)).toMatchObject({ refundApply: 1 });
  });
});

describe("refund failure at Paytm", () => {
  it("Paytm rejects the refund: failed, amount freed, customer and admins told; a new request gets a new refId", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const order = await paidOrder(customer);
    // Keep the first delivery from reaching Paytm, so the failure preset is in place before the apply.
    await firstRefundDeliveryUnanswered(order.paytmOrderId);
    const res = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "will be rejected" });
    const refundId = res.body.data.id as string;
    const refId = res.body.data.refId as string;
    await sandbox("POST", `/__sandbox/refunds/${refId}/outcome`, { outcome: "failure", delayMs: 0, reason: "Insufficient balance" });
    await vi_waitFor(async () => expect((await paytmCalls(refId)).refundStatus).toBeGreaterThanOrEqual(3));
    await deliver("refunds", [{ refundId }], 2);
    expect((await refundRow(refundId)).status).toBe("processing");
    await pollNow(refundId);
    const failed = await refundRow(refundId);
    expect(failed.status).toBe("failed");
    expect(await orderLedger(order.id)).toMatchObject({ refunded_amount_paise: 0, refunds_open_paise: 0 });
    const { rows: told } = await db().execute<{ user_id: string }>(
      sql`select user_id from notifications where data->>'refundId' = ${refundId} and title in ('Refund failed', 'Refund could not be processed')`,
    );
    expect(told.map((t) => t.user_id)).toEqual(expect.arrayContaining([customer.id, admin.id]));
    // A late SUCCESS-looking replay cannot resurrect it; a fresh request is a new refund with a new refId.
    const again = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "second try" });
    expect(again.status).toBe(201);
    expect(again.body.data.refId).not.toBe(refId);
    expect(await refundRows(order.id)).toHaveLength(2);
    await waitForStatus(again.body.data.id, "processing");
  });
});

describe("refund errors and bad input", () => {
  it("a refund above the paid amount is 400 and creates nothing; cumulative refunds are capped too", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const order = await paidOrder(customer, { amountPaise: 9900 });
    const over = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "too much", amountPaise: 9901 });
    expect(over.status).toBe(400);
    expect(over.body).toMatchObject({ status: "error", errorCode: "REFUND_AMOUNT_EXCEEDED" });
    expect(await refundRows(order.id)).toHaveLength(0);

    const first = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "first part", amountPaise: 6000 });
    expect(first.status).toBe(201);
    const second = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "second part", amountPaise: 4000 });
    expect(second.status).toBe(400);
    expect(second.body.errorCode).toBe("REFUND_AMOUNT_EXCEEDED");
    expect(second.body.refundablePaise).toBe(3900);
    expect(await refundRows(order.id)).toHaveLength(1);
    expect(await orderLedger(order.id)).toMatchObject({ refunds_open_paise: 6000 });
  });

  it("bad input is 400 without touching anything", async () => {
    const admin = await seedUser("admin");
    for (const bad of [
      {},
      { orderId: "x", reason: "" },
      { orderId: "ORDER 1", reason: "nope" },
      { orderId: "ORDER_1", reason: "ok reason", amount: -5 },
      { orderId: "ORDER_1", reason: "ok reason", amount: 1.234 },
    ]) {
      const r = await requestRefund(admin.token, bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.errorCode).toBe("VALIDATION_ERROR");
    }
    const missing = await requestRefund(admin.token, { orderId: "ORDER_DOES_NOT_EXIST_1", reason: "missing" });
    expect(missing.status).toBe(404);
    const badId = await api("GET", "/api/payments/refunds/not-a-uuid", { token: admin.token });
    expect(badId.status).toBe(400);
  });
});

describe("refund security and policy", () => {
  it("refuses an unpaid order, another user's order, and a delivered order for the payer; allows the payer an undelivered one", async () => {
    const alice = await seedUser("user");
    const mallory = await seedUser("user");
    const admin = await seedUser("admin");

    const unpaid = await unpaidOrder(alice);
    const u1 = await requestRefund(admin.token, { orderId: unpaid, reason: "not paid" });
    expect(u1.status).toBe(400);
    expect(u1.body.errorCode).toBe("ORDER_NOT_PAID");
    const u2 = await requestRefund(alice.token, { orderId: unpaid, reason: "not paid" });
    expect(u2.status).toBe(400);

    const delivered = await paidOrder(alice, { activated: true });
    const other = await requestRefund(mallory.token, { orderId: delivered.paytmOrderId, reason: "give me money" });
    expect(other.status).toBe(404);
    const peek = await api("GET", `/api/payments/orders/${delivered.paytmOrderId}/refunds`, { token: mallory.token });
    expect(peek.status).toBe(404);
    const self = await requestRefund(alice.token, { orderId: delivered.paytmOrderId, reason: "changed my mind" });
    expect(self.status).toBe(403);
    expect(self.body.errorCode).toBe("REFUND_NOT_ALLOWED");
    expect(await refundRows(delivered.id)).toHaveLength(0);

    const undelivered = await paidOrder(alice, { activated: false });
    const partial = await requestRefund(alice.token, { orderId: undelivered.paytmOrderId, reason: "never activated", amountPaise: 100 });
    expect(partial.status).toBe(403);
    const ok = await requestRefund(alice.token, { orderId: undelivered.paytmOrderId, reason: "never activated" });
    expect(ok.status).toBe(201);
    expect(ok.body.data.amountPaise).toBe(undelivered.amountPaise);
    const theirs = await api("GET", `/api/payments/refunds/${ok.body.data.id}`, { token: mallory.token });
    expect(theirs.status).toBe(404);
    const notAdmin = await api("GET", "/api/payments/admin/refunds", { token: alice.token });
    expect(notAdmin.status).toBe(403);
    await waitForStatus(ok.body.data.id, "processing");
  });

  it("a forged refund webhook is 401, recorded, and changes nothing", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const order = await paidOrder(customer);
    const res = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "forgery check" });
    const refundId = res.body.data.id as string;
    const refId = res.body.data.refId as string;
    await waitForStatus(refundId, "processing");
    const body = { orderId: order.paytmOrderId, refId, refundAmount: "99.00", status: "SUCCESS", mid: "x" };
    const forged = await postRefundWebhook({
      body: JSON.stringify({ head: { signature: "A".repeat(108) }, body }),
      contentType: "application/json",
    });
    expect(forged.status).toBe(401);
    const unsigned = await postRefundWebhook({ body: JSON.stringify({ head: {}, body }), contentType: "application/json" });
    expect(unsigned.status).toBe(401);
    expect((await refundRow(refundId)).status).toBe("processing");
  });
});

describe("refund concurrency and at-least-once delivery", () => {
  it("the same refund request 20 times at once: one refund row, one Paytm apply", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const order = await paidOrder(customer, { amountPaise: 15000 });
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "double tap", amountPaise: 5000 }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([...Array(19).fill(200), 201]);
    expect(new Set(results.map((r) => r.body.data.id)).size).toBe(1);
    const rows = await refundRows(order.id);
    expect(rows).toHaveLength(1);
    const r = await waitForStatus(rows[0]!.id, "processing");
    expect(await paytmCalls(r.ref_id)).toMatchObject({ refundApply: 1 });
    expect(await orderLedger(order.id)).toMatchObject({ refunds_open_paise: 5000 });
  });

  it("a message delivered twice (and again in one batch) applies once and ends completed", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const order = await paidOrder(customer);
    const res = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "redelivery" });
    const refundId = res.body.data.id as string;
    await waitForStatus(refundId, "processing");
    const again = await deliver("refunds", [{ refundId }, { refundId }], 2);
    expect(again.explicitAcks).toHaveLength(2);
    expect(again.retryMessages).toHaveLength(0);
    await settleAtPaytm(res.body.data.refId);
    await pollNow(refundId);
    const done = await refundRow(refundId);
    expect(done.status).toBe("completed");
    expect(await paytmCalls(done.ref_id)).toMatchObject({ refundApply: 1 });
    const last = await deliver("refunds", [{ refundId }], 3);
    expect(last.explicitAcks).toHaveLength(1);
    expect(await paytmCalls(done.ref_id)).toMatchObject({ refundApply: 1 });
  });

  it("Paytm accepted but the answer was lost (consumer could not record it): redelivery reads the status, never applies again", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const order = await paidOrder(customer);
    // Apply takes effect at Paytm but the response is a 500; the follow-up status read fails too
    // (3 attempts inside the client), so the first delivery learns nothing and is retried.
    await injectFault({
      endpoint: "refundApply",
      orderId: order.paytmOrderId,
      mode: "http_500",
      applied: true,
      count: 1,
    });
    await injectFault({ endpoint: "refundStatus", orderId: order.paytmOrderId, mode: "http_500", count: 3 });
    const res = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "lost answer" });
    const refundId = res.body.data.id as string;
    const refId = res.body.data.refId as string;
    await vi_waitFor(async () => {
      const r = await refundRow(refundId);
      expect(r.attempt_count).toBeGreaterThanOrEqual(1);
      expect((await paytmCalls(refId)).refundStatus).toBeGreaterThanOrEqual(3);
    });
    expect((await refundRow(refundId)).status).toBe("pending");
    expect(await paytmRefund(refId)).toMatchObject({ amountPaise: 9900 }); // Paytm has it

    const redelivered = await deliver("refunds", [{ refundId }], 2);
    expect(redelivered.explicitAcks).toHaveLength(1);
    expect((await refundRow(refundId)).status).toBe("processing");
    await settleAtPaytm(refId);
    await pollNow(refundId);
    expect((await refundRow(refundId)).status).toBe("completed");
    expect(await paytmCalls(refId)).toMatchObject({ refundApply: 1 });
  });

  it("a Paytm timeout then success: same refId re-applied once Paytm says it has none, exactly one refund at Paytm", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const order = await paidOrder(customer);
    await injectFault({
      endpoint: "refundApply",
      orderId: order.paytmOrderId,
      mode: "timeout",
      applied: false,
      hangMs: 200,
      count: 1,
    });
    const res = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "gateway timeout" });
    const refundId = res.body.data.id as string;
    const refId = res.body.data.refId as string;
    await vi_waitFor(async () => {
      const c = await paytmCalls(refId);
      expect(c.refundApply).toBe(1);
      expect(c.refundStatus).toBeGreaterThanOrEqual(1);
    });
    expect(await paytmRefund(refId)).toBeNull();
    expect((await refundRow(refundId)).status).toBe("pending");

    const retried = await deliver("refunds", [{ refundId }], 2);
    expect(retried.explicitAcks).toHaveLength(1);
    const r = await refundRow(refundId);
    expect(r.status).toBe("processing");
    expect(r.ref_id).toBe(refId);
    await settleAtPaytm(refId);
    const hook = await refundWebhook(refId);
    expect((await postRefundWebhook(hook)).status).toBe(200);
    expect((await refundRow(refundId)).status).toBe("completed");
    expect(await paytmRefund(refId)).toMatchObject({ status: "TXN_SUCCESS", amountPaise: 9900 });
    expect((await paytmCalls(refId)).refundApply).toBe(2); // the timed-out one never took effect
  });

  it("a refund that keeps failing goes to the dead-letter path: needs_attention, ops event, admins told, listed, still counted", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const order = await paidOrder(customer);
    await firstRefundDeliveryUnanswered(order.paytmOrderId);
    const res = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "keeps failing" });
    const refundId = res.body.data.id as string;
    const refId = res.body.data.refId as string;
    await vi_waitFor(async () => expect((await paytmCalls(refId)).refundStatus).toBeGreaterThanOrEqual(3));
    // Still uncertain after the last retry: Cloudflare moves the message to refunds-dlq.
    const dl = await deliver("refunds-dlq", [{ refundId }], 1);
    expect(dl.explicitAcks).toHaveLength(1);
    const r = await refundRow(refundId);
    expect(r.status).toBe("needs_attention");
    expect(r.failure_reason).toMatch(/retries exhausted/);
    expect(await orderLedger(order.id)).toMatchObject({ refunds_open_paise: 9900 });
    const { rows: ops } = await db().execute<{ severity: string }>(
      sql`select severity from security_events where event_type = 'refund_needs_attention' and metadata->>'refundId' = ${refundId}`,
    );
    expect(ops).toEqual([{ severity: "critical" }]);
    const { rows: told } = await db().execute(
      sql`select 1 from notifications where user_id = ${admin.id} and data->>'refundId' = ${refundId}`,
    );
    expect(told).toHaveLength(1);
    const list = await api("GET", "/api/payments/admin/refunds?status=needs_attention&limit=100", { token: admin.token });
    expect(list.body.data.refunds.map((x: { id: string }) => x.id)).toContain(refundId);
    // A second dead letter for the same refund changes nothing.
    await deliver("refunds-dlq", [{ refundId }], 1);
    const { rows: ops2 } = await db().execute(
      sql`select 1 from security_events where event_type = 'refund_needs_attention' and metadata->>'refundId' = ${refundId}`,
    );
    expect(ops2).toHaveLength(1);

    // An admin re-drives it with the same refId; it reaches Paytm once.
    const retry = await api("POST", `/api/payments/admin/refunds/${refundId}/retry`, { token: admin.token });
    expect(retry.status).toBe(200);
    const after = await waitForStatus(refundId, "processing");
    expect(after.ref_id).toBe(refId);
    expect(await paytmRefund(refId)).toMatchObject({ amountPaise: 9900 });
  });
});

async function vi_waitFor(fn: () => Promise<void>) {
  const { vi } = await import("vitest");
  await vi.waitFor(fn, { timeout: 15_000, interval: 100 });
}
