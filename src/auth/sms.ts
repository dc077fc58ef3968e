import { and, eq, inArray, sql } from "drizzle-orm";
import type { HttpDb } from "../db/client";
import { devSmsOutbox, type OtpPurpose, type Role, smsDailySends } from "../db/schema";
import type { Config } from "../env";
import { AppError } from "../http/errors";
import type { Logger } from "../lib/log";
import { OutboundTimeout, outboundFetch } from "../lib/outbound";

/**
 * SMS adapter, chosen by SMS_DRIVER, behind daily budgets (per number and global, SMS_DAILY_LIMIT_*):
 * - `console` (development/test; production refuses it in src/env.ts): prints one `[DEV-SMS]` line
 *   with the code and records the message in `dev_sms_outbox`, where tests and the local bench read
 *   it (a worker's console cannot be read from a vitest test, and isolate memory is not shared with
 *   Node-side tools).
 * - `msg91` (India, DLT-registered OTP flow) or `twilio` over HTTPS, through the outbound budget with
 *   retries on network errors, 429 and 5xx. Nothing but the status is ever logged: never the code.
 */
export type OtpSms = { phone: string; code: string; purpose: OtpPurpose; role: Role };

const TEXT: Record<OtpSms["purpose"], string> = {
  signup: "Your BuildXpert verification code is",
  login: "Your BuildXpert login code is",
  password_reset: "Your BuildXpert password reset code is",
};

export function otpText(msg: Pick<OtpSms, "code" | "purpose">): string {
  return `${TEXT[msg.purpose]} ${msg.code}. It expires in 5 minutes. Do not share it with anyone.`;
}

export type SmsDeps = { config: Config; db: HttpDb; log: Logger; fetchImpl?: typeof fetch };

/**
 * Sends one OTP within the daily budgets: a count is reserved per number and globally before the
 * gateway is called, and given back if the send fails, so only delivered messages spend budget.
 */
export async function sendOtpSms(deps: SmsDeps, msg: OtpSms): Promise<void> {
  const day = await reserveBudget(deps, msg.phone);
  try {
    await deliver(deps, msg);
  } catch (err) {
    await releaseBudget(deps.db, [`phone:${msg.phone}`, "global"], day).catch(() => undefined);
    throw err;
  }
}

const TODAY_IN_INDIA = sql`(now() at time zone 'Asia/Kolkata')::date`;

/** Seconds until the next midnight in India (UTC+05:30, no daylight saving), when the budgets reset. */
export function secondsUntilIndiaMidnight(nowMs = Date.now()): number {
  const local = Math.floor(nowMs / 1000) + 19_800;
  return 86_400 - (local % 86_400);
}

/**
 * One statement: the number's count, then (only if that was granted) the global count, each an
 * upsert that refuses at its limit, so concurrent sends cannot overshoot either. Returns the day.
 */
async function reserveBudget({ config, db, log }: SmsDeps, phone: string): Promise<string> {
  const { rows } = await db.execute<{ day: string; number_ok: boolean; global_ok: boolean }>(sql`
    with n as (
      insert into sms_daily_sends as s (scope, day, sent) values (${`phone:${phone}`}, ${TODAY_IN_INDIA}, 1)
      on conflict (scope, day) do update set sent = s.sent + 1 where s.sent < ${config.SMS_DAILY_LIMIT_PER_NUMBER}
      returning 1
    ),
    g as (
      insert into sms_daily_sends as s (scope, day, sent) select 'global', ${TODAY_IN_INDIA}, 1 where exists (select 1 from n)
      on conflict (scope, day) do update set sent = s.sent + 1 where s.sent < ${config.SMS_DAILY_LIMIT_GLOBAL}
      returning 1
    )
    select ${TODAY_IN_INDIA}::text as day, exists (select 1 from n) as number_ok, exists (select 1 from g) as global_ok
  `);
  const r = rows[0]!;
  const retryAfter = secondsUntilIndiaMidnight();
  if (!r.number_ok) {
    throw new AppError("RATE_LIMITED", "Too many OTP requests for this number today. Please try again tomorrow.", { retryAfter });
  }
  if (!r.global_ok) {
    await releaseBudget(db, [`phone:${phone}`], r.day).catch(() => undefined);
    log.error("sms daily budget exhausted", { limit: config.SMS_DAILY_LIMIT_GLOBAL });
    throw new AppError("RATE_LIMITED", "We cannot send verification codes right now. Please try again later.", { retryAfter });
  }
  return r.day;
}

async function releaseBudget(db: HttpDb, scopes: string[], day: string): Promise<void> {
  await db
    .update(smsDailySends)
    .set({ sent: sql`greatest(${smsDailySends.sent} - 1, 0)` })
    .where(and(inArray(smsDailySends.scope, scopes), eq(smsDailySends.day, day)));
}

async function deliver(deps: SmsDeps, msg: OtpSms): Promise<void> {
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
