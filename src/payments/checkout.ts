import { sql } from "drizzle-orm";
import type { BatchResponse } from "drizzle-orm/batch";
import type { HttpDb } from "../db/client";
import { paymentOrders } from "../db/schema";
import { AppError } from "../http/errors";
import { paymentOrderStub } from "../lib/durable-objects";
import { rupeesToPaise } from "../paytm/amount";
import { recordSecurityEvent } from "./audit";
import type { PaymentRequest } from "./context";
import type { FirstReads } from "./idempotency";
import { LABOUR_ACCESS_PRICE } from "./labour-access";
import { listingForPayment, listingForPaymentQuery } from "./listing-fee";
import {
  openOrder,
  openOrderQuery,
  orderByPaytmId,
  orderByPaytmIdQuery,
  type PaymentOrderRow,
  type Purpose,
  type RiskStats,
} from "./orders";
import { checkoutSignatureValid, checkoutUrl } from "./pages";
import type { CheckoutData } from "./schemas";

/**
 * Checkout: open (or reuse) the payer's one open order for a product and have its PaymentOrder
 * Durable Object obtain the txnToken; and the checkout page the app's WebView opens. Contract:
 * docs/api-contract.md §3.12, §3.13.
 */

type Product = { purpose: Purpose; providerServiceId: string | null; amountPaise: number; validityDays: number };

/** A checkout started: `created` is false when the payer's open order for this product was reused. */
export type Checkout = { created: boolean; checkout: CheckoutData };

/**
 * A checkout in two parts, so an Idempotency-Key's claim can ride with the first reads
 * (payments/idempotency.ts): `reads` (the listing, the payer's open order), sent as one batch, and
 * `run`, which decides from them.
 */
export type CheckoutPlan<T extends FirstReads> = {
  reads: (db: HttpDb) => T;
  run: (read: BatchResponse<T>) => Promise<Checkout>;
};

/**
 * The apps send the price they show ("99" from the provider app, 99 from the user app). It is only
 * checked, never used: a different amount is 400 and nothing is created (seed audit, test 5).
 */
export function assertClientAmount(amount: string | number | undefined, expectedPaise: number): void {
  if (amount === undefined) return;
  const paise = rupeesToPaise(typeof amount === "number" ? String(amount) : amount);
  if (paise !== expectedPaise) {
    throw new AppError("AMOUNT_MISMATCH", "Payment amount does not match the price of this service", {
      extra: { expectedAmount: expectedPaise / 100, expectedCurrency: "INR" },
    });
  }
}

/**
 * Upstream's risk score (§4.3 A step 7), on our data: many recent orders, mostly failures, night
 * hours (IST). Informational: high scores are flagged for review, nothing is blocked. `s` is the
 * payer's history read with the order's claim (openOrder); only a high score writes.
 */
export async function assessRisk(db: HttpDb, order: PaymentOrderRow, ip: string | null, s: RiskStats | undefined): Promise<number> {
  const factors: string[] = [];
  let score = 0;
  if (s && s.total >= 4 && s.failed / s.total > 0.5) {
    score += 0.3;
    factors.push("mostly_failed_history");
  }
  if (s && s.lastHour > 3) {
    score += 0.4;
    factors.push("many_orders_last_hour");
  }
  if (order.amountPaise > 5_000_000) {
    score += 0.2;
    factors.push("large_amount");
  }
  const istHour = new Date(Date.now() + 5.5 * 3_600_000).getUTCHours();
  if (istHour >= 3 && istHour < 6) {
    score += 0.1;
    factors.push("night_hours_ist");
  }
  if (score > 0.7) {
    await recordSecurityEvent(db, {
      kind: "high_risk",
      orderId: order.id,
      paytmOrderId: order.paytmOrderId,
      userId: order.userId,
      ip,
      details: { score, factors, action: "flagged_for_review", stats: s },
    });
  }
  return score;
}

/**
 * Open (or reuse) the one open order for this payer and product, then have its Durable Object
 * obtain the txnToken. Concurrent requests converge on one order (unique index) and one Paytm
 * initiate call (the DO serializes). `found`: the payer's open order for this product, when the
 * first read found one.
 */
