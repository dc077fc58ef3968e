import { and, eq, sql } from "drizzle-orm";
import type { BatchResponse } from "drizzle-orm/batch";
import { Hono } from "hono";
import type { HttpDb } from "../db/client";
import { paymentOrders } from "../db/schema";
import { principalOf, requireAuth } from "../http/auth";
import type { AppContext, AppEnv } from "../http/context";
import { successBody } from "../http/envelope";
import { AppError } from "../http/errors";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { routeLimits } from "../http/route-limits";
import { body, params, query } from "../http/validate";
import { clientIp } from "../lib/client-ip";
import { paymentOrderStub } from "../lib/durable-objects";
import { verifyFormNotification, verifyPaytmNotification } from "../paytm/notification";
import { type FirstReads, type StoredResponse, withIdempotency } from "./idempotency";
import { CHECKOUT_PAGE, PAYTM_CALLBACK, PAYTM_CALLBACK_AGAIN, PAYTM_WEBHOOK } from "./limits";
import { checkoutPage, checkoutSignatureValid, checkoutUrl, messagePage } from "./pages";
import type { ConfirmOutcome, NotificationOutcome } from "./payment-order";
import {
  CheckoutQuery,
  ClientEventBody,
  HistoryQuery,
  InitiateLabourBody,
  InitiateListingBody,
  OrderIdParam,
  RetryBody,
  VerifyLabourBody,
  VerifyListingBody,
} from "./schemas";
import {
  appStatus,
  assertClientAmount,
  assessRisk,
  LABOUR_ACCESS_PRICE,
  labourAccessStatus,
  listingForPayment,
  listingForPaymentQuery,
  openOrder,
  openOrderQuery,
  orderByPaytmId,
  orderByPaytmIdQuery,
  type PaymentOrderRow,
  type Purpose,
  recordEvent,
  recordSecurityEvent,
  transactionHistory,
} from "./service";

/**
 * /api/payments: Paytm listing fees (providers) and labour access (customers).
 * Routes speak HTTP; the PaymentOrder Durable Object (one per order) does every Paytm call and
 * state change; service.ts holds the Postgres rules. Contract: docs/api-contract.md §3.12, §3.13, §5.
 */
export const paymentsRoutes = new Hono<AppEnv>();

const PAYMENTS = ["payments"];

const orderStub = paymentOrderStub;

function clientInfo(c: AppContext): Record<string, unknown> {
  return {
    ip: clientIp(c),
    userAgent: c.req.header("user-agent")?.slice(0, 300) ?? null,
    platform: c.req.header("x-platform")?.slice(0, 40) ?? null,
    appVersion: c.req.header("x-app-version")?.slice(0, 40) ?? null,
    deviceId: c.req.header("x-device-id")?.slice(0, 100) ?? null,
  };
}

/** Background work that must not fail or slow the response (risk scoring, security events). */
function background(c: AppContext, work: Promise<unknown>): void {
  c.executionCtx.waitUntil(
    work.catch((err) => c.get("log").warn("payment background task failed", { error: err instanceof Error ? err.message : String(err) })),
  );
}

// ---------------------------------------------------------------------------------------------
// Initiate

type Product = { purpose: Purpose; providerServiceId: string | null; amountPaise: number; validityDays: number };

/**
 * Open (or reuse) the one open order for this payer and product, then have its Durable Object
 * obtain the txnToken. Concurrent requests converge on one order (unique index) and one Paytm
 * initiate call (the DO serializes). The answer carries orderId and paytmUrl at the top level.
 * `found`: the payer's open order for this product, when the route's first read found one.
 */
