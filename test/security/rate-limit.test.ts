/**
 * Rate limits as the apps see them: 429, `retryAfter` in SECONDS (the apps multiply it by 1000,
 * docs/api-contract.md §1.6) and the same number in Retry-After. Bindings (wrangler.toml [[ratelimits]]):
 * AUTH_LIMITER on the unauthenticated auth routes, PAYMENT_LIMITER on payment initiation,
 * API_LIMITER on every /api route (src/http/rate-limit.ts).
 */

import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { signAccessToken } from "../../src/lib/jwt";
import { type ApiResponse, api, config, randomIp, randomPhone, seedUser } from "../harness";

function expectRetryAfterSeconds(res: ApiResponse) {
  expect(res.status).toBe(429);
  expect(res.body.status).toBe("error");
  expect(res.body.errorCode).toBe("RATE_LIMITED");
  const s = res.body.retryAfter;
  expect(Number.isInteger(s), `retryAfter ${s}`).toBe(true);
  expect(s, "seconds, not milliseconds").toBeGreaterThanOrEqual(1);
  expect(s, "seconds, not milliseconds").toBeLessThanOrEqual(3600);
  expect(res.headers.get("retry-after")).toBe(String(s));
}

/**
 * Sends until the first 429 (or `max`), `wave` requests at a time; returns the 429 and how many went
 * through. The limiter counts every request once in whatever order they arrive, so a budget of
 * hundreds is spent in waves instead of one round trip after another.
 */
async function untilLimited(max: number, send: (i: number) => Promise<ApiResponse>, wave = 1) {
  let passed = 0;
  for (let i = 0; i < max; i += wave) {
    const answers = await Promise.all(Array.from({ length: Math.min(wave, max - i) }, (_, k) => send(i + k)));
    for (const res of answers) expect(res.status, res.text.slice(0, 200)).toBeLessThan(500);
    passed += answers.filter((r) => r.status !== 429).length;
    const limited = answers.find((r) => r.status === 429);
    if (limited) return { res: limited, passed };
  }
  throw new Error(`no 429 after ${max} requests`);
}

/** Concurrent requests per wave when spending the 300/min API_LIMITER budget. */
const WAVE = 20;

