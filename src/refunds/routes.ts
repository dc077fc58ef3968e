import { Hono } from "hono";
import { principalOf, requireAuth } from "../http/auth";
import type { AppEnv } from "../http/context";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { body, params, query } from "../http/validate";
import { orderRefundLedger, refundFor, requestRefund, retryRefund } from "./requests";
import {
  AdminRefundsData,
  AdminRefundsQuery,
  OrderIdParam,
  RefundIdParam,
  RefundLedgerData,
  RefundRequestBody,
  RefundRequestedTop,
  RefundView,
} from "./schemas";
import { listRefunds } from "./service";

/**
 * Refunds, mounted at /api/payments beside the payments routes:
 *   POST /refund                      ask for a refund (admin: any paid order, any amount ≤ refundable;
 *                                     the payer: whole amount, where policy allows, see service.ts)
 *   GET  /refunds/:id                 one refund (its payer or an admin)
 *   GET  /orders/:orderId/refunds     an order's refund ledger (its payer or an admin)
 *   GET  /admin/refunds               all refunds, filtered (admin)
 *   POST /admin/refunds/:id/retry     re-drive a needs_attention refund with the same refId (admin)
 * Paytm's refund webhook (POST /paytm-refund-webhook) shares the payments webhook's handler
 * (payments/routes.ts); its flow is ./webhook.ts.
 */
export const refundsRoutes = new Hono<AppEnv>();

const REFUNDS = ["refunds"];

refundsRoutes.post(
  "/refund",
  describe({
    summary: "Request a refund of a paid order (admins: any order and amount; payers: a full refund where policy allows)",
    tags: REFUNDS,
    response: RefundView,
    extraTop: RefundRequestedTop,
    // 201 for a new refund, 200 when one for the order is already in progress.
    status: [201, 200],
  }),
  requireAuth(),
  body(RefundRequestBody),
  async (c) => {
    const r = await requestRefund(c.env, c.get("db").http, principalOf(c), c.req.valid("json"));
    return ok(c, r.refund, {
      status: r.created ? 201 : 200,
      message: r.created ? "Refund initiated" : "A refund for this order is already in progress",
      extraTop: { refundId: r.refund.id, refundStatus: r.refund.status },
    });
  },
);

refundsRoutes.get(
  "/refunds/:id",
  describe({ summary: "One refund and its status", tags: REFUNDS, response: RefundView }),
  requireAuth(),
  params(RefundIdParam),
  async (c) => ok(c, await refundFor(c.get("db").http, principalOf(c), c.req.valid("param").id)),
);

refundsRoutes.get(
  "/orders/:orderId/refunds",
  describe({
    summary: "The refunds of one order and its refund ledger",
    tags: REFUNDS,
    response: RefundLedgerData,
  }),
  requireAuth(),
  params(OrderIdParam),
  async (c) => ok(c, await orderRefundLedger(c.get("db").http, principalOf(c), c.req.valid("param").orderId)),
);

refundsRoutes.get(
  "/admin/refunds",
  describe({ summary: "All refunds, filtered by status, order, user and time", tags: REFUNDS, response: AdminRefundsData }),
  requireAuth("admin"),
  query(AdminRefundsQuery),
  async (c) => ok(c, await listRefunds(c.get("db").http, c.req.valid("query"))),
);

refundsRoutes.post(
  "/admin/refunds/:id/retry",
  describe({
    summary: "Re-drive a refund that needs attention (same refId; Paytm is asked for its status first)",
    tags: REFUNDS,
    response: RefundView,
  }),
  requireAuth("admin"),
  params(RefundIdParam),
  async (c) => {
    const r = await retryRefund(c.env, c.get("db").http, principalOf(c).userId, c.req.valid("param").id);
    return ok(c, r.refund, { message: r.requeued ? "Refund re-queued" : "Refund updated" });
  },
);
