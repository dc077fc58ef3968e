// Paytm PG client for the four server-to-server calls we make (docs/payments.md §1.2, §1.6, §1.7).
//
// Safety rules baked in:
// - Every request body is serialised once, signed, and sent as that same text (docs/payments.md §1.8).
// - Reads (order status, refund status) are retried on ambiguous failures within a 30 s budget.
//   Writes (initiate, refund apply) are never retried here: an ambiguous outcome is returned and the
//   caller reconciles with a status read using the same orderId/refId (docs/payments.md §1.7).
// - Response signatures are checked; positive outcomes (S, PENDING, TXN_SUCCESS) must be signed,
//   as in Paytm's Node SDK validateResponseSignature (docs/payments.md §1.8).
// - A per-isolate circuit breaker (keyed by host + MID) stops hammering Paytm while it is down.

import { paiseToRupees, rupeesToPaise } from "./amount";
import { isUsableMerchantKey } from "./checksum";
import { signedEnvelope, verifyEnvelope } from "./envelope";

export { paiseToRupees, rupeesToPaise } from "./amount";
export {
  type FormNotificationResult,
  type PaytmNotification,
  PaytmNotificationError,
  type PaytmPaymentNotification,
  type PaytmRefundNotification,
  parseFormNotification,
  paytmPaymentNotificationSchema,
  paytmRefundNotificationSchema,
  type RefundNotificationResult,
  verifyFormNotification,
  verifyPaytmNotification,
  verifyRefundNotification,
} from "./notification";

export type PaytmEndpoint = "initiateTransaction" | "orderStatus" | "refundApply" | "refundStatus";

export interface PaytmCallLog {
  endpoint: PaytmEndpoint;
  orderId: string;
  refId?: string;
  attempt: number;
  httpStatus?: number;
  resultStatus?: string;
  resultCode?: string;
  outcome: "ok" | PaytmFailure["kind"];
  latencyMs: number;
  error?: string;
  /** Redacted: head.signature and CHECKSUMHASH removed, txnToken shortened, merchant key never present. */
  request?: unknown;
  response?: unknown;
}

