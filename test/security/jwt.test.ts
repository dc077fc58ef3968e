/**
 * Forged and tampered access tokens: every variant an attacker can make from a real token (or
 * without one) is a 401, including on admin routes, and never reaches another user's data.
 */
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { api, config, type SeededUser, seedUser } from "../harness";

const enc = new TextEncoder();
const b64url = (s: string | Uint8Array) =>
  btoa(typeof s === "string" ? s : String.fromCharCode(...s))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const decode = (part: string) => JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;

let alice: SeededUser;
let victim: SeededUser;

async function hmac(alg: "SHA-256" | "SHA-512", secret: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: alg }, false, ["sign"]);
  return b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(data))));
}

/** A token with the real claims of `u` plus overrides, signed by jose with any secret and alg. */
async function forge(
  u: SeededUser,
  opts: {
    secret?: string;
    alg?: "HS256" | "HS512";
    claims?: Record<string, unknown>;
    issuer?: string;
    iat?: number;
    exp?: number;
    nbf?: number;
  } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ role: u.role, sid: u.sessionId, typ: "access", ...opts.claims })
    .setProtectedHeader({ alg: opts.alg ?? "HS256", typ: "JWT" })
    .setSubject(u.id)
    .setIssuer(opts.issuer ?? "buildxpert")
    .setJti(crypto.randomUUID())
    .setIssuedAt(opts.iat ?? now)
    .setExpirationTime(opts.exp ?? now + 900);
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(enc.encode(opts.secret ?? config().JWT_SECRET));
}

async function expectRejected(token: string, path = "/api/auth/me") {
  const res = await api("GET", path, { token });
  expect(res.status, `${path}: ${res.text.slice(0, 200)}`).toBe(401);
  expect(["INVALID_TOKEN", "TOKEN_EXPIRED", "UNAUTHORIZED"]).toContain(res.body.errorCode);
  expect(res.text).not.toContain(victim.phone);
  expect(res.text).not.toContain(alice.phone);
}

beforeAll(async () => {
  [alice, victim] = await Promise.all([seedUser("user"), seedUser("user")]);
});

describe("JWT tampering", () => {
  it("the untampered token works (the baseline the rest departs from)", async () => {
    const res = await api("GET", "/api/auth/me", { token: alice.token });
    expect(res.status).toBe(200);
    expect(await forge(alice).then((t) => api("GET", "/api/auth/me", { token: t }).then((r) => r.status))).toBe(200);
  });

  it("payload edited (role → admin, sub → another user) with the original signature is rejected", async () => {
    const [h, p, s] = alice.token.split(".") as [string, string, string];
    const claims = decode(p);
    await expectRejected(`${h}.${b64url(JSON.stringify({ ...claims, role: "admin" }))}.${s}`, "/api/admin/stats");
    await expectRejected(`${h}.${b64url(JSON.stringify({ ...claims, sub: victim.id, sid: victim.sessionId }))}.${s}`);
  });

  it("signature stripped, alg none, and an empty token are rejected", async () => {
    const [h, p] = alice.token.split(".") as [string, string, string];
    await expectRejected(`${h}.${p}.`);
    await expectRejected(`${h}.${p}`);
    await expectRejected(`${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${p}.`);
    await expectRejected(
      `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify({ ...decode(p), role: "admin" }))}.`,
      "/api/admin/stats",
    );
    const bare = await api("GET", "/api/auth/me", { headers: { authorization: "Bearer " } });
    expect(bare.status).toBe(401);
  });

  it("other algorithms are refused even when signed with the real secret (HS512, RS256 header over an HMAC)", async () => {
    await expectRejected(await forge(alice, { alg: "HS512" }));
    const [, p] = alice.token.split(".") as [string, string, string];
    for (const alg of ["RS256", "ES256", "PS256"]) {
      const h = b64url(JSON.stringify({ alg, typ: "JWT" }));
      await expectRejected(`${h}.${p}.${await hmac("SHA-256", config().JWT_SECRET, `${h}.${p}`)}`);
    }
    const h512 = b64url(JSON.stringify({ alg: "HS512", typ: "JWT" }));
    await expectRejected(`${h512}.${p}.${await hmac("SHA-512", config().JWT_SECRET, `${h512}.${p}`)}`);
  });

  it("a token signed with another secret is rejected, even for the right user and session", async () => {
    await expectRejected(await forge(alice, { secret: "another-secret-of-sufficient-length-0123456789" }));
    await expectRejected(await forge(alice, { secret: `${config().JWT_SECRET}x` }));
  });

  it("expired, not-yet-valid and issued-in-the-future tokens are rejected", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await api("GET", "/api/auth/me", { token: await forge(alice, { iat: now - 3600, exp: now - 60 }) });
    expect(expired.status).toBe(401);
    expect(expired.body.errorCode).toBe("TOKEN_EXPIRED");
    await expectRejected(await forge(alice, { nbf: now + 3600 }));
    await expectRejected(await forge(alice, { iat: now + 3600, exp: now + 7200 }));
  });

  it("claims the server did not mint are rejected: wrong typ, issuer, role value, a session of someone else", async () => {
    await expectRejected(await forge(alice, { claims: { typ: "refresh" } }));
    await expectRejected(await forge(alice, { claims: { typ: undefined } }));
    await expectRejected(await forge(alice, { issuer: "evil" }));
    await expectRejected(await forge(alice, { claims: { role: "root" } }));
    // Right secret, but alice's user id with victim's session: the session join refuses it.
    await expectRejected(await forge(alice, { claims: { sid: victim.sessionId } }));
  });

  it("a token of a logged-out session is rejected", async () => {
    const bob = await seedUser("user");
    expect((await api("POST", "/api/auth/logout", { token: bob.token })).status).toBe(200);
    await expectRejected(bob.token);
  });

  it("a validly signed admin claim does not make a user an admin (the database's role counts)", async () => {
    const res = await api("GET", "/api/admin/stats", { token: await forge(alice, { claims: { role: "admin" } }) });
    // The session check confirms the token's role against the account's in the same round trip as the read.
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ status: "error", errorCode: "INVALID_TOKEN" });
    expect(res.body.data).toBeUndefined();
  });
});
