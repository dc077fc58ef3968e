import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";

/**
 * Nightly (03:00 IST) housekeeping: expired auth material, old ledgers, delivered outbox rows and
 * notification retention. Every rule is a bounded, repeatable DELETE (ctid batches of 5,000), so a
 * run that stops half way simply continues the next night; one failing rule does not stop the rest.
 *
 * Margins: auth rows go a day after they expire (the auth module can still tell "expired" from
 * "unknown" in that day); revoked sessions are kept 30 days for the audit trail.
 */
const CHUNK = 5000;
const MAX_CHUNKS = 40;

type Rule = { name: string; table: string; where: (at: string) => SQL };

export const CLEANUP_RULES: Rule[] = [
  { name: "otp_challenges", table: "otp_challenges", where: (at) => sql`expires_at < ${at}::timestamptz - interval '1 day'` },
  // Development/test only (the console SMS driver); OTP codes are useless after 5 minutes.
  { name: "dev_sms_outbox", table: "dev_sms_outbox", where: (at) => sql`created_at < ${at}::timestamptz - interval '1 day'` },
  { name: "refresh_tokens", table: "refresh_tokens", where: (at) => sql`expires_at < ${at}::timestamptz - interval '1 day'` },
  {
    // A session is over when revoked, or when it has had no live refresh token and no use for 30 days.
    name: "sessions",
    table: "sessions",
    where: (at) => sql`revoked_at < ${at}::timestamptz - interval '30 days'
      or (created_at < ${at}::timestamptz - interval '30 days' and last_seen_at < ${at}::timestamptz - interval '30 days'
          and not exists (select 1 from refresh_tokens r where r.session_id = sessions.id and r.expires_at > ${at}::timestamptz))`,
  },
  { name: "login_attempts", table: "login_attempts", where: (at) => sql`attempted_at < ${at}::timestamptz - interval '90 days'` },
  // Lock windows last 15 minutes and locks 15 more; a day later a row only says "no failures".
  {
    name: "login_lockouts",
    table: "login_lockouts",
    where: (at) =>
      sql`window_started_at < ${at}::timestamptz - interval '1 day' and (locked_until is null or locked_until < ${at}::timestamptz)`,
  },
  {
    name: "otp_lockouts",
    table: "otp_lockouts",
    where: (at) =>
      sql`window_started_at < ${at}::timestamptz - interval '1 day' and (locked_until is null or locked_until < ${at}::timestamptz)`,
  },
  {
    name: "sms_daily_sends",
    table: "sms_daily_sends",
    where: (at) => sql`day < (${at}::timestamptz at time zone 'Asia/Kolkata')::date - 2`,
  },
  { name: "security_events", table: "security_events", where: (at) => sql`created_at < ${at}::timestamptz - interval '1 year'` },
  {
    name: "push_tokens",
    table: "push_tokens",
    where: (at) => sql`not is_active and updated_at < ${at}::timestamptz - interval '30 days'`,
  },
  { name: "push_deliveries", table: "push_deliveries", where: (at) => sql`created_at < ${at}::timestamptz - interval '30 days'` },
  { name: "sent_reminders", table: "sent_reminders", where: (at) => sql`sent_at < ${at}::timestamptz - interval '60 days'` },
  { name: "outbox", table: "outbox", where: (at) => sql`dispatched_at < ${at}::timestamptz - interval '7 days'` },
  {
    // Retention: read notifications after 90 days, unread ones after a year (upstream deleted everything at 90 days).
    name: "notifications",
    table: "notifications",
    where: (at) =>
      sql`(read_at is not null and created_at < ${at}::timestamptz - interval '90 days') or created_at < ${at}::timestamptz - interval '1 year'`,
  },
];

async function deleteInChunks(db: Db, rule: Rule, at: string): Promise<number> {
  let total = 0;
  for (let i = 0; i < MAX_CHUNKS; i++) {
    const table = sql.identifier(rule.table);
    const res = await db.http.execute(
      sql`delete from ${table} where ctid = any(array(select ctid from ${table} where ${rule.where(at)} limit ${CHUNK}))`,
    );
    const n = res.rowCount ?? 0;
    total += n;
    if (n < CHUNK) break;
  }
  return total;
}

export async function runCleanup(db: Db, at: Date, rules: Rule[] = CLEANUP_RULES) {
  const deleted: Record<string, number> = {};
  const failed: string[] = [];
  for (const rule of rules) {
    try {
      deleted[rule.name] = await deleteInChunks(db, rule, at.toISOString());
    } catch (err) {
      failed.push(`${rule.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (failed.length) throw new Error(`cleanup incomplete (${failed.join("; ")}); deleted ${JSON.stringify(deleted)}`);
  return deleted;
}
