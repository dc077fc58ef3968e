// Local Paytm PG sandbox: speaks Paytm's wire format and checksum (docs/payments.md §1) so the API, the app's
// WebView flow and the tests can run without Paytm. A pure `(Request) => Promise<Response>` handler
// with in-memory state: server.ts wraps it in node:http. It signs and verifies with the worker's own
// Paytm modules (src/paytm/), but is development tooling and never part of the worker bundle.
//
// Time-based transitions (pending payments, async refunds) are applied lazily on every request and
// on tick(), so there are no background timers to leak; the host calls tick() to push webhooks.
//
// Result codes follow docs/payments.md §1.2/§1.6/§1.7 where a source exists; the rest are marked
// "sandbox" below and must not be relied on by production code (match on resultStatus instead).

import { z } from "zod";
import { paiseToRupees, rupeesToPaise } from "../../src/paytm/amount.ts";
import { generateSignature, verifySignature } from "../../src/paytm/checksum.ts";
import { rawJsonMember, signedEnvelope } from "../../src/paytm/envelope.ts";

export type SandboxEndpoint =
  | "initiateTransaction"
  | "showPaymentPage"
  | "checkoutJs"
  | "pay"
  | "orderStatus"
  | "refundApply"
  | "refundStatus";

/** Endpoints that accept injected faults (the JSON APIs our client calls). */
export type FaultableEndpoint = "initiateTransaction" | "orderStatus" | "refundApply" | "refundStatus";
export type PaymentOutcome = "success" | "failure" | "pending";
export type FaultMode = "timeout" | "http_500" | "http_502" | "http_503" | "malformed_json" | "bad_signature";

export interface SandboxBehaviour {
  /** txnToken lifetime (Paytm: 15 minutes, docs/payments.md §1.2). */
  tokenTtlMs: number;
  /** Delay before an accepted refund settles. */
  refundDelayMs: number;
  refundOutcome: "success" | "failure";
  /** Outcome of the page's main "Pay" button when no preset exists. */
  defaultOutcome: PaymentOutcome;
  /** Status read for an initiated order nobody paid yet: PENDING (402) or not found (331). */
  unpaidStatus: "pending" | "not_found";
  /** Also send the S2S webhook when a payment goes PENDING (a later final one always follows). */
  webhookOnPending: boolean;
  /** Added latency on every Paytm API response. */
  responseDelayMs: number;
  /** How long a `timeout` fault holds the response. */
  hangMs: number;
  webhookMaxAttempts: number;
  webhookRetryMs: number;
}

export const DEFAULT_SANDBOX_BEHAVIOUR: SandboxBehaviour = {
  tokenTtlMs: 15 * 60_000,
  refundDelayMs: 1_000,
  refundOutcome: "success",
  defaultOutcome: "success",
  unpaidStatus: "pending",
  webhookOnPending: true,
  responseDelayMs: 0,
  hangMs: 60_000,
  webhookMaxAttempts: 5,
  webhookRetryMs: 1_000,
};

export interface OutcomePreset {
  outcome: PaymentOutcome;
  /** For `pending`: settle to this after `resolveAfterMs` (else it waits for /complete). */
  thenOutcome?: "success" | "failure";
  resolveAfterMs?: number;
  respCode?: string;
  respMsg?: string;
  paymentMode?: string;
}

export interface RefundPreset {
  outcome: "success" | "failure";
  delayMs?: number;
  reason?: string;
}

export interface FaultSpec {
  endpoint: FaultableEndpoint;
  mode: FaultMode;
  /** How many consecutive calls to fail. Default 1. */
  count?: number;
  /**
   * Whether the call takes effect before the fault: true models "Paytm did it, the answer was lost".
   * Defaults: timeout, malformed_json, bad_signature → true; http_5xx → false.
   */
  applied?: boolean;
  /** timeout only: override behaviour.hangMs. */
  hangMs?: number;
  /** Only calls for this order fail (tests running in parallel share one sandbox). Default: any order. */
  orderId?: string;
  /** initiateTransaction only: only initiates for this customer (body.userInfo.custId) fail. */
  custId?: string;
}

export interface SandboxWebhook {
  id: number;
  kind: "payment" | "refund";
  orderId: string;
  refId?: string;
  status: string;
  url?: string;
  contentType: string;
  body: string;
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
}

export interface SandboxOrderSnapshot {
  mid: string;
  orderId: string;
  amount: string;
  amountPaise: number;
  custId: string;
  callbackUrl: string;
  txnToken: string;
  tokenExpiresAt: number;
  tokenUsed: boolean;
  status: "CREATED" | "PENDING" | "TXN_SUCCESS" | "TXN_FAILURE";
  txnId?: string;
  bankTxnId?: string;
  respCode?: string;
  respMsg?: string;
  refundedPaise: number;
  resolveAt?: number;
}

export interface SandboxRefundSnapshot {
  mid: string;
  orderId: string;
  refId: string;
  refundId: string;
  txnId: string;
  amountPaise: number;
  status: "PENDING" | "TXN_SUCCESS" | "TXN_FAILURE";
  completeAt: number;
  outcome: "success" | "failure";
  reason?: string;
}

export interface SandboxStats {
  calls: Record<SandboxEndpoint, number>;
  callsByOrder: Record<string, Partial<Record<SandboxEndpoint, number>>>;
  callsByRefId: Record<string, Partial<Record<SandboxEndpoint, number>>>;
  webhooks: { queued: number; delivered: number; failed: number };
  faults: (FaultSpec & { remaining: number })[];
}

export interface CallbackForm {
  callbackUrl: string;
  /** Exactly what the browser posts, CHECKSUMHASH included. */
  fields: Record<string, string>;
  /** application/x-www-form-urlencoded encoding of `fields` ('+' in the checksum is %2B). */
  formBody: string;
  status: "TXN_SUCCESS" | "TXN_FAILURE" | "PENDING";
}

export interface PaytmSandboxOptions {
  /** MID → merchant key, or {key, website} to also enforce websiteName (wrong one → 501, docs/payments.md §1.1). */
  merchants: Record<string, string | { key: string; website?: string }>;
  webhookUrl?: string;
  refundWebhookUrl?: string;
  behaviour?: Partial<SandboxBehaviour>;
  /** Used to deliver webhooks. */
  fetch?: typeof fetch;
  now?: () => number;
}

