import { type SQL, sql } from "drizzle-orm";
import type { Db, HttpDb } from "../db/client";
import { formatDateIst, formatTimeIst } from "../notifications/format";
import { type NotifyInput, notifyMany } from "../outbox/outbox";
import type { LabourAccessStatusData } from "./schemas";

/** Labour access: a customer's paid window for booking labourers. */

/** Labour access is priced by the platform, not by a listing (upstream: exactly ₹99 for 7 days, §4). */
export const LABOUR_ACCESS_PRICE = { amountPaise: 9900, validityDays: 7 } as const;

/**
 * Labour access now: a paid window covering now(). The ONE definition, read by the status endpoint,
 * the bookings check and anything else that asks (windows never overlap, so at most one row matches).
 * `userId` is a value or an SQL expression (e.g. a column of the caller's query).
 */
export const labourWindowNow = (userId: SQL | string): SQL =>
  sql`select la.id, la.starts_at, la.expires_at from labour_access la
       where la.user_id = ${userId} and la.starts_at <= now() and now() < la.expires_at`;

/** `labourWindowNow` as a boolean SQL expression, for callers that check access inside a larger query. */
export const hasLabourAccessSql = (userId: SQL | string): SQL => sql`exists (${labourWindowNow(userId)})`;

/** The user's access as the status endpoint answers it, with the fallback names the user app also reads. */
export async function labourAccessStatus(db: HttpDb, userId: string): Promise<LabourAccessStatusData> {
  const s = await accessWindow(db, userId);
  return { ...s, labour_access_status: s.accessStatus, labour_access_start_date: s.startDate, labour_access_end_date: s.endDate };
}

type AccessWindow = Omit<LabourAccessStatusData, "labour_access_status" | "labour_access_start_date" | "labour_access_end_date">;

/**
 * Active iff a window covers now (`labourWindowNow`); it then runs from that window's start to the end
 * of the back-to-back windows that follow it (renewals start where the previous window ends).
 */
async function accessWindow(db: HttpDb, userId: string): Promise<AccessWindow> {
  const { rows } = await db.execute<{
    current_start: string | null;
    current_end: string | null;
    last_start: string | null;
    last_end: string | null;
    any_window: boolean;
    now: string;
  }>(sql`
    with recursive cur as (${labourWindowNow(userId)}),
    run as (
      select starts_at, expires_at from cur
      union
      select la.starts_at, la.expires_at from labour_access la join run on la.user_id = ${userId} and la.starts_at = run.expires_at
    )
    select to_json((select starts_at from cur))#>>'{}' as current_start,
           to_json((select max(expires_at) from run))#>>'{}' as current_end,
           to_json(max(starts_at) filter (where starts_at <= now()))#>>'{}' as last_start,
           to_json(max(expires_at) filter (where expires_at <= now()))#>>'{}' as last_end,
           count(*) > 0 as any_window,
           to_json(now())#>>'{}' as now
      from labour_access where user_id = ${userId}`);
  const r = rows[0];
  const now = new Date(r?.now ?? Date.now());
  if (r?.current_start && r.current_end) {
    const end = new Date(r.current_end);
    return {
      hasAccess: true,
      accessStatus: "active",
      startDate: new Date(r.current_start).toISOString(),
      endDate: end.toISOString(),
      daysRemaining: Math.ceil((end.getTime() - now.getTime()) / 86_400_000),
      isExpired: false,
    };
  }
  if (!r?.any_window || !r.last_end) {
    return { hasAccess: false, accessStatus: "inactive", startDate: null, endDate: null, daysRemaining: 0, isExpired: false };
  }
  return {
    hasAccess: false,
    accessStatus: "expired",
    startDate: new Date(r.last_start ?? r.last_end).toISOString(),
    endDate: new Date(r.last_end).toISOString(),
    daysRemaining: 0,
    isExpired: true,
  };
}

/** For other capabilities: does this user hold labour access right now? */
export async function hasLabourAccess(db: HttpDb, userId: string): Promise<boolean> {
  const { rows } = await db.execute<{ ok: boolean }>(sql`select ${hasLabourAccessSql(userId)} as ok`);
  return rows[0]?.ok === true;
}

// ---------------------------------------------------------------------------------------------
// Expiry warning (cron, src/jobs/schedule.ts): one transaction, the `sent_reminders` claim and the
// notification commit together, so re-running sends nothing twice.

const iso = (v: string) => new Date(v);

/**
 * Labour access ending within 2 days with no later window (a renewal starts where the current one
 * ends, so a renewed user is not warned): one warning per access row.
 */
export async function warnExpiringLabourAccess(db: Db, at: Date) {
  return db.transaction(async (tx) => {
    const res = await tx.execute<{ id: string; user_id: string; expires_at: string }>(sql`
      with due as (
        select la.id, la.user_id, la.expires_at
        from labour_access la
        where la.expires_at > ${at.toISOString()}::timestamptz
          and la.expires_at <= ${at.toISOString()}::timestamptz + interval '2 days'
          and not exists (select 1 from labour_access later where later.user_id = la.user_id and later.expires_at > la.expires_at)
      ), claimed as (
        insert into sent_reminders (kind, subject_id, period, user_id)
        select 'labour_expiry_warning', id, to_json(expires_at)#>>'{}', user_id from due
        on conflict do nothing
        returning subject_id
      )
      select due.id, due.user_id, to_json(due.expires_at)#>>'{}' as expires_at
      from due join claimed on claimed.subject_id = due.id`);
    const inputs: NotifyInput[] = res.rows.map((a) => ({
      userId: a.user_id,
      type: "labour_access",
      title: "⏳ Labour Access Expiring Soon",
      message: `Your labour service access expires on ${formatDateIst(iso(a.expires_at))} at ${formatTimeIst(iso(a.expires_at))}. Renew to keep booking labourers.`,
      data: { type: "labour_access_expiring", labourAccessId: a.id, expiresAt: a.expires_at, screen: "home" },
      dedupKey: `labour_expiry_warning:${a.id}`,
    }));
    const written = await notifyMany(tx, inputs);
    return { warned: res.rows.length, notified: written.length };
  });
}
