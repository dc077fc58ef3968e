// Local "Neon front door": one Node HTTP server that fronts a local PostgreSQL the way Neon's proxy fronts Neon,
// so @neondatabase/serverless runs unchanged in both of its modes:
//
//   GET  /v1?address=host:port   (WebSocket upgrade) raw Postgres wire bytes <-> TCP. Used by Pool/Client
//                                (`neonConfig.wsProxy`). /v2 is accepted too (the driver's default path).
//   POST /sql                    Neon's SQL-over-HTTP protocol. Used by neon() / drizzle-orm/neon-http
//                                (`neonConfig.fetchEndpoint`). Semantics follow Neon's proxy
//                                (proxy/src/serverless/sql_over_http.rs): see handleSql() below.
//
// Only loopback Postgres targets are dialled. Connection strings carry passwords: they are never logged.
//
// Latency model: `latencyMs` is a one-way delay applied in each direction, as a network between the worker and
// Neon would (0 by default: tests and dev run without it). SQL over HTTP: the request is held `latencyMs` before
// it runs and the answer `latencyMs` before it is sent (2 × latencyMs per round trip). WebSocket: the upgrade
// costs one round trip, then every client→server message and every server→client chunk is delayed by
// `latencyMs`, in order, so a pipelined exchange costs one round trip as on a real link (TCP and TLS set-up are
// not modelled).
//
// Usage:  const fd = await startFrontDoor({ port: 0, latencyMs: 30 });  fd.setLatencyMs(0);  ...  await fd.close();
// CLI:    node scripts/db/front-door.mjs [port]      (prints the port; Ctrl-C to stop; DB_LATENCY_MS: one-way delay)

import http from "node:http";
import { createRequire } from "node:module";
import net from "node:net";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAtLeast, createDelayLine } from "./delay-line.mjs";
import { createStallFault } from "./stall-fault.mjs";

// `ws` must be loaded through require: under Vitest 5 + @cloudflare/vitest-plugin, globalSetup is run by Vite's
// module runner, which resolves `import 'ws'` with the browser condition and yields a stub without
// WebSocketServer ("WebSocketServer is not a constructor").
const require = createRequire(import.meta.url);
const { WebSocketServer } = require("ws");
const parsePgArray = require("postgres-array").parse;

const MAX_REQUEST_BYTES = 10 * 1024 * 1024; // Neon's default request and response limits
const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const PG_CLOSE_DELAY_MS = 250;
/** Set on a /sql response: sendRawJson holds the answer this long (the latency model's way back). */
const REPLY_DELAY = Symbol("replyDelay");
const REPLY_PENDING = Symbol("replyPending");

const defaultLog = (level, msg) => {
  if (level === "error" || level === "warn") console.error(`[front-door] ${msg}`);
};

/**
 * @param {{port?: number, host?: string, latencyMs?: number, log?: (level: 'debug'|'info'|'warn'|'error', msg: string) => void}} [opts]
 *        latencyMs: one-way delay in each direction (see the top of this file); 0 by default
 * @returns {Promise<{port: number, host: string, readonly latencyMs: number, setLatencyMs: (ms: number) => void, close: () => Promise<void>}>}
 */
