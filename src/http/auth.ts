import { and, eq, isNull } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { type AccessClaims, verifyAccessToken } from "../auth/jwt";
import { sessions, users } from "../db/schema";
import type { AppContext, AppEnv, Principal } from "./context";
import { AppError } from "./errors";
import { type Access, META } from "./meta";

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
          (error: unknown) => ({ error }),
        )
      : Promise.resolve({ error: new AppError("UNAUTHORIZED", "Access denied. No token provided.") });
    c.set("bearer", check);
  }
  const outcome = await check;
  if ("error" in outcome) throw outcome.error;
  return outcome.claims;
}

/**
 * Bearer authentication in at most one database round trip: the JWT is checked locally, then one
 * query confirms the session is live and reads the role that counts (the database's, not the token's).
 * `roles` narrows access; admins are not implicitly allowed into user or provider routes.
 */
export function requireAuth(...roles: Role[]): MiddlewareHandler<AppEnv> {
  const mw: MiddlewareHandler<AppEnv> = async (c, next) => {
    const claims = await verifiedClaims(c);
    const [row] = await c
      .get("db")
      .http.select({ role: users.role })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.id, claims.sid), eq(sessions.userId, claims.sub), isNull(sessions.revokedAt), isNull(users.deletedAt)))
      .limit(1);
    if (!row) throw new AppError("INVALID_TOKEN", "Session is no longer valid");
    if (roles.length > 0 && !roles.includes(row.role)) throw new AppError("FORBIDDEN", "Access forbidden");
    c.set("principal", { userId: claims.sub, role: row.role, sessionId: claims.sid, jti: claims.jti });
    await next();
  };
  const access: Access[] = roles.length ? roles : ["authenticated"];
  return Object.assign(mw, { [META]: { access } });
}

/** The authenticated principal; only valid after requireAuth in the chain. */
export function principalOf(c: { get(key: "principal"): Principal | undefined }): Principal {
  const p = c.get("principal");
  if (!p) throw new AppError("UNAUTHORIZED", "Authentication required");
  return p;
}
