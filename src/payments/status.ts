import { and, eq, inArray, ne, type SQL, sql } from "drizzle-orm";
import type { Db, HttpDb, TxDb } from "../db/client";
import { paymentAttempts, paymentEvents, paymentOrders } from "../db/schema";
import { notify } from "../outbox/outbox";
import { paiseToRupees } from "../paytm/amount";
import type { PaymentOrderRow, Purpose } from "./orders";

/**
 * An order's status changes, each applying what Paytm said (the PaymentOrder Durable Object calls
 * these), and the single transaction that marks an order paid and grants what it bought. Each
 * function is idempotent: replays change nothing.
 */

export type PaidFacts = {
  txnId: string;
  bankTxnId?: string;
  paymentMode?: string;
  resultCode: string;
  resultMsg: string;
  amountPaise: number;
  /** Who learned it first (verify | callback | webhook | alarm | cron), for the audit trail. */
  trigger: string;
  raw: Record<string, unknown>;
};

export type Grant = {
  orderId: string;
  purpose: Purpose;
  startDate: string | null;
  endDate: string | null;
  validityDays: number;
  transactionId: string | null;
  amountPaise: number;
  alreadyProcessed: boolean;
  /** Set when this payment duplicated an already paid purchase: nothing was granted, it is refunded. */
  duplicateOf?: string;
};

function grantOf(o: PaymentOrderRow, alreadyProcessed: boolean): Grant {
  return {
    orderId: o.paytmOrderId,
    purpose: o.purpose,
    startDate: o.grantedFrom?.toISOString() ?? null,
    endDate: o.grantedUntil?.toISOString() ?? null,
    validityDays: o.validityDays,
    transactionId: o.gatewayTxnId,
    amountPaise: o.amountPaise,
    alreadyProcessed,
  };
}

/**
 * Marks the order paid and grants what it bought, in ONE transaction (seed audit issue #6): either
 * the order is paid and the listing/labour window extended, or neither. Listing: +validity from
 * max(now, current end) (renewals extend, §3.3). Labour: a window from max(now, latest end); the
 * user row is locked so two orders of one user cannot both start at the same old end (the
 * exclusion constraint would reject the second anyway).
 *
 * An interactive transaction on purpose (the PaymentOrder object's handle, not the request's): the
 * locks on the order and on what it buys are held while code decides from what it then reads
 * (already paid? a duplicate of a paid purchase? which window?). Cost: handshake, BEGIN, 9
 * statements, COMMIT (test/payments/round-trips.test.ts).
 */
