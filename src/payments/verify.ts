import { AppError } from "../http/errors";
import { paymentOrderStub } from "../lib/durable-objects";
import { recordSecurityEvent } from "./audit";
import type { PaymentRequest } from "./context";
import { orderByPaytmId, type PaymentOrderRow, type Purpose } from "./orders";
import type { VerifiedPaymentData } from "./schemas";

/**
 * The app's verify after checkout: its own order, confirmed by the order's Durable Object with
 * Paytm's status API and applied (idempotent; a replay answers with the same dates).
 */

/** The caller's own order of this purpose; anyone else's is a plain 404 (and a security event). */
async function ownOrder(req: PaymentRequest, userId: string, paytmOrderId: string, purpose: Purpose): Promise<PaymentOrderRow> {
  const order = await orderByPaytmId(req.db, paytmOrderId);
  if (order && order.userId !== userId) {
    req.background(
      recordSecurityEvent(req.db, {
        kind: "ownership_mismatch",
        orderId: order.id,
        paytmOrderId,
        userId,
        ip: req.client.ip,
        details: { route: req.route },
      }),
    );
  }
  if (!order || order.userId !== userId || order.purpose !== purpose) throw new AppError("NOT_FOUND", "Payment order not found");
  return order;
}

async function confirmOrder(req: PaymentRequest, order: PaymentOrderRow): Promise<VerifiedPaymentData> {
  const r = await paymentOrderStub(req.env, order.paytmOrderId).verify(order.paytmOrderId);
  switch (r.kind) {
    case "paid": {
      const g = r.grant;
      return {
        orderId: g.orderId,
        startDate: g.startDate,
        endDate: g.endDate,
        validity: g.validityDays,
        transactionId: g.transactionId,
        amount: g.amountPaise / 100,
        amountPaise: g.amountPaise,
        alreadyProcessed: g.alreadyProcessed,
        // Paid but nothing granted: a duplicate of a purchase already paid (or its listing was deleted), refunded automatically.
        refundPending: g.startDate === null,
      };
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

/** A listing-fee payment: activates the order's own listing. */
export async function verifyListingPayment(
  req: PaymentRequest,
  userId: string,
  input: { orderId: string; providerServiceId?: string },
): Promise<VerifiedPaymentData> {
  const order = await ownOrder(req, userId, input.orderId, "listing_fee");
  if (input.providerServiceId && input.providerServiceId !== order.providerServiceId) {
    // Upstream activated the body's listing. Here the body can only disagree, never decide.
    req.background(
      recordSecurityEvent(req.db, {
        kind: "order_mismatch",
        orderId: order.id,
        paytmOrderId: order.paytmOrderId,
        userId: order.userId,
        ip: req.client.ip,
        details: { claimedProviderServiceId: input.providerServiceId },
      }),
    );
    throw new AppError("VALIDATION_ERROR", "providerServiceId does not match this payment order", {
      errors: [{ field: "providerServiceId", message: "does not match the order" }],
    });
  }
  return confirmOrder(req, order);
}

/** A labour-access payment: grants 7 days of access. */
export async function verifyLabourPayment(req: PaymentRequest, userId: string, input: { orderId: string }): Promise<VerifiedPaymentData> {
  return confirmOrder(req, await ownOrder(req, userId, input.orderId, "labour_access"));
}
