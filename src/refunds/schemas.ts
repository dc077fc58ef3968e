import { z } from "zod";
import { paymentPurpose, paymentStatus, refundStatus } from "../db/schema";
import { Pagination, paytmOrderId, text } from "../http/fields";

/** Reasons are free text for admins; the apps send a short slug (e.g. "service_cancelled"). */
const reason = text().trim().min(3).max(200);

export const RefundRequestBody = z.object({
  orderId: paytmOrderId,
  reason,
  /** Rupees, as the apps show money (e.g. 49.5); omitted = everything not yet refunded. */
  amount: z.number().positive().max(1_000_000).multipleOf(0.01).optional(),
  /** Paise, for callers that already speak the ledger's unit. Mutually exclusive with `amount`. */
  amountPaise: z.number().int().positive().max(100_000_000).optional(),
});

export const RefundIdParam = z.object({ id: z.uuid() });
export const OrderIdParam = z.object({ orderId: paytmOrderId });

export const AdminRefundsQuery = z.object({
  status: z.enum(refundStatus.enumValues).optional(),
  orderId: paytmOrderId.optional(),
  userId: z.uuid().optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** The refunds queue message (and its dead letter). Consumers key on the refund id only. */
export const RefundMessage = z.object({ refundId: z.uuid() });
export type RefundMessage = z.infer<typeof RefundMessage>;

// ---------------------------------------------------------------------------------------------
// Response shapes: the `data` of each route's 2xx answer (`describe({ response })`); the services
// return values of these types.

const instant = z.iso.datetime();

/** One refund as the payer and admins read it. */
export const RefundView = z.object({
  id: z.uuid(),
  /** Our refund id at Paytm, minted once per refund. */
  refId: z.string(),
  orderId: paytmOrderId,
  status: z.enum(refundStatus.enumValues),
  amountPaise: z.int(),
  amount: z.number(),
  reason: z.string(),
  paytmRefundId: z.string().nullable(),
  requestedBy: z.uuid().nullable(),
  attemptCount: z.int(),
  initiatedAt: instant.nullable(),
  completedAt: instant.nullable(),
  failedAt: instant.nullable(),
  failureReason: z.string().nullable(),
  createdAt: instant,
  updatedAt: instant,
});
export type RefundView = z.infer<typeof RefundView>;

/** A refund request's answer also names the refund at the top level, beside `data`. */
export const RefundRequestedTop = z.object({ refundId: z.uuid(), refundStatus: z.enum(refundStatus.enumValues) });

/** An order's refund ledger and its refunds. */
export const RefundLedgerData = z.object({
  orderId: paytmOrderId,
  orderStatus: z.enum(paymentStatus.enumValues),
  amountPaise: z.int(),
  refundedAmountPaise: z.int(),
  refundsOpenPaise: z.int(),
  refundablePaise: z.int(),
  fullyRefunded: z.boolean(),
  refunds: z.array(RefundView),
});
export type RefundLedgerData = z.infer<typeof RefundLedgerData>;

export const AdminRefundsData = z.object({
  refunds: z.array(RefundView.extend({ userId: z.uuid(), purpose: z.enum(paymentPurpose.enumValues) })),
  pagination: Pagination,
});
export type AdminRefundsData = z.infer<typeof AdminRefundsData>;

/**
 * What Paytm's webhooks are answered (Paytm reads only the status code): received, and whether it was
 * a repeat. A refund notice (./webhook.ts) also says where the refund now stands, or
 * `applied: false` when it named no refund of ours (another merchant, an unknown refId, another amount).
 * Defined here, not in payments/, because both answer it and refunds does not import payments
 * (payments/notices.ts hands refund notices to ./webhook.ts).
 */
export const PaytmWebhookData = z.object({
  received: z.literal(true),
  duplicate: z.boolean().optional(),
  applied: z.literal(false).optional(),
  refundStatus: z.enum(refundStatus.enumValues).optional(),
});
export type PaytmWebhookData = z.infer<typeof PaytmWebhookData>;