export async function startFrontDoor({ port = 0, host = "127.0.0.1", latencyMs = 0, log = defaultLog } = {}) {
  let latency = checkLatency(latencyMs);
  const oneWay = () => latency;
  const pools = new PoolRegistry(log);
  const bridges = new Set();
  const stall = createStallFault(log); // fault hook for tests: hold marked traffic unanswered

  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, "http://front-door");
    if (stall.control(req, res, pathname)) return;
    if (pathname === "/sql") {
      const delay = latency;
      res[REPLY_DELAY] = delay;
      afterAtLeast(delay, () =>
        handleSql(req, res, pools, log, stall).catch((err) => {
          log("error", `/sql internal error: ${err?.message ?? err}`);
          if (res[REPLY_PENDING]) return; // answered already, the answer is on its way back
          if (!res.headersSent) sendJson(res, 500, { message: "front door internal error" });
          else res.destroy();
        }),
      );
      return;
    }
    if (pathname === "/health") return sendJson(res, 200, { status: "ok" });
    sendJson(res, 404, { message: `no route for ${req.method} ${pathname}` });
  });
  // Keep idle keep-alive sockets open longer than any client pool would (Node's default is 5 s). Otherwise the
  // server can close a socket at the moment the client reuses it, which workerd reports as a lost connection.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  // Every socket, WebSocket and pooled client below has an 'error' listener: an unhandled 'error' event
  // kills the process, and with it every stack that runs the front door (dev, the test setup). Postgres
  // restarting under load must cost the requests in flight, never the front door.
  server.on("error", (err) => log("error", `server: ${err.message}`));
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  wss.on("error", (err) => log("warn", `WebSocket server: ${err.message}`));
  server.on("upgrade", (req, socket, head) => {
    socket.on("error", (err) => log("debug", `upgrade socket: ${err.message}`));
    const url = new URL(req.url, "http://front-door");
    if (url.pathname !== "/v1" && url.pathname !== "/v2") return rejectUpgrade(socket, 404, "Not Found");
    const target = parseAddress(url.searchParams.get("address"));
    if (!target) {
      log("warn", `refused WebSocket target ${JSON.stringify(url.searchParams.get("address"))} (loopback only)`);
      return rejectUpgrade(socket, 403, "Forbidden");
    }
    // The upgrade request and its 101 answer: one round trip of the latency model.
    afterAtLeast(2 * latency, () =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        const bridge = bridgeWebSocket(ws, target, log, stall, oneWay);
        bridges.add(bridge);
        bridge.done.then(() => bridges.delete(bridge));
      }),
    );
  });

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });

  let closing;
  return {
    port: server.address().port,
    host,
    get latencyMs() {
      return latency;
    },
    /** Applies to requests and messages from now on; what is already in flight keeps its delay. */
    setLatencyMs(ms) {
      latency = checkLatency(ms);
    },
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise((resolve) => server.close(resolve));
        for (const b of bridges) b.destroy();
        server.closeAllConnections();
        wss.close();
        await Promise.all([serverClosed, pools.closeAll()]);
      })();
      return closing;
    },
  };
}

function checkLatency(ms) {
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`front door latency must be a number of milliseconds >= 0, not ${ms}`);
  return ms;
}

function rejectUpgrade(socket, status, text) {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// Loopback-only targets

/** Map a host to the loopback address to dial, or null if it is not loopback. */
function loopbackAddress(hostname) {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost") return "127.0.0.1";
  if (net.isIPv4(h) && h.startsWith("127.")) return h;
  if (h === "::1") return "::1";
  return null;
}

/** "host:port" (host may be [v6]) -> {host, port} on loopback, or null. */
function parseAddress(address) {
  if (!address) return null;
  const i = address.lastIndexOf(":");
  if (i <= 0) return null;
  const host = loopbackAddress(address.slice(0, i));
  const port = Number(address.slice(i + 1));
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host, port };
}

// ---------------------------------------------------------------------------------------------------------------
// WebSocket <-> TCP bridge (what Neon's wsproxy does)

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

/**
 * Follows the frontend (client -> server) message stream just enough to spot Terminate ('X').
 * The stream starts with untyped packets (Int32 length, Int32 code): SSLRequest/GSSENCRequest (answered by one
 * byte, then another untyped packet follows), CancelRequest (one-shot), or the StartupMessage, after which every
 * message is Byte1 type + Int32 length (length counts itself, not the type byte). Messages may be split across
 * or coalesced within WebSocket frames (the driver coalesces writes), so headers are accumulated across feeds.
 */
class TerminateDetector {
  untyped = true;
  header = Buffer.alloc(0);
  skip = 0;

  /** @returns {number} offset just past a Terminate message in `chunk`, or -1 */
  feed(chunk) {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const want = this.untyped ? 8 : 5;
      const take = Math.min(want - this.header.length, chunk.length - i);
      this.header = Buffer.concat([this.header, chunk.subarray(i, i + take)]);
      i += take;
      if (this.header.length < want) break;
      if (this.untyped) {
        const len = this.header.readInt32BE(0);
        const code = this.header.readInt32BE(4);
        this.skip = Math.max(0, len - 8);
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST && code !== CANCEL_REQUEST) this.untyped = false;
      } else {
        const type = this.header[0];
        this.skip = Math.max(0, this.header.readInt32BE(1) - 4);
        if (type === 0x58 /* 'X' Terminate */) {
          this.header = Buffer.alloc(0);
          return Math.min(chunk.length, i + this.skip);
        }
      }
      this.header = Buffer.alloc(0);
    }
    return -1;
  }
}

