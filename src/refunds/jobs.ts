import { createDb } from "../db/client";
import { loadConfig } from "../env";
import { paymentOrderStub } from "../lib/durable-objects";
import { createLogger } from "../lib/log";
import { dispatchAfterCommit } from "../outbox/outbox";
import { enqueue } from "./operations";
import { RefundMessage } from "./schemas";
import {
  type AutomaticReason,
  dueForPoll,
  type RequestOutcome,
  refundById,
  strandedPending,
  transition,
  undeliveredWithoutRefund,
} from "./service";

const log = createLogger("info", { component: "refunds" });

/**
 * The refunds queue, its dead-letter queue, the cron poll and the automatic-refund entry point.
 * Everything that touches Paytm goes through the order's PaymentOrder Durable Object, which runs one
 * refund step of an order at a time (its refund methods).
 */

/** Seconds before delivery `attempts + 1`: 30, 60, 120 … capped at 30 minutes, ±20 % jitter. */
export function refundBackoffSeconds(attempts: number): number {
  const base = Math.min(1800, 30 * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/**
 * Consumer of `refunds` (`{refundId}`): each message is acked or retried on its own, so one bad
 * refund never holds back the batch. After max_retries (wrangler.toml: 8) Cloudflare moves the
 * message to `refunds-dlq`.
 */
export async function consumeRefunds(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext): Promise<void> {
  const db = createDb(loadConfig(env));
  try {
    for (const msg of batch.messages) {
      const parsed = RefundMessage.safeParse(msg.body);
      if (!parsed.success) {
        log.error("malformed refund message dropped", { id: msg.id });
        msg.ack();
        continue;
      }
      try {
        const found = await refundById(db.http, parsed.data.refundId);
        if (!found) {
          msg.ack();
          continue;
        }
        const r = await paymentOrderStub(env, found.order.paytmOrderId).processRefund(found.order.paytmOrderId, found.refund.id);
        if (r.action === "ack") msg.ack();
        else msg.retry({ delaySeconds: refundBackoffSeconds(msg.attempts) });
        log.info("refund step", { refundId: found.refund.id, attempts: msg.attempts, ...r });
      } catch (err) {
        log.error("refund step failed; retrying", { refundId: parsed.data.refundId, error: String(err) });
        msg.retry({ delaySeconds: refundBackoffSeconds(msg.attempts) });
      }
    }
  } finally {
    await db.close();
  }
}

/**
 * Consumer of `refunds-dlq`: a refund whose outcome stayed uncertain through every retry becomes
 * `needs_attention` (still counted against the paid amount), with a critical security/ops event
 * and a notification to every admin. Nothing is dropped: a failure here retries.
 */
export async function consumeRefundDeadLetters(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  const db = createDb(loadConfig(env));
  try {
    for (const msg of batch.messages) {
      const parsed = RefundMessage.safeParse(msg.body);
      if (!parsed.success) {
        log.error("malformed refund dead letter", { id: msg.id, body: msg.body });
        msg.ack();
        continue;
      }
      try {
        const found = await refundById(db.http, parsed.data.refundId);
        if (found && found.refund.status === "pending") {
          const t = await transition(db, found.refund.id, {
            to: "needs_attention",
            reason: `Refund retries exhausted (${found.refund.attemptCount} attempts); outcome at Paytm unknown`,
            source: "queue_dlq",
            details: { messageId: msg.id, deliveries: msg.attempts },
          });
          if (t.changed) dispatchAfterCommit(env, ctx);
        }
        log.error("refund dead-lettered", { refundId: parsed.data.refundId, status: found?.refund.status });
        msg.ack();
      } catch (err) {
        log.error("refund dead letter failed; retrying", { error: String(err) });
        msg.retry({ delaySeconds: 60 });
      }
    }
  } finally {
    await db.close();
  }
}

/** Longer than the queue's longest backoff (30 min), so an in-flight retry is not duplicated. */
const STRANDED_AFTER_MINUTES = 40;
/** A pending refund retried this many times without a Paytm answer is an operator's case. */
const MAX_PENDING_ATTEMPTS = 12;

/**
 * Every two minutes: read due refunds (processing, and needs_attention now and then), re-enqueue
 * pending refunds whose message was lost, and refund paid orders the payments capability could not
 * deliver. Idempotent; each step goes through the order's Durable Object.
 */
export async function pollRefunds(env: Env, opts: { limit?: number; onlyRefundIds?: string[] } = {}) {
  const db = createDb(loadConfig(env));
  const outcome = { polled: 0, changed: 0, reenqueued: 0, escalated: 0, automatic: 0, errors: 0 };
  try {
    const due = (await dueForPoll(db.http, opts.limit ?? 50)).filter((d) => !opts.onlyRefundIds || opts.onlyRefundIds.includes(d.id));
    const queue = [...due];
    const worker = async () => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        try {
          const r = await paymentOrderStub(env, d.paytmOrderId).pollRefund(d.paytmOrderId, d.id);
          outcome.polled++;
          if (r.changed) outcome.changed++;
        } catch {
          outcome.errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(5, due.length) }, worker));

    for (const s of await strandedPending(db.http, STRANDED_AFTER_MINUTES, 50)) {
      if (opts.onlyRefundIds && !opts.onlyRefundIds.includes(s.id)) continue;
      const found = await refundById(db.http, s.id);
      if (!found) continue;
      if (found.refund.attemptCount >= MAX_PENDING_ATTEMPTS) {
        const t = await transition(db, s.id, {
          to: "needs_attention",
          reason: `Pending after ${found.refund.attemptCount} attempts`,
          source: "cron",
        });
        if (t.changed) outcome.escalated++;
      } else if (await enqueue(env, s.id)) {
        outcome.reenqueued++;
      }
    }

    if (!opts.onlyRefundIds) {
      for (const u of await undeliveredWithoutRefund(db.http, 20)) {
        const reason: AutomaticReason = u.event_type.endsWith("duplicate_payment") ? "duplicate_payment" : "listing_deleted";
        const r = await requestAutomaticRefund(env, { paytmOrderId: u.paytm_order_id, reason }).catch(() => null);
        if (r?.ok && r.created) outcome.automatic++;
      }
    }
    return outcome;
  } finally {
    await db.close();
  }
}

/**
 * Automatic refund of the whole remaining amount, for money taken for something that cannot be
 * delivered: a duplicate charge, a payment that arrived after the order expired, a listing deleted
 * while its payment was in flight. Idempotent per (order, reason) while the refund is open.
 *
 * Call this from OUTSIDE the order's Durable Object (routes, cron, consumers). Inside the DO
 * (e.g. from PaymentOrder.confirm) call `requestRefundStep` from ./operations directly: calling the
 * DO's own stub from within its serial chain would deadlock.
 */
export async function requestAutomaticRefund(
  env: Env,
  input: { paytmOrderId: string; reason: AutomaticReason; amountPaise?: number },
): Promise<RequestOutcome> {
  return paymentOrderStub(env, input.paytmOrderId).requestRefund(input.paytmOrderId, {
    paytmOrderId: input.paytmOrderId,
    reason: input.reason,
    amountPaise: input.amountPaise,
    actor: { kind: "system" },
  });
}
