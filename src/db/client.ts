import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import { sql as drizzleSql } from "drizzle-orm";
import { drizzle as drizzleHttp, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import { drizzle as drizzleWs, type NeonDatabase } from "drizzle-orm/neon-serverless";
import type { Config } from "../env";
import { createLogger } from "../lib/log";
import * as schema from "./schema";

const log = createLogger("info", { component: "db" });

/**
 * Per-request database access in the Neon driver's two modes:
 * - `http`: single statements and non-interactive batches over SQL-over-HTTP (one round trip, no
 *   connection handshake). Use it for everything that needs no lock held across statements.
 * - `transaction(fn)`: an interactive transaction on a WebSocket Pool, for row locks and
 *   compare-and-set across statements. The Pool is created on first use, holds one connection,
 *   is never shared across requests (workerd forbids I/O objects crossing requests) and is closed
 *   by `close()`, which the caller hands to waitUntil.
 *
 * Every database call has a deadline (DB_TIMEOUT_MS): a stalled endpoint keeps connections open and
 * answers nothing, and without one each request waited minutes. An HTTP call is aborted at the
 * deadline. In a transaction the deadline runs from the connect and from each statement sent; when
 * it passes, the connection is dropped (so the server aborts the open transaction and releases its
 * locks) and the caller gets DbTimeoutError, which onError answers with a retryable 503. A COMMIT
 * that was already sent may still have applied, as with any lost connection: the writes the apps
 * retry are idempotent.
 */

export type Schema = typeof schema;
export type HttpDb = NeonHttpDatabase<Schema>;
export type TxDb = Parameters<Parameters<NeonDatabase<Schema>["transaction"]>[0]>[0];
export type IsolationLevel = "read committed" | "repeatable read" | "serializable";

export type Db = {
  http: HttpDb;
  transaction<T>(fn: (tx: TxDb) => Promise<T>, opts?: { isolationLevel?: IsolationLevel }): Promise<T>;
  /**
   * Arms the session check of an authenticated request: it travels with the request's first database
   * call (see SessionGuard) instead of costing a round trip of its own.
   */
  requireSession(session: SessionClaim): void;
  /** Confirms the armed session check now (one round trip if no call carried it yet); throws if it failed. */
  ensureSession(): Promise<void>;
  /** Database round trips so far: HTTP calls, plus the Pool's handshake and every statement incl. BEGIN/COMMIT. */
  roundTrips(): number;
  close(): Promise<void>;
};

type Counter = { n: number };
type CountedInit = RequestInit & { dbRoundTrips?: Counter; dbDeadlineMs?: number; dbGuard?: SessionGuard };

/** SQLSTATE raised by bx_require_session (migrations/0007_session_guard.sql): the session is not live. */
export const SESSION_GONE = "BXSES";

/** Who a bearer token says the caller is; the database confirms it (session live, account not deleted, role). */
export type SessionClaim = { sessionId: string; userId: string; role: string };

/** The session check failed earlier in this request; nothing more runs on its behalf. */
export class SessionGoneError extends Error {
  override name = "SessionGoneError";
  readonly code = SESSION_GONE;
  constructor() {
    super("session is no longer valid");
  }
}

/**
 * The session check of an authenticated request, carried by its first database call.
 *
 * Checking the session on its own and then reading costs two sequential round trips, each paying the
 * full distance to Neon. Instead the check is prepended to the first SQL-over-HTTP call as the first
 * statement of one non-interactive transaction (a single query becomes a batch of two): if the session
 * was revoked, bx_require_session raises SESSION_GONE, the transaction rolls back, and no row of the
 * read (or the write) is returned or kept. In an interactive transaction it is the first statement.
 *
 * Calls made while the carrying call is in flight wait for it, so nothing runs ahead of the check. Only
 * a successful answer confirms the session: a call that failed for another reason leaves the check armed
 * for the next call. After a refusal every later call of the request fails the same way.
 */
class SessionGuard {
  status: "off" | "armed" | "inflight" | "confirmed" | "refused" = "off";
  claim: SessionClaim | undefined;
  private settledPromise: Promise<void> = Promise.resolve();
  private settle: () => void = () => {};

  arm(claim: SessionClaim): void {
    this.claim = claim;
    this.status = "armed";
  }

  /** Settles when the call carrying the check has its answer (the status may then be anything). */
  idle(): Promise<void> {
    return this.settledPromise;
  }

  /** Takes the check for one call; the caller must report the outcome with `done`. */
  take(): SessionClaim {
    this.status = "inflight";
    this.settledPromise = new Promise<void>((resolve) => {
      this.settle = resolve;
    });
    return this.claim!;
  }

  done(outcome: "confirmed" | "refused" | "armed"): void {
    this.status = outcome;
    this.settle();
  }
}

const GUARD_SQL = "select bx_require_session($1::uuid, $2::uuid, $3::user_role)";

type SqlOverHttpQuery = { query: string; params: unknown[] };

/** Sends one SQL-over-HTTP call with the session check as its first statement, and strips the check's result. */
async function sendGuarded(guard: SessionGuard, init: RequestInit, send: (init: RequestInit) => Promise<Response>): Promise<Response> {
  const claim = guard.take();
  const body = JSON.parse(String(init.body)) as SqlOverHttpQuery | { queries: SqlOverHttpQuery[] };
  const check: SqlOverHttpQuery = { query: GUARD_SQL, params: [claim.sessionId, claim.userId, claim.role] };
  const batched = "queries" in body ? [check, ...body.queries] : [check, body];
  let outcome: "confirmed" | "refused" | "armed" = "armed";
  try {
    const res = await send({ ...init, body: JSON.stringify({ queries: batched }) });
    const text = await res.text();
    if (res.ok) {
      const { results } = JSON.parse(text) as { results: unknown[] };
      outcome = "confirmed";
      const answer = "queries" in body ? { results: results.slice(1) } : results[1];
      return new Response(JSON.stringify(answer), { status: 200, headers: { "content-type": "application/json" } });
    }
    if (res.status === 400) {
      try {
        if ((JSON.parse(text) as { code?: unknown }).code === SESSION_GONE) outcome = "refused";
      } catch {
        // not JSON: the driver reports it as is
      }
    }
    return new Response(text, { status: res.status, headers: { "content-type": res.headers.get("content-type") ?? "text/plain" } });
  } finally {
    guard.done(outcome);
  }
}

/** The database did not answer within the deadline; the call's outcome is unknown. */
export class DbTimeoutError extends Error {
  override name = "DbTimeoutError";
  constructor(ms: number, what: string) {
    super(`database ${what} did not answer within ${ms} ms`);
  }
}

/** A DbTimeoutError anywhere in the chain (drizzle wraps as `cause`, the Neon driver as `sourceError`). */
export function isDbTimeout(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 5 && e && typeof e === "object"; i++) {
    if (e instanceof DbTimeoutError || (e as { name?: unknown }).name === "DbTimeoutError") return true;
    e = (e as { cause?: unknown; sourceError?: unknown }).cause ?? (e as { sourceError?: unknown }).sourceError;
  }
  return false;
}

