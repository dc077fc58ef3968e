import { and, desc, eq, inArray, ne, type SQL, sql } from "drizzle-orm";
import type { Db, HttpDb, TxDb } from "../db/client";
import {
  paymentApiLogs,
  paymentAttempts,
  paymentEvents,
  paymentOrders,
  paymentSecurityEvents,
  providerProfiles,
  providerServices,
  servicesMaster,
} from "../db/schema";
import { AppError } from "../http/errors";
import { notify } from "../notifications/outbox";
import { paiseToRupees, rupeesToPaise } from "../paytm/amount";

/**
 * Payment rules that speak Postgres, not HTTP: pricing, the one-open-order natural key, and the
 * single transaction that marks an order paid and grants what it bought. The PaymentOrder Durable
 * Object calls these; Postgres stays the system of record (its guards make "paid twice" and
 * "activated twice" unrecordable, see migrations/0001_guards.sql).
 */

export type PaymentOrderRow = typeof paymentOrders.$inferSelect;
export type Purpose = PaymentOrderRow["purpose"];

/** Labour access is priced by the platform, not by a listing (upstream: exactly ₹99 for 7 days, §4). */
export const LABOUR_ACCESS_PRICE = { amountPaise: 9900, validityDays: 7 } as const;

/**
 * An order lives as long as its txnToken (15 min at Paytm, anchors §1.2) plus a few minutes for a
 * bank to confirm; after that reconciliation asks Paytm once more and closes it if unpaid.
 */
export const ORDER_TTL_MS = 20 * 60_000;
export const TOKEN_TTL_MS = 14 * 60_000; // Paytm's 15 minutes, minus a safety margin
const FIRST_CHECK_MS = 2 * 60_000;

export type ListingForPayment = {
  providerServiceId: string;
  serviceName: string;
  amountPaise: number;
  validityDays: number;
};

/** The listing and its price, as a query to send alone or in a batch with the route's other reads. */
export function listingForPaymentQuery(db: HttpDb, providerServiceId: string | SQL) {
  return db
    .select({
      id: providerServices.id,
      status: providerServices.status,
      ownerId: providerProfiles.userId,
      serviceName: servicesMaster.name,
      isPaid: servicesMaster.isPaid,
      feePaise: servicesMaster.listingFeePaise,
      validityDays: servicesMaster.listingValidityDays,
    })
    .from(providerServices)
    .innerJoin(providerProfiles, eq(providerProfiles.id, providerServices.providerId))
    .innerJoin(servicesMaster, eq(servicesMaster.id, providerServices.serviceId))
    .where(eq(providerServices.id, providerServiceId))
    .limit(1);
}

type ListingPriceRow = Awaited<ReturnType<typeof listingForPaymentQuery>>[number];

/** The caller's own listing and the server's price for it, from `listingForPaymentQuery`. Someone else's listing is a plain 404. */
export function listingForPayment(rows: ListingPriceRow[], userId: string): ListingForPayment {
  const row = rows[0];
  if (!row || row.ownerId !== userId || row.status === "deleted") throw new AppError("NOT_FOUND", "Provider service not found");
  if (!row.isPaid) throw new AppError("BAD_REQUEST", "This service is free; no payment is needed");
  return { providerServiceId: row.id, serviceName: row.serviceName, amountPaise: row.feePaise, validityDays: row.validityDays };
}

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

/** ≤ 50 chars of [A-Za-z0-9_], unique: the orderId Paytm sees and the app echoes back. */
export function mintPaytmOrderId(purpose: Purpose): string {
  const rand = crypto.getRandomValues(new Uint8Array(8));
  let hex = "";
  for (const b of rand) hex += b.toString(16).padStart(2, "0");
  return `${purpose === "listing_fee" ? "ORDER" : "LABOUR"}_${Date.now().toString(36)}_${hex}`.toUpperCase();
}

export type OpenOrderInput = {
  userId: string;
  purpose: Purpose;
  providerServiceId: string | null;
  amountPaise: number;
  validityDays: number;
  clientInfo: Record<string, unknown>;
};

export type OpenOrderKey = Pick<OpenOrderInput, "userId" | "purpose" | "providerServiceId">;

/**
 * The payer's one open order for this product (at most one: partial unique indexes), as a query to
 * send alone or in a batch. Scoped to the payer, so a listing id from a request body finds only the
 * caller's own orders.
 */
