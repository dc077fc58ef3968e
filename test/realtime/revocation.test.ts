/**
 * A socket lives only as long as the session that opened it: revoking a session (logout, logout-all,
 * ending one session, password reset, refresh-token reuse, account deletion, admin removal) closes
 * its sockets within seconds, and call commands re-check the session. A socket may reconnect with
 * an expired access token as long as its session is live (the apps never refresh the socket's token).
 */
import { env } from "cloudflare:test";
import { and, eq, sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { outbox } from "../../src/db/schema";
import { signAccessToken } from "../../src/lib/jwt";
import { dispatchOutbox } from "../../src/outbox/outbox";
import { realtimeGateway } from "../../src/realtime/sink";
import { revokeSessions } from "../../src/sessions/tokens";
import { api, config, lastOtp, type SignedUpUser, seedUser, signupViaApi, testDb } from "../harness";
import { seedBooking } from "./fixtures";
import { settle, TestSocket } from "./socket-client";

const sockets: TestSocket[] = [];
async function open(token: string) {
  const s = await TestSocket.connect({ token });
  sockets.push(s);
  return s;
}
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

const hubStub = (userId: string) => env.USER_HUB.get(env.USER_HUB.idFromName(userId));
const sessionStub = (sid: string) => env.REALTIME_SESSION.get(env.REALTIME_SESSION.idFromString(sid));
const room = (bookingId: string) => env.CALL_ROOM.get(env.CALL_ROOM.idFromName(bookingId));
const sessionIdOf = (token: string): string => JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).sid;

/** A second device of the same account: a login through the API (its own session). */
async function secondDevice(u: SignedUpUser) {
  const r = await api("POST", "/api/auth/login", {
    headers: { "cf-connecting-ip": u.ip },
    body: { phone: u.phone, password: u.password, role: u.role },
  });
  expect(r.status, r.text).toBe(200);
  return { accessToken: r.body.data.accessToken as string, refreshToken: r.body.data.refreshToken as string };
}

async function expectRefusedOnReconnect(token: string) {
  const again = await TestSocket.connect({ token, upgrade: false });
  sockets.push(again);
  expect(again.connectError).toMatchObject({ message: "Authentication failed", data: { errorCode: "INVALID_TOKEN" } });
}

async function execSql(q: ReturnType<typeof sql>) {
  const db = testDb();
  try {
    await db.http.execute(q);
  } finally {
    await db.close();
  }
}

