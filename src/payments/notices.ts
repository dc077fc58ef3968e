import { AppError } from "../http/errors";
import { paymentOrderStub } from "../lib/durable-objects";
import { type FormNotificationResult, verifyFormNotification, verifyPaytmNotification } from "../paytm/notification";
import type { PaytmWebhookData } from "../refunds/schemas";
import { receiveRefundNotice } from "../refunds/webhook";
import { recordEvent, recordSecurityEvent } from "./audit";
import type { PaymentRequest } from "./context";
import { orderByPaytmId } from "./orders";
import type { ConfirmOutcome, NotificationOutcome } from "./payment-order";

/**
 * What Paytm tells us without being asked: the browser callback (a form POST from the customer's
 * WebView) and the server-to-server webhook (payments: form-encoded; refunds: signed JSON, handed to
 * the refunds capability's one flow for it). Both are hints: a checksum-verified payment notice goes
 * to its order's Durable Object, which deduplicates it and confirms with the status API. Forged or
 * unsigned ones are 401 and a security event; they never reach the order.
 */

type Source = "callback" | "webhook";

type Hint = { ok: true; outcome: NotificationOutcome } | { ok: false; status: 400 | 401; reason: string };

const NOTHING: NotificationOutcome = { duplicate: false, result: null };

async function paymentHint(req: PaymentRequest, source: Source, verified: FormNotificationResult, text: string): Promise<Hint> {
  const db = req.db;
  if (!verified.ok) {
    const claimed = /(?:^|&)ORDERID=([^&]{1,100})/.exec(text)?.[1];
    const forged = verified.reason === "invalid_signature" || verified.reason === "missing_checksum";
    await recordSecurityEvent(db, {
      kind: "forged_checksum",
      paytmOrderId: claimed ? decodeURIComponent(claimed.replace(/\+/g, " ")) : null,
      ip: req.client.ip,
      details: { source, reason: verified.reason },
    });
    return { ok: false, status: forged ? 401 : 400, reason: verified.reason };
  }
  const f = verified.fields;
  const order = await orderByPaytmId(db, f.ORDERID);
  if (!order) {
    await recordSecurityEvent(db, {
      kind: "unknown_order",
      paytmOrderId: f.ORDERID,
      ip: req.client.ip,
      details: { source, status: f.STATUS },
    });
    return { ok: true, outcome: NOTHING };
  }
  const outcome = await paymentOrderStub(req.env, order.paytmOrderId).notification(order.paytmOrderId, {
    source,
    status: f.STATUS,
    mid: f.MID,
    txnId: f.TXNID,
    amountPaise: verified.amountPaise,
    ip: req.client.ip,
  });
  return { ok: true, outcome };
}

/** The callback's answer to the customer's browser: refused (forged), or what the order's object concluded, if anything. */
export type CallbackResult = { ok: false; status: 400 | 401 } | { ok: true; result: ConfirmOutcome | null };

/**
 * The browser callback (docs/payments.md §1.4): no IP allow-list, it comes from the customer's browser.
 * `text`: the form body, or the query string of a callback re-submitted as GET.
 */
export async function receiveCallback(req: PaymentRequest, text: string): Promise<CallbackResult> {
  try {
    const hint = await paymentHint(req, "callback", await verifyFormNotification(text, req.config.PAYTM_MERCHANT_KEY), text);
    return hint.ok ? { ok: true, result: hint.outcome.result } : { ok: false, status: hint.status };
  } catch (err) {
    // The callback is only a hint: whatever failed here, verify and reconciliation still settle the order.
    req.log.error("paytm callback processing failed", { error: err instanceof Error ? err.message : String(err) });
    return { ok: true, result: null };
  }
}

/**
 * Paytm's server-to-server webhook, at either of its URLs (/paytm-webhook, /paytm-refund-webhook):
 * one encoding per kind, told apart by Content-Type (docs/payments.md §1.5). A failure is a 5xx on purpose:
 * Paytm retries, and nothing was marked seen.
 */
export async function receiveWebhook(req: PaymentRequest, text: string, contentType: string | null): Promise<PaytmWebhookData> {
  const cfg = req.config;
  const ip = req.client.ip;
  if (cfg.PAYTM_WEBHOOK_IPS.length > 0 && (!ip || !cfg.PAYTM_WEBHOOK_IPS.includes(ip))) {
    await recordSecurityEvent(req.db, {
      kind: "forged_checksum",
      ip,
      details: { source: "webhook", reason: "ip_not_allowed", route: req.route },
    });
    throw new AppError("FORBIDDEN", "Forbidden");
  }
  const verified = await verifyPaytmNotification(contentType, text, cfg.PAYTM_MERCHANT_KEY);
  if (verified.kind === "refund") return receiveRefundNotice({ db: req.db, env: req.env, config: cfg, ip }, verified);
  if (verified.kind === "other_json") {
    await recordEvent(req.db, { orderId: null, source: "webhook", eventType: "unrecognised_webhook", payload: verified.body });
    return { received: true, duplicate: false };
  }
  const hint = await paymentHint(req, "webhook", verified, text);
  if (!hint.ok) throw new AppError("INVALID_SIGNATURE", "Invalid webhook signature", { status: hint.status });
  return { received: true, duplicate: hint.outcome.duplicate };
}
