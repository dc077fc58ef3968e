import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { z } from "zod";
import type { Db, HttpDb, TxDb } from "../db/client";
import { type Role, refreshTokens, securityEvents, sessions, users } from "../db/schema";
import { AppError } from "../http/errors";
import { constantTimeEqualStrings, sha256Hex, toBase64Url } from "../lib/bytes";
import { hmacSha256 } from "../lib/hmac";
import { signAccessToken } from "../lib/jwt";
import { OUTBOX_TOPICS } from "../outbox/outbox";
import type { TokenPair as TokenPairSchema } from "./schemas";

/**
 * Refresh tokens and sessions.
 *
 * A refresh token is `<row id>.<HMAC(JWT_SECRET, "refresh|" + row id)>`: opaque to the apps, only
 * its sha256 is stored, and the server alone can re-derive it from a row id. That is what makes the
 * reuse grace window honest: the apps fire concurrent refreshes with one token
 * (docs/api-contract.md §2.2), and the loser of the race must get the *same* pair the winner got,
 * which needs the successor's token (rebuilt from its id) and its access token (HS256 is
 * deterministic, so the same jti/iat/sid re-sign to the same string).
 *
 * Rotation runs in one interactive transaction: the presented row is locked (FOR UPDATE), then
 * either rotated (child inserted, parent stamped), answered from its successor (inside the grace
 * window) or treated as stolen (family = session revoked, security event written, then 401).
 */
export const REFRESH_TTL_SECONDS = 30 * 24 * 60 * 60;
export const REUSE_GRACE_SECONDS = 10;

export async function refreshTokenFor(secret: string, rowId: string): Promise<string> {
  return `${rowId}.${toBase64Url(await hmacSha256(secret, `refresh|${rowId}`))}`;
}

const TOKEN_SHAPE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

/** The row id of a well-formed token with a valid MAC; null for anything forged or garbled (no DB read). */
export async function parseRefreshToken(secret: string, token: string): Promise<string | null> {
  const m = TOKEN_SHAPE.exec(token);
  if (!m) return null;
  const expected = await refreshTokenFor(secret, m[1]!);
  return constantTimeEqualStrings(expected, token) ? m[1]! : null;
}

export type TokenPair = z.input<typeof TokenPairSchema>;
export type ClientMeta = { ip?: string | null; userAgent?: string | null };

/** Whole seconds, so the access token's iat can be rebuilt exactly from created_at. */
const wholeSecond = (ms = Date.now()) => new Date(Math.floor(ms / 1000) * 1000);

function pair(access: { token: string; expiresAt: Date }, refreshToken: string, refreshExpiresAt: Date): TokenPair {
  return {
    accessToken: access.token,
    refreshToken,
    accessTokenExpiresAt: access.expiresAt.toISOString(),
    refreshTokenExpiresAt: refreshExpiresAt.toISOString(),
    token: access.token,
  };
}

/** Device label from the user agent (the apps send okhttp/CFNetwork/Expo strings). */
function deviceName(ua: string | null | undefined): string | null {
  if (!ua) return null;
  if (/android/i.test(ua) || /okhttp/i.test(ua)) return "Android device";
  if (/iphone|ipad|ios|cfnetwork|darwin/i.test(ua)) return "iOS device";
  if (/mozilla/i.test(ua)) return "Browser";
  return ua.slice(0, 60);
}

/**
 * A new session with its first refresh token: the rows the caller inserts (in a batch or inside its
 * transaction) and the pair it returns once they committed. Ids are minted here, so a login needs no
 * extra round trip to learn them.
 */
export async function newSession(secret: string, user: { id: string; role: Role }, meta: ClientMeta) {
  const sessionId = crypto.randomUUID();
  const rowId = crypto.randomUUID();
  const created = wholeSecond();
  const expiresAt = new Date(created.getTime() + REFRESH_TTL_SECONDS * 1000);
  const jti = crypto.randomUUID();
  const access = await signAccessToken(secret, { userId: user.id, role: user.role, sessionId, jti }, created.getTime());
  const refreshToken = await refreshTokenFor(secret, rowId);
  const session: typeof sessions.$inferInsert = {
    id: sessionId,
    userId: user.id,
    createdAt: created,
    lastSeenAt: created,
    ip: meta.ip ?? null,
    userAgent: meta.userAgent?.slice(0, 300) ?? null,
    deviceName: deviceName(meta.userAgent),
  };
  const refresh: typeof refreshTokens.$inferInsert = {
    id: rowId,
    sessionId,
    userId: user.id,
    familyId: sessionId,
    tokenHash: await sha256Hex(refreshToken),
    accessJti: jti,
    createdAt: created,
    expiresAt,
  };
  return { pair: pair(access, refreshToken, expiresAt), sessionId, session, refresh };
}