async function startCheckout(c: AppContext, product: Product, message: string, found?: PaymentOrderRow): Promise<StoredResponse> {
  const p = principalOf(c);
  const db = c.get("db").http;
  const cfg = c.get("config");
  for (let round = 0; round < 2; round++) {
    const claim =
      round === 0 && found
        ? { order: found, created: false, risk: undefined }
        : await openOrder(db, { userId: p.userId, ...product, clientInfo: clientInfo(c) });
    const { order, created } = claim;
    if (created) background(c, assessRisk(db, order, clientIp(c), claim.risk));
    // The order row just read travels along, so a new order's object need not read it again.
    const r = await orderStub(c.env, order.paytmOrderId).initiate(order.paytmOrderId, order);
    switch (r.kind) {
      case "token": {
        const paytmUrl = await checkoutUrl(cfg.PUBLIC_BASE_URL, cfg.JWT_SECRET, order.paytmOrderId);
        const data = {
          orderId: order.paytmOrderId,
          paytmUrl,
          amount: order.amountPaise / 100,
          amountPaise: order.amountPaise,
          currency: order.currency,
          validityDays: order.validityDays,
          expiresAt: new Date(r.tokenExpiresAt).toISOString(),
          isExistingOrder: !created,
        };
        return {
          status: 200,
          body: {
            ...successBody(data, created ? message : "Payment already in progress; continuing with the existing order"),
            orderId: order.paytmOrderId,
            paytmUrl,
            ...(created ? {} : { existingOrderId: order.paytmOrderId }),
          },
        };
      }
      case "closed":
        continue; // the open order just closed (paid, failed or expired): open a fresh one
      case "in_progress":
        throw new AppError("PAYMENT_IN_PROGRESS", "A payment for this is already in progress with your bank. Please wait a few minutes.", {
          extra: { existingOrderId: order.paytmOrderId },
          retryAfter: 60,
        });
      case "unavailable":
        throw new AppError("PAYMENT_GATEWAY_UNAVAILABLE", "Payment gateway is temporarily unavailable. Please try again.", {
          retryAfter: r.retryAfterSec,
        });
      case "declined":
        throw new AppError("PAYMENT_GATEWAY_ERROR", "The payment gateway declined the request. Please try again later.");
    }
  }
  throw new AppError("SERVICE_UNAVAILABLE", "Please retry", { retryAfter: 1 });
}

/**
 * Per-user initiation limit (the binding is per location and approximate: abuse control, not
 * accounting). Called after the route's first database call, which confirmed the session: a revoked
 * session never spends the payer's budget.
 */
async function limitInitiation(c: AppContext, userId: string): Promise<void> {
  const { success } = await c.env.PAYMENT_LIMITER.limit({ key: `initiate:${userId}` });
  if (success) return;
  background(c, recordSecurityEvent(c.get("db").http, { kind: "rate_limited", userId, ip: clientIp(c), details: { route: c.req.path } }));
  throw new AppError("RATE_LIMITED", "Too many payment attempts. Please wait a minute and try again.", { retryAfter: 60 });
}

/**
 * Initiation costs two database round trips: `reads` (the listing, the payer's open order; an
 * Idempotency-Key's claim rides along) and, when no open order exists, the new order's claim.
 * Storing an Idempotency-Key's answer adds a third.
 */
async function respondIdempotent<T extends FirstReads>(
  c: AppContext,
  bodyValue: unknown,
  reads: (db: HttpDb) => T,
  run: (read: BatchResponse<T>) => Promise<StoredResponse>,
) {
  const p = principalOf(c);
  const r = await withIdempotency(
    c.get("db").http,
    { key: c.req.header("idempotency-key"), userId: p.userId, method: c.req.method, path: c.req.path, body: bodyValue },
    reads,
    run,
  );
  if (r.replayed) c.header("Idempotent-Replayed", "true");
  return c.json(r.body, r.status);
}

