import { DurableObject } from "cloudflare:workers";
import { migrateStorage, type StorageMigration } from "../lib/do-storage";
import { createLogger } from "../lib/log";
import type { RealtimeEvent } from "./policy";
import { deliveryFor } from "./policy";

const log = createLogger("info", { component: "user-hub" });

/**
 * Live sockets kept per user, in two pools that never displace each other: sockets that proved
 * identity, and token-less `join(userId)` sockets. Beyond its cap a pool drops its own oldest
 * (upstream capped sockets per user at 15-20). User ids are public (provider listings), so a
 * token-less socket must never be able to push out, close, or end the calls of an authenticated one.
 */
export const MAX_AUTHENTICATED_SOCKETS = 32;
export const MAX_ANONYMOUS_SOCKETS = 32;
/**
 * How long a revoked session id is remembered: long enough to refuse a CONNECT whose database check
 * passed just before the revocation committed (a query plus a hop); an alarm forgets it afterwards.
 */
const REVOKED_MEMORY_MS = 10 * 60 * 1000;

const HUB_MIGRATIONS: StorageMigration[] = [
  "CREATE TABLE IF NOT EXISTS sockets (sid TEXT PRIMARY KEY, authenticated INTEGER NOT NULL, registered_at INTEGER NOT NULL, session_id TEXT);" +
    "CREATE TABLE IF NOT EXISTS calls (booking_id TEXT PRIMARY KEY);" +
    "CREATE TABLE IF NOT EXISTS revoked_sessions (session_id TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL);" +
    // A Durable Object does not know the name it was reached by, so callers state it.
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);",
  // Hubs created before sockets remembered their session.
  (sql) => {
    const columns = sql.exec<{ name: string }>("PRAGMA table_info(sockets)").toArray();
    if (!columns.some((c) => c.name === "session_id")) sql.exec("ALTER TABLE sockets ADD COLUMN session_id TEXT");
  },
];

/**
 * Owns the set of live sockets of one user (name = user id): which Engine.IO sessions to deliver
 * to, whether each proved its identity, and for those, the auth session (refresh-token family) that
 * opened them, so revoking that session closes them. Every emitter (the outbox sink, the call rooms)
 * goes through `deliver`, which applies the real-time policy per socket (src/realtime/policy.ts).
 *
 * It also knows the user's live calls, so that when the user's last call-capable (authenticated)
 * socket goes away, the call room can end the call; any other socket closing changes nothing
 * (docs/api-contract.md §4.1: the apps open and drop sockets constantly).
 */