export async function applyPayment(db: Db, orderUuid: string, facts: PaidFacts): Promise<Grant> {
  return db.transaction(async (tx) => {
    const [o] = await tx.select().from(paymentOrders).where(eq(paymentOrders.id, orderUuid)).for("update");
    if (!o) throw new Error(`payment order ${orderUuid} vanished`);
    if (o.status === "paid") return grantOf(o, true);

    // Lock what the payment buys first (the listing, or the customer for labour access), so two
    // payments for the same thing are applied one after the other and the duplicate check is exact.
    if (o.purpose === "listing_fee" && o.providerServiceId) {
      await tx.execute(sql`select 1 from provider_services where id = ${o.providerServiceId} for update`);
    } else {
      await tx.execute(sql`select 1 from users where id = ${o.userId} for no key update`);
    }
    const duplicateOf = await supersedingPaidOrder(tx, o);

    let window: { from: Date; until: Date } | null = null;
    if (duplicateOf) {
      // Money taken twice for one purchase: record it as paid, grant nothing, refund it (refunds cron).
    } else if (o.purpose === "listing_fee" && o.providerServiceId) {
      const rows = await tx.execute<{ granted_from: Date | string; granted_until: Date | string }>(sql`
        with cur as (
          select id, status, activated_at, expires_at, greatest(coalesce(expires_at, now()), now()) as base
          from provider_services where id = ${o.providerServiceId} and status <> 'deleted' for update
        )
        update provider_services ps
           set status = 'active',
               activated_at = case when cur.status = 'active' and cur.expires_at > now() then cur.activated_at else now() end,
               expires_at = cur.base + make_interval(days => ${o.validityDays})
          from cur where ps.id = cur.id
        returning cur.base as granted_from, ps.expires_at as granted_until`);
      const r = rows.rows[0];
      if (r) window = { from: new Date(r.granted_from), until: new Date(r.granted_until) };
    } else if (o.purpose === "labour_access") {
      const rows = await tx.execute<{ starts_at: Date | string; expires_at: Date | string }>(sql`
        insert into labour_access (user_id, order_id, starts_at, expires_at)
        select ${o.userId}, ${o.id}, b.base, b.base + make_interval(days => ${o.validityDays})
          from (select greatest(now(), coalesce(max(expires_at), now())) as base from labour_access where user_id = ${o.userId}) b
        on conflict (order_id) do nothing
        returning starts_at, expires_at`);
      const r = rows.rows[0];
      if (r) window = { from: new Date(r.starts_at), until: new Date(r.expires_at) };
    }

    const [paid] = await tx
      .update(paymentOrders)
      .set({
        status: "paid",
        gatewayTxnId: facts.txnId,
        bankTxnId: facts.bankTxnId ?? null,
        paymentMode: facts.paymentMode ?? null,
        gatewayResultCode: facts.resultCode,
        gatewayResultMsg: facts.resultMsg,
        activatedAt: window ? sql`now()` : null,
        grantedFrom: window?.from ?? null,
        grantedUntil: window?.until ?? null,
        lastCheckedAt: sql`now()`,
        nextCheckAt: null,
      })
      .where(and(eq(paymentOrders.id, o.id), ne(paymentOrders.status, "paid")))
      .returning();
    if (!paid) throw new Error(`payment order ${o.paytmOrderId} changed under its row lock`);

    await recordAttempt(tx, o.id, {
      status: "success",
      gatewayTxnId: facts.txnId,
      reportedAmountPaise: facts.amountPaise,
      resultCode: facts.resultCode,
      resultMsg: facts.resultMsg,
      rawResponse: facts.raw,
    });

    const what = o.purpose === "listing_fee" ? "service_activated" : "labour_service_activated";
    await tx
      .insert(paymentEvents)
      .values([
        {
          orderId: o.id,
          source: "status_api",
          eventType: "payment_completed",
          dedupKey: `paid:${o.paytmOrderId}`,
          payload: { trigger: facts.trigger, txnId: facts.txnId, amountPaise: facts.amountPaise },
        },
        {
          orderId: o.id,
          source: "system",
          eventType: window ? what : duplicateOf ? "activation_skipped_duplicate_payment" : "activation_skipped_listing_deleted",
          dedupKey: `activated:${o.paytmOrderId}`,
          payload: window
            ? { validityDays: o.validityDays, startDate: window.from.toISOString(), endDate: window.until.toISOString() }
            : duplicateOf
              ? { reason: "duplicate payment for one purchase; refund candidate", duplicateOf }
              : { reason: "listing deleted before the payment settled; refund candidate" },
        },
      ])
      .onConflictDoNothing();

    const until = window?.until.toISOString().slice(0, 10);
    await notify(tx, {
      userId: o.userId,
      title: "Payment Successful",
      message: !window
        ? `Your payment of ₹${paiseToRupees(o.amountPaise)} was received, but ${
            duplicateOf ? `this was already paid (order ${duplicateOf})` : "the service was removed before it settled"
          }. It will be refunded to your original payment method automatically.`
        : o.purpose === "listing_fee"
          ? `Your payment of ₹${paiseToRupees(o.amountPaise)} was received. Your service is active until ${until}.`
          : `Your payment of ₹${paiseToRupees(o.amountPaise)} was received. Labour access is active until ${until}.`,
      type: o.purpose === "listing_fee" ? "payment" : "labour_access",
      data: { orderId: o.paytmOrderId, transactionId: facts.txnId, screen: o.purpose === "listing_fee" ? "services" : "labour" },
      dedupKey: `payment-success:${o.paytmOrderId}`,
    });
    return duplicateOf ? { ...grantOf(paid, false), duplicateOf } : grantOf(paid, false);
  });
}

type AttemptOutcome = Omit<typeof paymentAttempts.$inferInsert, "orderId" | "attemptNo" | "completedAt">;

/** The order's one gateway attempt row, written or brought up to date with its outcome. */
function recordAttempt(tx: TxDb, orderId: string, outcome: AttemptOutcome, onlyWhere?: SQL) {
  const set = { ...outcome, completedAt: sql`now()` };
  return tx
    .insert(paymentAttempts)
    .values({ orderId, attemptNo: 1, ...set })
    .onConflictDoUpdate({
      target: [paymentAttempts.orderId, paymentAttempts.attemptNo],
      set,
      ...(onlyWhere ? { setWhere: onlyWhere } : {}),
    });
}

/**
 * A duplicate charge: another paid order for the same purchase (the same listing's fee, or the same
 * customer's labour access) that superseded this one or was superseded by it. An order is only
 * opened while no other is open for that purchase, so of two orders the newer was opened after the
 * older had closed unpaid; if the older is paid after the newer was opened, both payments were for
 * one purchase. A renewal opened after an earlier payment is not a duplicate. Runs under the lock
 * of what the payment buys, so concurrent payments are judged one after the other.
 */
