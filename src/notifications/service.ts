import { and, count, desc, eq, gt, gte, isNotNull, isNull, lt, type SQL, sql } from "drizzle-orm";
import type { z } from "zod";
import type { HttpDb } from "../db/client";
import { notifications } from "../db/schema";
import { OUTBOX_TOPICS } from "../outbox/outbox";
import { formatDateIst, formatTimeIst, relativeTime } from "./format";
import type { AppNotification } from "./schemas";

/**
 * In-app notifications of one account. Every read is scoped to the caller's user id (an account
 * has one role, so upstream's extra `role` filter is gone) and costs one database round trip
 * (`http.batch`); every change also queues a content-free `notification_updated` /
 * `notification_deleted` socket event in the same statement, which the apps listen for and upstream
 * never sent.
 */

type Row = typeof notifications.$inferSelect;

/** The fields the apps read (docs/api-contract.md §3.10), snake_case as they expect. */
export function toAppNotification(n: Row, now = new Date()): z.input<typeof AppNotification> {
  const data = n.data ?? {};
  // The legacy provider screen (app/notifications.tsx) reads these optionally at the top level.
  const legacy: Record<string, unknown> = {};
  for (const k of ["amount", "discount", "providerName", "providerImage"]) if (data[k] !== undefined) legacy[k] = data[k];
  return {
    id: n.id,
    title: n.title,
    message: n.message,
    type: n.type,
    data,
    is_read: n.readAt !== null,
    read_at: n.readAt ? n.readAt.toISOString() : null,
    created_at: n.createdAt.toISOString(),
    formatted_date: formatDateIst(n.createdAt),
    formatted_time: formatTimeIst(n.createdAt),
    relative_time: relativeTime(n.createdAt, now),
    ...legacy,
  };
}

export function pagination(page: number, limit: number, total: number) {
  const totalPages = Math.ceil(total / limit);
  const hasMore = page < totalPages;
  return {
    currentPage: page,
    totalPages,
    totalCount: total,
    hasMore,
    limit,
    // Upstream's spellings, for any client still reading them.
    totalItems: total,
    itemsPerPage: limit,
    hasNextPage: hasMore,
    hasPrevPage: page > 1,
  };
}

export type ListFilter = { page: number; limit: number; type?: string; dateFrom?: Date; dateTo?: Date; readStatus?: "read" | "unread" };

function where(userId: string, f: Omit<ListFilter, "page" | "limit">): SQL {
  const parts: SQL[] = [eq(notifications.userId, userId)];
  if (f.type) parts.push(sql`lower(${notifications.type}) = ${f.type}`);
  if (f.dateFrom) parts.push(gte(notifications.createdAt, f.dateFrom));
  if (f.dateTo) parts.push(lt(notifications.createdAt, f.dateTo));
  if (f.readStatus === "read") parts.push(isNotNull(notifications.readAt));
  if (f.readStatus === "unread") parts.push(isNull(notifications.readAt));
  return and(...parts)!;
}

/** A page of the caller's notifications (newest first), the filtered total and the unread count: one round trip. */
export async function listNotifications(db: HttpDb, userId: string, f: ListFilter) {
  const cond = where(userId, f);
  const [rows, [filtered], [stats]] = await db.batch([
    db
      .select()
      .from(notifications)
      .where(cond)
      .orderBy(desc(notifications.createdAt), desc(notifications.id))
      .limit(f.limit)
      .offset((f.page - 1) * f.limit),
    db.select({ n: count() }).from(notifications).where(cond),
    db
      .select({
        total: count(),
        unread: sql<number>`count(*) filter (where ${notifications.readAt} is null)`.mapWith(Number),
        booking: sql<number>`count(*) filter (where ${notifications.type} = 'booking')`.mapWith(Number),
        rating: sql<number>`count(*) filter (where ${notifications.type} = 'rating')`.mapWith(Number),
        report: sql<number>`count(*) filter (where ${notifications.type} = 'report')`.mapWith(Number),
        welcome: sql<number>`count(*) filter (where ${notifications.type} = 'welcome')`.mapWith(Number),
      })
      .from(notifications)
      .where(eq(notifications.userId, userId)),
  ]);
  const now = new Date();
  return {
    notifications: rows.map((r) => toAppNotification(r, now)),
    pagination: pagination(f.page, f.limit, filtered?.n ?? 0),
    stats: stats ?? { total: 0, unread: 0, booking: 0, rating: 0, report: 0, welcome: 0 },
  };
}

