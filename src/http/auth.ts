import type { MiddlewareHandler } from "hono";
import { type AccessClaims, TokenError, verifyAccessToken } from "../lib/jwt";
import type { AppContext, AppEnv, Principal } from "./context";
import { AppError } from "./errors";
import { type Access, withMeta } from "./meta";

type Role = Principal["role"];

const BEARER = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i;

/**
 * The claims of the request's bearer token, verified once per request (a local HMAC, no database) and
 * remembered on the context: the global rate limiter keys on them and requireAuth reuses them. Throws
 * UNAUTHORIZED without a bearer token, else the verification's INVALID_TOKEN or TOKEN_EXPIRED.
 */
export async function verifiedClaims(c: AppContext): Promise<AccessClaims> {
  let check = c.get("bearer");
  if (!check) {
    const m = BEARER.exec(c.req.header("authorization") ?? "");
    check = m
      ? verifyAccessToken(c.get("config").JWT_SECRET, m[1]!).then(
          (claims) => ({ claims }),
          (error: unknown) => ({ error: error instanceof TokenError ? new AppError(error.code, error.message) : error }),
        )
      : Promise.resolve({ error: new AppError("UNAUTHORIZED", "Access denied. No token provided.") });
    c.set("bearer", check);
  }
  const outcome = await check;
  if ("error" in outcome) throw outcome.error;
  return outcome.claims;
}

/**
 * Bearer authentication without a round trip of its own: the JWT is checked locally, the role comes
 * from the token (an account's role never changes; the database confirms it), and the session check
 * (live session, account not deleted, role) is armed on the request's database handle, which sends it
 * with the first query the route makes, in the same transaction (src/db/client.ts SessionGuard). A
 * revoked session therefore gets 401 on its very next request, and no data. A route that answers
 * without touching the database still confirms the session before its answer leaves; a route whose
 * first side effect is not a database call (a Durable Object, a queue, R2) calls
 * `db.ensureSession()` first. `roles` narrows access; admins are not implicitly allowed into user or
 * provider routes.
 */
export function requireAuth(...roles: Role[]): MiddlewareHandler<AppEnv> {
  const mw: MiddlewareHandler<AppEnv> = async (c, next) => {
    const claims = await verifiedClaims(c);
    if (roles.length > 0 && !roles.includes(claims.role)) throw new AppError("FORBIDDEN", "Access forbidden");
    const db = c.get("db");
    db.requireSession({ sessionId: claims.sid, userId: claims.sub, role: claims.role });
    c.set("principal", { userId: claims.sub, role: claims.role, sessionId: claims.sid, jti: claims.jti });
    await next();
    // An error answer carries nothing of the account; a success must not leave before the session is confirmed.
    if (!c.error && c.res.status < 400) await db.ensureSession();
  };
  const access: Access[] = roles.length ? roles : ["authenticated"];
  return withMeta(mw, { access });
}

/**
 * Access "signature": no bearer token, because the handler checks a signature before it believes
 * a field. `how` names the signature in the document (`x-signature`). Put it after describe().
 */
function signatureChecked(how: string): MiddlewareHandler<AppEnv> {
  const mw: MiddlewareHandler<AppEnv> = async (_c, next) => {
    await next();
  };
  return withMeta(mw, { access: ["signature"], signature: how });
}

/** Paytm calls it: the handler verifies Paytm's checksum (src/paytm/notification.ts). */
export const signedByPaytm = signatureChecked("Paytm's checksum over the callback's or webhook's fields");

/** The app's WebView opens the link a checkout answered: the handler checks its `sig`, our HMAC of the order id (src/payments/pages.ts). */
export const signedLink = signatureChecked("`sig`: our HMAC of the order id, in the paytmUrl a checkout answered");

/** The authenticated principal; only valid after requireAuth in the chain. */
export function principalOf(c: { get(key: "principal"): Principal | undefined }): Principal {
  const p = c.get("principal");
  if (!p) throw new AppError("UNAUTHORIZED", "Authentication required");
  return p;
}
