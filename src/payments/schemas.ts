import { z } from "zod";

/** Our Paytm orderIds (ORDER_… / LABOUR_…); Paytm's own rule is ≤ 50 of [A-Za-z0-9@._-]. */
export const paytmOrderIdSchema = z.string().regex(/^[A-Za-z0-9@._-]{1,50}$/, "must be a payment order id");

/** The app shows the price; the server only checks it (docs/api-contract.md §3.12: a string "99"; §3.13: the number 99). */
const clientAmount = z.union([z.string().trim().max(20), z.number().positive().max(10_000_000)]);

export const InitiateListingBody = z.object({
  providerServiceId: z.uuid(),
  amount: clientAmount.optional(),
  serviceCategory: z.string().max(100).optional(),
  serviceName: z.string().max(200).optional(),
  currencyCode: z.literal("INR").optional(),
});

export const InitiateLabourBody = z.object({
  amount: clientAmount.optional(),
  serviceName: z.string().max(100).optional(),
  serviceCategory: z.string().max(100).optional(),
  paymentMethod: z.literal("paytm").optional(),
});

export const VerifyListingBody = z.object({ orderId: paytmOrderIdSchema, providerServiceId: z.uuid().optional() });
export const VerifyLabourBody = z.object({ orderId: paytmOrderIdSchema });
export const RetryBody = z.object({ orderId: paytmOrderIdSchema });

export const HistoryQuery = z.object({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** What the apps may record about their own payment UI; server-side events are never client-writable. */
export const CLIENT_EVENT_TYPES = [
  "payment_page_opened",
  "payment_page_closed",
  "payment_cancelled_by_user",
  "payment_webview_error",
  "payment_callback_detected",
  "verification_started",
] as const;

export const ClientEventBody = z
  .object({
    orderId: paytmOrderIdSchema.optional(),
    /** Upstream's field name; accepted as an alias of orderId. */
    transactionId: paytmOrderIdSchema.optional(),
    eventType: z.enum(CLIENT_EVENT_TYPES),
    eventData: z
      .record(z.string().max(64), z.unknown())
      .optional()
      .refine((d) => d === undefined || JSON.stringify(d).length <= 2000, "eventData is too large"),
  })
  .refine((b) => b.orderId || b.transactionId, { message: "orderId is required", path: ["orderId"] });

export const OrderIdParam = z.object({ orderId: paytmOrderIdSchema });
export const CheckoutQuery = z.object({ sig: z.string().min(1).max(64) });