export interface PaytmClientConfig {
  mid: string;
  merchantKey: string;
  /** e.g. https://securestage.paytmpayments.com (staging) or https://secure.paytmpayments.com */
  host: string;
  /** websiteName for the MID: WEBSTAGING on staging, usually DEFAULT in production (docs/payments.md §1.1). */
  website: string;
  fetch?: typeof fetch;
  /** Per attempt. Default 10 000. */
  timeoutMs?: number;
  /** Whole call including retries and backoff. Default and maximum 30 000. */
  totalBudgetMs?: number;
  /** Extra attempts for reads only. Default 2. */
  retries?: number;
  breaker?: { failureThreshold?: number; openMs?: number };
  log?: (entry: PaytmCallLog) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export type AmbiguousReason =
  | "timeout"
  | "network"
  | "http_status"
  | "malformed"
  | "unknown_result"
  | "gateway_error"
  | "response_mismatch";

export type PaytmFailure =
  /** Paytm answered and refused; nothing happened on its side. */
  | { ok: false; kind: "declined"; httpStatus?: number; resultStatus?: string; resultCode: string; resultMsg: string }
  /** orderId (initiate) or refId (refund apply) already used: read the status with the same id. */
  | { ok: false; kind: "duplicate"; resultCode: string; resultMsg: string }
  /** Status read: Paytm has no record of this orderId/refId. */
  | { ok: false; kind: "not_found"; resultCode: string; resultMsg: string }
  /** We do not know whether Paytm acted. Reconcile with a status read; never mint a new id. */
  | { ok: false; kind: "ambiguous"; reason: AmbiguousReason; httpStatus?: number; message: string; attempts: number }
  /** The response signature did not verify. `resultCode` is unverified, for diagnosis only (a wrong merchant key shows 2005/227). */
  | { ok: false; kind: "invalid_signature"; httpStatus?: number; resultCode?: string }
  /** Not sent: the breaker is open. Safe to retry later with the same ids. */
  | { ok: false; kind: "circuit_open"; retryAfterMs: number };

export interface InitiateTransactionInput {
  orderId: string;
  amountPaise: number;
  customerId: string;
  callbackUrl: string;
  mobile?: string;
  email?: string;
  /** Echoed back by Paytm in callbacks as MERC_UNQ_REF. */
  merchantUniqueRef?: string;
}

export type InitiateTransactionResult =
  | {
      ok: true;
      orderId: string;
      txnToken: string;
      /** "0002": Paytm already had this orderId with the same request and returned its token again. */
      idempotent: boolean;
      amount: string;
      resultCode: string;
      resultMsg: string;
    }
  | PaytmFailure;

export type PaytmTxnStatus = "TXN_SUCCESS" | "TXN_FAILURE" | "PENDING";

export type OrderStatusResult =
  | {
      ok: true;
      orderId: string;
      status: PaytmTxnStatus;
      resultCode: string;
      resultMsg: string;
      txnId?: string;
      bankTxnId?: string;
      /** As Paytm sent it, and parsed. Mark paid only if this equals the stored amount. */
      txnAmount?: string;
      amountPaise: number | null;
      refundedPaise: number | null;
      paymentMode?: string;
      gatewayName?: string;
      bankName?: string;
      txnDate?: string;
      /** False only for an unsigned TXN_FAILURE (Paytm may omit signatures on failures). */
      signed: boolean;
      body: Record<string, unknown>;
    }
  | PaytmFailure;

export interface RefundApplyInput {
  orderId: string;
  refId: string;
  /** Paytm's TXNID of the payment, not our orderId and not the bank reference. */
  txnId: string;
  amountPaise: number;
  comments?: string;
}

export type RefundApplyResult =
  | {
      ok: true;
      orderId: string;
      refId: string;
      /** Apply only registers the refund; PENDING is the normal answer (docs/payments.md §1.7). */
      status: "PENDING" | "TXN_SUCCESS";
      refundId?: string;
      refundAmountPaise: number | null;
      resultCode: string;
      resultMsg: string;
      body: Record<string, unknown>;
    }
  | PaytmFailure;

export type RefundStatusResult =
  | {
      ok: true;
      orderId: string;
      refId: string;
      status: PaytmTxnStatus;
      refundId?: string;
      refundAmountPaise: number | null;
      totalRefundAmountPaise: number | null;
      resultCode: string;
      resultMsg: string;
      signed: boolean;
      body: Record<string, unknown>;
    }
  | PaytmFailure;

export interface PaytmClient {
  readonly mid: string;
  readonly host: string;
  initiateTransaction(input: InitiateTransactionInput): Promise<InitiateTransactionResult>;
  orderStatus(orderId: string): Promise<OrderStatusResult>;
  refundApply(input: RefundApplyInput): Promise<RefundApplyResult>;
  refundStatus(input: { orderId: string; refId: string }): Promise<RefundStatusResult>;
}

// Result codes: docs/payments.md §1.2 (0000/0002, 334 duplicate orderId), §1.6 (status), §1.7
// (refunds). Unknown codes fall through to the resultStatus class, never to "success".
const INITIATE_DUPLICATE_CODES = new Set(["334", "325"]);
const ORDER_NOT_FOUND_CODES = new Set(["331", "334"]);
const REFUND_DUPLICATE_CODES = new Set(["617", "701", "703", "602"]);
const REFUND_NOT_FOUND_CODES = new Set(["631", "607"]);
const GATEWAY_ERROR_CODES = new Set(["501", "502", "503"]);

const ID_PATTERN = /^[A-Za-z0-9@._-]{1,50}$/;
const MAX_BUDGET_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// Circuit breaker: per isolate, shared by every client for the same host + MID, because Workers
// build a client per request.

interface BreakerState {
  consecutiveFailures: number;
  openUntil: number;
  probeInFlight: boolean;
}

const breakers = new Map<string, BreakerState>();

/** Test hook: forget every breaker in this isolate. */
export function resetPaytmCircuitBreakers(): void {
  breakers.clear();
}

function breakerFor(key: string): BreakerState {
  let state = breakers.get(key);
  if (!state) {
    state = { consecutiveFailures: 0, openUntil: 0, probeInFlight: false };
    breakers.set(key, state);
  }
  return state;
}

// ---------------------------------------------------------------------------------------------
// Redaction for logs.

function shorten(token: string): string {
  return token.length <= 10 ? "[redacted]" : `${token.slice(0, 4)}…${token.slice(-4)}`;
}

function redact(value: unknown, secret: string): unknown {
  if (typeof value === "string") return value.includes(secret) ? value.split(secret).join("[redacted]") : value;
  if (Array.isArray(value)) return value.map((v) => redact(v, secret));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === "signature" || k === "CHECKSUMHASH") out[k] = "[redacted]";
      else if (k === "txnToken" && typeof v === "string") out[k] = shorten(v);
      else out[k] = redact(v, secret);
    }
    return out;
  }
  return value;
}

