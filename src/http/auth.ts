import { and, eq, isNull } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { verifyAccessToken } from "../auth/jwt";
import { sessions, users } from "../db/schema";
import type { AppEnv, Principal } from "./context";
import { AppError } from "./errors";
import { type Access, META } from "./meta";

type Role = Principal["role"];

/**
 * Bearer authentication in at most one database round trip: the JWT is checked locally, then one
 * query confirms the session is live and reads the role that counts (the database's, not the token's).
 * `roles` narrows access; admins are not implicitly allowed into user or provider routes.
 */
export function requireAuth(...roles: Role[]): MiddlewareHandler<AppEnv> {
  const mw: MiddlewareHandler<AppEnv> = async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(header);
    if (!m) throw new AppError("UNAUTHORIZED", "Access denied. No token provided.");
    const claims = await verifyAccessToken(c.get("config").JWT_SECRET, m[1]!);
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