describe("revoking a session closes its sockets", () => {
  it("logout closes that session's socket (and refuses its reconnect); the other device's socket stays", async () => {
    const u = await signupViaApi("user");
    const other = await secondDevice(u);
    const [mine, theirs] = await Promise.all([open(u.accessToken), open(other.accessToken)]);
    expect(await hubStub(u.id).counts()).toEqual({ authenticated: 2, anonymous: 0 });

    expect((await api("POST", "/api/auth/logout", { token: u.accessToken })).status).toBe(200);
    await mine.waitClosed(10_000);
    expect(await hubStub(u.id).counts()).toEqual({ authenticated: 1, anonymous: 0 });
    expect((await sessionStub(theirs.sid).diagnostics()).session).toMatchObject({ connected: true, userId: u.id });
    await expectRefusedOnReconnect(u.accessToken);
  });

  it("ending one session from another device closes only that session's socket", async () => {
    const u = await signupViaApi("provider");
    const other = await secondDevice(u);
    const [mine, theirs] = await Promise.all([open(u.accessToken), open(other.accessToken)]);
    const r = await api("DELETE", `/api/auth/sessions/${sessionIdOf(u.accessToken)}`, { token: other.accessToken });
    expect(r.status, r.text).toBe(200);
    await mine.waitClosed(10_000);
    expect((await sessionStub(theirs.sid).diagnostics()).session).toMatchObject({ connected: true });
  });

  it("logout-all closes every socket of the account", async () => {
    const u = await signupViaApi("user");
    const other = await secondDevice(u);
    const [a, b] = await Promise.all([open(u.accessToken), open(other.accessToken)]);
    expect((await api("POST", "/api/auth/logout-all", { token: u.accessToken })).status).toBe(200);
    await Promise.all([a.waitClosed(10_000), b.waitClosed(10_000)]);
    expect(await hubStub(u.id).counts()).toEqual({ authenticated: 0, anonymous: 0 });
    await expectRefusedOnReconnect(other.accessToken);
  });

  it("a password reset closes the account's sockets", async () => {
    const u = await signupViaApi("user");
    const s = await open(u.accessToken);
    const headers = { "cf-connecting-ip": u.ip };
    expect((await api("POST", "/api/auth/forgot-password", { headers, body: { phone: u.phone, role: "user" } })).status).toBe(200);
    const v = await api("POST", "/api/auth/forgot-password/verify", {
      headers,
      body: { phone: u.phone, otp: await lastOtp(u.phone, "password_reset") },
    });
    expect(v.status).toBe(200);
    const reset = await api("POST", "/api/auth/forgot-password/reset", {
      headers,
      body: { phone: u.phone, resetToken: v.body.data.resetToken, newPassword: "N3w-secret-pass" },
    });
    expect(reset.status, reset.text).toBe(200);
    await s.waitClosed(10_000);
    await expectRefusedOnReconnect(u.accessToken);
  });

  it("a refresh token presented again after rotation (theft) closes the session's sockets", async () => {
    const u = await signupViaApi("provider");
    const s = await open(u.accessToken);
    expect((await api("POST", "/api/auth/refresh", { body: { refreshToken: u.refreshToken } })).status).toBe(200);
    // Age the rotation past the 10 s grace window instead of sleeping.
    await execSql(
      sql`update refresh_tokens set rotated_at = rotated_at - interval '1 minute' where user_id = ${u.id} and rotated_at is not null`,
    );
    expect((await api("POST", "/api/auth/refresh", { body: { refreshToken: u.refreshToken } })).status).toBe(401);
    await s.waitClosed(10_000);
    await expectRefusedOnReconnect(u.accessToken);
  });

  it("deleting the account closes its sockets", async () => {
    const u = await signupViaApi("user");
    const s = await open(u.accessToken);
    const r = await api("DELETE", "/api/users/delete-account", { token: u.accessToken });
    expect(r.status, r.text).toBe(200);
    await s.waitClosed(10_000);
    await expectRefusedOnReconnect(u.accessToken);
  });

  it("an admin removing the account closes its sockets and ends its call", async () => {
    const { bookingId, customer, provider } = await seedBooking();
    const admin = await seedUser("admin");
    const [cust, prov] = await Promise.all([open(customer.token), open(provider.token)]);
    expect(await cust.emitWithAck("call:initiate", { bookingId, callerType: "user" })).toEqual({ status: "success" });
    await prov.waitFor("call:incoming");
    const r = await api("DELETE", `/api/admin/providers/${provider.id}`, { token: admin.token });
    expect(r.status, r.text).toBe(200);
    await prov.waitClosed(10_000);
    expect(await cust.waitFor("call:ended", 10_000)).toMatchObject({ bookingId, reason: "disconnect" });
    expect(await room(bookingId).snapshot()).toBeNull();
  });
});

describe("the revocation mechanism", () => {
  it("revokeSessions writes the outbox row in the same statement; the cron sweep alone closes the sockets", async () => {
    const u = await signupViaApi("user");
    const other = await secondDevice(u);
    const [mine, theirs] = await Promise.all([open(u.accessToken), open(other.accessToken)]);
    const db = testDb();
    try {
      expect(await revokeSessions(db.http, u.id, "logout", sessionIdOf(u.accessToken))).toBe(1);
      expect(await revokeSessions(db.http, u.id, "logout", sessionIdOf(u.accessToken))).toBe(0); // already revoked: no second row
      const rows = await db.http
        .select()
        .from(outbox)
        .where(and(eq(outbox.topic, "realtime.sessions_revoked"), sql`${outbox.payload}->>'userId' = ${u.id}`));
      expect(rows.map((r) => r.payload)).toEqual([{ userId: u.id, sessionIds: [sessionIdOf(u.accessToken)] }]);
      // Nobody dispatched after commit (a crashed request): the sweep delivers it.
      await dispatchOutbox(env, db, realtimeGateway);
    } finally {
      await db.close();
    }
    await mine.waitClosed(10_000);
    expect((await sessionStub(theirs.sid).diagnostics()).session).toMatchObject({ connected: true });
  });

  it("a CONNECT whose check passed just before the revocation reached the hub is refused", async () => {
    const u = await signupViaApi("provider");
    // The hub hears of the revocation before the socket registers (the database row is left live here).
    await hubStub(u.id).closeSessions([sessionIdOf(u.accessToken)]);
    await expectRefusedOnReconnect(u.accessToken);
    expect(await hubStub(u.id).counts()).toEqual({ authenticated: 0, anonymous: 0 });
  });
});

