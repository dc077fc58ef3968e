/**
 * A stalled database (issue 11 #7): the Neon endpoint keeps connections open and answers nothing.
 * Every database call has a deadline (DB_TIMEOUT_MS), so routes and readiness answer a retryable 503
 * instead of hanging for minutes, and a transaction cut off by the deadline is aborted by the server
 * (nothing half-written, its locks released) while the database is still stalled.
 *
 * The stall is the local front door's fault hook (scripts/db/stall-fault.mjs), scoped to traffic that
 * carries a marker unique to each test, so files running in parallel are not affected.
 */
import { env } from "cloudflare:test";
import { scrypt } from "@noble/hashes/scrypt.js";
import { sql } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { buildApp } from "../../src/app";
import { createDb, isDbTimeout } from "../../src/db/client";
import { toAppError } from "../../src/http/on-error";
import { type ApiResponse, api, config, istSlot, seedListing, seedUser, testDb } from "../harness";

const rows = async <T extends Record<string, unknown>>(q: ReturnType<typeof sql>) => (await testDb().http.execute<T>(q)).rows;

/** Holds all database traffic that carries `marker` until the returned function lifts the stall. */
async function stallDatabase(marker: string): Promise<() => Promise<void>> {
  const base = `http://${config().NEON_LOCAL_PROXY}/__faults/stall`;
  const on = await fetch(base, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ marker }) });
  expect(on.status).toBe(201);
  await on.body?.cancel();
  return async () => {
    const off = await fetch(`${base}/${encodeURIComponent(marker)}`, { method: "DELETE" });
    await off.body?.cancel();
  };
}

function expectRetryable503(res: { status: number; body: Record<string, unknown>; headers: Headers }) {
  expect(res.status, JSON.stringify(res.body)).toBe(503);
  expect(res.body).toMatchObject({ status: "error", errorCode: "SERVICE_UNAVAILABLE" });
  expect(typeof res.body.message).toBe("string");
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(res.body.retryAfter).toBeGreaterThan(0);
}

