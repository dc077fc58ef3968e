import { z } from "zod";
import { refundStatus } from "../db/schema";
import { text } from "../http/fields";

/** Our Paytm orderIds (ORDER_… / LABOUR_…), as the apps know them. */
const paytmOrderId = z.string().regex(/^[A-Za-z0-9@._-]{1,50}$/, "must be a payment order id");

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
