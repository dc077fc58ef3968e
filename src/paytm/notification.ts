// Inbound Paytm messages: the browser callback and the S2S payment webhook are form-encoded
// key/value pairs signed with the params algorithm; refund webhooks are signed JSON envelopes
// (docs/payments.md §1.4, §1.5). Read the request body once as text (hono#5365/#5383) and hand
// that text here; for a callback re-submitted as GET, pass the query string.
//
// A verified callback is still only a hint: it comes from the user's browser, carries no nonce or
// timestamp, and can be replayed. Confirm with /v3/order/status before marking anything paid.

import { z } from "zod";
import { rupeesToPaise } from "./amount";
import { type PaytmParams, verifySignature } from "./checksum";
import { verifyEnvelope } from "./envelope";

export class PaytmNotificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PaytmNotificationError";
  }
}

/**
 * application/x-www-form-urlencoded text → record (null prototype, so a `__proto__` field is just a
 * field). URLSearchParams decodes '+' as a space, which is correct for a properly encoded
 * CHECKSUMHASH. A repeated field name throws: Paytm never repeats one, and "which copy did they
 * sign?" has no safe answer.
 */
export function parseFormNotification(text: string): Record<string, string> {
  const record: Record<string, string> = Object.create(null);
  for (const [name, value] of new URLSearchParams(text.startsWith("?") ? text.slice(1) : text)) {
    if (Object.hasOwn(record, name)) throw new PaytmNotificationError(`duplicate field ${name}`);
    record[name] = value;
  }
  return record;
}

const rupeeAmount = z.string().refine((v) => rupeesToPaise(v) !== null, 'not a rupee amount like "99.00"');

/** Callback / S2S payment webhook fields we act on; Paytm sends more, which are kept in `raw`. */
export const paytmPaymentNotificationSchema = z
  .object({
    MID: z.string().min(1),
    ORDERID: z.string().min(1).max(50),
    TXNID: z.string().optional(),
    TXNAMOUNT: rupeeAmount.optional(),
    STATUS: z.enum(["TXN_SUCCESS", "TXN_FAILURE", "PENDING"]),
    RESPCODE: z.string(),
    RESPMSG: z.string(),
    CURRENCY: z.string().optional(),
    PAYMENTMODE: z.string().optional(),
    TXNDATE: z.string().optional(),
    GATEWAYNAME: z.string().optional(),
    BANKTXNID: z.string().optional(),
    BANKNAME: z.string().optional(),
    CUSTID: z.string().optional(),
    MERC_UNQ_REF: z.string().optional(),
    CHECKSUMHASH: z.string().min(1),
  })
  .superRefine((value, ctx) => {
    if (value.STATUS === "TXN_SUCCESS" && (!value.TXNID || !value.TXNAMOUNT)) {
      ctx.addIssue({ code: "custom", message: "TXN_SUCCESS without TXNID/TXNAMOUNT" });
    }
  });

export type PaytmPaymentNotification = z.infer<typeof paytmPaymentNotificationSchema>;

export type FormNotificationResult =
  | { ok: true; fields: PaytmPaymentNotification; amountPaise: number | null; raw: Record<string, string> }
  | { ok: false; reason: "malformed" | "missing_checksum" | "invalid_signature" | "invalid_fields"; message: string };

/** Parse, verify CHECKSUMHASH over every received field, then validate the fields we use. */
export async function verifyFormNotification(text: string, merchantKey: string): Promise<FormNotificationResult> {
  let raw: Record<string, string>;
  try {
    raw = parseFormNotification(text);
  } catch (error) {
    return { ok: false, reason: "malformed", message: (error as Error).message };
  }
  const checksum = raw.CHECKSUMHASH;
  if (!checksum) return { ok: false, reason: "missing_checksum", message: "CHECKSUMHASH missing" };
  if (!(await verifySignature(raw as PaytmParams, merchantKey, checksum))) {
    return { ok: false, reason: "invalid_signature", message: "CHECKSUMHASH does not match" };
  }
  const parsed = paytmPaymentNotificationSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: "invalid_fields", message: z.prettifyError(parsed.error) };
  return { ok: true, fields: parsed.data, amountPaise: rupeesToPaise(parsed.data.TXNAMOUNT), raw };
}