export class UserHub extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateStorage(ctx.storage, HUB_MIGRATIONS);
  }

  /**
   * Adds a socket to its pool. An authenticated socket names its auth session; false means that
   * session was revoked meanwhile (the caller refuses the CONNECT).
   */
  async register(userId: string, sid: string, authenticated: boolean, sessionId?: string): Promise<boolean> {
    if (sessionId && this.sql.exec("SELECT 1 FROM revoked_sessions WHERE session_id = ?", sessionId).toArray().length) return false;
    this.sql.exec("INSERT INTO meta (k, v) VALUES ('user_id', ?) ON CONFLICT (k) DO NOTHING", userId);
    this.sql.exec(
      "INSERT INTO sockets (sid, authenticated, registered_at, session_id) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (sid) DO UPDATE SET authenticated = max(authenticated, excluded.authenticated), session_id = coalesce(excluded.session_id, session_id)",
      sid,
      authenticated ? 1 : 0,
      Date.now(),
      sessionId ?? null,
    );
    const pool = this.sql.exec<{ authenticated: number }>("SELECT authenticated FROM sockets WHERE sid = ?", sid).one().authenticated;
    const cap = pool === 1 ? MAX_AUTHENTICATED_SOCKETS : MAX_ANONYMOUS_SOCKETS;
    const extra = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sockets WHERE authenticated = ?", pool).one().n - cap;
    if (extra <= 0) return true;
    const evicted = this.sql
      .exec<{ sid: string }>(
        "DELETE FROM sockets WHERE sid IN (SELECT sid FROM sockets WHERE authenticated = ? AND sid <> ? ORDER BY registered_at, rowid LIMIT ?) RETURNING sid",
        pool,
        sid,
        extra,
      )
      .toArray();
    // An evicted socket is closed, as upstream disconnected the oldest: left open it would look
    // connected to its app but never get another event. Its client reconnects and registers afresh.
    // A new authenticated socket just arrived, so evicting from that pool never leaves the user's calls without one.
    await this.terminate(evicted.map((e) => e.sid));
    return true;
  }

  /**
   * The auth sessions were revoked (src/sessions/tokens.ts `revokeSessions`, through the outbox): their
   * sockets are closed, and remembered so a CONNECT that passed its check just before cannot register.
   */
  async closeSessions(sessionIds: string[]): Promise<number> {
    if (!sessionIds.length) return 0;
    const now = Date.now();
    const list = JSON.stringify(sessionIds);
    this.sql.exec(
      "INSERT INTO revoked_sessions (session_id, revoked_at) SELECT value, ? FROM json_each(?) WHERE true ON CONFLICT (session_id) DO NOTHING",
      now,
      list,
    );
    await this.ctx.storage.setAlarm(now + REVOKED_MEMORY_MS);
    const closed = this.sql
      .exec<{ sid: string }>("DELETE FROM sockets WHERE session_id IN (SELECT value FROM json_each(?)) RETURNING sid", list)
      .toArray();
    await this.terminate(closed.map((c) => c.sid));
    if (closed.length) await this.afterCallSocketLoss();
    return closed.length;
  }

  /** Forgets revoked session ids past their time (set by closeSessions; alarms may repeat). */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.sql.exec("DELETE FROM revoked_sessions WHERE revoked_at <= ?", now - REVOKED_MEMORY_MS);
    const next = this.sql.exec<{ at: number | null }>("SELECT min(revoked_at) AS at FROM revoked_sessions").one().at;
    if (next !== null) await this.ctx.storage.setAlarm(next + REVOKED_MEMORY_MS);
  }

  private async terminate(sids: string[]): Promise<void> {
    await Promise.all(
      sids.map((sid) =>
        this.env.REALTIME_SESSION.get(this.env.REALTIME_SESSION.idFromString(sid))
          .terminate()
          .catch((err: unknown) => log.warn("closing session failed", { error: err instanceof Error ? err.message : String(err) })),
      ),
    );
  }

  async unregister(sid: string): Promise<void> {
    const row = this.sql.exec<{ authenticated: number }>("SELECT authenticated FROM sockets WHERE sid = ?", sid).toArray()[0];
    if (!row) return;
    this.sql.exec("DELETE FROM sockets WHERE sid = ?", sid);
    if (row.authenticated) await this.afterCallSocketLoss();
  }

  /** Live sockets by kind (tests, call rooms). */
  async counts(): Promise<{ authenticated: number; anonymous: number }> {
    const rows = this.sql
      .exec<{ authenticated: number; n: number }>("SELECT authenticated, count(*) AS n FROM sockets GROUP BY authenticated")
      .toArray();
    return {
      authenticated: rows.find((r) => r.authenticated === 1)?.n ?? 0,
      anonymous: rows.find((r) => r.authenticated === 0)?.n ?? 0,
    };
  }

  /**
   * Delivers events to every live socket of this user, filtered per socket by the policy.
   * Returns how many authenticated sockets took at least one event (0 → the call room pushes).
   */
  async deliver(events: RealtimeEvent[]): Promise<{ authenticated: number; anonymous: number }> {
    const sockets = this.sql.exec<{ sid: string; authenticated: number }>("SELECT sid, authenticated FROM sockets").toArray();
    const reached = { authenticated: 0, anonymous: 0 };
    const stale: string[] = [];
    await Promise.all(
      sockets.map(async ({ sid, authenticated }) => {
        const batch = events.map((e) => deliveryFor(e, authenticated === 1)).filter((d) => d !== null);
        if (!batch.length) return;
        try {
          const session = this.env.REALTIME_SESSION.get(this.env.REALTIME_SESSION.idFromString(sid));
          if (await session.deliver(batch)) {
            if (authenticated) reached.authenticated++;
            else reached.anonymous++;
          } else stale.push(sid);
        } catch (err) {
          log.warn("delivery to session failed", { error: err instanceof Error ? err.message : String(err) });
          stale.push(sid);
        }
      }),
    );
    if (stale.length) {
      const lostCallSocket = sockets.some((s) => s.authenticated === 1 && stale.includes(s.sid));
      for (const sid of stale) this.sql.exec("DELETE FROM sockets WHERE sid = ?", sid);
      if (lostCallSocket) await this.afterCallSocketLoss();
    }
    return reached;
  }

  async trackCall(bookingId: string): Promise<void> {
    this.sql.exec("INSERT INTO calls (booking_id) VALUES (?) ON CONFLICT DO NOTHING", bookingId);
  }

  async untrackCall(bookingId: string): Promise<void> {
    this.sql.exec("DELETE FROM calls WHERE booking_id = ?", bookingId);
  }

  /** When no call-capable socket is left, the user's live calls end (the other side is told). */
  private async afterCallSocketLoss(): Promise<void> {
    const left = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sockets WHERE authenticated = 1").one().n;
    if (left > 0) return;
    const calls = this.sql.exec<{ booking_id: string }>("SELECT booking_id FROM calls").toArray();
    if (!calls.length) return;
    const userId = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'user_id'").toArray()[0]?.v;
    if (!userId) return;
    await Promise.all(
      calls.map(({ booking_id }) =>
        this.env.CALL_ROOM.get(this.env.CALL_ROOM.idFromName(booking_id))
          .partyGone(userId)
          .catch((err: unknown) => log.warn("partyGone failed", { error: err instanceof Error ? err.message : String(err) })),
      ),
    );
  }
}
