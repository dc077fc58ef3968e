/**
 * Labour access after refunds: the access-status endpoint and the bookings check read one
 * definition of "access now", and a refunded week never leaves the weeks bought after it stranded
 * in the future. Purchases go through the real payment flow; refunds through the admin route,
 * the refunds queue, the Paytm sandbox and its webhook.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { api, istSlot, type SeededUser, seedListing, seedUser, testDb } from "../harness";
import { DAY_MS, payAtPaytm } from "../payments/support";
import { paidOrder, postRefundWebhook, refundWebhook, requestRefund, settleAtPaytm, waitForStatus } from "./support";

const db = () => testDb().http;

/** One ₹99 week bought the way the user app buys it: initiate, pay at Paytm, verify. */
async function buyLabourWeek(customer: SeededUser): Promise<{ orderId: string; startDate: string; endDate: string }> {
  const init = await api("POST", "/api/payments/initiate-labour-payment", { token: customer.token, body: { amount: 99 } });
  expect(init.status).toBe(200);
  await payAtPaytm(init.body.orderId, "success");
  const v = await api("POST", "/api/payments/verify-labour-payment", { token: customer.token, body: { orderId: init.body.orderId } });
  expect(v.status).toBe(200);
  return { orderId: init.body.orderId, startDate: v.body.data.startDate, endDate: v.body.data.endDate };
}

/** An admin refunds the whole order; Paytm completes it and its webhook arrives. */
async function refundInFull(paytmOrderId: string): Promise<void> {
  const admin = await seedUser("admin");
  const res = await requestRefund(admin.token, { orderId: paytmOrderId, reason: "customer asked for this week back" });
  expect(res.status).toBe(201);
  await waitForStatus(res.body.data.id, "processing");
  await settleAtPaytm(res.body.data.refId);
  const hook = await refundWebhook(res.body.data.refId);
  expect((await postRefundWebhook(hook)).status).toBe(200);
  await waitForStatus(res.body.data.id, "completed");
}

const accessStatus = async (customer: SeededUser) => {
  const res = await api("GET", "/api/payments/labour-access-status", { token: customer.token });
  expect(res.status).toBe(200);
  return res.body.data;
};

async function bookLabour(customer: SeededUser, days: number) {
  const labour = await seedListing({ service: "labors", prices: { "per-hour-charges": 15000 } });
  return api("POST", "/api/bookings", {
    token: customer.token,
    body: {
      providerServiceId: labour.providerServiceId,
      selectedService: "per-hour-charges",
      selectedServices: ["per-hour-charges"],
      ...istSlot(days),
    },
  });
}

/** Moves this customer's windows `days` into the past, oldest first (windows never overlap, even mid-update). */
async function backdate(customerId: string, days: number) {
  const { rows } = await db().execute<{ id: string }>(sql`select id from labour_access where user_id = ${customerId} order by starts_at`);
  for (const r of rows) {
    await db().execute(
      sql`update labour_access set starts_at = starts_at - make_interval(days => ${days}), expires_at = expires_at - make_interval(days => ${days})
           where id = ${r.id}`,
    );
  }
}

describe("labour access after a refund: the status and the bookings agree", () => {
  it("two back-to-back weeks, the first refunded: the second week is live now, status says 7 days and a labour booking is accepted", async () => {
    const customer = await seedUser("user");
    const first = await buyLabourWeek(customer);
    const second = await buyLabourWeek(customer);
    expect(second.startDate).toBe(first.endDate);
    expect(await accessStatus(customer)).toMatchObject({ hasAccess: true, daysRemaining: 14 });

    await refundInFull(first.orderId);

    const status = await accessStatus(customer);
    expect(status).toMatchObject({ hasAccess: true, accessStatus: "active", isExpired: false, daysRemaining: 7 });
    expect(Date.parse(status.startDate)).toBeLessThanOrEqual(Date.now() + 1_000);
    const booking = await bookLabour(customer, 2);
    expect(booking.status).toBe(201);
  });

  it("a week refunded after 3 days of use: the next paid week starts at the refund, in full", async () => {
    const customer = await seedUser("user");
    const first = await buyLabourWeek(customer);
    await buyLabourWeek(customer);
    await backdate(customer.id, 3);
    expect(await accessStatus(customer)).toMatchObject({ hasAccess: true, daysRemaining: 11 });

    await refundInFull(first.orderId);

    const status = await accessStatus(customer);
    expect(status).toMatchObject({ hasAccess: true, daysRemaining: 7 });
    // The week still paid for is whole: it runs 7 days from the refund, not from the refunded week's start.
    expect(Date.parse(status.endDate) - Date.parse(status.startDate)).toBe(7 * DAY_MS);
    expect(Date.parse(status.endDate)).toBeGreaterThan(Date.now() + 7 * DAY_MS - 60_000);
    expect((await bookLabour(customer, 2)).status).toBe(201);
  });

  it("refunding the later week leaves the current one as it was; refunding that too ends access for both readers", async () => {
    const customer = await seedUser("user");
    const first = await buyLabourWeek(customer);
    const second = await buyLabourWeek(customer);

    await refundInFull(second.orderId);
    const one = await accessStatus(customer);
    expect(one).toMatchObject({ hasAccess: true, daysRemaining: 7, startDate: first.startDate, endDate: first.endDate });
    expect((await bookLabour(customer, 2)).status).toBe(201);

    await refundInFull(first.orderId);
    expect(await accessStatus(customer)).toMatchObject({ hasAccess: false, daysRemaining: 0 });
    const refused = await bookLabour(customer, 3);
    expect(refused.status).toBe(403);
    expect(refused.body.errorCode).toBe("LABOUR_ACCESS_REQUIRED");
  });

  it("a paid window that has not begun yet is access for neither the status nor the bookings", async () => {
    const customer = await seedUser("user");
    const order = await paidOrder(customer, { activated: false });
    await db().execute(
      sql`insert into labour_access (user_id, order_id, starts_at, expires_at) values (${customer.id}, ${order.id}, now() + interval '1 day', now() + interval '8 days')`,
    );
    expect(await accessStatus(customer)).toMatchObject({ hasAccess: false, daysRemaining: 0 });
    expect((await bookLabour(customer, 2)).status).toBe(403);
  });
});
