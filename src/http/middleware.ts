import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createDb } from "../db/client";
import { loadConfig } from "../env";
import { createLogger } from "../lib/log";
import { MEDIA_BODIES, sizeLabel } from "../media/limits";
import { MAX_PAYLOAD } from "../realtime/protocol";
import type { AppEnv } from "./context";
import { AppError } from "./errors";

export const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * First middleware: request id (X-Request-Id in and out), config, logger and the per-request
 * database handle, whose WebSocket Pool (if a transaction opened one) is closed via waitUntil.
 */
export const requestContext: MiddlewareHandler<AppEnv> = async (c, next) => {
  const incoming = c.req.header("x-request-id");
  const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  c.set("requestId", requestId);
  c.header("X-Request-Id", requestId);
  const config = loadConfig(c.env); // throws ConfigError → onError → 503 + a loud log line
  c.set("config", config);
  const log = createLogger(config.LOG_LEVEL, { requestId });
  c.set("log", log);
  const db = createDb(config);
  c.set("db", db);
  const started = Date.now();
  try {
    await next();
  } finally {
    c.executionCtx.waitUntil(db.close());
    if (config.ENVIRONMENT !== "production") c.header("X-Db-Round-Trips", String(db.roundTrips()));
    log.info("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Date.now() - started,
      dbRoundTrips: db.roundTrips(),
      userId: c.get("principal")?.userId,
    });
  }
};

/**
 * Body limits, chosen by path before routing: the calls that carry base64 images get limits sized
 * from what the apps send (src/media/limits.ts), Engine.IO long-poll POSTs the maxPayload the
 * handshake advertises, everything else 64 KB. The 413 names the limit that applied.
 */
const limit = (maxSize: number, what?: string) =>
  bodyLimit({
    maxSize,
    onError: (c) => {
      // Refused unread: cancel the upload, so the runtime does not report the abandoned stream.
      if (c.req.raw.body && !c.req.raw.body.locked) c.req.raw.body.cancel().catch(() => undefined);
      throw new AppError("PAYLOAD_TOO_LARGE", `Request body is larger than the ${sizeLabel(maxSize)} limit${what ? ` for ${what}` : ""}`);
    },
  });
const smallBody = limit(64 * 1024);
const socketBody = limit(MAX_PAYLOAD, "socket.io packets");
const mediaBodies = MEDIA_BODIES.map((m) => ({ path: m.path, check: limit(m.maxBytes, m.what) }));

export const limitBody: MiddlewareHandler<AppEnv> = (c, next) => {
  if (c.req.path.startsWith("/socket.io")) return socketBody(c, next);
  const media = mediaBodies.find((m) => m.path.test(c.req.path));
  return (media?.check ?? smallBody)(c, next);
};
