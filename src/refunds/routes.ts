import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { paymentEvents, paymentOrders, paymentSecurityEvents, refunds } from "../db/schema";
import { principalOf, requireAuth } from "../http/auth";
import type { AppEnv } from "../http/context";
import { AppError } from "../http/errors";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { routeLimits } from "../http/route-limits";
import { body, params, query } from "../http/validate";
import { clientIp } from "../lib/client-ip";
import { rupeesToPaise } from "../paytm/amount";
import { verifyRefundNotification } from "../paytm/notification";
import { runRefund } from "./jobs";
import { PAYTM_REFUND_WEBHOOK } from "./limits";
import { AdminRefundsQuery, OrderIdParam, RefundIdParam, RefundRequestBody } from "./schemas";
import { ledgerOf, listRefunds, orderRefunds, type RequestOutcome, refundById, refundByRefId, toView } from "./service";

/**
 * Refunds, mounted at /api/payments beside the payments routes:
 *   POST /refund                      ask for a refund (admin: any paid order, any amount ≤ refundable;
 *                                     the payer: whole amount, where policy allows, see service.ts)
 *   GET  /refunds/:id                 one refund (its payer or an admin)
 *   GET  /orders/:orderId/refunds     an order's refund ledger (its payer or an admin)
 *   GET  /admin/refunds               all refunds, filtered (admin)
 *   POST /admin/refunds/:id/retry     re-drive a needs_attention refund with the same refId (admin)
 *   POST /paytm-refund-webhook        Paytm's signed JSON refund webhook
 */
export const refundsRoutes = new Hono<AppEnv>();

const REFUNDS = ["refunds"];

refundsRoutes.post(
  "/refund",
  describe({
    summary: "Request a refund of a paid order (admins: any order and amount; payers: a full refund where policy allows)",
    tags: REFUNDS,
    access: ["user", "provider", "admin"],
  }),
  requireAuth(),
  body(RefundRequestBody),
  async (c) => {
    const p = principalOf(c);
    const input = c.req.valid("json");
    if (input.amount !== undefined && input.amountPaise !== undefined) {
      throw new AppError("VALIDATION_ERROR", "Send either amount or amountPaise, not both");
    }
    const amountPaise =
      input.amountPaise ?? (input.amount !== undefined ? (rupeesToPaise(input.amount.toFixed(2)) ?? undefined) : undefined);
    // The order's Durable Object loads the order from Postgres; a missing one is a plain 404 here.
    const [known] = await c
      .get("db")
      .http.select({ id: paymentOrders.id })
      .from(paymentOrders)
      .where(eq(paymentOrders.paytmOrderId, input.orderId))
      .limit(1);
    if (!known) throw new AppError("NOT_FOUND", "Payment order not found");
    const r = (await runRefund(c.env, input.orderId, {
      kind: "request",
      request: {
        paytmOrderId: input.orderId,
        reason: input.reason,
        amountPaise,
        actor: p.role === "admin" ? { kind: "admin", userId: p.userId } : { kind: "customer", userId: p.userId },
      },
    })) as RequestOutcome;
    if (!r.ok) throw new AppError(r.code, r.message, { extra: r.extra });
    return ok(c, r.refund, {
      status: r.created ? 201 : 200,
      message: r.created ? "Refund initiated" : "A refund for this order is already in progress",
      extraTop: { refundId: r.refund.id, refundStatus: r.refund.status },
    });
  },
);

refundsRoutes.get(
  "/refunds/:id",
  describe({ summary: "One refund and its status", tags: REFUNDS, access: ["user", "provider", "admin"] }),
  requireAuth(),
  params(RefundIdParam),
  async (c) => {
    const p = principalOf(c);
    const found = await refundById(c.get("db").http, c.req.valid("param").id);
    if (!found || (p.role !== "admin" && found.order.userId !== p.userId)) throw new AppError("NOT_FOUND", "Refund not found");
    return ok(c, toView(found.refund, found.order.paytmOrderId));
  },
);

refundsRoutes.get(
  "/orders/:orderId/refunds",
  describe({ summary: "The refunds of one order and its refund ledger", tags: REFUNDS, access: ["user", "provider", "admin"] }),
  requireAuth(),
  params(OrderIdParam),
  async (c) => {
    const p = principalOf(c);
    const found = await orderRefunds(c.get("db").http, c.req.valid("param").orderId);
    if (!found || (p.role !== "admin" && found.order.userId !== p.userId)) throw new AppError("NOT_FOUND", "Payment order not found");
    return ok(c, { ...ledgerOf(found.order), refunds: found.refunds.map((r) => toView(r, found.order.paytmOrderId)) });
  },
);

