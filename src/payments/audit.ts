import type { HttpDb, TxDb } from "../db/client";
import { paymentApiLogs, paymentEvents, paymentSecurityEvents } from "../db/schema";
import { AppError } from "../http/errors";
import { orderByPaytmId } from "./orders";
import type { ClientEventData } from "./schemas";

/** The payments audit trail, as the seed praised it: events, API interactions, security events (§4.4). */

export type SecurityKind = (typeof paymentSecurityEvents.$inferInsert)["kind"];

export async function recordSecurityEvent(
  db: HttpDb | TxDb,
  e: {
    kind: SecurityKind;
    orderId?: string | null;
    paytmOrderId?: string | null;
    userId?: string | null;
    ip?: string | null;
    details?: Record<string, unknown>;
  },
): Promise<void> {
  await (db as HttpDb).insert(paymentSecurityEvents).values({
    kind: e.kind,
    orderId: e.orderId ?? null,
    paytmOrderId: e.paytmOrderId?.slice(0, 100) ?? null,
    userId: e.userId ?? null,
    ip: e.ip ?? null,
    details: e.details ?? {},
  });
}

export async function recordEvent(
  db: HttpDb,
  e: { orderId: string | null; source: string; eventType: string; dedupKey?: string; payload?: Record<string, unknown> },
): Promise<boolean> {
  const rows = await db
    .insert(paymentEvents)
    .values({
      orderId: e.orderId,
      source: e.source,
      eventType: e.eventType,
      dedupKey: e.dedupKey ?? `${e.source}:${crypto.randomUUID()}`,
      payload: e.payload ?? {},
    })
    .onConflictDoNothing()
    .returning({ id: paymentEvents.id });
  return rows.length > 0;
}

export type ApiLogRow = typeof paymentApiLogs.$inferInsert;

export async function recordApiLogs(db: HttpDb, rows: ApiLogRow[]): Promise<void> {
  if (rows.length > 0) await db.insert(paymentApiLogs).values(rows);
}

/** A payment-UI event the app reports about one of its own orders (known types only). */
export async function recordClientEvent(
  db: HttpDb,
  userId: string,
  input: { orderId: string; eventType: string; eventData?: Record<string, unknown> },
  client: Record<string, unknown>,
): Promise<ClientEventData> {
  const order = await orderByPaytmId(db, input.orderId);
  if (!order || order.userId !== userId) throw new AppError("NOT_FOUND", "Payment order not found");
  await recordEvent(db, {
    orderId: order.id,
    source: "client",
    eventType: input.eventType,
    payload: { data: input.eventData ?? {}, client },
  });
  return { recorded: true };
}
