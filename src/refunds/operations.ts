import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { refunds } from "../db/schema";
import { type Config, loadConfig } from "../env";
import { createLogger } from "../lib/log";
import { dispatchAfterCommit } from "../outbox/outbox";
import type { RefundStatusResult } from "../paytm/client";
import { paytmClientFor } from "../paytm/from-config";
import {
  createRefund,
  POLL_BACKOFF_S,
  type RefundRequest,
  type RequestOutcome,
  refundById,
  type Transition,
  type TransitionResult,
  transition,
} from "./service";

const log = createLogger("info", { component: "refunds" });

/**
 * Every refund step that talks to Paytm or changes a refund, run INSIDE the order's PaymentOrder
 * Durable Object (its refund methods, one per step, delegate here), so the steps of one order never
 * overlap: a queue redelivery, the cron poll and a webhook for the same refund run one after the other.
 *
 * Paytm rules (docs/payments.md §1.7, the client's author): the refId is stored before anything leaves and
 * is the only id ever used for this refund; a refund that may have reached Paytm (`initiated_at`
 * set) is first looked up by status, and applied again with the SAME refId only when Paytm says it
 * has no such refund; "already raised" means "read the status"; apply only registers a refund
 * (PENDING), completion comes from the status read or the refund webhook.
 */

/** The queue consumer's step: what it does with the message. */
export type ProcessOutcome = { action: "ack" | "retry"; status: string; note: string };

/** A step on an existing refund: where it stands now, and whether this step moved it. */
export type RefundStep = { status: string; changed: boolean };

/** A signed refund webhook: a trigger for a status read; its own status is used only if the read is inconclusive. */
export type RefundNotice = { refundId: string; status: "SUCCESS" | "FAILED" | "PENDING"; paytmRefundId?: string; amountPaise: number };

type Waiter = { waitUntil(p: Promise<unknown>): void };

/**
 * What every step runs with. `db` is the calling PaymentOrder operation's database handle (the
 * operation closes it); `ctx` holds writes that may finish after it (API logs, outbox dispatch).
 */
export type StepContext = { env: Env; ctx: Waiter; db: Db };

/** Validate and record a refund; a new one is dispatched (its notification) and enqueued for Paytm. */
export async function requestRefundStep(s: StepContext, request: RefundRequest): Promise<RequestOutcome> {
  const r = await createRefund(s.db, request);
  if (r.ok && r.created) {
    dispatchAfterCommit(s.env, s.ctx);
    await enqueue(s.env, r.refund.id);
  }
  return r;
}

/** The queue consumer's step for one refund: get it registered at Paytm exactly once. */
export function processRefundStep(s: StepContext, refundId: string): Promise<ProcessOutcome> {
  return processRefund(s.env, s.ctx, loadConfig(s.env), s.db, refundId);
}

/** Cron poll: read the status of a registered (or stuck) refund and apply a definite answer. */
export function pollRefundStep(s: StepContext, refundId: string): Promise<RefundStep> {
  return pollRefund(s.env, s.ctx, loadConfig(s.env), s.db, refundId);
}

/** A verified refund webhook for this refund. */
export function refundNoticeStep(s: StepContext, notice: RefundNotice): Promise<RefundStep> {
  return applyNotice(s.env, s.ctx, loadConfig(s.env), s.db, notice);
}

/** An admin re-drives a needs_attention refund (same refId): back to pending and onto the queue. */
export async function retryRefundStep(s: StepContext, refundId: string, actorId: string): Promise<RefundStep> {
  const t = await settle(s.env, s.ctx, s.db, refundId, { to: "pending", source: "admin", actorId });
  if (t.changed) await enqueue(s.env, refundId);
  return { status: t.status, changed: t.changed };
}

/**
 * Best effort: a refund whose message is lost stays `pending` and the cron enqueues it again
 * (strandedPending), so a failed send is logged, not thrown (the refund row is already committed).
 */
export async function enqueue(env: Env, refundId: string): Promise<boolean> {
  try {
    await env.REFUND_QUEUE.send({ refundId });
    return true;
  } catch (err) {
    log.error("refund enqueue failed; the cron will re-drive it", { refundId, error: String(err) });
    return false;
  }
}

