/**
 * No secrets or PII in logs: representative flows run through the worker at LOG_LEVEL=debug (the
 * test env logs only warnings) with console captured, and every captured line is scanned for the
 * very values the flows used: phone numbers, OTP codes, passwords, JWTs, refresh tokens, Paytm's
 * checksum and txnToken, the merchant key and the JWT secret.
 *
 * Exception by design: `[DEV-SMS]` lines of the console SMS driver (development/test only; the
 * config refuses that driver in production) print the OTP so a developer can sign up locally.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildApp } from "../../src/app";
import { redact } from "../../src/lib/log";
import { metric } from "../../src/lib/metrics";
import { type ApiResponse, config, istSlot, lastOtp, randomIp, randomPhone, seedListing, TEST_PASSWORD } from "../harness";
import { payAtPaytm } from "../payments/support";

const app = buildApp();
const debugEnv = { ...env, LOG_LEVEL: "debug" } as unknown as Env;
const lines: string[] = [];
const secrets = new Map<string, string>(); // value → what it is

function keep(what: string, value: unknown) {
  if (typeof value === "string" && value.length >= 6) secrets.set(value, what);
}

async function call(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; form?: string; ip?: string } = {},
): Promise<Pick<ApiResponse, "status" | "body">> {
  const headers: Record<string, string> = { "cf-connecting-ip": opts.ip ?? randomIp() };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] = "application/json";
  } else if (opts.form !== undefined) {
    body = opts.form;
    headers["content-type"] = "application/x-www-form-urlencoded";
  }
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://127.0.0.1${path}`, { method, headers, body }), debugEnv, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

beforeAll(() => {
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    });
  }
  keep("merchant key", config().PAYTM_MERCHANT_KEY);
  keep("JWT secret", config().JWT_SECRET);
  keep("password", TEST_PASSWORD);
});
afterAll(() => vi.restoreAllMocks());

describe("logs carry no secrets or PII", () => {
  it("signup → OTP → login → refresh → booking → provider accepts → labour payment → callback → verify", async () => {
    const ip = randomIp();
    const phone = randomPhone();
    keep("customer phone", phone);
    const email = `logscan.${crypto.randomUUID().slice(0, 8)}@example.com`;
    keep("e-mail", email);
    const signup = await call("POST", "/api/auth/signup", {
      ip,
      body: { fullName: "Log Scan", email, phone, password: TEST_PASSWORD, role: "user" },
    });
    expect(signup.status).toBe(200);
    const otp = await lastOtp(phone, "signup");
    keep("OTP", otp);
    const wrongOtp = await call("POST", "/api/auth/verify-otp", { ip, body: { phone, otp: otp === "000000" ? "111111" : "000000" } });
    expect(wrongOtp.status).toBe(400);
    const verified = await call("POST", "/api/auth/verify-otp", { ip, body: { phone, otp } });
    expect(verified.status).toBe(200);
    keep("access token", verified.body.data.accessToken);
    keep("refresh token", verified.body.data.refreshToken);

    const badLogin = await call("POST", "/api/auth/login", { ip, body: { phone, password: "Wrong-Passw0rd-xyz" } });
    expect(badLogin.status).toBe(401);
    keep("wrong password", "Wrong-Passw0rd-xyz");
    const login = await call("POST", "/api/auth/login", { ip, body: { phone, password: TEST_PASSWORD } });
    expect(login.status).toBe(200);
    keep("access token", login.body.data.accessToken);
    keep("refresh token", login.body.data.refreshToken);
    const refreshed = await call("POST", "/api/auth/refresh", { ip, body: { refreshToken: login.body.data.refreshToken } });
    expect(refreshed.status).toBe(200);
    keep("access token", refreshed.body.data.accessToken);
    keep("refresh token", refreshed.body.data.refreshToken);
    const token = refreshed.body.data.accessToken as string;

    const listing = await seedListing();
    keep("provider phone", listing.provider.phone);
    keep("provider token", listing.provider.token);
    const booking = await call("POST", "/api/bookings", {
      token,
      body: { providerServiceId: listing.providerServiceId, selectedServices: ["tap-installation"], ...istSlot(5), address: "12 Log Lane" },
    });
    expect(booking.status).toBe(201);
    const bookingId = booking.body.data.booking?.id ?? booking.body.data.id;
    const accept = await call("PUT", `/api/providers/bookings/${bookingId}/status`, {
      token: listing.provider.token,
      body: { status: "accepted" },
    });
    expect(accept.status).toBe(200);

    const init = await call("POST", "/api/payments/initiate-labour-payment", { token, body: { amount: 99 } });
    expect(init.status, JSON.stringify(init.body)).toBe(200);
    const orderId = init.body.orderId ?? init.body.data.orderId;
    keep("txnToken", init.body.data?.txnToken ?? init.body.txnToken);
    const form = await payAtPaytm(orderId, "success");
    keep("Paytm checksum", form.fields.CHECKSUMHASH);
    const cb = await call("POST", "/api/payments/paytm-callback", { form: form.formBody });
    expect(cb.status).toBe(200);
    const tampered = await call("POST", "/api/payments/paytm-callback", {
      form: form.formBody.replace(/TXNAMOUNT=[^&]+/, "TXNAMOUNT=1.00"),
    });
    expect(tampered.status).toBeLessThan(500);
    const v = await call("POST", "/api/payments/verify-labour-payment", { token, body: { orderId } });
    expect(v.status).toBe(200);

    await call("POST", "/api/auth/logout", { token, body: { refreshToken: refreshed.body.data.refreshToken } });
    metric("payment.outcome", { purpose: "labour_access", outcome: "paid", phone, note: `from ${phone}` });

    // The capture must have seen the flows (otherwise the scan proves nothing).
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(10);
    expect(lines.some((l) => l.includes('"metric":"payment.outcome"'))).toBe(true);

    const leaks: string[] = [];
    const uuidOrTime = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d\d-\d\dT[\d:.]+Z?|"\w*(ms|Ms|At|time)":\d+/g;
    for (const line of lines) {
      if (line.startsWith("[DEV-SMS]")) continue;
      const scrubbed = line.replace(uuidOrTime, "");
      for (const [value, what] of secrets) {
        const re = /^\d+$/.test(value) ? new RegExp(`(?<!\\d)${value}(?!\\d)`) : null;
        if (re ? re.test(scrubbed) : line.includes(value)) leaks.push(`${what}: ${line.slice(0, 300)}`);
      }
      if (/eyJ[\w-]+\.[\w-]+\./.test(line)) leaks.push(`JWT: ${line.slice(0, 300)}`);
      if (/(?<!\d)(\+?91)?[6-9]\d{9}(?!\d)/.test(scrubbed)) leaks.push(`phone-like number: ${line.slice(0, 300)}`);
    }
    expect(leaks, leaks.join("\n")).toEqual([]);
  });
});

describe("redaction (src/lib/log.ts)", () => {
  it("drops secret-named fields, masks phones, JWTs and e-mail mailboxes wherever they appear", () => {
    const out = JSON.stringify(
      redact({
        authkey: "msg91-key",
        apiKey: "k",
        headers: { Authorization: "Bearer x", "x-api-key": "k2" },
        CHECKSUMHASH: "abc",
        body: { head: { signature: "sig", txnToken: "t" }, refreshToken: "r" },
        otp: "123456",
        mobile: "9876543210",
        note: "call +91 9876543210 or mail priya.k@example.com, token eyJhbGciOi.eyJzdWIi.c2ln",
      }),
    );
    for (const leaked of [
      "msg91-key",
      '"k"',
      "k2",
      "Bearer x",
      '"abc"',
      '"sig"',
      '"t"',
      '"r"',
      "123456",
      "9876543210",
      "priya.k",
      "eyJhbGciOi",
    ])
      expect(out).not.toContain(leaked);
    expect(out).toContain("***@example.com");
    expect(out).toContain("3210");
  });
});