paymentsRoutes.post(
  "/initiate-paytm",
  describe({ summary: "Start paying the listing fee (₹99 / 30 days) for one of my listings", tags: PAYMENTS }),
  requireAuth("provider"),
  body(InitiateListingBody),
  async (c) => {
    const input = c.req.valid("json");
    const p = principalOf(c);
    const key = { userId: p.userId, purpose: "listing_fee", providerServiceId: input.providerServiceId } as const;
    return respondIdempotent(
      c,
      input,
      (db) => [listingForPaymentQuery(db, input.providerServiceId), openOrderQuery(db, key)] as const,
      async ([listingRows, [found]]) => {
        const listing = listingForPayment(listingRows, p.userId);
        assertClientAmount(input.amount, listing.amountPaise);
        await limitInitiation(c, p.userId);
        return startCheckout(
          c,
          {
            purpose: "listing_fee",
            providerServiceId: listing.providerServiceId,
            amountPaise: listing.amountPaise,
            validityDays: listing.validityDays,
          },
          "Payment initiated successfully",
          found,
        );
      },
    );
  },
);

paymentsRoutes.post(
  "/initiate-labour-payment",
  describe({ summary: "Start paying for labour access (₹99 / 7 days)", tags: PAYMENTS }),
  requireAuth("user"),
  body(InitiateLabourBody),
  async (c) => {
    const input = c.req.valid("json");
    const p = principalOf(c);
    const key = { userId: p.userId, purpose: "labour_access", providerServiceId: null } as const;
    return respondIdempotent(
      c,
      input,
      // Read before the rate limiter and the Durable Object act: it carries the session check.
      (db) => [openOrderQuery(db, key)] as const,
      async ([[found]]) => {
        assertClientAmount(input.amount, LABOUR_ACCESS_PRICE.amountPaise);
        await limitInitiation(c, p.userId);
        return startCheckout(
          c,
          { purpose: "labour_access", providerServiceId: null, ...LABOUR_ACCESS_PRICE },
          "Labour payment initiated successfully",
          found,
        );
      },
    );
  },
);

paymentsRoutes.post(
  "/retry-payment",
  describe({ summary: "Pay again after a failed or expired order (a new Paytm order)", tags: PAYMENTS }),
  requireAuth("provider", "user"),
  body(RetryBody),
  async (c) => {
    const input = c.req.valid("json");
    const p = principalOf(c);
    return respondIdempotent(
      c,
      input,
      (db) =>
        [
          orderByPaytmIdQuery(db, input.orderId),
          // The old order's listing and its price now (nothing when the order was for labour access).
          listingForPaymentQuery(
            db,
            sql`(select ${paymentOrders.providerServiceId} from ${paymentOrders} where ${paymentOrders.paytmOrderId} = ${input.orderId})`,
          ),
        ] as const,
      async ([[old], listingRows]) => {
        if (!old || old.userId !== p.userId) throw new AppError("NOT_FOUND", "Payment order not found");
        if (old.status === "paid") throw new AppError("BAD_REQUEST", "This payment is already completed");
        let product: Product;
        if (old.purpose === "listing_fee") {
          const listing = listingForPayment(listingRows, p.userId);
          product = {
            purpose: "listing_fee",
            providerServiceId: listing.providerServiceId,
            amountPaise: listing.amountPaise,
            validityDays: listing.validityDays,
          };
        } else {
          product = { purpose: "labour_access", providerServiceId: null, ...LABOUR_ACCESS_PRICE };
        }
        await limitInitiation(c, p.userId);
        return startCheckout(c, product, "Payment retry initiated successfully");
      },
    );
  },
);

// ---------------------------------------------------------------------------------------------
// Checkout page (the WebView's GET) and the browser callback