export function openOrderQuery(db: HttpDb, key: OpenOrderKey) {
  return db
    .select()
    .from(paymentOrders)
    .where(
      and(
        eq(paymentOrders.userId, key.userId),
        eq(paymentOrders.purpose, key.purpose),
        key.providerServiceId === null
          ? sql`${paymentOrders.providerServiceId} is null`
          : eq(paymentOrders.providerServiceId, key.providerServiceId),
        inArray(paymentOrders.status, ["created", "pending"]),
      ),
    )
    .limit(1);
}

/** The payer's order history that risk scoring reads (assessRisk). */
export type RiskStats = { lastHour: number; total: number; failed: number };

function riskStatsQuery(db: HttpDb, userId: string) {
  return db
    .select({
      lastHour: sql<number>`count(*) filter (where ${paymentOrders.createdAt} > now() - interval '1 hour')::int`,
      total: sql<number>`count(*)::int`,
      failed: sql<number>`count(*) filter (where ${paymentOrders.status} in ('failed', 'expired'))::int`,
    })
    .from(paymentOrders)
    .where(eq(paymentOrders.userId, userId));
}

/**
 * The natural idempotency key: at most one open order per (payer, purpose, listing), enforced by
 * the partial unique indexes. The claim is one INSERT ... ON CONFLICT DO NOTHING: a concurrent
 * loser waits for the winner's commit and inserts nothing. Never a SELECT-then-INSERT race
 * (anchors §2.4 rule 2). One round trip: the claim, the read of the open order (a later statement
 * of the same READ COMMITTED batch, so it sees our row or the committed winner's) and the payer's
 * history for risk scoring travel as one non-interactive batch.
 */
export async function openOrder(
  db: HttpDb,
  input: OpenOrderInput,
): Promise<{ order: PaymentOrderRow; created: boolean; risk: RiskStats | undefined }> {
  for (let i = 0; i < 3; i++) {
    const [inserted, [open], [risk]] = await db.batch([
      db
        .insert(paymentOrders)
        .values({
          paytmOrderId: mintPaytmOrderId(input.purpose),
          userId: input.userId,
          purpose: input.purpose,
          providerServiceId: input.providerServiceId,
          amountPaise: input.amountPaise,
          validityDays: input.validityDays,
          status: "created",
          expiresAt: new Date(Date.now() + ORDER_TTL_MS),
          nextCheckAt: new Date(Date.now() + FIRST_CHECK_MS),
          clientInfo: input.clientInfo,
        })
        .onConflictDoNothing()
        .returning(),
      openOrderQuery(db, input),
      riskStatsQuery(db, input.userId),
    ]);
    if (inserted[0]) return { order: inserted[0], created: true, risk };
    if (open) return { order: open, created: false, risk };
    // The open order closed between our INSERT and SELECT: claim again.
  }
  throw new AppError("SERVICE_UNAVAILABLE", "Please retry", { retryAfter: 1 });
}

export function orderByPaytmIdQuery(db: HttpDb, paytmOrderId: string) {
  return db.select().from(paymentOrders).where(eq(paymentOrders.paytmOrderId, paytmOrderId)).limit(1);
}

export async function orderByPaytmId(db: HttpDb, paytmOrderId: string): Promise<PaymentOrderRow | undefined> {
  const [row] = await orderByPaytmIdQuery(db, paytmOrderId);
  return row;
}

