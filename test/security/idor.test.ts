/**
 * IDOR: user A's resource ids presented with user B's token. Every resource route answers 404 (or
 * 403) and neither the response nor the database shows or changes A's data.
 */
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { api, istSlot, type SeededListing, type SeededUser, seedListing, seedUser, testDb } from "../harness";

const db = testDb();
const rows = async (q: ReturnType<typeof sql>) => (await db.http.execute(q)).rows as Record<string, unknown>[];

let alice: SeededUser; // owns everything below
let mallory: SeededUser; // another customer
let otherProvider: SeededUser;
let listing: SeededListing;
let bookingId: string;
let addressId: string;
let notificationId: string;
const orderId = `ORDER_IDOR_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;
let refundId: string;

/** The attacker must learn nothing: no 2xx, and none of A's identifiers or phone echoed back. */
function expectDenied(res: { status: number; text: string }, ...secrets: string[]) {
  expect([403, 404], `${res.status} ${res.text.slice(0, 200)}`).toContain(res.status);
  for (const s of secrets) expect(res.text).not.toContain(s);
}

beforeAll(async () => {
  [alice, mallory, otherProvider, listing] = await Promise.all([seedUser("user"), seedUser("user"), seedUser("provider"), seedListing()]);
  const b = await api("POST", "/api/bookings", {
    token: alice.token,
    body: {
      providerServiceId: listing.providerServiceId,
      selectedServices: ["tap-installation"],
      ...istSlot(4),
      address: "Alice house 221B",
    },
  });
  expect(b.status, b.text).toBe(201);
  bookingId = b.body.data.booking?.id ?? b.body.data.id;
  expect(bookingId).toMatch(/^[0-9a-f-]{36}$/);

  const a = await api("POST", "/api/users/addresses", {
    token: alice.token,
    body: { type: "home", state: "Karnataka", city: "Bengaluru", fullAddress: "Alice secret street 7" },
  });
  expect(a.status, a.text).toBeLessThan(300);
  const [addr] = await rows(sql`select id from addresses where user_id = ${alice.id} limit 1`);
  addressId = addr!.id as string;

  const [n] = await rows(
    sql`insert into notifications (user_id, title, message) values (${alice.id}, 'Alice only', 'for Alice') returning id`,
  );
  notificationId = n!.id as string;

  const [o] = await rows(
    sql`insert into payment_orders (paytm_order_id, user_id, purpose, amount_paise, validity_days, status, expires_at, gateway_txn_id, paid_at)
        values (${orderId}, ${alice.id}, 'labour_access', 9900, 7, 'paid', now() + interval '30 minutes', ${`TXN_${orderId}`}, now())
        returning id`,
  );
  const [r] = await rows(
    sql`insert into refunds (order_id, ref_id, amount_paise, reason, status) values (${o!.id}, ${`REF_${orderId}`}, 9900, 'service_cancelled', 'pending') returning id`,
  );
  refundId = r!.id as string;
});

describe("IDOR: A's ids with B's token", () => {
  it("bookings: another customer cannot read, cancel, rate or report A's booking; another provider cannot change it", async () => {
    expectDenied(await api("GET", `/api/bookings/${bookingId}`, { token: mallory.token }), "Alice house", alice.phone);
    expectDenied(await api("PUT", `/api/bookings/${bookingId}/cancel`, { token: mallory.token, body: {} }));
    expectDenied(await api("PUT", `/api/bookings/${bookingId}/mark-viewed`, { token: mallory.token }));
    expectDenied(await api("POST", `/api/bookings/${bookingId}/rate`, { token: mallory.token, body: { rating: 1 } }));
    expectDenied(
      await api("POST", `/api/bookings/${bookingId}/report`, { token: mallory.token, body: { reportReason: "x", reportDescription: "y" } }),
    );
    expectDenied(
      await api("PUT", `/api/providers/bookings/${bookingId}/status`, { token: otherProvider.token, body: { status: "accepted" } }),
    );
    expectDenied(
      await api("POST", `/api/providers/bookings/${bookingId}/rate-customer`, { token: otherProvider.token, body: { rating: 1 } }),
    );
    const [b] = await rows(sql`select status, cancelled_at from bookings where id = ${bookingId}`);
    expect(b!.status).toBe("pending");
    // A still sees it: the ids were real.
    expect((await api("GET", `/api/bookings/${bookingId}`, { token: alice.token })).status).toBe(200);
  });

  it("calls: B cannot ring the parties of A's booking", async () => {
    for (const path of ["/api/calls/initiate", "/api/calls/log"]) {
      const res = await api("POST", path, {
        token: mallory.token,
        body: { bookingId, callerType: "user", duration: 1, status: "completed" },
      });
      expect([403, 404], `${path} ${res.status} ${res.text}`).toContain(res.status);
      expect(res.text).not.toContain(listing.provider.phone);
    }
    const [c] = await rows(sql`select count(*)::int as n from call_sessions where caller_id = ${mallory.id}`);
    expect(c!.n).toBe(0);
  });

  it("addresses: B cannot edit or delete A's address", async () => {
    expectDenied(
      await api("PUT", `/api/users/addresses/${addressId}`, {
        token: mallory.token,
        body: { type: "home", state: "Goa", city: "Panaji", fullAddress: "hijacked by mallory" },
      }),
    );
    expectDenied(await api("DELETE", `/api/users/addresses/${addressId}`, { token: mallory.token }));
    const [a] = await rows(sql`select full_address from addresses where id = ${addressId}`);
    expect(a!.full_address).toBe("Alice secret street 7");
    const list = await api("GET", "/api/users/addresses", { token: mallory.token });
    expect(list.text).not.toContain("Alice secret street");
  });

  it("notifications: B cannot mark read or delete A's notification", async () => {
    expectDenied(await api("PUT", `/api/notifications/${notificationId}/mark-read`, { token: mallory.token }));
    expectDenied(await api("DELETE", `/api/notifications/${notificationId}`, { token: mallory.token }));
    const [n] = await rows(sql`select read_at from notifications where id = ${notificationId}`);
    expect(n, "A's notification still exists").toBeDefined();
    expect(n!.read_at).toBeNull();
  });

  it("sessions: B cannot revoke A's session", async () => {
    expectDenied(await api("DELETE", `/api/auth/sessions/${alice.sessionId}`, { token: mallory.token }));
    expect((await api("GET", "/api/auth/me", { token: alice.token })).status).toBe(200);
  });

  it("payment orders and refunds: B cannot read A's order or refund, nor refund A's payment", async () => {
    expectDenied(await api("GET", `/api/payments/payment-status/${orderId}`, { token: mallory.token }), `TXN_${orderId}`);
    expectDenied(await api("GET", `/api/payments/refunds/${refundId}`, { token: mallory.token }), orderId);
    expectDenied(await api("GET", `/api/payments/orders/${orderId}/refunds`, { token: mallory.token }), refundId);
    const res = await api("POST", "/api/payments/refund", { token: mallory.token, body: { orderId, reason: "service_cancelled" } });
    expect([403, 404, 409], `${res.status} ${res.text}`).toContain(res.status);
    const [r] = await rows(
      sql`select count(*)::int as n from refunds r join payment_orders o on o.id = r.order_id where o.paytm_order_id = ${orderId}`,
    );
    expect(r!.n, "no refund was added to A's order").toBe(1);
    // The owner does see them.
    expect((await api("GET", `/api/payments/payment-status/${orderId}`, { token: alice.token })).status).toBe(200);
  });
});
