import { DurableObject } from "cloudflare:workers";
import { createDb, type Db } from "../db/client";
import { type Config, loadConfig } from "../env";
import { migrateStorage, type StorageMigration } from "../lib/do-storage";
import { createLogger } from "../lib/log";
import { metric } from "../lib/metrics";
import type { OrderStatusResult } from "../paytm/client";
import { paytmClientFor } from "../paytm/from-config";
import {
  type ProcessOutcome,
  pollRefundStep,
  processRefundStep,
  type RefundNotice,
  type RefundStep,
  refundNoticeStep,
  requestRefundStep,
  retryRefundStep,
  type StepContext,
} from "../refunds/operations";
import type { RefundRequest, RequestOutcome } from "../refunds/service";
import { recordEvent, recordSecurityEvent } from "./audit";
import { orderByPaytmId, type PaymentOrderRow, TOKEN_TTL_MS } from "./orders";
import { applyPayment, type Grant, grantOfPaidOrder, markExpired, markFailed, markInitiated, scheduleNextCheck } from "./status";

const log = createLogger("info", { component: "payment-order" });

/**
 * PaymentOrder: owns the Paytm side of ONE payment order (named by its Paytm orderId). It
 * serializes everything that can touch the order (initiate, checkout, verify, browser callback,
 * S2S webhook, alarms, the reconciliation cron, refunds) and keeps in its SQLite storage:
 *   state     the order snapshot, the local phase, the txnToken and its deadline, a version for CAS
 *   attempts  every outbound Paytm call, written `in_flight` BEFORE the fetch (docs/payments.md §2.3:
 *             input gates do not cover fetch, so a crash or an interleaving must find the marker)
 *   seen      dedup keys of callbacks/webhooks already acted on (docs/payments.md §1.5: (orderId, STATUS))
 *
 * Phases (local view; Postgres is the system of record and its guards have the final word):
 *   new ──initiate──▶ initiating ──0000/0002──▶ awaiting_payment ──status TXN_SUCCESS──▶ paid
 *                        │ ambiguous/crash            │ status TXN_FAILURE ──▶ failed ──late success──▶ paid
 *                        ▼                            │ past deadline, Paytm has no payment ──▶ expired ──late success──▶ paid
 *                 initiate_unknown ──identical re-initiate (Paytm answers 0002 + same token)──▶ awaiting_payment
 *
 * Only a signed /v3/order/status read whose orderId, MID and amount match marks anything paid; the
 * callback and webhook are hints that trigger that read. Activation and the paid transition commit
 * in one Postgres transaction (status.ts applyPayment), so a database fault leaves the order open and
 * the alarm/cron re-drive it later.
 *
 * Refunds of the order run through the same `serial()` chain (requestRefund, processRefund,
 * pollRefund, refundNotice, retryRefund); their state lives in Postgres (src/refunds/).
 */

export type Phase = "new" | "initiating" | "initiate_unknown" | "awaiting_payment" | "paid" | "failed" | "expired";

type OrderSnapshot = {
  id: string;
  paytmOrderId: string;
  userId: string;
  purpose: PaymentOrderRow["purpose"];
  providerServiceId: string | null;
  amountPaise: number;
  validityDays: number;
  expiresAt: number;
};

type StateRow = {
  paytm_order_id: string;
  order_json: string;
  phase: Phase;
  version: number;
  txn_token: string | null;
  token_expires_at: number | null;
  grant_json: string | null;
  checks: number;
  last_status_at: number | null;
  last_status_json: string | null;
};

export type InitiateOutcome =
  | { kind: "token"; txnToken: string; tokenExpiresAt: number }
  | { kind: "closed"; phase: "paid" | "failed" | "expired" }
  /** Paytm is reached but a bank payment is in progress: do not open another order. */
  | { kind: "in_progress" }
  | { kind: "unavailable"; retryAfterSec: number; reason: string }
  | { kind: "declined"; message: string };