/** Raw response text for logs: parsed and redacted when it is JSON, pattern-scrubbed otherwise. */
function redactText(value: unknown, secret: string): unknown {
  if (typeof value !== "string") return redact(value, secret);
  try {
    return redact(JSON.parse(value), secret);
  } catch {
    return value
      .split(secret)
      .join("[redacted]")
      .replace(/("(?:signature|CHECKSUMHASH|txnToken)"\s*:\s*")[^"]*/g, "$1[redacted]");
  }
}

// ---------------------------------------------------------------------------------------------

type Transport =
  | {
      type: "response";
      httpStatus: number;
      signed: boolean;
      body: Record<string, unknown>;
      resultStatus: string;
      resultCode: string;
      resultMsg: string;
    }
  | { type: "invalid_signature"; httpStatus: number; resultCode?: string; response: unknown }
  | { type: "rejected"; httpStatus: number; text: string }
  | { type: "ambiguous"; reason: AmbiguousReason; httpStatus?: number; message: string; response?: unknown }
  | { type: "circuit_open"; retryAfterMs: number };

interface ResultInfo {
  resultStatus: string;
  resultCode: string;
  resultMsg: string;
}

function readResultInfo(body: Record<string, unknown>): ResultInfo | null {
  const info = body.resultInfo;
  if (typeof info !== "object" || info === null) return null;
  const { resultStatus, resultCode, resultMsg } = info as Record<string, unknown>;
  if (typeof resultStatus !== "string" || typeof resultCode !== "string") return null;
  return { resultStatus, resultCode, resultMsg: typeof resultMsg === "string" ? resultMsg : "" };
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function assertId(name: string, value: string): void {
  if (typeof value !== "string" || !ID_PATTERN.test(value)) {
    throw new TypeError(`${name} must be 1-50 chars of A-Z a-z 0-9 @ . _ - (Paytm rule)`);
  }
}

function failureFromTransport(t: Exclude<Transport, { type: "response" }>, attempts: number): PaytmFailure {
  switch (t.type) {
    case "invalid_signature":
      return { ok: false, kind: "invalid_signature", httpStatus: t.httpStatus, resultCode: t.resultCode };
    case "rejected":
      return { ok: false, kind: "declined", httpStatus: t.httpStatus, resultCode: `HTTP_${t.httpStatus}`, resultMsg: t.text.slice(0, 200) };
    case "ambiguous":
      return { ok: false, kind: "ambiguous", reason: t.reason, httpStatus: t.httpStatus, message: t.message, attempts };
    case "circuit_open":
      return { ok: false, kind: "circuit_open", retryAfterMs: t.retryAfterMs };
  }
}

const POSITIVE_STATUSES = new Set(["S", "PENDING", "TXN_SUCCESS"]);

function isTxnStatus(status: string): status is PaytmTxnStatus {
  return status === "TXN_SUCCESS" || status === "TXN_FAILURE" || status === "PENDING";
}

type PaytmResponse = Extract<Transport, { type: "response" }>;

function ambiguous(r: PaytmResponse, reason: AmbiguousReason): PaytmFailure {
  return {
    ok: false,
    kind: "ambiguous",
    reason,
    httpStatus: r.httpStatus,
    message: `${r.resultStatus} ${r.resultCode} ${r.resultMsg}`,
    attempts: 1,
  };
}

function declined(r: PaytmResponse): PaytmFailure {
  return {
    ok: false,
    kind: "declined",
    httpStatus: r.httpStatus,
    resultStatus: r.resultStatus,
    resultCode: r.resultCode,
    resultMsg: r.resultMsg,
  };
}

export function createPaytmClient(config: PaytmClientConfig): PaytmClient {
  if (!config.mid) throw new TypeError("Paytm mid is required");
  if (!config.website) throw new TypeError("Paytm website is required");
  if (!isUsableMerchantKey(config.merchantKey)) {
    throw new TypeError("Paytm merchantKey must be 16, 24 or 32 bytes of UTF-8");
  }
  const hostUrl = new URL(config.host);
  if (hostUrl.protocol !== "https:" && hostUrl.protocol !== "http:") throw new TypeError("Paytm host must be http(s)");
  const host = hostUrl.origin + hostUrl.pathname.replace(/\/+$/, "");

  const { mid, merchantKey, website } = config;
  const doFetch = config.fetch ?? ((input: Parameters<typeof fetch>[0], init?: RequestInit) => fetch(input, init));
  const budgetMs = Math.min(config.totalBudgetMs ?? MAX_BUDGET_MS, MAX_BUDGET_MS);
  const timeoutMs = Math.min(config.timeoutMs ?? 10_000, budgetMs);
  const retries = Math.max(0, Math.floor(config.retries ?? 2));
  const failureThreshold = config.breaker?.failureThreshold ?? 5;
  const openMs = config.breaker?.openMs ?? 30_000;
  const now = config.now ?? (() => Date.now());
  const sleep = config.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const breaker = breakerFor(`${host}|${mid}`);

  function emit(entry: PaytmCallLog): void {
    if (!config.log) return;
    try {
      config.log(entry);
    } catch {
      // Logging must never change a payment outcome.
    }
  }

  /** Breaker gate: null when the call may proceed. */
  function breakerGate(): Transport | null {
    const t = now();
    if (breaker.openUntil === 0) return null;
    if (t < breaker.openUntil || breaker.probeInFlight) {
      return { type: "circuit_open", retryAfterMs: Math.max(0, breaker.openUntil - t) };
    }
    breaker.probeInFlight = true; // half-open: exactly one probe
    return null;
  }

  function recordOutcome(failed: boolean): void {
    breaker.probeInFlight = false;
    if (!failed) {
      breaker.consecutiveFailures = 0;
      breaker.openUntil = 0;
      return;
    }
    breaker.consecutiveFailures++;
    if (breaker.openUntil !== 0 || breaker.consecutiveFailures >= failureThreshold) {
      breaker.openUntil = now() + openMs;
    }
  }

  async function attempt(path: string, text: string, attemptTimeoutMs: number): Promise<Transport> {
    const gate = breakerGate();
    if (gate) return gate;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, attemptTimeoutMs);
    let httpStatus: number | undefined;
    let responseText: string;
    try {
      const response = await doFetch(`${host}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: text,
        signal: controller.signal,
      });
      httpStatus = response.status;
      responseText = await response.text();
    } catch (error) {
      recordOutcome(true);
      return timedOut
        ? { type: "ambiguous", reason: "timeout", httpStatus, message: `no response within ${attemptTimeoutMs} ms` }
        : { type: "ambiguous", reason: "network", httpStatus, message: (error as Error)?.message ?? String(error) };
    } finally {
      clearTimeout(timer);
    }

    const status = httpStatus ?? 0;
    if (status >= 500 || status === 408 || status === 429) {
      recordOutcome(true);
      return {
        type: "ambiguous",
        reason: "http_status",
        httpStatus: status,
        message: `HTTP ${status}`,
        response: responseText.slice(0, 1000),
      };
    }

    // Peek (unverified) at resultInfo: it decides whether a signature is mandatory, and a failed
    // verification still reports the code (a wrong merchant key shows up as 2005/227 here).
    let resultStatus: string | undefined;
    let unverifiedCode: string | undefined;
    try {
      const peek = JSON.parse(responseText) as { body?: { resultInfo?: { resultStatus?: unknown; resultCode?: unknown } } };
      const rs = peek?.body?.resultInfo?.resultStatus;
      const rc = peek?.body?.resultInfo?.resultCode;
      resultStatus = typeof rs === "string" ? rs : undefined;
      unverifiedCode = typeof rc === "string" ? rc : undefined;
    } catch {
      // handled below
    }
    const envelope = await verifyEnvelope(responseText, merchantKey, {
      requireSignature: resultStatus === undefined || POSITIVE_STATUSES.has(resultStatus),
    });
    if (!envelope.ok) {
      if (envelope.reason === "malformed") {
        if (status >= 400) {
          recordOutcome(false);
          return { type: "rejected", httpStatus: status, text: responseText };
        }
        recordOutcome(true);
        return {
          type: "ambiguous",
          reason: "malformed",
          httpStatus: status,
          message: "response is not a Paytm envelope",
          response: responseText.slice(0, 1000),
        };
      }
      recordOutcome(false);
      return { type: "invalid_signature", httpStatus: status, resultCode: unverifiedCode, response: responseText.slice(0, 1000) };
    }
    const info = readResultInfo(envelope.body);
    if (!info) {
      recordOutcome(true);
      return { type: "ambiguous", reason: "malformed", httpStatus: status, message: "body.resultInfo missing", response: envelope.body };
    }
    recordOutcome(false);
    return { type: "response", httpStatus: status, signed: envelope.signed, body: envelope.body, ...info };
  }

  /**
   * One logical call: sign once, attempt, map, log each attempt; retry only `safeToRepeat` calls and
   * only while the mapped result is ambiguous and the budget allows.
   */
  async function call<R extends { ok: true }>(opts: {
    endpoint: PaytmEndpoint;
    path: string;
    body: Record<string, unknown>;
    orderId: string;
    refId?: string;
    safeToRepeat: boolean;
    map: (response: PaytmResponse) => R | PaytmFailure;
  }): Promise<R | PaytmFailure> {
    const { text } = await signedEnvelope(opts.body, merchantKey);
    const requestForLog = redact({ head: { signature: "" }, body: opts.body }, merchantKey);
    const started = now();
    const maxAttempts = opts.safeToRepeat ? 1 + retries : 1;
    let result: R | PaytmFailure = { ok: false, kind: "ambiguous", reason: "timeout", message: "budget exhausted", attempts: 0 };
    for (let n = 1; n <= maxAttempts; n++) {
      const remaining = budgetMs - (now() - started);
      if (n > 1 && remaining < 50) break;
      const attemptStart = now();
      const transport = await attempt(opts.path, text, Math.min(timeoutMs, Math.max(remaining, 1)));
      result = transport.type === "response" ? opts.map(transport) : failureFromTransport(transport, n);
      if (!result.ok && result.kind === "ambiguous") result = { ...result, attempts: n };
      emit({
        endpoint: opts.endpoint,
        orderId: opts.orderId,
        refId: opts.refId,
        attempt: n,
        httpStatus: transport.type === "circuit_open" ? undefined : transport.httpStatus,
        resultStatus: transport.type === "response" ? transport.resultStatus : undefined,
        resultCode:
          transport.type === "response" ? transport.resultCode : transport.type === "invalid_signature" ? transport.resultCode : undefined,
        outcome: result.ok ? "ok" : result.kind,
        latencyMs: now() - attemptStart,
        error: transport.type === "ambiguous" ? `${transport.reason}: ${transport.message}` : undefined,
        request: requestForLog,
        response:
          transport.type === "response"
            ? redact(transport.body, merchantKey)
            : transport.type === "circuit_open" || transport.type === "rejected"
              ? undefined
              : redactText(transport.response, merchantKey),
      });
      if (result.ok || result.kind !== "ambiguous" || n === maxAttempts) break;
      // Exponential backoff with jitter, inside the budget.
      const backoff = Math.min(2_000, 200 * 2 ** (n - 1)) * (0.5 + Math.random() / 2);
      if (budgetMs - (now() - started) < backoff + 50) break;
      await sleep(backoff);
    }
    return result;
  }

  return {
    mid,
    host,

    async initiateTransaction(input) {
      assertId("orderId", input.orderId);
      if (!input.customerId || input.customerId.length > 64) throw new TypeError("customerId must be 1-64 chars");
      const callback = new URL(input.callbackUrl);
      if (callback.protocol !== "https:" && callback.protocol !== "http:") throw new TypeError("callbackUrl must be http(s)");
      const amount = paiseToRupees(input.amountPaise);
      const userInfo: Record<string, string> = { custId: input.customerId };
      if (input.mobile) userInfo.mobile = input.mobile;
      if (input.email) userInfo.email = input.email;
      const body: Record<string, unknown> = {
        requestType: "Payment",
        mid,
        websiteName: website,
        orderId: input.orderId,
        callbackUrl: input.callbackUrl,
        txnAmount: { value: amount, currency: "INR" },
        userInfo,
      };
      if (input.merchantUniqueRef) body.extendInfo = { mercUnqRef: input.merchantUniqueRef };
      const query = `mid=${encodeURIComponent(mid)}&orderId=${encodeURIComponent(input.orderId)}`;
      return call<Extract<InitiateTransactionResult, { ok: true }>>({
        endpoint: "initiateTransaction",
        path: `/theia/api/v1/initiateTransaction?${query}`,
        body,
        orderId: input.orderId,
        safeToRepeat: false,
        map: (r) => {
          if (r.resultStatus === "S") {
            const txnToken = str(r.body.txnToken);
            if (!txnToken)
              return {
                ok: false,
                kind: "declined",
                resultStatus: r.resultStatus,
                resultCode: r.resultCode,
                resultMsg: "MISSING_TXN_TOKEN",
              };
            return {
              ok: true,
              orderId: input.orderId,
              txnToken,
              idempotent: r.resultCode === "0002",
              amount,
              resultCode: r.resultCode,
              resultMsg: r.resultMsg,
            };
          }
          if (r.resultStatus === "U") return ambiguous(r, "unknown_result");
          if (INITIATE_DUPLICATE_CODES.has(r.resultCode))
            return { ok: false, kind: "duplicate", resultCode: r.resultCode, resultMsg: r.resultMsg };
          if (GATEWAY_ERROR_CODES.has(r.resultCode)) {
            // "System error": we cannot tell whether the order was created. A wrong websiteName
            // also answers 501 (docs/payments.md §1.1), so a 501 that repeats is configuration, not an outage.
            return ambiguous(r, "gateway_error");
          }
          return declined(r);
        },
      });
    },

    async orderStatus(orderId) {
      assertId("orderId", orderId);
      return call<Extract<OrderStatusResult, { ok: true }>>({
        endpoint: "orderStatus",
        path: "/v3/order/status",
        // Head must be {signature} only: tokenType/timestamp here give 227 (docs/payments.md §1.6).
        body: { mid, orderId },
        orderId,
        safeToRepeat: true,
        map: (r) => {
          const b = r.body;
          const echoesOrder = str(b.orderId) === orderId && (b.mid === undefined || b.mid === mid);
          const status = r.resultStatus;
          if (!echoesOrder || !isTxnStatus(status)) {
            // Request-level answers (unknown order, checksum error, system error) do not describe
            // our order; only a response that echoes mid/orderId may say paid or failed.
            if (r.resultStatus === "TXN_SUCCESS") return ambiguous(r, "response_mismatch");
            if (ORDER_NOT_FOUND_CODES.has(r.resultCode))
              return { ok: false, kind: "not_found", resultCode: r.resultCode, resultMsg: r.resultMsg };
            if (r.resultStatus === "PENDING" || GATEWAY_ERROR_CODES.has(r.resultCode)) return ambiguous(r, "gateway_error");
            return declined(r);
          }
          const txnAmount = str(b.txnAmount);
          return {
            ok: true,
            orderId,
            status,
            resultCode: r.resultCode,
            resultMsg: r.resultMsg,
            txnId: str(b.txnId),
            bankTxnId: str(b.bankTxnId),
            txnAmount,
            amountPaise: rupeesToPaise(txnAmount),
            refundedPaise: rupeesToPaise(str(b.refundAmt)),
            paymentMode: str(b.paymentMode),
            gatewayName: str(b.gatewayName),
            bankName: str(b.bankName),
            txnDate: str(b.txnDate),
            signed: r.signed,
            body: b,
          };
        },
      });
    },

    async refundApply(input) {
      assertId("orderId", input.orderId);
      assertId("refId", input.refId);
      if (!input.txnId || input.txnId.length > 64) throw new TypeError("txnId must be 1-64 chars");
      const refundAmount = paiseToRupees(input.amountPaise);
      const body: Record<string, unknown> = {
        mid,
        txnType: "REFUND",
        orderId: input.orderId,
        txnId: input.txnId,
        refId: input.refId,
        refundAmount,
      };
      if (input.comments) body.comments = input.comments.slice(0, 200);
      return call<Extract<RefundApplyResult, { ok: true }>>({
        endpoint: "refundApply",
        path: "/refund/apply",
        body,
        orderId: input.orderId,
        refId: input.refId,
        safeToRepeat: false,
        map: (r) => {
          const b = r.body;
          if (r.resultStatus === "PENDING" || r.resultStatus === "TXN_SUCCESS") {
            if (b.refId !== undefined && b.refId !== input.refId) return ambiguous(r, "response_mismatch");
            return {
              ok: true,
              orderId: input.orderId,
              refId: input.refId,
              status: r.resultStatus,
              refundId: str(b.refundId),
              refundAmountPaise: rupeesToPaise(str(b.refundAmount)),
              resultCode: r.resultCode,
              resultMsg: r.resultMsg,
              body: b,
            };
          }
          // "Already raised" means "go read the status", never "failed" (docs/payments.md §1.7).
          if (REFUND_DUPLICATE_CODES.has(r.resultCode))
            return { ok: false, kind: "duplicate", resultCode: r.resultCode, resultMsg: r.resultMsg };
          if (r.resultStatus === "U" || GATEWAY_ERROR_CODES.has(r.resultCode)) return ambiguous(r, "gateway_error");
          return declined(r);
        },
      });
    },

    async refundStatus({ orderId, refId }) {
      assertId("orderId", orderId);
      assertId("refId", refId);
      return call<Extract<RefundStatusResult, { ok: true }>>({
        endpoint: "refundStatus",
        path: "/v2/refund/status",
        body: { mid, orderId, refId },
        orderId,
        refId,
        safeToRepeat: true,
        map: (r) => {
          const b = r.body;
          const echoesRefund = str(b.refId) === refId && (b.orderId === undefined || b.orderId === orderId);
          const status = r.resultStatus;
          if (!echoesRefund || !isTxnStatus(status)) {
            if (r.resultStatus === "TXN_SUCCESS") return ambiguous(r, "response_mismatch");
            if (REFUND_NOT_FOUND_CODES.has(r.resultCode))
              return { ok: false, kind: "not_found", resultCode: r.resultCode, resultMsg: r.resultMsg };
            if (r.resultStatus === "PENDING" || GATEWAY_ERROR_CODES.has(r.resultCode)) return ambiguous(r, "gateway_error");
            return declined(r);
          }
          return {
            ok: true,
            orderId,
            refId,
            status,
            refundId: str(b.refundId),
            refundAmountPaise: rupeesToPaise(str(b.refundAmount)),
            totalRefundAmountPaise: rupeesToPaise(str(b.totalRefundAmount)),
            resultCode: r.resultCode,
            resultMsg: r.resultMsg,
            signed: r.signed,
            body: b,
          };
        },
      });
    },
  };
}