async function startCheckout(req: PaymentRequest, userId: string, product: Product, found?: PaymentOrderRow): Promise<Checkout> {
  const cfg = req.config;
  for (let round = 0; round < 2; round++) {
    const claim =
      round === 0 && found
        ? { order: found, created: false, risk: undefined }
        : await openOrder(req.db, { userId, ...product, clientInfo: req.client });
    const { order, created } = claim;
    if (created) req.background(assessRisk(req.db, order, req.client.ip, claim.risk));
    // The order row just read travels along, so a new order's object need not read it again.
    const r = await paymentOrderStub(req.env, order.paytmOrderId).initiate(order.paytmOrderId, order);
    switch (r.kind) {
      case "token": {
        const paytmUrl = await checkoutUrl(cfg.PUBLIC_BASE_URL, cfg.JWT_SECRET, order.paytmOrderId);
        return {
          created,
          checkout: {
            orderId: order.paytmOrderId,
            paytmUrl,
            amount: order.amountPaise / 100,
            amountPaise: order.amountPaise,
            currency: order.currency,
            validityDays: order.validityDays,
            expiresAt: new Date(r.tokenExpiresAt).toISOString(),
            isExistingOrder: !created,
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
 * accounting). Called after the first database call, which confirmed the session: a revoked session
 * never spends the payer's budget.
 */
async function limitInitiation(req: PaymentRequest, userId: string): Promise<void> {
  const { success } = await req.env.PAYMENT_LIMITER.limit({ key: `initiate:${userId}` });
  if (success) return;
  req.background(recordSecurityEvent(req.db, { kind: "rate_limited", userId, ip: req.client.ip, details: { route: req.route } }));
  throw new AppError("RATE_LIMITED", "Too many payment attempts. Please wait a minute and try again.", { retryAfter: 60 });
}

/** The listing fee of one of the payer's listings, at the server's price (the app's amount is only checked). */
export function listingFeeCheckout(
  req: PaymentRequest,
  userId: string,
  input: { providerServiceId: string; amount?: string | number },
): CheckoutPlan<readonly [ReturnType<typeof listingForPaymentQuery>, ReturnType<typeof openOrderQuery>]> {
  const key = { userId, purpose: "listing_fee", providerServiceId: input.providerServiceId } as const;
  return {
    reads: (db: HttpDb) => [listingForPaymentQuery(db, input.providerServiceId), openOrderQuery(db, key)] as const,
    run: async ([listingRows, [found]]) => {
      const listing = listingForPayment(listingRows, userId);
      assertClientAmount(input.amount, listing.amountPaise);
      await limitInitiation(req, userId);
      const product = {
        purpose: "listing_fee",
        providerServiceId: listing.providerServiceId,
        amountPaise: listing.amountPaise,
        validityDays: listing.validityDays,
      } as const;
      return startCheckout(req, userId, product, found);
    },
  };
}

/** Labour access, at the platform's price. */
export function labourAccessCheckout(
  req: PaymentRequest,
  userId: string,
  input: { amount?: string | number },
): CheckoutPlan<readonly [ReturnType<typeof openOrderQuery>]> {
  const key = { userId, purpose: "labour_access", providerServiceId: null } as const;
  return {
    // Read before the rate limiter and the Durable Object act: it carries the session check.
    reads: (db: HttpDb) => [openOrderQuery(db, key)] as const,
    run: async ([[found]]) => {
      assertClientAmount(input.amount, LABOUR_ACCESS_PRICE.amountPaise);
      await limitInitiation(req, userId);
      return startCheckout(req, userId, { purpose: "labour_access", providerServiceId: null, ...LABOUR_ACCESS_PRICE }, found);
    },
  };
}

/** Pay again after a failed or expired order: a new order for the same product, at today's price. */
export function retryCheckout(
  req: PaymentRequest,
  userId: string,
  input: { orderId: string },
): CheckoutPlan<readonly [ReturnType<typeof orderByPaytmIdQuery>, ReturnType<typeof listingForPaymentQuery>]> {
  return {
    reads: (db: HttpDb) =>
      [
        orderByPaytmIdQuery(db, input.orderId),
        // The old order's listing and its price now (nothing when the order was for labour access).
        listingForPaymentQuery(
          db,
          sql`(select ${paymentOrders.providerServiceId} from ${paymentOrders} where ${paymentOrders.paytmOrderId} = ${input.orderId})`,
        ),
      ] as const,
    run: async ([[old], listingRows]) => {
      if (!old || old.userId !== userId) throw new AppError("NOT_FOUND", "Payment order not found");
      if (old.status === "paid") throw new AppError("BAD_REQUEST", "This payment is already completed");
      let product: Product;
      if (old.purpose === "listing_fee") {
        const listing = listingForPayment(listingRows, userId);
        product = {
          purpose: "listing_fee",
          providerServiceId: listing.providerServiceId,
          amountPaise: listing.amountPaise,
          validityDays: listing.validityDays,
        };
      } else {
        product = { purpose: "labour_access", providerServiceId: null, ...LABOUR_ACCESS_PRICE };
      }
      await limitInitiation(req, userId);
      return startCheckout(req, userId, product);
    },
  };
}

/** What the checkout page shows for a signed link. */
export type CheckoutPageState =
  | { kind: "invalid_link" }
  | { kind: "not_found" }
  | { kind: "pay"; txnToken: string; amountPaise: number }
  | { kind: "paid" }
  | { kind: "expired" }
  | { kind: "busy" };

/** The checkout page's state: only a validly signed link reaches the order, and a closed order never starts a second payment. */
export async function checkoutPageState(
  req: Pick<PaymentRequest, "db" | "env" | "config">,
  orderId: string,
  sig: string,
): Promise<CheckoutPageState> {
  if (!(await checkoutSignatureValid(req.config.JWT_SECRET, orderId, sig))) return { kind: "invalid_link" };
  const order = await orderByPaytmId(req.db, orderId);
  if (!order) return { kind: "not_found" };
  const r = await paymentOrderStub(req.env, orderId).checkoutToken(orderId);
  if (r.kind === "token") return { kind: "pay", txnToken: r.txnToken, amountPaise: order.amountPaise };
  if (r.kind === "closed" && r.phase === "paid") return { kind: "paid" };
  if (r.kind === "closed" || r.kind === "declined") return { kind: "expired" };
  return { kind: "busy" };
}