export type ConfirmOutcome =
  | { kind: "paid"; grant: Grant }
  | { kind: "pending"; retryAfterSec: number; bankPending: boolean }
  | { kind: "failed"; resultCode: string; resultMsg: string }
  | { kind: "expired" }
  | { kind: "mismatch"; reason: string }
  | { kind: "unavailable"; retryAfterSec: number; reason: string }
  /** Paytm confirmed the money but the database transaction failed: reconciliation will apply it. */
  | { kind: "activation_failed"; retryAfterSec: number };

export type NotificationInput = {
  source: "callback" | "webhook";
  status: "TXN_SUCCESS" | "TXN_FAILURE" | "PENDING";
  mid: string;
  txnId?: string;
  amountPaise: number | null;
  ip: string | null;
};

export type NotificationOutcome = { duplicate: boolean; result: ConfirmOutcome | null };

type AttemptView = { id: number; kind: string; trigger: string; state: string; started_at: number; finished_at: number | null };

type Trigger = "verify" | "callback" | "webhook" | "alarm" | "cron" | "initiate" | "checkout";

const MIGRATIONS: StorageMigration[] = [
  `CREATE TABLE state (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     paytm_order_id TEXT NOT NULL,
     order_json TEXT NOT NULL,
     phase TEXT NOT NULL,
     version INTEGER NOT NULL DEFAULT 0,
     txn_token TEXT,
     token_expires_at INTEGER,
     grant_json TEXT,
     checks INTEGER NOT NULL DEFAULT 0,
     last_status_at INTEGER,
     last_status_json TEXT
   );
   CREATE TABLE attempts (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     kind TEXT NOT NULL CHECK (kind IN ('initiate', 'status')),
     trigger TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('in_flight', 'done', 'ambiguous')),
     request_json TEXT,
     result_json TEXT,
     started_at INTEGER NOT NULL,
     finished_at INTEGER
   );
   CREATE TABLE seen (dedup_key TEXT PRIMARY KEY, received_at INTEGER NOT NULL);`,
];

/** Verify-triggered status reads within this window reuse the last answer (per-order read budget). */
const STATUS_REUSE_MS = 2_000;
/** Per-order verify limit (exact, unlike the per-location rate-limit binding). */
const VERIFY_LIMIT_PER_MINUTE = 60;
const ALARM_BACKOFF_MS = [30_000, 60_000, 120_000, 240_000, 480_000, 900_000, 1_800_000];
/** A bank-pending payment is polled this long past the order deadline before the alarm stops (the cron continues). */
const POLL_HORIZON_MS = 72 * 3_600_000;

