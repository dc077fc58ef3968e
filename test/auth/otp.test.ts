import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { SignupRole } from "../../src/db/schema";
import { api, lastOtp, randomIp, randomPhone, signupViaApi, TEST_PASSWORD, testDb } from "../harness";

const startSignup = async (phone: string, headers: Record<string, string>, role: SignupRole = "user") => {
  const r = await api("POST", "/api/auth/signup", {
    headers,
    body: { fullName: "Otp Test", email: `otp.${role}.${phone}@example.com`, phone, password: TEST_PASSWORD, role },
  });
  expect(r.status).toBe(200);
};
const wrongOf = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

describe("OTP challenges", () => {
  it("a reset OTP is rejected by signup verification, and a signup OTP by reset verification", async () => {
    const user = await signupViaApi("user");
    const headers = { "cf-connecting-ip": randomIp() };
    // Same phone: a pending provider signup and a password reset of the user account, side by side.
    await startSignup(user.phone, headers, "provider");
    const signupCode = await lastOtp(user.phone, "signup");
    expect((await api("POST", "/api/auth/forgot-password", { headers, body: { phone: user.phone } })).status).toBe(200);
    const resetCode = await lastOtp(user.phone, "password_reset");
    if (resetCode === signupCode) return; // one in a million: the codes coincide and the test says nothing

    const crossA = await api("POST", "/api/auth/verify-otp", { headers, body: { phone: user.phone, otp: resetCode } });
    expect(crossA.status).toBe(400);
    expect(crossA.body).toMatchObject({ status: "error", errorCode: "INVALID_OTP", locked: false });
    const crossB = await api("POST", "/api/auth/forgot-password/verify", { headers, body: { phone: user.phone, otp: signupCode } });
    expect(crossB.status).toBe(400);
    expect(crossB.body.errorCode).toBe("INVALID_OTP");
    // A code is bound to its role too: the user's reset code does not reset the (pending) provider.
    const crossRole = await api("POST", "/api/auth/forgot-password/verify", {
      headers,
      body: { phone: user.phone, otp: resetCode, role: "provider" },
    });
    expect(crossRole.status).toBeGreaterThanOrEqual(400);

    // Each code still does its own job.
    const provider = await api("POST", "/api/auth/verify-otp", { headers, body: { phone: user.phone, otp: signupCode } });
    expect(provider.status).toBe(200);
    expect(provider.body.data.user.role).toBe("provider");
    const reset = await api("POST", "/api/auth/forgot-password/verify", { headers, body: { phone: user.phone, otp: resetCode } });
    expect(reset.status).toBe(200);
    expect(typeof reset.body.data.resetToken).toBe("string");
  });

  it("five wrong codes lock the phone for 15 minutes with the fields and m:ss wording the apps read", async () => {
    const phone = randomPhone();
    const headers = { "cf-connecting-ip": randomIp() };
    await startSignup(phone, headers);
    const real = await lastOtp(phone, "signup");
    const first = await api("POST", "/api/auth/verify-otp", { headers, body: { phone, otp: wrongOf(real) } });
    expect(first.status).toBe(400);
    expect(first.body).toMatchObject({ locked: false, remainingAttempts: 4 });
    expect(first.body.message).toMatch(/4 attempts remaining/);
    for (let i = 0; i < 3; i++) await api("POST", "/api/auth/verify-otp", { headers, body: { phone, otp: wrongOf(real) } });
    const fifth = await api("POST", "/api/auth/verify-otp", { headers, body: { phone, otp: wrongOf(real) } });
    expect(fifth.status).toBe(429);
    expect(fifth.body).toMatchObject({ status: "error", locked: true, remainingAttempts: 0 });
    expect(fifth.body.lockoutTimeRemaining).toBeGreaterThan(890);
    expect(fifth.body.lockoutTimeRemaining).toBeLessThanOrEqual(900);
    expect(fifth.body.message).toMatch(/Too many failed attempts.*\b1[45]:\d\d\b/);

    // Locked: the right code is refused, and resend says so with the same wording.
    const right = await api("POST", "/api/auth/verify-otp", { headers, body: { phone, otp: real } });
    expect(right.status).toBe(429);
    expect(right.body.locked).toBe(true);
    const resend = await api("POST", "/api/auth/resend-otp", { headers, body: { phone } });
    expect(resend.status).toBe(429);
    expect(resend.body.message).toMatch(/Too many failed attempts.*\d+:\d\d/);
    const { rows } = await testDb().http.execute<{ n: number }>(sql`select count(*)::int as n from users where phone = ${phone}`);
    expect(rows[0]!.n).toBe(0);
  });

  it("resend has a cooldown, replaces the code, and the old code stops working", async () => {
    const phone = randomPhone();
    const headers = { "cf-connecting-ip": randomIp() };
    await startSignup(phone, headers);
    const oldCode = await lastOtp(phone, "signup");
    const tooSoon = await api("POST", "/api/auth/resend-otp", { headers, body: { phone } });
    expect(tooSoon.status).toBe(429);
    expect(tooSoon.body.retryAfter).toBeGreaterThan(0);
    expect(tooSoon.body.retryAfter).toBeLessThanOrEqual(30);

    await testDb().http.execute(sql`update otp_challenges set last_sent_at = now() - interval '31 seconds' where phone = ${phone}`);
    const resent = await api("POST", "/api/auth/resend-otp", { headers, body: { phone } });
    expect(resent.status).toBe(200);
    const newCode = await lastOtp(phone, "signup");
    if (newCode !== oldCode) {
      const stale = await api("POST", "/api/auth/verify-otp", { headers, body: { phone, otp: oldCode } });
      expect(stale.status).toBe(400);
    }
    const ok = await api("POST", "/api/auth/verify-otp", { headers, body: { phone, otp: newCode } });
    expect(ok.status).toBe(200);
    // The pending signup survived the resend.
    expect(ok.body.data.user.fullName).toBe("Otp Test");
  });

  it("an expired code is refused, and codes are stored only as hashes", async () => {
    const phone = randomPhone();
    const headers = { "cf-connecting-ip": randomIp() };
    await startSignup(phone, headers);
    const code = await lastOtp(phone, "signup");
    const db = testDb();
    const { rows } = await db.http.execute<{ code_hash: string }>(sql`select code_hash from otp_challenges where phone = ${phone}`);
    expect(rows[0]!.code_hash).not.toContain(code);
    expect(rows[0]!.code_hash).toMatch(/^[0-9a-f]{64}$/);
    await db.http.execute(sql`update otp_challenges set expires_at = now() - interval '1 second' where phone = ${phone}`);
    const r = await api("POST", "/api/auth/verify-otp", { headers, body: { phone, otp: code } });
    expect(r.status).toBe(400);
    expect(r.body.errorCode).toBe("OTP_EXPIRED");
  });

  it("password reset: OTP → reset token → new password; every session ends; the token is single use", async () => {
    const u = await signupViaApi("user");
    const headers = { "cf-connecting-ip": u.ip };
    const login = await api("POST", "/api/auth/login", { headers, body: { phone: u.phone, password: TEST_PASSWORD, role: "user" } });
    expect(login.status).toBe(200);

    // The provider app asks for role provider first and falls back to user on any non-2xx.
    const wrongRole = await api("POST", "/api/auth/forgot-password", { headers, body: { phone: u.phone, role: "provider" } });
    expect(wrongRole.status).toBe(404);
    expect((await api("POST", "/api/auth/forgot-password", { headers, body: { phone: u.phone, role: "user" } })).status).toBe(200);
    const code = await lastOtp(u.phone, "password_reset");
    const v = await api("POST", "/api/auth/forgot-password/verify", { headers, body: { phone: u.phone, otp: code } });
    expect(v.status).toBe(200);
    const resetToken = v.body.data.resetToken;
    // The code cannot be used twice to mint a second reset token.
    expect((await api("POST", "/api/auth/forgot-password/verify", { headers, body: { phone: u.phone, otp: code } })).status).toBe(400);

    const newPassword = "N3w-secret-pass";
    const reset = await api("POST", "/api/auth/forgot-password/reset", { headers, body: { phone: u.phone, resetToken, newPassword } });
    expect(reset.status).toBe(200);
    expect(reset.text).not.toContain(newPassword);
    const replay = await api("POST", "/api/auth/forgot-password/reset", {
      headers,
      body: { phone: u.phone, resetToken, newPassword: "another-one" },
    });
    expect(replay.status).toBe(400);

    // Every session is over: access and refresh tokens of both devices.
    for (const t of [u.accessToken, login.body.data.accessToken]) expect((await api("GET", "/api/auth/me", { token: t })).status).toBe(401);
    for (const t of [u.refreshToken, login.body.data.refreshToken])
      expect((await api("POST", "/api/auth/refresh", { body: { refreshToken: t } })).status).toBe(401);
    expect(
      (await api("POST", "/api/auth/login", { headers, body: { phone: u.phone, password: TEST_PASSWORD, role: "user" } })).status,
    ).toBe(401);
    expect((await api("POST", "/api/auth/login", { headers, body: { phone: u.phone, password: newPassword, role: "user" } })).status).toBe(
      200,
    );
  });
});
