import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { api, lastOtp, randomIp, randomPhone, signupViaApi, TEST_PASSWORD, testDb } from "../harness";

/** The apps double-tap and fire refreshes without de-duplication (docs/api-contract.md §2.2). */
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

  // Parallel guessing: every guess comes from its own address, so neither AUTH_LIMITER (20/min per
  // address) nor the per-address login ceiling is what stops it; only the per-account lock can.
  const wrongCodes = (real: string, n: number) =>
    Array.from({ length: n }, (_, i) => String((Number(real) + 1 + i) % 1_000_000).padStart(6, "0"));

  async function pendingSignup() {
    const phone = randomPhone();
    const s = await api("POST", "/api/auth/signup", {
      headers: { "cf-connecting-ip": randomIp() },
      body: { fullName: "Parallel Guess", email: `pg.${phone}@example.com`, phone, password: TEST_PASSWORD, role: "user" },
    });
    expect(s.status).toBe(200);
    return { phone, real: await lastOtp(phone, "signup") };
  }

  /** Wrong codes compared against the challenge (the lock's ledger). */
  async function otpGuessesEvaluated(phone: string) {
    const { rows } = await testDb().http.execute<{ attempts: number; users: number }>(
      sql`select coalesce(sum(attempts), 0)::int as attempts, (select count(*)::int from users where phone = ${phone}) as users
            from otp_challenges where phone = ${phone}`,
    );
    return rows[0]!;
  }

  it("19 wrong OTPs at once evaluate at most 5; the right code sent after them is refused", async () => {
    const { phone, real } = await pendingSignup();
    const guesses = await Promise.all(
      wrongCodes(real, 19).map((otp) =>
        api("POST", "/api/auth/verify-otp", { headers: { "cf-connecting-ip": randomIp() }, body: { phone, otp } }),
      ),
    );
    // Each guess is judged by the account lock, not throttled by an address limit.
    for (const g of guesses) expect(["INVALID_OTP", "ACCOUNT_LOCKED"], g.text).toContain(g.body.errorCode);
    expect(guesses.filter((g) => g.body.errorCode === "INVALID_OTP").length).toBeLessThanOrEqual(5);
    for (const g of guesses.filter((x) => x.body.locked)) {
      expect(g.status).toBe(429);
      expect(g.body).toMatchObject({ errorCode: "ACCOUNT_LOCKED", remainingAttempts: 0 });
      expect(g.body.lockoutTimeRemaining).toBeGreaterThan(0);
      expect(g.body.message).toMatch(/Too many failed attempts.*\d+:\d\d/);
    }
    const right = await api("POST", "/api/auth/verify-otp", { headers: { "cf-connecting-ip": randomIp() }, body: { phone, otp: real } });
    expect(right.status).toBe(429);
    expect(right.body).toMatchObject({ errorCode: "ACCOUNT_LOCKED", locked: true });
    const ledger = await otpGuessesEvaluated(phone);
    expect(ledger.attempts, "wrong codes compared").toBeLessThanOrEqual(5);
    expect(ledger.users).toBe(0);
  });

  it("19 wrong OTPs and the right one at once: at most 5 are evaluated, whichever wins", async () => {
    const { phone, real } = await pendingSignup();
    const codes = [...wrongCodes(real, 19), real];
    const answers = await Promise.all(
      codes.map((otp) => api("POST", "/api/auth/verify-otp", { headers: { "cf-connecting-ip": randomIp() }, body: { phone, otp } })),
    );
    for (const a of answers) expect([200, 400, 429], a.text).toContain(a.status);
    expect(answers.filter((a) => a.body.errorCode === "RATE_LIMITED")).toHaveLength(0);
    const signedUp = answers[19]!.status === 200;
    const ledger = await otpGuessesEvaluated(phone);
    // The right code wins only if it reserved one of the first five attempts (it then gives its
    // reservation back, which one more wrong code may take); the challenge is used up after that.
    expect(ledger.attempts, "wrong codes compared").toBeLessThanOrEqual(5);
    expect(answers.filter((a) => a.body.errorCode === "INVALID_OTP").length).toBeLessThanOrEqual(5);
    expect(ledger.users).toBe(signedUp ? 1 : 0);
  });

  it("19 wrong passwords at once evaluate at most 5; the right one sent after them is refused", async () => {
    const u = await signupViaApi("user");
    const guesses = await Promise.all(
      Array.from({ length: 19 }, (_, i) =>
        api("POST", "/api/auth/login", {
          headers: { "cf-connecting-ip": randomIp() },
          body: { phone: u.phone, password: `wrong-password-${i}`, role: "user" },
        }),
      ),
    );
    // Each guess is judged by the account lock, not throttled by an address limit.
    for (const g of guesses) expect(["INVALID_CREDENTIALS", "ACCOUNT_LOCKED"], g.text).toContain(g.body.errorCode);
    expect(guesses.filter((g) => g.body.errorCode === "INVALID_CREDENTIALS").length).toBeLessThanOrEqual(5);
    for (const g of guesses.filter((x) => x.status === 423)) {
      expect(g.body).toMatchObject({ errorCode: "ACCOUNT_LOCKED", locked: true, remainingAttempts: 0 });
      expect(g.body.message).toMatch(/Too many failed attempts.*\d+:\d\d/);
    }
    const right = await api("POST", "/api/auth/login", {
      headers: { "cf-connecting-ip": randomIp() },
      body: { phone: u.phone, password: TEST_PASSWORD, role: "user" },
    });
    expect(right.status).toBe(423);
    expect(right.text).not.toContain("accessToken");
    const { rows } = await testDb().http.execute<{ n: number }>(
      sql`select count(*)::int as n from login_attempts where phone = ${u.phone} and outcome = 'failed'`,
    );
    expect(rows[0]!.n, "wrong passwords checked").toBeLessThanOrEqual(5);
  });

  it("19 wrong passwords and the right one at once: at most 5 are evaluated, whichever wins", async () => {
    const u = await signupViaApi("user");
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api("POST", "/api/auth/login", {
          headers: { "cf-connecting-ip": randomIp() },
          body: { phone: u.phone, password: i === 19 ? TEST_PASSWORD : `wrong-password-${i}`, role: "user" },
        }),
      ),
    );
    for (const a of answers) expect([200, 401, 423], a.text).toContain(a.status);
    const loggedIn = answers[19]!.status === 200;
    const { rows } = await testDb().http.execute<{ n: number }>(
      sql`select count(*)::int as n from login_attempts where phone = ${u.phone} and outcome = 'failed'`,
    );
    // The right password wins only if it reserved one of the first five attempts, after at most four
    // wrong ones; a successful login starts a new window, which allows five more.
    expect(rows[0]!.n, "wrong passwords checked").toBeLessThanOrEqual(loggedIn ? 4 + 5 : 5);
    expect(answers.filter((a) => a.body.errorCode === "INVALID_CREDENTIALS").length).toBeLessThanOrEqual(loggedIn ? 4 + 4 : 5);
  });
});
