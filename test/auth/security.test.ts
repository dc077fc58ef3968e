import { hashSync } from "bcryptjs";
import { sql } from "drizzle-orm";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { signAccessToken } from "../../src/lib/jwt";
import { api, config, lastOtp, randomIp, randomPhone, seedUser, signupViaApi, TEST_PASSWORD, testDb } from "../harness";

const b64url = (o: unknown) => btoa(JSON.stringify(o)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function expect401(token: string) {
  const r = await api("GET", "/api/auth/me", { token });
  expect(r.status).toBe(401);
  expect(r.headers.get("content-type")).toMatch(/application\/json/);
  expect(r.body).toMatchObject({ status: "error" });
  expect(typeof r.body.message).toBe("string");
  expect(["INVALID_TOKEN", "TOKEN_EXPIRED", "UNAUTHORIZED"]).toContain(r.body.errorCode);
}

describe("access tokens", () => {
  it("tampered, expired, alg:none and wrong-secret JWTs get 401 in the envelope", async () => {
    const u = await seedUser("user");
    expect((await api("GET", "/api/auth/me", { token: u.token })).status).toBe(200);
    const [h, p, s] = u.token.split(".");
    const claims = JSON.parse(atob(p!.replace(/-/g, "+").replace(/_/g, "/")));

    // Tampered payload (role escalated), original signature.
    await expect401(`${h}.${b64url({ ...claims, role: "admin" })}.${s}`);
    // alg: none, no signature.
    await expect401(`${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`);
    // Signed with another secret.
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new TextEncoder().encode("x".repeat(48)));
    await expect401(forged);
    // Expired (issued 16 minutes ago, 15-minute lifetime).
    const old = await signAccessToken(
      config().JWT_SECRET,
      { userId: u.id, role: "user", sessionId: u.sessionId },
      Date.now() - 16 * 60 * 1000,
    );
    const expired = await api("GET", "/api/auth/me", { token: old.token });
    expect(expired.status).toBe(401);
    expect(expired.body.errorCode).toBe("TOKEN_EXPIRED");
    // Garbage and a missing header.
    await expect401("not-a-jwt");
    const none = await api("GET", "/api/auth/me");
    expect(none.status).toBe(401);
  });

  it("a refresh token is not an access token, and a revoked session's tokens are dead", async () => {
    const u = await signupViaApi("user");
    await expect401(u.refreshToken);
    const other = await api("POST", "/api/auth/login", {
      headers: { "cf-connecting-ip": u.ip },
      body: { phone: u.phone, password: u.password, role: "user" },
    });
    const sessions = await api("GET", "/api/auth/sessions", { token: other.body.data.accessToken });
    const signupSession = sessions.body.data.sessions.find((s: { isCurrent: boolean }) => !s.isCurrent);
    expect(signupSession).toBeDefined();
    // Ending the other device's session from this one.
    expect((await api("DELETE", `/api/auth/sessions/${signupSession.id}`, { token: other.body.data.accessToken })).status).toBe(200);
    await expect401(u.accessToken);
    expect((await api("POST", "/api/auth/refresh", { body: { refreshToken: u.refreshToken } })).status).toBe(401);
    expect((await api("GET", "/api/auth/me", { token: other.body.data.accessToken })).status).toBe(200);
    // Someone else's session id is simply not found.
    const stranger = await seedUser("user");
    expect((await api("DELETE", `/api/auth/sessions/${stranger.sessionId}`, { token: other.body.data.accessToken })).status).toBe(404);
    expect((await api("GET", "/api/auth/me", { token: stranger.token })).status).toBe(200);
    // logout-all ends the rest.
    expect((await api("POST", "/api/auth/logout-all", { token: other.body.data.accessToken })).status).toBe(200);
    await expect401(other.body.data.accessToken);
  });

  it("forged, garbled and unknown refresh tokens get 401 without touching the account", async () => {
    const u = await signupViaApi("user");
    const [id] = u.refreshToken.split(".");
    for (const bad of [`${id}.${"A".repeat(43)}`, "garbage", `${crypto.randomUUID()}.${u.refreshToken.split(".")[1]}`]) {
      const r = await api("POST", "/api/auth/refresh", { body: { refreshToken: bad } });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ status: "error", errorCode: "INVALID_TOKEN" });
    }
    expect((await api("POST", "/api/auth/refresh", { body: { refreshToken: u.refreshToken } })).status).toBe(200);
  });
});

