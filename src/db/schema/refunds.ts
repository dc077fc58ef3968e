import { sql } from "drizzle-orm";
import { check, index, integer, pgEnum, pgTable, text, unique, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, timestamptz, updatedAt } from "./columns";
import { paymentOrders } from "./payments";
import { users } from "./users";

/**
 * - `pending`: recorded with its refId, not yet accepted by Paytm (queued).
 * - `processing`: Paytm registered it (refunds are asynchronous and can stay PENDING for days).
 * - `completed` / `failed`: final. A failed refund frees its amount; a new refund gets a new refId.
 * - `needs_attention`: the outcome stayed ambiguous past the retry budget; an operator decides.
 *   It still counts against the paid amount, since the money may have moved.
 * Transitions are guarded by the `refunds_guard` trigger (custom migration).
 */
export const refundStatus = pgEnum("refund_status", ["pending", "processing", "completed", "failed", "needs_attention"]);
export type RefundStatus = (typeof refundStatus.enumValues)[number];

/**
 * Refunds of paid orders (upstream had none).
 *
 * `ref_id` is our Paytm refId: minted once, stored before the first call, reused for every retry and
 * status query; a new refId for the same money is how double refunds happen (docs/payments.md §1.7).
 *
 * Over-refunding is impossible in the database: the constraint trigger `refunds_within_paid_amount`
 * (custom migration) locks the order row, sums the non-failed refunds and rejects the change if they
 * exceed `amount_paise`; it also writes the totals onto the order, so concurrent transactions conflict
 * on that row at any isolation level.
 */
export const refunds = pgTable(
  "refunds",
  {
    id: id(),
    orderId: uuid("order_id")
      .notNull()
      .references(() => paymentOrders.id, { onDelete: "restrict" }),
    refId: text("ref_id").notNull(),
    amountPaise: integer("amount_paise").notNull(),
    /** e.g. service_cancelled, duplicate_payment, admin. */
    reason: text("reason").notNull(),
    status: refundStatus("status").notNull().default("pending"),
    /** Paytm's refundId, known once Paytm accepts the request. */
    paytmRefundId: text("paytm_refund_id"),
    /** Admin who asked; NULL for system refunds (e.g. a duplicate payment). */
    requestedBy: uuid("requested_by").references(() => users.id, { onDelete: "set null" }),
    /** First call to Paytm's refund API. */
    initiatedAt: timestamptz("initiated_at"),
    completedAt: timestamptz("completed_at"),
    failedAt: timestamptz("failed_at"),
    failureReason: text("failure_reason"),
    resultCode: text("result_code"),
    resultMsg: text("result_msg"),
    attemptCount: integer("attempt_count").notNull().default(0),
    lastCheckedAt: timestamptz("last_checked_at"),
    nextCheckAt: timestamptz("next_check_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("refunds_ref_id_uq").on(t.refId),
    unique("refunds_paytm_refund_id_uq").on(t.paytmRefundId),
    index("refunds_order_idx").on(t.orderId),
    index("refunds_open_next_check_idx").on(t.nextCheckAt).where(sql`${t.status} in ('pending', 'processing')`),
    index("refunds_status_updated_idx").on(t.status, t.updatedAt),
    check("refunds_amount_positive", sql`${t.amountPaise} > 0`),
    check("refunds_reason_present", sql`length(btrim(${t.reason})) > 0`),
    check("refunds_ref_id_format", sql`${t.refId} ~ '^[A-Za-z0-9_@.-]{1,50}$'`),
    check("refunds_attempt_count_nonneg", sql`${t.attemptCount} >= 0`),
    check("refunds_completed_has_time", sql`${t.status} <> 'completed' or ${t.completedAt} is not null`),
  ],
);