refundsRoutes.get(
  "/admin/refunds",
  describe({ summary: "All refunds, filtered by status, order, user and time", tags: REFUNDS }),
  requireAuth("admin"),
  query(AdminRefundsQuery),
  async (c) => ok(c, await listRefunds(c.get("db").http, c.req.valid("query"))),
);

refundsRoutes.post(
  "/admin/refunds/:id/retry",
  describe({ summary: "Re-drive a refund that needs attention (same refId; Paytm is asked for its status first)", tags: REFUNDS }),
  requireAuth("admin"),
  params(RefundIdParam),
  async (c) => {
    const p = principalOf(c);
    const found = await refundById(c.get("db").http, c.req.valid("param").id);
    if (!found) throw new AppError("NOT_FOUND", "Refund not found");
    if (found.refund.status !== "needs_attention") {
      throw new AppError(
        "INVALID_STATE_TRANSITION",
        `Only a refund that needs attention can be retried (this one is ${found.refund.status})`,
      );
    }
    const r = (await runRefund(c.env, found.order.paytmOrderId, { kind: "retry", refundId: found.refund.id, actorId: p.userId })) as {
      status: string;
    };
    const after = await refundById(c.get("db").http, found.refund.id);
    return ok(c, toView(after!.refund, found.order.paytmOrderId), {
      message: r.status === "pending" ? "Refund re-queued" : "Refund updated",
    });
  },
);

/**
 * Paytm's refund webhook ("Accept Refund" / "Success Refund", JSON `{head:{signature}, body}`,
 * docs/payments.md §1.5). Forged or unsigned: 401 and a security event. A verified one is a trigger: the
 * order's Durable Object reads the refund status (same refId) and applies it; replays are no-ops.
 * A 5xx on an internal failure is deliberate, so Paytm delivers again.
 */
refundsRoutes.post(
  "/paytm-refund-webhook",
  describe({ summary: "Paytm refund webhook (signed JSON)", tags: REFUNDS, access: "signature" }),
  routeLimits(PAYTM_REFUND_WEBHOOK),
  async (c) => {
    const cfg = c.get("config");
    const db = c.get("db").http;
    const ip = clientIp(c);
    const text = new TextDecoder().decode(await c.req.arrayBuffer());
    const security = (kind: (typeof paymentSecurityEvents.$inferInsert)["kind"], details: Record<string, unknown>, orderId?: string) =>
      db.insert(paymentSecurityEvents).values({
        kind,
        orderId: orderId ?? null,
        paytmOrderId: typeof details.paytmOrderId === "string" ? details.paytmOrderId.slice(0, 100) : null,
        ip,
        details: { source: "refund_webhook", ...details },
      });

    if (cfg.PAYTM_WEBHOOK_IPS.length > 0 && (!ip || !cfg.PAYTM_WEBHOOK_IPS.includes(ip))) {
      await security("forged_checksum", { reason: "ip_not_allowed" });
      throw new AppError("FORBIDDEN", "Forbidden");
    }
    const v = await verifyRefundNotification(text, cfg.PAYTM_MERCHANT_KEY);
    if (!v.ok) {
      const forged = v.reason === "invalid_signature" || v.reason === "missing_checksum";
      await security("forged_checksum", { reason: v.reason });
      throw new AppError(forged ? "INVALID_SIGNATURE" : "BAD_REQUEST", forged ? "Invalid webhook signature" : "Malformed refund webhook");
    }
    const n = v.body;
    if (n.mid !== undefined && n.mid !== cfg.PAYTM_MID) {
      await security("mid_mismatch", { paytmOrderId: n.orderId, refId: n.refId, mid: n.mid });
      return ok(c, { received: true, applied: false }, { message: "OK" });
    }
    const found = await refundByRefId(db, n.refId);
    if (!found || found.order.paytmOrderId !== n.orderId) {
      await security("unknown_order", { paytmOrderId: n.orderId, refId: n.refId, status: n.status });
      return ok(c, { received: true, applied: false }, { message: "OK" });
    }
    if (v.refundAmountPaise !== found.refund.amountPaise) {
      await security(
        "amount_mismatch",
        { paytmOrderId: n.orderId, refId: n.refId, reportedPaise: v.refundAmountPaise, expectedPaise: found.refund.amountPaise },
        found.order.id,
      );
      return ok(c, { received: true, applied: false }, { message: "OK" });
    }
    const status = /SUCCESS/i.test(n.status) ? "SUCCESS" : /FAIL|REJECT/i.test(n.status) ? "FAILED" : "PENDING";
    const dedupKey = `refund-webhook:${n.refId}:${n.status}`;
    let duplicate = found.refund.status === "completed" || found.refund.status === "failed";
    if (!duplicate) {
      await runRefund(c.env, found.order.paytmOrderId, {
        kind: "notice",
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
    return ok(c, { received: true, duplicate, refundStatus: after?.status ?? found.refund.status }, { message: "OK" });
  },
);
