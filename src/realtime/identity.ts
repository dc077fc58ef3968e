import { and, eq, isNull } from "drizzle-orm";
import { verifyAccessToken } from "../auth/jwt";
import { createDb } from "../db/client";
import { sessions, users } from "../db/schema";
import { loadConfig } from "../env";
import { AppError } from "../http/errors";

export type SocketIdentity = { userId: string; role: "user" | "provider" | "admin"; sessionId: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: unknown): v is string => typeof v === "string" && UUID.test(v);

/**
 * The CONNECT packet's `auth.token`, checked like an HTTP request (src/http/auth.ts): JWT locally,
 * then one query that the session is live and the account not deleted. Checked once per socket:
 * the apps never refresh a live socket's token (client-contract §4.1), so expiry after connect
 * does not drop it; a revoked session is refused at the next connect.
 */
export async function identifySocket(env: Env, token: string): Promise<SocketIdentity> {
  const config = loadConfig(env);
  const claims = await verifyAccessToken(config.JWT_SECRET, token);
  const db = createDb(config);
  try {
    const [row] = await db.http
      .select({ role: users.role })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.id, claims.sid), eq(sessions.userId, claims.sub), isNull(sessions.revokedAt), isNull(users.deletedAt)))
      .limit(1);
    if (!row) throw new AppError("INVALID_TOKEN", "Session is no longer valid");
    return { userId: claims.sub, role: row.role, sessionId: claims.sid };
  } finally {
    await db.close();
  }
}