// Each case waits out the deadline (DB_TIMEOUT_MS, production's 5 s) on its own marker, so they wait
// at the same time rather than one after another.
describe.concurrent("the database stalls (connections open, no answers)", () => {
  it("a database route answers 503 with Retry-After in the apps' envelope, and works again once the database answers", async () => {
    const customer = await seedUser("user");
    // The session id rides on this user's authentication query only.
    const lift = await stallDatabase(customer.sessionId);
    let res: ApiResponse;
    try {
      res = await api("GET", "/api/bookings", { token: customer.token });
    } finally {
      await lift();
    }
    expectRetryable503(res);
    expect((await api("GET", "/api/bookings", { token: customer.token })).status).toBe(200);
  });

  it("/health/ready answers 503 degraded with Retry-After, and ready once the database answers", async () => {
    const marker = `stall-${crypto.randomUUID()}`;
    // A worker whose connection string carries the marker (application_name), so only its probe stalls.
    const url = new URL(env.DATABASE_URL);
    url.searchParams.set("application_name", marker);
    const scoped = { ...env, DATABASE_URL: url.toString() };
    const app = buildApp();
    const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
    const probe = async () => {
      const r = await app.fetch(new Request("http://127.0.0.1/health/ready"), scoped, ctx);
      return { status: r.status, headers: r.headers, body: (await r.json()) as Record<string, unknown> };
    };
    const lift = await stallDatabase(marker);
    let stalled: Awaited<ReturnType<typeof probe>>;
    try {
      stalled = await probe();
    } finally {
      await lift();
    }
    expect(stalled.status).toBe(503);
    expect(Number(stalled.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(stalled.body).toMatchObject({ status: "degraded", checks: { database: { status: "down" } } });
    const ready = await probe();
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: "ready", checks: { database: { status: "ok" } } });
  });

  it("a write over HTTP under the stall: 503, no row; the app's retry after recovery stores it once", async () => {
    const customer = await seedUser("user");
    const marker = `stall-${crypto.randomUUID()}`;
    const body = { type: "home", fullAddress: `12 Temple Road, ${marker}`, state: "Karnataka" };
    const lift = await stallDatabase(marker);
    let res: ApiResponse;
    try {
      res = await api("POST", "/api/users/addresses", { token: customer.token, body });
    } finally {
      await lift();
    }
    expectRetryable503(res);
    expect(await rows(sql`select id from addresses where user_id = ${customer.id}`)).toHaveLength(0);
    expect((await api("POST", "/api/users/addresses", { token: customer.token, body })).status).toBe(201);
    expect(await rows(sql`select id from addresses where user_id = ${customer.id}`)).toHaveLength(1);
  });

  it("a transaction stalled in its connect fails at the deadline, and the half-open session is closed on the server", async () => {
    const marker = `stall-${crypto.randomUUID()}`;
    const url = new URL(env.DATABASE_URL);
    url.searchParams.set("application_name", marker); // sent in the WebSocket start-up message
    const db = createDb({ ...config(), DATABASE_URL: url.toString() });
    // The marker in two pieces: this query must not carry it whole, or it would be held too.
    const [head, tail] = [marker.slice(0, 10), marker.slice(10)];
    const sessions = async () =>
      (
        await rows<{ n: number }>(
          sql`select count(*)::int as n from pg_stat_activity where application_name = ${head}::text || ${tail}::text`,
        )
      )[0]!.n;
    const lift = await stallDatabase(marker);
    try {
      const pending = db
        .transaction((tx) => tx.execute(sql`select 1`))
        .then(
          () => "answered",
          (err: unknown) => err,
        );
      // Postgres did start the session: the start-up message went through, its answer is held.
      await vi.waitFor(async () => expect(await sessions()).toBe(1), { timeout: 4_000, interval: 50 });
      const outcome = await pending;
      expect(isDbTimeout(outcome)).toBe(true);
      expect(toAppError(outcome)).toMatchObject({ status: 503, code: "SERVICE_UNAVAILABLE", retryAfter: 2 });
      await vi.waitFor(async () => expect(await sessions()).toBe(0), { timeout: 10_000, interval: 100 });
    } finally {
      await lift();
      await db.close();
    }
  });

  it("a booking whose INSERT ran but never answered: 503, the server aborts the transaction (lock released, no row) while the database is still stalled", async () => {
    const listing = await seedListing();
    const customer = await seedUser("user");
    const marker = `stall-${crypto.randomUUID()}`;
    const body = {
      providerServiceId: listing.providerServiceId,
      selectedServices: ["tap-installation"],
      description: `Ring twice ${marker}`,
      ...istSlot(5, 16),
    };
    const [row] = await rows<{ provider_id: string }>(
      sql`select provider_id from provider_services where id = ${listing.providerServiceId}`,
    );
    const providerId = row!.provider_id;
    // The per-customer-and-provider lock that booking creation takes (src/bookings/create.ts).
    const lockHeld = async () => {
      const [r] = await rows<{ n: number }>(
        sql`select count(*)::int as n from pg_locks
             where locktype = 'advisory' and objsubid = 1
               and ((classid::bigint << 32) | objid::bigint) = hashtextextended('booking-cap:' || ${customer.id} || ':' || ${providerId}, 0)`,
      );
      return r!.n > 0;
    };

    const lift = await stallDatabase(marker);
    try {
      const res = await api("POST", "/api/bookings", { token: customer.token, body });
      expectRetryable503(res);
      // Still stalled: the worker dropped the connection, so Postgres rolled the transaction back.
      await vi.waitFor(async () => expect(await lockHeld()).toBe(false), { timeout: 10_000, interval: 100 });
      expect(await rows(sql`select id from bookings where customer_id = ${customer.id}`)).toHaveLength(0);
    } finally {
      await lift();
    }
    const retry = await api("POST", "/api/bookings", { token: customer.token, body });
    expect(retry.status).toBe(201);
    expect(await rows(sql`select id from bookings where customer_id = ${customer.id}`)).toHaveLength(1);
  });
});

// Not concurrent with the stalls: it replaces the isolate's fetch while it runs.
describe("a busy isolate is not a stalled database", () => {
  it("a query whose answer waited behind CPU-bound work of other requests still succeeds (no false timeout)", async () => {
    // One isolate hashes passwords one after the other (a login burst); the database answered long
    // before the isolate could read the answer. Only time spent waiting for the database counts.
    const db = createDb({ ...config(), DB_TIMEOUT_MS: 500 });
    const realFetch = globalThis.fetch;
    // Right after the query leaves, the isolate is busy for several deadlines' worth of CPU.
    globalThis.fetch = ((...args: Parameters<typeof fetch>) => {
      const sent = realFetch(...args);
      for (let i = 0; i < 6; i++) scrypt("busy isolate", "salt", { N: 2 ** 15, r: 8, p: 1, dkLen: 32 });
      return sent;
    }) as typeof fetch;
    try {
      const { rows } = await db.http.execute(sql`select 1 as one`);
      expect(rows[0]).toMatchObject({ one: 1 });
    } finally {
      globalThis.fetch = realFetch;
      await db.close();
    }
  });
});
