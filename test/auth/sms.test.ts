import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { generateOtp } from "../../src/auth/otp";
import { sendOtpSms } from "../../src/auth/sms";
import type { Config } from "../../src/env";
import { createLogger } from "../../src/lib/log";
import { api, config, randomIp, randomPhone, TEST_PASSWORD, testDb } from "../harness";

/** The real SMS drivers, against a stub gateway: request shape, retries, and no code in any log. */
function harness(driver: "msg91" | "twilio", answers: number[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    calls.push({ url: String(url), init });
    const status = answers[Math.min(calls.length - 1, answers.length - 1)]!;
    return new Response(JSON.stringify({ ok: status < 300 }), { status });
  }) as unknown as typeof fetch;
  const logs: string[] = [];
  const original = { log: console.log, warn: console.warn, error: console.error };
  const cfg: Config = {
    ...config(),
    ENVIRONMENT: "staging",
    SMS_DRIVER: driver,
    SMS_API_KEY: "AC123:secret-token",
    SMS_SENDER: "+15005550006",
    SMS_API_URL: "https://sms.example.test",
  };
  const capture = () => {
    for (const k of ["log", "warn", "error"] as const) console[k] = (...a: unknown[]) => void logs.push(a.map(String).join(" "));
  };
  const restore = () => Object.assign(console, original);
  return { calls, fetchImpl, logs, cfg, capture, restore };
}

describe("SMS drivers", () => {
  it("twilio: one form POST with basic auth, retried on 5xx, the code never logged", async () => {
    const h = harness("twilio", [503, 200]);
    const code = generateOtp();
    h.capture();
    try {
      await sendOtpSms(
        { config: h.cfg, db: testDb().http, log: createLogger("debug"), fetchImpl: h.fetchImpl },
        { phone: "9876543210", code, purpose: "signup", role: "user" },
      );
    } finally {
      h.restore();
    }
    expect(h.calls).toHaveLength(2);
    expect(h.calls[0]!.url).toBe("https://sms.example.test/2010-04-01/Accounts/AC123/Messages.json");
    const form = new URLSearchParams(String(h.calls[0]!.init.body));
    expect(form.get("To")).toBe("+919876543210");
    expect(form.get("Body")).toContain(code);
    expect(new Headers(h.calls[0]!.init.headers).get("authorization")).toBe(`Basic ${btoa("AC123:secret-token")}`);
    expect(h.logs.length).toBeGreaterThan(0); // the 503 was logged...
    expect(h.logs.join("\n")).not.toContain(code); // ...without the code
  });

  it("msg91: template flow with the code as a variable; a 4xx is not retried and becomes a 503 for the app", async () => {
    const h = harness("msg91", [401]);
    const code = generateOtp();
    h.capture();
    let err: unknown;
    try {
      await sendOtpSms(
        { config: h.cfg, db: testDb().http, log: createLogger("debug"), fetchImpl: h.fetchImpl },
        { phone: "9876543210", code, purpose: "password_reset", role: "provider" },
      );
    } catch (e) {
      err = e;
    } finally {
      h.restore();
    }
    expect(h.calls).toHaveLength(1);
    const sent = JSON.parse(String(h.calls[0]!.init.body));
    expect(sent).toMatchObject({ template_id: "+15005550006", recipients: [{ mobiles: "919876543210", otp: code }] });
    expect(err).toMatchObject({ code: "SERVICE_UNAVAILABLE", status: 503 });
    expect(h.logs.join("\n")).not.toContain(code);
  });

  it("codes are uniform 6-digit strings", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const c = generateOtp();
      expect(c).toMatch(/^\d{6}$/);
      seen.add(c);
    }
    expect(seen.size).toBeGreaterThan(1990);
  });
});

