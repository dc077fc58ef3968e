import { type SQL, sql } from "drizzle-orm";
import type { z } from "zod";
import type { Db, HttpDb, TxDb } from "../db/client";
import type { ReportStatus, SignupRole } from "../db/schema";
import { conflict, notFound } from "../http/errors";
import { isoSql, num, pgTextArray, rupees } from "../lib/shape";
import { emitStatement, notifyStatement } from "../outbox/outbox";
import { revokeSessionsStatement } from "../sessions/tokens";
import type { DashboardStats, ProviderAccounts, ReportPage, ReportStatusChanged, ReportView, UserAccounts } from "./schemas";

/** Admin screens of the provider app (docs/api-contract.md §3.17); every query is admin-only at the route. */

type Row = Record<string, unknown>;
const CANCELLED_BY_REMOVAL = "Account removed by admin";
const rowsOf = async (db: HttpDb | TxDb, q: SQL): Promise<Row[]> => (await (db as HttpDb).execute(q)).rows as Row[];

export async function dashboardStats(db: HttpDb): Promise<z.input<typeof DashboardStats>> {
  const [r] = await rowsOf(
    db,
    sql`select
          (select count(*)::int from users where role = 'user' and deleted_at is null) as total_users,
          (select count(*)::int from users where role = 'provider' and deleted_at is null) as total_providers,
          (select count(*)::int from bookings) as total_bookings,
          (select coalesce(sum(amount_paise - refunded_amount_paise), 0)::bigint from payment_orders where status = 'paid') as revenue_paise,
          (select count(*)::int from user_reports_providers where status = 'open') + (select count(*)::int from provider_reports_users where status = 'open') as open,
          (select count(*)::int from user_reports_providers where status = 'resolved') + (select count(*)::int from provider_reports_users where status = 'resolved') as resolved,
          (select count(*)::int from user_reports_providers where status = 'closed') + (select count(*)::int from provider_reports_users where status = 'closed') as closed`,
  );
  const open = num(r?.open);
  const resolved = num(r?.resolved);
  const closed = num(r?.closed);
  return {
    totalUsers: num(r?.total_users),
    totalProviders: num(r?.total_providers),
    totalBookings: num(r?.total_bookings),
    totalRevenue: rupees(num(r?.revenue_paise)) ?? 0,
    pendingReports: open,
    reportsStats: { total: open + resolved + closed, open, resolved, closed },
  };
}

/**
 * Both report directions in one list, in upstream's unified shape: for a provider's
 * report about a customer, the `reported_provider_*` fields hold the customer, and
 * `reported_type`/`reporter_type` ('User'/'Provider') tell the app which account a delete targets.
 * Search fields are never null (the app lower-cases them).
 */
export async function listReports(
  db: HttpDb,
  q: { status?: string; type?: SignupRole; limit: number; page: number },
): Promise<z.input<typeof ReportPage>> {
  const status = q.status && q.status !== "all" ? sql`and r.status = ${q.status}::report_status` : sql``;
  const userReports = sql`
    select r.id, r.incident_type as report_type, r.description, r.status::text as status, ${isoSql(sql`r.created_at`)} as created_at,
           ${isoSql(sql`r.updated_at`)} as updated_at, r.incident_date::text as incident_date, r.incident_time::text as incident_time,
           r.evidence, r.admin_note, r.booking_id,
           r.reporter_id as reported_by_user_id, r.reported_provider_id, r.reported_provider_id as provider_id,
           coalesce(ru.full_name, '') as reporter_name, coalesce(ru.phone, '') as reporter_phone,
           coalesce(pu.full_name, '') as reported_provider_name, coalesce(pu.phone, '') as reported_provider_phone,
           coalesce(ru.full_name, '') as customer_name, r.reporter_id as customer_user_id,
           'user_report' as report_source, 'User Report' as report_category, 'User' as reporter_type, 'Provider' as reported_type
      from user_reports_providers r
      left join users ru on ru.id = r.reporter_id
      left join users pu on pu.id = r.reported_provider_id
     where true ${status}`;
  // Named like the user branch: with ?type=provider this select stands alone and the outer query reads t.created_at.
  const providerReports = sql`
    select r.id, r.incident_type as report_type, r.description, r.status::text as status, ${isoSql(sql`r.created_at`)} as created_at,
           ${isoSql(sql`r.updated_at`)} as updated_at, r.incident_date::text as incident_date, r.incident_time::text as incident_time,
           r.evidence, r.admin_note, r.booking_id,
           r.provider_id as reported_by_user_id, r.customer_user_id as reported_provider_id, r.provider_id as provider_id,
           coalesce(pu.full_name, '') as reporter_name, coalesce(pu.phone, '') as reporter_phone,
           r.customer_name as reported_provider_name, coalesce(cu.phone, '') as reported_provider_phone,
           r.customer_name as customer_name, r.customer_user_id as customer_user_id,
           'provider_report' as report_source, 'Provider Report' as report_category, 'Provider' as reporter_type, 'User' as reported_type
      from provider_reports_users r
      left join users pu on pu.id = r.provider_id
      left join users cu on cu.id = r.customer_user_id
     where true ${status}`;
  const union =
    q.type === "user" ? userReports : q.type === "provider" ? providerReports : sql`${userReports} union all ${providerReports}`;
  const rows = await rowsOf(
    db,
    sql`select t.*, count(*) over ()::int as total_count from (${union}) t
        order by t.created_at desc, t.id limit ${q.limit} offset ${(q.page - 1) * q.limit}`,
  );
  const total = num(rows[0]?.total_count);
  return {
    reports: rows.map(({ total_count: _t, ...r }) => ({
      ...(r as z.input<typeof ReportView>),
      report_type: String(r.report_type ?? ""),
      description: String(r.description ?? ""),
      evidence: Array.isArray(r.evidence) ? r.evidence : [],
    })),
    pagination: { currentPage: q.page, totalPages: Math.max(1, Math.ceil(total / q.limit)), totalCount: total, total, limit: q.limit },
  };
}