describe("call commands re-check the session (a revocation whose socket event was lost)", () => {
  /** Revokes in the database only: no outbox row, as if the revocation's delivery never arrived. */
  const revokeQuietly = (sessionId: string) =>
    execSql(sql`update sessions set revoked_at = now(), revoke_reason = 'logout' where id = ${sessionId}`);

  it("call:initiate from a revoked session is refused and the socket is closed", async () => {
    const { bookingId, customer, provider } = await seedBooking();
    const [cust, prov] = await Promise.all([open(customer.token), open(provider.token)]);
    await revokeQuietly(customer.sessionId);
    const ack = await cust.emitWithAck("call:initiate", { bookingId, callerType: "user" });
    expect(ack).toMatchObject({ status: "error", errorCode: "WEBRTC_NOT_AUTHENTICATED" });
    await cust.waitClosed(10_000);
    expect(await room(bookingId).snapshot()).toBeNull();
    await settle();
    expect(prov.seen("call:incoming")).toHaveLength(0);
  });

  it("call:accept from a revoked session is refused; the call keeps ringing", async () => {
    const { bookingId, customer, provider } = await seedBooking();
    const [cust, prov] = await Promise.all([open(customer.token), open(provider.token)]);
    expect(await cust.emitWithAck("call:initiate", { bookingId, callerType: "user" })).toEqual({ status: "success" });
    await prov.waitFor("call:incoming");
    await revokeQuietly(provider.sessionId);
    const ack = await prov.emitWithAck("call:accept", { bookingId, receiverId: provider.id });
    expect(ack).toMatchObject({ status: "error", errorCode: "WEBRTC_NOT_AUTHENTICATED" });
    await prov.waitClosed(10_000);
    expect(cust.seen("call:accepted")).toHaveLength(0);
  });
});

describe("reconnecting after the access token expired (the apps never refresh the socket's token)", () => {
  const expiredTokenOf = async (u: SignedUpUser) =>
    (
      await signAccessToken(
        config().JWT_SECRET,
        { userId: u.id, role: u.role, sessionId: sessionIdOf(u.accessToken) },
        Date.now() - 20 * 60_000,
      )
    ).token;

  it("a validly signed but expired token of a live session connects; HTTP still answers TOKEN_EXPIRED", async () => {
    const u = await signupViaApi("provider");
    const expired = await expiredTokenOf(u);
    const s = await open(expired);
    expect(s.connectError).toBeUndefined();
    expect(await s.emitWithAck("join", u.id)).toEqual({ status: "success", userId: u.id });
    expect(await hubStub(u.id).counts()).toMatchObject({ authenticated: 1 });
    const http = await api("GET", "/api/auth/me", { token: expired });
    expect(http.status).toBe(401);
    expect(http.body).toMatchObject({ status: "error", errorCode: "TOKEN_EXPIRED" });
  });

  it("an expired token is refused once its session is revoked or has outlived its refresh tokens", async () => {
    const revoked = await signupViaApi("user");
    const revokedToken = await expiredTokenOf(revoked);
    expect((await api("POST", "/api/auth/logout", { token: revoked.accessToken })).status).toBe(200);
    await expectRefusedOnReconnect(revokedToken);

    const lapsed = await signupViaApi("user");
    const lapsedToken = await expiredTokenOf(lapsed);
    await execSql(
      sql`update refresh_tokens set created_at = now() - interval '31 days', expires_at = now() - interval '1 day' where user_id = ${lapsed.id}`,
    );
    await expectRefusedOnReconnect(lapsedToken);
  });

  it("an expired token with a bad signature, another issuer or the wrong type is refused", async () => {
    const u = await signupViaApi("user");
    const sid = sessionIdOf(u.accessToken);
    const past = Date.now() - 20 * 60_000;
    const forged = (
      await signAccessToken("another-secret-0123456789abcdef0123456789", { userId: u.id, role: "user", sessionId: sid }, past)
    ).token;
    await expectRefusedOnReconnect(forged);
    const { SignJWT } = await import("jose");
    const key = new TextEncoder().encode(config().JWT_SECRET);
    const iat = Math.floor(past / 1000);
    const otherIssuer = await new SignJWT({ role: "user", sid, typ: "access" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(u.id)
      .setIssuer("someone-else")
      .setJti(crypto.randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + 900)
      .sign(key);
    await expectRefusedOnReconnect(otherIssuer);
    const wrongType = await new SignJWT({ role: "user", sid, typ: "refresh" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(u.id)
      .setIssuer("buildxpert")
      .setJti(crypto.randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + 900)
      .sign(key);
    await expectRefusedOnReconnect(wrongType);
  });
});
