/**
 * Fault injection on the real stack (issue 8): the database dropping connections mid-transaction,
 * Paytm timing out or answering 5xx / malformed JSON / a bad signature, the refunds queue
 * redelivering, a PaymentOrder Durable Object reset mid-order. Each case ends with no money lost or
 * duplicated and a clear error (the apps' envelope, a 503 with retryAfter, never a 500) to the caller.
 *
 * Paytm faults are scoped to one order in the shared sandbox, so files running in parallel are not
 * affected. Tests in this file run one after another, and each leaves at most three consecutive
 * failed Paytm calls behind, below the client's circuit-breaker threshold (five).
 */
import { runInDurableObject } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { FaultSpec } from "../../scripts/paytm/sandbox.ts";
import { api, grantLabourAccess, istSlot, seedListing, seedUser, testDb } from "../harness";
import {
  ageLastStatusRead,
  callsFor,
  DAY_MS,
  initiateListing,
  injectFault,
  type ListingSetup,
  listingRow,
  orderStub,
  ordersFor,
  payAtPaytm,
  providerWithListing,
} from "../payments/support";
import {
  completeAtPaytm,
  deliver,
  paidOrder,
  paytmCalls,
  postRefundWebhook,
  refundRows,
  refundWebhook,
  requestRefund,
  waitForStatus,
} from "../refunds/support";

const db = () => testDb();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const fault = (orderId: string, endpoint: FaultSpec["endpoint"], mode: FaultSpec["mode"], extra: Partial<FaultSpec> = {}) =>
  injectFault({ endpoint, mode, orderId, ...extra });

/**
 * A trigger that kills the session's own backend when `table` is written for `id`: the connection
 * drops in the middle of the transaction (FATAL 57P01, socket closed), exactly like a Neon compute
 * restart or a network cut would. Returns the cleanup.
 */