export interface PaytmSandbox {
  handle(request: Request): Promise<Response>;
  /** Apply due transitions and deliver due webhooks. */
  tick(): Promise<void>;
  stats(): SandboxStats;
  reset(): void;
  /** Webhooks not yet delivered (all of them when no URL is configured). */
  pendingWebhooks(): SandboxWebhook[];
  /** Remove and return undelivered webhooks, for a test to deliver itself. */
  takePendingWebhooks(): SandboxWebhook[];
  deliveredWebhooks(): SandboxWebhook[];
  setBehaviour(patch: Partial<SandboxBehaviour>): SandboxBehaviour;
  injectFault(fault: FaultSpec): void;
  clearFaults(): void;
  setOrderOutcome(orderId: string, preset: OutcomePreset): void;
  setRefundOutcome(refId: string, preset: RefundPreset): void;
  /** What the tester's click does: settle the order and return the signed callback form. */
  pay(orderId: string, outcome?: PaymentOutcome, mid?: string): Promise<CallbackForm>;
  completePayment(orderId: string, outcome: "success" | "failure", mid?: string): Promise<SandboxOrderSnapshot>;
  completeRefund(refId: string, outcome?: "success" | "failure"): Promise<SandboxRefundSnapshot>;
  getOrder(orderId: string, mid?: string): SandboxOrderSnapshot | undefined;
  getRefund(refId: string): SandboxRefundSnapshot | undefined;
  /** Release hung responses (timeout faults). */
  close(): void;
}

export class SandboxError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "SandboxError";
    this.status = status;
  }
}

// ---------------------------------------------------------------------------------------------

interface OrderState extends SandboxOrderSnapshot {
  websiteName: string;
  initiateBody: string;
  paymentMode: string;
  gatewayName: string;
  bankName: string;
  txnDate?: string;
  resolveOutcome?: "success" | "failure";
  mercUnqRef?: string;
}

interface RefundState extends SandboxRefundSnapshot {
  requestedAt: number;
}

interface FaultState extends FaultSpec {
  remaining: number;
}

interface Reply {
  status: number;
  contentType: string;
  body: string;
}

const ENDPOINTS: SandboxEndpoint[] = [
  "initiateTransaction",
  "showPaymentPage",
  "checkoutJs",
  "pay",
  "orderStatus",
  "refundApply",
  "refundStatus",
];

const ORDER_ID = /^[A-Za-z0-9@._-]{1,50}$/;
const JSON_TYPE = "application/json";
const HTML_TYPE = "text/html; charset=utf-8";

const RESP = {
  success: { code: "01", msg: "Txn Success" },
  // Paytm's webhook sample (docs/payments.md §1.6): STATUS=TXN_FAILURE, RESPCODE=227 (same code as "checksum mismatch" on APIs).
  failure: { code: "227", msg: "Your payment has been declined by your bank" },
  pending: { code: "402", msg: "Looks like the payment is not complete. Please wait while we confirm the status with your bank." },
} as const;

function jsonReply(value: unknown, status = 200): Reply {
  return { status, contentType: JSON_TYPE, body: JSON.stringify(value) };
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Paytm timestamps are IST wall-clock "YYYY-MM-DD HH:MM:SS.0". */
function istTimestamp(ms: number): string {
  return `${new Date(ms + 5.5 * 3_600_000).toISOString().slice(0, 19).replace("T", " ")}.0`;
}

function randomDigits(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let out = "";
  for (const b of bytes) out += String(b % 10);
  return out;
}

function randomHex(bytes: number): string {
  let out = "";
  for (const b of crypto.getRandomValues(new Uint8Array(bytes))) out += b.toString(16).padStart(2, "0");
  return out;
}

function sleep(ms: number, signals: (AbortSignal | undefined)[]): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      for (const s of signals) s?.removeEventListener("abort", done);
      resolve();
    }
    for (const s of signals) {
      if (s?.aborted) return done();
      s?.addEventListener("abort", done);
    }
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const outcomePresetSchema = z.object({
  outcome: z.enum(["success", "failure", "pending"]),
  thenOutcome: z.enum(["success", "failure"]).optional(),
  resolveAfterMs: z.number().int().min(0).optional(),
  respCode: z.string().optional(),
  respMsg: z.string().optional(),
  paymentMode: z.string().optional(),
});

const refundPresetSchema = z.object({
  outcome: z.enum(["success", "failure"]),
  delayMs: z.number().int().min(0).optional(),
  reason: z.string().optional(),
});

const faultSchema = z.object({
  endpoint: z.enum(["initiateTransaction", "orderStatus", "refundApply", "refundStatus"]),
  mode: z.enum(["timeout", "http_500", "http_502", "http_503", "malformed_json", "bad_signature"]),
  count: z.number().int().min(1).optional(),
  applied: z.boolean().optional(),
  hangMs: z.number().int().min(0).optional(),
  orderId: z.string().min(1).optional(),
  custId: z.string().min(1).optional(),
});

const behaviourSchema = z
  .object({
    tokenTtlMs: z.number().int().min(0),
    refundDelayMs: z.number().int().min(0),
    refundOutcome: z.enum(["success", "failure"]),
    defaultOutcome: z.enum(["success", "failure", "pending"]),
    unpaidStatus: z.enum(["pending", "not_found"]),
    webhookOnPending: z.boolean(),
    responseDelayMs: z.number().int().min(0),
    hangMs: z.number().int().min(0),
    webhookMaxAttempts: z.number().int().min(1),
    webhookRetryMs: z.number().int().min(0),
  })
  .partial();

// ---------------------------------------------------------------------------------------------

