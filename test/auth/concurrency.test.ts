import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { api, lastOtp, randomIp, randomPhone, signupViaApi, TEST_PASSWORD, testDb } from "../harness";

/** The apps double-tap and fire refreshes without de-duplication (client-contract §2.4). */
describe("concurrency", () => {
  it("two concurrent verify-otp calls for one pending signup create exactly one account", async () => {
    const phone = randomPhone();
    const headers = { "cf-connecting-ip": randomIp() };
    const s = await api("POST", "/api/auth/signup", {
      headers,
      body: { fullName: "Twin Test", email: `twin.${phone}@example.com`, phone, password: TEST_PASSWORD, role: "user" },
    });
    expect(s.status).toBe(200);
    const otp = await lastOtp(phone, "signup");
    const results = await Promise.all([1, 2, 3].map(() => api("POST", "/api/auth/verify-otp", { headers, body: { phone, otp } })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((x) => x === 200)).toHaveLength(1);
    expect(statuses.filter((x) => x >= 400 && x < 500)).toHaveLength(2);
    const { rows } = await testDb().http.execute<{ n: number }>(sql`select count(*)::int as n from users where phone = ${phone}`);
    expect(rows[0]!.n).toBe(1);
  });

  it("two concurrent refreshes with one token both get the same new pair", async () => {
    const u = await signupViaApi("user");
    const [a, b] = await Promise.all([
      api("POST", "/api/auth/refresh", { body: { refreshToken: u.refreshToken } }),
      api("POST", "/api/auth/refresh", { body: { refreshToken: u.refreshToken } }),
    ]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(a.body.data.refreshToken).toBe(b.body.data.refreshToken);
    expect(a.body.data.accessToken).toBe(b.body.data.accessToken);
    expect(a.body.data.refreshTokenExpiresAt).toBe(b.body.data.refreshTokenExpiresAt);
    expect(a.body.data.refreshToken).not.toBe(u.refreshToken);
    // One rotation happened: the token has exactly one successor, and the new pair works.
    const { rows } = await testDb().http.execute<{ n: number }>(
      sql`select count(*)::int as n from refresh_tokens where user_id = ${u.id} and parent_id is not null`,
    );
    expect(rows[0]!.n).toBe(1);
    expect((await api("GET", "/api/auth/me", { token: a.body.data.accessToken })).status).toBe(200);
    const next = await api("POST", "/api/auth/refresh", { body: { refreshToken: a.body.data.refreshToken } });
    expect(next.status).toBe(200);
  });

  it("a late duplicate inside the window gets the newest token of the chain, so the client is not logged out", async () => {
    const u = await signupViaApi("user");
    const b = await api("POST", "/api/auth/refresh", { body: { refreshToken: u.refreshToken } });
    const c = await api("POST", "/api/auth/refresh", { body: { refreshToken: b.body.data.refreshToken } });
    expect(c.status).toBe(200);
    // A request that still carried the first token arrives last.
    const late = await api("POST", "/api/auth/refresh", { body: { refreshToken: u.refreshToken } });
    expect(late.status).toBe(200);
    expect(late.body.data.refreshToken).toBe(c.body.data.refreshToken);
    expect(late.body.data.accessToken).toBe(c.body.data.accessToken);
    expect((await api("POST", "/api/auth/refresh", { body: { refreshToken: late.body.data.refreshToken } })).status).toBe(200);
  });

  it("a stolen rotated token used after the grace window revokes the whole family", async () => {
    const u = await signupViaApi("provider");
    const rotated = await api("POST", "/api/auth/refresh", { body: { refreshToken: u.refreshToken } });
    expect(rotated.status).toBe(200);
    const legit = rotated.body.data;
    // Age the rotation past the 10 s grace window instead of sleeping.
    const db = testDb();
    await db.http.execute(
      sql`update refresh_tokens set rotated_at = rotated_at - interval '1 minute' where user_id = ${u.id} and rotated_at is not null`,
    );

    const thief = await api("POST", "/api/auth/refresh", { body: { refreshToken: u.refreshToken } });
    expect(thief.status).toBe(401);
    expect(thief.body).toMatchObject({ status: "error", errorCode: "INVALID_TOKEN" });
    // The legitimate holder's newer tokens die with the family: the session is over.
    expect((await api("POST", "/api/auth/refresh", { body: { refreshToken: legit.refreshToken } })).status).toBe(401);
    expect((await api("GET", "/api/auth/me", { token: legit.accessToken })).status).toBe(401);
    expect((await api("GET", "/api/auth/me", { token: u.accessToken })).status).toBe(401);
    const { rows } = await db.http.execute<{ n: number }>(
      sql`select count(*)::int as n from security_events where user_id = ${u.id} and event_type = 'refresh_reuse' and severity = 'critical'`,
    );
    expect(rows[0]!.n).toBe(1);
    // Logging in again still works: only that family was revoked.
    const again = await api("POST", "/api/auth/login", {
      headers: { "cf-connecting-ip": u.ip },
      body: { phone: u.phone, password: TEST_PASSWORD, role: "provider" },
    });
    expect(again.status).toBe(200);
  });

  it("concurrent wrong OTPs are each counted once and lock at five", async () => {
    const phone = randomPhone();
    const headers = { "cf-connecting-ip": randomIp() };
    await api("POST", "/api/auth/signup", {
      headers,
      body: { fullName: "Guess Test", email: `guess.${phone}@example.com`, phone, password: TEST_PASSWORD, role: "user" },
    });
    const real = await lastOtp(phone, "signup");
    const wrong = String((Number(real) + 1) % 1_000_000).padStart(6, "0");
    await Promise.all([1, 2, 3, 4, 5].map(() => api("POST", "/api/auth/verify-otp", { headers, body: { phone, otp: wrong } })));
    const after = await api("POST", "/api/auth/verify-otp", { headers, body: { phone, otp: real } });
    expect(after.body.locked).toBe(true);
    expect(after.status).toBe(429);
  });
});