/**
 * A deadline measured in time the isolate could have spent waiting for the database. A timer that
 * fires late proves the isolate was busy meanwhile (CPU-bound work of other requests, e.g. a burst of
 * password hashes: one isolate runs them one after the other), and the answer may be sitting in the
 * queue behind it: that time does not count, and the deadline moves on by the lateness (at most its own
 * length per step; it keeps moving only while each step fires late, so an idle isolate waiting on a
 * stalled database still gives up after `ms` plus the last lateness). An on-time expiry yields one turn
 * first, so an answer that arrived in the same turn wins over the timer (and a long turn counts as busy).
 */
const LATE_MS = 100;
function startDeadline(ms: number, expire: () => void): { restart(): void; clear(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cleared = false;
  // `yielded`: this timer is the one extra turn after an on-time expiry.
  const arm = (wait: number, yielded = false) => {
    const due = Date.now() + wait;
    timer = setTimeout(() => {
      const late = Date.now() - due;
      if (late > LATE_MS) return arm(Math.min(late, ms));
      if (!yielded) return arm(0, true);
      if (!cleared) expire();
    }, wait);
  };
  arm(ms);
  return {
    restart() {
      if (timer !== undefined) clearTimeout(timer);
      arm(ms);
    },
    clear() {
      cleared = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

/**
 * fetch for SQL over HTTP with the deadline on the whole exchange: a stalled proxy may send headers
 * and then nothing, so the body is read (small: one result set) before the timer is cleared.
 */
async function fetchWithDeadline(url: string, init: RequestInit, ms: number): Promise<Response> {
  const controller = new AbortController();
  const deadline = startDeadline(ms, () => controller.abort());
  try {
    const res = await fetch(url, { ...init, signal: controller.signal });
    const body = await res.arrayBuffer();
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  } catch (err) {
    if (controller.signal.aborted) throw new DbTimeoutError(ms, "query");
    throw err;
  } finally {
    deadline.clear();
  }
}

let configuredFor: string | undefined;

/** neonConfig is module-global; it only changes when the local front door is used (dev, tests). */
function configureDriver(localProxy: string | undefined): void {
  const key = localProxy ?? "";
  if (configuredFor === key) return;
  configuredFor = key;
  // Round-trip counting rides on fetchOptions, which the driver spreads into fetch's init.
  neonConfig.fetchFunction = async (url: string, init: CountedInit) => {
    const { dbRoundTrips, dbDeadlineMs, dbGuard, ...rest } = init;
    const send = (i: RequestInit) => {
      if (dbRoundTrips) dbRoundTrips.n++;
      return dbDeadlineMs ? fetchWithDeadline(url, i, dbDeadlineMs) : fetch(url, i);
    };
    if (!dbGuard) return send(rest);
    // No await between reading the status and taking the check: two calls must not both miss it.
    while (dbGuard.status === "inflight") await dbGuard.idle();
    if (dbGuard.status === "refused") throw new SessionGoneError();
    if (dbGuard.status === "armed") return sendGuarded(dbGuard, rest, send);
    return send(rest);
  };
  if (localProxy) {
    neonConfig.wsProxy = (host, port) => `${localProxy}/v1?address=${host}:${port}`;
    neonConfig.fetchEndpoint = () => `http://${localProxy}/sql`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
  }
  // Neon's proxy (and our front door) accept cleartext password auth, which lets the driver send
  // startup + password + first query in one flight instead of 3–4 round trips.
  neonConfig.pipelineConnect = "password";
}

/** Pools whose close() has begun: errors from their sockets are the close itself. */
const ending = new WeakSet<Pool>();

/** The pooled clients' sockets, to drop them when a deadline passes. */
type Socketed = { connection?: { stream?: { destroy?: () => void } }; on(event: "error", listener: (err: Error) => void): unknown };
const clientsOf = new WeakMap<Pool, Set<Socketed>>();

/** Drops every connection of the pool at once: the server sees the disconnect and aborts the transaction. */
function abandon(p: Pool): void {
  ending.add(p);
  for (const client of clientsOf.get(p) ?? []) {
    try {
      client.connection?.stream?.destroy?.();
    } catch {
      // already gone
    }
  }
}

export function createDb(config: Pick<Config, "DATABASE_URL" | "NEON_LOCAL_PROXY" | "DB_TIMEOUT_MS">): Db {
  configureDriver(config.NEON_LOCAL_PROXY);
  const deadlineMs = config.DB_TIMEOUT_MS;
  const counter: Counter = { n: 0 };
  const guard = new SessionGuard();
  const sql = neon(config.DATABASE_URL, { fetchOptions: { dbRoundTrips: counter, dbDeadlineMs: deadlineMs, dbGuard: guard } });
  const http = drizzleHttp({ client: sql, schema });
  let pool: Pool | undefined;

  return {
    http,
    async transaction(fn, opts) {
      if (!pool) {
        const p = new Pool({ connectionString: config.DATABASE_URL, max: 1 });
        pool = p;
        const clients = new Set<Socketed>();
        clientsOf.set(p, clients);
        p.on("connect", (client: Socketed) => {
          clients.add(client);
          // pg-pool listens only to idle clients: a checked-out client's "connection terminated" would be an
          // uncaught exception. Its statement fails with the same error, which is what the caller handles.
          client.on("error", () => undefined);
        });
        // Without a listener an idle client's socket error ("Network connection lost") becomes an uncaught exception.
        // Once close() ended the pool, its socket closing is expected, not worth a warning per request.
        p.on("error", (err: Error) => {
          if (!ending.has(p)) log.warn("db idle client error", { error: err.message });
        });
        counter.n++; // the WebSocket handshake; Postgres start-up is pipelined with the first query
      }
      const p = pool;
      // The deadline restarts with every statement sent (drizzle's logger sees each, BEGIN and COMMIT
      // included); it covers the connect too, which happens before BEGIN.
      let expire: (err: Error) => void = () => {};
      const expired = new Promise<never>((_, reject) => {
        expire = reject;
      });
      const deadline = startDeadline(deadlineMs, () => {
        abandon(p);
        if (pool === p) pool = undefined; // close() has nothing left to end gracefully
        expire(new DbTimeoutError(deadlineMs, "transaction"));
      });
      const arm = () => deadline.restart();
      const db = drizzleWs({
        client: p,
        schema,
        logger: {
          logQuery: () => {
            counter.n++;
            arm();
          },
        },
      });
      arm();
      while (guard.status === "inflight") await guard.idle();
      if (guard.status === "refused") throw new SessionGoneError();
      // Taken before any await, so no HTTP call of the request runs ahead of it meanwhile.
      const claim = guard.status === "armed" ? guard.take() : undefined;
      let checkedIn = false;
      const checked = claim
        ? async (tx: TxDb) => {
            try {
              await tx.execute(
                drizzleSql`select bx_require_session(${claim.sessionId}::uuid, ${claim.userId}::uuid, ${claim.role}::user_role)`,
              );
            } catch (err) {
              checkedIn = true;
              guard.done(pgCode(err) === SESSION_GONE ? "refused" : "armed");
              throw err;
            }
            checkedIn = true;
            guard.done("confirmed");
            return fn(tx);
          }
        : fn;
      const run = db.transaction(checked, opts?.isolationLevel ? { isolationLevel: opts.isolationLevel } : undefined);
      run.catch(() => undefined); // after a deadline nobody reads its (connection-lost) rejection
      try {
        return await Promise.race([run, expired]);
      } finally {
        deadline.clear();
        if (claim && !checkedIn) guard.done("armed"); // the connect or BEGIN failed: the check never ran
      }
    },
    requireSession(claim) {
      guard.arm(claim);
    },
    async ensureSession() {
      while (guard.status === "inflight") await guard.idle();
      if (guard.status === "refused") throw new SessionGoneError();
      if (guard.status === "armed") await http.execute(drizzleSql`select 1`);
    },
    roundTrips: () => counter.n,
    async close() {
      const p = pool;
      pool = undefined;
      if (!p) return;
      ending.add(p);
      await p.end().catch(() => undefined);
    },
  };
}

/** The session check failed, in this call or an earlier one of the request (drizzle and the driver wrap it). */
export function isSessionGone(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 6 && e && typeof e === "object"; i++) {
    if ((e as { code?: unknown }).code === SESSION_GONE) return true;
    e = (e as { cause?: unknown }).cause ?? (e as { sourceError?: unknown }).sourceError;
  }
  return false;
}

/** Postgres SQLSTATE of a driver error, when there is one (23505 unique, 23514 check, 40001 serialization…). */
export function pgCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === "object"; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The connection to Postgres broke (server restart, backend terminated, WebSocket or TCP cut):
 * these carry no SQLSTATE, only the driver's message. The statement's outcome is unknown, so the
 * caller gets a retryable 503; every write the apps retry is idempotent.
 */
const CONNECTION_LOST =
  /connection terminated|connection lost|terminating connection|connection (?:was )?closed|client has encountered a connection error|websocket (?:was )?closed|network connection lost|socket hang up|ECONNRESET|ECONNREFUSED|EPIPE/i;

export function isConnectionLost(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 5 && e && typeof e === "object"; i++) {
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && CONNECTION_LOST.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export function pgConstraint(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === "object"; i++) {
    const c = (e as { constraint?: unknown }).constraint;
    if (typeof c === "string") return c;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