describe("passwords never leave the server", () => {
  it("validation errors never echo the submitted password", async () => {
    const secret = "Hunter2-very-secret-password-that-is-far-too-long-".repeat(3);
    const bodies = [
      { fullName: "X", email: "bad", phone: "12", password: secret, role: "user" },
      { fullName: "Valid Name", email: "ok@example.com", phone: randomPhone(), password: secret, role: "user" },
      { fullName: "Valid Name", email: "ok@example.com", phone: randomPhone(), password: "abc", role: "hacker" },
    ];
    for (const body of bodies) {
      const r = await api("POST", "/api/auth/signup", { headers: { "cf-connecting-ip": randomIp() }, body });
      expect(r.status).toBe(400);
      expect(r.body.errorCode).toBe("VALIDATION_ERROR");
      expect(Array.isArray(r.body.errors)).toBe(true);
      expect(r.text).not.toContain(secret.slice(0, 20));
      expect(r.text).not.toContain('"abc"');
    }
    const login = await api("POST", "/api/auth/login", {
      headers: { "cf-connecting-ip": randomIp() },
      body: { phone: "x", password: secret },
    });
    expect(login.status).toBe(400);
    expect(login.text).not.toContain(secret.slice(0, 20));
    const reset = await api("POST", "/api/auth/forgot-password/reset", {
      headers: { "cf-connecting-ip": randomIp() },
      body: { phone: randomPhone(), resetToken: "short", newPassword: secret },
    });
    expect(reset.status).toBe(400);
    expect(reset.text).not.toContain(secret.slice(0, 20));
  });

  it("no response carries a password hash", async () => {
    const u = await signupViaApi("provider");
    const headers = { "cf-connecting-ip": u.ip };
    const login = await api("POST", "/api/auth/login", { headers, body: { phone: u.phone, password: TEST_PASSWORD, role: "provider" } });
    const t = login.body.data.accessToken;
    const responses = [
      login,
      await api("POST", "/api/auth/refresh", { body: { refreshToken: login.body.data.refreshToken } }),
      await api("GET", "/api/auth/me", { token: t }),
      await api("GET", "/api/users/profile", { token: t }),
      await api("PUT", "/api/users/profile", { token: t, body: { email: `new.${u.phone}@example.com` } }),
      await api("GET", "/api/auth/sessions", { token: t }),
    ];
    for (const r of responses) {
      expect(r.status).toBe(200);
      expect(r.text).not.toMatch(/\$scrypt\$|\$2[aby]\$|password/i);
    }
  });
});

