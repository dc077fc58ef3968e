import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../http/context";
import { limitBody } from "../http/middleware";
import { notFoundHandler, onError } from "../http/on-error";
import { apiRateLimit } from "../http/rate-limit";
import { edgeCachedRead } from "../listings/cache";
import { mediaRoutes } from "../media/routes";
import { socketRoutes } from "../realtime/routes";
import { type EdgeContext, type EdgeEnv, edgeContext } from "./context";
import { forwardToCore } from "./forward";

/**
 * The edge worker's app (docs/architecture.md): it runs in the data center that received the request
 * and answers what needs no database there; everything else goes to the core worker, placed next to
 * Neon, through the CORE service binding. Middleware order as the API had it as one worker: ids and
 * logging, security headers, CORS, the global rate limit, body limits, then routes.
 *
 * Answered here: CORS preflights, rate-limit refusals, oversized bodies, Socket.IO (routed to the
 * session's Durable Object), media (R2), and fresh public reads from the edge cache. The core checks
 * everything it is sent as if it came from the internet (it verifies the bearer token itself).
 */
export function buildEdgeApp() {
  const app = new Hono<EdgeEnv>();
  app.use("*", edgeContext);
  app.use("*", secureHeaders({ crossOriginResourcePolicy: "cross-origin" }));
  app.use(
    "*",
    cors({
      // The mobile apps send no Origin and pass untouched; browsers only from configured origins.
      origin: (origin, c) => (c.get("config").CORS_ORIGINS.includes(origin) ? origin : null),
      allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
      exposeHeaders: ["X-Request-Id", "Retry-After"],
      maxAge: 600,
    }),
  );
  app.use("*", apiRateLimit); // API_LIMITER per user/IP, after CORS so browsers can read the 429 (src/http/rate-limit.ts)
  app.use("*", limitBody);

  app.route("/socket.io", socketRoutes);
  app.route("/media", mediaRoutes);
  // The public reads: catalogue, provider lists and details, featured providers (and the catalogue's twin).
  const publicRead = (c: EdgeContext) =>
    c.req.method === "GET" ? edgeCachedRead(c.req.raw, c.executionCtx, (headers) => forwardToCore(c, headers)) : forwardToCore(c);
  app.get("/api/public/*", publicRead);
  app.get("/api/services", publicRead);
  app.all("*", (c) => forwardToCore(c));

  // The shared handlers read only the request id and the logger, which edgeContext sets first.
  const shared = (c: EdgeContext) => c as unknown as Context<AppEnv>;
  app.notFound((c) => notFoundHandler(shared(c)));
  app.onError((err, c) => onError(err, shared(c)));
  return app;
}
