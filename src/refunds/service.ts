import { and, asc, desc, eq, gte, inArray, isNull, lte, sql } from "drizzle-orm";
import { type Db, type HttpDb, pgCode, pgConstraint, type TxDb } from "../db/client";
import { paymentEvents, paymentOrders, providerServices, type RefundStatus, refunds, securityEvents, users } from "../db/schema";
import type { ErrorCode } from "../http/errors";
import { toHex } from "../lib/bytes";
import { metric } from "../lib/metrics";
import { type NotifyInput, notifyMany } from "../outbox/outbox";
import { paiseToRupees } from "../paytm/amount";
import type { AdminRefundsData, RefundLedgerData, RefundView } from "./schemas";

/**
 * Refund rules that speak Postgres, not HTTP or Paytm: who may ask for how much, the one place a
 * refund changes status, and what a state change does to the order (ledger totals, revocation,
 * notifications). Callers: the PaymentOrder Durable Object (through ./operations.ts, so every
 * refund step of one order runs one at a time), the queue consumers and the routes (reads).
 *
 * State machine (the `refunds_guard` trigger enforces the same edges; this file adds monotonicity,
 * so a late webhook can never move a refund backwards):
 *
 *   pending ──Paytm registered (apply/status PENDING)──▶ processing ──status/webhook SUCCESS──▶ completed
 *      │  └──apply declined / status TXN_FAILURE──▶ failed ◀──status/webhook FAILURE──┘
 *      └──retries exhausted (DLQ)──▶ needs_attention ──status read / admin retry──▶ processing | completed | failed | pending
 *
 * Money: `needs_attention` still counts against the paid amount (the money may have moved); only
 * `failed` frees it. The cap itself lives in the `refunds_within_paid_amount` trigger.
 */

export type RefundRow = typeof refunds.$inferSelect;
export type OrderRow = typeof paymentOrders.$inferSelect;

export type RefundActor = { kind: "admin"; userId: string } | { kind: "customer"; userId: string } | { kind: "system" };

export type RefundRequest = {
  paytmOrderId: string;
  reason: string;
  /** Omitted: everything not yet refunded or in flight. */
  amountPaise?: number;
  actor: RefundActor;
};

export type RequestOutcome =
  | { ok: true; created: boolean; refund: RefundView }
  /** `extra`: numbers for the error envelope (plain data, so the answer crosses the Durable Object RPC boundary typed). */
  | { ok: false; code: ErrorCode; message: string; extra?: Record<string, number> };

// ---------------------------------------------------------------------------------------------
// Customer policy (written down; admins are not bound by it):
// - only the payer, only a paid order, only the whole remaining amount (no partial self-refunds);
// - allowed when nothing was delivered: the order was paid but never activated (e.g. the listing
//   was deleted while the payment was in flight), within NOT_DELIVERED_WINDOW_DAYS of payment;
// - or when the provider deleted (cancelled) the listing this fee paid for within
//   CANCELLED_LISTING_WINDOW_DAYS of payment.
// Everything else (labour access already granted, an old listing fee) goes through support/admin.
export const NOT_DELIVERED_WINDOW_DAYS = 30;
export const CANCELLED_LISTING_WINDOW_DAYS = 7;

/** Automatic refunds: money taken for something that cannot be delivered. */
export const AUTOMATIC_REASONS = ["duplicate_payment", "paid_after_expiry", "listing_deleted"] as const;
export type AutomaticReason = (typeof AUTOMATIC_REASONS)[number];

const DAY_MS = 86_400_000;

