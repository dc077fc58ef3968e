import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createDb } from "../db/client";
import { loadConfig } from "../env";
import { createLogger } from "../lib/log";
import { MAX_PAYLOAD } from "../realtime/protocol";
import type { AppEnv } from "./context";
import { AppError } from "./errors";

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

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

/** Routes that accept base64 images (profile photo, working proof) get a larger body limit. */
const MEDIA_ROUTES = [/^\/api\/users\/profile$/, /^\/api\/services\/[^/]+\/providers$/, /^\/api\/auth\/signup$/];
const tooLarge = () => {
  throw new AppError("PAYLOAD_TOO_LARGE", "Request body is too large");
};
const smallBody = bodyLimit({ maxSize: 64 * 1024, onError: tooLarge });
const mediaBody = bodyLimit({ maxSize: 8 * 1024 * 1024, onError: tooLarge });
/** Engine.IO long-poll POSTs may batch packets up to the maxPayload the handshake advertises. */
const socketBody = bodyLimit({ maxSize: MAX_PAYLOAD, onError: tooLarge });

export const limitBody: MiddlewareHandler<AppEnv> = (c, next) => {
  if (c.req.path.startsWith("/socket.io")) return socketBody(c, next);
  return MEDIA_ROUTES.some((r) => r.test(c.req.path)) ? mediaBody(c, next) : smallBody(c, next);
};
