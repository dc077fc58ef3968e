import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { AppError } from "./errors";

/**
 * Global API rate limit (API_LIMITER in wrangler.toml: 300 requests per 60 s per key), a ceiling for
 * abuse, far above what the apps send. Route-specific limits (AUTH_LIMITER on login/OTP, PAYMENT_LIMITER
 * on initiation) stay where they are and are stricter.
 *
 * Key: the bearer token's `sub` when the request carries a JWT-shaped token, else CF-Connecting-IP.
 * The token is decoded, not verified: a forged `sub` only buys a trip to requireAuth's local signature
 * check (a 401 without a database round trip), so it cannot be used to spend someone else's budget
 * usefully, and verifying twice would cost every request an HMAC.
 *
 * Not limited: Paytm's server-to-server traffic (callback, webhook, checkout page: few source IPs, many
 * orders), Socket.IO long-polling (its own session rules), health checks and media. Nor requests without
 * CF-Connecting-IP and token (only local tools; Cloudflare always sets the header at the edge), nor the
 * `development` environment, where `npm run dev` and `npm run bench` drive the worker from one address.
 */
const EXEMPT = /^\/api\/payments\/(paytm-callback|paytm-webhook|checkout\/)/;
const RETRY_AFTER_SECONDS = 60; // the binding's period

export const apiRateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.req.path.startsWith("/api/") || EXEMPT.test(c.req.path)) return next();
  if (c.get("config").ENVIRONMENT === "development") return next();
  const key = keyOf(c.req.header("authorization"), c.req.header("cf-connecting-ip"));
  if (!key) return next();
  const { success } = await c.env.API_LIMITER.limit({ key });
  if (!success)
    throw new AppError("RATE_LIMITED", "Too many requests. Please slow down and try again in a minute.", {
      retryAfter: RETRY_AFTER_SECONDS,
    });
  return next();
};

export function keyOf(authorization: string | undefined, ip: string | undefined): string | undefined {
  const sub = authorization ? subjectOf(authorization) : undefined;
  if (sub) return `u:${sub}`;
  return ip ? `ip:${ip}` : undefined;
}

function subjectOf(authorization: string): string | undefined {
  const m = /^Bearer\s+[\w-]+\.([\w-]+)\.[\w-]*\s*$/i.exec(authorization);
  if (!m) return undefined;
  try {
    const payload = JSON.parse(atob(m[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { sub?: unknown };
    return typeof payload.sub === "string" && payload.sub.length <= 64 ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}