describe("login", () => {
  it("five wrong passwords lock the account for 15 minutes, counted once each; the right one is refused meanwhile", async () => {
    const u = await signupViaApi("user");
    const headers = { "cf-connecting-ip": randomIp() };
    const wrong = { phone: u.phone, password: "wrong-password", role: "user" };
    for (let i = 1; i <= 4; i++) {
      const r = await api("POST", "/api/auth/login", { headers, body: wrong });
      expect(r.status).toBe(401);
      expect(r.body.remainingAttempts).toBe(5 - i);
    }
    const fifth = await api("POST", "/api/auth/login", { headers, body: wrong });
    expect(fifth.status).toBe(423);
    expect(fifth.body).toMatchObject({ errorCode: "ACCOUNT_LOCKED", locked: true, lockoutTimeRemaining: 900 });
    expect(fifth.body.message).toMatch(/Too many failed attempts.*15:00/);

    const right = await api("POST", "/api/auth/login", { headers, body: { ...wrong, password: TEST_PASSWORD } });
    expect(right.status).toBe(423);
    expect(right.body.lockoutTimeRemaining).toBeGreaterThan(0);
    expect(right.body.lockoutTimeRemaining).toBeLessThanOrEqual(900);
    expect(right.text).not.toContain("accessToken");

    const db = testDb();
    const { rows } = await db.http.execute<{ outcome: string; n: number }>(
      sql`select outcome::text, count(*)::int as n from login_attempts where phone = ${u.phone} group by outcome`,
    );
    const by = Object.fromEntries(rows.map((r) => [r.outcome, r.n]));
    expect(by.failed).toBe(5); // one row per wrong password (upstream wrote two)
    expect(by.blocked).toBe(1); // the attempt during the lock is not a new failure

    // When the lock has run out, the right password works again.
    await db.http.execute(
      sql`update login_lockouts set locked_until = now() - interval '1 second', window_started_at = window_started_at - interval '16 minutes'
           where phone = ${u.phone}`,
    );
    expect((await api("POST", "/api/auth/login", { headers, body: { ...wrong, password: TEST_PASSWORD } })).status).toBe(200);
  });

  it("a successful login starts a new window, and a password reset lifts the lock", async () => {
    const u = await signupViaApi("user");
    const headers = { "cf-connecting-ip": randomIp() };
    const wrong = { phone: u.phone, password: "wrong-password", role: "user" };
    for (let i = 0; i < 4; i++) expect((await api("POST", "/api/auth/login", { headers, body: wrong })).status).toBe(401);
    expect((await api("POST", "/api/auth/login", { headers, body: { ...wrong, password: TEST_PASSWORD } })).status).toBe(200);
    const afterSuccess = await api("POST", "/api/auth/login", { headers, body: wrong });
    expect(afterSuccess.body.remainingAttempts).toBe(4);

    for (let i = 0; i < 4; i++) await api("POST", "/api/auth/login", { headers, body: wrong });
    expect((await api("POST", "/api/auth/login", { headers, body: { ...wrong, password: TEST_PASSWORD } })).status).toBe(423);
    expect((await api("POST", "/api/auth/forgot-password", { headers, body: { phone: u.phone, role: "user" } })).status).toBe(200);
    const v = await api("POST", "/api/auth/forgot-password/verify", {
      headers,
      body: { phone: u.phone, otp: await lastOtp(u.phone, "password_reset"), role: "user" },
    });
    expect(v.status).toBe(200);
    const newPassword = "Fresh-Passw0rd";
    const reset = await api("POST", "/api/auth/forgot-password/reset", {
      headers,
      body: { phone: u.phone, resetToken: v.body.data.resetToken, newPassword, role: "user" },
    });
    expect(reset.status).toBe(200);
    expect((await api("POST", "/api/auth/login", { headers, body: { ...wrong, password: newPassword } })).status).toBe(200);
  });

  it("an unknown phone and a wrong password look the same", async () => {
    const u = await signupViaApi("user");
    const headers = { "cf-connecting-ip": randomIp() };
    const a = await api("POST", "/api/auth/login", { headers, body: { phone: u.phone, password: "nope-nope", role: "user" } });
    const b = await api("POST", "/api/auth/login", { headers, body: { phone: randomPhone(), password: "nope-nope", role: "user" } });
    const c = await api("POST", "/api/auth/login", { headers, body: { phone: u.phone, password: TEST_PASSWORD, role: "admin" } });
    for (const r of [a, b, c]) {
      expect(r.status).toBe(401);
      expect(r.body.message).toBe("Invalid phone number or password");
      expect(r.body.errorCode).toBe("INVALID_CREDENTIALS");
    }
  });

  it("one address is throttled with 429 and retryAfter in seconds", async () => {
    const headers = { "cf-connecting-ip": randomIp() };
    const phone = randomPhone();
    const results = [];
    for (let i = 0; i < 22; i++)
      results.push(await api("POST", "/api/auth/login", { headers, body: { phone, password: "x-wrong-x", role: "user" } }));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.body.retryAfter).toBeGreaterThan(0);
    expect(limited[0]!.body.retryAfter).toBeLessThanOrEqual(60);
    // Another address is unaffected.
    const other = await api("POST", "/api/auth/login", {
      headers: { "cf-connecting-ip": randomIp() },
      body: { phone, password: "x-wrong-x", role: "user" },
    });
    expect(other.status).not.toBe(429);
  });

  it("blocked identifiers are refused at signup and login with 403", async () => {
    const u = await signupViaApi("user");
    const db = testDb();
    await db.http.execute(
      sql`insert into blocked_identifiers (identifier_type, value, role, reason) values ('phone', ${u.phone}, 'user', 'test')`,
    );
    const login = await api("POST", "/api/auth/login", {
      headers: { "cf-connecting-ip": randomIp() },
      body: { phone: u.phone, password: TEST_PASSWORD, role: "user" },
    });
    expect(login.status).toBe(403);
    expect(login.body.errorCode).toBe("ACCOUNT_BLOCKED");

    const email = `blocked.${randomPhone()}@example.com`;
    await db.http.execute(
      sql`insert into blocked_identifiers (identifier_type, value, role, reason) values ('email', ${email}, 'provider', 'test')`,
    );
    const signup = await api("POST", "/api/auth/signup", {
      headers: { "cf-connecting-ip": randomIp() },
      body: { fullName: "Blocked Person", email: email.toUpperCase(), phone: randomPhone(), password: TEST_PASSWORD, role: "provider" },
    });
    expect(signup.status).toBe(403);
  });

  it("a legacy bcrypt hash logs in and is rehashed to scrypt", async () => {
    const u = await seedUser("user");
    const db = testDb();
    // bcrypt (cost 4 to keep the test fast) of TEST_PASSWORD, as imported from the old server.
    await db.http.execute(sql`update users set password_hash = ${hashSync(TEST_PASSWORD, 4)} where id = ${u.id}`);
    const r = await api("POST", "/api/auth/login", {
      headers: { "cf-connecting-ip": randomIp() },
      body: { phone: u.phone, password: TEST_PASSWORD, role: "user" },
    });
    expect(r.status).toBe(200);
    const { rows } = await db.http.execute<{ h: string }>(sql`select password_hash as h from users where id = ${u.id}`);
    expect(rows[0]!.h).toMatch(/^\$scrypt\$ln=\d+,r=8,p=5\$/);
  });
});

describe("signup rules", () => {
  it("a phone already registered for the role is refused; the other role may sign up", async () => {
    const u = await signupViaApi("user");
    const headers = { "cf-connecting-ip": randomIp() };
    const dup = await api("POST", "/api/auth/signup", {
      headers,
      body: { fullName: "Dup User", email: `dup.${u.phone}@example.com`, phone: u.phone, password: TEST_PASSWORD, role: "user" },
    });
    expect(dup.status).toBe(409);
    const provider = await api("POST", "/api/auth/signup", {
      headers,
      body: { fullName: "Dup Provider", email: `dup.${u.phone}@example.com`, phone: u.phone, password: TEST_PASSWORD, role: "provider" },
    });
    expect(provider.status).toBe(200);
    const v = await api("POST", "/api/auth/verify-otp", { headers, body: { phone: u.phone, otp: await lastOtp(u.phone, "signup") } });
    expect(v.status).toBe(200);
    expect(v.body.data.user.role).toBe("provider");
    expect(v.body.data.user.id).not.toBe(u.id);
  });
});
