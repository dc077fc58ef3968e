import { Hono } from "hono";
import { principalOf, requireAuth, signedByPaytm, signedLink } from "../http/auth";
import type { AppContext, AppEnv } from "../http/context";
import { successBody } from "../http/envelope";
import { describe, type ErrorStatus } from "../http/meta";
import { ok } from "../http/respond";
import { routeLimits } from "../http/route-limits";
import { body, params, query } from "../http/validate";
import { clientIp } from "../lib/client-ip";
import { PaytmWebhookData } from "../refunds/schemas";
import { recordClientEvent } from "./audit";
import { type Checkout, type CheckoutPlan, checkoutPageState, labourAccessCheckout, listingFeeCheckout, retryCheckout } from "./checkout";
import type { PaymentRequest } from "./context";
import { paymentStatus, transactionHistory } from "./history";
import { type FirstReads, type StoredResponse, withIdempotency } from "./idempotency";
import { labourAccessStatus } from "./labour-access";
import { CHECKOUT_PAGE, PAYTM_CALLBACK, PAYTM_CALLBACK_AGAIN, PAYTM_REFUND_WEBHOOK, PAYTM_WEBHOOK } from "./limits";
import { receiveCallback, receiveWebhook } from "./notices";
import { checkoutPage, messagePage } from "./pages";
import {
  CheckoutData,
  CheckoutQuery,
  CheckoutTop,
  ClientEventBody,
  ClientEventData,
  HistoryQuery,
  InitiateLabourBody,
  InitiateListingBody,
  LabourAccessStatusData,
  OrderIdParam,
  PaymentStatusData,
  RetryBody,
  TransactionHistoryData,
  VerifiedPaymentData,
  VerifyLabourBody,
  VerifyListingBody,
} from "./schemas";
import { verifyLabourPayment, verifyListingPayment } from "./verify";

/**
 * /api/payments: Paytm listing fees (providers) and labour access (customers). Routes speak HTTP;
 * the flows are checkout.ts, verify.ts and notices.ts, the PaymentOrder Durable Object (one per
 * order) does every Paytm call and state change, and the Postgres rules are by concern: orders.ts,
 * listing-fee.ts, labour-access.ts, status.ts (an order's status changes), history.ts, audit.ts.
 * Contract: docs/api-contract.md §3.12, §3.13, §5.
 */
export const paymentsRoutes = new Hono<AppEnv>();

const PAYMENTS = ["payments"];

/** The WebView's pages answer HTML whatever their status, never the JSON envelope (docs/api-contract.md §5). */
const webViewPage = (failures: Partial<Record<ErrorStatus, string>>) =>
  ({ media: "text/html", description: "A page for the app's WebView", failures }) as const;

/** A callback the handler could not believe still answers a page: the WebView shows it before the app verifies. */
const CALLBACK_PAGE = webViewPage({ 400: "Malformed callback", 401: "Forged callback: Paytm's checksum does not match" });

/** What the payment flows need from this request (payments/context.ts). */
function paymentRequest(c: AppContext): PaymentRequest {
  const log = c.get("log");
  return {
    db: c.get("db").http,
    env: c.env,
    config: c.get("config"),
    log,
    client: {
      ip: clientIp(c),
      userAgent: c.req.header("user-agent")?.slice(0, 300) ?? null,
      platform: c.req.header("x-platform")?.slice(0, 40) ?? null,
      appVersion: c.req.header("x-app-version")?.slice(0, 40) ?? null,
      deviceId: c.req.header("x-device-id")?.slice(0, 100) ?? null,
    },
    route: c.req.path,
    background: (work) =>
      c.executionCtx.waitUntil(
        work.catch((err) => log.warn("payment background task failed", { error: err instanceof Error ? err.message : String(err) })),
      ),
  };
}

// ---------------------------------------------------------------------------------------------
// Initiate