paymentsRoutes.get(
  "/checkout/:orderId",
  describe({
    summary: "Checkout page for the app's WebView: continues to Paytm with the order's txnToken",
    tags: PAYMENTS,
    access: "signature",
  }),
  routeLimits(CHECKOUT_PAGE),
  params(OrderIdParam),
  query(CheckoutQuery),
  async (c) => {
    const { orderId } = c.req.valid("param");
    const { sig } = c.req.valid("query");
    const cfg = c.get("config");
    c.header("Cache-Control", "no-store");
    if (!(await checkoutSignatureValid(cfg.JWT_SECRET, orderId, sig))) {
      return c.html(
        messagePage("Invalid payment link", "This payment link is not valid. Please start the payment again from the app."),
        403,
      );
    }
    const order = await orderByPaytmId(c.get("db").http, orderId);
    if (!order) return c.html(messagePage("Payment not found", "Please start the payment again from the app."), 404);
    const r = await orderStub(c.env, orderId).checkoutToken(orderId);
    if (r.kind === "token") {
      return c.html(
        checkoutPage({ paytmHost: cfg.PAYTM_HOST, mid: cfg.PAYTM_MID, orderId, txnToken: r.txnToken, amountPaise: order.amountPaise }),
      );
    }
    if (r.kind === "closed" && r.phase === "paid")
      return c.html(messagePage("Already paid", "This order is already paid. You can return to the app."));
    if (r.kind === "closed" || r.kind === "declined") {
      return c.html(messagePage("Payment link expired", "This payment has expired. Please start the payment again from the app."), 410);
    }
    return c.html(messagePage("Please try again", "The payment gateway is busy. Please go back and try again in a moment."), 503);
  },
);

function resultPage(outcome: ConfirmOutcome | null): { title: string; message: string } {
  switch (outcome?.kind) {
    case "paid":
      return { title: "Payment successful", message: "Your payment was received. Returning to the app…" };
    case "failed":
      return { title: "Payment failed", message: "The payment did not go through. No money was taken. Returning to the app…" };
    default:
      return { title: "Payment processing", message: "We are confirming your payment with Paytm. Returning to the app…" };
  }
}

type Hint = { ok: true; outcome: NotificationOutcome } | { ok: false; status: 400 | 401; reason: string };

/**
 * A checksum-verified notification goes to its order's Durable Object, which deduplicates it and
 * confirms with the status API. Forged or unsigned ones are 401 and a security event; they never
 * reach the order.
 */
async function handPaymentNotification(
  c: AppContext,
  source: "callback" | "webhook",
  text: string,
  contentType: string | null,
): Promise<Hint> {
  const cfg = c.get("config");
  const db = c.get("db").http;
  const verified =
    source === "callback"
      ? { kind: "payment" as const, ...(await verifyFormNotification(text, cfg.PAYTM_MERCHANT_KEY)) }
      : await verifyPaytmNotification(contentType, text, cfg.PAYTM_MERCHANT_KEY);
  if (!verified.ok) {
    const claimed = /(?:^|&)ORDERID=([^&]{1,100})/.exec(text)?.[1];
    const forged = verified.reason === "invalid_signature" || verified.reason === "missing_checksum";
    await recordSecurityEvent(db, {
      kind: "forged_checksum",
      paytmOrderId: claimed ? decodeURIComponent(claimed.replace(/\+/g, " ")) : null,
      ip: clientIp(c),
      details: { source, reason: verified.reason },
    });
    return { ok: false, status: forged ? 401 : 400, reason: verified.reason };
  }
  if (verified.kind === "refund") {
    // Refund webhooks are recorded for the refunds capability (issue 6); acknowledging stops Paytm's retries.
    await recordEvent(db, {
      orderId: (await orderByPaytmId(db, verified.body.orderId))?.id ?? null,
      source: "webhook",
      eventType: "refund_webhook_received",
      dedupKey: `refund-webhook:${verified.body.refId}:${verified.body.status}`,
      payload: verified.body as Record<string, unknown>,
    });
    return { ok: true, outcome: { duplicate: false, result: null } };
  }
  if (verified.kind === "other_json") {
    await recordEvent(db, { orderId: null, source: "webhook", eventType: "unrecognised_webhook", payload: verified.body });
    return { ok: true, outcome: { duplicate: false, result: null } };
  }
  const f = verified.fields;
  const order = await orderByPaytmId(db, f.ORDERID);
  if (!order) {
    await recordSecurityEvent(db, {
      kind: "unknown_order",
      paytmOrderId: f.ORDERID,
      ip: clientIp(c),
      details: { source, status: f.STATUS },
    });
    return { ok: true, outcome: { duplicate: false, result: null } };
  }
  const outcome = await orderStub(c.env, order.paytmOrderId).notification(order.paytmOrderId, {
    source,
    status: f.STATUS,
    mid: f.MID,
    txnId: f.TXNID,
    amountPaise: verified.amountPaise,
    ip: clientIp(c),
  });
  return { ok: true, outcome };
}

