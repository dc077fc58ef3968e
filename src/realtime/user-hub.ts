import { DurableObject } from "cloudflare:workers";
import { createLogger } from "../lib/log";
import type { RealtimeEvent } from "../notifications/outbox";
import { deliveryFor } from "./policy";

const log = createLogger("info", { component: "user-hub" });

/** Oldest registrations beyond this are dropped (upstream capped sockets per user at 15-20, §5.1). */
export const MAX_SOCKETS_PER_USER = 32;

/**
 * Owns the set of live sockets of one user (name = user id): which Engine.IO sessions to deliver
 * to, and whether each proved its identity. Every emitter (the outbox sink, the call rooms) goes
 * through `deliver`, which applies the real-time policy per socket (src/realtime/policy.ts).
 *
 * It also knows the user's live calls, so that when the user's last call-capable (authenticated)
 * socket goes away, the call room can end the call; any other socket closing changes nothing
 * (client-contract §4.1: the apps open and drop sockets constantly).
 */
export class UserHub extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS sockets (sid TEXT PRIMARY KEY, authenticated INTEGER NOT NULL, registered_at INTEGER NOT NULL);" +
        "CREATE TABLE IF NOT EXISTS calls (booking_id TEXT PRIMARY KEY);" +
        // A DO does not know the name it was reached by (anchors §3.1), so callers state it.
        "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);",
    );
  }

  async register(userId: string, sid: string, authenticated: boolean): Promise<void> {
    this.sql.exec("INSERT INTO meta (k, v) VALUES ('user_id', ?) ON CONFLICT (k) DO NOTHING", userId);
    this.sql.exec(
      "INSERT INTO sockets (sid, authenticated, registered_at) VALUES (?, ?, ?) ON CONFLICT (sid) DO UPDATE SET authenticated = max(authenticated, excluded.authenticated)",
      sid,
      authenticated ? 1 : 0,
      Date.now(),
    );
    const extra = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sockets").one().n - MAX_SOCKETS_PER_USER;
    if (extra <= 0) return;
    const evicted = this.sql
      .exec<{ sid: string; authenticated: number }>(
        "DELETE FROM sockets WHERE sid IN (SELECT sid FROM sockets WHERE sid <> ? ORDER BY registered_at LIMIT ?) RETURNING sid, authenticated",
        sid,
        extra,
      )
      .toArray();
    // An evicted socket is closed, as upstream disconnected the oldest: left open it would look
    // connected to its app but never get another event. Its client reconnects and registers afresh.
    await Promise.all(
      evicted.map(({ sid: old }) =>
        this.env.REALTIME_SESSION.get(this.env.REALTIME_SESSION.idFromString(old))
          .terminate()
          .catch((err: unknown) => log.warn("evicting session failed", { error: err instanceof Error ? err.message : String(err) })),
      ),
    );
    if (evicted.some((e) => e.authenticated === 1)) await this.afterCallSocketLoss();
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
