import type { DeclaredRoute } from "../http/route-limits";

/** What the workers check before the refunds routes' handlers run (src/http/route-limits.ts). */

/**
 * Paytm's servers post refund notifications: few source addresses for many users' refunds, so
 * API_LIMITER's per-address budget does not apply (as for the payment webhook, src/payments/limits.ts).
 * The handler checks Paytm's signature before it believes a field.
 */
export const PAYTM_REFUND_WEBHOOK: DeclaredRoute = {
  method: "POST",
  path: "/api/payments/paytm-refund-webhook",
  limits: { rateLimit: "exempt" },
};
