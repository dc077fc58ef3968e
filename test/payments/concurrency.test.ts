import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openOrder } from "../../src/payments/orders";
import { reconcileDueOrders } from "../../src/payments/reconcile";
import { api, seedUser, testDb } from "../harness";
import {
  callsFor,
  DAY_MS,
  initiateListing,
  listingRow,
  orderStub,
  ordersFor,
  payAtPaytm,
  postCallback,
  postWebhook,
  providerWithListing,
  webhooksFor,
} from "./support";

describe("payments concurrency: money moved exactly once", () => {
  it("50 concurrent verifies + the browser callback + the webhook activate the listing once, extended by exactly 30 days", async () => {
    const s = await providerWithListing();
    const { orderId } = (await initiateListing(s)).body;
    const form = await payAtPaytm(orderId, "success");
    const [hook] = await webhooksFor(orderId);

    const verify = () =>
      api("POST", "/api/payments/verify-paytm", { token: s.provider.token, body: { orderId, providerServiceId: s.providerServiceId } });
    const [cb, wh, ...verifies] = await Promise.all([
      postCallback(form.formBody),
      postWebhook(hook!),
      ...Array.from({ length: 50 }, verify),
    ]);
    expect(cb.status).toBe(200);
    expect(wh.status).toBe(200);
    expect(verifies.map((v) => v.status)).toEqual(Array(50).fill(200));
    // Everyone sees the same grant; exactly one of the 52 requests applied it.
    const ends = new Set(verifies.map((v) => v.body.data.endDate));
    expect(ends.size).toBe(1);
    expect(verifies.filter((v) => v.body.data.alreadyProcessed === false).length).toBeLessThanOrEqual(1);

    const [order] = await ordersFor({ providerServiceId: s.providerServiceId });
    expect(order!.status).toBe("paid");
    expect(Date.parse(order!.granted_until!) - Date.parse(order!.granted_from!)).toBe(30 * DAY_MS);
    const listing = await listingRow(s.providerServiceId);
    expect(listing.status).toBe("active");
    expect(Date.parse(listing.expires_at!)).toBe(Date.parse(order!.granted_until!));
    expect(Date.parse(listing.expires_at!) - Date.parse(listing.activated_at!)).toBe(30 * DAY_MS);

    const db = testDb();
    const { rows } = await db.http.execute<{ event_type: string; n: number }>(
      sql`select event_type, count(*)::int as n from payment_events where order_id = ${order!.id} group by event_type`,
    );
    const events = Object.fromEntries(rows.map((r) => [r.event_type, r.n]));
    expect(events).toMatchObject({ payment_completed: 1, service_activated: 1, callback_received: 1, webhook_received: 1 });
    const { rows: notes } = await db.http.execute<{ n: number }>(
      sql`select count(*)::int as n from notifications where user_id = ${s.provider.id} and title = 'Payment Successful'`,
    );
    expect(notes[0]!.n).toBe(1);
    // The Durable Object serialized them: a handful of status reads, not 52.
    expect((await callsFor(orderId)).orderStatus).toBeLessThanOrEqual(2);
    const state = await orderStub(orderId).inspect();
    expect(state.phase).toBe("paid");
  });

  it("below the HTTP rate limit: 50 concurrent order claims + 50 concurrent DO initiates → one order, one Paytm initiate call", async () => {
    // The route lets 10 initiates per user per minute through (PAYMENT_LIMITER); this drives the two
    // guards underneath it directly with 50 at once: the partial unique index and the order's DO.
    const s = await providerWithListing();
    const db = testDb();
    const claims = await Promise.all(
      Array.from({ length: 50 }, () =>
        openOrder(db.http, {
          userId: s.provider.id,
          purpose: "listing_fee",
          providerServiceId: s.providerServiceId,
          amountPaise: 9900,
          validityDays: 30,
          clientInfo: {},
        }),
      ),
    );
    expect(claims.filter((c) => c.created)).toHaveLength(1);
    const ids = new Set(claims.map((c) => c.order.paytmOrderId));
    expect(ids.size).toBe(1);
    const [orderId] = [...ids] as [string];
    const tokens = await Promise.all(Array.from({ length: 50 }, () => orderStub(orderId).initiate(orderId)));
    expect(new Set(tokens.map((t) => (t.kind === "token" ? t.txnToken : t.kind))).size).toBe(1);
    expect(tokens[0]!.kind).toBe("token");
    expect((await callsFor(orderId)).initiateTransaction).toBe(1);
    expect(await ordersFor({ providerServiceId: s.providerServiceId })).toHaveLength(1);
  });

  it("per-order verify limit: beyond 60 verifies a minute the order answers 429; a burst costs Paytm one or two status reads", async () => {
    const u = await seedUser("user");
    const { orderId } = (await api("POST", "/api/payments/initiate-labour-payment", { token: u.token, body: { amount: 99 } })).body;
    const rs = await Promise.all(
      Array.from({ length: 65 }, () => api("POST", "/api/payments/verify-labour-payment", { token: u.token, body: { orderId } })),
    );
    const statuses = rs.map((r) => r.status);
    expect(statuses.filter((x) => x === 409)).toHaveLength(60); // unpaid: "still being confirmed", never a false failure
    const limited = rs.filter((r) => r.status === 429);
    expect(limited).toHaveLength(5);
    for (const r of limited) expect(r.body.retryAfter).toBeGreaterThan(0);
    expect((await callsFor(orderId)).orderStatus).toBeLessThanOrEqual(2);
  });

  it("concurrent labour payments of one customer never overlap: the second window starts where the first ends", async () => {
    const u = await seedUser("user");
    const first = (await api("POST", "/api/payments/initiate-labour-payment", { token: u.token, body: { amount: 99 } })).body.orderId;
    await payAtPaytm(first, "success");
    await api("POST", "/api/payments/verify-labour-payment", { token: u.token, body: { orderId: first } });
    const second = (await api("POST", "/api/payments/initiate-labour-payment", { token: u.token, body: { amount: 99 } })).body.orderId;
    expect(second).not.toBe(first);
    await payAtPaytm(second, "success");
    const [hook] = await webhooksFor(second);
    await Promise.all([
      postWebhook(hook!),
      ...Array.from({ length: 10 }, () =>
        api("POST", "/api/payments/verify-labour-payment", { token: u.token, body: { orderId: second } }),
      ),
    ]);
    const { rows } = await testDb().http.execute<{ starts_at: string; expires_at: string }>(
      sql`select starts_at, expires_at from labour_access where user_id = ${u.id} order by starts_at`,
    );
    expect(rows).toHaveLength(2);
    expect(Date.parse(rows[1]!.starts_at)).toBe(Date.parse(rows[0]!.expires_at));
    const status = await api("GET", "/api/payments/labour-access-status", { token: u.token });
    expect(status.body.data.daysRemaining).toBe(14);
  });

  it("reconciliation: a paid order whose callback never came activates; an unpaid order past its deadline expires and a new initiate opens a fresh order", async () => {
    const paid = await providerWithListing();
    const paidId = (await initiateListing(paid)).body.orderId;
    await payAtPaytm(paidId, "success"); // nobody tells us: no callback, no webhook delivered, no verify
    const abandoned = await seedUser("user");
    const abandonedId = (await api("POST", "/api/payments/initiate-labour-payment", { token: abandoned.token, body: { amount: 99 } })).body
      .orderId;
    const db = testDb();
    await db.http.execute(
      sql`update payment_orders set next_check_at = now() - interval '1 second',
            expires_at = case when paytm_order_id = ${abandonedId} then now() - interval '1 minute' else expires_at end
          where paytm_order_id in (${paidId}, ${abandonedId})`,
    );
    const run = await reconcileDueOrders(env, { onlyOrderIds: [paidId, abandonedId] });
    expect(run.outcomes).toEqual({ paid: 1, expired: 1 });
    expect((await listingRow(paid.providerServiceId)).status).toBe("active");
    expect((await ordersFor({ userId: abandoned.id }))[0]!.status).toBe("expired");
    // Idempotent: a second run finds nothing due.
    expect((await reconcileDueOrders(env, { onlyOrderIds: [paidId, abandonedId] })).checked).toBe(0);

    const again = await api("POST", "/api/payments/initiate-labour-payment", { token: abandoned.token, body: { amount: 99 } });
    expect(again.status).toBe(200);
    expect(again.body.orderId).not.toBe(abandonedId);
    // A late success on the expired order (e.g. a delayed bank) would still be applied: failed/expired → paid is allowed.
  });
  it("a success that arrives after the order expired is reconciled, not lost (expired → paid, access granted)", async () => {
    const u = await seedUser("user");
    const { orderId } = (await api("POST", "/api/payments/initiate-labour-payment", { token: u.token, body: { amount: 99 } })).body;
    const db = testDb();
    await db.http.execute(
      sql`update payment_orders set expires_at = now() - interval '1 minute', next_check_at = now() - interval '1 second' where paytm_order_id = ${orderId}`,
    );
    expect((await reconcileDueOrders(env, { onlyOrderIds: [orderId] })).outcomes).toEqual({ expired: 1 });
    // The customer was still on Paytm's page with a live token and pays after all.
    const form = await payAtPaytm(orderId, "success");
    const cb = await postCallback(form.formBody);
    expect(cb.text).toContain("Payment successful");
    const [order] = await ordersFor({ userId: u.id });
    expect(order!.status).toBe("paid");
    const access = await api("GET", "/api/payments/labour-access-status", { token: u.token });
    expect(access.body.data).toMatchObject({ hasAccess: true, daysRemaining: 7 });
  });

  it("a duplicate charge (the expired order is paid after its replacement was) grants nothing twice and is refunded automatically", async () => {
    const u = await seedUser("user");
    const db = testDb();
    const first = (await api("POST", "/api/payments/initiate-labour-payment", { token: u.token, body: { amount: 99 } })).body.orderId;
    await db.http.execute(
      sql`update payment_orders set expires_at = now() - interval '1 minute', next_check_at = now() - interval '1 second' where paytm_order_id = ${first}`,
    );
    expect((await reconcileDueOrders(env, { onlyOrderIds: [first] })).outcomes).toEqual({ expired: 1 });
    // The customer opens a new order and pays it...
    const second = (await api("POST", "/api/payments/initiate-labour-payment", { token: u.token, body: { amount: 99 } })).body.orderId;
    expect(second).not.toBe(first);
    await payAtPaytm(second, "success");
    expect((await api("POST", "/api/payments/verify-labour-payment", { token: u.token, body: { orderId: second } })).status).toBe(200);
    // ...and the first page, still open in another tab, is paid too: one purchase, two charges.
    const form = await payAtPaytm(first, "success");
    expect((await postCallback(form.formBody)).status).toBe(200);
    const v = await api("POST", "/api/payments/verify-labour-payment", { token: u.token, body: { orderId: first } });
    expect(v.status).toBe(200);
    expect(v.body.data).toMatchObject({ startDate: null, refundPending: true });
    expect(v.body.message).toMatch(/refunded/i);

    const orders = await ordersFor({ userId: u.id });
    expect(orders.map((o) => o.status)).toEqual(["paid", "paid"]);
    const { rows: windows } = await db.http.execute(sql`select order_id from labour_access where user_id = ${u.id}`);
    expect(windows).toHaveLength(1); // only the replacement granted access
    const access = await api("GET", "/api/payments/labour-access-status", { token: u.token });
    expect(access.body.data.daysRemaining).toBe(7);
    const { rows: refunds } = await db.http.execute<{ reason: string; amount_paise: number }>(
      sql`select r.reason, r.amount_paise from refunds r join payment_orders o on o.id = r.order_id where o.paytm_order_id = ${first}`,
    );
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ amount_paise: 9900 });
    expect(refunds[0]!.reason).toMatch(/duplicate/);
    const { rows: none } = await db.http.execute(
      sql`select 1 from refunds r join payment_orders o on o.id = r.order_id where o.paytm_order_id = ${second}`,
    );
    expect(none).toHaveLength(0);
  });
});