/** A checkout's answer; the apps also read orderId and paytmUrl at the top level (docs/api-contract.md §3.12). */
function checkoutAnswer({ created, checkout }: Checkout, createdMessage: string): StoredResponse {
  const top: CheckoutTop = {
    orderId: checkout.orderId,
    paytmUrl: checkout.paytmUrl,
    ...(created ? {} : { existingOrderId: checkout.orderId }),
  };
  return {
    status: 200,
    body: {
      ...successBody(checkout, created ? createdMessage : "Payment already in progress; continuing with the existing order"),
      ...top,
    },
  };
}

/**
 * Initiation costs two database round trips: the plan's reads (the listing, the payer's open order;
 * an Idempotency-Key's claim rides along) and, when no open order exists, the new order's claim.
 * Storing an Idempotency-Key's answer adds a third.
 */
async function checkoutIdempotently<T extends FirstReads>(c: AppContext, input: unknown, plan: CheckoutPlan<T>, createdMessage: string) {
  const r = await withIdempotency(
    c.get("db").http,
    { key: c.req.header("idempotency-key"), userId: principalOf(c).userId, method: c.req.method, path: c.req.path, body: input },
    plan.reads,
    async (read) => checkoutAnswer(await plan.run(read), createdMessage),
  );
  if (r.replayed) c.header("Idempotent-Replayed", "true");
  return c.json(r.body, r.status);
}

paymentsRoutes.post(
  "/initiate-paytm",
  describe({
    summary: "Start paying the listing fee (₹99 / 30 days) for one of my listings",
    tags: PAYMENTS,
    response: CheckoutData,
    extraTop: CheckoutTop,
  }),
  requireAuth("provider"),
  body(InitiateListingBody),
  async (c) => {
    const input = c.req.valid("json");
    const plan = listingFeeCheckout(paymentRequest(c), principalOf(c).userId, input);
    return checkoutIdempotently(c, input, plan, "Payment initiated successfully");
  },
);

paymentsRoutes.post(
  "/initiate-labour-payment",
  describe({ summary: "Start paying for labour access (₹99 / 7 days)", tags: PAYMENTS, response: CheckoutData, extraTop: CheckoutTop }),
  requireAuth("user"),
  body(InitiateLabourBody),
  async (c) => {
    const input = c.req.valid("json");
    const plan = labourAccessCheckout(paymentRequest(c), principalOf(c).userId, input);
    return checkoutIdempotently(c, input, plan, "Labour payment initiated successfully");
  },
);

paymentsRoutes.post(
  "/retry-payment",
  describe({
    summary: "Pay again after a failed or expired order (a new Paytm order)",
    tags: PAYMENTS,
    response: CheckoutData,
    extraTop: CheckoutTop,
  }),
  requireAuth("provider", "user"),
  body(RetryBody),
  async (c) => {
    const input = c.req.valid("json");
    const plan = retryCheckout(paymentRequest(c), principalOf(c).userId, input);
    return checkoutIdempotently(c, input, plan, "Payment retry initiated successfully");
  },
);

// ---------------------------------------------------------------------------------------------
// Checkout page (the WebView's GET) and the browser callback

