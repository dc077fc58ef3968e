import { z } from "zod";
import { listingStatus, paymentPurpose, paymentStatus } from "../db/schema";
import { Pagination, paytmOrderId } from "../http/fields";

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

export const VerifyListingBody = z.object({ orderId: paytmOrderId, providerServiceId: z.uuid().optional() });
export const VerifyLabourBody = z.object({ orderId: paytmOrderId });
export const RetryBody = z.object({ orderId: paytmOrderId });

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
    orderId: paytmOrderId.optional(),
    /** Upstream's field name; accepted as an alias of orderId. */
    transactionId: paytmOrderId.optional(),
    eventType: z.enum(CLIENT_EVENT_TYPES),
    eventData: z
      .record(z.string().max(64), z.unknown())
      .optional()
      .refine((d) => d === undefined || JSON.stringify(d).length <= 2000, "eventData is too large"),
  })
  .refine((b) => b.orderId || b.transactionId, { message: "orderId is required", path: ["orderId"] });

export const OrderIdParam = z.object({ orderId: paytmOrderId });
export const CheckoutQuery = z.object({ sig: z.string().min(1).max(64) });

// ---------------------------------------------------------------------------------------------
// Response shapes: the `data` of each route's 2xx answer (routes.ts `describe({ response })`). The
// services return values of these types, so each shape is written once, here.

const instant = z.iso.datetime();

/** A started checkout (initiate, labour, retry); the apps also read orderId and paytmUrl at the top level. */
export const CheckoutData = z.object({
  orderId: paytmOrderId,
  paytmUrl: z.url(),
  /** Rupees, as the apps show money. */
  amount: z.number(),
  amountPaise: z.int(),
  currency: z.string().length(3),
  validityDays: z.int(),
  /** When the checkout's txnToken runs out. */
  expiresAt: instant,
  isExistingOrder: z.boolean(),
});
export type CheckoutData = z.infer<typeof CheckoutData>;

/** Beside `data` at the top level of a checkout's answer, where the apps read them (docs/api-contract.md §3.12). */
export const CheckoutTop = z.object({
  orderId: paytmOrderId,
  paytmUrl: z.url(),
  /** Only when an open order of the payer was continued instead of a new one. */
  existingOrderId: paytmOrderId.optional(),
});
export type CheckoutTop = z.infer<typeof CheckoutTop>;

/** A confirmed payment and what it granted (nothing when `refundPending`: it is refunded automatically). */
export const VerifiedPaymentData = z.object({
  orderId: paytmOrderId,
  startDate: instant.nullable(),
  endDate: instant.nullable(),
  validity: z.int(),
  transactionId: z.string().nullable(),
  amount: z.number(),
  amountPaise: z.int(),
  alreadyProcessed: z.boolean(),
  refundPending: z.boolean(),
});
export type VerifiedPaymentData = z.infer<typeof VerifiedPaymentData>;

const AccessStatus = z.enum(["active", "expired", "inactive"]);

export const LabourAccessStatusData = z.object({
  hasAccess: z.boolean(),
  accessStatus: AccessStatus,
  startDate: instant.nullable(),
  endDate: instant.nullable(),
  daysRemaining: z.int(),
  isExpired: z.boolean(),
  // Fallback names the user app also reads (docs/api-contract.md §3.13).
  labour_access_status: AccessStatus,
  labour_access_start_date: instant.nullable(),
  labour_access_end_date: instant.nullable(),
});
export type LabourAccessStatusData = z.infer<typeof LabourAccessStatusData>;

/** The apps' status words (upstream: pending/completed/failed); the ledger keeps its own (`order_status`). */
export const AppPaymentStatus = z.enum(["pending", "completed", "failed", "expired"]);
export type AppPaymentStatus = z.infer<typeof AppPaymentStatus>;

/** One order as the payment history screens list it (snake_case: upstream's rows, read by both apps). */
export const PaymentTransaction = z.object({
  id: z.uuid(),
  order_id: paytmOrderId,
  amount: z.number(),
  amount_paise: z.int(),
  currency: z.string().length(3),
  status: AppPaymentStatus,
  payment_method: z.literal("paytm"),
  transaction_id: z.string().nullable(),
  provider_service_id: z.uuid().nullable(),
  service_name: z.string().nullable(),
  service_status: z.enum(listingStatus.enumValues).nullable(),
  service_expiry: instant.nullable(),
  validity_days: z.int(),
  start_date: instant.nullable(),
  end_date: instant.nullable(),
  created_at: instant,
  completed_at: instant.nullable(),
});

export const TransactionHistoryData = z.object({ transactions: z.array(PaymentTransaction), pagination: Pagination });
export type TransactionHistoryData = z.infer<typeof TransactionHistoryData>;

export const PaymentStatusData = z.object({
  transaction: z.object({
    id: z.uuid(),
    order_id: paytmOrderId,
    purpose: z.enum(paymentPurpose.enumValues),
    provider_service_id: z.uuid().nullable(),
    amount: z.number(),
    amount_paise: z.int(),
    currency: z.string().length(3),
    status: AppPaymentStatus,
    order_status: z.enum(paymentStatus.enumValues),
    transaction_id: z.string().nullable(),
    validity_days: z.int(),
    start_date: instant.nullable(),
    end_date: instant.nullable(),
    expires_at: instant,
    created_at: instant,
    completed_at: instant.nullable(),
  }),
});
export type PaymentStatusData = z.infer<typeof PaymentStatusData>;

export const ClientEventData = z.object({ recorded: z.literal(true) });
export type ClientEventData = z.infer<typeof ClientEventData>;