export class PaymentOrder extends DurableObject<Env> {
  private chain: Promise<unknown> = Promise.resolve();
  private verifyWindow: number[] = [];
  /** The running operation's database handle (one per operation, see `serial`). */
  private opDb: Db | undefined;
  /** Database round trips of the last finished operation of each kind, on its own handle (not the request's). */
  private dbRoundTrips: Record<string, number> = {};

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateStorage(ctx.storage, MIGRATIONS);
  }

  // --- public RPC ----------------------------------------------------------------------------

  /**
   * Get (or reuse) the txnToken for checkout. Exactly one initiate call per order reaches Paytm.
   * `known`: the order row the caller just read from Postgres, used instead of reading it again when
   * this object has no state yet (its facts are immutable; its status is what Postgres said).
   */
  initiate(paytmOrderId: string, known?: PaymentOrderRow): Promise<InitiateOutcome> {
    return this.serial(paytmOrderId, "initiate", (s) => this.doInitiate(s, "initiate"), known);
  }

  /** The checkout page's token; never starts a second payment for a closed order. */
  checkoutToken(paytmOrderId: string): Promise<InitiateOutcome> {
    return this.serial(paytmOrderId, "checkout", (s) => this.doInitiate(s, "checkout"));
  }

  /** The app's verify: confirm with /v3/order/status and apply. Idempotent. */
  verify(paytmOrderId: string): Promise<ConfirmOutcome | { kind: "rate_limited"; retryAfterSec: number }> {
    const now = Date.now();
    this.verifyWindow = this.verifyWindow.filter((t) => t > now - 60_000);
    if (this.verifyWindow.length >= VERIFY_LIMIT_PER_MINUTE) {
      const oldest = this.verifyWindow[0] ?? now;
      return Promise.resolve({ kind: "rate_limited", retryAfterSec: Math.max(1, Math.ceil((oldest + 60_000 - now) / 1000)) });
    }
    this.verifyWindow.push(now);
    return this.serial(paytmOrderId, "verify", (s) => this.confirm(s, "verify"));
  }

  /**
   * A checksum-verified callback or webhook. Deduplicated on (source, STATUS); a new one triggers a
   * status read (never trusted alone: browser callbacks are replayable and carry no nonce).
   */
  notification(paytmOrderId: string, n: NotificationInput): Promise<NotificationOutcome> {
    return this.serial(paytmOrderId, n.source, async (s) => {
      const key = `${n.source}:${n.status}`;
      const seen = this.ctx.storage.sql.exec("SELECT 1 FROM seen WHERE dedup_key = ?", key).toArray().length > 0;
      const order = this.order(s);
      const db = this.db();
      if (seen) {
        this.ctx.waitUntil(
          recordSecurityEvent(this.backgroundDb().http, {
            kind: "replay",
            orderId: order.id,
            paytmOrderId: order.paytmOrderId,
            ip: n.ip,
            details: { source: n.source, status: n.status },
          }).catch(() => undefined),
        );
        return { duplicate: true, result: null };
      }
      const cfg = this.config();
      const mismatch = n.mid !== cfg.PAYTM_MID ? "mid" : n.amountPaise !== null && n.amountPaise !== order.amountPaise ? "amount" : null;
      await recordEvent(db.http, {
        orderId: order.id,
        source: n.source,
        eventType: `${n.source}_received`,
        dedupKey: `${n.source}:${order.paytmOrderId}:${n.status}`,
        payload: { status: n.status, txnId: n.txnId ?? null, amountPaise: n.amountPaise, mismatch },
      });
      if (mismatch) {
        await recordSecurityEvent(db.http, {
          kind: mismatch === "mid" ? "mid_mismatch" : "amount_mismatch",
          orderId: order.id,
          paytmOrderId: order.paytmOrderId,
          ip: n.ip,
          details: { source: n.source, reportedAmountPaise: n.amountPaise, expectedAmountPaise: order.amountPaise },
        });
      }
      const result = s.phase === "paid" ? await this.paidOutcome(s) : await this.confirm(s, n.source, true);
      this.ctx.storage.sql.exec("INSERT OR IGNORE INTO seen (dedup_key, received_at) VALUES (?, ?)", key, Date.now());
      return { duplicate: false, result };
    });
  }

  /** Reconciliation (cron): re-read status and apply; expire unpaid orders past their deadline. */
  reconcile(paytmOrderId: string): Promise<ConfirmOutcome> {
    return this.serial(paytmOrderId, "reconcile", (s) => this.confirm(s, "cron", true));
  }

  // Refunds: request, queue step, poll, webhook notice, admin retry. They run in this order's serial
  // chain, so no refund step overlaps another or a payment step; the rules live in
  // src/refunds/operations.ts. Each is counted under `refund:<step>` in `inspect().dbRoundTrips`.

  /** Validate and record a refund of this order (a repeat of an open request returns that refund). */
  requestRefund(paytmOrderId: string, request: RefundRequest): Promise<RequestOutcome> {
    return this.serial(paytmOrderId, "refund:request", () => requestRefundStep(this.refundStep(), request));
  }

  /** The refunds queue's step: get the refund registered at Paytm exactly once. */
  processRefund(paytmOrderId: string, refundId: string): Promise<ProcessOutcome> {
    return this.serial(paytmOrderId, "refund:process", () => processRefundStep(this.refundStep(), refundId));
  }

  /** The cron's status read of a registered (or stuck) refund. */
  pollRefund(paytmOrderId: string, refundId: string): Promise<RefundStep> {
    return this.serial(paytmOrderId, "refund:poll", () => pollRefundStep(this.refundStep(), refundId));
  }

  /** A verified refund webhook: a trigger for a status read. */
  refundNotice(paytmOrderId: string, notice: RefundNotice): Promise<RefundStep> {
    return this.serial(paytmOrderId, "refund:notice", () => refundNoticeStep(this.refundStep(), notice));
  }

  /** An admin re-drives a refund that needs attention (same refId). */
  retryRefund(paytmOrderId: string, refundId: string, actorId: string): Promise<RefundStep> {
    return this.serial(paytmOrderId, "refund:retry", () => retryRefundStep(this.refundStep(), refundId, actorId));
  }

  /** Test and operator view of the local state. */
  inspect(): { phase: Phase | null; version: number; attempts: AttemptView[]; seen: string[]; dbRoundTrips: Record<string, number> } {
    const s = this.state();
    return {
      phase: s?.phase ?? null,
      version: s?.version ?? 0,
      dbRoundTrips: { ...this.dbRoundTrips },
      attempts: this.ctx.storage.sql
        .exec<AttemptView>("SELECT id, kind, trigger, state, started_at, finished_at FROM attempts ORDER BY id")
        .toArray(),
      seen: this.ctx.storage.sql
        .exec("SELECT dedup_key FROM seen ORDER BY dedup_key")
        .toArray()
        .map((r) => String(r.dedup_key)),
    };
  }

  override async alarm(): Promise<void> {
    const s = this.state();
    if (!s || s.phase === "paid" || s.phase === "failed" || s.phase === "expired") return;
    await this.serial(s.paytm_order_id, "alarm", (st) => this.confirm(st, "alarm", true));
  }

  // --- serialization and state ---------------------------------------------------------------

  /**
   * One operation at a time, in arrival order, across awaits on Paytm and Postgres (an explicit
   * promise chain rather than blockConcurrencyWhile, whose 30 s limit resets the object). Each
   * operation has one database handle of its own (its round trips are counted for `inspect`);
   * background writes (API logs, replay events) use another, so they never outlive it.
   */
  private serial<T>(paytmOrderId: string, op: string, fn: (s: StateRow) => Promise<T>, known?: PaymentOrderRow): Promise<T> {
    const run = this.chain.then(async () => {
      const db = createDb(this.config());
      this.opDb = db;
      try {
        const s = await this.load(paytmOrderId, known);
        this.recoverInterrupted(s);
        return await fn(this.state() ?? s);
      } finally {
        this.opDb = undefined;
        this.dbRoundTrips[op] = db.roundTrips();
        await db.close();
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private state(): StateRow | null {
    const rows = this.ctx.storage.sql.exec<StateRow>("SELECT * FROM state WHERE id = 1").toArray();
    return rows[0] ?? null;
  }

  private order(s: StateRow): OrderSnapshot {
    return JSON.parse(s.order_json) as OrderSnapshot;
  }

  private config(): Config {
    return loadConfig(this.env);
  }

  /** The running operation's handle (see `serial`). */
  private db(): Db {
    if (!this.opDb) throw new Error("PaymentOrder: database used outside an operation");
    return this.opDb;
  }

  /** What a refund step runs with: this operation's handle, and this object's context for writes that outlive it. */
  private refundStep(): StepContext {
    return { env: this.env, ctx: this.ctx, db: this.db() };
  }

  /** For writes handed to waitUntil: they may finish after the operation's handle closed. */
  private backgroundDb(): Db {
    return createDb(this.config());
  }

  /**
   * First use: the immutable order facts come from Postgres (its guard trigger keeps them immutable),
   * or from the row the caller has just read there.
   */
  private async load(paytmOrderId: string, known?: PaymentOrderRow): Promise<StateRow> {
    const existing = this.state();
    if (existing) {
      if (existing.paytm_order_id !== paytmOrderId) throw new Error("PaymentOrder: called under a different order id");
      return existing;
    }
    const row = known?.paytmOrderId === paytmOrderId ? known : await orderByPaytmId(this.db().http, paytmOrderId);
    if (!row) throw new Error(`PaymentOrder: unknown order ${paytmOrderId}`);
    const snapshot: OrderSnapshot = {
      id: row.id,
      paytmOrderId: row.paytmOrderId,
      userId: row.userId,
      purpose: row.purpose,
      providerServiceId: row.providerServiceId,
      amountPaise: row.amountPaise,
      validityDays: row.validityDays,
      expiresAt: new Date(row.expiresAt).getTime(),
    };
    const phase: Phase = row.status === "paid" ? "paid" : row.status === "failed" ? "failed" : row.status === "expired" ? "expired" : "new";
    // A pending order whose storage was lost: its token is unknown, so an identical re-initiate fetches it (0002).
    const local: Phase = row.status === "pending" ? "initiate_unknown" : phase;
    this.ctx.storage.sql.exec(
      "INSERT OR IGNORE INTO state (id, paytm_order_id, order_json, phase) VALUES (1, ?, ?, ?)",
      paytmOrderId,
      JSON.stringify(snapshot),
      local,
    );
    return this.state()!;
  }

  /** Compare-and-set on the state row: a stale writer (version moved) changes nothing. */
  private transition(s: StateRow, patch: Partial<Omit<StateRow, "version" | "paytm_order_id" | "order_json">>): StateRow {
    const cols = Object.keys(patch) as (keyof typeof patch)[];
    const sets = cols.map((c) => `${c} = ?`).join(", ");
    const values = cols.map((c) => patch[c] ?? null);
    const cursor = this.ctx.storage.sql.exec(
      `UPDATE state SET ${sets}${sets ? ", " : ""}version = version + 1 WHERE id = 1 AND version = ?`,
      ...values,
      s.version,
    );
    if (cursor.rowsWritten !== 1) throw new Error("PaymentOrder: concurrent state change");
    return this.state()!;
  }

  /** An attempt still `in_flight` when an operation starts was cut off (eviction, crash): its outcome is unknown. */
  private recoverInterrupted(s: StateRow): void {
    const stale = this.ctx.storage.sql.exec("SELECT id, kind FROM attempts WHERE state = 'in_flight'").toArray();
    if (stale.length === 0) return;
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec("UPDATE attempts SET state = 'ambiguous', finished_at = ? WHERE state = 'in_flight'", Date.now());
      if (s.phase === "initiating") this.transition(s, { phase: "initiate_unknown" });
    });
  }

  private beginAttempt(kind: "initiate" | "status", trigger: Trigger, request: unknown): number {
    const cursor = this.ctx.storage.sql.exec<{ id: number }>(
      "INSERT INTO attempts (kind, trigger, state, request_json, started_at) VALUES (?, ?, 'in_flight', ?, ?) RETURNING id",
      kind,
      trigger,
      JSON.stringify(request ?? null),
      Date.now(),
    );
    return Number(cursor.one().id);
  }

  private finishAttempt(id: number, ambiguous: boolean, result: unknown): void {
    this.ctx.storage.sql.exec(
      "UPDATE attempts SET state = ?, result_json = ?, finished_at = ? WHERE id = ? AND state = 'in_flight'",
      ambiguous ? "ambiguous" : "done",
      JSON.stringify(result ?? null).slice(0, 4000),
      Date.now(),
      id,
    );
  }

  // --- initiate ------------------------------------------------------------------------------

  private async doInitiate(s: StateRow, trigger: Trigger): Promise<InitiateOutcome> {
    const order = this.order(s);
    if (s.phase === "paid" || s.phase === "failed" || s.phase === "expired") return { kind: "closed", phase: s.phase };
    if (s.phase === "awaiting_payment" && s.txn_token && (s.token_expires_at ?? 0) > Date.now()) {
      return { kind: "token", txnToken: s.txn_token, tokenExpiresAt: s.token_expires_at ?? 0 };
    }
    if (s.phase === "awaiting_payment" || Date.now() > order.expiresAt) {
      // The token ran out: the order cannot be paid any more unless a payment already started.
      // Ask Paytm, and close the order if nobody paid, so the caller can open a fresh one.
      const r = await this.confirm(s, trigger, true, true);
      if (r.kind === "paid") return { kind: "closed", phase: "paid" };
      if (r.kind === "failed") return { kind: "closed", phase: "failed" };
      if (r.kind === "expired") return { kind: "closed", phase: "expired" };
      if (r.kind === "pending" && r.bankPending) return { kind: "in_progress" };
      return { kind: "unavailable", retryAfterSec: 5, reason: r.kind };
    }

    // new | initiate_unknown: the request is built only from immutable order facts and config, so a
    // retry after an ambiguous answer is byte-identical and Paytm answers 0002 with the same token.
    const cfg = this.config();
    const request = {
      orderId: order.paytmOrderId,
      amountPaise: order.amountPaise,
      customerId: order.userId,
      callbackUrl: `${cfg.PUBLIC_BASE_URL.replace(/\/+$/, "")}/api/payments/paytm-callback`,
      merchantUniqueRef: order.id,
    };
    let st = this.transition(s, { phase: "initiating" });
    const attempt = this.beginAttempt("initiate", trigger, request); // persisted before the fetch
    const { client, flush } = paytmClientFor(this.config(), this.ctx, { orderId: order.id });
    const r = await client.initiateTransaction(request);
    flush();
    this.finishAttempt(attempt, !r.ok && r.kind === "ambiguous", r.ok ? { ...r, txnToken: "[stored]" } : r);
    st = this.state()!;
    if (r.ok) {
      const tokenExpiresAt = Math.min(Date.now() + TOKEN_TTL_MS, order.expiresAt);
      this.transition(st, { phase: "awaiting_payment", txn_token: r.txnToken, token_expires_at: tokenExpiresAt });
      await markInitiated(this.db().http, order.id, order.paytmOrderId, r.resultCode);
      await this.armAlarm(0);
      return { kind: "token", txnToken: r.txnToken, tokenExpiresAt };
    }
    switch (r.kind) {
      case "ambiguous":
      case "circuit_open":
      case "duplicate":
      case "invalid_signature": {
        // We cannot tell whether Paytm created the order: stay unknown; the next call (app retry,
        // alarm) re-sends the identical request or reads the status with the same orderId.
        this.transition(st, { phase: "initiate_unknown" });
        await this.armAlarm(0);
        const retryAfterSec = r.kind === "circuit_open" ? Math.max(1, Math.ceil(r.retryAfterMs / 1000)) : 5;
        return { kind: "unavailable", retryAfterSec, reason: r.kind };
      }
      case "declined":
      case "not_found": {
        // Paytm refused the request (nothing exists on its side): the order can never be paid.
        this.transition(st, { phase: "failed" });
        await markFailed(this.db(), order.id, {
          resultCode: r.resultCode,
          resultMsg: r.resultMsg,
          trigger: "initiate",
          raw: { initiate: r },
        });
        metric("payment.outcome", { purpose: order.purpose, outcome: "failed", source: "initiate", resultCode: r.resultCode });
        return { kind: "declined", message: r.resultMsg || "Payment gateway declined the request" };
      }
    }
  }

  // --- confirm: the only path to "paid" --------------------------------------------------------

  private async paidOutcome(s: StateRow): Promise<ConfirmOutcome> {
    if (s.grant_json) return { kind: "paid", grant: { ...(JSON.parse(s.grant_json) as Grant), alreadyProcessed: true } };
    const grant = await grantOfPaidOrder(this.db().http, this.order(s).id);
    if (grant) return { kind: "paid", grant };
    return { kind: "activation_failed", retryAfterSec: 30 };
  }

  /**
   * Read /v3/order/status and apply it. `fresh` forces a read (hints, alarms, cron); a verify may
   * reuse an answer younger than STATUS_REUSE_MS, so a burst of verifies costs Paytm one read.
   * `forExpiry`: the caller wants an unpaid, tokenless order closed now (initiate after token expiry).
   */
  private async confirm(s: StateRow, trigger: Trigger, fresh = false, forExpiry = false): Promise<ConfirmOutcome> {
    const order = this.order(s);
    if (s.phase === "paid") return this.paidOutcome(s);

    let r: OrderStatusResult;
    const reuse = !fresh && s.last_status_json && s.last_status_at && Date.now() - s.last_status_at < STATUS_REUSE_MS;
    if (reuse) {
      r = JSON.parse(s.last_status_json!) as OrderStatusResult;
    } else {
      const attempt = this.beginAttempt("status", trigger, { orderId: order.paytmOrderId });
      const { client, flush } = paytmClientFor(this.config(), this.ctx, { orderId: order.id });
      r = await client.orderStatus(order.paytmOrderId);
      flush();
      this.finishAttempt(attempt, !r.ok && r.kind === "ambiguous", r);
      s = this.transition(this.state()!, { last_status_at: Date.now(), last_status_json: JSON.stringify(r), checks: s.checks + 1 });
    }
    const db = this.db();

    if (r.ok && r.status === "TXN_SUCCESS") {
      const cfg = this.config();
      const mid = typeof r.body.mid === "string" ? r.body.mid : "";
      const problem =
        r.orderId !== order.paytmOrderId
          ? "order_mismatch"
          : mid !== cfg.PAYTM_MID
            ? "mid_mismatch"
            : r.amountPaise !== order.amountPaise
              ? "amount_mismatch"
              : !r.txnId
                ? "order_mismatch"
                : !r.signed
                  ? "forged_checksum"
                  : null;
      if (problem) {
        // Money may have moved, but not the money this order asked for: never activate; flag it.
        await recordSecurityEvent(db.http, {
          kind: problem,
          orderId: order.id,
          paytmOrderId: order.paytmOrderId,
          details: { trigger, reportedAmountPaise: r.amountPaise, expectedAmountPaise: order.amountPaise, mid, txnId: r.txnId ?? null },
        });
        // Left for an operator (the order stays open); look again hourly rather than on every cron tick.
        await scheduleNextCheck(db.http, order.id, 3_600_000).catch(() => undefined);
        metric("payment.outcome", { purpose: order.purpose, outcome: "flagged", source: trigger, reason: problem });
        return { kind: "mismatch", reason: problem };
      }
      try {
        const grant = await applyPayment(db, order.id, {
          txnId: r.txnId!,
          bankTxnId: r.bankTxnId,
          paymentMode: r.paymentMode,
          resultCode: r.resultCode,
          resultMsg: r.resultMsg,
          amountPaise: r.amountPaise!,
          trigger,
          raw: r.body,
        });
        this.transition(this.state()!, {
          phase: "paid",
          grant_json: JSON.stringify({ ...grant, alreadyProcessed: false }),
          txn_token: null,
        });
        await this.ctx.storage.deleteAlarm();
        metric("payment.outcome", { purpose: order.purpose, outcome: "paid", source: trigger, amountPaise: order.amountPaise });
        if (grant.duplicateOf) await this.refundDuplicate(order, grant.duplicateOf);
        return { kind: "paid", grant };
      } catch (err) {
        // Nothing committed (one transaction). Keep the order open and come back soon.
        log.error("payment activation failed; will reconcile", {
          orderId: order.paytmOrderId,
          error: err instanceof Error ? err.message : String(err),
        });
        await this.ctx.storage.setAlarm(Date.now() + ALARM_BACKOFF_MS[0]!);
        await scheduleNextCheck(db.http, order.id, ALARM_BACKOFF_MS[0]!).catch(() => undefined);
        return { kind: "activation_failed", retryAfterSec: 30 };
      }
    }

    if (r.ok && r.status === "TXN_FAILURE") {
      await markFailed(db, order.id, { resultCode: r.resultCode, resultMsg: r.resultMsg, trigger, raw: r.body });
      metric("payment.outcome", { purpose: order.purpose, outcome: "failed", source: trigger, resultCode: r.resultCode });
      this.transition(this.state()!, { phase: "failed", txn_token: null });
      await this.ctx.storage.deleteAlarm();
      return { kind: "failed", resultCode: r.resultCode, resultMsg: r.resultMsg };
    }

    if (!r.ok && r.kind === "invalid_signature") {
      await recordSecurityEvent(db.http, {
        kind: "forged_checksum",
        orderId: order.id,
        paytmOrderId: order.paytmOrderId,
        details: { source: "status_api", trigger, resultCode: r.resultCode ?? null },
      });
    }

    // PENDING, not found, ambiguous, circuit open, declined read: not a conclusion.
    const bankPending = r.ok && r.status === "PENDING" && Boolean(r.txnId);
    const unpaid = (r.ok && r.status === "PENDING" && !r.txnId) || (!r.ok && r.kind === "not_found");
    const tokenGone = s.phase !== "awaiting_payment" || (s.token_expires_at ?? 0) <= Date.now();
    // The deadline is read from Postgres (the system of record; an operator may move it), not the snapshot.
    const deadline = unpaid
      ? ((await orderByPaytmId(db.http, order.paytmOrderId))?.expiresAt.getTime() ?? order.expiresAt)
      : order.expiresAt;
    if (unpaid && (Date.now() > deadline || (forExpiry && tokenGone))) {
      await markExpired(db.http, order.id, order.paytmOrderId, forExpiry ? "token expired before payment" : "deadline passed unpaid");
      metric("payment.outcome", { purpose: order.purpose, outcome: "expired", source: trigger });
      this.transition(this.state()!, { phase: "expired", txn_token: null });
      await this.ctx.storage.deleteAlarm();
      return { kind: "expired" };
    }
    const delay = await this.armAlarm(s.checks);
    if (trigger === "alarm" || trigger === "cron") await scheduleNextCheck(db.http, order.id, delay).catch(() => undefined);
    if (r.ok || r.kind === "not_found") return { kind: "pending", retryAfterSec: 30, bankPending };
    if (r.kind === "circuit_open")
      return { kind: "unavailable", retryAfterSec: Math.max(1, Math.ceil(r.retryAfterMs / 1000)), reason: r.kind };
    return { kind: "unavailable", retryAfterSec: 10, reason: r.kind };
  }

  /**
   * A second payment for a purchase that was already paid: refund it now (the refunds cron sweeps
   * anything this misses after its grace period). Called inside this object's serial chain, so it
   * uses the refund operation directly instead of this object's own stub.
   */
  private async refundDuplicate(order: OrderSnapshot, duplicateOf: string): Promise<void> {
    metric("payment.outcome", { purpose: order.purpose, outcome: "duplicate", source: "apply", duplicateOf });
    try {
      await requestRefundStep(this.refundStep(), {
        paytmOrderId: order.paytmOrderId,
        reason: "duplicate_payment",
        actor: { kind: "system" },
      });
    } catch (err) {
      log.error("automatic refund of a duplicate payment failed; the refunds cron will retry", {
        orderId: order.paytmOrderId,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  /** Re-query non-terminal orders with backoff (at-least-once alarms; every handler is idempotent). */
  private async armAlarm(checks: number): Promise<number> {
    const s = this.state();
    const delay = ALARM_BACKOFF_MS[Math.min(checks, ALARM_BACKOFF_MS.length - 1)]!;
    if (s && Date.now() > this.order(s).expiresAt + POLL_HORIZON_MS) {
      await this.ctx.storage.deleteAlarm();
      return delay;
    }
    await this.ctx.storage.setAlarm(Date.now() + delay);
    return delay;
  }
}