// ---------------------------------------------------------------------------------------------
// Applying Paytm's answer. Each function is idempotent: replays change nothing.

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

    await tx
      .insert(paymentAttempts)
      .values({
        orderId: o.id,
        attemptNo: 1,
        status: "success",
        gatewayTxnId: facts.txnId,
        reportedAmountPaise: facts.amountPaise,
        resultCode: facts.resultCode,
        resultMsg: facts.resultMsg,
        rawResponse: facts.raw,
        completedAt: sql`now()`,
      })
      .onConflictDoUpdate({
        target: [paymentAttempts.orderId, paymentAttempts.attemptNo],
        set: {
          status: "success",
          gatewayTxnId: facts.txnId,
          reportedAmountPaise: facts.amountPaise,
          resultCode: facts.resultCode,
          resultMsg: facts.resultMsg,
          rawResponse: facts.raw,
          completedAt: sql`now()`,
        },
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
    await tx
      .insert(paymentAttempts)
      .values({
        orderId: o.id,
        attemptNo: 1,
        status: "failure",
        resultCode: facts.resultCode,
        resultMsg: facts.resultMsg,
        rawResponse: facts.raw,
        completedAt: sql`now()`,
      })
      .onConflictDoUpdate({
        target: [paymentAttempts.orderId, paymentAttempts.attemptNo],
        set: {
          status: "failure",
          resultCode: facts.resultCode,
          resultMsg: facts.resultMsg,
          rawResponse: facts.raw,
          completedAt: sql`now()`,
        },
        setWhere: ne(paymentAttempts.status, "success"),
      });
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

// ---------------------------------------------------------------------------------------------
// Logging, as the seed praised it: events, API interactions, security events (§4.4).

export type SecurityKind = (typeof paymentSecurityEvents.$inferInsert)["kind"];

export async function recordSecurityEvent(
  db: HttpDb | TxDb,
  e: {
    kind: SecurityKind;
    orderId?: string | null;
    paytmOrderId?: string | null;
    userId?: string | null;
    ip?: string | null;
    details?: Record<string, unknown>;
  },
): Promise<void> {
  await (db as HttpDb).insert(paymentSecurityEvents).values({
    kind: e.kind,
    orderId: e.orderId ?? null,
    paytmOrderId: e.paytmOrderId?.slice(0, 100) ?? null,
    userId: e.userId ?? null,
    ip: e.ip ?? null,
    details: e.details ?? {},
  });
}

export async function recordEvent(
  db: HttpDb,
  e: { orderId: string | null; source: string; eventType: string; dedupKey?: string; payload?: Record<string, unknown> },
): Promise<boolean> {
  const rows = await db
    .insert(paymentEvents)
    .values({
      orderId: e.orderId,
      source: e.source,
      eventType: e.eventType,
      dedupKey: e.dedupKey ?? `${e.source}:${crypto.randomUUID()}`,
      payload: e.payload ?? {},
    })
    .onConflictDoNothing()
    .returning({ id: paymentEvents.id });
  return rows.length > 0;
}

export type ApiLogRow = typeof paymentApiLogs.$inferInsert;

export async function recordApiLogs(db: HttpDb, rows: ApiLogRow[]): Promise<void> {
  if (rows.length > 0) await db.insert(paymentApiLogs).values(rows);
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

// ---------------------------------------------------------------------------------------------
// Reads.

export type LabourAccessStatus = {
  hasAccess: boolean;
  accessStatus: "active" | "expired" | "inactive";
  startDate: string | null;
  endDate: string | null;
  daysRemaining: number;
  isExpired: boolean;
};

/**
 * Labour access now: a paid window covering now(). The ONE definition, read by the status endpoint,
 * the bookings check and anything else that asks (windows never overlap, so at most one row matches).
 * `userId` is a value or an SQL expression (e.g. a column of the caller's query).
 */
export const labourWindowNow = (userId: SQL | string): SQL =>
  sql`select la.id, la.starts_at, la.expires_at from labour_access la
       where la.user_id = ${userId} and la.starts_at <= now() and now() < la.expires_at`;

/** `labourWindowNow` as a boolean SQL expression, for callers that check access inside a larger query. */
export const hasLabourAccessSql = (userId: SQL | string): SQL => sql`exists (${labourWindowNow(userId)})`;

/**
 * Active iff a window covers now (`labourWindowNow`); it then runs from that window's start to the end
 * of the back-to-back windows that follow it (renewals start where the previous window ends).
 */
export async function labourAccessStatus(db: HttpDb, userId: string): Promise<LabourAccessStatus> {
  const { rows } = await db.execute<{
    current_start: string | null;
    current_end: string | null;
    last_start: string | null;
    last_end: string | null;
    any_window: boolean;
    now: string;
  }>(sql`
    with recursive cur as (${labourWindowNow(userId)}),
    run as (
      select starts_at, expires_at from cur
      union
      select la.starts_at, la.expires_at from labour_access la join run on la.user_id = ${userId} and la.starts_at = run.expires_at
    )
    select to_json((select starts_at from cur))#>>'{}' as current_start,
           to_json((select max(expires_at) from run))#>>'{}' as current_end,
           to_json(max(starts_at) filter (where starts_at <= now()))#>>'{}' as last_start,
           to_json(max(expires_at) filter (where expires_at <= now()))#>>'{}' as last_end,
           count(*) > 0 as any_window,
           to_json(now())#>>'{}' as now
      from labour_access where user_id = ${userId}`);
  const r = rows[0];
  const now = new Date(r?.now ?? Date.now());
  if (r?.current_start && r.current_end) {
    const end = new Date(r.current_end);
    return {
      hasAccess: true,
      accessStatus: "active",
      startDate: new Date(r.current_start).toISOString(),
      endDate: end.toISOString(),
      daysRemaining: Math.ceil((end.getTime() - now.getTime()) / 86_400_000),
      isExpired: false,
    };
  }
  if (!r?.any_window || !r.last_end) {
    return { hasAccess: false, accessStatus: "inactive", startDate: null, endDate: null, daysRemaining: 0, isExpired: false };
  }
  return {
    hasAccess: false,
    accessStatus: "expired",
    startDate: new Date(r.last_start ?? r.last_end).toISOString(),
    endDate: new Date(r.last_end).toISOString(),
    daysRemaining: 0,
    isExpired: true,
  };
}

/** For other capabilities: does this user hold labour access right now? */
export async function hasLabourAccess(db: HttpDb, userId: string): Promise<boolean> {
  const { rows } = await db.execute<{ ok: boolean }>(sql`select ${hasLabourAccessSql(userId)} as ok`);
  return rows[0]?.ok === true;
}

/** The apps' status words (upstream: pending/completed/failed); the ledger keeps its own. */
export function appStatus(status: PaymentOrderRow["status"]): string {
  return status === "paid" ? "completed" : status === "created" ? "pending" : status;
}

/** One page of the payer's orders of one purpose and their total: one round trip (a batch of two reads). */
export async function transactionHistory(db: HttpDb, userId: string, purpose: Purpose, page: number, limit: number) {
  const where = and(eq(paymentOrders.userId, userId), eq(paymentOrders.purpose, purpose));
  const [rows, [total]] = await db.batch([
    db
      .select({
        o: paymentOrders,
        serviceName: servicesMaster.name,
        serviceStatus: providerServices.status,
        serviceExpiry: providerServices.expiresAt,
      })
      .from(paymentOrders)
      .leftJoin(providerServices, eq(providerServices.id, paymentOrders.providerServiceId))
      .leftJoin(servicesMaster, eq(servicesMaster.id, providerServices.serviceId))
      .where(where)
      .orderBy(desc(paymentOrders.createdAt))
      .limit(limit)
      .offset((page - 1) * limit),
    db.select({ n: sql<number>`count(*)::int` }).from(paymentOrders).where(where),
  ]);
  const n = total?.n ?? 0;
  return {
    transactions: rows.map(({ o, serviceName, serviceStatus, serviceExpiry }) => ({
      id: o.id,
      order_id: o.paytmOrderId,
      amount: o.amountPaise / 100,
      amount_paise: o.amountPaise,
      currency: o.currency,
      status: appStatus(o.status),
      payment_method: "paytm",
      transaction_id: o.gatewayTxnId,
      provider_service_id: o.providerServiceId,
      service_name: purpose === "labour_access" ? "labors" : serviceName,
      service_status: serviceStatus,
      service_expiry: serviceExpiry,
      validity_days: o.validityDays,
      start_date: o.grantedFrom,
      end_date: o.grantedUntil,
      created_at: o.createdAt,
      completed_at: o.paidAt,
    })),
    pagination: { currentPage: page, totalPages: Math.ceil(n / limit), total: n, limit, hasMore: page * limit < n },
  };
}

/** One of the payer's orders as recorded (verify is what asks Paytm). Someone else's is a plain 404. */
export async function paymentStatus(db: HttpDb, userId: string, paytmOrderId: string) {
  const [o] = await db
    .select()
    .from(paymentOrders)
    .where(and(eq(paymentOrders.paytmOrderId, paytmOrderId), eq(paymentOrders.userId, userId)))
    .limit(1);
  if (!o) throw new AppError("NOT_FOUND", "Payment order not found");
  return {
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
  };
}

/** A payment-UI event the app reports about one of its own orders (known types only, §10 #13). */
export async function recordClientEvent(
  db: HttpDb,
  userId: string,
  input: { orderId: string; eventType: string; eventData?: Record<string, unknown> },
  client: Record<string, unknown>,
): Promise<{ recorded: true }> {
  const order = await orderByPaytmId(db, input.orderId);
  if (!order || order.userId !== userId) throw new AppError("NOT_FOUND", "Payment order not found");
  await recordEvent(db, {
    orderId: order.id,
    source: "client",
    eventType: input.eventType,
    payload: { data: input.eventData ?? {}, client },
  });
  return { recorded: true };
}
