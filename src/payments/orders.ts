import { and, eq, inArray, sql } from "drizzle-orm";
import type { HttpDb } from "../db/client";
import { paymentOrders } from "../db/schema";
import { AppError } from "../http/errors";

/**
 * The payment order as Postgres records it, and opening one: the one-open-order natural key per payer
 * and product. Postgres is the system of record (its guards make "paid twice" and "activated twice"
 * unrecordable, see migrations/0001_guards.sql); the PaymentOrder Durable Object keeps the Paytm side.
 */

export type PaymentOrderRow = typeof paymentOrders.$inferSelect;
export type Purpose = PaymentOrderRow["purpose"];

/**
 * An order lives as long as its txnToken (15 min at Paytm, docs/payments.md §1.2) plus a few minutes for a
 * bank to confirm; after that reconciliation asks Paytm once more and closes it if unpaid.
 */
export const ORDER_TTL_MS = 20 * 60_000;
export const TOKEN_TTL_MS = 14 * 60_000; // Paytm's 15 minutes, minus a safety margin
const FIRST_CHECK_MS = 2 * 60_000;

/** ≤ 50 chars of [A-Za-z0-9_], unique: the orderId Paytm sees and the app echoes back. */
export function mintPaytmOrderId(purpose: Purpose): string {
  const rand = crypto.getRandomValues(new Uint8Array(8));
  let hex = "";
  for (const b of rand) hex += b.toString(16).padStart(2, "0");
  return `${purpose === "listing_fee" ? "ORDER" : "LABOUR"}_${Date.now().toString(36)}_${hex}`.toUpperCase();
}

export type OpenOrderInput = {
  userId: string;
  purpose: Purpose;
  providerServiceId: string | null;
  amountPaise: number;
  validityDays: number;
  clientInfo: Record<string, unknown>;
};

export type OpenOrderKey = Pick<OpenOrderInput, "userId" | "purpose" | "providerServiceId">;

/**
 * The payer's one open order for this product (at most one: partial unique indexes), as a query to
 * send alone or in a batch. Scoped to the payer, so a listing id from a request body finds only the
 * caller's own orders.
 */
export function openOrderQuery(db: HttpDb, key: OpenOrderKey) {
  return db
    .select()
    .from(paymentOrders)
    .where(
      and(
        eq(paymentOrders.userId, key.userId),
        eq(paymentOrders.purpose, key.purpose),
        key.providerServiceId === null
          ? sql`${paymentOrders.providerServiceId} is null`
          : eq(paymentOrders.providerServiceId, key.providerServiceId),
        inArray(paymentOrders.status, ["created", "pending"]),
      ),
    )
    .limit(1);
}

/** The payer's order history that risk scoring reads (assessRisk). */
export type RiskStats = { lastHour: number; total: number; failed: number };

function riskStatsQuery(db: HttpDb, userId: string) {
  return db
    .select({
      lastHour: sql<number>`count(*) filter (where ${paymentOrders.createdAt} > now() - interval '1 hour')::int`,
      total: sql<number>`count(*)::int`,
      failed: sql<number>`count(*) filter (where ${paymentOrders.status} in ('failed', 'expired'))::int`,
    })
    .from(paymentOrders)
    .where(eq(paymentOrders.userId, userId));
}

/**
 * The natural idempotency key: at most one open order per (payer, purpose, listing), enforced by
 * the partial unique indexes. The claim is one INSERT ... ON CONFLICT DO NOTHING: a concurrent
 * loser waits for the winner's commit and inserts nothing. Never a SELECT-then-INSERT race
 * (docs/payments.md §2.1). One round trip: the claim, the read of the open order (a later statement
 * of the same READ COMMITTED batch, so it sees our row or the committed winner's) and the payer's
 * history for risk scoring travel as one non-interactive batch.
 */
export async function openOrder(
  db: HttpDb,
  input: OpenOrderInput,
): Promise<{ order: PaymentOrderRow; created: boolean; risk: RiskStats | undefined }> {
  for (let i = 0; i < 3; i++) {
    const [inserted, [open], [risk]] = await db.batch([
      db
        .insert(paymentOrders)
        .values({
          paytmOrderId: mintPaytmOrderId(input.purpose),
          userId: input.userId,
          purpose: input.purpose,
          providerServiceId: input.providerServiceId,
          amountPaise: input.amountPaise,
          validityDays: input.validityDays,
          status: "created",
          expiresAt: new Date(Date.now() + ORDER_TTL_MS),
          nextCheckAt: new Date(Date.now() + FIRST_CHECK_MS),
          clientInfo: input.clientInfo,
        })
        .onConflictDoNothing()
        .returning(),
      openOrderQuery(db, input),
      riskStatsQuery(db, input.userId),
    ]);
    if (inserted[0]) return { order: inserted[0], created: true, risk };
    if (open) return { order: open, created: false, risk };
    // The open order closed between our INSERT and SELECT: claim again.
  }
  throw new AppError("SERVICE_UNAVAILABLE", "Please retry", { retryAfter: 1 });
}

export function orderByPaytmIdQuery(db: HttpDb, paytmOrderId: string) {
  return db.select().from(paymentOrders).where(eq(paymentOrders.paytmOrderId, paytmOrderId)).limit(1);
}

export async function orderByPaytmId(db: HttpDb, paytmOrderId: string): Promise<PaymentOrderRow | undefined> {
  const [row] = await orderByPaytmIdQuery(db, paytmOrderId);
  return row;
}