describe("rate limits", () => {
  it("login from one address: 429 after the AUTH_LIMITER budget, retryAfter in seconds", async () => {
    const ip = randomIp();
    const { res, passed } = await untilLimited(60, () =>
      api("POST", "/api/auth/login", { headers: { "cf-connecting-ip": ip }, body: { phone: randomPhone(), password: "wrong-Passw0rd" } }),
    );
    expectRetryAfterSeconds(res);
    expect(passed).toBeGreaterThanOrEqual(5);
    // Another address is not affected.
    const other = await api("POST", "/api/auth/login", {
      headers: { "cf-connecting-ip": randomIp() },
      body: { phone: randomPhone(), password: "x" },
    });
    expect(other.status).not.toBe(429);
  });

  it("payment initiation per user: 429 after the PAYMENT_LIMITER budget, retryAfter in seconds", async () => {
    const u = await seedUser("user");
    const { res, passed } = await untilLimited(30, (i) =>
      api("POST", "/api/payments/initiate-labour-payment", {
        token: u.token,
        headers: { "idempotency-key": `rl-${u.id}-${i}` },
        body: { amount: 99 },
      }),
    );
    expectRetryAfterSeconds(res);
    expect(passed).toBeGreaterThanOrEqual(3);
  });

  it("API_LIMITER: any /api route from one address is limited after a generous budget (> 250/min)", async () => {
    const ip = randomIp();
    const { res, passed } = await untilLimited(700, () => api("GET", "/api/no-such-route", { headers: { "cf-connecting-ip": ip } }), WAVE);
    expectRetryAfterSeconds(res);
    expect(passed, "the global limit must not disturb normal use").toBeGreaterThan(250);
    // Paytm's flow from the same address is never throttled by it: the checkout page and the browser
    // callback in the app's WebView, the payment and refund webhooks from Paytm's servers.
    const form = { "cf-connecting-ip": ip, "content-type": "application/x-www-form-urlencoded" };
    const paytm = {
      "POST paytm-callback": await api("POST", "/api/payments/paytm-callback", { headers: form, rawBody: "ORDERID=nope" }),
      "GET paytm-callback": await api("GET", "/api/payments/paytm-callback?ORDERID=nope", { headers: { "cf-connecting-ip": ip } }),
      "GET checkout": await api("GET", "/api/payments/checkout/ORDER_NOPE?sig=nope", { headers: { "cf-connecting-ip": ip } }),
      "POST paytm-webhook": await api("POST", "/api/payments/paytm-webhook", { headers: form, rawBody: "ORDERID=nope" }),
      "POST paytm-refund-webhook": await api("POST", "/api/payments/paytm-refund-webhook", {
        headers: { "cf-connecting-ip": ip },
        body: { head: { signature: "nope" }, body: { orderId: "ORDER_NOPE", refId: "nope" } },
      }),
    };
    const limited = Object.entries(paytm).filter(([, r]) => r.status === 429);
    expect(limited.map(([route]) => route)).toEqual([]);
    // …while the address's budget is still spent for everything else.
    expect((await api("GET", "/api/no-such-route", { headers: { "cf-connecting-ip": ip } })).status).toBe(429);
  });

  it("API_LIMITER keys a signed-in caller by user, whatever address they come from", async () => {
    const u = await seedUser("user");
    // The route does not matter (the limit runs before routing): a 404 costs no database trip.
    const { res, passed } = await untilLimited(
      700,
      () => api("GET", "/api/no-such-route", { token: u.token, headers: { "cf-connecting-ip": randomIp() } }),
      WAVE,
    );
    expectRetryAfterSeconds(res);
    expect(passed).toBeGreaterThan(250);
  });

  it("a forged or expired token naming a user spends its sender's address budget, never that user's", async () => {
    const victim = await seedUser("user");
    const [h, p, s] = victim.token.split(".");
    const forged = `${h}.${p}.${s!.slice(0, -4)}${s!.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    const expired = (
      await signAccessToken(config().JWT_SECRET, { userId: victim.id, role: "user", sessionId: victim.sessionId }, Date.now() - 16 * 60_000)
    ).token;
    const attacker = randomIp();
    const answers: number[] = [];
    // Concurrent waves of 20 until the 300/min budget is spent (700 at most: the binding's window may
    // roll over once during the run).
    while (!answers.includes(429) && answers.length < 700) {
      const rs = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          api("GET", "/api/auth/me", { token: i % 2 ? forged : expired, headers: { "cf-connecting-ip": attacker } }),
        ),
      );
      answers.push(...rs.map((r) => r.status));
    }
    expect(answers, "the sender's address is spent").toContain(429);
    expect(answers.filter((x) => x === 401).length, "each bad token is answered 401 until then").toBeGreaterThan(250);
    // The victim, from their own address, is not limited anywhere.
    const me = await api("GET", "/api/auth/me", { token: victim.token, headers: { "cf-connecting-ip": randomIp() } });
    expect(me.status).toBe(200);
  });

  it("a random forged subject per request does not escape the per-address ceiling", async () => {
    const attacker = randomIp();
    const wrongKey = new TextEncoder().encode("x".repeat(48));
    const { res, passed } = await untilLimited(
      700,
      async () => {
        const token = await new SignJWT({ role: "user", sid: crypto.randomUUID(), typ: "access" })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setSubject(crypto.randomUUID())
          .setIssuer("buildxpert")
          .setIssuedAt()
          .setExpirationTime("15m")
          .sign(wrongKey);
        return api("GET", "/api/no-such-route", { token, headers: { "cf-connecting-ip": attacker } });
      },
      WAVE,
    );
    expectRetryAfterSeconds(res);
    expect(passed).toBeGreaterThan(250);
  });
});