export function toView(r: RefundRow, paytmOrderId: string): RefundView {
  return {
    id: r.id,
    refId: r.refId,
    orderId: paytmOrderId,
    status: r.status,
    amountPaise: r.amountPaise,
    amount: r.amountPaise / 100,
    reason: r.reason,
    paytmRefundId: r.paytmRefundId,
    requestedBy: r.requestedBy,
    attemptCount: r.attemptCount,
    initiatedAt: r.initiatedAt?.toISOString() ?? null,
    completedAt: r.completedAt?.toISOString() ?? null,
    failedAt: r.failedAt?.toISOString() ?? null,
    failureReason: r.failureReason,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** ≤ 50 chars of [A-Za-z0-9], unique: minted once per business refund and never again (docs/payments.md §1.7). */
export function mintRefId(): string {
  const hex = toHex(crypto.getRandomValues(new Uint8Array(8)));
  return `RF${Date.now().toString(36)}${hex}`.toUpperCase();
}

const OPEN: RefundStatus[] = ["pending", "processing", "needs_attention"];

function reject(code: ErrorCode, message: string, extra?: Record<string, number>): RequestOutcome {
  return { ok: false, code, message, extra };
}

/** Why the payer may not refund this order themselves, or null when policy allows it. */
async function customerPolicy(tx: TxDb, o: OrderRow): Promise<string | null> {
  const paidAt = o.paidAt?.getTime() ?? 0;
  if (!o.activatedAt) {
    return Date.now() - paidAt <= NOT_DELIVERED_WINDOW_DAYS * DAY_MS
      ? null
      : `Refunds for undelivered payments must be requested within ${NOT_DELIVERED_WINDOW_DAYS} days`;
  }
  if (o.purpose === "listing_fee" && o.providerServiceId) {
    const [l] = await tx
      .select({ status: providerServices.status })
      .from(providerServices)
      .where(eq(providerServices.id, o.providerServiceId));
    if (l?.status === "deleted") {
      return Date.now() - paidAt <= CANCELLED_LISTING_WINDOW_DAYS * DAY_MS
        ? null
        : `A cancelled listing can be refunded within ${CANCELLED_LISTING_WINDOW_DAYS} days of payment`;
    }
  }
  return "This payment was delivered; please contact support for a refund";
}

/**
 * Validate and record a refund (runs inside the order's Durable Object, so requests for one order
 * are serialized; the trigger is the backstop). A repeat of an open request returns that refund
 * instead of creating a second one. Returns the refund; the caller enqueues it after commit.
 */
export async function createRefund(db: Db, req: RefundRequest): Promise<RequestOutcome> {
  try {
    return await db.transaction(async (tx) => {
      const [o] = await tx.select().from(paymentOrders).where(eq(paymentOrders.paytmOrderId, req.paytmOrderId)).for("update");
      // Someone else's order is indistinguishable from a missing one.
      if (!o || (req.actor.kind === "customer" && o.userId !== req.actor.userId)) return reject("NOT_FOUND", "Payment order not found");
      if (o.status !== "paid") return reject("ORDER_NOT_PAID", "Only paid orders can be refunded");

      const existing = await tx.select().from(refunds).where(eq(refunds.orderId, o.id)).orderBy(asc(refunds.createdAt));
      const open = existing.filter((r) => OPEN.includes(r.status));
      const reason = req.reason.trim();
      // Idempotent repeat: the same ask while it is still open (a double tap, a client retry, a
      // second trigger of the same automatic refund). A customer has at most one open refund.
      const repeat =
        req.actor.kind === "customer"
          ? open[0]
          : open.find((r) => r.reason === reason && (req.amountPaise === undefined || r.amountPaise === req.amountPaise));
      if (repeat) return { ok: true, created: false, refund: toView(repeat, o.paytmOrderId) } as const;

      const remaining = o.amountPaise - o.refundedAmountPaise - o.refundsOpenPaise;
      const amountPaise = req.amountPaise ?? remaining;
      if (amountPaise > remaining || amountPaise <= 0) {
        return reject(
          "REFUND_AMOUNT_EXCEEDED",
          remaining <= 0 ? "This payment has already been refunded in full" : "Refund amount exceeds the refundable balance",
          { refundablePaise: Math.max(0, remaining), refundableAmount: Math.max(0, remaining) / 100 },
        );
      }
      if (req.actor.kind === "customer") {
        if (amountPaise !== remaining) return reject("REFUND_NOT_ALLOWED", "Only a full refund can be requested from the app");
        const why = await customerPolicy(tx, o);
        if (why) return reject("REFUND_NOT_ALLOWED", why);
      }

      const [r] = await tx
        .insert(refunds)
        .values({
          orderId: o.id,
          refId: mintRefId(),
          amountPaise,
          reason,
          status: "pending",
          requestedBy: req.actor.kind === "system" ? null : req.actor.userId,
        })
        .returning();
      await tx.insert(paymentEvents).values({
        orderId: o.id,
        refundId: r!.id,
        source: req.actor.kind === "system" ? "system" : "refund_api",
        eventType: "refund_requested",
        dedupKey: `refund:${r!.refId}:requested`,
        payload: { refId: r!.refId, amountPaise, reason, actor: req.actor.kind },
      });
      await notifyMany(tx, [
        {
          userId: o.userId,
          title: "Refund initiated",
          message: `A refund of ₹${paiseToRupees(amountPaise)} for order ${o.paytmOrderId} has been initiated. Banks usually take 5-7 working days.`,
          type: "payment",
          data: { type: "refund_initiated", orderId: o.paytmOrderId, refundId: r!.id, screen: "notifications" },
          dedupKey: `refund-initiated:${r!.refId}`,
        },
      ]);
      return { ok: true, created: true, refund: toView(r!, o.paytmOrderId) } as const;
    });
  } catch (err) {
    // Backstop: the cap trigger or the order's CHECK saw an over-refund the checks above missed.
    if (pgCode(err) === "23514" && /refund/.test(pgConstraint(err) ?? "")) {
      return reject("REFUND_AMOUNT_EXCEEDED", "Refund amount exceeds the refundable balance");
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// The one place a refund changes status.

export type Transition =
  | { to: "processing"; paytmRefundId?: string; resultCode?: string; resultMsg?: string; source: string }
  | { to: "completed"; paytmRefundId?: string; resultCode?: string; resultMsg?: string; source: string }
  | { to: "failed"; reason: string; resultCode?: string; resultMsg?: string; source: string }
  | { to: "needs_attention"; reason: string; source: string; details?: Record<string, unknown> }
  /** An admin re-drives a needs_attention refund (same refId). */
  | { to: "pending"; source: string; actorId: string };

/** Forward-only edges; anything else (a late webhook, a replay) is a no-op. */
const FORWARD: Record<RefundStatus, RefundStatus[]> = {
  pending: ["processing", "completed", "failed", "needs_attention"],
  processing: ["completed", "failed"],
  needs_attention: ["pending", "processing", "completed", "failed"],
  completed: [],
  failed: [],
};

/** Poll schedule for a refund Paytm has registered: Paytm suggests 30 s → 2 m → 5 m → 15 m → 1 h (docs/payments.md §1.7). */
export const POLL_BACKOFF_S = [60, 120, 300, 900, 3600, 3 * 3600, 6 * 3600];
/** A needs_attention refund is still read now and then, so a late answer resolves it without an operator. */
const ATTENTION_POLL_S = 1800;

export type TransitionResult = { changed: boolean; status: RefundStatus; refund: RefundRow; order: OrderRow; revoked: boolean };

export async function transition(db: Db, refundId: string, t: Transition): Promise<TransitionResult> {
  const result = await applyTransition(db, refundId, t);
  if (result.changed && (t.to === "completed" || t.to === "failed" || t.to === "needs_attention")) {
    metric("refund.outcome", { outcome: t.to, source: t.source, amountPaise: result.refund.amountPaise });
  }
  return result;
}

async function applyTransition(db: Db, refundId: string, t: Transition): Promise<TransitionResult> {
  return db.transaction(async (tx) => {
    // The refund row locked, and its order as it stood (one statement).
    const [locked] = await tx
      .select({ refund: refunds, order: paymentOrders })
      .from(refunds)
      .innerJoin(paymentOrders, eq(paymentOrders.id, refunds.orderId))
      .where(eq(refunds.id, refundId))
      .for("update", { of: refunds });
    if (!locked) throw new Error(`refund ${refundId} vanished`);
    const { refund: r, order: o0 } = locked;
    const paytmRefundId = "paytmRefundId" in t ? t.paytmRefundId : undefined;
    if (!FORWARD[r.status].includes(t.to)) {
      // Still learn Paytm's refundId if this answer carried it first.
      if (paytmRefundId && !r.paytmRefundId && r.status === t.to) {
        await tx.update(refunds).set({ paytmRefundId }).where(eq(refunds.id, r.id));
      }
      return { changed: false, status: r.status, refund: r, order: o0, revoked: false };
    }
    const pollIn = t.to === "processing" ? POLL_BACKOFF_S[0]! : t.to === "needs_attention" ? ATTENTION_POLL_S : null;
    const [u] = await tx
      .update(refunds)
      .set({
        status: t.to,
        paytmRefundId: r.paytmRefundId ?? paytmRefundId ?? null,
        resultCode: "resultCode" in t && t.resultCode ? t.resultCode : r.resultCode,
        resultMsg: "resultMsg" in t && t.resultMsg ? t.resultMsg.slice(0, 500) : r.resultMsg,
        failureReason: t.to === "failed" || t.to === "needs_attention" ? t.reason.slice(0, 500) : r.failureReason,
        completedAt: t.to === "completed" ? sql`now()` : r.completedAt,
        nextCheckAt: pollIn === null ? null : sql`now() + make_interval(secs => ${pollIn})`,
        // An admin retry starts a fresh attempt budget (the refId stays the same).
        attemptCount: t.to === "pending" ? 0 : r.attemptCount,
      })
      .where(eq(refunds.id, r.id))
      .returning();
    // The trigger has rewritten the order's totals; read them back.
    const [o] = await tx.select().from(paymentOrders).where(eq(paymentOrders.id, r.orderId));
    const order = o!;
    const event = {
      orderId: order.id,
      refundId: r.id,
      source: t.source,
      eventType: `refund_${t.to}`,
      dedupKey: `refund:${r.refId}:${t.to}${t.to === "pending" || t.to === "needs_attention" ? `:${crypto.randomUUID()}` : ""}`,
      payload: {
        refId: r.refId,
        from: r.status,
        to: t.to,
        paytmRefundId: u!.paytmRefundId,
        ...("reason" in t ? { reason: t.reason } : {}),
      },
    };
    await tx.insert(paymentEvents).values(event).onConflictDoNothing();

    let revoked = false;
    const rupees = paiseToRupees(r.amountPaise);
    const notes: NotifyInput[] = [];
    if (t.to === "completed") {
      if (order.refundedAmountPaise >= order.amountPaise) revoked = await revokeGrant(tx, order, r);
      notes.push({
        userId: order.userId,
        title: "Refund completed",
        message: `₹${rupees} for order ${order.paytmOrderId} has been refunded to your original payment method.${
          revoked
            ? order.purpose === "listing_fee"
              ? " The listing time this payment bought was withdrawn."
              : " The labour access this payment bought was withdrawn."
            : ""
        }`,
        type: "payment",
        data: { type: "refund_completed", orderId: order.paytmOrderId, refundId: r.id, screen: "notifications" },
        dedupKey: `refund-completed:${r.refId}`,
      });
    } else if (t.to === "failed") {
      notes.push({
        userId: order.userId,
        title: "Refund could not be processed",
        message: `The refund of ₹${rupees} for order ${order.paytmOrderId} could not be processed. Our team has been told and will contact you.`,
        type: "payment",
        data: { type: "refund_failed", orderId: order.paytmOrderId, refundId: r.id, screen: "notifications" },
        dedupKey: `refund-failed:${r.refId}`,
      });
      notes.push(...(await adminNotes(tx, r, order, "Refund failed", `Refund ${r.refId} (₹${rupees}) failed: ${t.reason}`)));
    } else if (t.to === "needs_attention") {
      await tx.insert(securityEvents).values({
        userId: order.userId,
        eventType: "refund_needs_attention",
        severity: "critical",
        metadata: {
          refundId: r.id,
          refId: r.refId,
          orderId: order.paytmOrderId,
          amountPaise: r.amountPaise,
          reason: t.reason,
          ...t.details,
        },
      });
      notes.push({
        userId: order.userId,
        title: "Refund delayed",
        message: `Your refund of ₹${rupees} for order ${order.paytmOrderId} is taking longer than usual. Our team is looking into it.`,
        type: "payment",
        data: { type: "refund_delayed", orderId: order.paytmOrderId, refundId: r.id, screen: "notifications" },
        dedupKey: `refund-delayed:${r.refId}`,
      });
      notes.push(...(await adminNotes(tx, r, order, "Refund needs attention", `Refund ${r.refId} (₹${rupees}): ${t.reason}`)));
    }
    if (notes.length > 0) await notifyMany(tx, notes);
    return { changed: true, status: t.to, refund: u!, order, revoked };
  });
}

/** Every live admin (capped: a handful in practice) hears about refunds that need a human. */
async function adminNotes(tx: TxDb, r: RefundRow, o: OrderRow, title: string, message: string): Promise<NotifyInput[]> {
  const admins = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, "admin"), isNull(users.deletedAt)))
    .orderBy(asc(users.createdAt))
    .limit(50);
  return admins.map((a) => ({
    userId: a.id,
    title,
    message,
    type: "system",
    data: { type: "refund_attention", orderId: o.paytmOrderId, refundId: r.id, refId: r.refId, screen: "notifications" },
    dedupKey: `refund-admin:${r.refId}:${r.status}->${title}:${a.id}`,
  }));
}

/**
 * A full refund takes back what the payment bought (explicit, and recorded as an event):
 * - listing fee: the listing's paid window shrinks by this order's window; if nothing is left the
 *   listing becomes `expired` (a deleted listing stays deleted);
 * - labour access: this order's access window is removed, and the windows bought after it move
 *   earlier by the part of it not yet used, so the weeks still paid for start at once and stay whole
 *   (labourAccessStatus and the bookings check read the same rows; a stranded future window would be
 *   "paid" but never "now"). The used part of a refunded week cannot be taken back; an admin who
 *   wants to charge for it refunds partially, which revokes nothing.
 * Idempotent: guarded by the `access_revoked:<order>` event, written once.
 */
async function revokeGrant(tx: TxDb, o: OrderRow, r: RefundRow): Promise<boolean> {
  if (!o.activatedAt) return false;
  const claimed = await tx
    .insert(paymentEvents)
    .values({
      orderId: o.id,
      refundId: r.id,
      source: "system",
      eventType: "access_revoked",
      dedupKey: `access_revoked:${o.paytmOrderId}`,
      payload: { purpose: o.purpose, grantedFrom: o.grantedFrom, grantedUntil: o.grantedUntil },
    })
    .onConflictDoNothing()
    .returning({ id: paymentEvents.id });
  if (claimed.length === 0) return false;
  if (o.purpose === "labour_access") {
    await revokeLabourWindow(tx, o);
    return true;
  }
  if (o.providerServiceId && o.grantedFrom && o.grantedUntil) {
    const window = Math.max(0, Math.round((o.grantedUntil.getTime() - o.grantedFrom.getTime()) / 1000));
    await tx.execute(sql`
      with cur as (
        select id, expires_at - make_interval(secs => ${window}) as new_end
          from provider_services where id = ${o.providerServiceId} and expires_at is not null and status <> 'deleted' for update)
      update provider_services ps
         set expires_at = greatest(cur.new_end, now()),
             status = case when ps.status = 'active' and cur.new_end <= now() then 'expired'::listing_status else ps.status end
        from cur where ps.id = cur.id`);
    return true;
  }
  return false;
}

async function revokeLabourWindow(tx: TxDb, o: OrderRow): Promise<void> {
  // The payment path's lock (applyPayment): a purchase racing this revocation would chain its window
  // from an end that is about to move.
  await tx.execute(sql`select 1 from users where id = ${o.userId} for no key update`);
  const { rows } = await tx.execute<{ expires_at: string; unused: string; ended: boolean }>(sql`
    delete from labour_access where order_id = ${o.id}
    returning to_json(expires_at)#>>'{}' as expires_at, (expires_at - greatest(starts_at, now()))::text as unused,
              expires_at <= now() as ended`);
  const gone = rows[0];
  if (!gone || gone.ended) return;
  const { rows: later } = await tx.execute<{ id: string }>(sql`
    select id from labour_access where user_id = ${o.userId} and starts_at >= ${gone.expires_at}::timestamptz
     order by starts_at for update`);
  // One row at a time, earliest first: labour_access_no_overlap is checked per row, and a later window
  // moved before its predecessor would overlap it.
  for (const w of later) {
    await tx.execute(sql`
      update labour_access set starts_at = starts_at - ${gone.unused}::interval, expires_at = expires_at - ${gone.unused}::interval
       where id = ${w.id}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Reads

export type RefundWithOrder = { refund: RefundRow; order: OrderRow };

export async function refundById(db: HttpDb, id: string): Promise<RefundWithOrder | null> {
  const [row] = await db
    .select({ refund: refunds, order: paymentOrders })
    .from(refunds)
    .innerJoin(paymentOrders, eq(paymentOrders.id, refunds.orderId))
    .where(eq(refunds.id, id))
    .limit(1);
  return row ?? null;
}

export async function refundByRefId(db: HttpDb, refId: string): Promise<RefundWithOrder | null> {
  const [row] = await db
    .select({ refund: refunds, order: paymentOrders })
    .from(refunds)
    .innerJoin(paymentOrders, eq(paymentOrders.id, refunds.orderId))
    .where(eq(refunds.refId, refId))
    .limit(1);
  return row ?? null;
}

/** An order and its refunds: one round trip (a batch of two reads). */
export async function orderRefunds(db: HttpDb, paytmOrderId: string) {
  const [[o], rows] = await db.batch([
    db.select().from(paymentOrders).where(eq(paymentOrders.paytmOrderId, paytmOrderId)).limit(1),
    db
      .select({ refund: refunds })
      .from(refunds)
      .innerJoin(paymentOrders, eq(paymentOrders.id, refunds.orderId))
      .where(eq(paymentOrders.paytmOrderId, paytmOrderId))
      .orderBy(asc(refunds.createdAt)),
  ]);
  if (!o) return null;
  return { order: o, refunds: rows.map((r) => r.refund) };
}

export function ledgerOf(o: OrderRow): Omit<RefundLedgerData, "refunds"> {
  const refundable = Math.max(0, o.amountPaise - o.refundedAmountPaise - o.refundsOpenPaise);
  return {
    orderId: o.paytmOrderId,
    orderStatus: o.status,
    amountPaise: o.amountPaise,
    refundedAmountPaise: o.refundedAmountPaise,
    refundsOpenPaise: o.refundsOpenPaise,
    refundablePaise: refundable,
    fullyRefunded: o.refundedAmountPaise >= o.amountPaise,
  };
}

export async function listRefunds(
  db: HttpDb,
  f: { status?: RefundStatus; orderId?: string; userId?: string; from?: string; to?: string; page: number; limit: number },
): Promise<AdminRefundsData> {
  const where = and(
    f.status ? eq(refunds.status, f.status) : undefined,
    f.orderId ? eq(paymentOrders.paytmOrderId, f.orderId) : undefined,
    f.userId ? eq(paymentOrders.userId, f.userId) : undefined,
    f.from ? gte(refunds.createdAt, new Date(f.from)) : undefined,
    f.to ? lte(refunds.createdAt, new Date(f.to)) : undefined,
  );
  // One round trip: the page and the total as a batch of two reads.
  const [rows, [total]] = await db.batch([
    db
      .select({ refund: refunds, order: paymentOrders })
      .from(refunds)
      .innerJoin(paymentOrders, eq(paymentOrders.id, refunds.orderId))
      .where(where)
      .orderBy(desc(refunds.createdAt))
      .limit(f.limit)
      .offset((f.page - 1) * f.limit),
    db.select({ n: sql<number>`count(*)::int` }).from(refunds).innerJoin(paymentOrders, eq(paymentOrders.id, refunds.orderId)).where(where),
  ]);
  const n = total?.n ?? 0;
  return {
    refunds: rows.map(({ refund, order }) => ({ ...toView(refund, order.paytmOrderId), userId: order.userId, purpose: order.purpose })),
    pagination: { currentPage: f.page, totalPages: Math.ceil(n / f.limit), total: n, limit: f.limit, hasMore: f.page * f.limit < n },
  };
}

/** Refunds whose status read is due (processing, and needs_attention now and then). */
export async function dueForPoll(db: HttpDb, limit: number) {
  return db
    .select({ id: refunds.id, paytmOrderId: paymentOrders.paytmOrderId })
    .from(refunds)
    .innerJoin(paymentOrders, eq(paymentOrders.id, refunds.orderId))
    .where(and(inArray(refunds.status, ["processing", "needs_attention"]), lte(refunds.nextCheckAt, sql`now()`)))
    .orderBy(asc(refunds.nextCheckAt))
    .limit(limit);
}

/**
 * Pending refunds nobody has touched for longer than the queue's longest backoff: their message
 * was lost (a failed send after commit, a purged queue). The cron enqueues them again.
 */
export async function strandedPending(db: HttpDb, idleMinutes: number, limit: number) {
  return db
    .select({ id: refunds.id })
    .from(refunds)
    .where(and(eq(refunds.status, "pending"), lte(refunds.updatedAt, sql`now() - make_interval(mins => ${idleMinutes})`)))
    .orderBy(asc(refunds.updatedAt))
    .limit(limit);
}

/** An operator (or the payments capability) gets this long to restore delivery before money goes back. */
export const AUTOMATIC_GRACE_MINUTES = 10;

/**
 * Paid orders the payments capability could not deliver (its `activation_skipped_*` event: the
 * listing was deleted while the payment was in flight) and that have no refund yet.
 */
export async function undeliveredWithoutRefund(db: HttpDb, limit: number) {
  const { rows } = await db.execute<{ paytm_order_id: string; event_type: string }>(sql`
    select o.paytm_order_id, e.event_type
      from payment_events e join payment_orders o on o.id = e.order_id
     where e.event_type like 'activation_skipped%'
       and o.status = 'paid' and o.activated_at is null
       and o.paid_at < now() - make_interval(mins => ${AUTOMATIC_GRACE_MINUTES})
       and not exists (select 1 from refunds r where r.order_id = o.id)
     order by e.created_at
     limit ${limit}`);
  return rows;
}
