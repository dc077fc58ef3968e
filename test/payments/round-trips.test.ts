/**
 * Database round trips of every payment call the apps make, as the worker counts them
 * (X-Db-Round-Trips: SQL-over-HTTP calls, plus handshake and statements of an interactive
 * transaction). The session check rides on each authenticated request's first call. Work done by the
 * order's PaymentOrder Durable Object runs on its own handle; `inspect().dbRoundTrips[op]` is that
 * count for the object's last operation of that kind.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { signAccessToken } from "../../src/lib/jwt";
import { type ApiResponse, api, config, type SeededUser, seedUser, testDb } from "../harness";
import {
  callsFor,
  initiateListing,
  orderStub,
  ordersFor,
  payAtPaytm,
  postCallback,
  postWebhook,
  providerWithListing,
  webhooksFor,
} from "./support";

const roundTrips = (r: ApiResponse) => Number(r.headers.get("x-db-round-trips"));
const objectRoundTrips = async (orderId: string, op: string) => (await orderStub(orderId).inspect()).dbRoundTrips[op];
const initiateLabour = (token: string, headers: Record<string, string> = {}) =>
  api("POST", "/api/payments/initiate-labour-payment", {
    token,
    body: { amount: 99, serviceName: "labors", paymentMethod: "paytm" },
    headers,
  });

/** Another live session of the same account, with its own access token. */
async function secondSession(u: SeededUser): Promise<string> {
  const { rows } = await testDb().http.execute<{ id: string }>(sql`insert into sessions (user_id) values (${u.id}) returning id`);
  return (await signAccessToken(config().JWT_SECRET, { userId: u.id, role: u.role, sessionId: rows[0]!.id })).token;
}

const revoke = (sessionId: string) =>
  testDb().http.execute(sql`update sessions set revoked_at = now(), revoke_reason = 'test' where id = ${sessionId}`);

