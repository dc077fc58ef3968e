import type { MiddlewareHandler } from "hono";
import { createDb } from "../db/client";
import { loadConfig } from "../env";
import { createLogger } from "../lib/log";
import type { AppEnv } from "./context";
import { requestIdFrom } from "./request-id";

/**
 * First middleware of the core: request id (X-Request-Id in and out), config, logger and the
 * per-request database handle, whose WebSocket Pool (if a transaction opened one) is closed via
 * waitUntil. The edge worker has its own (src/edge/context.ts), without a database.
 */
export const requestContext: MiddlewareHandler<AppEnv> = async (c, next) => {
  const requestId = requestIdFrom(c.req.header("x-request-id"));
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
