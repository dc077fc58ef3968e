/**
 * Database round trips of the refund calls (X-Db-Round-Trips; the session check rides on each
 * authenticated request's first call). Steps run by the order's PaymentOrder Durable Object use its
 * own handle: `inspect().dbRoundTrips[op]` counts the object's last operation of that kind.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type ApiResponse, api, seedUser, testDb } from "../harness";
import { orderStub } from "../payments/support";
import { paidOrder, postRefundWebhook, refundRows, refundWebhook, requestRefund, settleAtPaytm, waitForStatus } from "./support";

const roundTrips = (r: ApiResponse) => Number(r.headers.get("x-db-round-trips"));
const objectRoundTrips = async (orderId: string, op: string) => (await orderStub(orderId).inspect()).dbRoundTrips[op];

describe("refunds: database round trips per call", () => {
  it("request 1 (the object: its order, then one transaction), reads 1 each, Paytm's webhook 2", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const order = await paidOrder(customer, { activated: true });

    const res = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "service_cancelled" });
    expect(res.status).toBe(201);
    expect(roundTrips(res)).toBe(1);
    // First use of the object: the order row, then handshake, BEGIN, order lock, its refunds, refund,
    // event, notification + outbox, COMMIT.
    expect(await objectRoundTrips(order.paytmOrderId, "refund:request")).toBe(10);
    const refundId = res.body.data.id as string;

    const repeat = await requestRefund(admin.token, { orderId: order.paytmOrderId, reason: "service_cancelled" });
    expect(repeat.status).toBe(200);
    expect(repeat.body.data.id).toBe(refundId);
    expect(roundTrips(repeat)).toBe(1);
    expect(await objectRoundTrips(order.paytmOrderId, "refund:request")).toBe(5);

    const one = await api("GET", `/api/payments/refunds/${refundId}`, { token: customer.token });
    expect(one.body.data).toMatchObject({ id: refundId, orderId: order.paytmOrderId });
    expect(roundTrips(one)).toBe(1);

    const ofOrder = await api("GET", `/api/payments/orders/${order.paytmOrderId}/refunds`, { token: customer.token });
    expect(ofOrder.body.data).toMatchObject({ orderId: order.paytmOrderId, refundsOpenPaise: 9900 });
    expect(ofOrder.body.data.refunds.map((r: { id: string }) => r.id)).toEqual([refundId]);
    expect(roundTrips(ofOrder)).toBe(1);

    const listed = await api("GET", `/api/payments/admin/refunds?orderId=${order.paytmOrderId}`, { token: admin.token });
    expect(listed.body.data.refunds.map((r: { id: string }) => r.id)).toEqual([refundId]);
    expect(listed.body.data.pagination.total).toBe(1);
    expect(roundTrips(listed)).toBe(1);
    const all = await api("GET", "/api/payments/admin/refunds?limit=5", { token: admin.token });
    expect(all.body.data.pagination.total).toBeGreaterThanOrEqual(1);
    expect(roundTrips(all)).toBe(1);

    await waitForStatus(refundId, "processing");
    await settleAtPaytm(res.body.data.refId);
    const hook = await refundWebhook(res.body.data.refId);
    const w = await postRefundWebhook(hook);
    expect(w.body.data).toMatchObject({ refundStatus: "completed", duplicate: false });
    // The refund with its order, then (after the object applied it) the event with the refund's status.
    expect(roundTrips(w)).toBe(2);
    // The object's steps: the queue's (the refund with its order, the in-flight marker, then the
    // transition to processing as one transaction) and the webhook's (the refund with its order, then
    // the transition to completed, which also takes the labour week back).
    expect(await objectRoundTrips(order.paytmOrderId, "refund:process")).toBe(9);
    expect(await objectRoundTrips(order.paytmOrderId, "refund:notice")).toBe(14);
    const replay = await postRefundWebhook(hook);
    expect(replay.body.data).toMatchObject({ refundStatus: "completed", duplicate: true });
    expect(roundTrips(replay)).toBe(2);
  });

  it("a revoked session's refund request is 401 in one round trip; the order's object is never reached", async () => {
    const customer = await seedUser("user");
    const order = await paidOrder(customer, { activated: false });
    await testDb().http.execute(sql`update sessions set revoked_at = now(), revoke_reason = 'test' where id = ${customer.sessionId}`);
    const res = await requestRefund(customer.token, { orderId: order.paytmOrderId, reason: "service_cancelled" });
    expect(res.status).toBe(401);
    expect(roundTrips(res)).toBe(1);
    expect(await refundRows(order.id)).toHaveLength(0);
    expect((await orderStub(order.paytmOrderId).inspect()).phase).toBeNull();
  });
});