paymentsRoutes.get(
  "/checkout/:orderId",
  describe({
    summary: "Checkout page for the app's WebView: continues to Paytm with the order's txnToken",
    tags: PAYMENTS,
    other: webViewPage({
      403: "Invalid payment link: its sig does not match the order",
      404: "No such order",
      410: "The order expired",
      503: "The payment gateway is busy",
    }),
  }),
  routeLimits(CHECKOUT_PAGE),
  signedLink,
  params(OrderIdParam),
  query(CheckoutQuery),
  async (c) => {
    const { orderId } = c.req.valid("param");
    const cfg = c.get("config");
    c.header("Cache-Control", "no-store");
    const page = await checkoutPageState(paymentRequest(c), orderId, c.req.valid("query").sig);
    switch (page.kind) {
      case "invalid_link":
        return c.html(
          messagePage("Invalid payment link", "This payment link is not valid. Please start the payment again from the app."),
          403,
        );
      case "not_found":
        return c.html(messagePage("Payment not found", "Please start the payment again from the app."), 404);
      case "pay":
        return c.html(
          checkoutPage({ paytmHost: cfg.PAYTM_HOST, mid: cfg.PAYTM_MID, orderId, txnToken: page.txnToken, amountPaise: page.amountPaise }),
        );
      case "paid":
        return c.html(messagePage("Already paid", "This order is already paid. You can return to the app."));
      case "expired":
        return c.html(messagePage("Payment link expired", "This payment has expired. Please start the payment again from the app."), 410);
      case "busy":
        return c.html(messagePage("Please try again", "The payment gateway is busy. Please go back and try again in a moment."), 503);
    }
  },
);

/**
 * The raw body, read exactly once; signatures are verified over these exact characters and parsed
 * by us (hono#5365/#5383: mixing text() and formData() throws or poisons the body cache).
 */
async function bodyText(c: AppContext): Promise<string> {
  return new TextDecoder().decode(await c.req.arrayBuffer());
}

async function callback(c: AppContext, text: string) {
  const r = await receiveCallback(paymentRequest(c), text);
  c.header("Cache-Control", "no-store");
  if (!r.ok) return c.html(messagePage("Payment could not be confirmed", "Returning to the app…"), r.status);
  switch (r.result?.kind) {
    case "paid":
      return c.html(messagePage("Payment successful", "Your payment was received. Returning to the app…"));
    case "failed":
      return c.html(messagePage("Payment failed", "The payment did not go through. No money was taken. Returning to the app…"));
    default:
      return c.html(messagePage("Payment processing", "We are confirming your payment with Paytm. Returning to the app…"));
  }
}

paymentsRoutes.post(
  "/paytm-callback",
  describe({
    summary: "Paytm browser callback (form POST from the WebView); a hint, confirmed with the status API",
    tags: PAYMENTS,
    other: CALLBACK_PAGE,
  }),
  routeLimits(PAYTM_CALLBACK),
  signedByPaytm,
  async (c) => callback(c, await bodyText(c)),
);

paymentsRoutes.get(
  "/paytm-callback",
  describe({
    summary: "Paytm browser callback re-submitted as GET (browser Back)",
    tags: PAYMENTS,
    other: CALLBACK_PAGE,
  }),
  routeLimits(PAYTM_CALLBACK_AGAIN),
  signedByPaytm,
  async (c) => {
    const qs = new URL(c.req.url).search;
    if (!qs || qs === "?") return c.html(messagePage("Payment processing", "Returning to the app…"));
    return callback(c, qs.slice(1));
  },
);

/**
 * Paytm's server-to-server webhooks. Its dashboard has one URL for payment notices and one for
 * refund notices (docs/operations.md); both are this one handler, which tells the kinds apart by
 * encoding (payments/notices.ts), so a refund notice is handled the same whichever URL it reached.
 */
async function paytmWebhook(c: AppContext) {
  const text = await bodyText(c);
  return ok(c, await receiveWebhook(paymentRequest(c), text, c.req.header("content-type") ?? null), { message: "OK" });
}

paymentsRoutes.post(
  "/paytm-webhook",
  describe({
    summary: "Paytm server-to-server webhook (payment: form; refund: JSON)",
    tags: PAYMENTS,
    response: PaytmWebhookData,
  }),
  routeLimits(PAYTM_WEBHOOK),
  signedByPaytm,
  paytmWebhook,
);

paymentsRoutes.post(
  "/paytm-refund-webhook",
  describe({
    summary: "Paytm refund webhook (signed JSON; same handler as /paytm-webhook)",
    tags: ["refunds"],
    response: PaytmWebhookData,
  }),
  routeLimits(PAYTM_REFUND_WEBHOOK),
  signedByPaytm,
  paytmWebhook,
);