export async function unreadCount(db: HttpDb, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(notifications)
    .where(and(eq(notifications.userId, userId), isNull(notifications.readAt)));
  return row?.n ?? 0;
}

/** Notifications created after `since` (at most 50, oldest first), for the polling client. */
export async function recentNotifications(db: HttpDb, userId: string, since: Date) {
  const rows = await db
    .select()
    .from(notifications)
    .where(and(eq(notifications.userId, userId), gt(notifications.createdAt, since)))
    .orderBy(notifications.createdAt)
    .limit(50);
  const now = new Date();
  return rows.map((r) => toAppNotification(r, now));
}

/** A socket event row for the outbox, built in SQL so the change and its event are one statement. */
const event = (userId: string, name: string, payload: SQL) =>
  sql`jsonb_build_object('userId', ${userId}::text, 'event', ${name}::text, 'audience', 'any', 'payload', ${payload})`;

/**
 * Marks one of the caller's notifications read. `missing` when it is not theirs or does not exist;
 * already-read notifications are left as they are (the apps call this optimistically, repeatedly).
 */
export async function markRead(db: HttpDb, userId: string, id: string): Promise<"updated" | "unchanged" | "missing"> {
  const res = await db.execute<{ found: number; updated: number }>(sql`
    with target as (
      select id, read_at from ${notifications} where id = ${id} and user_id = ${userId}
    ), upd as (
      update ${notifications} n set read_at = now() from target t where n.id = t.id and t.read_at is null returning n.id
    ), ev as (
      insert into outbox (topic, payload)
      select ${OUTBOX_TOPICS.realtime}, ${event(userId, "notification_updated", sql`jsonb_build_object('id', upd.id)`)} from upd
      returning id
    )
    select (select count(*) from target)::int as found, (select count(*) from upd)::int as updated`);
  const row = res.rows[0];
  if (!row || Number(row.found) === 0) return "missing";
  return Number(row.updated) > 0 ? "updated" : "unchanged";
}

/** Marks every unread notification of the caller read; returns how many changed. */
export async function markAllRead(db: HttpDb, userId: string): Promise<number> {
  const res = await db.execute<{ updated: number }>(sql`
    with upd as (
      update ${notifications} set read_at = now() where user_id = ${userId} and read_at is null returning id
    ), ev as (
      insert into outbox (topic, payload)
      select ${OUTBOX_TOPICS.realtime}, ${event(userId, "notification_updated", sql`jsonb_build_object('all', true)`)}
      where exists (select 1 from upd)
      returning id
    )
    select (select count(*) from upd)::int as updated`);
  return Number(res.rows[0]?.updated ?? 0);
}

/** Deletes one of the caller's notifications; false when it is not theirs or does not exist. */
export async function deleteNotification(db: HttpDb, userId: string, id: string): Promise<boolean> {
  const res = await db.execute<{ deleted: number }>(sql`
    with del as (
      delete from ${notifications} where id = ${id} and user_id = ${userId} returning id
    ), ev as (
      insert into outbox (topic, payload)
      select ${OUTBOX_TOPICS.realtime}, ${event(userId, "notification_deleted", sql`jsonb_build_object('id', del.id)`)} from del
      returning id
    )
    select (select count(*) from del)::int as deleted`);
  return Number(res.rows[0]?.deleted ?? 0) > 0;
}
