import { eq } from "drizzle-orm";
import type { HttpDb } from "../db/client";
import { paymentEvents, paymentSecurityEvents, refunds } from "../db/schema";
import type { Config } from "../env";
import { AppError } from "../http/errors";
import { paymentOrderStub } from "../lib/durable-objects";
import type { RefundNotificationResult } from "../paytm/notification";
import type { PaytmWebhookData } from "./schemas";
import { refundByRefId } from "./service";

/**
 * Paytm's refund webhook ("Accept Refund" / "Success Refund", JSON `{head:{signature}, body}`,
 * docs/payments.md §1.5), the one flow for it whichever of Paytm's webhook URLs it arrived at
 * (payments/notices.ts). Forged or unsigned: 401 and a security event. A verified one is a trigger:
 * the order's Durable Object reads the refund status (same refId) and applies it; replays are
 * no-ops. A 5xx on an internal failure is deliberate, so Paytm delivers again.
 */

type Deps = { db: HttpDb; env: Env; config: Config; ip: string | null };

export async function receiveRefundNotice(deps: Deps, v: RefundNotificationResult): Promise<PaytmWebhookData> {
  const { db, env, config: cfg, ip } = deps;
  const security = (kind: (typeof paymentSecurityEvents.$inferInsert)["kind"], details: Record<string, unknown>, orderId?: string) =>
    db.insert(paymentSecurityEvents).values({
      kind,
      orderId: orderId ?? null,
      paytmOrderId: typeof details.paytmOrderId === "string" ? details.paytmOrderId.slice(0, 100) : null,
      ip,
      details: { source: "refund_webhook", ...details },
    });

  if (!v.ok) {
    const forged = v.reason === "invalid_signature" || v.reason === "missing_checksum";
    await security("forged_checksum", { reason: v.reason });
    throw new AppError(forged ? "INVALID_SIGNATURE" : "BAD_REQUEST", forged ? "Invalid webhook signature" : "Malformed refund webhook");
  }
  const n = v.body;
  if (n.mid !== undefined && n.mid !== cfg.PAYTM_MID) {
    await security("mid_mismatch", { paytmOrderId: n.orderId, refId: n.refId, mid: n.mid });
    return { received: true, applied: false };
  }
  const found = await refundByRefId(db, n.refId);
  if (!found || found.order.paytmOrderId !== n.orderId) {
    await security("unknown_order", { paytmOrderId: n.orderId, refId: n.refId, status: n.status });
    return { received: true, applied: false };
  }
  if (v.refundAmountPaise !== found.refund.amountPaise) {
    await security(
      "amount_mismatch",
      { paytmOrderId: n.orderId, refId: n.refId, reportedPaise: v.refundAmountPaise, expectedPaise: found.refund.amountPaise },
      found.order.id,
    );
    return { received: true, applied: false };
  }
  const status = /SUCCESS/i.test(n.status) ? "SUCCESS" : /FAIL|REJECT/i.test(n.status) ? "FAILED" : "PENDING";
  const dedupKey = `refund-webhook:${n.refId}:${n.status}`;
  let duplicate = found.refund.status === "completed" || found.refund.status === "failed";
  if (!duplicate) {
    await paymentOrderStub(env, found.order.paytmOrderId).refundNotice(found.order.paytmOrderId, {
      refundId: found.refund.id,
      status,
      paytmRefundId: n.refundId,
      amountPaise: v.refundAmountPaise,
    });
  }
  // Recorded after it was acted on, so a failure above leaves Paytm's retry something to do; the
  // refund's status as it now stands comes back in the same round trip.
  const [recorded, [after]] = await db.batch([
    db
      .insert(paymentEvents)
      .values({
        orderId: found.order.id,
        refundId: found.refund.id,
        source: "webhook",
        eventType: "refund_webhook_received",
        dedupKey,
        payload: n as Record<string, unknown>,
      })
      .onConflictDoNothing()
      .returning({ id: paymentEvents.id }),
    db.select({ status: refunds.status }).from(refunds).where(eq(refunds.id, found.refund.id)),
  ]);
  duplicate ||= recorded.length === 0;
  return { received: true, duplicate, refundStatus: after?.status ?? found.refund.status };
}
