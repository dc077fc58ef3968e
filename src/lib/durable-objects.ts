/**
 * Addresses of Durable Objects that more than one capability calls: payments (initiation, callbacks,
 * reconciliation) and refunds (requests, the queue, the poll) reach an order's PaymentOrder through
 * its binding and RPC methods, without importing each other or the class (src/payments/payment-order.ts).
 */

/**
 * Where a new PaymentOrder object is created. Its work is the database (Neon, aws:ap-southeast-1) and
 * Paytm (India), both in Asia-Pacific. An object is created near the first caller of get() unless
 * hinted, and never moves afterwards: orders are first touched by the placed core worker (next to Neon)
 * when a payment is initiated, but placement moves only fetch handlers, so a cron or queue consumer
 * touching an order first would create it wherever that handler ran. Hints are coarse regions; "apac"
 * is the one holding both. The hint applies only when an object is created (docs/architecture.md).
 */
export const PAYMENT_ORDER_LOCATION: DurableObjectLocationHint = "apac";

/** The order's object, named by its Paytm orderId. */
export function paymentOrderStub(env: Env, paytmOrderId: string) {
  return env.PAYMENT_ORDER.get(env.PAYMENT_ORDER.idFromName(paytmOrderId), { locationHint: PAYMENT_ORDER_LOCATION });
}
