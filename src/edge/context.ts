import type { Context, MiddlewareHandler } from "hono";
import { type EdgeConfig, loadEdgeConfig } from "../env";
import type { AppEnv } from "../http/context";
import { requestIdFrom } from "../http/request-id";
import { createLogger, type Logger } from "../lib/log";
import { EDGE_HEADER_PREFIX } from "../listings/cache";

/** What an edge request carries: no database handle, and the edge's own, smaller configuration. */
export type EdgeEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    log: Logger;
    config: EdgeConfig;
    bearer?: AppEnv["Variables"]["bearer"];
  };
};

export type EdgeContext = Context<EdgeEnv>;

/**
 * First middleware of the edge: request id (X-Request-Id in and out; the forwarder hands it to the
 * core, so both workers log the same id), configuration, logger and one log line per request. The
 * edge never touches the database: X-Db-Round-Trips (non-production) is the core's figure when the
 * core answered, else 0. No answer leaves with the workers' X-Edge-* cache protocol headers.
 */
export const edgeContext: MiddlewareHandler<EdgeEnv> = async (c, next) => {
  const requestId = requestIdFrom(c.req.header("x-request-id"));
  c.set("requestId", requestId);
  c.header("X-Request-Id", requestId);
  const config = loadEdgeConfig(c.env); // throws ConfigError → onError → 503 + a loud log line
  c.set("config", config);
  const log = createLogger(config.LOG_LEVEL, { requestId, worker: "edge" });
  c.set("log", log);
  const started = Date.now();
  try {
    await next();
  } finally {
    for (const name of [...c.res.headers.keys()]) if (name.startsWith(EDGE_HEADER_PREFIX)) c.res.headers.delete(name);
    if (config.ENVIRONMENT !== "production" && !c.res.headers.has("x-db-round-trips")) c.header("X-Db-Round-Trips", "0");
    log.info("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Date.now() - started,
      cache: c.res.headers.get("x-cache") ?? undefined,
    });
  }
};