async function settle(env: Env, ctx: Waiter, db: Db, refundId: string, t: Transition): Promise<TransitionResult> {
  const r = await transition(db, refundId, t);
  if (r.changed) dispatchAfterCommit(env, ctx);
  return r;
}

/** A definite status answer as a transition; null when it decides nothing. */
function fromStatus(s: Extract<RefundStatusResult, { ok: true }>, expectedPaise: number, source: string): Transition | null {
  if (s.refundAmountPaise !== null && s.refundAmountPaise !== expectedPaise) {
    return {
      to: "needs_attention",
      reason: `Paytm reports ${s.refundAmountPaise} paise for this refId, we asked ${expectedPaise}`,
      source,
      details: { paytmRefundId: s.refundId ?? null },
    };
  }
  const facts = { paytmRefundId: s.refundId, resultCode: s.resultCode, resultMsg: s.resultMsg, source };
  if (s.status === "PENDING") return { to: "processing", ...facts };
  if (s.status === "TXN_SUCCESS") return { to: "completed", ...facts };
  // An unsigned failure could be forged on the wire; failing frees the amount, so only a signed one counts.
  if (!s.signed) return null;
  return { to: "failed", reason: s.resultMsg || "Refund failed at Paytm", resultCode: s.resultCode, resultMsg: s.resultMsg, source };
}

/**
 * The queue consumer's step for one refund: get it registered at Paytm exactly once.
 * Definite answers ack; anything uncertain retries (the consumer applies exponential backoff).
 */
async function processRefund(env: Env, ctx: Waiter, cfg: Config, db: Db, refundId: string): Promise<ProcessOutcome> {
  const found = await refundById(db.http, refundId);
  if (!found) return { action: "ack", status: "unknown", note: "no such refund" };
  const { refund: r, order: o } = found;
  // Registered, final, or with an operator: nothing for the queue to do (poll/webhook/admin take over).
  if (r.status !== "pending") return { action: "ack", status: r.status, note: "not pending" };
  if (!o.gatewayTxnId) {
    await settle(env, ctx, db, r.id, { to: "needs_attention", reason: "order has no gateway transaction id", source: "refund_api" });
    return { action: "ack", status: "needs_attention", note: "no txnId" };
  }
  // The in-flight marker is durable before anything leaves for Paytm (and stays once set).
  await db.http
    .update(refunds)
    .set({
      attemptCount: sql`${refunds.attemptCount} + 1`,
      lastCheckedAt: sql`now()`,
      initiatedAt: sql`coalesce(${refunds.initiatedAt}, now())`,
    })
    .where(eq(refunds.id, r.id));
  const { client, flush } = paytmClientFor(cfg, ctx, { orderId: o.id, refundId: r.id });
  const ids = { orderId: o.paytmOrderId, refId: r.refId };
  try {
    const readStatus = async (why: string): Promise<ProcessOutcome | "not_found"> => {
      const s = await client.refundStatus(ids);
      if (s.ok) {
        const t = fromStatus(s, r.amountPaise, "status_api");
        if (!t) return { action: "retry", status: "pending", note: `${why}: unsigned failure` };
        const done = await settle(env, ctx, db, r.id, t);
        return { action: "ack", status: done.status, note: `${why}: status ${s.status}` };
      }
      if (s.kind === "not_found") return "not_found";
      return { action: "retry", status: "pending", note: `${why}: status read ${s.kind}` };
    };

    // It may have reached Paytm before (a crash, a lost answer, a redelivery): look before applying.
    if (r.initiatedAt) {
      const seen = await readStatus("previously sent");
      if (seen !== "not_found") return seen;
    }
    const a = await client.refundApply({
      ...ids,
      txnId: o.gatewayTxnId,
      amountPaise: r.amountPaise,
      comments: r.reason,
    });
    if (a.ok) {
      // Apply only registers the refund, even when it says TXN_SUCCESS: completion is confirmed by a read.
      const done = await settle(env, ctx, db, r.id, {
        to: "processing",
        paytmRefundId: a.refundId,
        resultCode: a.resultCode,
        resultMsg: a.resultMsg,
        source: "refund_api",
      });
      return { action: "ack", status: done.status, note: `apply ${a.status}` };
    }
    switch (a.kind) {
      case "duplicate":
      case "ambiguous": {
        const seen = await readStatus(`apply ${a.kind}`);
        // not_found after an ambiguous apply: Paytm has nothing; the next attempt applies again, same refId.
        return seen === "not_found" ? { action: "retry", status: "pending", note: `apply ${a.kind}, status not found` } : seen;
      }
      case "declined":
        await settle(env, ctx, db, r.id, {
          to: "failed",
          reason: `Paytm declined the refund: ${a.resultCode} ${a.resultMsg}`.trim(),
          resultCode: a.resultCode,
          resultMsg: a.resultMsg,
          source: "refund_api",
        });
        return { action: "ack", status: "failed", note: `declined ${a.resultCode}` };
      default:
        // invalid_signature (we cannot trust the answer), circuit_open, not_found: try again later.
        return { action: "retry", status: "pending", note: `apply ${a.kind}` };
    }
  } finally {
    flush();
  }
}