/**
 * The raw body, read exactly once; signatures are verified over these exact characters and parsed
 * by us (hono#5365/#5383: mixing text() and formData() throws or poisons the body cache).
 */
async function bodyText(c: AppContext): Promise<string> {
  return new TextDecoder().decode(await c.req.arrayBuffer());
}

async function callback(c: AppContext, text: string) {
  // No IP allow-list here: this request comes from the customer's browser (docs/payments.md §1.4).
  let hint: Hint;
  try {
    hint = await handPaymentNotification(c, "callback", text, "application/x-www-form-urlencoded");
  } catch (err) {
    // The callback is only a hint: whatever failed here, verify and reconciliation still settle the order.
    c.get("log").error("paytm callback processing failed", { error: err instanceof Error ? err.message : String(err) });
    hint = { ok: true, outcome: { duplicate: false, result: null } };
  }
  c.header("Cache-Control", "no-store");
  if (!hint.ok) return c.html(messagePage("Payment could not be confirmed", "Returning to the app…"), hint.status);
  const page = resultPage(hint.outcome.result);
  return c.html(messagePage(page.title, page.message));
}

paymentsRoutes.post(
  "/paytm-callback",
  describe({
    summary: "Paytm browser callback (form POST from the WebView); a hint, confirmed with the status API",
    tags: PAYMENTS,
    access: "signature",
  }),
  routeLimits(PAYTM_CALLBACK),
  async (c) => callback(c, await bodyText(c)),
);

paymentsRoutes.get(
  "/paytm-callback",
  describe({ summary: "Paytm browser callback re-submitted as GET (browser Back)", tags: PAYMENTS, access: "signature" }),
  routeLimits(PAYTM_CALLBACK_AGAIN),
  async (c) => {
    const qs = new URL(c.req.url).search;
    if (!qs || qs === "?") return c.html(messagePage("Payment processing", "Returning to the app…"));
    return callback(c, qs.slice(1));
  },
);

paymentsRoutes.post(
  "/paytm-webhook",
  describe({ summary: "Paytm server-to-server webhook (payment: form; refund: JSON)", tags: PAYMENTS, access: "signature" }),
  routeLimits(PAYTM_WEBHOOK),
  async (c) => {
    const cfg = c.get("config");
    const ip = clientIp(c);
    if (cfg.PAYTM_WEBHOOK_IPS.length > 0 && (!ip || !cfg.PAYTM_WEBHOOK_IPS.includes(ip))) {
      await recordSecurityEvent(c.get("db").http, {
        kind: "forged_checksum",
        ip,
        details: { source: "webhook", reason: "ip_not_allowed" },
      });
      throw new AppError("FORBIDDEN", "Forbidden");
    }
    const text = await bodyText(c);
    // A failure here is a 5xx on purpose: Paytm retries, and nothing was marked seen.
    const hint = await handPaymentNotification(c, "webhook", text, c.req.header("content-type") ?? null);
    if (!hint.ok) throw new AppError("INVALID_SIGNATURE", "Invalid webhook signature", { status: hint.status });
    return ok(c, { received: true, duplicate: hint.outcome.duplicate }, { message: "OK" });
  },
);

// ---------------------------------------------------------------------------------------------
// Verify

async function ownOrder(c: AppContext, paytmOrderId: string, purpose: Purpose): Promise<PaymentOrderRow> {
  const p = principalOf(c);
  const db = c.get("db").http;
  const order = await orderByPaytmId(db, paytmOrderId);
  if (order && order.userId !== p.userId) {
    background(
      c,
      recordSecurityEvent(db, {
        kind: "ownership_mismatch",
        orderId: order.id,
        paytmOrderId,
        userId: p.userId,
        ip: clientIp(c),
        details: { route: c.req.path },
      }),
    );
  }
  if (!order || order.userId !== p.userId || order.purpose !== purpose) throw new AppError("NOT_FOUND", "Payment order not found");
  return order;
}

