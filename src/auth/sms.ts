import type { HttpDb } from "../db/client";
import { devSmsOutbox } from "../db/schema";
import type { Config } from "../env";
import { AppError } from "../http/errors";
import type { Logger } from "../lib/log";
import { OutboundTimeout, outboundFetch } from "../lib/outbound";

/**
 * SMS adapter, chosen by SMS_DRIVER:
 * - `console` (development/test; production refuses it in src/env.ts): prints one `[DEV-SMS]` line
 *   with the code and records the message in `dev_sms_outbox`, where tests and the local bench read
 *   it (a worker's console cannot be read from a vitest test, and isolate memory is not shared with
 *   Node-side tools).
 * - `msg91` (India, DLT-registered OTP flow) or `twilio` over HTTPS, through the outbound budget with
 *   retries on network errors, 429 and 5xx. Nothing but the status is ever logged: never the code.
 */
export type OtpSms = { phone: string; code: string; purpose: "signup" | "login" | "password_reset"; role: "user" | "provider" | "admin" };

const TEXT: Record<OtpSms["purpose"], string> = {
  signup: "Your BuildXpert verification code is",
  login: "Your BuildXpert login code is",
  password_reset: "Your BuildXpert password reset code is",
};

export function otpText(msg: Pick<OtpSms, "code" | "purpose">): string {
  return `${TEXT[msg.purpose]} ${msg.code}. It expires in 5 minutes. Do not share it with anyone.`;
}

export type SmsDeps = { config: Config; db: HttpDb; log: Logger; fetchImpl?: typeof fetch };

export async function sendOtpSms(deps: SmsDeps, msg: OtpSms): Promise<void> {
  const { config } = deps;
  switch (config.SMS_DRIVER) {
    case "console":
      return sendConsole(deps, msg);
    case "msg91":
      return withRetries(deps, () => msg91(deps, msg));
    case "twilio":
      return withRetries(deps, () => twilio(deps, msg));
  }
}

async function sendConsole({ config, db }: SmsDeps, msg: OtpSms): Promise<void> {
  if (config.ENVIRONMENT === "production") throw new AppError("NOT_CONFIGURED", "SMS is not configured");
  const body = otpText(msg);
  // The one place an OTP is printed: a development-only line, never through the redacting logger.
  console.log(`[DEV-SMS] to=+91${msg.phone} purpose=${msg.purpose} role=${msg.role} code=${msg.code}`);
  await db.insert(devSmsOutbox).values({ phone: msg.phone, role: msg.role, purpose: msg.purpose, code: msg.code, body });
}

class RetryableSmsError extends Error {}

async function withRetries({ log }: SmsDeps, attempt: () => Promise<void>): Promise<void> {
  const delays = [0, 300, 1000];
  let last: unknown;
  for (const [i, d] of delays.entries()) {
    if (d) await new Promise((r) => setTimeout(r, d));
    try {
      return await attempt();
    } catch (err) {
      last = err;
      const retryable = err instanceof RetryableSmsError || err instanceof OutboundTimeout || err instanceof TypeError;
      log.warn("sms send failed", { attempt: i + 1, retryable, error: err instanceof Error ? err.message : String(err) });
      if (!retryable) break;
    }
  }
  throw new AppError("SERVICE_UNAVAILABLE", "Could not send the OTP right now. Please try again.", { retryAfter: 5, cause: last });
}

function check(res: Response, provider: string): void {
  if (res.ok) return;
  if (res.status === 429 || res.status >= 500) throw new RetryableSmsError(`${provider} answered ${res.status}`);
  throw new Error(`${provider} rejected the message (${res.status})`);
}

/** MSG91 OTP flow: the template (SMS_SENDER = flow/template id) carries the `##otp##` variable. */
async function msg91({ config, fetchImpl }: SmsDeps, msg: OtpSms): Promise<void> {
  const url = config.SMS_API_URL ?? "https://control.msg91.com/api/v5/flow";
  const res = await outboundFetch(
    url,
    {
      method: "POST",
      headers: { authkey: config.SMS_API_KEY ?? "", "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ template_id: config.SMS_SENDER, short_url: "0", recipients: [{ mobiles: `91${msg.phone}`, otp: msg.code }] }),
    },
    { timeoutMs: 8000, fetchImpl },
  );
  check(res, "msg91");
  await res.body?.cancel();
}

/** Twilio Messages API: SMS_API_KEY = "<AccountSid>:<AuthToken>", SMS_SENDER = the from number or service sid. */
async function twilio({ config, fetchImpl }: SmsDeps, msg: OtpSms): Promise<void> {
  const [sid = "", token = ""] = (config.SMS_API_KEY ?? "").split(":");
  const base = config.SMS_API_URL ?? "https://api.twilio.com";
  const form = new URLSearchParams({ To: `+91${msg.phone}`, Body: otpText(msg) });
  if (config.SMS_SENDER?.startsWith("MG")) form.set("MessagingServiceSid", config.SMS_SENDER);
  else form.set("From", config.SMS_SENDER ?? "");
  const res = await outboundFetch(
    `${base.replace(/\/$/, "")}/2010-04-01/Accounts/${encodeURIComponent(sid)}/Messages.json`,
    {
      method: "POST",
      headers: { authorization: `Basic ${btoa(`${sid}:${token}`)}`, "content-type": "application/x-www-form-urlencoded" },
      body: form,
    },
    { timeoutMs: 8000, fetchImpl },
  );
  check(res, "twilio");
  await res.body?.cancel();
}