describe("payments: database round trips per call", () => {
  it("provider: initiate 2 (object 1), again 1, WebView page 1, callback 1 (object applies it), verify 1, history 1, status 1", async () => {
    const s = await providerWithListing();
    const init = await initiateListing(s);
    expect(init.status).toBe(200);
    const { orderId, paytmUrl } = init.body;
    // The listing and the payer's open order (with the session check), then the new order's claim.
    expect(roundTrips(init)).toBe(2);
    // The object reused the order row the route had read: only "initiated" is written.
    expect(await objectRoundTrips(orderId, "initiate")).toBe(1);

    const again = await initiateListing(s);
    expect(again.body.orderId).toBe(orderId);
    expect(roundTrips(again)).toBe(1);
    expect(await objectRoundTrips(orderId, "initiate")).toBe(0);

    const page = await api("GET", new URL(paytmUrl).pathname + new URL(paytmUrl).search);
    expect(page.status).toBe(200);
    expect(roundTrips(page)).toBe(1);
    expect(await objectRoundTrips(orderId, "checkout")).toBe(0); // the stored txnToken

    const form = await payAtPaytm(orderId, "success");
    const cb = await postCallback(form.formBody);
    expect(cb.text).toContain("Payment successful");
    expect(roundTrips(cb)).toBe(1);
    // The callback's event, then applying the payment: one interactive transaction (handshake, BEGIN,
    // locks, duplicate check, grant, paid, attempt, events, notification + outbox, COMMIT).
    expect(await objectRoundTrips(orderId, "callback")).toBe(13);

    const v = await api("POST", "/api/payments/verify-paytm", { token: s.provider.token, body: { orderId } });
    expect(v.status).toBe(200);
    expect(roundTrips(v)).toBe(1);
    expect(await objectRoundTrips(orderId, "verify")).toBe(0);

    const hist = await api("GET", "/api/payments/transaction-history", { token: s.provider.token });
    expect(hist.body.data.transactions[0]).toMatchObject({ order_id: orderId, status: "completed" });
    expect(hist.body.data.pagination.total).toBe(1);
    expect(roundTrips(hist)).toBe(1);

    const status = await api("GET", `/api/payments/payment-status/${orderId}`, { token: s.provider.token });
    expect(status.body.data.transaction).toMatchObject({ order_id: orderId, status: "completed" });
    expect(roundTrips(status)).toBe(1);
  });

  it("customer: initiate 2, verify 1 (the object applies the payment in one transaction), webhook 1, access status 1, history 1", async () => {
    const u = await seedUser("user");
    const init = await initiateLabour(u.token);
    expect(init.status).toBe(200);
    const { orderId } = init.body;
    expect(roundTrips(init)).toBe(2);
    expect(await objectRoundTrips(orderId, "initiate")).toBe(1);

    await payAtPaytm(orderId, "success");
    const v = await api("POST", "/api/payments/verify-labour-payment", { token: u.token, body: { orderId } });
    expect(v.status).toBe(200);
    expect(v.body.message).toMatch(/activated/);
    expect(roundTrips(v)).toBe(1);
    expect(await objectRoundTrips(orderId, "verify")).toBe(12);

    const hooks = await webhooksFor(orderId);
    const w = await postWebhook(hooks[0]!);
    expect(w.status).toBe(200);
    expect(roundTrips(w)).toBe(1);
    expect(await objectRoundTrips(orderId, "webhook")).toBe(1); // its event; the order is already paid

    const again = await api("POST", "/api/payments/verify-labour-payment", { token: u.token, body: { orderId } });
    expect(again.body.message).toMatch(/already processed/i);
    expect(roundTrips(again)).toBe(1);
    expect(await objectRoundTrips(orderId, "verify")).toBe(0);

    const access = await api("GET", "/api/payments/labour-access-status", { token: u.token });
    expect(access.body.data).toMatchObject({ hasAccess: true, accessStatus: "active" });
    expect(roundTrips(access)).toBe(1);

    const hist = await api("GET", "/api/payments/labour-transaction-history?limit=100", { token: u.token });
    expect(hist.body.data.transactions).toHaveLength(1);
    expect(roundTrips(hist)).toBe(1);
  });

  it("retry after a failed payment: 2 (the old order with its listing's price, then the new order's claim)", async () => {
    const s = await providerWithListing();
    const { orderId } = (await initiateListing(s)).body;
    await postCallback((await payAtPaytm(orderId, "failure")).formBody);
    expect(await objectRoundTrips(orderId, "callback")).toBe(9); // the event, then markFailed's transaction
    const retry = await api("POST", "/api/payments/retry-payment", { token: s.provider.token, body: { orderId } });
    expect(retry.status).toBe(200);
    expect(retry.body.orderId).not.toBe(orderId);
    expect(roundTrips(retry)).toBe(2);
    expect(await objectRoundTrips(retry.body.orderId, "initiate")).toBe(1);
  });

  it("an Idempotency-Key's claim rides on the first call: a new order costs 3 (storing the answer), its replay 1", async () => {
    const u = await seedUser("user");
    const key = { "idempotency-key": crypto.randomUUID() };
    const first = await initiateLabour(u.token, key);
    expect(first.status).toBe(200);
    expect(roundTrips(first)).toBe(3);
    const replay = await initiateLabour(u.token, key);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body).toEqual(first.body);
    expect(roundTrips(replay)).toBe(1);
  });

  it("a revoked session's initiate is 401 in one round trip: no order, no Paytm call, and the payer's rate limit is not spent", async () => {
    const u = await seedUser("user");
    const other = await secondSession(u);
    await revoke(u.sessionId);
    // More than PAYMENT_LIMITER's 10 a minute: had the limiter acted, these would turn into 429s.
    for (let i = 0; i < 12; i++) {
      const r = await initiateLabour(u.token);
      expect(r.status).toBe(401);
      expect(r.body.errorCode).toBe("INVALID_TOKEN");
      expect(roundTrips(r)).toBe(1);
    }
    expect(await ordersFor({ userId: u.id })).toHaveLength(0);
    // The account's live session still has its whole budget.
    const ok = await initiateLabour(other);
    expect(ok.status).toBe(200);

    const s = await providerWithListing();
    await revoke(s.provider.sessionId);
    const listing = await initiateListing(s);
    expect(listing.status).toBe(401);
    expect(roundTrips(listing)).toBe(1);
    expect(await ordersFor({ providerServiceId: s.providerServiceId })).toHaveLength(0);
  });

  it("a revoked session's verify is 401 in one round trip and never reaches the order's object", async () => {
    const u = await seedUser("user");
    const other = await secondSession(u);
    const { orderId } = (await initiateLabour(u.token)).body;
    await payAtPaytm(orderId, "success");
    const before = await callsFor(orderId);
    await revoke(u.sessionId);
    const v = await api("POST", "/api/payments/verify-labour-payment", { token: u.token, body: { orderId } });
    expect(v.status).toBe(401);
    expect(roundTrips(v)).toBe(1);
    expect((await callsFor(orderId)).orderStatus ?? 0).toBe(before.orderStatus ?? 0);
    expect((await ordersFor({ userId: u.id }))[0]!.status).toBe("pending");
    // The live session verifies it.
    const ok = await api("POST", "/api/payments/verify-labour-payment", { token: other, body: { orderId } });
    expect(ok.status).toBe(200);
  });
});
