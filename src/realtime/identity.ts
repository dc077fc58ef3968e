import { and, eq, exists, gt, isNull, sql } from "drizzle-orm";
import { createDb, type HttpDb } from "../db/client";
import { type Role, refreshTokens, sessions, users } from "../db/schema";
import { loadConfig } from "../env";
import { AppError } from "../http/errors";
import { TokenError, verifySocketToken } from "../lib/jwt";

export type SocketIdentity = {
  userId: string;
  role: Role;
  sessionId: string;
  /** The access token's `exp` (seconds). Past it, the session's refresh tokens bound how long it is honoured. */
  tokenExpiresAt: number;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: unknown): v is string => typeof v === "string" && UUID.test(v);

/**
 * The CONNECT packet's `auth.token`. Signature, issuer, type and claims are checked like an HTTP
 * request's (src/http/auth.ts), then one query that the session is live and the account not deleted.
 *
 * Expiry is not a refusal here: the apps hand their call socket one token and reconnect with it
 * after every network blip for as long as the app runs (docs/api-contract.md §4.1), so refusing it after
 * 15 minutes silenced incoming calls. An expired token is honoured while its session could still be
 * refreshed (not revoked, holding an unexpired refresh token), which is exactly as long as the app
 * itself could get a fresh token. Revocation closes the session's sockets (src/realtime/user-hub.ts)
 * and refuses the reconnect.
 */
export async function identifySocket(env: Env, token: string): Promise<SocketIdentity> {
  const config = loadConfig(env);
  const claims = await verifySocketToken(config.JWT_SECRET, token).catch((err: unknown) => {
    throw err instanceof TokenError ? new AppError(err.code, err.message) : err;
  });
  const db = createDb(config);
  try {
    const role = await liveSessionRole(db.http, claims.sub, claims.sid, claims.expired);
    if (!role) throw new AppError("INVALID_TOKEN", "Session is no longer valid");
    return { userId: claims.sub, role, sessionId: claims.sid, tokenExpiresAt: claims.exp };
  } finally {
    await db.close();
  }
}

/** The account's role while the session is live (see identifySocket); null once it is not. */
async function liveSessionRole(
  db: HttpDb,
  userId: string,
  sessionId: string,
  untilRefreshExpiry: boolean,
): Promise<SocketIdentity["role"] | null> {
  if (!isUuid(userId) || !isUuid(sessionId)) return null;
  const refreshable = exists(
    db
      .select({ one: sql`1` })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.sessionId, sessions.id), isNull(refreshTokens.revokedAt), gt(refreshTokens.expiresAt, sql`now()`))),
  );
  const [row] = await db
    .select({ role: users.role })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.id, sessionId),
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        isNull(users.deletedAt),
        untilRefreshExpiry ? refreshable : undefined,
      ),
    )
    .limit(1);
  return row?.role ?? null;
}

/** The call commands' re-check that a socket's session was not revoked since it connected. */
export async function sessionIsLive(env: Env, identity: Pick<SocketIdentity, "userId" | "sessionId" | "tokenExpiresAt">): Promise<boolean> {
  const db = createDb(loadConfig(env));
  try {
    const expired = identity.tokenExpiresAt * 1000 <= Date.now();
    return (await liveSessionRole(db.http, identity.userId, identity.sessionId, expired)) !== null;
  } finally {
    await db.close();
  }
}