async function supersedingPaidOrder(tx: TxDb, o: PaymentOrderRow): Promise<string | null> {
  const target =
    o.purpose === "listing_fee" && o.providerServiceId
      ? sql`y.provider_service_id = ${o.providerServiceId}`
      : sql`y.user_id = ${o.userId} and y.purpose = 'labour_access'`;
  const { rows } = await tx.execute<{ paytm_order_id: string }>(sql`
    select y.paytm_order_id from payment_orders y
     where y.id <> ${o.id} and y.status = 'paid' and ${target}
       and (y.created_at > ${o.createdAt} or y.paid_at > ${o.createdAt})
     order by y.created_at
     limit 1`);
  return rows[0]?.paytm_order_id ?? null;
}

/** The grant of an order that is already paid (replayed verifies answer with the same dates). */
export async function grantOfPaidOrder(db: HttpDb, orderUuid: string): Promise<Grant | null> {
  const [o] = await db.select().from(paymentOrders).where(eq(paymentOrders.id, orderUuid)).limit(1);
  return o && o.status === "paid" ? grantOf(o, true) : null;
}

/** Initiate succeeded: created → pending, attempt 1 recorded. A no-op once past `created`. */
export async function markInitiated(db: HttpDb, orderUuid: string, paytmOrderId: string, resultCode: string): Promise<void> {
  await db.batch([
    db
      .update(paymentOrders)
      .set({ status: "pending" })
      .where(and(eq(paymentOrders.id, orderUuid), eq(paymentOrders.status, "created"))),
    db
      .insert(paymentAttempts)
      .values({ orderId: orderUuid, attemptNo: 1, status: "initiated", resultCode })
      .onConflictDoNothing({ target: [paymentAttempts.orderId, paymentAttempts.attemptNo] }),
    db
      .insert(paymentEvents)
      .values({
        orderId: orderUuid,
        source: "system",
        eventType: "payment_initiated",
        dedupKey: `initiated:${paytmOrderId}`,
        payload: { resultCode },
      })
      .onConflictDoNothing(),
  ]);
}

/** Paytm says TXN_FAILURE (only the status API may say so): open → failed. */
export async function markFailed(
  db: Db,
  orderUuid: string,
  facts: { resultCode: string; resultMsg: string; trigger: string; raw: Record<string, unknown> },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [o] = await tx
      .update(paymentOrders)
      .set({ status: "failed", gatewayResultCode: facts.resultCode, gatewayResultMsg: facts.resultMsg, nextCheckAt: null })
      .where(and(eq(paymentOrders.id, orderUuid), inArray(paymentOrders.status, ["created", "pending"])))
      .returning();
    if (!o) return false;
    // A failure never overwrites a success already recorded for the order.
    await recordAttempt(
      tx,
      o.id,
      { status: "failure", resultCode: facts.resultCode, resultMsg: facts.resultMsg, rawResponse: facts.raw },
      ne(paymentAttempts.status, "success"),
    );
    await tx
      .insert(paymentEvents)
      .values({
        orderId: o.id,
        source: "status_api",
        eventType: "payment_failed",
        dedupKey: `failed:${o.paytmOrderId}`,
        payload: { trigger: facts.trigger, resultCode: facts.resultCode, resultMsg: facts.resultMsg },
      })
      .onConflictDoNothing();
    await notify(tx, {
      userId: o.userId,
      title: "Payment Failed",
      message: `Your payment of ₹${paiseToRupees(o.amountPaise)} did not go through. No money was taken; you can try again.`,
      type: o.purpose === "listing_fee" ? "payment" : "labour_access",
      data: { orderId: o.paytmOrderId },
      dedupKey: `payment-failed:${o.paytmOrderId}`,
    });
    return true;
  });
}

/** Past its deadline and Paytm confirms nobody paid: open → expired. */
export async function markExpired(db: HttpDb, orderUuid: string, paytmOrderId: string, reason: string): Promise<void> {
  await db.batch([
    db
      .update(paymentOrders)
      .set({ status: "expired", nextCheckAt: null })
      .where(and(eq(paymentOrders.id, orderUuid), inArray(paymentOrders.status, ["created", "pending"]))),
    db
      .insert(paymentEvents)
      .values({
        orderId: orderUuid,
        source: "system",
        eventType: "payment_expired",
        dedupKey: `expired:${paytmOrderId}`,
        payload: { reason },
      })
      .onConflictDoNothing(),
  ]);
}

/** Reconciliation bookkeeping on an open order (the cron picks orders whose next_check_at is due). */
export async function scheduleNextCheck(db: HttpDb, orderUuid: string, delayMs: number): Promise<void> {
  await db
    .update(paymentOrders)
    .set({
      lastCheckedAt: sql`now()`,
      checkCount: sql`${paymentOrders.checkCount} + 1`,
      nextCheckAt: sql`now() + make_interval(secs => ${Math.round(delayMs / 1000)})`,
    })
    .where(and(eq(paymentOrders.id, orderUuid), inArray(paymentOrders.status, ["created", "pending"])));
}