async function verifyOrder(c: AppContext, order: PaymentOrderRow, activatedMessage: string) {
  const r = await orderStub(c.env, order.paytmOrderId).verify(order.paytmOrderId);
  switch (r.kind) {
    case "paid": {
      const g = r.grant;
      const data = {
        orderId: g.orderId,
        startDate: g.startDate,
        endDate: g.endDate,
        validity: g.validityDays,
        transactionId: g.transactionId,
        amount: g.amountPaise / 100,
        amountPaise: g.amountPaise,
        alreadyProcessed: g.alreadyProcessed,
      };
      // The user app treats "already processed" as success (docs/api-contract.md §3.13); both apps want 2xx + success.
      // Paid but nothing granted: a duplicate of a purchase already paid (or its listing was deleted) — refunded automatically.
      const refunding = g.startDate === null;
      const message = refunding
        ? "Payment received, but this purchase was already paid or is no longer available. This payment will be refunded to your original payment method."
        : g.alreadyProcessed
          ? "Payment already processed"
          : activatedMessage;
      return ok(c, { ...data, refundPending: refunding }, { message });
    }
    case "pending":
      throw new AppError(
        "PAYMENT_PENDING",
        "Your payment is still being confirmed by Paytm. It will be applied automatically as soon as it completes.",
        { retryAfter: r.retryAfterSec, extra: { retryable: true } },
      );
    case "failed":
      throw new AppError(
        "PAYMENT_VERIFICATION_ERROR",
        `Payment failed: ${r.resultMsg || "declined"}. No money was taken; you can try again.`,
        {
          extra: { retryable: false },
        },
      );
    case "expired":
      throw new AppError("PAYMENT_VERIFICATION_ERROR", "This payment expired before it was completed. Please start again.", {
        extra: { retryable: false },
      });
    case "mismatch":
      throw new AppError("PAYMENT_VERIFICATION_ERROR", "We could not match this payment to your order. Our team has been notified.", {
        extra: { retryable: false },
      });
    case "rate_limited":
      throw new AppError("RATE_LIMITED", "Too many verification attempts for this payment. Please wait.", { retryAfter: r.retryAfterSec });
    case "activation_failed":
      throw new AppError("SERVICE_UNAVAILABLE", "Your payment was received and is being applied. Please check again shortly.", {
        retryAfter: r.retryAfterSec,
      });
    case "unavailable":
      throw new AppError("PAYMENT_GATEWAY_UNAVAILABLE", "Payment gateway is temporarily unavailable. Please try again.", {
        retryAfter: r.retryAfterSec,
        extra: { retryable: true },
      });
  }
}

paymentsRoutes.post(
  "/verify-paytm",
  describe({ summary: "Confirm my listing payment with Paytm and activate the order's own listing", tags: PAYMENTS }),
  requireAuth("provider"),
  body(VerifyListingBody),
  async (c) => {
    const input = c.req.valid("json");
    const order = await ownOrder(c, input.orderId, "listing_fee");
    if (input.providerServiceId && input.providerServiceId !== order.providerServiceId) {
      // Upstream activated the body's listing. Here the body can only disagree, never decide.
      background(
        c,
        recordSecurityEvent(c.get("db").http, {
          kind: "order_mismatch",
          orderId: order.id,
          paytmOrderId: order.paytmOrderId,
          userId: order.userId,
          ip: clientIp(c),
          details: { claimedProviderServiceId: input.providerServiceId },
        }),
      );
      throw new AppError("VALIDATION_ERROR", "providerServiceId does not match this payment order", {
        errors: [{ field: "providerServiceId", message: "does not match the order" }],
      });
    }
    return verifyOrder(c, order, "Payment verified and service activated");
  },
);

