import { sql } from "drizzle-orm";
import { char, check, index, integer, jsonb, pgEnum, pgTable, text, unique, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, timestamptz, updatedAt } from "./columns";
import { providerServices } from "./providers";
import { users } from "./users";

/**
 * Paytm payments for both products (upstream had two parallel table sets, `payment_*` and
 * `labour_payment_*`, and the Paytm callback only knew the first):
 * - `listing_fee`: a provider pays to activate one listing (₹99 / 30 days, extends from the old end);
 * - `labour_access`: a customer pays for access to labour listings (₹99 / 7 days, extends).
 *
 * Money is integer paise; "99.00" exists only at the Paytm boundary.
 */
export const paymentPurpose = pgEnum("payment_purpose", ["listing_fee", "labour_access"]);

/**
 * Order lifecycle, moved only forward by the `payment_orders_guard` trigger (custom migration):
 *   created → pending → paid | failed | expired
 * - `created`: row exists, Paytm not yet reached. `pending`: initiated / Paytm says PENDING / outcome
 *   unknown; upstream turned network errors and PENDING into a final `failed`.
 * - `paid` only after the order-status API says TXN_SUCCESS with matching amount, MID and orderId
 *   (upstream checked none of them). It is final.
 * - `failed` only on TXN_FAILURE; `expired` when an open order passed `expires_at` and the gateway
 *   confirmed it unpaid. Both may still become `paid` if reconciliation later finds the money
 *   (real money always wins; the service then refunds or applies it).
 * Deliberately absent:
 * - `superseded`: a repeated initiate returns the one open order (see the partial unique indexes),
 *   so nothing is ever superseded while it could still be paid.
 * - `refunded` / `partially_refunded`: refunds are their own ledger (`refunds`); an order that was
 *   paid stays `paid`, and `refunded_amount_paise` says how much went back.
 */
export const paymentStatus = pgEnum("payment_status", ["created", "pending", "paid", "failed", "expired"]);

/**
 * One business payment = one Paytm orderId (single-use at Paytm, even after a failure). A retry
 * after `failed`/`expired` is a new order.
 *
 * Refund ledger: not `refund_id, refund_status, refund_amount, refund_reason, refund_initiated_at,
 * refund_completed_at` on the transaction, as once proposed upstream: those allow one refund per payment
 * and invite overwriting; the `refunds` table holds one row per refund (its own refId, status and
 * timestamps), and this row keeps the two running totals, maintained by the refunds trigger:
 * `refunded_amount_paise` (completed) and `refunds_open_paise` (pending/processing/needs_attention).
 */
