import { describe, expect, it } from "vitest";
import { generateOtp } from "../../src/auth/otp";
import { sendOtpSms } from "../../src/auth/sms";
import type { Config } from "../../src/env";
import { createLogger } from "../../src/lib/log";
import { config, testDb } from "../harness";

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
