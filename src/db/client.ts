import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle as drizzleHttp, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import { drizzle as drizzleWs, type NeonDatabase } from "drizzle-orm/neon-serverless";
import type { Config } from "../env";
import * as schema from "./schema";

/**
 * Per-request database access in the Neon driver's two modes:
 * - `http`: single statements and non-interactive batches over SQL-over-HTTP (one round trip, no
 *   connection handshake). Use it for everything that needs no lock held across statements.
 * - `transaction(fn)`: an interactive transaction on a WebSocket Pool, for row locks and
 *   compare-and-set across statements. The Pool is created on first use, holds one connection,
 *   is never shared across requests (workerd forbids I/O objects crossing requests) and is closed
 *   by `close()`, which the caller hands to waitUntil.
 */

export type Schema = typeof schema;
export type HttpDb = NeonHttpDatabase<Schema>;
export type TxDb = Parameters<Parameters<NeonDatabase<Schema>["transaction"]>[0]>[0];
export type IsolationLevel = "read committed" | "repeatable read" | "serializable";

export type Db = {
  http: HttpDb;
  transaction<T>(fn: (tx: TxDb) => Promise<T>, opts?: { isolationLevel?: IsolationLevel }): Promise<T>;
  /** Database round trips so far: HTTP calls, plus the Pool's handshake and every statement incl. BEGIN/COMMIT. */
  roundTrips(): number;
  close(): Promise<void>;
};

type Counter = { n: number };
type CountedInit = RequestInit & { dbRoundTrips?: Counter };

let configuredFor: string | undefined;

/** neonConfig is module-global; it only changes when the local front door is used (dev, tests). */
function configureDriver(localProxy: string | undefined): void {
  const key = localProxy ?? "";
  if (configuredFor === key) return;
  configuredFor = key;
  // Round-trip counting rides on fetchOptions, which the driver spreads into fetch's init.
  neonConfig.fetchFunction = (url: string, init: CountedInit) => {
    const { dbRoundTrips, ...rest } = init;
    if (dbRoundTrips) dbRoundTrips.n++;
    return fetch(url, rest);
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

export function createDb(config: Pick<Config, "DATABASE_URL" | "NEON_LOCAL_PROXY">): Db {
  configureDriver(config.NEON_LOCAL_PROXY);
  const counter: Counter = { n: 0 };
  const sql = neon(config.DATABASE_URL, { fetchOptions: { dbRoundTrips: counter } });
  const http = drizzleHttp({ client: sql, schema });
  let pool: Pool | undefined;

  return {
    http,
    async transaction(fn, opts) {
      if (!pool) {
        const p = new Pool({ connectionString: config.DATABASE_URL, max: 1 });
        pool = p;
        // Without a listener an idle client's socket error becomes an uncaught exception (toolchain gotcha 5).
        // Once close() ended the pool, its socket closing is expected, not worth a warning per request.
        p.on("error", (err: Error) => {
          if (!ending.has(p)) console.warn(JSON.stringify({ level: "warn", msg: "db idle client error", error: err.message }));
        });
        counter.n++; // the WebSocket handshake; Postgres start-up is pipelined with the first query
      }
      // drizzle's logger sees every statement on this connection, BEGIN and COMMIT included.
      const db = drizzleWs({ client: pool, schema, logger: { logQuery: () => void counter.n++ } });
      return db.transaction(fn, opts?.isolationLevel ? { isolationLevel: opts.isolationLevel } : undefined);
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
