/**
 * The session check rides on each authenticated request's first database call (src/db/client.ts
 * SessionGuard): one round trip for a read, yet a revoked session, a deleted account or a token whose
 * role is not the account's gets 401 on its very next request, with no data and nothing written.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb, isSessionGone } from "../../src/db/client";
import { api, config, seedUser, testDb } from "../harness";

async function revoke(sessionId: string) {
  await testDb().http.execute(sql`update sessions set revoked_at = now(), revoke_reason = 'test' where id = ${sessionId}`);
}

describe("the session check travels with the first query", () => {
  it("a read of a live session costs one round trip", async () => {
    const u = await seedUser("user");
    const r = await api("GET", "/api/users/profile", { token: u.token });
    expect(r.status).toBe(200);
    expect(r.body.data.user.id).toBe(u.id);
    expect(r.headers.get("x-db-round-trips")).toBe("1");
  });

  it("a revoked session's very next read is 401 with no data, in the same one round trip", async () => {
    const u = await seedUser("user");
    expect((await api("GET", "/api/users/profile", { token: u.token })).status).toBe(200);
    await revoke(u.sessionId);
    const r = await api("GET", "/api/users/profile", { token: u.token });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ status: "error", errorCode: "INVALID_TOKEN" });
    expect(r.body.data).toBeUndefined();
    expect(r.text).not.toContain(u.phone);
    expect(r.headers.get("x-db-round-trips")).toBe("1");
  });

  it("a revoked session's write is refused and writes nothing", async () => {
    const u = await seedUser("user");
    await revoke(u.sessionId);
    const r = await api("PUT", "/api/users/profile", { token: u.token, body: { fullName: "Not Written" } });
    expect(r.status).toBe(401);
    const [row] = (await testDb().http.execute<{ full_name: string }>(sql`select full_name from users where id = ${u.id}`)).rows;
    expect(row!.full_name).toBe(u.fullName);
  });

  it("a deleted account's token is refused on reads of any capability", async () => {
    const u = await seedUser("user");
    await testDb().http.execute(sql`update users set deleted_at = now() where id = ${u.id}`);
    for (const path of ["/api/users/profile", "/api/bookings", "/api/notifications", "/api/payments/labour-access-status"]) {
      const r = await api("GET", path, { token: u.token });
      expect(r.status, path).toBe(401);
      expect(r.body.data, path).toBeUndefined();
    }
  });

  it("a query sent while the check is in flight waits for it; after a refusal nothing else runs", async () => {
    const u = await seedUser("user");
    await revoke(u.sessionId);
    const db = createDb(config());
    db.requireSession({ sessionId: u.sessionId, userId: u.id, role: "user" });
    const [read, write] = await Promise.allSettled([
      db.http.execute(sql`select 1`),
      db.http.execute(sql`update users set full_name = 'Not Written' where id = ${u.id}`),
    ]);
    expect(read.status).toBe("rejected");
    expect(write.status).toBe("rejected");
    expect(isSessionGone((write as PromiseRejectedResult).reason)).toBe(true);
    // The write never left: one round trip, the refused check with its read.
    expect(db.roundTrips()).toBe(1);
    await expect(db.ensureSession()).rejects.toSatisfy(isSessionGone);
    const [row] = (await testDb().http.execute<{ full_name: string }>(sql`select full_name from users where id = ${u.id}`)).rows;
    expect(row!.full_name).toBe(u.fullName);
  });

  it("ensureSession confirms an armed check on its own when no query carried it", async () => {
    const u = await seedUser("user");
    const db = createDb(config());
    db.requireSession({ sessionId: u.sessionId, userId: u.id, role: "user" });
    await db.ensureSession();
    expect(db.roundTrips()).toBe(1);
    await db.ensureSession();
    await db.http.execute(sql`select 1`);
    expect(db.roundTrips()).toBe(2);
  });
});