/** Daily SMS budgets: per number and for the deployment, on top of the per-address throttle. */
describe("SMS budgets", () => {
  const today = sql`(now() at time zone 'Asia/Kolkata')::date`;
  const sentToday = async (scope: string) => {
    const { rows } = await testDb().http.execute<{ sent: number }>(
      sql`select coalesce((select sent from sms_daily_sends where scope = ${scope} and day = ${today}), 0)::int as sent`,
    );
    return rows[0]!.sent;
  };
  const gateway = (status: number) => {
    const calls: string[] = [];
    const fetchImpl = (async (url: string) => {
      calls.push(String(url));
      return new Response("{}", { status });
    }) as unknown as typeof fetch;
    return { calls, fetchImpl };
  };
  const send = (cfg: Config, phone: string, fetchImpl: typeof fetch) =>
    sendOtpSms(
      { config: cfg, db: testDb().http, log: createLogger("error"), fetchImpl },
      { phone, code: generateOtp(), purpose: "signup", role: "user" },
    )
      .then(() => "sent" as const)
      .catch((err: unknown) => err as { code?: string; status?: number; message?: string; retryAfter?: number });
  const staging = (over: Partial<Config>): Config => ({
    ...config(),
    ENVIRONMENT: "staging",
    SMS_DRIVER: "msg91",
    SMS_API_KEY: "key",
    SMS_SENDER: "template",
    SMS_API_URL: "https://sms.example.test",
    ...over,
  });

  it("a number past its daily budget gets the apps' 429 with retryAfter in seconds, and no SMS; other numbers are unaffected", async () => {
    const phone = randomPhone();
    await testDb().http.execute(
      sql`insert into sms_daily_sends (scope, day, sent) values (${`phone:${phone}`}, ${today}, ${config().SMS_DAILY_LIMIT_PER_NUMBER})`,
    );
    const signup = (p: string) =>
      api("POST", "/api/auth/signup", {
        headers: { "cf-connecting-ip": randomIp() },
        body: { fullName: "Budget Test", email: `budget.${p}@example.com`, phone: p, password: TEST_PASSWORD, role: "user" },
      });
    const r = await signup(phone);
    expect(r.status).toBe(429);
    expect(r.body).toMatchObject({ status: "error", errorCode: "RATE_LIMITED" });
    expect(r.body.message).toMatch(/too many OTP requests for this number today/i);
    expect(Number.isInteger(r.body.retryAfter)).toBe(true);
    expect(r.body.retryAfter).toBeGreaterThanOrEqual(1);
    expect(r.body.retryAfter).toBeLessThanOrEqual(86_400);
    expect(r.headers.get("retry-after")).toBe(String(r.body.retryAfter));
    const { rows } = await testDb().http.execute<{ n: number }>(sql`select count(*)::int as n from dev_sms_outbox where phone = ${phone}`);
    expect(rows[0]!.n).toBe(0);
    expect(await sentToday(`phone:${phone}`)).toBe(config().SMS_DAILY_LIMIT_PER_NUMBER);

    expect((await signup(randomPhone())).status).toBe(200);
  });

  it("a failed send spends no budget; the number's budget then refuses without calling the gateway", async () => {
    const phone = randomPhone();
    const cfg = staging({ SMS_DAILY_LIMIT_PER_NUMBER: 2 });
    const down = gateway(401);
    for (let i = 0; i < 3; i++) expect(await send(cfg, phone, down.fetchImpl)).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
    expect(await sentToday(`phone:${phone}`)).toBe(0);

    const up = gateway(200);
    expect(await send(cfg, phone, up.fetchImpl)).toBe("sent");
    expect(await send(cfg, phone, up.fetchImpl)).toBe("sent");
    const refused = await send(cfg, phone, up.fetchImpl);
    expect(refused).toMatchObject({ code: "RATE_LIMITED", status: 429 });
    expect(up.calls).toHaveLength(2);
    expect(await sentToday(`phone:${phone}`)).toBe(2);
  });

  it("the global daily budget refuses once spent, without calling the gateway or spending the number's budget", async () => {
    // Other test files send too and only ever raise the global count, so a budget of "today's count + 2"
    // refuses the third send here at the latest.
    const cfg = staging({ SMS_DAILY_LIMIT_GLOBAL: (await sentToday("global")) + 2 });
    const up = gateway(200);
    const phones = [randomPhone(), randomPhone(), randomPhone()];
    const results: Awaited<ReturnType<typeof send>>[] = [];
    for (const p of phones) results.push(await send(cfg, p, up.fetchImpl));
    const refusals = results.filter((r): r is Exclude<typeof r, "sent"> => r !== "sent");
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    for (const r of refusals) {
      expect(r).toMatchObject({ code: "RATE_LIMITED", status: 429, message: expect.stringMatching(/cannot send verification codes/) });
      expect(r.retryAfter).toBeGreaterThanOrEqual(1);
    }
    expect(up.calls).toHaveLength(results.length - refusals.length);
    for (const [i, p] of phones.entries()) expect(await sentToday(`phone:${p}`)).toBe(results[i] === "sent" ? 1 : 0);
  });
});