async function dropConnectionOn(table: string, event: "insert" | "update", when: string): Promise<() => Promise<void>> {
  const fn = `test_drop_conn_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;
  await db().http.execute(
    sql.raw(`create function ${fn}() returns trigger language plpgsql as $$
      begin perform pg_terminate_backend(pg_backend_pid()); return new; end $$`),
  );
  await db().http.execute(sql.raw(`create trigger ${fn} before ${event} on ${table} for each row when (${when}) execute function ${fn}()`));
  return async () => {
    await db().http.execute(sql.raw(`drop trigger if exists ${fn} on ${table}`));
    await db().http.execute(sql.raw(`drop function if exists ${fn}()`));
  };
}

function expectClear503(res: { status: number; body: Record<string, unknown>; headers: Headers }) {
  expect(res.status).toBe(503);
  expect(res.body).toMatchObject({ status: "error" });
  expect(typeof res.body.message).toBe("string");
  expect(typeof res.body.errorCode).toBe("string");
  expect(Number(res.headers.get("retry-after") ?? res.body.retryAfter)).toBeGreaterThan(0);
}

const verify = (s: ListingSetup, orderId: string) =>
  api("POST", "/api/payments/verify-paytm", { token: s.provider.token, body: { orderId, providerServiceId: s.providerServiceId } });

async function expectActivatedOnce(s: ListingSetup) {
  const orders = await ordersFor({ providerServiceId: s.providerServiceId });
  expect(orders).toHaveLength(1);
  expect(orders[0]!.status).toBe("paid");
  expect(Date.parse(orders[0]!.granted_until!) - Date.parse(orders[0]!.granted_from!)).toBe(30 * DAY_MS);
  expect((await listingRow(s.providerServiceId)).status).toBe("active");
  const { rows } = await db().http.execute<{ n: number }>(
    sql`select count(*)::int as n from payment_events where order_id = ${orders[0]!.id} and event_type = 'payment_completed'`,
  );
  expect(rows[0]!.n).toBe(1);
}

describe("the database drops the connection mid-transaction", () => {
  it("during payment activation: 503 to the caller, nothing half-applied; the next verify activates exactly once", async () => {
    const s = await providerWithListing();
    const { orderId } = (await initiateListing(s)).body;
    await payAtPaytm(orderId, "success");
    const cleanup = await dropConnectionOn("provider_services", "update", `new.id = '${s.providerServiceId}'`);
    try {
      const res = await verify(s, orderId);
      expectClear503(res);
      expect(res.body.message).toMatch(/payment was received/i);
      const [order] = await ordersFor({ providerServiceId: s.providerServiceId });
      expect(order).toMatchObject({ status: "pending", granted_from: null, granted_until: null });
      expect(await listingRow(s.providerServiceId)).toMatchObject({ status: "pending", expires_at: null });
    } finally {
      await cleanup();
    }
    await ageLastStatusRead(orderId); // past the status-reuse window, so the retry reads Paytm again
    const again = await verify(s, orderId);
    expect(again.status).toBe(200);
    await expectActivatedOnce(s);
    expect((await verify(s, orderId)).body.message).toMatch(/already processed/i);
  });

  it("during booking creation: 503, no booking; the app's retry of the same POST books exactly once", async () => {
    const listing = await seedListing();
    const customer = await seedUser("user");
    await grantLabourAccess(customer.id);
    const slot = istSlot(4, 11);
    const body = {
      providerServiceId: listing.providerServiceId,
      selectedService: "tap-installation",
      selectedServices: ["tap-installation"],
      ...slot,
    };
    const cleanup = await dropConnectionOn("bookings", "insert", `new.customer_id = '${customer.id}'`);
    try {
      const res = await api("POST", "/api/bookings", { token: customer.token, body });
      expectClear503(res);
    } finally {
      await cleanup();
    }
    const count = async () =>
      (await db().http.execute<{ n: number }>(sql`select count(*)::int as n from bookings where customer_id = ${customer.id}`)).rows[0]!.n;
    expect(await count()).toBe(0);
    const retries = await Promise.all([1, 2, 3].map(() => api("POST", "/api/bookings", { token: customer.token, body })));
    for (const r of retries) expect([200, 201]).toContain(r.status);
    expect(new Set(retries.map((r) => r.body.data.id ?? r.body.data.booking?.id)).size).toBe(1);
    expect(await count()).toBe(1);
  });
});

const initiate = (s: ListingSetup) => initiateListing(s);

describe("Paytm misbehaves", () => {
  it("initiate times out: 503 with retryAfter, no token; the app's retry re-sends the same request and gets the order's one token", async () => {
    const s = await providerWithListing();
    const scope = { endpoint: "initiateTransaction", custId: s.provider.id } as const;
    await injectFault({ ...scope, mode: "timeout", applied: false, hangMs: 4_000, count: 1 });
    const res = await initiate(s);
    expectClear503(res);
    expect(res.body.errorCode).toBe("PAYMENT_GATEWAY_UNAVAILABLE");
    const [order] = await ordersFor({ providerServiceId: s.providerServiceId });
    expect(order!.status).toBe("created");
    expect((await callsFor(order!.paytm_order_id)).initiateTransaction).toBe(1);

    const again = await initiate(s);
    expect(again.status).toBe(200);
    expect(again.body.orderId).toBe(order!.paytm_order_id);
    expect((await callsFor(order!.paytm_order_id)).initiateTransaction).toBe(2);
    expect(await ordersFor({ providerServiceId: s.providerServiceId })).toHaveLength(1);
    await payAtPaytm(again.body.orderId, "success");
    expect((await verify(s, again.body.orderId)).status).toBe(200);
    await expectActivatedOnce(s);
  });

  it("initiate answered 5xx, then malformed JSON, then properly: two clear 503s, then the token; one order, paid once", async () => {
    const s = await providerWithListing();
    const scope = { endpoint: "initiateTransaction", custId: s.provider.id } as const;
    await injectFault({ ...scope, mode: "http_502", count: 1 });
    await injectFault({ ...scope, mode: "malformed_json", count: 1 });
    expectClear503(await initiate(s));
    expectClear503(await initiate(s));
    const res = await initiate(s);
    expect(res.status).toBe(200);
    const orderId = res.body.orderId as string;
    expect((await callsFor(orderId)).initiateTransaction).toBe(3);
    expect(await ordersFor({ providerServiceId: s.providerServiceId })).toHaveLength(1);
    await payAtPaytm(orderId, "success");
    expect((await verify(s, orderId)).status).toBe(200);
    await expectActivatedOnce(s);
  });

  for (const mode of ["http_500", "malformed_json", "bad_signature", "timeout"] as const) {
    it(`the status API answers ${mode} while the customer has paid: 503, never "failed"; once Paytm recovers, one activation`, async () => {
      const s = await providerWithListing();
      const { orderId } = (await initiate(s)).body;
      await payAtPaytm(orderId, "success");
      // Ambiguous answers are retried inside the client (3 attempts); a bad signature is not.
      const count = mode === "bad_signature" ? 1 : 3;
      await fault(orderId, "orderStatus", mode, { count, ...(mode === "timeout" ? { hangMs: 4_000, applied: false } : {}) });
      const res = await verify(s, orderId);
      expectClear503(res);
      const [order] = await ordersFor({ providerServiceId: s.providerServiceId });
      expect(order!.status).toBe("pending");
      expect((await listingRow(s.providerServiceId)).status).toBe("pending");
      await ageLastStatusRead(orderId); // the retry reads Paytm again instead of reusing the failed read
      const ok = await verify(s, orderId);
      expect(ok.status).toBe(200);
      await expectActivatedOnce(s);
    }, 30_000);
  }
});

describe("a PaymentOrder Durable Object is reset mid-order", () => {
  it("while its status read is in flight: the caller gets a clear error, the order stays open, the next verify activates once", async () => {
    const s = await providerWithListing();
    const { orderId } = (await initiate(s)).body;
    await payAtPaytm(orderId, "success");
    // Hold the status answer so the reset lands while the read is in flight.
    await fault(orderId, "orderStatus", "timeout", { count: 1, hangMs: 2_500, applied: true });
    const pending = verify(s, orderId);
    for (let i = 0; i < 100 && !(await callsFor(orderId)).orderStatus; i++) await sleep(20);
    expect((await callsFor(orderId)).orderStatus).toBe(1);
    await runInDurableObject(orderStub(orderId), (_instance, state) => {
      state.abort("injected reset");
    }).catch(() => undefined);
    const res = await pending;
    expectClear503(res);
    expect((await ordersFor({ providerServiceId: s.providerServiceId }))[0]!.status).toBe("pending");

    // A new instance finds the attempt it did not finish, treats it as ambiguous and reads again.
    const again = await verify(s, orderId);
    expect(again.status).toBe(200);
    await expectActivatedOnce(s);
    const inspected = await orderStub(orderId).inspect();
    expect(inspected.phase).toBe("paid");
    expect(inspected.attempts.some((a) => a.state === "ambiguous")).toBe(true);
  });
});

describe("the refunds queue redelivers", () => {
  it("one message delivered three times (two at once) after Paytm took it: one refund at Paytm, one completed refund", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const order = await paidOrder(customer);
    const res = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "redelivery" });
    expect(res.status).toBeLessThan(300);
    const refundId = res.body.data.id as string;
    const refId = res.body.data.refId as string;
    await Promise.all([deliver("refunds", [{ refundId }], 2), deliver("refunds", [{ refundId }], 2)]);
    await deliver("refunds", [{ refundId }], 3);
    // Paytm settles it; its webhook arrives twice as well.
    await completeAtPaytm(refId, "success").catch(() => undefined);
    const hook = await refundWebhook(refId);
    expect((await postRefundWebhook(hook)).status).toBe(200);
    expect((await postRefundWebhook(hook)).status).toBe(200);
    const done = await waitForStatus(refundId, "completed");
    expect(done.status).toBe("completed");
    expect((await paytmCalls(refId)).refundApply).toBe(1);
    const rows = await refundRows(order.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.amount_paise).toBe(order.amountPaise);
  }, 40_000);
});