export const paymentOrders = pgTable(
  "payment_orders",
  {
    id: id(),
    /** Our orderId at Paytm (ORDER_ID / orderId); ≤ 50 chars of [A-Za-z0-9_@.-]. */
    paytmOrderId: text("paytm_order_id").notNull(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    purpose: paymentPurpose("purpose").notNull(),
    /** The listing a listing fee activates (never a listing named by the client at verify time). */
    providerServiceId: uuid("provider_service_id").references(() => providerServices.id, { onDelete: "restrict" }),
    /** The server's price, never the client's amount. */
    amountPaise: integer("amount_paise").notNull(),
    currency: char("currency", { length: 3 }).notNull().default("INR"),
    /** Days of listing / labour access this payment buys, frozen at creation. */
    validityDays: integer("validity_days").notNull(),
    status: paymentStatus("status").notNull().default("created"),
    /** Deadline for an unpaid order; after it reconciliation asks Paytm and expires the order. */
    expiresAt: timestamptz("expires_at").notNull(),
    /** Paytm TXNID; unique, so one gateway transaction can settle only one order. */
    gatewayTxnId: text("gateway_txn_id"),
    bankTxnId: text("bank_txn_id"),
    paymentMode: text("payment_mode"),
    gatewayResultCode: text("gateway_result_code"),
    gatewayResultMsg: text("gateway_result_msg"),
    paidAt: timestamptz("paid_at"),
    failedAt: timestamptz("failed_at"),
    /** Set once, in the transaction that applies the payment (listing or labour window). */
    activatedAt: timestamptz("activated_at"),
    /** The window this payment granted; replayed verifies answer with the same dates. */
    grantedFrom: timestamptz("granted_from"),
    grantedUntil: timestamptz("granted_until"),
    refundedAmountPaise: integer("refunded_amount_paise").notNull().default(0),
    refundsOpenPaise: integer("refunds_open_paise").notNull().default(0),
    /** X-Platform / app version / device id / ip / user agent at initiation. */
    clientInfo: jsonb("client_info").$type<Record<string, unknown>>().notNull().default({}),
    /** Reconciliation bookkeeping (cron / order DO alarm). */
    lastCheckedAt: timestamptz("last_checked_at"),
    nextCheckAt: timestamptz("next_check_at"),
    checkCount: integer("check_count").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("payment_orders_paytm_order_id_uq").on(t.paytmOrderId),
    unique("payment_orders_gateway_txn_id_uq").on(t.gatewayTxnId),
    // The natural idempotency key: at most one open order per payer, purpose and listing. A double
    // tap or an app retry of initiate gets the existing order back (no double payment, docs/payments.md §3).
    uniqueIndex("payment_orders_one_open_listing_fee_uq")
      .on(t.userId, t.purpose, t.providerServiceId)
      .where(sql`${t.status} in ('created', 'pending') and ${t.providerServiceId} is not null`),
    uniqueIndex("payment_orders_one_open_without_listing_uq")
      .on(t.userId, t.purpose)
      .where(sql`${t.status} in ('created', 'pending') and ${t.providerServiceId} is null`),
    index("payment_orders_status_updated_idx").on(t.status, t.updatedAt),
    index("payment_orders_open_next_check_idx").on(t.nextCheckAt).where(sql`${t.status} in ('created', 'pending')`),
    index("payment_orders_user_created_idx").on(t.userId, t.createdAt.desc()),
    index("payment_orders_listing_created_idx").on(t.providerServiceId, t.createdAt.desc()),
    check("payment_orders_paytm_order_id_format", sql`${t.paytmOrderId} ~ '^[A-Za-z0-9_@.-]{1,50}$'`),
    check("payment_orders_amount_positive", sql`${t.amountPaise} > 0`),
    check("payment_orders_currency_inr", sql`${t.currency} = 'INR'`),
    check("payment_orders_validity_positive", sql`${t.validityDays} > 0`),
    check("payment_orders_listing_iff_listing_fee", sql`(${t.purpose} = 'listing_fee') = (${t.providerServiceId} is not null)`),
    check("payment_orders_paid_has_txn", sql`${t.status} <> 'paid' or (${t.paidAt} is not null and ${t.gatewayTxnId} is not null)`),
    check("payment_orders_activated_only_if_paid", sql`${t.activatedAt} is null or ${t.status} = 'paid'`),
    check(
      "payment_orders_granted_window",
      sql`(${t.grantedFrom} is null) = (${t.grantedUntil} is null) and (${t.grantedUntil} is null or ${t.grantedUntil} > ${t.grantedFrom})`,
    ),
    check(
      "payment_orders_refunds_within_amount",
      sql`${t.refundedAmountPaise} >= 0 and ${t.refundsOpenPaise} >= 0 and ${t.refundedAmountPaise} + ${t.refundsOpenPaise} <= ${t.amountPaise}`,
    ),
    check("payment_orders_refunds_only_if_paid", sql`${t.refundedAmountPaise} + ${t.refundsOpenPaise} = 0 or ${t.status} = 'paid'`),
  ],
);

/**
 * What one gateway interaction said: `initiated` (txnToken obtained), `pending`, `success`,
 * `failure`, or `unknown` (timeout / 5xx / unparseable: ask again, never conclude).
 */
export const paymentAttemptStatus = pgEnum("payment_attempt_status", ["initiated", "pending", "success", "failure", "unknown"]);

/**
 * Initiate calls and status checks for an order. At most one successful attempt per order
 * (`payment_attempts_one_success_uq`), and `success` is final (guard trigger): together with the
 * order guard and the unique `gateway_txn_id`, a second successful payment for one order cannot be
 * recorded.
 */
export const paymentAttempts = pgTable(
  "payment_attempts",
  {
    id: id(),
    orderId: uuid("order_id")
      .notNull()
      .references(() => paymentOrders.id, { onDelete: "restrict" }),
    attemptNo: integer("attempt_no").notNull(),
    status: paymentAttemptStatus("status").notNull().default("initiated"),
    txnToken: text("txn_token"),
    gatewayTxnId: text("gateway_txn_id"),
    /** TXNAMOUNT as reported by Paytm, in paise (compared with the order's amount). */
    reportedAmountPaise: integer("reported_amount_paise"),
    resultCode: text("result_code"),
    resultMsg: text("result_msg"),
    /** The order-status response (or initiate response), verbatim minus secrets. */
    rawResponse: jsonb("raw_response").$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    completedAt: timestamptz("completed_at"),
  },
  (t) => [
    unique("payment_attempts_order_attempt_no_uq").on(t.orderId, t.attemptNo),
    uniqueIndex("payment_attempts_one_success_uq").on(t.orderId).where(sql`${t.status} = 'success'`),
    check("payment_attempts_attempt_no_positive", sql`${t.attemptNo} >= 1`),
    check("payment_attempts_success_has_txn", sql`${t.status} <> 'success' or ${t.gatewayTxnId} is not null`),
  ],
);

/**
 * Payment and refund audit trail, written by the server only (upstream let clients post arbitrary
 * events). `dedup_key` (e.g. `callback:<orderId>:<TXNID>:<STATUS>`, `refund-webhook:<refId>:<status>`)
 * is unique, so a replayed callback or webhook is recorded once and then ignored.
 */
export const paymentEvents = pgTable(
  "payment_events",
  {
    id: id(),
    orderId: uuid("order_id").references(() => paymentOrders.id, { onDelete: "restrict" }),
    /** Refund the event is about; no FK so an event for an unknown refId can still be recorded. */
    refundId: uuid("refund_id"),
    /** callback | webhook | status_api | refund_api | system | cron */
    source: text("source").notNull(),
    eventType: text("event_type").notNull(),
    dedupKey: text("dedup_key").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    unique("payment_events_dedup_key_uq").on(t.dedupKey),
    index("payment_events_order_created_idx").on(t.orderId, t.createdAt),
    index("payment_events_refund_idx").on(t.refundId).where(sql`${t.refundId} is not null`),
  ],
);

/** Calls to Paytm: endpoint, redacted request/response, HTTP status, latency. Append-only. */
export const paymentApiLogs = pgTable(
  "payment_api_logs",
  {
    id: id(),
    orderId: uuid("order_id").references(() => paymentOrders.id, { onDelete: "set null" }),
    /** No FK: a log line must never fail because of a race with the refund row. */
    refundId: uuid("refund_id"),
    endpoint: text("endpoint").notNull(),
    method: text("method").notNull().default("POST"),
    requestBody: jsonb("request_body").$type<Record<string, unknown>>(),
    responseStatus: integer("response_status"),
    responseBody: jsonb("response_body").$type<Record<string, unknown>>(),
    latencyMs: integer("latency_ms"),
    error: text("error"),
    createdAt: createdAt(),
  },
  (t) => [index("payment_api_logs_order_created_idx").on(t.orderId, t.createdAt), index("payment_api_logs_created_idx").on(t.createdAt)],
);

export const paymentSecurityEventKind = pgEnum("payment_security_event_kind", [
  "forged_checksum",
  "amount_mismatch",
  "replay",
  "mid_mismatch",
  "order_mismatch",
  "unknown_order",
  "ownership_mismatch",
  "high_risk",
  "rate_limited",
]);

/** Suspicious payment traffic; `paytm_order_id` keeps what was claimed even when no order matches. */
export const paymentSecurityEvents = pgTable(
  "payment_security_events",
  {
    id: id(),
    kind: paymentSecurityEventKind("kind").notNull(),
    orderId: uuid("order_id").references(() => paymentOrders.id, { onDelete: "set null" }),
    paytmOrderId: text("paytm_order_id"),
    userId: uuid("user_id").references(() => users.id, { onDelete: "set null" }),
    ip: text("ip"),
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    index("payment_security_events_kind_created_idx").on(t.kind, t.createdAt.desc()),
    index("payment_security_events_order_idx").on(t.orderId),
  ],
);

/**
 * Stripe-style `Idempotency-Key` records for money-moving POSTs (docs/payments.md §2.1): scoped per
 * user; the claim is `INSERT ... ON CONFLICT DO NOTHING RETURNING`; same key + same `request_hash`
 * replays the stored response, a different hash is 422, a live `locked_at` is 409. Kept ≥ 24 h.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    requestMethod: text("request_method").notNull(),
    requestPath: text("request_path").notNull(),
    /** sha256 of the canonical request body. */
    requestHash: text("request_hash").notNull(),
    lockedAt: timestamptz("locked_at"),
    responseStatus: integer("response_status"),
    responseBody: jsonb("response_body").$type<unknown>(),
    createdAt: createdAt(),
    expiresAt: timestamptz("expires_at").notNull().default(sql`now() + interval '24 hours'`),
  },
  (t) => [
    unique("idempotency_keys_user_key_uq").on(t.userId, t.key),
    index("idempotency_keys_expires_idx").on(t.expiresAt),
    check("idempotency_keys_key_length", sql`length(${t.key}) between 1 and 255`),
  ],
);
