import type { MiddlewareHandler } from "hono";
import { clientIp } from "../lib/client-ip";
import { verifiedClaims } from "./auth";
import type { AppContext, AppEnv } from "./context";
import { AppError } from "./errors";
import { limitsOf } from "./route-limits";

/**
 * Global API rate limit (API_LIMITER in wrangler.toml: 300 requests per 60 s per key), a ceiling for
 * abuse, far above what the apps send. Route-specific limits (AUTH_LIMITER on login/OTP, PAYMENT_LIMITER
 * on initiation) stay where they are and are stricter.
 *
 * Key: the subject of a bearer token that verifies (signature, issuer, expiry: a local HMAC, done once
 * per request and reused by requireAuth), else CF-Connecting-IP. A token that fails verification buys
 * no identity, so a forged `sub` can neither spend its victim's budget nor, varied per request, escape
 * the address ceiling. An expired token counts against its address too, though its signature is
 * genuine: it no longer authorises anything, and a leaked old token would otherwise let anyone pin its
 * owner's budget forever; its owner's app spends one request of its address on the 401 and refreshes.
 *
 * Not limited: paths outside /api/ (Socket.IO has its own handshake limit, health checks, media), and
 * routes that declare `rateLimit: "exempt"` (src/http/route-limits.ts: Paytm's callback, webhooks and
 * checkout page, src/payments/limits.ts). Nor requests without CF-Connecting-IP and a valid token (only
 * local tools and tests: Cloudflare always sets the header at the edge, and a client cannot set or remove
 * it there), nor the `development` environment, where `npm run dev` and `npm run bench` drive the worker
 * from one address.
 */
const RETRY_AFTER_SECONDS = 60; // the binding's period

export const apiRateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.req.path.startsWith("/api/") || limitsOf(c).rateLimit === "exempt") return next();
  if (c.get("config").ENVIRONMENT === "development") return next();
  const key = await keyOf(c);
  if (!key) return next();
  const { success } = await c.env.API_LIMITER.limit({ key });
  if (!success)
    throw new AppError("RATE_LIMITED", "Too many requests. Please slow down and try again in a minute.", {
      retryAfter: RETRY_AFTER_SECONDS,
    });
  return next();
};

async function keyOf(c: AppContext): Promise<string | undefined> {
  if (c.req.header("authorization")) {
    const claims = await verifiedClaims(c).catch(() => undefined);
    if (claims) return `u:${claims.sub}`;
  }
  const ip = clientIp(c);
  return ip ? `ip:${ip}` : undefined;
}
