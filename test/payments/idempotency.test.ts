import { runInDurableObject } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { api, seedUser, testDb } from "../harness";
import { callsFor, initiateListing, orderStub, ordersFor, providerWithListing } from "./support";

const labour = (token: string, key: string, body: Record<string, unknown> = { amount: 99 }) =>
  api("POST", "/api/payments/initiate-labour-payment", { token, body, headers: { "idempotency-key": key } });

describe("payments idempotency: Idempotency-Key (Stripe semantics) and crash recovery", () => {
  it("same key + same body replays the stored response; another body is 422; keys are per user", async () => {
    const u = await seedUser("user");
    const key = crypto.randomUUID();
    const first = await labour(u.token, key);
    expect(first.status).toBe(200);
    const replay = await labour(u.token, key);
    expect(replay.status).toBe(200);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body).toEqual(first.body);
    const reused = await labour(u.token, key, { amount: 99, serviceName: "labors" });
    expect(reused.status).toBe(422);
    expect(reused.body.errorCode).toBe("IDEMPOTENCY_KEY_REUSED");
    const someoneElse = await seedUser("user");
    const theirs = await labour(someoneElse.token, key);
    expect(theirs.status).toBe(200);
    expect(theirs.body.orderId).not.toBe(first.body.orderId);
    expect(await ordersFor({ userId: u.id })).toHaveLength(1);
  });

  it("a failed request stores nothing, so the same key can be retried with a corrected body", async () => {
    const s = await providerWithListing();
    const key = crypto.randomUUID();
    const wrong = await initiateListing(s, { amount: "1" }, { "idempotency-key": key });
    expect(wrong.status).toBe(400);
    const right = await initiateListing(s, {}, { "idempotency-key": key });
    expect(right.status).toBe(200);
    expect(right.headers.get("idempotent-replayed")).toBeNull();
  });

  it("a key past its 24 hours is claimed afresh (any body); a lock left for over 90 s is taken over", async () => {
    const u = await seedUser("user");
    const key = crypto.randomUUID();
    const first = await labour(u.token, key);
    expect(first.status).toBe(200);
    const db = testDb().http;
    await db.execute(sql`update idempotency_keys set expires_at = now() - interval '1 second' where user_id = ${u.id} and key = ${key}`);
    const fresh = await labour(u.token, key, { amount: 99, serviceName: "labors" });
    expect(fresh.status, fresh.text).toBe(200);
    expect(fresh.headers.get("idempotent-replayed")).toBeNull();
    expect(fresh.body.orderId).toBe(first.body.orderId); // the payer's open order, by its natural key
    const replay = await labour(u.token, key, { amount: 99, serviceName: "labors" });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");

    // A holder that died mid-request: no answer stored, locked long ago.
    await db.execute(
      sql`update idempotency_keys set response_status = null, response_body = null, locked_at = now() - interval '2 minutes' where user_id = ${u.id} and key = ${key}`,
    );
    const takenOver = await labour(u.token, key, { amount: 99, serviceName: "labors" });
    expect(takenOver.status, takenOver.text).toBe(200);
    expect(takenOver.headers.get("idempotent-replayed")).toBeNull();
    const { rows } = await db.execute<{ n: number; response_status: number | null }>(
      sql`select count(*) over ()::int as n, response_status from idempotency_keys where user_id = ${u.id} and key = ${key}`,
    );
    expect(rows).toEqual([{ n: 1, response_status: 200 }]);
  });

  it("concurrent requests with one key: one runs, the others get 409 (or the replay once it finished)", async () => {
    const u = await seedUser("user");
    const key = crypto.randomUUID();
    const rs = await Promise.all(Array.from({ length: 6 }, () => labour(u.token, key)));
    const statuses = rs.map((r) => r.status);
    expect(statuses.every((x) => x === 200 || x === 409)).toBe(true);
    expect(statuses.filter((x) => x === 200).length).toBeGreaterThanOrEqual(1);
    for (const r of rs.filter((x) => x.status === 409)) expect(r.body.errorCode).toBe("IDEMPOTENCY_IN_PROGRESS");
    expect(new Set(rs.filter((r) => r.status === 200).map((r) => r.body.orderId)).size).toBe(1);
    expect(await ordersFor({ userId: u.id })).toHaveLength(1);
  });

  it("an initiate cut off mid-call (in-flight marker, no answer) is re-sent byte-identically: Paytm returns the same token (0002), no second order", async () => {
    const s = await providerWithListing();
    const first = await initiateListing(s);
    const { orderId } = first.body;
    const page1 = await api("GET", new URL(first.body.paytmUrl).pathname + new URL(first.body.paytmUrl).search);
    const token1 = /name="txnToken" value="([^"]+)"/.exec(page1.text)?.[1];
    expect(token1).toBeTruthy();
    // Simulate an eviction after the request reached Paytm but before its answer was recorded.
    await runInDurableObject(orderStub(orderId), (_instance, state) => {
      state.storage.sql.exec("UPDATE state SET phase = 'initiating', txn_token = NULL, token_expires_at = NULL");
      state.storage.sql.exec(
        "INSERT INTO attempts (kind, trigger, state, started_at) VALUES ('initiate', 'initiate', 'in_flight', ?)",
        Date.now(),
      );
    });
    const again = await initiateListing(s);
    expect(again.status).toBe(200);
    expect(again.body.orderId).toBe(orderId);
    const page2 = await api("GET", new URL(again.body.paytmUrl).pathname + new URL(again.body.paytmUrl).search);
    expect(/name="txnToken" value="([^"]+)"/.exec(page2.text)?.[1]).toBe(token1);
    expect((await callsFor(orderId)).initiateTransaction).toBe(2);
    const state = await orderStub(orderId).inspect();
    expect(state.phase).toBe("awaiting_payment");
    expect(state.attempts.map((a) => a.state)).toEqual(["done", "ambiguous", "done"]);
    expect(await ordersFor({ providerServiceId: s.providerServiceId })).toHaveLength(1);
  });
});
