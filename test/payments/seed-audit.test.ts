import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { reconcileDueOrders } from "../../src/payments/reconcile";
import { api, seedUser, testDb } from "../harness";
import {
  callsFor,
  DAY_MS,
  initiateListing,
  listingRow,
  ordersFor,
  payAtPaytm,
  postWebhook,
  providerWithListing,
  securityEvents,
  webhooksFor,
} from "./support";

/** The five failures a payment system must not have (docs/payments.md §3), as the ledger sees them. */
describe("payment guarantees: the five payment tests", () => {
  it("1. double payment: a second initiate returns the same order; one order row, one Paytm initiate call", async () => {
    const s = await providerWithListing();
    const first = await initiateListing(s);
    const second = await initiateListing(s);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body.orderId).toBe(first.body.orderId);
    expect(second.body.existingOrderId).toBe(first.body.orderId);
    expect(second.body.data.isExistingOrder).toBe(true);
    expect(await ordersFor({ providerServiceId: s.providerServiceId })).toHaveLength(1);
    expect((await callsFor(first.body.orderId)).initiateTransaction).toBe(1);
  });

  it("2. webhook replay: the second delivery is acknowledged with no effect; the listing is activated once", async () => {
    const s = await providerWithListing();
    const { orderId } = (await initiateListing(s)).body;
    await payAtPaytm(orderId, "success");
    const [hook] = await webhooksFor(orderId);
    const first = await postWebhook(hook!);
    expect(first.status).toBe(200);
    expect(first.body.data.duplicate).toBe(false);
    const afterFirst = await listingRow(s.providerServiceId);
    expect(afterFirst.status).toBe("active");
    const statusReads = (await callsFor(orderId)).orderStatus;

    const replay = await postWebhook(hook!);
    expect(replay.status).toBe(200);
    expect(replay.body.data.duplicate).toBe(true);
    expect(await listingRow(s.providerServiceId)).toEqual(afterFirst);
    expect((await callsFor(orderId)).orderStatus).toBe(statusReads); // no side effect, not even a status read
    const { rows } = await testDb().http.execute<{ event_type: string; n: number }>(
      sql`select e.event_type, count(*)::int as n from payment_events e join payment_orders o on o.id = e.order_id
          where o.paytm_order_id = ${orderId} group by e.event_type`,
    );
    const events = Object.fromEntries(rows.map((r) => [r.event_type, r.n]));
    expect(events).toMatchObject({ webhook_received: 1, payment_completed: 1, service_activated: 1 });
    expect((await securityEvents(orderId)).map((e) => e.kind)).toContain("replay");
  });

  it("3. rollback: a database fault during activation leaves the order pending and the listing inactive; reconciliation completes it later", async () => {
    const s = await providerWithListing();
    const { orderId } = (await initiateListing(s)).body;
    await payAtPaytm(orderId, "success");
    const db = testDb();
    const fn = `test_fail_activation_${s.providerServiceId.replace(/-/g, "")}`;
    // The fault: the listing UPDATE inside the activation transaction raises (only for this listing).
    await db.http.execute(
      sql.raw(`create function ${fn}() returns trigger language plpgsql as $$ begin raise exception 'injected activation fault'; end $$`),
    );
    await db.http.execute(
      sql.raw(
        `create trigger ${fn} before update on provider_services for each row when (new.id = '${s.providerServiceId}') execute function ${fn}()`,
      ),
    );
    try {
      const v = await api("POST", "/api/payments/verify-paytm", { token: s.provider.token, body: { orderId } });
      expect(v.status).toBe(503);
      expect(v.body.message).toMatch(/payment was received/i);
      const [order] = await ordersFor({ providerServiceId: s.providerServiceId });
      expect(order).toMatchObject({ status: "pending", granted_from: null, granted_until: null });
      const listing = await listingRow(s.providerServiceId);
      expect(listing).toMatchObject({ status: "pending", expires_at: null });
      const { rows } = await db.http.execute(
        sql`select 1 from payment_events e join payment_orders o on o.id = e.order_id where o.paytm_order_id = ${orderId} and e.event_type = 'payment_completed'`,
      );
      expect(rows).toHaveLength(0);
    } finally {
      await db.http.execute(sql.raw(`drop trigger if exists ${fn} on provider_services`));
      await db.http.execute(sql.raw(`drop function if exists ${fn}()`));
    }
    // Later: the two-minute cron finds the order due (its next check was scheduled 30 s out) and completes it.
    await db.http.execute(sql`update payment_orders set next_check_at = now() - interval '1 second' where paytm_order_id = ${orderId}`);
    const run = await reconcileDueOrders(env, { onlyOrderIds: [orderId] });
    expect(run.outcomes).toEqual({ paid: 1 });
    const [order] = await ordersFor({ providerServiceId: s.providerServiceId });
    expect(order!.status).toBe("paid");
    const listing = await listingRow(s.providerServiceId);
    expect(listing.status).toBe("active");
    expect(Date.parse(order!.granted_until!) - Date.parse(order!.granted_from!)).toBe(30 * DAY_MS);
    const v = await api("POST", "/api/payments/verify-paytm", { token: s.provider.token, body: { orderId } });
    expect(v.status).toBe(200);
    expect(v.body.message).toMatch(/already processed/i);
  });

  it("4. concurrent initiation: 50 simultaneous initiates for one listing → one order, one Paytm initiate call", async () => {
    const s = await providerWithListing();
    const responses = await Promise.all(Array.from({ length: 50 }, () => initiateListing(s)));
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    // Every answer is the one order, or the per-user initiation limit (PAYMENT_LIMITER, 10/min) with retryAfter seconds.
    expect(ok.length + limited.length).toBe(50);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const r of limited) expect(r.body).toMatchObject({ errorCode: "RATE_LIMITED", retryAfter: 60 });
    const ids = new Set(ok.map((r) => r.body.orderId));
    expect(ids.size).toBe(1);
    const orders = await ordersFor({ providerServiceId: s.providerServiceId });
    expect(orders).toHaveLength(1);
    expect(orders[0]!.paytm_order_id).toBe([...ids][0]);
    expect((await callsFor(orders[0]!.paytm_order_id)).initiateTransaction).toBe(1);
  });

  it("4b. concurrent labour initiation by one customer (apiClient retries): one order, one Paytm call", async () => {
    const u = await seedUser("user");
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => api("POST", "/api/payments/initiate-labour-payment", { token: u.token, body: { amount: 99 } })),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(new Set(responses.map((r) => r.body.orderId)).size).toBe(1);
    expect(await ordersFor({ userId: u.id })).toHaveLength(1);
    expect((await callsFor(responses[0]!.body.orderId)).initiateTransaction).toBe(1);
  });

  it("5. amount validation: a ₹299 service with ₹99 sent → 400 and nothing created", async () => {
    const s = await providerWithListing({ feePaise: 29900 });
    const r = await initiateListing(s, { amount: "99" });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ status: "error", errorCode: "AMOUNT_MISMATCH", expectedAmount: 299 });
    expect(await ordersFor({ providerServiceId: s.providerServiceId })).toHaveLength(0);
    const labour = await seedUser("user");
    const lr = await api("POST", "/api/payments/initiate-labour-payment", { token: labour.token, body: { amount: 1 } });
    expect(lr.status).toBe(400);
    expect(await ordersFor({ userId: labour.id })).toHaveLength(0);
    // The right amount works, and the order carries the server's price.
    const good = await initiateListing(s, { amount: "299" });
    expect(good.status).toBe(200);
    expect(good.body.data.amountPaise).toBe(29900);
  });
});