paymentsRoutes.post(
  "/verify-labour-payment",
  describe({ summary: "Confirm my labour-access payment with Paytm and grant 7 days of access", tags: PAYMENTS }),
  requireAuth("user"),
  body(VerifyLabourBody),
  async (c) => {
    const input = c.req.valid("json");
    const order = await ownOrder(c, input.orderId, "labour_access");
    return verifyOrder(c, order, "Payment verified and labour service access activated");
  },
);

// ---------------------------------------------------------------------------------------------
// Reads

paymentsRoutes.get(
  "/labour-access-status",
  describe({ summary: "My labour access window", tags: PAYMENTS }),
  requireAuth("user"),
  async (c) => {
    const s = await labourAccessStatus(c.get("db").http, principalOf(c).userId);
    return ok(c, {
      ...s,
      // Fallback names the user app also reads (docs/api-contract.md §3.13).
      labour_access_status: s.accessStatus,
      labour_access_start_date: s.startDate,
      labour_access_end_date: s.endDate,
    });
  },
);

paymentsRoutes.get(
  "/transaction-history",
  describe({ summary: "My listing-fee payments", tags: PAYMENTS }),
  requireAuth("provider"),
  query(HistoryQuery),
  async (c) => {
    const q = c.req.valid("query");
    return ok(c, await transactionHistory(c.get("db").http, principalOf(c).userId, "listing_fee", q.page, q.limit));
  },
);

paymentsRoutes.get(
  "/labour-transaction-history",
  describe({ summary: "My labour-access payments", tags: PAYMENTS }),
  requireAuth("user"),
  query(HistoryQuery),
  async (c) => {
    const q = c.req.valid("query");
    return ok(c, await transactionHistory(c.get("db").http, principalOf(c).userId, "labour_access", q.page, q.limit));
  },
);

paymentsRoutes.get(
  "/payment-status/:orderId",
  describe({ summary: "One of my payment orders (as recorded; verify asks Paytm)", tags: PAYMENTS }),
  requireAuth("provider", "user"),
  params(OrderIdParam),
  async (c) => {
    const { orderId } = c.req.valid("param");
    const p = principalOf(c);
    const [o] = await c
      .get("db")
      .http.select()
      .from(paymentOrders)
      .where(and(eq(paymentOrders.paytmOrderId, orderId), eq(paymentOrders.userId, p.userId)))
      .limit(1);
    if (!o) throw new AppError("NOT_FOUND", "Payment order not found");
    return ok(c, {
      transaction: {
        id: o.id,
        order_id: o.paytmOrderId,
        purpose: o.purpose,
        provider_service_id: o.providerServiceId,
        amount: o.amountPaise / 100,
        amount_paise: o.amountPaise,
        currency: o.currency,
        status: appStatus(o.status),
        order_status: o.status,
        transaction_id: o.gatewayTxnId,
        validity_days: o.validityDays,
        start_date: o.grantedFrom,
        end_date: o.grantedUntil,
        expires_at: o.expiresAt,
        created_at: o.createdAt,
        completed_at: o.paidAt,
      },
    });
  },
);

paymentsRoutes.post(
  "/event",
  describe({ summary: "Record a payment-UI event for one of my orders (known types only)", tags: PAYMENTS }),
  requireAuth(),
  body(ClientEventBody),
  async (c) => {
    const input = c.req.valid("json");
    const p = principalOf(c);
    const db = c.get("db").http;
    const order = await orderByPaytmId(db, (input.orderId ?? input.transactionId)!);
    if (!order || order.userId !== p.userId) throw new AppError("NOT_FOUND", "Payment order not found");
    await recordEvent(db, {
      orderId: order.id,
      source: "client",
      eventType: input.eventType,
      payload: { data: input.eventData ?? {}, client: clientInfo(c) },
    });
    return ok(c, { recorded: true }, { message: "Payment event logged successfully", status: 201 });
  },
);