export function createPaytmSandbox(options: PaytmSandboxOptions): PaytmSandbox {
  const merchants = new Map<string, { key: string; website?: string }>();
  for (const [mid, value] of Object.entries(options.merchants)) {
    merchants.set(mid, typeof value === "string" ? { key: value } : value);
  }
  const now = options.now ?? (() => Date.now());
  const deliver = options.fetch ?? ((input: Parameters<typeof fetch>[0], init?: RequestInit) => fetch(input, init));

  let behaviour: SandboxBehaviour = { ...DEFAULT_SANDBOX_BEHAVIOUR, ...options.behaviour };
  const orders = new Map<string, OrderState>(); // `${mid}|${orderId}`
  const refunds = new Map<string, RefundState>(); // refId (unique per MID in practice; sandbox: global)
  const orderPresets = new Map<string, OutcomePreset>();
  const refundPresets = new Map<string, RefundPreset>();
  let faults: FaultState[] = [];
  let queue: SandboxWebhook[] = [];
  let delivered: SandboxWebhook[] = [];
  let failedWebhooks = 0;
  let webhookSeq = 0;
  let delivering = false;
  let closing = new AbortController();
  const calls = {} as Record<SandboxEndpoint, number>;
  let callsByOrder: SandboxStats["callsByOrder"] = {};
  let callsByRefId: SandboxStats["callsByRefId"] = {};

  function resetCounters() {
    for (const e of ENDPOINTS) calls[e] = 0;
    callsByOrder = {};
    callsByRefId = {};
  }
  resetCounters();

  function countFor(bucket: SandboxStats["callsByOrder"], id: string | undefined, endpoint: SandboxEndpoint) {
    if (!id) return;
    const entry = bucket[id] ?? {};
    entry[endpoint] = (entry[endpoint] ?? 0) + 1;
    bucket[id] = entry;
  }

  function findOrder(orderId: string, mid?: string): OrderState | undefined {
    if (mid) return orders.get(`${mid}|${orderId}`);
    const matches = [...orders.values()].filter((o) => o.orderId === orderId);
    if (matches.length > 1) throw new SandboxError(409, `orderId ${orderId} exists for several MIDs; pass mid`);
    return matches[0];
  }

  function snapshotOrder(o: OrderState): SandboxOrderSnapshot {
    const {
      websiteName: _w,
      initiateBody: _b,
      paymentMode: _p,
      gatewayName: _g,
      bankName: _n,
      txnDate: _d,
      resolveOutcome: _r,
      mercUnqRef: _m,
      ...snap
    } = o;
    return { ...snap };
  }

  function snapshotRefund(r: RefundState): SandboxRefundSnapshot {
    const { requestedAt: _r, ...snap } = r;
    return { ...snap };
  }

  // --- webhooks -------------------------------------------------------------------------------

  function enqueue(webhook: Omit<SandboxWebhook, "id" | "createdAt" | "attempts" | "nextAttemptAt">) {
    queue.push({ ...webhook, id: ++webhookSeq, createdAt: now(), attempts: 0, nextAttemptAt: now() });
  }

  function paymentFields(o: OrderState, forWebhook: boolean): Record<string, string> {
    const fields: Record<string, string> = {
      BANKNAME: o.status === "TXN_SUCCESS" ? o.bankName : "",
      BANKTXNID: o.bankTxnId ?? "",
      CURRENCY: "INR",
      GATEWAYNAME: o.gatewayName,
      MID: o.mid,
      ORDERID: o.orderId,
      PAYMENTMODE: o.paymentMode,
      RESPCODE: o.respCode ?? "",
      RESPMSG: o.respMsg ?? "",
      STATUS: o.status,
      TXNAMOUNT: o.amount,
      TXNDATE: o.txnDate ?? "",
      TXNID: o.txnId ?? "",
    };
    if (o.mercUnqRef) fields.MERC_UNQ_REF = o.mercUnqRef;
    if (forWebhook) fields.CUSTID = o.custId;
    return fields;
  }

  async function signFields(o: OrderState, fields: Record<string, string>): Promise<Record<string, string>> {
    const key = merchants.get(o.mid)?.key ?? "";
    return { ...fields, CHECKSUMHASH: await generateSignature(fields, key) };
  }

  async function enqueuePaymentWebhook(o: OrderState) {
    const fields = await signFields(o, paymentFields(o, true));
    enqueue({
      kind: "payment",
      orderId: o.orderId,
      status: o.status,
      url: options.webhookUrl,
      contentType: "application/x-www-form-urlencoded",
      body: new URLSearchParams(fields).toString(),
    });
  }

  function refundBody(r: RefundState, o: OrderState | undefined): Record<string, unknown> {
    return {
      txnTimestamp: o?.txnDate ?? "",
      orderId: r.orderId,
      mid: r.mid,
      refundAmount: paiseToRupees(r.amountPaise),
      refundId: r.refundId,
      txnAmount: o?.amount ?? "",
      txnId: r.txnId,
      merchantRefundRequestTimestamp: istTimestamp(r.requestedAt),
      acceptRefundTimestamp: istTimestamp(r.requestedAt),
      refId: r.refId,
      totalRefundAmount: o && o.refundedPaise > 0 ? paiseToRupees(o.refundedPaise) : "0.00",
    };
  }

  async function enqueueRefundWebhook(r: RefundState) {
    const o = orders.get(`${r.mid}|${r.orderId}`);
    const body: Record<string, unknown> = { ...refundBody(r, o), status: r.status === "TXN_SUCCESS" ? "SUCCESS" : "FAILED" };
    if (r.status === "TXN_FAILURE") {
      body.rejectRefundReasonCode = "620";
      body.rejectRefundReasonMessage = r.reason ?? "Insufficient balance in your settlement account";
    } else {
      body.userCreditInitiateTimestamp = istTimestamp(now());
    }
    const { text } = await signedEnvelope(body, merchants.get(r.mid)?.key ?? "", { version: "v1" });
    enqueue({
      kind: "refund",
      orderId: r.orderId,
      refId: r.refId,
      status: String(body.status),
      url: options.refundWebhookUrl,
      contentType: JSON_TYPE,
      body: text,
    });
  }

  async function deliverDue() {
    if (delivering) return;
    delivering = true;
    try {
      for (const webhook of [...queue]) {
        if (!webhook.url || webhook.nextAttemptAt > now()) continue;
        webhook.attempts++;
        try {
          const res = await deliver(webhook.url, {
            method: "POST",
            headers: { "content-type": webhook.contentType },
            body: webhook.body,
            signal: AbortSignal.timeout(10_000),
          });
          await res.arrayBuffer().catch(() => undefined);
          if (res.ok) {
            queue = queue.filter((w) => w !== webhook);
            delivered.push(webhook);
            if (delivered.length > 1_000) delivered = delivered.slice(-1_000);
            continue;
          }
          webhook.lastError = `HTTP ${res.status}`;
        } catch (error) {
          webhook.lastError = (error as Error).message;
        }
        if (webhook.attempts >= behaviour.webhookMaxAttempts) {
          queue = queue.filter((w) => w !== webhook);
          failedWebhooks++;
        } else {
          webhook.nextAttemptAt = now() + behaviour.webhookRetryMs * 2 ** (webhook.attempts - 1);
        }
      }
    } finally {
      delivering = false;
    }
  }

  // --- state transitions ----------------------------------------------------------------------

  function settlePayment(o: OrderState, outcome: "success" | "failure", preset?: OutcomePreset) {
    const resp = RESP[outcome];
    o.status = outcome === "success" ? "TXN_SUCCESS" : "TXN_FAILURE";
    o.respCode = preset?.respCode ?? resp.code;
    o.respMsg = preset?.respMsg ?? resp.msg;
    o.bankTxnId = outcome === "success" ? randomDigits(12) : "";
    o.txnDate = istTimestamp(now());
    o.resolveAt = undefined;
    o.resolveOutcome = undefined;
  }

  /** Apply every due transition; state changes happen before any await so they run once. */
  async function advance() {
    const t = now();
    const settled: OrderState[] = [];
    for (const o of orders.values()) {
      if (o.status === "PENDING" && o.resolveAt !== undefined && o.resolveAt <= t && o.resolveOutcome) {
        settlePayment(o, o.resolveOutcome);
        settled.push(o);
      }
    }
    const finished: RefundState[] = [];
    for (const r of refunds.values()) {
      if (r.status === "PENDING" && r.completeAt <= t) {
        finishRefund(r, r.outcome);
        finished.push(r);
      }
    }
    for (const o of settled) await enqueuePaymentWebhook(o);
    for (const r of finished) await enqueueRefundWebhook(r);
  }

  function finishRefund(r: RefundState, outcome: "success" | "failure") {
    r.status = outcome === "success" ? "TXN_SUCCESS" : "TXN_FAILURE";
    r.outcome = outcome;
    const o = orders.get(`${r.mid}|${r.orderId}`);
    if (o && outcome === "success") o.refundedPaise += r.amountPaise;
  }

  async function checkout(o: OrderState, requested: PaymentOutcome | undefined): Promise<CallbackForm> {
    if (o.status !== "CREATED" || o.tokenUsed) throw new SandboxError(409, "This transaction has already been processed");
    if (now() > o.tokenExpiresAt) throw new SandboxError(410, "Session expired: txnToken is older than its TTL");
    const preset = orderPresets.get(o.orderId);
    orderPresets.delete(o.orderId);
    const outcome = requested ?? preset?.outcome ?? behaviour.defaultOutcome;
    const detail = requested && preset?.outcome !== requested ? undefined : preset;
    o.tokenUsed = true;
    o.txnId = `${istTimestamp(now()).slice(0, 10).replaceAll("-", "")}${randomDigits(27)}`;
    if (detail?.paymentMode) o.paymentMode = detail.paymentMode;
    if (outcome === "pending") {
      o.status = "PENDING";
      o.respCode = detail?.respCode ?? RESP.pending.code;
      o.respMsg = detail?.respMsg ?? RESP.pending.msg;
      o.txnDate = istTimestamp(now());
      if (detail?.thenOutcome) {
        o.resolveOutcome = detail.thenOutcome;
        o.resolveAt = now() + (detail.resolveAfterMs ?? 0);
      }
    } else {
      settlePayment(o, outcome, detail);
    }
    const fields = await signFields(o, paymentFields(o, false));
    if (o.status !== "PENDING" || behaviour.webhookOnPending) await enqueuePaymentWebhook(o);
    return {
      callbackUrl: o.callbackUrl,
      fields,
      formBody: new URLSearchParams(fields).toString(),
      status: o.status as CallbackForm["status"],
    };
  }

  // --- Paytm JSON APIs ------------------------------------------------------------------------

  function head(): Record<string, string> {
    return { responseTimestamp: String(now()), version: "v1" };
  }

  async function signedReply(mid: string | undefined, body: Record<string, unknown>): Promise<Reply> {
    const merchant = mid ? merchants.get(mid) : undefined;
    if (!merchant) return jsonReply({ head: head(), body }); // unknown MID: nothing to sign with
    const { text } = await signedEnvelope(body, merchant.key, head());
    return { status: 200, contentType: JSON_TYPE, body: text };
  }

  function resultInfo(resultStatus: string, resultCode: string, resultMsg: string) {
    return { resultInfo: { resultStatus, resultCode, resultMsg } };
  }

  interface SignedRequest {
    mid: string;
    body: Record<string, unknown>;
    head: Record<string, unknown>;
  }

  /** Parse `{head:{signature}, body}` and verify over the raw body text only, like Paytm: the bytes signed must be the bytes sent. */
  async function readSignedRequest(
    text: string,
  ): Promise<SignedRequest | { error: "malformed" | "unknown_mid" | "checksum"; mid?: string }> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { error: "malformed" };
    }
    const rawBody = rawJsonMember(text, "body");
    if (!isRecord(parsed) || !isRecord(parsed.body) || rawBody === null) return { error: "malformed" };
    const reqHead = isRecord(parsed.head) ? parsed.head : {};
    const mid = typeof parsed.body.mid === "string" ? parsed.body.mid : "";
    const merchant = merchants.get(mid);
    if (!merchant) return { error: "unknown_mid", mid };
    const signature = reqHead.signature;
    if (typeof signature !== "string" || !(await verifySignature(rawBody, merchant.key, signature))) {
      return { error: "checksum", mid };
    }
    return { mid, body: parsed.body, head: reqHead };
  }

  async function initiateTransaction(url: URL, text: string): Promise<Reply> {
    const qMid = url.searchParams.get("mid") ?? "";
    const qOrderId = url.searchParams.get("orderId") ?? "";
    const req = await readSignedRequest(text);
    if ("error" in req) {
      if (req.error === "unknown_mid") return signedReply(undefined, resultInfo("F", "335", "Mid is invalid"));
      if (req.error === "checksum") return signedReply(req.mid, resultInfo("F", "2005", "Checksum provided is invalid"));
      return signedReply(undefined, resultInfo("F", "1001", "Request parameters are not valid")); // sandbox code
    }
    const { mid, body } = req;
    const merchant = merchants.get(mid);
    const amount = isRecord(body.txnAmount) ? body.txnAmount : {};
    const userInfo = isRecord(body.userInfo) ? body.userInfo : {};
    const orderId = typeof body.orderId === "string" ? body.orderId : "";
    const fail = (code: string, msg: string) => signedReply(mid, resultInfo("F", code, msg));
    if (mid !== qMid || orderId !== qOrderId) return fail("1001", "mid/orderId in query and body differ"); // sandbox code
    if (!ORDER_ID.test(orderId)) return fail("330", "Invalid orderId"); // agent-skills troubleshooting
    if (body.requestType !== "Payment") return fail("1001", "requestType must be Payment");
    if (merchant?.website && body.websiteName !== merchant.website) return fail("501", "System Error"); // docs/payments.md §1.1
    const value = typeof amount.value === "string" ? amount.value : "";
    const amountPaise = /^\d+\.\d{2}$/.test(value) ? rupeesToPaise(value) : null;
    if (!amountPaise || amount.currency !== "INR") return fail("1007", "Txn amount is invalid"); // sandbox code
    const custId = typeof userInfo.custId === "string" ? userInfo.custId : "";
    if (!custId) return fail("1001", "custId is mandatory");
    const callbackUrl = typeof body.callbackUrl === "string" ? body.callbackUrl : "";
    try {
      new URL(callbackUrl);
    } catch {
      return fail("1001", "callbackUrl is invalid");
    }

    const key = `${mid}|${orderId}`;
    const canonical = JSON.stringify(body);
    const existing = orders.get(key);
    if (existing) {
      // Same request for an order nobody has paid: Paytm answers 0002 with a token (docs/payments.md §1.2).
      // Anything else reuses a spent orderId: 334 (docs/payments.md §1.2).
      if (existing.status === "CREATED" && !existing.tokenUsed && existing.initiateBody === canonical) {
        if (now() > existing.tokenExpiresAt) {
          existing.txnToken = `${randomHex(16)}${now()}`;
          existing.tokenExpiresAt = now() + behaviour.tokenTtlMs;
        }
        return signedReply(mid, {
          ...resultInfo("S", "0002", "Success Idempotent"),
          txnToken: existing.txnToken,
          isPromoCodeValid: false,
          authenticated: false,
        });
      }
      return fail("334", "Duplicate orderId");
    }
    const extendInfo = isRecord(body.extendInfo) ? body.extendInfo : {};
    const order: OrderState = {
      mid,
      orderId,
      amount: value,
      amountPaise,
      custId,
      callbackUrl,
      websiteName: String(body.websiteName ?? ""),
      initiateBody: canonical,
      txnToken: `${randomHex(16)}${now()}`,
      tokenExpiresAt: now() + behaviour.tokenTtlMs,
      tokenUsed: false,
      status: "CREATED",
      refundedPaise: 0,
      paymentMode: "UPI",
      gatewayName: "PPBL",
      bankName: "Paytm Payments Bank",
      mercUnqRef: typeof extendInfo.mercUnqRef === "string" ? extendInfo.mercUnqRef : undefined,
    };
    orders.set(key, order);
    return signedReply(mid, {
      ...resultInfo("S", "0000", "Success"),
      txnToken: order.txnToken,
      isPromoCodeValid: false,
      authenticated: false,
    });
  }

  async function orderStatus(text: string): Promise<{ reply: Reply; orderId?: string }> {
    const req = await readSignedRequest(text);
    if ("error" in req) {
      if (req.error === "unknown_mid") return { reply: await signedReply(undefined, resultInfo("TXN_FAILURE", "335", "Mid is invalid")) };
      if (req.error === "checksum")
        return { reply: await signedReply(req.mid, resultInfo("TXN_FAILURE", "227", "Checksum provided is invalid")) };
      return { reply: await signedReply(undefined, resultInfo("TXN_FAILURE", "501", "System Error")) };
    }
    const { mid, body } = req;
    const orderId = typeof body.orderId === "string" ? body.orderId : "";
    // tokenType/timestamp in the head belong to other APIs and fail the checksum here (docs/payments.md §1.6).
    if ("tokenType" in req.head || "timestamp" in req.head) {
      return { reply: await signedReply(mid, resultInfo("TXN_FAILURE", "227", "Checksum provided is invalid")), orderId };
    }
    const o = orders.get(`${mid}|${orderId}`);
    if (!o) return { reply: await signedReply(mid, resultInfo("TXN_FAILURE", "334", "Invalid Order Id.")), orderId };
    if (o.status === "CREATED" && behaviour.unpaidStatus === "not_found") {
      return { reply: await signedReply(mid, resultInfo("TXN_FAILURE", "331", "No Record Found")), orderId };
    }
    const status = o.status === "CREATED" ? "PENDING" : o.status;
    const code = o.status === "CREATED" ? RESP.pending.code : (o.respCode ?? "");
    const msg = o.status === "CREATED" ? RESP.pending.msg : (o.respMsg ?? "");
    const out: Record<string, unknown> = {
      ...resultInfo(status, code, msg),
      txnId: o.txnId ?? "",
      bankTxnId: o.bankTxnId ?? "",
      orderId: o.orderId,
      txnAmount: o.amount,
      txnType: "SALE",
      gatewayName: o.status === "CREATED" ? "" : o.gatewayName,
      bankName: o.status === "TXN_SUCCESS" ? o.bankName : "",
      mid: o.mid,
      paymentMode: o.status === "CREATED" ? "" : o.paymentMode,
      refundAmt: paiseToRupeesOrZero(o.refundedPaise),
      txnDate: o.txnDate ?? "",
    };
    return { reply: await signedReply(mid, out), orderId };
  }

  function paiseToRupeesOrZero(paise: number): string {
    return paise > 0 ? paiseToRupees(paise) : "0.00";
  }

  async function refundApply(text: string): Promise<{ reply: Reply; orderId?: string; refId?: string }> {
    const req = await readSignedRequest(text);
    if ("error" in req) {
      if (req.error === "unknown_mid") return { reply: await signedReply(undefined, resultInfo("TXN_FAILURE", "335", "Mid is invalid")) };
      if (req.error === "checksum")
        return { reply: await signedReply(req.mid, resultInfo("TXN_FAILURE", "227", "Checksum provided is invalid")) };
      return { reply: await signedReply(undefined, resultInfo("TXN_FAILURE", "600", "Invalid refund request")) };
    }
    const { mid, body } = req;
    const orderId = typeof body.orderId === "string" ? body.orderId : "";
    const refId = typeof body.refId === "string" ? body.refId : "";
    const txnId = typeof body.txnId === "string" ? body.txnId : "";
    const value = typeof body.refundAmount === "string" ? body.refundAmount : "";
    const fail = async (code: string, msg: string) => ({
      reply: await signedReply(mid, { ...resultInfo("TXN_FAILURE", code, msg), orderId, refId, mid }),
      orderId,
      refId,
    });
    // docs/payments.md §1.7 refund table: 600 invalid, 607 order missing, 619 amount, 701 same refId.
    if (body.txnType !== "REFUND" || !orderId || !txnId || !ORDER_ID.test(refId)) return fail("600", "Invalid refund request");
    const o = orders.get(`${mid}|${orderId}`);
    if (!o) return fail("607", "Order does not exist");
    if (refunds.has(refId)) return fail("701", "Refund already raised with same refid");
    if (o.status !== "TXN_SUCCESS") return fail("600", "Invalid refund request: transaction is not successful");
    if (o.txnId !== txnId) return fail("600", "Invalid refund request: txnId does not match the order");
    const amountPaise = /^\d+\.\d{2}$/.test(value) ? rupeesToPaise(value) : null;
    if (!amountPaise) return fail("619", "Invalid refund amount");
    const committed = [...refunds.values()]
      .filter((r) => r.mid === mid && r.orderId === orderId && r.status !== "TXN_FAILURE")
      .reduce((sum, r) => sum + r.amountPaise, 0);
    if (committed + amountPaise > o.amountPaise) return fail("619", "Invalid refund amount: exceeds the refundable balance");

    const preset = refundPresets.get(refId);
    refundPresets.delete(refId);
    const refund: RefundState = {
      mid,
      orderId,
      refId,
      refundId: `${istTimestamp(now()).slice(0, 10).replaceAll("-", "")}${randomDigits(24)}`,
      txnId,
      amountPaise,
      status: "PENDING",
      requestedAt: now(),
      completeAt: now() + (preset?.delayMs ?? behaviour.refundDelayMs),
      outcome: preset?.outcome ?? behaviour.refundOutcome,
      reason: preset?.reason,
    };
    refunds.set(refId, refund);
    // Apply only registers the refund; the result is always PENDING here (docs/payments.md §1.7).
    return {
      reply: await signedReply(mid, {
        ...resultInfo("PENDING", "601", "Refund request was raised for this transaction. But it is pending state"),
        ...refundBody(refund, o),
      }),
      orderId,
      refId,
    };
  }

  async function refundStatus(text: string): Promise<{ reply: Reply; orderId?: string; refId?: string }> {
    const req = await readSignedRequest(text);
    if ("error" in req) {
      if (req.error === "unknown_mid") return { reply: await signedReply(undefined, resultInfo("TXN_FAILURE", "335", "Mid is invalid")) };
      if (req.error === "checksum")
        return { reply: await signedReply(req.mid, resultInfo("TXN_FAILURE", "227", "Checksum provided is invalid")) };
      return { reply: await signedReply(undefined, resultInfo("TXN_FAILURE", "501", "System Error")) };
    }
    const { mid, body } = req;
    const orderId = typeof body.orderId === "string" ? body.orderId : "";
    const refId = typeof body.refId === "string" ? body.refId : "";
    const r = refunds.get(refId);
    if (!r || r.mid !== mid || r.orderId !== orderId) {
      return { reply: await signedReply(mid, resultInfo("TXN_FAILURE", "631", "Record not found")), orderId, refId }; // sandbox code
    }
    const o = orders.get(`${mid}|${orderId}`);
    const info =
      r.status === "PENDING"
        ? resultInfo("PENDING", "601", "Refund request was raised for this transaction. But it is pending state")
        : r.status === "TXN_SUCCESS"
          ? resultInfo("TXN_SUCCESS", "10", "Refund Successfull")
          : resultInfo("TXN_FAILURE", "620", r.reason ?? "Refund failed");
    const out: Record<string, unknown> = {
      ...refundBody(r, o),
      ...info,
      refundDetailInfoList:
        r.status === "TXN_SUCCESS"
          ? [{ refundType: "TO_SOURCE", payMethod: o?.paymentMode ?? "UPI", refundAmount: paiseToRupees(r.amountPaise) }]
          : [],
    };
    if (r.status === "TXN_SUCCESS") out.userCreditInitiateTimestamp = istTimestamp(r.completeAt);
    return { reply: await signedReply(mid, out), orderId, refId };
  }

  // --- browser pages --------------------------------------------------------------------------

  function htmlPage(title: string, inner: string, status = 200): Reply {
    return {
      status,
      contentType: HTML_TYPE,
      body: `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}button{display:block;width:100%;margin:.5rem 0;padding:.8rem;font-size:1rem}</style></head><body>${inner}</body></html>`,
    };
  }

  function hiddenInputs(fields: Record<string, string>): string {
    return Object.entries(fields)
      .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
      .join("");
  }

  /** Paytm's page ends by auto-posting the signed form to callbackUrl from the browser (docs/payments.md §1.4). */
  function callbackPage(form: CallbackForm): Reply {
    return htmlPage(
      "Redirecting to merchant",
      `<p>Payment ${escapeHtml(form.status)}. Returning to the merchant…</p><form id="paytm-callback" method="post" action="${escapeHtml(form.callbackUrl)}">${hiddenInputs(form.fields)}<noscript><button type="submit">Continue</button></noscript></form><script>document.getElementById('paytm-callback').submit();</script>`,
    );
  }

  function errorPage(error: unknown): Reply {
    const status = error instanceof SandboxError ? error.status : 500;
    return htmlPage("Payment error", `<h1>Payment error</h1><p>${escapeHtml((error as Error).message)}</p>`, status);
  }

  function tokenOrder(mid: string, orderId: string, txnToken: string): OrderState {
    const o = orders.get(`${mid}|${orderId}`);
    if (!o || !txnToken || o.txnToken !== txnToken) throw new SandboxError(400, "Invalid txnToken for this order");
    return o;
  }

  async function showPaymentPage(url: URL, request: Request, text: string): Promise<Reply> {
    const form = request.method === "POST" ? new URLSearchParams(text) : url.searchParams;
    const mid = url.searchParams.get("mid") ?? form.get("mid") ?? "";
    const orderId = url.searchParams.get("orderId") ?? form.get("orderId") ?? "";
    const txnToken = form.get("txnToken") ?? url.searchParams.get("txnToken") ?? "";
    try {
      const o = tokenOrder(mid, orderId, txnToken);
      if (o.status !== "CREATED" || o.tokenUsed) throw new SandboxError(409, "This transaction has already been processed");
      if (now() > o.tokenExpiresAt) throw new SandboxError(410, "Session expired: txnToken is older than its TTL");
      const preset = orderPresets.get(o.orderId)?.outcome ?? behaviour.defaultOutcome;
      const base = hiddenInputs({ mid, orderId, txnToken });
      const button = (outcome: string, label: string) =>
        `<form method="post" action="/theia/sandbox/pay">${base}<input type="hidden" name="outcome" value="${outcome}"><button type="submit" data-outcome="${outcome}">${escapeHtml(label)}</button></form>`;
      return htmlPage(
        "Paytm sandbox checkout",
        `<h1>Paytm sandbox</h1><p>Order <code>${escapeHtml(o.orderId)}</code> · MID <code>${escapeHtml(o.mid)}</code></p><p style="font-size:1.6rem">₹${escapeHtml(o.amount)}</p>` +
          `<form method="post" action="/theia/sandbox/pay">${base}<button type="submit" data-outcome="">Pay ₹${escapeHtml(o.amount)} (${escapeHtml(preset)})</button></form>` +
          button("success", "Succeed") +
          button("failure", "Fail (declined by bank)") +
          button("pending", "Leave pending"),
      );
    } catch (error) {
      return errorPage(error);
    }
  }

  async function payFromPage(text: string): Promise<{ reply: Reply; orderId?: string }> {
    const form = new URLSearchParams(text);
    const mid = form.get("mid") ?? "";
    const orderId = form.get("orderId") ?? "";
    const outcome = form.get("outcome");
    try {
      const o = tokenOrder(mid, orderId, form.get("txnToken") ?? "");
      const requested = outcome === "success" || outcome === "failure" || outcome === "pending" ? outcome : undefined;
      return { reply: callbackPage(await checkout(o, requested)), orderId };
    } catch (error) {
      return { reply: errorPage(error), orderId };
    }
  }

  function checkoutJs(url: URL, mid: string): Reply {
    if (!merchants.has(mid)) return { status: 404, contentType: "application/javascript", body: "/* unknown MID */" };
    // Minimal stand-in for {host}/merchantpgpui/checkoutjs/merchants/{MID}.js (docs/payments.md §1.3):
    // invoke() posts {mid, orderId, txnToken} to the sandbox payment page, like merchant.redirect:true.
    const script = `(function(){var BASE=${JSON.stringify(url.origin)},MID=${JSON.stringify(mid)},cfg=null;
var CheckoutJS={onLoad:function(cb){cb();},init:function(c){cfg=c;return Promise.resolve();},
invoke:function(){var d=(cfg&&cfg.data)||{};var f=document.createElement('form');f.method='post';
f.action=BASE+'/theia/api/v1/showPaymentPage?mid='+encodeURIComponent(MID)+'&orderId='+encodeURIComponent(d.orderId);
[['mid',MID],['orderId',d.orderId],['txnToken',d.token]].forEach(function(p){var i=document.createElement('input');i.type='hidden';i.name=p[0];i.value=p[1];f.appendChild(i);});
document.body.appendChild(f);f.submit();},close:function(){}};
window.Paytm=window.Paytm||{};window.Paytm.CheckoutJS=CheckoutJS;})();`;
    return { status: 200, contentType: "application/javascript; charset=utf-8", body: script };
  }

  // --- faults ---------------------------------------------------------------------------------

  function takeFault(endpoint: FaultableEndpoint, ids: { orderId?: string; custId?: string }): FaultState | undefined {
    const fault = faults.find(
      (f) =>
        f.endpoint === endpoint &&
        f.remaining > 0 &&
        (f.orderId === undefined || f.orderId === ids.orderId) &&
        (f.custId === undefined || f.custId === ids.custId),
    );
    if (!fault) return undefined;
    fault.remaining--;
    faults = faults.filter((f) => f.remaining > 0);
    return fault;
  }

  function faultApplied(fault: FaultState): boolean {
    return fault.applied ?? (fault.mode === "timeout" || fault.mode === "malformed_json" || fault.mode === "bad_signature");
  }

  async function withFault(
    endpoint: FaultableEndpoint,
    ids: { orderId?: string; custId?: string },
    request: Request,
    run: () => Promise<Reply>,
  ): Promise<Reply> {
    const fault = takeFault(endpoint, ids);
    if (behaviour.responseDelayMs > 0) await sleep(behaviour.responseDelayMs, [request.signal, closing.signal]);
    if (!fault) return run();
    const applied = faultApplied(fault);
    const real = applied ? await run() : undefined;
    switch (fault.mode) {
      case "timeout":
        await sleep(fault.hangMs ?? behaviour.hangMs, [request.signal, closing.signal]);
        return real ?? { status: 504, contentType: "text/plain", body: "Gateway Timeout" };
      case "http_500":
      case "http_502":
      case "http_503":
        return { status: Number(fault.mode.slice(5)), contentType: "text/html", body: "<html><body>Service Unavailable</body></html>" };
      case "malformed_json":
        return { status: 200, contentType: JSON_TYPE, body: (real?.body ?? '{"head":{},"body":{"resultInfo":').slice(0, 40) };
      case "bad_signature": {
        const text = real?.body ?? "{}";
        return { ...(real ?? jsonReply({})), body: text.replace(/"signature":"([^"]{8})/, '"signature":"AAAAAAAA') };
      }
    }
  }

  // --- control API ----------------------------------------------------------------------------

  async function control(url: URL, request: Request, text: string): Promise<Reply> {
    const path = url.pathname.slice("/__sandbox".length);
    const method = request.method;
    const mid = url.searchParams.get("mid") ?? undefined;
    let input: unknown = {};
    if (text.trim()) {
      try {
        input = JSON.parse(text);
      } catch {
        return jsonReply({ error: "body must be JSON" }, 400);
      }
    }
    const parse = <T>(schema: z.ZodType<T>): T => {
      const parsed = schema.safeParse(input);
      if (!parsed.success) throw new SandboxError(400, z.prettifyError(parsed.error));
      return parsed.data;
    };
    try {
      if (path === "/stats" && method === "GET") return jsonReply(sandbox.stats());
      if (path === "/reset" && method === "POST") {
        sandbox.reset();
        return jsonReply({ ok: true });
      }
      if (path === "/tick" && method === "POST") {
        await sandbox.tick();
        return jsonReply({ ok: true, pendingWebhooks: queue.length });
      }
      if (path === "/behaviour") {
        if (method === "GET") return jsonReply(behaviour);
        if (method === "POST") return jsonReply(sandbox.setBehaviour(parse(behaviourSchema) as Partial<SandboxBehaviour>));
      }
      if (path === "/faults") {
        if (method === "GET") return jsonReply(faults);
        if (method === "POST") {
          sandbox.injectFault(parse(faultSchema));
          return jsonReply(faults);
        }
        if (method === "DELETE") {
          sandbox.clearFaults();
          return jsonReply([]);
        }
      }
      if (path === "/webhooks" && method === "GET") return jsonReply({ pending: queue, delivered });
      if (path === "/webhooks/take" && method === "POST") return jsonReply(sandbox.takePendingWebhooks());
      let m = /^\/orders\/([^/]+)(\/[a-z]+)?$/.exec(path);
      if (m) {
        const orderId = decodeURIComponent(m[1] ?? "");
        const action = m[2];
        if (!action && method === "GET") {
          const o = sandbox.getOrder(orderId, mid);
          return o ? jsonReply(o) : jsonReply({ error: "no such order" }, 404);
        }
        if (action === "/outcome" && method === "POST") {
          sandbox.setOrderOutcome(orderId, parse(outcomePresetSchema));
          return jsonReply({ ok: true });
        }
        if (action === "/pay" && method === "POST") {
          const { outcome } = parse(z.object({ outcome: z.enum(["success", "failure", "pending"]).optional() }));
          return jsonReply(await sandbox.pay(orderId, outcome, mid));
        }
        if (action === "/complete" && method === "POST") {
          const { outcome } = parse(z.object({ outcome: z.enum(["success", "failure"]) }));
          return jsonReply(await sandbox.completePayment(orderId, outcome, mid));
        }
      }
      m = /^\/refunds\/([^/]+)(\/[a-z]+)?$/.exec(path);
      if (m) {
        const refId = decodeURIComponent(m[1] ?? "");
        const action = m[2];
        if (!action && method === "GET") {
          const r = sandbox.getRefund(refId);
          return r ? jsonReply(r) : jsonReply({ error: "no such refund" }, 404);
        }
        if (action === "/outcome" && method === "POST") {
          sandbox.setRefundOutcome(refId, parse(refundPresetSchema));
          return jsonReply({ ok: true });
        }
        if (action === "/complete" && method === "POST") {
          const { outcome } = parse(z.object({ outcome: z.enum(["success", "failure"]).optional() }));
          return jsonReply(await sandbox.completeRefund(refId, outcome));
        }
      }
      return jsonReply({ error: `no control route ${method} ${url.pathname}` }, 404);
    } catch (error) {
      if (error instanceof SandboxError) return jsonReply({ error: error.message }, error.status);
      throw error;
    }
  }

  function index(): Reply {
    return jsonReply({
      name: "paytm-sandbox",
      merchants: [...merchants.keys()],
      routes: [
        "POST /theia/api/v1/initiateTransaction?mid=&orderId=",
        "GET|POST /theia/api/v1/showPaymentPage?mid=&orderId= (form or query: txnToken)",
        "POST /theia/sandbox/pay (form from the payment page)",
        "GET /merchantpgpui/checkoutjs/merchants/{MID}.js",
        "POST /v3/order/status",
        "POST /refund/apply",
        "POST /v2/refund/status",
      ],
      control: [
        "GET /__sandbox/stats",
        "POST /__sandbox/reset",
        "POST /__sandbox/tick",
        "GET|POST /__sandbox/behaviour",
        "GET|POST|DELETE /__sandbox/faults",
        "GET /__sandbox/webhooks",
        "POST /__sandbox/webhooks/take",
        "GET /__sandbox/orders/{orderId}",
        "POST /__sandbox/orders/{orderId}/outcome",
        "POST /__sandbox/orders/{orderId}/pay",
        "POST /__sandbox/orders/{orderId}/complete",
        "GET /__sandbox/refunds/{refId}",
        "POST /__sandbox/refunds/{refId}/outcome",
        "POST /__sandbox/refunds/{refId}/complete",
      ],
    });
  }

  // --- routing --------------------------------------------------------------------------------

  async function route(request: Request): Promise<Reply> {
    const url = new URL(request.url);
    const path = url.pathname;
    const method = request.method;
    // Counted before anything can fail, so "exactly one initiate call" assertions are exact.
    const count = (endpoint: SandboxEndpoint, orderId?: string, refId?: string) => {
      calls[endpoint]++;
      countFor(callsByOrder, orderId, endpoint);
      countFor(callsByRefId, refId, endpoint);
    };

    if (path.startsWith("/__sandbox/")) {
      const text = await request.text();
      await advance();
      return control(url, request, text);
    }
    if (path === "/" && method === "GET") return index();

    const jsMatch = /^\/merchantpgpui\/checkoutjs\/merchants\/([A-Za-z0-9]+)\.js$/.exec(path);
    if (jsMatch && method === "GET") {
      count("checkoutJs");
      return checkoutJs(url, jsMatch[1] ?? "");
    }

    const routes: Record<string, SandboxEndpoint> = {
      "/theia/api/v1/initiateTransaction": "initiateTransaction",
      "/theia/api/v1/showPaymentPage": "showPaymentPage",
      "/theia/sandbox/pay": "pay",
      "/v3/order/status": "orderStatus",
      "/refund/apply": "refundApply",
      "/v2/refund/status": "refundStatus",
    };
    const endpoint = routes[path];
    if (!endpoint) return jsonReply({ error: `no route ${method} ${path}` }, 404);
    if (method !== "POST" && !(endpoint === "showPaymentPage" && method === "GET")) {
      return jsonReply({ error: `${method} not allowed` }, 405);
    }

    const text = await request.text();
    const ids = idsOf(endpoint, url, text);
    count(endpoint, ids.orderId, ids.refId);
    await advance();

    switch (endpoint) {
      case "initiateTransaction":
        return withFault(endpoint, ids, request, () => initiateTransaction(url, text));
      case "orderStatus":
        return withFault(endpoint, ids, request, async () => (await orderStatus(text)).reply);
      case "refundApply":
        return withFault(endpoint, ids, request, async () => (await refundApply(text)).reply);
      case "refundStatus":
        return withFault(endpoint, ids, request, async () => (await refundStatus(text)).reply);
      case "showPaymentPage":
        return showPaymentPage(url, request, text);
      case "pay":
        return (await payFromPage(text)).reply;
      default:
        return jsonReply({ error: "unreachable" }, 500);
    }
  }

  function idsOf(endpoint: SandboxEndpoint, url: URL, text: string): { orderId?: string; refId?: string; custId?: string } {
    if (endpoint === "initiateTransaction") {
      let custId: string | undefined;
      try {
        const c = (JSON.parse(text) as { body?: { userInfo?: { custId?: unknown } } }).body?.userInfo?.custId;
        custId = typeof c === "string" ? c : undefined;
      } catch {
        // the handler answers the malformed body
      }
      return { orderId: url.searchParams.get("orderId") ?? undefined, custId };
    }
    if (endpoint === "showPaymentPage") return { orderId: url.searchParams.get("orderId") ?? undefined };
    if (endpoint === "pay") return { orderId: new URLSearchParams(text).get("orderId") ?? undefined };
    try {
      const body = (JSON.parse(text) as { body?: { orderId?: unknown; refId?: unknown } }).body;
      return {
        orderId: typeof body?.orderId === "string" ? body.orderId : undefined,
        refId: typeof body?.refId === "string" ? body.refId : undefined,
      };
    } catch {
      return {};
    }
  }

  const sandbox: PaytmSandbox = {
    async handle(request) {
      const reply = await route(request);
      return new Response(reply.body, {
        status: reply.status,
        headers: { "content-type": reply.contentType, "cache-control": "no-store" },
      });
    },

    async tick() {
      await advance();
      await deliverDue();
    },

    stats() {
      return {
        calls: { ...calls },
        callsByOrder: structuredClone(callsByOrder),
        callsByRefId: structuredClone(callsByRefId),
        webhooks: { queued: queue.length, delivered: delivered.length, failed: failedWebhooks },
        faults: faults.map((f) => ({ ...f })),
      };
    },

    reset() {
      orders.clear();
      refunds.clear();
      orderPresets.clear();
      refundPresets.clear();
      faults = [];
      queue = [];
      delivered = [];
      failedWebhooks = 0;
      behaviour = { ...DEFAULT_SANDBOX_BEHAVIOUR, ...options.behaviour };
      closing.abort();
      closing = new AbortController();
      resetCounters();
    },

    pendingWebhooks() {
      return queue.map((w) => ({ ...w }));
    },

    takePendingWebhooks() {
      const taken = queue;
      queue = [];
      return taken;
    },

    deliveredWebhooks() {
      return delivered.map((w) => ({ ...w }));
    },

    setBehaviour(patch) {
      behaviour = { ...behaviour, ...patch };
      return { ...behaviour };
    },

    injectFault(fault) {
      faults.push({ ...fault, remaining: fault.count ?? 1 });
    },

    clearFaults() {
      faults = [];
    },

    setOrderOutcome(orderId, preset) {
      orderPresets.set(orderId, preset);
    },

    setRefundOutcome(refId, preset) {
      refundPresets.set(refId, preset);
    },

    async pay(orderId, outcome, mid) {
      await advance();
      const o = findOrder(orderId, mid);
      if (!o) throw new SandboxError(404, `no order ${orderId}`);
      return checkout(o, outcome);
    },

    async completePayment(orderId, outcome, mid) {
      await advance();
      const o = findOrder(orderId, mid);
      if (!o) throw new SandboxError(404, `no order ${orderId}`);
      if (o.status !== "PENDING") throw new SandboxError(409, `order ${orderId} is ${o.status}, not PENDING`);
      settlePayment(o, outcome);
      await enqueuePaymentWebhook(o);
      return snapshotOrder(o);
    },

    async completeRefund(refId, outcome) {
      await advance();
      const r = refunds.get(refId);
      if (!r) throw new SandboxError(404, `no refund ${refId}`);
      if (r.status !== "PENDING") throw new SandboxError(409, `refund ${refId} is ${r.status}, not PENDING`);
      finishRefund(r, outcome ?? r.outcome);
      r.completeAt = now();
      await enqueueRefundWebhook(r);
      return snapshotRefund(r);
    },

    getOrder(orderId, mid) {
      const o = findOrder(orderId, mid);
      return o ? snapshotOrder(o) : undefined;
    },

    getRefund(refId) {
      const r = refunds.get(refId);
      return r ? snapshotRefund(r) : undefined;
    },

    close() {
      closing.abort();
    },
  };
  return sandbox;
}