const INVALID_REFRESH = () => new AppError("INVALID_TOKEN", "Refresh token is invalid, expired, or revoked. Please login again.");

type RotateOutcome =
  | { kind: "rotated" | "grace"; pair: TokenPair; userId: string }
  | { kind: "reuse"; userId: string; sessionId: string }
  | { kind: "invalid" };

/**
 * Rotates a refresh token (see the module comment). Throws 401 for anything but a live token or a
 * concurrent duplicate inside the grace window.
 */
export async function rotateRefreshToken(
  db: Db,
  secret: string,
  presented: string,
  meta: ClientMeta,
  /** Called when reuse revoked the session (after commit): dispatch its outbox row. */
  onSessionRevoked?: () => void,
): Promise<{ pair: TokenPair; userId: string }> {
  const rowId = await parseRefreshToken(secret, presented);
  if (!rowId) throw INVALID_REFRESH();
  const tokenHash = await sha256Hex(presented);

  const outcome = await db.transaction(async (tx): Promise<RotateOutcome> => {
    const [row] = await tx
      .select({
        id: refreshTokens.id,
        sessionId: refreshTokens.sessionId,
        userId: refreshTokens.userId,
        familyId: refreshTokens.familyId,
        expiresAt: refreshTokens.expiresAt,
        rotatedAt: refreshTokens.rotatedAt,
        revokedAt: refreshTokens.revokedAt,
        replacedById: refreshTokens.replacedById,
        sessionRevokedAt: sessions.revokedAt,
        role: users.role,
        deletedAt: users.deletedAt,
        now: sql<Date>`now()`.mapWith(refreshTokens.createdAt),
      })
      .from(refreshTokens)
      .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
      .innerJoin(users, eq(users.id, refreshTokens.userId))
      .where(and(eq(refreshTokens.id, rowId), eq(refreshTokens.tokenHash, tokenHash)))
      .for("update", { of: refreshTokens });
    if (!row || row.revokedAt || row.sessionRevokedAt || row.deletedAt || row.expiresAt <= row.now) return { kind: "invalid" };

    if (!row.rotatedAt) {
      const childId = crypto.randomUUID();
      const created = wholeSecond(row.now.getTime());
      const expiresAt = new Date(created.getTime() + REFRESH_TTL_SECONDS * 1000);
      const jti = crypto.randomUUID();
      await tx.insert(refreshTokens).values({
        id: childId,
        sessionId: row.sessionId,
        userId: row.userId,
        familyId: row.familyId,
        parentId: row.id,
        tokenHash: await sha256Hex(await refreshTokenFor(secret, childId)),
        accessJti: jti,
        createdAt: created,
        expiresAt,
      });
      // Compare-and-set: the row is locked, and the one-child unique index backs it up.
      const done = await tx
        .update(refreshTokens)
        .set({ rotatedAt: row.now, replacedById: childId })
        .where(and(eq(refreshTokens.id, row.id), isNull(refreshTokens.rotatedAt)))
        .returning({ id: refreshTokens.id });
      if (done.length !== 1) throw new AppError("SERVICE_UNAVAILABLE", "Please retry", { retryAfter: 1 });
      await tx.update(sessions).set({ lastSeenAt: row.now }).where(eq(sessions.id, row.sessionId));
      const access = await signAccessToken(
        secret,
        { userId: row.userId, role: row.role, sessionId: row.sessionId, jti },
        created.getTime(),
      );
      return { kind: "rotated", userId: row.userId, pair: pair(access, await refreshTokenFor(secret, childId), expiresAt) };
    }

    const age = (row.now.getTime() - row.rotatedAt.getTime()) / 1000;
    if (age <= REUSE_GRACE_SECONDS && row.replacedById) {
      // The newest token of the chain: if the winner of the race already rotated its token again,
      // handing back the intermediate one would make the client's next refresh look like theft.
      const { rows } = await tx.execute<{ id: string; created_at: string; expires_at: string; access_jti: string | null }>(sql`
        with recursive chain as (
          select id, replaced_by_id, created_at, expires_at, access_jti, revoked_at, 1 as depth
          from refresh_tokens where id = ${row.replacedById}
          union all
          select t.id, t.replaced_by_id, t.created_at, t.expires_at, t.access_jti, t.revoked_at, c.depth + 1
          from refresh_tokens t join chain c on t.id = c.replaced_by_id where c.depth < 10
        )
        select id, created_at, expires_at, access_jti from chain
        where replaced_by_id is null and revoked_at is null
      `);
      const child = rows[0];
      if (!child?.access_jti) return { kind: "invalid" };
      const createdAt = new Date(child.created_at);
      const access = await signAccessToken(
        secret,
        { userId: row.userId, role: row.role, sessionId: row.sessionId, jti: child.access_jti },
        createdAt.getTime(),
      );
      return { kind: "grace", userId: row.userId, pair: pair(access, await refreshTokenFor(secret, child.id), new Date(child.expires_at)) };
    }

    // A rotated token presented again after the window: someone else holds this family. End it.
    await revokeAndAnnounce(tx, row.userId, "refresh_reuse", {
      sessionId: row.sessionId,
      familyId: row.familyId,
      tokenReason: "reuse_detected",
    });
    await tx.insert(securityEvents).values({
      userId: row.userId,
      eventType: "refresh_reuse",
      severity: "critical",
      ip: meta.ip ?? null,
      userAgent: meta.userAgent?.slice(0, 300) ?? null,
      metadata: { sessionId: row.sessionId, tokenId: row.id, rotatedSecondsAgo: Math.round(age) },
    });
    return { kind: "reuse", userId: row.userId, sessionId: row.sessionId };
  });

  if (outcome.kind === "reuse") onSessionRevoked?.();
  if (outcome.kind === "invalid" || outcome.kind === "reuse") throw INVALID_REFRESH();
  return { pair: outcome.pair, userId: outcome.userId };
}