/** Moderation: sets the status of whichever table holds the report (ids are uuids, unique across both). */
export async function setReportStatus(
  db: HttpDb,
  adminId: string,
  reportId: string,
  status: ReportStatus,
  note?: string,
): Promise<z.input<typeof ReportStatusChanged>> {
  const resolvedBy = status === "open" ? sql`null` : sql`${adminId}::uuid`;
  const resolvedAt = status === "open" ? sql`null` : sql`now()`;
  const set = sql`status = ${status}::report_status, resolved_by = ${resolvedBy}, resolved_at = ${resolvedAt},
                  admin_note = coalesce(${note ?? null}, admin_note)`;
  const rows = await rowsOf(
    db,
    sql`with a as (update user_reports_providers set ${set} where id = ${reportId} returning id, status::text as status, 'user_report' as report_source),
             b as (update provider_reports_users set ${set} where id = ${reportId} returning id, status::text as status, 'provider_report' as report_source)
        select * from a union all select * from b`,
  );
  if (!rows[0]) throw notFound("Report");
  return rows[0] as z.input<typeof ReportStatusChanged>;
}

/**
 * Removes an account the way the apps' admin screens expect, without erasing history:
 * soft delete, every session and refresh token revoked, the phone and e-mail blocked for the removed
 * account's role only (the same phone's account of the other role is another person's standing, and
 * keeps working), a provider's listings withdrawn, and live bookings on either side cancelled with the
 * other party told.
 *
 * Two round trips: a read of the account and its live bookings, then one batch (one transaction)
 * that does all of it, the notifications and socket events of the cancelled bookings included. The
 * batch writes nothing unless the live bookings are still the ones read (a booking made in between
 * would be cancelled with nobody told); then the removal starts over.
 */
export async function removeAccount(db: Db, adminId: string, userId: string, role: SignupRole): Promise<{ alreadyRemoved: boolean }> {
  const live = sql`
    select b.id, ${role === "provider" ? sql`b.customer_id` : sql`pp.user_id`} as other
      from bookings b join provider_profiles pp on pp.id = b.provider_id
     where b.status in ('pending', 'accepted') and ${role === "provider" ? sql`pp.user_id = ${userId}` : sql`b.customer_id = ${userId}`}`;
  const reason = "Removed by admin due to reports or policy violations";
  for (let attempt = 1; attempt <= 3; attempt++) {
    const [u] = await rowsOf(
      db.http,
      sql`select u.deleted_at is not null as removed,
                 (select coalesce(json_agg(json_build_object('id', l.id, 'other', l.other)), '[]'::json) from (${live}) l) as live
            from users u where u.id = ${userId} and u.role = ${role}::user_role`,
    );
    if (!u) throw notFound(role === "provider" ? "Provider" : "User");
    if (u.removed) return { alreadyRemoved: true };
    const bookings = (typeof u.live === "string" ? JSON.parse(u.live) : u.live) as { id: string; other: string }[];
    const ids = pgTextArray(bookings.map((b) => b.id));
    const [outcome] = await db.http.batch([
      db.http.execute<{ removed: boolean; unchanged: boolean }>(sql`
        with expected as (
          select not exists (select 1 from (${live}) l where l.id <> all(${ids}::uuid[])) as unchanged
        ), gone as (
          update users set deleted_at = now()
           where id = ${userId} and role = ${role}::user_role and deleted_at is null and (select unchanged from expected)
          returning id, phone, email
        ), blocked as (
          insert into blocked_identifiers (identifier_type, value, role, reason, blocked_by, metadata)
          select t.kind::identifier_type, t.value, ${role}::user_role, ${reason}, ${adminId}::uuid,
                 jsonb_build_object('userId', ${userId}::text, 'role', ${role}::text)
            from gone, lateral (values ('phone', gone.phone), ('email', gone.email)) as t(kind, value)
           where t.value is not null
          on conflict (identifier_type, value, role) do nothing
        ), withdrawn as (
          update provider_services set status = 'deleted', deleted_at = now()
           where ${role === "provider" ? sql`true` : sql`false`} and status <> 'deleted'
             and provider_id in (select id from provider_profiles where user_id in (select id from gone))
        ), cancelled as (
          update bookings set status = 'cancelled', cancellation_reason = ${CANCELLED_BY_REMOVAL},
                 viewed_by_customer = false, viewed_by_provider = false
           where id = any(${ids}::uuid[]) and status in ('pending', 'accepted') and exists (select 1 from gone)
        )
        select exists (select 1 from gone) as removed, (select unchanged from expected) as unchanged`),
      revokeSessionsStatement(db.http, userId, "admin_removed", {
        when: sql`exists (select 1 from users where id = ${userId} and deleted_at is not null)`,
      }),
      ...bookings.flatMap((b) => {
        const when = sql`exists (select 1 from bookings where id = ${b.id} and status = 'cancelled' and cancellation_reason = ${CANCELLED_BY_REMOVAL})`;
        return [
          notifyStatement(
            db.http,
            {
              userId: b.other,
              title: "Booking Cancelled",
              message: "A booking was cancelled because the other party's account was removed.",
              type: "booking",
              data: { bookingId: b.id, type: "booking_cancelled", screen: "bookings" },
              dedupKey: `booking:${b.id}:cancelled:removal`,
            },
            { when },
          ).query,
          emitStatement(
            db.http,
            [
              { userId: b.other, event: "booking_updated", payload: { bookingId: b.id }, audience: "any" },
              { userId: b.other, event: "booking_unread_count_update", payload: {}, audience: "any" },
            ],
            { when },
          ),
        ];
      }),
    ]);
    const r = outcome.rows[0];
    if (r?.removed) return { alreadyRemoved: false };
    // Removed meanwhile by another admin: done. Otherwise a booking was made or ended in between: read again.
    if (r?.unchanged) return { alreadyRemoved: true };
  }
  throw conflict("The account's bookings keep changing; try again");
}