// ---------------------------------------------------------------------------------------------
// Verify

function verified(c: AppContext, v: VerifiedPaymentData, activatedMessage: string) {
  // The user app treats "already processed" as success (docs/api-contract.md §3.13); both apps want 2xx + success.
  const message = v.refundPending
    ? "Payment received, but this purchase was already paid or is no longer available. This payment will be refunded to your original payment method."
    : v.alreadyProcessed
      ? "Payment already processed"
      : activatedMessage;
  return ok(c, v, { message });
}

paymentsRoutes.post(
  "/verify-paytm",
  describe({
    summary: "Confirm my listing payment with Paytm and activate the order's own listing",
    tags: PAYMENTS,
    response: VerifiedPaymentData,
  }),
  requireAuth("provider"),
  body(VerifyListingBody),
  async (c) => {
    const v = await verifyListingPayment(paymentRequest(c), principalOf(c).userId, c.req.valid("json"));
    return verified(c, v, "Payment verified and service activated");
  },
);

paymentsRoutes.post(
  "/verify-labour-payment",
  describe({
    summary: "Confirm my labour-access payment with Paytm and grant 7 days of access",
    tags: PAYMENTS,
    response: VerifiedPaymentData,
  }),
  requireAuth("user"),
  body(VerifyLabourBody),
  async (c) => {
    const v = await verifyLabourPayment(paymentRequest(c), principalOf(c).userId, c.req.valid("json"));
    return verified(c, v, "Payment verified and labour service access activated");
  },
);

// ---------------------------------------------------------------------------------------------
// Reads

paymentsRoutes.get(
  "/labour-access-status",
  describe({ summary: "My labour access window", tags: PAYMENTS, response: LabourAccessStatusData }),
  requireAuth("user"),
  async (c) => ok(c, await labourAccessStatus(c.get("db").http, principalOf(c).userId)),
);

paymentsRoutes.get(
  "/transaction-history",
  describe({ summary: "My listing-fee payments", tags: PAYMENTS, response: TransactionHistoryData }),
  requireAuth("provider"),
  query(HistoryQuery),
  async (c) => {
    const q = c.req.valid("query");
    return ok(c, await transactionHistory(c.get("db").http, principalOf(c).userId, "listing_fee", q.page, q.limit));
  },
);

paymentsRoutes.get(
  "/labour-transaction-history",
  describe({ summary: "My labour-access payments", tags: PAYMENTS, response: TransactionHistoryData }),
  requireAuth("user"),
  query(HistoryQuery),
  async (c) => {
    const q = c.req.valid("query");
    return ok(c, await transactionHistory(c.get("db").http, principalOf(c).userId, "labour_access", q.page, q.limit));
  },
);

paymentsRoutes.get(
  "/payment-status/:orderId",
  describe({ summary: "One of my payment orders (as recorded; verify asks Paytm)", tags: PAYMENTS, response: PaymentStatusData }),
  requireAuth("provider", "user"),
  params(OrderIdParam),
  async (c) => ok(c, await paymentStatus(c.get("db").http, principalOf(c).userId, c.req.valid("param").orderId)),
);

paymentsRoutes.post(
  "/event",
  describe({
    summary: "Record a payment-UI event for one of my orders (known types only)",
    tags: PAYMENTS,
    response: ClientEventData,
    status: [201],
  }),
  requireAuth(),
  body(ClientEventBody),
  async (c) => {
    const input = c.req.valid("json");
    const req = paymentRequest(c);
    const recorded = await recordClientEvent(
      req.db,
      principalOf(c).userId,
      { orderId: (input.orderId ?? input.transactionId)!, eventType: input.eventType, eventData: input.eventData },
      req.client,
    );
    return ok(c, recorded, { message: "Payment event logged successfully", status: 201 });
  },
);
