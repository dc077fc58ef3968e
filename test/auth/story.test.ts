import { describe, expect, it } from "vitest";
import { api, lastOtp, randomIp, randomPhone, TEST_PASSWORD } from "../harness";

/** The apps' account story, end to end, for each app (docs/api-contract.md §2.2, §3.1). */
describe.each(["user", "provider"] as const)("account story for a %s", (role) => {
  it("signup → verify-otp → login → refresh → logout", async () => {
    const phone = randomPhone();
    const headers = { "cf-connecting-ip": randomIp() };

    // 1. Signup stores nothing but the pending account and sends an OTP.
    const signup = await api("POST", "/api/auth/signup", {
      headers,
      body: { fullName: "Asha Rao", email: `Asha.${phone}@Example.com`, phone: `+91${phone}`, password: TEST_PASSWORD, role },
    });
    expect(signup.status).toBe(200);
    expect(signup.body.status).toBe("success");
    const early = await api("POST", "/api/auth/login", { headers, body: { phone, password: TEST_PASSWORD, role } });
    expect(early.status).toBe(401); // no account before the OTP

    // 2. verify-otp (no role, as the apps send it) creates the account and returns the pair.
    const otp = await lastOtp(phone, "signup");
    expect(signup.text).not.toContain(otp); // the code only travels by SMS
    const verify = await api("POST", "/api/auth/verify-otp", { headers, body: { phone, otp } });
    expect(verify.status).toBe(200);
    const v = verify.body.data;
    for (const k of ["accessToken", "refreshToken", "token"]) expect(typeof v[k]).toBe("string");
    expect(v.token).toBe(v.accessToken);
    expect(Number.isNaN(new Date(v.accessTokenExpiresAt).getTime())).toBe(false);
    expect(new Date(v.refreshTokenExpiresAt).getTime() - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000);
    expect(v.user).toMatchObject({
      phone,
      fullName: "Asha Rao",
      full_name: "Asha Rao",
      email: `asha.${phone}@example.com`,
      role,
      isVerified: true,
      nameChangeCount: 0,
    });
    expect(typeof v.user.id).toBe("string");
    expect(verify.text).not.toMatch(/scrypt|password/i);

    // The OTP is single use.
    const again = await api("POST", "/api/auth/verify-otp", { headers, body: { phone, otp } });
    expect(again.status).toBeGreaterThanOrEqual(400);

    // 3. Login with the role the app sends.
    const login = await api("POST", "/api/auth/login", { headers, body: { phone, password: TEST_PASSWORD, role } });
    expect(login.status).toBe(200);
    const l = login.body.data;
    expect(l.user.id).toBe(v.user.id);
    expect(l.token).toBe(l.accessToken);
    expect(login.text).not.toMatch(/\$scrypt|password_?hash/i);
    const me = await api("GET", "/api/auth/me", { token: l.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.data.user).toMatchObject({ id: v.user.id, role });

    // The other app's role does not log in: the role that counts is the account's.
    const otherRole = role === "user" ? "provider" : "user";
    const wrongRole = await api("POST", "/api/auth/login", { headers, body: { phone, password: TEST_PASSWORD, role: otherRole } });
    expect(wrongRole.status).toBe(401);

    // 4. Refresh rotates; the old access token keeps working until it expires.
    const refreshed = await api("POST", "/api/auth/refresh", { body: { refreshToken: l.refreshToken } });
    expect(refreshed.status).toBe(200);
    const r = refreshed.body.data;
    expect(r.refreshToken).not.toBe(l.refreshToken);
    expect(r.accessToken).not.toBe(l.accessToken);
    expect((await api("GET", "/api/auth/me", { token: l.accessToken })).status).toBe(200);
    expect((await api("GET", "/api/auth/me", { token: r.accessToken })).status).toBe(200);

    // Two sessions are listed, the current one marked.
    const sessions = await api("GET", "/api/auth/sessions", { token: r.accessToken });
    expect(sessions.status).toBe(200);
    expect(sessions.body.data.sessions.length).toBe(2);
    expect(sessions.body.data.sessions.filter((s: { isCurrent: boolean }) => s.isCurrent)).toHaveLength(1);

    // 5. Logout ends this session: its access tokens (old and new) and its refresh token stop working.
    const out = await api("POST", "/api/auth/logout", { token: r.accessToken });
    expect(out.status).toBe(200);
    for (const t of [r.accessToken, l.accessToken]) {
      const after = await api("GET", "/api/auth/me", { token: t });
      expect(after.status).toBe(401);
      expect(after.body).toMatchObject({ status: "error" });
    }
    expect((await api("POST", "/api/auth/refresh", { body: { refreshToken: r.refreshToken } })).status).toBe(401);
    // The signup session (another device) is untouched.
    expect((await api("GET", "/api/auth/me", { token: v.accessToken })).status).toBe(200);
  });
});
