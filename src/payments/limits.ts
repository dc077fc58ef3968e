import type { DeclaredRoute } from "../http/route-limits";

/**
 * What the workers check before /api/payments' handlers run (src/http/route-limits.ts).
 *
 * Paytm's flow reaches these without a bearer token, and API_LIMITER's per-address budget does not
 * apply to them: the checkout page and the browser callback run in the app's WebView (a payment must
 * not fail on a 429 halfway through Paytm's pages), the payment and refund webhooks come from Paytm's
 * servers (few source addresses for many users' orders). Each checks the link's signature or Paytm's
 * checksum before it believes a field.
 */
const paytm = (method: DeclaredRoute["method"], path: string): DeclaredRoute => ({
  method,
  path: `/api/payments${path}`,
  limits: { rateLimit: "exempt" },
});

export const PAYTM_CALLBACK = paytm("POST", "/paytm-callback");
/** The callback re-submitted as GET (browser Back). */
export const PAYTM_CALLBACK_AGAIN = paytm("GET", "/paytm-callback");
export const PAYTM_WEBHOOK = paytm("POST", "/paytm-webhook");
/** Paytm's refund-notice URL: the same handler as the payment webhook (payments/notices.ts). */
export const PAYTM_REFUND_WEBHOOK = paytm("POST", "/paytm-refund-webhook");
export const CHECKOUT_PAGE = paytm("GET", "/checkout/:orderId");