/** Cron poll: read the status of a registered (or stuck) refund and apply a definite answer. */
async function pollRefund(env: Env, ctx: Waiter, cfg: Config, db: Db, refundId: string): Promise<RefundStep> {
  const found = await refundById(db.http, refundId);
  if (!found) return { status: "unknown", changed: false };
  const { refund: r, order: o } = found;
  if (r.status !== "processing" && r.status !== "needs_attention") return { status: r.status, changed: false };
  const { client, flush } = paytmClientFor(cfg, ctx, { orderId: o.id, refundId: r.id });
  let s: RefundStatusResult;
  try {
    s = await client.refundStatus({ orderId: o.paytmOrderId, refId: r.refId });
  } finally {
    flush();
  }
  const t = s.ok ? fromStatus(s, r.amountPaise, "cron") : null;
  if (t && !(t.to === "needs_attention" && r.status === "needs_attention")) {
    const done = await settle(env, ctx, db, r.id, t);
    if (done.changed && done.status !== "processing") return { status: done.status, changed: true };
  }
  // Still open: read again later, backing off (Paytm: refunds can stay PENDING for days).
  const checks = r.attemptCount;
  const delay = r.status === "needs_attention" ? 1800 : POLL_BACKOFF_S[Math.min(checks, POLL_BACKOFF_S.length - 1)]!;
  await db.http
    .update(refunds)
    .set({
      attemptCount: sql`${refunds.attemptCount} + 1`,
      lastCheckedAt: sql`now()`,
      nextCheckAt: sql`now() + make_interval(secs => ${delay})`,
    })
    .where(eq(refunds.id, r.id));
  return { status: t?.to ?? r.status, changed: Boolean(t) };
}

async function applyNotice(env: Env, ctx: Waiter, cfg: Config, db: Db, op: RefundNotice): Promise<RefundStep> {
  const found = await refundById(db.http, op.refundId);
  if (!found) return { status: "unknown", changed: false };
  const { refund: r, order: o } = found;
  if (r.status === "completed" || r.status === "failed") return { status: r.status, changed: false };
  const { client, flush } = paytmClientFor(cfg, ctx, { orderId: o.id, refundId: r.id });
  let s: RefundStatusResult;
  try {
    s = await client.refundStatus({ orderId: o.paytmOrderId, refId: r.refId });
  } finally {
    flush();
  }
  let t: Transition | null = s.ok ? fromStatus(s, r.amountPaise, "webhook") : null;
  if (!t && !(s.ok && s.status === "TXN_FAILURE")) {
    // The read was inconclusive; the webhook itself is signed with our merchant key and matched the refund.
    const facts = { paytmRefundId: op.paytmRefundId, source: "webhook" };
    t =
      op.status === "SUCCESS"
        ? { to: "completed", ...facts }
        : op.status === "FAILED"
          ? { to: "failed", reason: "Paytm refund webhook reported failure", source: "webhook" }
          : { to: "processing", ...facts };
  }
  if (!t) return { status: r.status, changed: false };
  const done = await settle(env, ctx, db, r.id, t);
  return { status: done.status, changed: done.changed };
}