export async function allUsers(db: HttpDb, q: { page: number; limit: number }): Promise<z.input<typeof UserAccounts>> {
  const rows = await rowsOf(
    db,
    sql`select u.id, u.full_name, coalesce(u.email, '') as email, u.phone, u.role::text as role, u.is_verified,
               ${isoSql(sql`u.created_at`)} as created_at, ${isoSql(sql`u.last_login_at`)} as last_login,
               (select count(*)::int from bookings b where b.customer_id = u.id) as total_bookings,
               count(*) over ()::int as total_count
          from users u where u.role = 'user' and u.deleted_at is null
         order by u.created_at desc, u.id limit ${q.limit} offset ${(q.page - 1) * q.limit}`,
  );
  const total = num(rows[0]?.total_count);
  return {
    users: rows.map(({ total_count: _t, ...r }) => ({
      ...(r as z.input<typeof UserAccounts>["users"][number]),
      full_name: String(r.full_name ?? ""),
      phone: String(r.phone ?? ""),
    })),
    pagination: { currentPage: q.page, totalPages: Math.max(1, Math.ceil(total / q.limit)), totalCount: total, total, limit: q.limit },
  };
}

export async function allProviders(db: HttpDb, q: { page: number; limit: number }): Promise<z.input<typeof ProviderAccounts>> {
  const rows = await rowsOf(
    db,
    sql`select u.id, u.full_name, coalesce(u.email, '') as email, u.phone, u.is_verified,
               ${isoSql(sql`u.created_at`)} as created_at, ${isoSql(sql`u.last_login_at`)} as last_login,
               coalesce(a.state, '') as state, coalesce(a.city, '') as city, coalesce(pp.years_of_experience, 0) as years_of_experience,
               coalesce((select string_agg(nullif(ps.service_description, ''), ' | ' order by ps.created_at)
                           from provider_services ps where ps.provider_id = pp.id and ps.status <> 'deleted'), '') as service_description,
               (select count(*)::int from provider_services ps where ps.provider_id = pp.id and ps.status <> 'deleted') as registered_services_count,
               count(*) over ()::int as total_count
          from users u
          left join provider_profiles pp on pp.user_id = u.id
          left join addresses a on a.user_id = u.id and a.type = 'home'
         where u.role = 'provider' and u.deleted_at is null
         order by u.created_at desc, u.id limit ${q.limit} offset ${(q.page - 1) * q.limit}`,
  );
  const total = num(rows[0]?.total_count);
  return {
    providers: rows.map(({ total_count: _t, ...r }) => ({
      ...(r as z.input<typeof ProviderAccounts>["providers"][number]),
      full_name: String(r.full_name ?? ""),
      phone: String(r.phone ?? ""),
    })),
    pagination: { currentPage: q.page, totalPages: Math.max(1, Math.ceil(total / q.limit)), totalCount: total, total, limit: q.limit },
  };
}