/**
 * Revokes sessions (and their refresh tokens) of a user; `sessionId` narrows it to one. Returns how
 * many sessions. Every path that ends a session comes through here (logout, logout-all, ending one
 * session, password reset, refresh-token reuse, account deletion, admin removal).
 *
 * One statement, so it is atomic on either executor (an HTTP call or inside the caller's
 * transaction): the sessions, their refresh tokens, and an outbox row naming the revoked session ids.
 * Dispatched after commit (the caller's `dispatchAfterCommit`, or the cron sweep), that row makes the
 * user's UserHub close the sockets those sessions opened (src/realtime/user-hub.ts).
 */
export async function revokeSessions(db: HttpDb | TxDb, userId: string, reason: string, sessionId?: string): Promise<number> {
  return (await revokeAndAnnounce(db, userId, reason, { sessionId })).length;
}

/**
 * `revokeSessions`' statement, not yet sent: a statement of the caller's non-interactive batch
 * (`db.http.batch`). `when` (SQL) makes it conditional on an earlier statement of the batch.
 */
export function revokeSessionsStatement(db: HttpDb, userId: string, reason: string, opts: { sessionId?: string; when?: SQL } = {}) {
  return revocation(db, userId, reason, opts);
}

async function revokeAndAnnounce(
  db: HttpDb | TxDb,
  userId: string,
  sessionReason: string,
  opts: { sessionId?: string | undefined; tokenReason?: string; familyId?: string } = {},
): Promise<string[]> {
  const { rows } = await revocation(db, userId, sessionReason, opts);
  return rows.map((r) => r.id);
}

function revocation(
  db: HttpDb | TxDb,
  userId: string,
  sessionReason: string,
  opts: { sessionId?: string | undefined; tokenReason?: string; familyId?: string; when?: SQL },
) {
  const { sessionId, familyId } = opts;
  const tokenReason = opts.tokenReason ?? sessionReason;
  const when = opts.when ? sql`and ${opts.when}` : sql``;
  return (db as HttpDb).execute<{ id: string }>(sql`
    with revoked as (
      update sessions set revoked_at = now(), revoke_reason = ${sessionReason}
       where user_id = ${userId} and revoked_at is null ${sessionId ? sql`and id = ${sessionId}` : sql``} ${when}
      returning id
    ), tokens as (
      update refresh_tokens set revoked_at = now(), revoke_reason = ${tokenReason}
       where user_id = ${userId} and revoked_at is null
         ${sessionId ? sql`and session_id = ${sessionId}` : sql``} ${familyId ? sql`and family_id = ${familyId}` : sql``} ${when}
    ), announced as (
      insert into outbox (topic, payload)
      select ${OUTBOX_TOPICS.sessionsRevoked}, jsonb_build_object('userId', ${userId}::text, 'sessionIds', jsonb_agg(id))
        from revoked
      having count(*) > 0
    )
    select id from revoked`);
}