/** @param {() => number} oneWay  the latency model's current one-way delay (0: bytes pass at once, as before) */
function bridgeWebSocket(ws, target, log, stall, oneWay) {
  let resolveDone;
  const done = new Promise((r) => (resolveDone = r));
  const tcp = net.connect({ host: target.host, port: target.port });
  tcp.setNoDelay(true);
  const detector = new TerminateDetector();
  // One delay line per direction: bytes, and the closes that follow them, keep their order.
  const toPostgres = createDelayLine(oneWay);
  const toClient = createDelayLine(oneWay);
  const stalled = stall.watchWebSocket(() => {
    tcp.destroy();
    ws.terminate();
  });
  let terminated = false;
  let wsClosed = false;
  let tcpClosed = false;
  const finish = () => {
    if (wsClosed && tcpClosed) resolveDone();
  };

  // Client -> Postgres. Writes made before the TCP connect completes are queued by net.Socket, which matters
  // because pipelineConnect sends StartupMessage + PasswordMessage the moment the WebSocket opens.
  ws.on("message", (data) => {
    // After Terminate, or once Postgres has closed (e.g. failed login), late client bytes have nowhere to go.
    if (terminated || !tcp.writable) return;
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (stalled.held) return; // stall fault: the marked chunk went through, nothing after it does
    stalled.feed(buf);
    const end = detector.feed(buf);
    if (end >= 0) {
      // Fix 1: after forwarding Terminate, close our side. The driver's client.end() resolves only once the
      // connection closes; a server that lingers after 'X' (pglite-socket did) would leak every pooled connection.
      terminated = true;
      log("debug", `client sent Terminate to ${target.host}:${target.port}`);
      toPostgres.push(() => tcp.end(buf.subarray(0, end)));
      return;
    }
    toPostgres.push(() => {
      if (!tcp.writable) return;
      if (!tcp.write(buf)) {
        ws.pause();
        tcp.once("drain", () => ws.resume());
      }
    });
  });

  // Postgres -> client, with simple backpressure on the WebSocket send buffer.
  tcp.on("data", (chunk) => {
    if (ws.readyState !== ws.OPEN || stalled.held) return;
    toClient.push(() => {
      if (ws.readyState !== ws.OPEN || stalled.held) return;
      ws.send(chunk, { binary: true }, () => {
        if (tcp.isPaused() && ws.bufferedAmount < 1024 * 1024) tcp.resume();
      });
      if (ws.bufferedAmount > 8 * 1024 * 1024) tcp.pause();
    });
  });

  tcp.on("error", (err) => {
    if (err.code !== "ECONNRESET" && err.code !== "EPIPE" && err.code !== "ERR_STREAM_WRITE_AFTER_END") {
      log("warn", `postgres ${target.host}:${target.port}: ${err.message}`);
    }
  });
  tcp.on("close", () => {
    tcpClosed = true;
    log("debug", `postgres closed ${target.host}:${target.port} (WebSocket ${wsClosed ? "already closed" : "closes in 250 ms"})`);
    // Fix 2: when Postgres closes first, close the WebSocket ~250 ms later rather than at once. An immediate
    // close raced the client's own close and workerd raised an uncaught "Network connection lost" on an idle
    // pooled client. The delay lets the client process the close of the Postgres session first (observed with the
    // driver: after Terminate it does not close the WebSocket itself; this timer does, ~250 ms later).
    toClient.push(() => {
      const timer = setTimeout(() => {
        if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
        else if (ws.readyState !== ws.CLOSED) ws.terminate();
      }, PG_CLOSE_DELAY_MS);
      timer.unref();
    });
    finish();
  });

  ws.on("error", () => {}); // followed by 'close'
  ws.on("close", (code) => {
    wsClosed = true;
    log("debug", `WebSocket closed (${code}) for ${target.host}:${target.port}${tcpClosed ? "" : ", ending TCP"}`);
    // If the client went away first: half-close so queued bytes still reach Postgres, and make sure the socket is
    // gone even if Postgres never answers.
    toPostgres.push(() => {
      if (!tcp.destroyed) {
        tcp.end();
        setTimeout(() => tcp.destroy(), 2000).unref();
      }
    });
    finish();
  });

  return {
    done,
    destroy() {
      toPostgres.clear();
      toClient.clear();
      tcp.destroy();
      ws.terminate();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// SQL over HTTP (what Neon's proxy does for neon())

/**
 * One small pg.Pool per target (host, port, user, password, database). Reusing backends across HTTP requests
 * is what Neon's proxy does, and is why HTTP mode needs no per-request connection setup.
 */
class PoolRegistry {
  constructor(log) {
    this.log = log;
    this.pools = new Map();
  }

  get(target) {
    const key = JSON.stringify([target.host, target.port, target.user, target.password, target.database]);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new pg.Pool({
        host: target.host,
        port: target.port,
        user: target.user,
        password: target.password,
        database: target.database,
        application_name: target.applicationName,
        max: 10,
        idleTimeoutMillis: 10_000,
        allowExitOnIdle: true,
      });
      // Idle pooled backends die legitimately (DROP DATABASE ... WITH (FORCE), server restart); pg.Pool drops
      // them, but without a listener the 'error' event would crash the process.
      pool.on("error", (err) => this.log("debug", `idle pooled connection to ${target.database} closed: ${err.message}`));
      pool.on("connect", (client) => {
        // pg.Pool listens for errors only while a client is idle. A checked-out client whose server goes away
        // (immediate shutdown, crash, pg_terminate_backend) emits 'error' besides failing its query; the query's
        // rejection is what the request answers with, and the pool discards the broken client on release.
        client.on("error", (err) => this.log("debug", `pooled connection to ${target.database} lost: ${err.message}`));
        // Track the transaction status of every ReadyForQuery. Neon's pool only takes a connection back when it is
        // idle ('I'); a statement like BEGIN sent over HTTP leaves it 'T' and must not leak into the next request.
        client[TX_STATUS] = "I";
        client.connection.on("readyForQuery", (msg) => {
          client[TX_STATUS] = msg.status;
        });
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  async closeAll() {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.end().catch(() => {})));
  }
}

const TX_STATUS = Symbol("txStatus");

/** Raw text out, no parsing: the driver applies its own type parsers to the Postgres text (Neon-Raw-Text-Output). */
const RAW_TYPES = { getTypeParser: () => (value) => value };

const ISOLATION_LEVELS = {
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
  Serializable: "SERIALIZABLE",
};

class HttpError extends Error {
  constructor(status, body) {
    super(body.message);
    this.status = status;
    this.body = body;
  }
}

/**
 * Request:  headers Neon-Connection-String (required), Neon-Raw-Text-Output, Neon-Array-Mode ("true" = on,
 *           anything else off), and for batches Neon-Batch-Isolation-Level / -Read-Only / -Deferrable.
 *           Body {query, params?, arrayMode?} or {queries: [{query, params?, arrayMode?}, ...]}.
 * Response: 200 {rowAsArray, fields, rows, command, rowCount} or {results: [...]} for a batch. A batch runs in ONE
 *           transaction (BEGIN ... COMMIT, ROLLBACK on the first error). Errors: 400 with the Postgres error
 *           fields (message, code, detail, constraint, ...), which the driver turns into NeonDbError.
 * Statements always use the extended protocol (as Neon's proxy does), so a single `query` cannot hold several
 * statements here either.
 */
async function handleSql(req, res, pools, log, stall) {
  if (req.method === "OPTIONS") {
    res.writeHead(204, {
      "Access-Control-Allow-Origin": "*",
      "Access-Control-Allow-Methods": "POST, OPTIONS",
      "Access-Control-Allow-Headers": "*",
      "Access-Control-Max-Age": "86400",
    });
    return res.end();
  }
  if (req.method !== "POST") return sendJson(res, 405, { message: "method not allowed, use POST" });

  let target, opts, payload;
  try {
    target = parseConnectionString(req.headers["neon-connection-string"]);
    opts = parseOptions(req.headers);
    const text = await readBody(req);
    if (stall.holdsSql(req, res, text)) return;
    payload = parsePayload(text);
  } catch (err) {
    if (err instanceof HttpError) return sendJson(res, err.status, err.body);
    throw err;
  }

  const pool = pools.get(target);
  let client;
  try {
    client = await pool.connect();
  } catch (err) {
    log("warn", `connect to ${target.host}:${target.port}/${target.database} as ${target.user} failed: ${err.message}`);
    return sendJson(res, err instanceof pg.DatabaseError ? 400 : 500, errorBody(err));
  }

  let discard = false;
  const extraHeaders = {};
  try {
    let body;
    if (payload.batch) {
      if (opts.readOnly) extraHeaders["Neon-Batch-Read-Only"] = "true";
      if (opts.deferrable) extraHeaders["Neon-Batch-Deferrable"] = "true";
      if (opts.isolationLevel) extraHeaders["Neon-Batch-Isolation-Level"] = opts.isolationLevel;
      let begin = "BEGIN";
      if (opts.isolationLevel) begin += ` ISOLATION LEVEL ${ISOLATION_LEVELS[opts.isolationLevel]}`;
      if (opts.readOnly) begin += " READ ONLY";
      if (opts.deferrable) begin += " DEFERRABLE";
      try {
        await client.query(begin);
      } catch (err) {
        discard = true;
        throw err;
      }
      const results = [];
      try {
        for (const q of payload.queries) results.push(await runQuery(client, q, opts));
      } catch (err) {
        try {
          await client.query("ROLLBACK");
        } catch {
          discard = true;
        }
        throw err;
      }
      try {
        await client.query("COMMIT"); // may itself fail (deferred constraints, serialization failure)
      } catch (err) {
        discard = true;
        throw err;
      }
      body = { results };
    } else {
      body = await runQuery(client, payload, opts);
    }
    const json = JSON.stringify(body);
    if (Buffer.byteLength(json) > MAX_RESPONSE_BYTES) {
      return sendJson(res, 507, { message: `response is too large (max is ${MAX_RESPONSE_BYTES} bytes)` });
    }
    sendRawJson(res, 200, json, extraHeaders);
  } catch (err) {
    if (!(err instanceof pg.DatabaseError)) discard = true; // connection-level failure: don't reuse it
    sendJson(res, 400, errorBody(err));
  } finally {
    client.release(discard || client[TX_STATUS] !== "I");
  }
}

async function runQuery(client, q, opts) {
  const arrayMode = q.arrayMode ?? opts.arrayMode;
  const result = await client.query({
    text: q.query,
    values: q.params,
    rowMode: "array",
    types: RAW_TYPES,
    queryMode: "extended",
  });
  const fields = result.fields.map((f) => ({
    name: f.name,
    dataTypeID: f.dataTypeID,
    tableID: f.tableID,
    columnID: f.columnID,
    dataTypeSize: f.dataTypeSize,
    dataTypeModifier: f.dataTypeModifier,
    format: "text",
  }));
  const convert = opts.rawOutput ? null : fields.map((f) => textToJsonConverter(f.dataTypeID));
  const rows = result.rows.map((raw) => {
    const values = convert ? raw.map((v, i) => (v === null ? null : convert[i](v))) : raw;
    if (arrayMode) return values;
    const obj = {};
    for (let i = 0; i < fields.length; i++) obj[fields[i].name] = values[i];
    return obj;
  });
  return { rowAsArray: arrayMode, fields, rows, command: result.command ?? "", rowCount: result.rowCount ?? null };
}

function parseConnectionString(value) {
  if (!value || Array.isArray(value)) {
    throw new HttpError(400, { message: "missing or invalid Neon-Connection-String header" });
  }
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new HttpError(400, { message: "Neon-Connection-String is not a valid URL" });
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new HttpError(400, { message: "Neon-Connection-String must use the postgres:// or postgresql:// scheme" });
  }
  const host = loopbackAddress(url.hostname);
  if (!host) throw new HttpError(400, { message: `front door only connects to loopback hosts, not ${url.hostname}` });
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  const user = decodeURIComponent(url.username);
  if (!user || !database) throw new HttpError(400, { message: "missing user or database in Neon-Connection-String" });
  if (!url.password) throw new HttpError(400, { message: "missing password in Neon-Connection-String" });
  return {
    host,
    port: Number(url.port || 5432),
    user,
    password: decodeURIComponent(url.password),
    database,
    // sslmode/channel_binding/options from a Neon URL are ignored: loopback, no TLS.
    applicationName: url.searchParams.get("application_name") ?? undefined,
  };
}

function parseOptions(headers) {
  const isolationLevel = headers["neon-batch-isolation-level"];
  if (isolationLevel !== undefined && !Object.hasOwn(ISOLATION_LEVELS, isolationLevel)) {
    throw new HttpError(400, { message: "invalid isolation level" });
  }
  // Neon: anything other than exactly "true" is false.
  return {
    rawOutput: headers["neon-raw-text-output"] === "true",
    arrayMode: headers["neon-array-mode"] === "true",
    isolationLevel,
    readOnly: headers["neon-batch-read-only"] === "true",
    deferrable: headers["neon-batch-deferrable"] === "true",
  };
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) {
      throw new HttpError(413, { message: `request is too large (max is ${MAX_REQUEST_BYTES} bytes)` });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parsePayload(text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, { message: `could not parse request body as JSON: ${err.message}` });
  }
  const one = (q) => {
    if (!q || typeof q.query !== "string") throw new HttpError(400, { message: 'each query needs a "query" string' });
    const params = q.params ?? [];
    if (!Array.isArray(params)) throw new HttpError(400, { message: '"params" must be an array' });
    return { query: q.query, params: params.map(jsonToPgText), arrayMode: typeof q.arrayMode === "boolean" ? q.arrayMode : undefined };
  };
  if (body && Array.isArray(body.queries)) return { batch: true, queries: body.queries.map(one) };
  return { batch: false, ...one(body) };
}

// Params arrive as JSON. The driver already sends Postgres text (strings/null, bytea as \x hex, arrays as array
// literals); other JSON values are converted the way Neon's proxy does (json.rs: json_to_pg_text).
function jsonToPgText(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return jsonArrayToPgArray(v);
  return JSON.stringify(v); // booleans, numbers, objects
}

function jsonArrayToPgArray(v) {
  if (v === null || v === undefined) return "NULL";
  if (Array.isArray(v)) return `{${v.map(jsonArrayToPgArray).join(",")}}`;
  if (typeof v === "object") return JSON.stringify(JSON.stringify(v));
  return JSON.stringify(v); // strings quoted/escaped, numbers and booleans bare
}

// Only for clients that do NOT send Neon-Raw-Text-Output: true (the driver always does). Neon converts by type;
// here built-in scalar and array types are handled, other arrays stay Postgres text.
const ARRAY_ELEMENT = {
  1000: 16,
  1005: 21,
  1007: 23,
  1016: 20,
  1021: 700,
  1022: 701,
  1009: 25,
  1015: 1043,
  1231: 1700,
  2951: 2950,
  1185: 1184,
  1115: 1114,
  1182: 1082,
  199: 114,
  3807: 3802,
};
function scalarConverter(oid) {
  switch (oid) {
    case 16:
      return (v) => v === "t";
    case 21:
    case 23:
      return (v) => Number.parseInt(v, 10);
    case 700:
    case 701:
      return (v) => {
        const n = Number(v);
        return Number.isFinite(n) ? n : v;
      };
    case 114:
    case 3802:
      return (v) => JSON.parse(v);
    default:
      return (v) => v;
  }
}
function textToJsonConverter(oid) {
  const elem = ARRAY_ELEMENT[oid];
  if (elem === undefined) return scalarConverter(oid);
  const conv = scalarConverter(elem);
  return (v) => parsePgArray(v, conv);
}

function errorBody(err) {
  // Same keys as Neon's proxy; absent fields are null. Non-Postgres errors carry an empty code, as on Neon.
  const e = err instanceof pg.DatabaseError ? err : null;
  return {
    message: err?.message ?? String(err),
    code: e?.code ?? "",
    detail: e?.detail ?? null,
    hint: e?.hint ?? null,
    position: e?.position ?? null,
    internalPosition: e?.internalPosition ?? null,
    internalQuery: e?.internalQuery ?? null,
    severity: e?.severity ?? null,
    where: e?.where ?? null,
    table: e?.table ?? null,
    column: e?.column ?? null,
    schema: e?.schema ?? null,
    dataType: e?.dataType ?? null,
    constraint: e?.constraint ?? null,
    file: e?.file ?? null,
    line: e?.line ?? null,
    routine: e?.routine ?? null,
  };
}

function sendJson(res, status, body) {
  sendRawJson(res, status, JSON.stringify(body));
}

function sendRawJson(res, status, json, extraHeaders = {}) {
  const delay = res[REPLY_DELAY];
  if (delay > 0) {
    // The latency model's way back. The answer is settled: whatever the handler does next must not answer again.
    res[REPLY_DELAY] = 0;
    res[REPLY_PENDING] = true;
    return afterAtLeast(delay, () => {
      res[REPLY_PENDING] = false;
      sendRawJson(res, status, json, extraHeaders);
    });
  }
  if (res.destroyed) return;
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(json),
    "Access-Control-Allow-Origin": "*",
    ...extraHeaders,
  });
  res.end(json);
}

// ---------------------------------------------------------------------------------------------------------------

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.argv[2] ?? process.env.FRONT_DOOR_PORT ?? 0);
  const latencyMs = Number(process.env.DB_LATENCY_MS || 0);
  const fd = await startFrontDoor({ port, latencyMs, log: (level, msg) => level !== "debug" && console.error(`[front-door] ${msg}`) });
  const model = latencyMs > 0 ? `, ${latencyMs} ms each way` : "";
  console.log(`front door listening on 127.0.0.1:${fd.port} (WebSocket /v1, SQL over HTTP /sql${model})`);
  const stop = () => fd.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