/** Refund webhook body ("Accept Refund" / "Success Refund", docs/payments.md §1.5). */
export const paytmRefundNotificationSchema = z.looseObject({
  mid: z.string().optional(),
  orderId: z.string().min(1),
  refId: z.string().min(1),
  refundId: z.string().optional(),
  txnId: z.string().optional(),
  txnAmount: rupeeAmount.optional(),
  refundAmount: rupeeAmount,
  totalRefundAmount: rupeeAmount.optional(),
  status: z.string().min(1),
  refundReason: z.string().optional(),
  rejectRefundReasonCode: z.string().optional(),
  rejectRefundReasonMessage: z.string().optional(),
  txnTimestamp: z.string().optional(),
  merchantRefundRequestTimestamp: z.string().optional(),
  acceptRefundTimestamp: z.string().optional(),
  userCreditInitiateTimestamp: z.string().optional(),
});

export type PaytmRefundNotification = z.infer<typeof paytmRefundNotificationSchema>;

export type RefundNotificationResult =
  | { ok: true; body: PaytmRefundNotification; refundAmountPaise: number }
  | { ok: false; reason: "malformed" | "missing_checksum" | "invalid_signature" | "invalid_fields"; message: string };

function refundFromBody(body: Record<string, unknown>): RefundNotificationResult {
  const parsed = paytmRefundNotificationSchema.safeParse(body);
  if (!parsed.success) return { ok: false, reason: "invalid_fields", message: z.prettifyError(parsed.error) };
  return { ok: true, body: parsed.data, refundAmountPaise: rupeesToPaise(parsed.data.refundAmount) ?? 0 };
}

export async function verifyRefundNotification(text: string, merchantKey: string): Promise<RefundNotificationResult> {
  const envelope = await verifyEnvelope(text, merchantKey, { requireSignature: true });
  if (!envelope.ok) {
    const reason = envelope.reason === "missing_signature" ? "missing_checksum" : envelope.reason;
    return { ok: false, reason, message: `refund webhook ${envelope.reason}` };
  }
  return refundFromBody(envelope.body);
}

export type PaytmNotification =
  | ({ kind: "payment" } & FormNotificationResult)
  | ({ kind: "refund" } & RefundNotificationResult)
  // A verified JSON envelope that is not a refund (agent-skills describes JSON payment webhooks;
  // the official pages say form-encoded). Log it and confirm with /v3/order/status.
  | { kind: "other_json"; ok: true; body: Record<string, unknown> };

/**
 * One webhook route, two encodings: switch on Content-Type (docs/payments.md §1.5: payment webhooks are
 * form-encoded, refund webhooks JSON; "Conflict" note on JSON payment webhooks).
 */
export async function verifyPaytmNotification(contentType: string | null, text: string, merchantKey: string): Promise<PaytmNotification> {
  const json = (contentType ?? "").toLowerCase().includes("json") || text.trimStart().startsWith("{");
  if (!json) return { kind: "payment", ...(await verifyFormNotification(text, merchantKey)) };
  const envelope = await verifyEnvelope(text, merchantKey, { requireSignature: true });
  if (!envelope.ok) {
    const reason = envelope.reason === "missing_signature" ? "missing_checksum" : envelope.reason;
    return { kind: "refund", ok: false, reason, message: `JSON webhook ${envelope.reason}` };
  }
  if ("refId" in envelope.body) return { kind: "refund", ...refundFromBody(envelope.body) };
  return { kind: "other_json", ok: true, body: envelope.body };
}
