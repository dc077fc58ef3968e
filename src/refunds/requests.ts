import { eq } from "drizzle-orm";
import type { HttpDb } from "../db/client";
import { paymentOrders } from "../db/schema";
import { AppError } from "../http/errors";
import { paymentOrderStub } from "../lib/durable-objects";
import { rupeesToPaise } from "../paytm/amount";
import type { RefundLedgerData, RefundView } from "./schemas";
import { ledgerOf, orderRefunds, type RequestOutcome, refundById, toView } from "./service";

/**
 * Refunds as the API offers them (refunds/routes.ts): asking for one, reading one or an order's
 * ledger, an admin's retry. Who may see what is decided here; every step that changes a refund runs
 * in the order's PaymentOrder Durable Object, one step of an order at a time.
 */

/** Who is asking: admins see and refund any order, everyone else only their own. */
export type Viewer = { userId: string; role: string };

export type RefundAsk = { orderId: string; reason: string; amount?: number; amountPaise?: number };

/** A refund asked for: `created` is false when an open request for the same thing was found instead. */
export type RequestedRefund = Extract<RequestOutcome, { ok: true }>;

export async function requestRefund(env: Env, db: HttpDb, viewer: Viewer, input: RefundAsk): Promise<RequestedRefund> {
  if (input.amount !== undefined && input.amountPaise !== undefined) {
    throw new AppError("VALIDATION_ERROR", "Send either amount or amountPaise, not both");
  }
  const amountPaise = input.amountPaise ?? (input.amount !== undefined ? (rupeesToPaise(input.amount.toFixed(2)) ?? undefined) : undefined);
  // The order's Durable Object loads the order from Postgres; a missing one is a plain 404 here.
  const [known] = await db
    .select({ id: paymentOrders.id })
    .from(paymentOrders)
    .where(eq(paymentOrders.paytmOrderId, input.orderId))
    .limit(1);
  if (!known) throw new AppError("NOT_FOUND", "Payment order not found");
  const r = await paymentOrderStub(env, input.orderId).requestRefund(input.orderId, {
    paytmOrderId: input.orderId,
    reason: input.reason,
    amountPaise,
    actor: viewer.role === "admin" ? { kind: "admin", userId: viewer.userId } : { kind: "customer", userId: viewer.userId },
  });
  if (!r.ok) throw new AppError(r.code, r.message, { extra: r.extra });
  return r;
}

/** One refund, for its payer or an admin. */
export async function refundFor(db: HttpDb, viewer: Viewer, refundId: string): Promise<RefundView> {
  const found = await refundById(db, refundId);
  if (!found || (viewer.role !== "admin" && found.order.userId !== viewer.userId)) throw new AppError("NOT_FOUND", "Refund not found");
  return toView(found.refund, found.order.paytmOrderId);
}

/** An order's refund ledger and its refunds, for its payer or an admin. */
export async function orderRefundLedger(db: HttpDb, viewer: Viewer, paytmOrderId: string): Promise<RefundLedgerData> {
  const found = await orderRefunds(db, paytmOrderId);
  if (!found || (viewer.role !== "admin" && found.order.userId !== viewer.userId))
    throw new AppError("NOT_FOUND", "Payment order not found");
  return { ...ledgerOf(found.order), refunds: found.refunds.map((r) => toView(r, found.order.paytmOrderId)) };
}

/** An admin re-drives a refund that needs attention (same refId; Paytm is asked for its status first). */
export async function retryRefund(
  env: Env,
  db: HttpDb,
  adminId: string,
  refundId: string,
): Promise<{ refund: RefundView; requeued: boolean }> {
  const found = await refundById(db, refundId);
  if (!found) throw new AppError("NOT_FOUND", "Refund not found");
  if (found.refund.status !== "needs_attention") {
    throw new AppError(
      "INVALID_STATE_TRANSITION",
      `Only a refund that needs attention can be retried (this one is ${found.refund.status})`,
    );
  }
  const r = await paymentOrderStub(env, found.order.paytmOrderId).retryRefund(found.order.paytmOrderId, found.refund.id, adminId);
  const after = await refundById(db, found.refund.id);
  return { refund: toView(after!.refund, found.order.paytmOrderId), requeued: r.status === "pending" };
}
